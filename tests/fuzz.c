/*
 * tests/fuzz.c: a libFuzzer harness over the code that reads untrusted
 * bytes: the signature check, the payload parser and its answer, the
 * Content-Length parser, the timestamp parser, and the escaping of what
 * is logged.  The low three bits of the first input byte choose the
 * target, so the seeds in tests/fuzz-corpus start with a readable digit:
 *	'0' verify_signature	'1' payload_parse (also '5' and '7')
 *	'2' parse_decimal	'6' parse_decimal with CALSYNC_MAX_BODY's limit
 *	'3' timestamp_parse	'4' log_escape
 * The rest is that target's input.  Each target also checks what must
 * hold of a success, and abort()s if not: a wrong answer is a finding as
 * much as a crash is.  Built and run by "make fuzz".
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../src/calsync.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char			 secret_key[] = "calsync-fuzz-secret";
/* The current secret; no previous one. */
static const struct secret	 secret[2] = { { secret_key,
				    sizeof(secret_key) - 1 }, { NULL, 0 } };

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz: invariant broken: %s\n", what);
	abort();
}

/* One for the whole run, as a worker keeps one for all its deliveries. */
static struct verifier *
verifier(void)
{
	static struct verifier	*v;

	if (v == NULL && (v = verify_new(secret)) == NULL)
		fail("verify_new");
	return v;
}

static struct parser *
parser(void)
{
	static struct parser	*p;

	if (p == NULL && (p = payload_parser_new()) == NULL)
		fail("payload_parser_new");
	return p;
}

/* An exact-size copy, so that ASan sees a read past the end. */
static char *
copy(const uint8_t *data, size_t len)
{
	char	*p = malloc(len > 0 ? len : 1);

	if (p == NULL)
		abort();
	if (len > 0)
		memcpy(p, data, len);
	return p;
}

/* The same bytes as a C string, as FastCGI parameters arrive. */
static char *
cstring(const uint8_t *data, size_t len)
{
	char	*p = malloc(len + 1);

	if (p == NULL)
		abort();
	if (len > 0)
		memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

/*
 * 0: header, '\n', body.  Whatever the header, the check must not crash,
 * and may only say OK for the body's own signature; the body's own
 * signature, bare, in upper case or after "sha256=", must be OK.
 */
static void
fuzz_verify(const uint8_t *data, size_t len)
{
	const uint8_t	*nl = memchr(data, '\n', len);
	size_t		 hlen = nl != NULL ? (size_t)(nl - data) : len;
	size_t		 blen = nl != NULL ? len - hlen - 1 : 0;
	char		*header = cstring(data, hlen);
	char		*body = copy(nl != NULL ? nl + 1 : data, blen);
	char		 hex[SIGNATURE_HEX_LEN + 1], upper[SIGNATURE_HEX_LEN + 1];
	char		 prefixed[SIGNATURE_HEX_LEN + 8];
	const char	*h;
	size_t		 i;
	enum verdict	 v;

	v = verify_signature(verifier(), header, body, blen);
	if (verdict_reason(v) == NULL)
		fail("verdict without a reason");
	verify_sign(verifier(), body, blen, hex);
	if (strlen(hex) != SIGNATURE_HEX_LEN)
		fail("verify_sign did not give 64 hex digits");
	if (v == VERDICT_OK) {
		h = strncasecmp(header, "sha256=", 7) == 0 ? header + 7 :
		    header;
		if (strcasecmp(h, hex) != 0)
			fail("a signature that is not the body's was accepted");
	}
	if (verify_signature(verifier(), hex, body, blen) != VERDICT_OK)
		fail("the body's own signature was refused");
	for (i = 0; i <= SIGNATURE_HEX_LEN; i++)
		upper[i] = (hex[i] >= 'a' && hex[i] <= 'f') ?
		    (char)(hex[i] - 'a' + 'A') : hex[i];
	if (verify_signature(verifier(), upper, body, blen) != VERDICT_OK)
		fail("the body's signature in upper case was refused");
	snprintf(prefixed, sizeof(prefixed), "sha256=%s", hex);
	if (verify_signature(verifier(), prefixed, body, blen) != VERDICT_OK)
		fail("the body's signature after sha256= was refused");
	free(header);
	free(body);
}

static int
printable_uid(const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > UID_MAX_BYTES)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/*
 * 1: a body.  payload_parse must not crash or leak; on success the
 * delivery must keep the promises store.c relies on; the answer built
 * from what was read must be a JSON object.
 */
static void
fuzz_payload(const uint8_t *data, size_t len)
{
	char		*body = copy(data, len);
	struct delivery	 d;
	char		 err[256], *answer;
	size_t		 i;
	int		 rc;
	enum outcome	 o;

	err[0] = '\0';
	rc = payload_parse(parser(), body, len, &d, err, sizeof(err));
	if (rc == -1 && err[0] == '\0')
		fail("payload_parse failed without saying why");
	if (rc == 0) {
		if (d.trigger == NULL)
			fail("parsed without a trigger");
		if (d.nattendees > MAX_ATTENDEES)
			fail("more attendees than MAX_ATTENDEES");
		if (strlen(d.location) > LOCATION_MAX_CHARS * 4)
			fail("location longer than its buffer allows");
		if (d.uid != NULL && !printable_uid(d.uid))
			fail("a uid outside printable ASCII");
		if (d.kind != TRIGGER_OTHER) {
			if (d.uid == NULL)
				fail("a booking trigger without a uid");
			if ((d.kind == TRIGGER_CREATED ||
			    d.kind == TRIGGER_RESCHEDULED) && d.start == TIME_NONE)
				fail("a booking without a start time");
			if (d.duration < 0 || d.duration > 7 * 24 * 60)
				fail("a duration out of range");
		}
		for (i = 0; i < d.nattendees; i++)
			if (d.attendees[i] == NULL ||
			    strchr(d.attendees[i], '@') == NULL)
				fail("an attendee that is not an email");
	}
	/* Any outcome, with what was read: the journal and the answer see it. */
	o = (enum outcome)(len > 0 ? data[len / 2] % (OUTCOME__MAX + 1) : 0);
	answer = payload_answer(o, rc == -1 ? err : NULL, "fuzz-1", d.uid,
	    NULL);
	if (answer == NULL || answer[0] != '{' ||
	    answer[strlen(answer) - 1] != '}')
		fail("payload_answer did not give a JSON object");
	free(answer);
	payload_free(&d);
	free(body);
}

/*
 * 2: a Content-Length.  Accepted means digits only, no leading zero, no
 * more than the limit, and printing the value gives the input back.  The
 * limit is request.c's (none) or, for '6', config.c's for
 * CALSYNC_MAX_BODY.
 */
static void
fuzz_decimal(uint8_t selector, const uint8_t *data, size_t len)
{
	char		*s = cstring(data, len);
	char		 back[32];
	uint64_t	 v = 0;
	uint64_t	 max = selector & 4 ? 64 * 1024 * 1024 : UINT64_MAX;

	if (parse_decimal(s, max, &v) == 0) {
		snprintf(back, sizeof(back), "%" PRIu64, v);
		if (strcmp(back, s) != 0)
			fail("parse_decimal accepted a non-canonical number");
		if (v > max)
			fail("parse_decimal went over its limit");
	}
	free(s);
}

/*
 * 3: a timestamp.  Accepted means at or after the epoch; formatting it
 * back and parsing again gives the same instant (to the millisecond).
 */
static void
fuzz_timestamp(const uint8_t *data, size_t len)
{
	char		*s = copy(data, len);
	char		 out[TIMESTAMP_BUFSZ], plain[TIMESTAMP_BUFSZ];
	int64_t		 ms = 0, again = 0;

	if (timestamp_parse(s, len, &ms) == 0) {
		if (ms < 0)
			fail("a timestamp before 1970 was accepted");
		timestamp_format_ms(ms, out);
		timestamp_format(ms, plain);
		/* Years past 9999 (9999-12-31T23:59Z-01:00) print as 5
		 * digits, which the parser rightly refuses. */
		if (strlen(out) == 24 &&
		    (timestamp_parse(out, strlen(out), &again) == -1 ||
		    again != ms))
			fail("a formatted timestamp does not parse back");
	}
	free(s);
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/*
 * 4: the size of the log buffer (one byte), then untrusted bytes (a uid,
 * REMOTE_ADDR, a reason).  The result fits, is printable ASCII with no
 * bare quote or backslash, and its \xHH escapes decode to a prefix of the
 * input (all of it, unless cut and ended with "...").
 */
static void
fuzz_escape(const uint8_t *data, size_t len)
{
	size_t		 dstsz = len > 0 ? data[0] : 64, n, i, o;
	const uint8_t	*src = len > 0 ? data + 1 : NULL;
	size_t		 srclen = len > 0 ? len - 1 : 0;
	char		*dst = malloc(dstsz > 0 ? dstsz : 1);
	char		*in = src != NULL ? copy(src, srclen) : NULL;
	unsigned char	 c;
	int		 cut;

	if (dst == NULL)
		abort();
	n = log_escape(dst, dstsz, in, srclen);
	if (dstsz == 0) {
		if (n != 0)
			fail("log_escape wrote into an empty buffer");
		goto done;
	}
	if (n >= dstsz || strlen(dst) != n)
		fail("log_escape's length is wrong or over the buffer");
	if (in == NULL) {
		if (strcmp(dst, "-") != 0 && dstsz > 1)
			fail("log_escape of NULL is not \"-\"");
		goto done;
	}
	/* A cut value ends in "..."; what comes before decodes to a prefix. */
	cut = n >= 3 && memcmp(dst + n - 3, "...", 3) == 0;
	if (cut)
		n -= 3;
	for (i = 0, o = 0; i < n; o++) {
		if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] > 0x7e ||
		    dst[i] == '"')
			fail("log_escape let an unsafe byte through");
		if (dst[i] == '\\') {
			if (i + 3 >= n || dst[i + 1] != 'x' ||
			    hexval(dst[i + 2]) < 0 || hexval(dst[i + 3]) < 0)
				fail("a backslash that is not \\xHH");
			c = (unsigned char)(hexval(dst[i + 2]) * 16 +
			    hexval(dst[i + 3]));
			i += 4;
		} else
			c = (unsigned char)dst[i++];
		if (o >= srclen || (unsigned char)in[o] != c)
			fail("log_escape's output does not decode to the input");
	}
done:
	free(dst);
	free(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	switch (data[0] & 7) {
	case 0:
		fuzz_verify(data + 1, len - 1);
		break;
	case 2:
	case 6:
		fuzz_decimal(data[0], data + 1, len - 1);
		break;
	case 3:
		fuzz_timestamp(data + 1, len - 1);
		break;
	case 4:
		fuzz_escape(data + 1, len - 1);
		break;
	default:
		fuzz_payload(data + 1, len - 1);
		break;
	}
	return 0;
}
