/*
 * log.c: levelled, printf-checked logging in logfmt, to stderr (journald
 * reads it) or to syslog, one line an event; and the escaping of untrusted
 * bytes before they are written anywhere.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "calsync.h"

/* Set once at start-up. */
static const char	*progname = "calsync";
static int		 to_syslog;

/*
 * To stderr (journald reads it, and adds nothing but its own stamp), or
 * with -l syslog to syslog, which stamps the time and pid itself.
 */
void
log_init(const char *name, int use_syslog)
{
	progname = name;
	to_syslog = use_syslog;
	if (to_syslog)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/*
 * One logfmt line: time, level, pid, then either the caller's key=value
 * pairs (kv) or its text as msg="...", escaped.
 */
static void
log_emit(int priority, const char *fmt, va_list ap, int kv,
    int saved_errno)
{
	char		 msg[1024], text[2100], esc[2048], stamp[TIMESTAMP_BUFSZ];
	const char	*level = priority == LOG_ERR ? "error" : "info";
	const char	*line = text;
	struct timespec	 now;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (kv)
		line = msg;	/* the caller escaped its values */
	else {
		if (saved_errno != 0)
			snprintf(text, sizeof(text), "%s: %s", msg,
			    strerror(saved_errno));
		else
			snprintf(text, sizeof(text), "%s", msg);
		log_escape(esc, sizeof(esc), text, strlen(text));
		snprintf(text, sizeof(text), "msg=\"%s\"", esc);
	}
	if (to_syslog) {
		syslog(priority, "level=%s %s", level, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	timestamp_format_ms((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
	    stamp);
	fprintf(stderr, "time=%s level=%s prog=%s pid=%d %s\n", stamp, level,
	    progname, (int)getpid(), line);
}

/* key=value pairs, each value already escaped by the caller. */
void
log_kv(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, fmt, ap, 1, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, fmt, ap, 0, 0);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, fmt, ap, 0, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_emit(LOG_ERR, fmt, ap, 0, saved_errno);
	va_end(ap);
}

/*
 * Copy src into dst so that it can stand as a logfmt value between
 * double quotes: every byte outside printable ASCII, and the quote and
 * backslash, become \xHH.  Values that cannot hold a blank (validated
 * uids, trigger names) need no quotes.  Always NUL-terminates; a value
 * too long for dst is cut and ends in "...".
 */
size_t
log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, o = 0, need;
	unsigned char		 c;

	if (dstsz == 0)
		return 0;
	if (src == NULL) {
		snprintf(dst, dstsz, "-");
		return strlen(dst);
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		need = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? 1 : 4;
		/* Room for it, and for "..." if more is to come: a cut never
		 * splits an escape. */
		if (o + need + (i + 1 < len ? 3 : 0) >= dstsz)
			break;
		if (need == 1)
			dst[o++] = (char)c;
		else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	if (i < len && o + 3 < dstsz) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return o;
}
