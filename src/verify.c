/*
 * verify.c: the signature Cal.com puts in X-Cal-Signature-256, i.e.
 * HMAC-SHA256(secret, raw body) in hex, checked in constant time; and
 * the SHA-256 of a body, which names a delivery in the journal.  The
 * only file that uses OpenSSL.
 *
 * A worker makes one struct verifier at start: the digest and the MAC
 * are fetched and each secret is keyed once, not on every delivery.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "calsync.h"

struct verifier {
	EVP_MAC_CTX	*mac[2];	/* keyed: current, previous secret */
	EVP_MD		*sha256;
	EVP_MD_CTX	*md;		/* for verify_digest */
};

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

/*
 * The secrets are copied into OpenSSL's contexts (and cleansed with
 * them): the verifier does not point into s.  NULL if out of memory.
 */
struct verifier *
verify_new(const struct secret s[2])
{
	struct verifier	*v;
	EVP_MAC		*hmac = NULL;
	char		 digest[] = "SHA256";
	OSSL_PARAM	 params[2];
	int		 i, ok = 0;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((v->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (v->md = EVP_MD_CTX_new()) == NULL ||
	    (hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		goto out;
	for (i = 0; i < 2; i++)
		if (s[i].key != NULL &&
		    ((v->mac[i] = EVP_MAC_CTX_new(hmac)) == NULL ||
		    !EVP_MAC_init(v->mac[i], (const unsigned char *)s[i].key,
		    s[i].len, params)))
			goto out;
	ok = 1;
out:
	EVP_MAC_free(hmac);
	if (!ok) {
		verify_free(v);
		v = NULL;
	}
	return v;
}

void
verify_free(struct verifier *v)
{
	if (v == NULL)
		return;
	EVP_MAC_CTX_free(v->mac[0]);
	EVP_MAC_CTX_free(v->mac[1]);
	EVP_MD_CTX_free(v->md);
	EVP_MD_free(v->sha256);
	free(v);
}

/* Initialising without a key starts again from the one set in verify_new. */
static int
hmac(EVP_MAC_CTX *ctx, const void *body, size_t len,
    unsigned char mac[DIGEST_LEN])
{
	size_t	 maclen = 0;

	return EVP_MAC_init(ctx, NULL, 0, NULL) &&
	    EVP_MAC_update(ctx, body, len) &&
	    EVP_MAC_final(ctx, mac, &maclen, DIGEST_LEN) &&
	    maclen == DIGEST_LEN ? 0 : -1;
}

/*
 * Cal.com sends bare lowercase hex; the seed guide's recipe sends
 * "sha256=<hex>".  Both are accepted, in any case.  The length is not
 * secret, so it is checked before the constant-time comparison.
 */
enum verdict
verify_signature(struct verifier *vf, const char *header, const void *body,
    size_t len)
{
	unsigned char	 want[DIGEST_LEN], got[DIGEST_LEN];
	size_t		 gotlen = 0;
	int		 i;
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
	/* '\0': no separator between the digits. */
	if (!OPENSSL_hexstr2buf_ex(got, sizeof(got), &gotlen, header, '\0') ||
	    gotlen != DIGEST_LEN)
		return VERDICT_MALFORMED;
	/* The current secret, then the previous one during a rotation. */
	v = VERDICT_MISMATCH;
	for (i = 0; i < 2 && v != VERDICT_OK; i++)
		if (vf->mac[i] != NULL &&
		    hmac(vf->mac[i], body, len, want) == 0 &&
		    CRYPTO_memcmp(want, got, DIGEST_LEN) == 0)
			v = VERDICT_OK;
	OPENSSL_cleanse(want, sizeof(want));
	return v;
}

/*
 * The header value Cal.com would send for this body with the current
 * secret: lowercase hex; empty if there is no secret or OpenSSL failed.
 */
void
verify_sign(struct verifier *v, const void *body, size_t len,
    char hex[SIGNATURE_HEX_LEN + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 mac[DIGEST_LEN];
	size_t			 i;

	if (v->mac[0] == NULL || hmac(v->mac[0], body, len, mac) == -1) {
		hex[0] = '\0';
		return;
	}
	for (i = 0; i < DIGEST_LEN; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 0xf];
	}
	hex[SIGNATURE_HEX_LEN] = '\0';
}

/* -1 only if OpenSSL could not allocate its context. */
int
verify_digest(struct verifier *v, const void *body, size_t len,
    unsigned char out[DIGEST_LEN])
{
	unsigned int	 n = 0;

	return EVP_DigestInit_ex2(v->md, v->sha256, NULL) &&
	    EVP_DigestUpdate(v->md, body, len) &&
	    EVP_DigestFinal_ex(v->md, out, &n) && n == DIGEST_LEN ? 0 : -1;
}
