/*
 * timestamp.c: the ISO 8601 timestamps Cal.com sends ("...Z",
 * "...+00:00", "...-03:00", with or without fractions of a second),
 * fully validated, as milliseconds since the epoch in UTC; and their
 * formatting back for PostgreSQL.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "calsync.h"

static int
digits(const char *s, int n, int *out)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* "Z", "+HH:MM", "+HHMM" or "+HH": the offset east of UTC, in minutes. */
static int
parse_offset(const char *s, size_t len, int *minutes)
{
	int	 h, m = 0, sign;

	if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*minutes = 0;
		return 0;
	}
	if (len < 3 || (s[0] != '+' && s[0] != '-'))
		return -1;
	sign = s[0] == '-' ? -1 : 1;
	if (digits(s + 1, 2, &h) == -1 || h > 23)
		return -1;
	if (len == 6 && s[3] == ':') {
		if (digits(s + 4, 2, &m) == -1)
			return -1;
	} else if (len == 5) {
		if (digits(s + 3, 2, &m) == -1)
			return -1;
	} else if (len != 3)
		return -1;
	if (m > 59)
		return -1;
	*minutes = sign * (h * 60 + m);
	return 0;
}

/*
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|offset), years 1970 to 9999.  The
 * offset is mandatory: a time without a zone is ambiguous.  Fractions
 * beyond milliseconds are dropped.  Returns 0, or -1 if s is anything
 * else.
 */
int
timestamp_parse(const char *s, size_t len, int64_t *ms)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, frac = 0, off, i, scale = 100;
	size_t		 p = 19;
	time_t		 t;

	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) == -1 || digits(s + 5, 2, &mo) == -1 ||
	    digits(s + 8, 2, &d) == -1 || digits(s + 11, 2, &h) == -1 ||
	    digits(s + 14, 2, &mi) == -1 || digits(s + 17, 2, &sec) == -1)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	if (s[p] == '.') {
		for (i = 0, p++; p < len && s[p] >= '0' && s[p] <= '9';
		    i++, p++) {
			if (i >= 9)
				return -1;
			frac += (s[p] - '0') * scale;
			scale /= 10;
		}
		if (i == 0)
			return -1;
	}
	if (parse_offset(s + p, len - p, &off) == -1)
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
	return *ms < 0 ? -1 : 0;	/* 1970 with an offset east of UTC */
}

static void
format(int64_t ms, char buf[TIMESTAMP_BUFSZ], int with_ms)
{
	struct tm	 tm;
	time_t		 t;
	int		 rem = (int)(ms % 1000);
	size_t		 n;

	if (rem < 0)
		rem += 1000;
	t = (time_t)((ms - rem) / 1000);
	gmtime_r(&t, &tm);
	n = strftime(buf, TIMESTAMP_BUFSZ, with_ms ? "%Y-%m-%dT%H:%M:%S" :
	    "%Y-%m-%d %H:%M:%S", &tm);
	if (with_ms)
		snprintf(buf + n, TIMESTAMP_BUFSZ - n, ".%03dZ", rem);
}

/* UTC, whole seconds, as timestamp(0) columns hold it. */
void
timestamp_format(int64_t ms, char buf[TIMESTAMP_BUFSZ])
{
	format(ms, buf, 0);
}

/* UTC with milliseconds and a Z: for timestamptz and for logs. */
void
timestamp_format_ms(int64_t ms, char buf[TIMESTAMP_BUFSZ])
{
	format(ms, buf, 1);
}
