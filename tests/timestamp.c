/*
 * tests/timestamp.c: timestamp_parse on the forms Cal.com sends and on
 * what it must refuse, the len argument, and timestamp_format and
 * timestamp_format_ms, including round trips.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../src/calsync.h"
#include "tap.h"

/* A literal and its length, embedded NULs included. */
#define S(lit)	lit, sizeof(lit) - 1

/*
 * utc is timestamp_format_ms of the expected value; NULL means the input
 * must be refused.  Milliseconds were computed with Python's datetime.
 */
static const struct {
	const char	*s;
	size_t		 len;
	int64_t		 ms;
	const char	*utc;
} cases[] = {
	/* The forms in Cal.com's examples and the seed guide. */
	{ S("2024-01-10T14:30:00Z"), 1704897000000,
	    "2024-01-10T14:30:00.000Z" },
	{ S("2024-01-04T10:00:00+00:00"), 1704362400000,
	    "2024-01-04T10:00:00.000Z" },
	{ S("2026-02-05T10:00:00.000Z"), 1770285600000,
	    "2026-02-05T10:00:00.000Z" },
	{ S("2026-02-05T07:00:00-03:00"), 1770285600000,
	    "2026-02-05T10:00:00.000Z" },
	{ S("2026-02-05T15:30:00+05:30"), 1770285600000,
	    "2026-02-05T10:00:00.000Z" },
	{ S("2026-02-05T15:30:00+0530"), 1770285600000,
	    "2026-02-05T10:00:00.000Z" },
	{ S("2026-02-05T15:00:00+05"), 1770285600000,
	    "2026-02-05T10:00:00.000Z" },
	{ S("2026-02-05T10:00:00z"), 1770285600000,
	    "2026-02-05T10:00:00.000Z" },
	{ S("2024-01-10T14:30:00-00:30"), 1704898800000,
	    "2024-01-10T15:00:00.000Z" },
	{ S("2024-01-10T00:30:00+01:00"), 1704843000000,
	    "2024-01-09T23:30:00.000Z" },
	{ S("2024-12-31T23:30:00-01:00"), 1735691400000,
	    "2025-01-01T00:30:00.000Z" },
	{ S("2026-02-05T07:00:00.250-03:00"), 1770285600250,
	    "2026-02-05T10:00:00.250Z" },

	/* Fractions of 1 to 9 digits; beyond milliseconds is truncated. */
	{ S("2024-01-10T14:30:00.1Z"), 1704897000100,
	    "2024-01-10T14:30:00.100Z" },
	{ S("2024-01-10T14:30:00.12Z"), 1704897000120,
	    "2024-01-10T14:30:00.120Z" },
	{ S("2024-01-10T14:30:00.123Z"), 1704897000123,
	    "2024-01-10T14:30:00.123Z" },
	{ S("2024-01-10T14:30:00.1239Z"), 1704897000123,
	    "2024-01-10T14:30:00.123Z" },
	{ S("2024-01-10T14:30:00.12399Z"), 1704897000123,
	    "2024-01-10T14:30:00.123Z" },
	{ S("2024-01-10T14:30:00.123999Z"), 1704897000123,
	    "2024-01-10T14:30:00.123Z" },
	{ S("2024-01-10T14:30:00.1239999Z"), 1704897000123,
	    "2024-01-10T14:30:00.123Z" },
	{ S("2024-01-10T14:30:00.12399999Z"), 1704897000123,
	    "2024-01-10T14:30:00.123Z" },
	{ S("2024-01-10T14:30:00.999999999+00:00"), 1704897000999,
	    "2024-01-10T14:30:00.999Z" },
	{ S("2024-01-10T14:30:00.007Z"), 1704897000007,
	    "2024-01-10T14:30:00.007Z" },

	/* Calendar edges. */
	{ S("2024-02-29T00:00:00Z"), 1709164800000,
	    "2024-02-29T00:00:00.000Z" },
	{ S("2000-02-29T12:00:00Z"), 951825600000,
	    "2000-02-29T12:00:00.000Z" },
	{ S("1970-01-01T00:00:00Z"), 0, "1970-01-01T00:00:00.000Z" },
	{ S("1970-01-01T00:00:00+01:00"), 0, NULL },	/* 1969 in UTC */
	{ S("1970-01-01T00:59:59.999+01:00"), 0, NULL },
	{ S("1970-01-01T01:00:00+01:00"), 0, "1970-01-01T00:00:00.000Z" },
	{ S("9999-12-31T23:59:59Z"), 253402300799000,
	    "9999-12-31T23:59:59.000Z" },
	{ S("2023-02-29T00:00:00Z"), 0, NULL },
	{ S("2100-02-29T00:00:00Z"), 0, NULL },
	{ S("2024-04-31T00:00:00Z"), 0, NULL },
	{ S("2024-13-10T14:30:00Z"), 0, NULL },
	{ S("2024-00-10T14:30:00Z"), 0, NULL },
	{ S("2024-01-32T14:30:00Z"), 0, NULL },
	{ S("2024-01-00T14:30:00Z"), 0, NULL },
	{ S("2024-01-10T24:00:00Z"), 0, NULL },
	{ S("2024-01-10T14:60:00Z"), 0, NULL },
	{ S("2024-01-10T14:30:60Z"), 0, NULL },
	{ S("1969-12-31T23:59:59Z"), 0, NULL },
	{ S("0000-01-01T00:00:00Z"), 0, NULL },

	/* Shapes that are not the one accepted. */
	{ S(""), 0, NULL },
	{ S("2024-01-10T14:30:00"), 0, NULL },
	{ S("2024-01-10 14:30:00Z"), 0, NULL },
	{ S("2024-01-10T14:30:00Zx"), 0, NULL },
	{ S("2024-01-10T14:30:00+00:00x"), 0, NULL },
	{ S("2024-01-10T14:30:00 Z"), 0, NULL },
	{ S(" 2024-01-10T14:30:00Z"), 0, NULL },
	{ S("2024-1-10T14:30:00Z"), 0, NULL },
	{ S("20240110T143000Z"), 0, NULL },
	{ S("2024-01-10T14:30Z"), 0, NULL },
	{ S("2024-01-10T14:30:00Z\0"), 0, NULL },
	{ S("2024-01-10T14:3\0:00Z"), 0, NULL },
	{ S("2024-01-10T14:30:00\0Z"), 0, NULL },
	{ S("2024-01-10T14:30:00+24:00"), 0, NULL },
	{ S("2024-01-10T14:30:00+23:60"), 0, NULL },
	{ S("2024-01-10T14:30:00+5:30"), 0, NULL },
	{ S("2024-01-10T14:30:00+05:3"), 0, NULL },
	{ S("2024-01-10T14:30:00+053"), 0, NULL },
	{ S("2024-01-10T14:30:00+05:30:00"), 0, NULL },
	{ S("2024-01-10T14:30:00+05-30"), 0, NULL },
	{ S("2024-01-10T14:30:00+"), 0, NULL },
	{ S("2024-01-10T14:30:00Z+01:00"), 0, NULL },
	{ S("2024-01-10T14:30:00.Z"), 0, NULL },
	{ S("2024-01-10T14:30:00."), 0, NULL },
	{ S("2024-01-10T14:30:00.123"), 0, NULL },
	{ S("2024-01-10T14:30:00,123Z"), 0, NULL },
	{ S("2024-01-10T14:30:00.12aZ"), 0, NULL },
	{ S("2024-01-1xT14:30:00Z"), 0, NULL },
	{ S("+2024-01-10T14:30:00Z"), 0, NULL },

	/* len is respected: a valid string cut short, a longer buffer. */
	{ "2024-01-10T14:30:00Z", 19, 0, NULL },
	{ "2024-01-10T14:30:00.123Z", 23, 0, NULL },
	{ "2024-01-10T14:30:00+05:30", 24, 0, NULL },
	{ "2024-01-10T14:30:00+05:30", 22, 1704879000000,
	    "2024-01-10T09:30:00.000Z" },
	{ "2024-01-10T14:30:00Zjunk", 20, 1704897000000,
	    "2024-01-10T14:30:00.000Z" },
	{ "2024-01-10T14:30:00.123Z", 20, 0, NULL },
};

static void
parse_cases(void)
{
	char	 in[64], want[TIMESTAMP_BUFSZ], buf[TIMESTAMP_BUFSZ];
	int64_t	 ms, back;
	size_t	 i, j;
	int	 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The input as printable text for the test name. */
		for (j = 0; j < cases[i].len && j < sizeof(in) - 3; j++)
			in[j] = cases[i].s[j] == '\0' ? '@' : cases[i].s[j];
		in[j] = '\0';
		ms = 42;
		rc = timestamp_parse(cases[i].s, cases[i].len, &ms);
		if (cases[i].utc == NULL) {
			is_int(rc, -1, "\"%s\" (len %zu) refused", in,
			    cases[i].len);
			continue;
		}
		is_int(rc, 0, "\"%s\" (len %zu) accepted", in, cases[i].len);
		is_int(ms, cases[i].ms, "\"%s\" = %lld ms", in,
		    (long long)cases[i].ms);

		timestamp_format_ms(ms, buf);
		is_str(buf, cases[i].utc, "\"%s\": timestamp_format_ms", in);
		/* The same, cut to seconds, with a space for PostgreSQL. */
		snprintf(want, sizeof(want), "%.19s", cases[i].utc);
		want[10] = ' ';
		timestamp_format(ms, buf);
		is_str(buf, want, "\"%s\": timestamp_format", in);

		timestamp_format_ms(ms, buf);
		back = 42;
		rc = timestamp_parse(buf, strlen(buf), &back);
		ok(rc == 0 && back == ms, "\"%s\": format_ms -> parse gives "
		    "it back", in);
	}
}

static const struct {
	int64_t		 ms;
	const char	*sec;
	const char	*msec;
} formats[] = {
	{ 0, "1970-01-01 00:00:00", "1970-01-01T00:00:00.000Z" },
	{ 999, "1970-01-01 00:00:00", "1970-01-01T00:00:00.999Z" },
	{ 1000, "1970-01-01 00:00:01", "1970-01-01T00:00:01.000Z" },
	{ -1, "1969-12-31 23:59:59", "1969-12-31T23:59:59.999Z" },
	{ 1709251199999, "2024-02-29 23:59:59", "2024-02-29T23:59:59.999Z" },
	{ 1709251200000, "2024-03-01 00:00:00", "2024-03-01T00:00:00.000Z" },
	{ 253402300799999, "9999-12-31 23:59:59",
	    "9999-12-31T23:59:59.999Z" },
};

static void
format_cases(void)
{
	char	 buf[TIMESTAMP_BUFSZ];
	size_t	 i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		timestamp_format(formats[i].ms, buf);
		is_str(buf, formats[i].sec, "timestamp_format(%lld)",
		    (long long)formats[i].ms);
		memset(buf, 'x', sizeof(buf));
		timestamp_format_ms(formats[i].ms, buf);
		is_str(buf, formats[i].msec, "timestamp_format_ms(%lld)",
		    (long long)formats[i].ms);
	}
}

int
main(void)
{
	/* Exactly 20 bytes, no NUL after: nothing past len is read. */
	static const char	 exact[20] = "2024-01-10T14:30:00Z";
	int64_t			 ms = 0;

	parse_cases();
	format_cases();
	is_int(timestamp_parse(exact, sizeof(exact), &ms), 0,
	    "unterminated 20-byte buffer accepted");
	is_int(ms, 1704897000000, "unterminated 20-byte buffer's value");
	return tap_done();
}
