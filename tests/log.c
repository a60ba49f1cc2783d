/*
 * tests/log.c: log_escape, which every untrusted byte passes through on
 * its way to the log (uids, triggers, REMOTE_ADDR, reasons that quote
 * PostgreSQL): what it escapes, that it always fits, and how it cuts.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../src/calsync.h"
#include "tap.h"

static const char *
escape(const char *s, size_t len, size_t dstsz)
{
	static char	 buf[512];

	log_escape(buf, dstsz, s, len);
	return buf;
}

/* Every backslash starts a whole \xHH. */
static int
escapes_whole(const char *s)
{
	for (; (s = strchr(s, '\\')) != NULL; s++)
		if (s[1] != 'x' || strchr("0123456789abcdef", s[2]) == NULL ||
		    s[2] == '\0' || strchr("0123456789abcdef", s[3]) == NULL ||
		    s[3] == '\0')
			return 0;
	return 1;
}

int
main(void)
{
	static const char	 mixed[] = "ab\ncd\"ef\\gh\001ij\xff";
	char			 buf[16];
	size_t			 n, sz;
	int			 whole = 1;

	is_str(escape("T1795520159-abc", 15, 64), "T1795520159-abc",
	    "printable ASCII is kept");
	is_str(escape("a\"b\\c", 5, 64), "a\\x22b\\x5cc",
	    "quote and backslash are escaped");
	is_str(escape("a\nb\rc\td", 7, 64), "a\\x0ab\\x0dc\\x09d",
	    "newline, CR and TAB are escaped: one line stays one line");
	is_str(escape("\xc3\xa9\xff\x7f", 4, 64), "\\xc3\\xa9\\xff\\x7f",
	    "bytes past ASCII and DEL are escaped");
	is_str(escape("a\0b", 3, 64), "a\\x00b", "NUL is escaped, not an end");
	is_str(escape(NULL, 0, 64), "-", "NULL is -");

	n = log_escape(buf, sizeof(buf), "abcdefghijklmnopqrstuvwxyz", 26);
	is_int(n, 15, "a long value is cut to the buffer");
	is_str(buf, "abcdefghijkl...", "... and ends in ...");
	n = log_escape(buf, 0, "abc", 3);
	is_int(n, 0, "a buffer of 0 bytes is left alone");

	for (sz = 1; sz <= sizeof(buf); sz++) {
		n = log_escape(buf, sz, mixed, sizeof(mixed) - 1);
		if (n >= sz || strlen(buf) != n)
			whole = 0;
	}
	ok(whole, "every size from 1 to 16: NUL-terminated, inside");

	whole = 1;
	for (sz = 5; sz <= sizeof(buf); sz++) {
		log_escape(buf, sz, mixed, sizeof(mixed) - 1);
		if (!escapes_whole(buf)) {
			printf("# size %zu: %s\n", sz, buf);
			whole = 0;
		}
	}
	ok(whole, "a cut never splits a \\xHH escape");
	return tap_done();
}
