/*
 * verify.c: the signature Cal.com puts in X-Cal-Signature-256, i.e.
 * HMAC-SHA256(secret, raw body) in hex, checked in constant time; and
 * the SHA-256 of a body, which names a delivery in the journal.  The
 * only file that uses OpenSSL.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "calsync.h"

static const char *const reasons[] = {
	[VERDICT_OK] = "signature valid",
	[VERDICT_MISSING] = "missing X-Cal-Signature-256 header",
	[VERDICT_NO_SECRET] = "the Cal.com webhook has no secret "
	    "(X-Cal-Signature-256: no-secret-provided); set the secret "
	    "in Cal.com",
	[VERDICT_MALFORMED] = "X-Cal-Signature-256 is not 64 hex digits",
	[VERDICT_MISMATCH] = "X-Cal-Signature-256 does not match the body",
};

const char *
verdict_reason(enum verdict v)
{
	return (unsigned)v <= VERDICT_MISMATCH ? reasons[v] : reasons[VERDICT_MISMATCH];
}

static int
hmac(const struct secret *s, const void *body, size_t len,
    unsigned char mac[DIGEST_LEN])
{
	unsigned int	 maclen = DIGEST_LEN;

	return HMAC(EVP_sha256(), s->key, (int)s->len, body, len, mac,
	    &maclen) == NULL || maclen != DIGEST_LEN ? -1 : 0;
}

/*
 * Cal.com sends bare lowercase hex; the seed guide's recipe sends
 * "sha256=<hex>".  Both are accepted, in any case.  The length is not
 * secret, so it is checked before the constant-time comparison.
 */
enum verdict
verify_signature(const struct secret s[2], const char *header,
    const void *body, size_t len)
{
	unsigned char	 want[DIGEST_LEN], got[DIGEST_LEN];
	long		 gotlen = 0;
	int		 i;
	unsigned char	*decoded;
	enum verdict	 v;

	if (header == NULL || *header == '\0')
		return VERDICT_MISSING;
	if (strcmp(header, "no-secret-provided") == 0)
		return VERDICT_NO_SECRET;
	if (strncasecmp(header, "sha256=", 7) == 0)
		header += 7;
	if (strlen(header) != SIGNATURE_HEX_LEN ||
	    strspn(header, "0123456789abcdefABCDEF") != SIGNATURE_HEX_LEN)
		return VERDICT_MALFORMED;
	if ((decoded = OPENSSL_hexstr2buf(header, &gotlen)) == NULL ||
	    gotlen != DIGEST_LEN) {
		OPENSSL_free(decoded);
		return VERDICT_MALFORMED;
	}
	memcpy(got, decoded, DIGEST_LEN);
	OPENSSL_free(decoded);
	/* The current secret, then the previous one during a rotation. */
	v = VERDICT_MISMATCH;
	for (i = 0; i < 2 && v != VERDICT_OK; i++)
		if (s[i].key != NULL && hmac(&s[i], body, len, want) == 0 &&
		    CRYPTO_memcmp(want, got, DIGEST_LEN) == 0)
			v = VERDICT_OK;
	OPENSSL_cleanse(want, sizeof(want));
	return v;
}

/* The header value Cal.com would send for this body: lowercase hex. */
void
verify_sign(const struct secret *s, const void *body, size_t len,
    char hex[SIGNATURE_HEX_LEN + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 mac[DIGEST_LEN];
	size_t			 i;

	if (hmac(s, body, len, mac) == -1) {
		hex[0] = '\0';
		return;
	}
	for (i = 0; i < DIGEST_LEN; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 0xf];
	}
	hex[SIGNATURE_HEX_LEN] = '\0';
}

void
verify_digest(const void *body, size_t len, unsigned char out[DIGEST_LEN])
{
	SHA256(body, len, out);
}
