/*
 * tests/verify.c: verify_sign and verify_signature against RFC 4231's
 * HMAC-SHA256 vectors and a Cal.com-shaped delivery, every verdict,
 * verdict_reason, and verify_digest against FIPS 180-2; and one verifier
 * used many times over, as a worker does.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../src/calsync.h"
#include "tap.h"

/* RFC 4231 section 4; case 5 (truncated output) left out. */
static const struct {
	int		 rfc_case;
	const char	*key;
	size_t		 keylen;
	const char	*data;
	size_t		 datalen;
	const char	*mac;
} rfc4231[] = {
	{ 1, "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
	    "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b", 20,
	    "Hi There", 8,
	    "b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7" },
	{ 2, "Jefe", 4, "what do ya want for nothing?", 28,
	    "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843" },
	{ 3, NULL, 20, NULL, 50,	/* 0xaa x 20, 0xdd x 50: filled in */
	    "773ea91e36800e46854db8ebd09181a7"
	    "2959098b3ef8c122d9635514ced565fe" },
	{ 4, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
	    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19", 25,
	    NULL, 50,			/* 0xcd x 50 */
	    "82558a389a443c0ea4cc819899f2083a"
	    "85f0faa3e578f8077a2e3ff46729665b" },
	{ 6, NULL, 131,			/* 0xaa x 131 */
	    "Test Using Larger Than Block-Size Key - Hash Key First", 54,
	    "60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54" },
	{ 7, NULL, 131,
	    "This is a test using a larger than block-size key and a larger "
	    "than block-size data. The key needs to be hashed before being "
	    "used by the HMAC algorithm.", 152,
	    "9b09ffa71b942fcb27635fbcd5b0e944"
	    "bfdc63644f0713938a7f51535c3a35e2" },
};

/*
 * Cal.com's documented BOOKING_CREATED example as JSON.stringify sends it
 * (jq -c of examples/booking_created.json), and its X-Cal-Signature-256
 * computed outside calsync:
 *   openssl dgst -sha256 -hmac calsync-test-secret created.min
 */
static const char created[] =
	"{\"triggerEvent\":\"BOOKING_CREATED\",\"createdAt\":\"2024-01-01T0"
	"0:00:00.000Z\",\"payload\":{\"bookerUrl\":\"https://app.example.co"
	"m\",\"title\":\"Strategy Session between Organizer and Guest\",\"s"
	"tartTime\":\"2024-01-01T10:00:00Z\",\"endTime\":\"2024-01-01T10:15"
	":00Z\",\"additionalNotes\":\"\",\"type\":\"standard-event-type\","
	"\"description\":\"\",\"eventTypeId\":123,\"hideCalendarNotes\":fal"
	"se,\"hideCalendarEventDetails\":false,\"hideOrganizerEmail\":false"
	",\"schedulingType\":null,\"seatsPerTimeSlot\":null,\"seatsShowAtte"
	"ndees\":true,\"seatsShowAvailabilityCount\":true,\"customReplyToEm"
	"ail\":null,\"disableRescheduling\":false,\"disableCancelling\":fal"
	"se,\"organizer\":{\"id\":1,\"name\":\"Organizer Name\",\"email\":"
	"\"organizer@example.com\",\"username\":\"organizer-handle\",\"user"
	"nameInOrg\":\"organizer\",\"timeZone\":\"UTC\",\"language\":{\"loc"
	"ale\":\"en\"},\"timeFormat\":\"h:mma\",\"utcOffset\":0},\"attendee"
	"s\":[{\"email\":\"guest@example.com\",\"name\":\"Guest User\",\"fi"
	"rstName\":\"Guest\",\"lastName\":\"User\",\"timeZone\":\"UTC\",\"l"
	"anguage\":{\"locale\":\"en\"},\"utcOffset\":0},{\"email\":\"additi"
	"onal-guest@example.com\",\"name\":\"Additional Guest\",\"firstName"
	"\":\"\",\"lastName\":\"\",\"timeZone\":\"UTC\",\"language\":{\"loc"
	"ale\":\"en\"},\"utcOffset\":0}],\"customInputs\":{},\"responses\":"
	"{\"name\":{\"label\":\"your_name\",\"value\":\"Guest User\",\"isHi"
	"dden\":false},\"email\":{\"label\":\"email_address\",\"value\":\"g"
	"uest@example.com\",\"isHidden\":false},\"attendeePhoneNumber\":{\""
	"label\":\"phone_number\",\"isHidden\":true},\"location\":{\"label"
	"\":\"location\",\"value\":{\"optionValue\":\"\",\"value\":\"integr"
	"ations:video-provider\"},\"isHidden\":false},\"title\":{\"label\":"
	"\"what_is_this_meeting_about\",\"isHidden\":true},\"notes\":{\"lab"
	"el\":\"additional_notes\",\"isHidden\":false},\"guests\":{\"label"
	"\":\"additional_guests\",\"value\":[\"additional-guest@example.com"
	"\"],\"isHidden\":false},\"rescheduleReason\":{\"label\":\"reason_f"
	"or_reschedule\",\"isHidden\":false}},\"userFieldsResponses\":{},\""
	"location\":\"integrations:video-provider\",\"destinationCalendar\""
	":null,\"iCalUID\":\"unique-identifier-string@example.com\",\"iCalS"
	"equence\":0,\"requiresConfirmation\":false,\"oneTimePassword\":nul"
	"l,\"organizationId\":1,\"hashedLink\":null,\"uid\":\"unique-bookin"
	"g-id\",\"conferenceData\":{\"createRequest\":{\"requestId\":\"0000"
	"0000-0000-0000-0000-000000000000\"}},\"videoCallData\":{\"type\":"
	"\"video_provider\",\"id\":\"meeting-room-id\",\"password\":\"redac"
	"ted_token\",\"url\":\"https://video.example.com/meeting-room-id\"}"
	",\"appsStatus\":[{\"appName\":\"video-app\",\"type\":\"video_provi"
	"der\",\"success\":1,\"failures\":0,\"errors\":[]}],\"eventTitle\":"
	"\"Strategy Session\",\"eventDescription\":\"\",\"price\":0,\"curre"
	"ncy\":\"usd\",\"length\":15,\"bookingId\":100,\"metadata\":{\"vide"
	"oCallUrl\":\"https://app.example.com/video/unique-booking-id\"},\""
	"status\":\"ACCEPTED\"}}";
static const char created_sig[] =
    "8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f79";
/* printf '' | openssl dgst -sha256 -hmac calsync-test-secret */
static const char empty_sig[] =
    "4c89ed731a77feb57d9a4300931f97cb579f96e254fae7ebe02c38c5355bf8e9";

/* A verifier made for one call; reuse() keeps one for many. */
static enum verdict
check(const struct secret s[2], const char *header, const void *body,
    size_t len)
{
	struct verifier	*v = verify_new(s);
	enum verdict	 r = VERDICT_MISSING;

	if (v == NULL)
		ok(0, "verify_new");
	else
		r = verify_signature(v, header, body, len);
	verify_free(v);
	return r;
}

static void
sign(const struct secret *current, const void *body, size_t len,
    char hex[SIGNATURE_HEX_LEN + 1])
{
	struct secret	 s[2] = { *current, { NULL, 0 } };
	struct verifier	*v = verify_new(s);

	hex[0] = '\0';
	if (v != NULL)
		verify_sign(v, body, len, hex);
	verify_free(v);
}

static void
rfc_vectors(void)
{
	static char	 aa[131], dd[50], cd[50];
	struct secret	 s[2] = { { NULL, 0 }, { NULL, 0 } };
	const char	*data;
	char		 hex[SIGNATURE_HEX_LEN + 1], hdr[80];
	size_t		 i, j;

	memset(aa, 0xaa, sizeof(aa));
	memset(dd, 0xdd, sizeof(dd));
	memset(cd, 0xcd, sizeof(cd));
	for (i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
		s[0].key = rfc4231[i].key != NULL ? (char *)rfc4231[i].key : aa;
		s[0].len = rfc4231[i].keylen;
		data = rfc4231[i].data;
		if (data == NULL)
			data = rfc4231[i].rfc_case == 3 ? dd : cd;

		memset(hex, 'x', sizeof(hex));
		sign(&s[0], data, rfc4231[i].datalen, hex);
		is_str(hex, rfc4231[i].mac, "RFC 4231 case %d: verify_sign",
		    rfc4231[i].rfc_case);
		is_int(check(s, rfc4231[i].mac, data,
		    rfc4231[i].datalen), VERDICT_OK,
		    "RFC 4231 case %d: lowercase hex accepted",
		    rfc4231[i].rfc_case);

		for (j = 0; j < SIGNATURE_HEX_LEN; j++)
			hex[j] = rfc4231[i].mac[j] >= 'a' ?
			    rfc4231[i].mac[j] - 'a' + 'A' : rfc4231[i].mac[j];
		hex[j] = '\0';
		is_int(check(s, hex, data, rfc4231[i].datalen),
		    VERDICT_OK, "RFC 4231 case %d: UPPERCASE hex accepted",
		    rfc4231[i].rfc_case);
		snprintf(hdr, sizeof(hdr), "sha256=%s", rfc4231[i].mac);
		is_int(check(s, hdr, data, rfc4231[i].datalen),
		    VERDICT_OK, "RFC 4231 case %d: sha256= prefix accepted",
		    rfc4231[i].rfc_case);
		snprintf(hdr, sizeof(hdr), "SHA256=%s", hex);
		is_int(check(s, hdr, data, rfc4231[i].datalen),
		    VERDICT_OK, "RFC 4231 case %d: SHA256= prefix, upper hex",
		    rfc4231[i].rfc_case);
		/* The whole key counts: one byte less is another key. */
		s[0].len--;
		is_int(check(s, rfc4231[i].mac, data,
		    rfc4231[i].datalen), VERDICT_MISMATCH,
		    "RFC 4231 case %d: key one byte short -> MISMATCH",
		    rfc4231[i].rfc_case);
	}
}

static void
calcom_form(void)
{
	struct secret	 s[2] = { { "calsync-test-secret", 19 }, { NULL, 0 } };
	struct secret	 other[2] = { { "calsync-test-secreT", 19 }, { NULL, 0 } };
	struct secret	 longer[2] = { { "calsync-test-secret!", 20 }, { NULL, 0 } };
	struct verifier	*v = verify_new(s);
	char		 hex[SIGNATURE_HEX_LEN + 1], body[sizeof(created)];
	char		*p;

	/* One verifier for all of s's checks, as a worker keeps it. */
	ok(v != NULL, "verify_new with the current secret");
	if (v == NULL)
		return;
	is_int(sizeof(created) - 1, 2582, "compact body is 2582 bytes");
	verify_sign(v, created, sizeof(created) - 1, hex);
	is_str(hex, created_sig, "verify_sign = openssl's signature");
	is_int(verify_signature(v, created_sig, created, sizeof(created) - 1),
	    VERDICT_OK, "Cal.com BOOKING_CREATED: bare lowercase hex OK");

	memcpy(body, created, sizeof(created));
	p = strstr(body, "\"length\":15");
	ok(p != NULL, "body has \"length\":15 to alter");
	if (p != NULL)
		p[10] = '6';
	is_int(verify_signature(v, created_sig, body, sizeof(body) - 1),
	    VERDICT_MISMATCH, "one byte of the body changed -> MISMATCH");
	is_int(verify_signature(v, created_sig, created, sizeof(created) - 2),
	    VERDICT_MISMATCH, "body one byte short -> MISMATCH");
	is_int(verify_signature(v, created_sig, created, sizeof(created)),
	    VERDICT_MISMATCH, "body with its NUL appended -> MISMATCH");
	is_int(check(other, created_sig, created,
	    sizeof(created) - 1), VERDICT_MISMATCH,
	    "another secret -> MISMATCH");
	is_int(check(longer, created_sig, created,
	    sizeof(created) - 1), VERDICT_MISMATCH,
	    "the secret with a byte appended -> MISMATCH");

	verify_sign(v, "", 0, hex);
	is_str(hex, empty_sig, "empty body: verify_sign = openssl's");
	is_int(verify_signature(v, empty_sig, "", 0), VERDICT_OK,
	    "empty body: its signature accepted");
	is_int(verify_signature(v, created_sig, "", 0), VERDICT_MISMATCH,
	    "empty body: another body's signature -> MISMATCH");
	is_int(verify_signature(v, empty_sig, created, sizeof(created) - 1),
	    VERDICT_MISMATCH, "empty body's signature on a body -> MISMATCH");
	is_int(verify_signature(v, created_sig, created, sizeof(created) - 1),
	    VERDICT_OK, "the same verifier, after all that: still OK");
	verify_free(v);
}

/* Headers refused before any HMAC is computed. */
static const struct {
	const char	*header;
	enum verdict	 want;
	const char	*what;
} headers[] = {
	{ NULL, VERDICT_MISSING, "NULL header" },
	{ "", VERDICT_MISSING, "empty header" },
	{ "no-secret-provided", VERDICT_NO_SECRET, "no-secret-provided" },
	{ "sha256=", VERDICT_MALFORMED, "sha256= alone" },
	{ "sha256", VERDICT_MALFORMED, "sha256 without =" },
	{ "8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f7",
	    VERDICT_MALFORMED, "63 hex digits" },
	{ "8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f790",
	    VERDICT_MALFORMED, "65 hex digits" },
	{ "8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f7g",
	    VERDICT_MALFORMED, "a non-hex character (g)" },
	{ "8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff69942484:f79",
	    VERDICT_MALFORMED, "a colon among the digits" },
	{ "0x05a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f79",
	    VERDICT_MALFORMED, "0x prefix inside 64 characters" },
	{ " 8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f79",
	    VERDICT_MALFORMED, "a leading space" },
	{ "8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f79 ",
	    VERDICT_MALFORMED, "a trailing space" },
	{ "8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f79\n",
	    VERDICT_MALFORMED, "a trailing newline" },
	{ "sha256= 8705a52456d94dc7e47739787ec4e93"
	    "f3769fbed9816be8affff699424841f79",
	    VERDICT_MALFORMED, "a space after sha256=" },
	{ "sha512=8705a52456d94dc7e47739787ec4e93"
	    "f3769fbed9816be8affff699424841f79",
	    VERDICT_MALFORMED, "sha512= prefix" },
	{ "sha256=sha256=8705a52456d94dc7e47739787ec4e93"
	    "f3769fbed9816be8affff699424841f79",
	    VERDICT_MALFORMED, "sha256= twice" },
	{ "NO-SECRET-PROVIDED", VERDICT_MALFORMED,
	    "NO-SECRET-PROVIDED (Cal.com sends lowercase)" },
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	    VERDICT_MISMATCH, "64 zeros: well-formed, wrong" },
	{ "9705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f79",
	    VERDICT_MISMATCH, "the right signature but its first digit" },
	{ "8705a52456d94dc7e47739787ec4e93f3769fbed9816be8affff699424841f78",
	    VERDICT_MISMATCH, "the right signature but its last digit" },
};

/* During a rotation the previous secret is accepted too, never a third. */
static void
rotation(void)
{
	struct secret	 both[2] = { { "new-secret", 10 }, { "old-secret", 10 } };
	struct secret	 one[2] = { { "new-secret", 10 }, { NULL, 0 } };
	struct secret	 old[2] = { { "old-secret", 10 }, { NULL, 0 } };
	char		 hex[SIGNATURE_HEX_LEN + 1];

	sign(&old[0], created, sizeof(created) - 1, hex);
	is_int(check(both, hex, created, sizeof(created) - 1),
	    VERDICT_OK, "rotation: signed with the previous secret, accepted");
	is_int(check(one, hex, created, sizeof(created) - 1),
	    VERDICT_MISMATCH, "rotation over: the previous secret refused");
	sign(&one[0], created, sizeof(created) - 1, hex);
	is_int(check(both, hex, created, sizeof(created) - 1),
	    VERDICT_OK, "rotation: signed with the new secret, accepted");
}

static void
verdicts(void)
{
	struct secret	 s[2] = { { "calsync-test-secret", 19 }, { NULL, 0 } };
	const char	*r, *seen[VERDICT_MISMATCH + 1];
	size_t		 i;
	int		 v, w;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		is_int(check(s, headers[i].header, created,
		    sizeof(created) - 1), headers[i].want, "%s -> verdict %d",
		    headers[i].what, (int)headers[i].want);

	for (v = VERDICT_OK; v <= VERDICT_MISMATCH; v++) {
		r = seen[v] = verdict_reason((enum verdict)v);
		ok(r != NULL && *r != '\0', "verdict_reason(%d) is a sentence",
		    v);
		for (w = VERDICT_OK; w < v; w++)
			if (r != NULL && seen[w] != NULL &&
			    strcmp(r, seen[w]) == 0)
				break;
		is_int(w, v, "verdict_reason(%d) differs from the others", v);
	}
	ok(strstr(verdict_reason(VERDICT_MISSING), "X-Cal-Signature-256") !=
	    NULL, "MISSING reason names the header");
	ok(strstr(verdict_reason(VERDICT_NO_SECRET), "no-secret-provided") !=
	    NULL, "NO_SECRET reason quotes no-secret-provided");
	ok(strstr(verdict_reason(VERDICT_MALFORMED), "64 hex") != NULL,
	    "MALFORMED reason says 64 hex digits");
}

static void
digests(void)
{
	static const struct secret	 none[2];
	static const unsigned char abc[DIGEST_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	static const unsigned char empty[DIGEST_LEN] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
		0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
		0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};
	struct verifier	*v = verify_new(none);
	unsigned char	 out[DIGEST_LEN];
	char		 hex[SIGNATURE_HEX_LEN + 1];

	/* calsyncctl replay: a digest without any secret. */
	ok(v != NULL, "verify_new without a secret");
	if (v == NULL)
		return;
	memset(out, 0, sizeof(out));
	is_int(verify_digest(v, "abc", 3, out), 0, "verify_digest succeeds");
	ok(memcmp(out, abc, DIGEST_LEN) == 0,
	    "verify_digest(\"abc\") = FIPS 180-2 B.1");
	memset(out, 0, sizeof(out));
	verify_digest(v, "", 0, out);
	ok(memcmp(out, empty, DIGEST_LEN) == 0,
	    "verify_digest(\"\") = SHA-256 of the empty string");
	verify_digest(v, "abd", 3, out);
	ok(memcmp(out, abc, DIGEST_LEN) != 0, "verify_digest(\"abd\") differs");
	memset(out, 0, sizeof(out));
	verify_digest(v, "abc", 3, out);
	ok(memcmp(out, abc, DIGEST_LEN) == 0,
	    "verify_digest(\"abc\") again on the same verifier");
	is_int(verify_signature(v, created_sig, created, sizeof(created) - 1),
	    VERDICT_MISMATCH, "no secret: the right signature -> MISMATCH");
	memset(hex, 'x', sizeof(hex));
	verify_sign(v, created, sizeof(created) - 1, hex);
	is_str(hex, "", "no secret: verify_sign gives nothing");
	verify_free(v);
}

/*
 * A worker keys its verifier once and uses it for every delivery: each
 * check must start from the key alone, whatever came before it, and the
 * verifier must not depend on the secret's buffer once made.
 */
static void
reuse(void)
{
	char		 cur[] = "new-secret", prev[] = "old-secret";
	struct secret	 both[2] = { { cur, 10 }, { prev, 10 } };
	struct secret	 old[2] = { { "old-secret", 10 }, { NULL, 0 } };
	struct verifier	*v = verify_new(both);
	char		 hex[SIGNATURE_HEX_LEN + 1];
	char		 oldhex[SIGNATURE_HEX_LEN + 1];
	unsigned char	 d1[DIGEST_LEN], d2[DIGEST_LEN];
	int		 i, good = 0;

	ok(v != NULL, "verify_new with two secrets");
	if (v == NULL)
		return;
	sign(&old[0], created, sizeof(created) - 1, oldhex);
	verify_sign(v, created, sizeof(created) - 1, hex);
	/* The caller may cleanse its secrets: the verifier has its own. */
	memset(cur, 'x', sizeof(cur) - 1);
	memset(prev, 'x', sizeof(prev) - 1);
	for (i = 0; i < 100; i++) {
		/* Interleaved: the previous secret, MISMATCH, MALFORMED. */
		good += verify_signature(v, hex, created,
		    sizeof(created) - 1) == VERDICT_OK;
		good += verify_signature(v, oldhex, created,
		    sizeof(created) - 1) == VERDICT_OK;
		good += verify_signature(v, created_sig, created,
		    sizeof(created) - 1) == VERDICT_MISMATCH;
		good += verify_signature(v, hex, created,
		    sizeof(created) - 2) == VERDICT_MISMATCH;
		good += verify_signature(v, "sha256=zz", created,
		    sizeof(created) - 1) == VERDICT_MALFORMED;
		good += verify_signature(v, hex, "", 0) == VERDICT_MISMATCH;
	}
	is_int(good, 600, "one verifier, 600 checks, every verdict right");
	verify_digest(v, created, sizeof(created) - 1, d1);
	verify_signature(v, hex, created, sizeof(created) - 1);
	verify_digest(v, created, sizeof(created) - 1, d2);
	ok(memcmp(d1, d2, DIGEST_LEN) == 0,
	    "verify_digest unaffected by the checks between");
	/*
	 * No test point: one that follows the call cannot fail.  If freeing
	 * NULL crashes, this program dies before its plan and the driver
	 * reports an error; a leak or a double free fails the valgrind and
	 * ASan passes of tools/test.
	 */
	verify_free(v);
	verify_free(NULL);
}

int
main(void)
{
	rfc_vectors();
	calcom_form();
	verdicts();
	rotation();
	digests();
	reuse();
	return tap_done();
}
