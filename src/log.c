/*
 * log.c: levelled, printf-checked logging to stderr (journald reads it),
 * one line an event, and the escaping of untrusted bytes before they are
 * written anywhere.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calsync.h"

static const char *progname = "calsync";	/* set once at start-up */

void
log_init(const char *name)
{
	progname = name;
}

static void
log_emit(const char *level, const char *fmt, va_list ap, int saved_errno)
{
	char		 msg[1024], stamp[TIMESTAMP_BUFSZ];
	struct timespec	 now;

	clock_gettime(CLOCK_REALTIME, &now);
	timestamp_format_ms((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
	    stamp);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (saved_errno != 0)
		fprintf(stderr, "%s %s[%d] %s: %s: %s\n", stamp, progname,
		    (int)getpid(), level, msg, strerror(saved_errno));
	else
		fprintf(stderr, "%s %s[%d] %s: %s\n", stamp, progname,
		    (int)getpid(), level, msg);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit("info", fmt, ap, 0);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit("error", fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_emit("error", fmt, ap, saved_errno);
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
	size_t			 i, o = 0;
	unsigned char		 c;

	if (dstsz == 0)
		return 0;
	if (src == NULL) {
		snprintf(dst, dstsz, "-");
		return strlen(dst);
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstsz)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	if (i < len && dstsz > 4) {
		o = o + 3 < dstsz ? o : dstsz - 4;
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return o;
}
