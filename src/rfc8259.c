/*
 * rfc8259.c: what json-c's strict mode lets through that RFC 8259 does
 * not: a raw control character (U+0000-U+001F) inside a string, and
 * numbers outside the grammar (NaN, Infinity, -Infinity, "1.", "-.5",
 * "00").  Run on a body json-c has accepted; it names the member.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "calsync.h"

#define DEPTH_MAX	64	/* json-c stops at 32 */
#define KEY_MAX		64	/* longer keys are named "*" */

struct frame {
	const char	*key;	/* an object's member, or NULL */
	size_t		 keylen;
	size_t		 index;	/* an array's element */
	int		 object;
};

struct scan {
	const char	*s;
	size_t		 len, i;
	struct frame	 f[DEPTH_MAX];
	size_t		 depth;
	int		 in_key;
};

/* A key is named as it is only if it is a plain word. */
static int
plain_key(const char *k, size_t len)
{
	size_t	 i;

	if (len == 0 || len > KEY_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_-$", k[i]) == NULL || k[i] == '\0')
			return 0;
	return 1;
}

/* "payload.attendees[0].email", the form payload.c's messages use. */
static void
where(const struct scan *sc, char *buf, size_t bufsz)
{
	const struct frame	*f;
	size_t			 k, n = 0, last;
	int			 w;

	buf[0] = '\0';
	last = sc->in_key ? sc->depth - 1 : sc->depth;
	for (k = 0; k < last && n < bufsz; k++, n += (size_t)w) {
		f = &sc->f[k];
		if (!f->object)
			w = snprintf(buf + n, bufsz - n, "[%zu]", f->index);
		else if (plain_key(f->key, f->keylen))
			w = snprintf(buf + n, bufsz - n, "%s%.*s",
			    n > 0 ? "." : "", (int)f->keylen, f->key);
		else
			w = snprintf(buf + n, bufsz - n, "%s*",
			    n > 0 ? "." : "");
		if (w < 0)
			break;
	}
}

static void
fail(const struct scan *sc, const char *what, char *err, size_t errsz)
{
	char	 path[128];

	where(sc, path, sizeof(path));
	snprintf(err, errsz, "body is not valid JSON: %s at byte %zu in %s%s",
	    what, sc->i, sc->in_key ? "a key of " : "",
	    path[0] != '\0' ? path : "the body");
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, all of s[0..len). */
static int
json_number(const char *s, size_t len)
{
	size_t	 i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else {
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == len;
}

/* A string from its opening quote; -1 at a raw control character. */
static int
scan_string(struct scan *sc, char *err, size_t errsz)
{
	struct frame	*top = sc->depth > 0 ? &sc->f[sc->depth - 1] : NULL;
	size_t		 start = ++sc->i;
	char		 what[64];

	sc->in_key = top != NULL && top->object && top->key == NULL;
	for (; sc->i < sc->len && sc->s[sc->i] != '"'; sc->i++) {
		if (sc->s[sc->i] == '\\')
			sc->i++;
		else if ((unsigned char)sc->s[sc->i] < 0x20) {
			snprintf(what, sizeof(what), "a raw control "
			    "character U+%04X", (unsigned char)sc->s[sc->i]);
			fail(sc, what, err, errsz);
			return -1;
		}
	}
	if (sc->in_key) {
		top->key = sc->s + start;
		top->keylen = sc->i - start;
	}
	sc->in_key = 0;
	sc->i++;
	return 0;
}

/* A number, true, false or null; json-c checked the last three. */
static int
scan_scalar(struct scan *sc, char *err, size_t errsz)
{
	size_t	 start = sc->i, n;
	char	 what[64];

	while (sc->i < sc->len && strchr("+-.0123456789abcdefghijklmnopqrs"
	    "tuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", sc->s[sc->i]) != NULL &&
	    sc->s[sc->i] != '\0')
		sc->i++;
	n = sc->i - start;
	if ((n == 4 && memcmp(sc->s + start, "true", 4) == 0) ||
	    (n == 5 && memcmp(sc->s + start, "false", 5) == 0) ||
	    (n == 4 && memcmp(sc->s + start, "null", 4) == 0) ||
	    json_number(sc->s + start, n))
		return 0;
	snprintf(what, sizeof(what), "%.*s%s is not a JSON number",
	    n > 16 ? 16 : (int)n, sc->s + start, n > 16 ? "..." : "");
	sc->i = start;
	fail(sc, what, err, errsz);
	return -1;
}

/* Structure: which member or element the scan is in. */
static int
scan_mark(struct scan *sc, char *err, size_t errsz)
{
	struct frame	*top = sc->depth > 0 ? &sc->f[sc->depth - 1] : NULL;
	char		 c = sc->s[sc->i++];

	switch (c) {
	case '{':
	case '[':
		if (sc->depth == DEPTH_MAX) {
			sc->i--;
			fail(sc, "nesting too deep", err, errsz);
			return -1;
		}
		top = &sc->f[sc->depth++];
		memset(top, 0, sizeof(*top));
		top->object = c == '{';
		break;
	case '}':
	case ']':
		if (sc->depth > 0)
			sc->depth--;
		break;
	case ',':
		if (top != NULL && top->object)
			top->key = NULL;
		else if (top != NULL)
			top->index++;
		break;
	default:	/* ':' and blanks */
		break;
	}
	return 0;
}

/*
 * 0 if the body (len bytes, already accepted by json-c) is JSON by RFC
 * 8259; otherwise -1, and err says what, at which byte, in which member.
 */
int
rfc8259_check(const char *body, size_t len, char *err, size_t errsz)
{
	struct scan	 sc;
	int		 rc = 0;

	memset(&sc, 0, sizeof(sc));
	sc.s = body;
	sc.len = len;
	while (rc == 0 && sc.i < len) {
		if (body[sc.i] == '"')
			rc = scan_string(&sc, err, errsz);
		else if (strchr("{}[],: \t\r\n", body[sc.i]) != NULL &&
		    body[sc.i] != '\0')
			rc = scan_mark(&sc, err, errsz);
		else
			rc = scan_scalar(&sc, err, errsz);
	}
	return rc;
}
