/*
 * calcom.c: Cal.com's API v2, read only, for calsyncctl reconcile: GET
 * requests with the API key over verified TLS, with a connect and a total
 * timeout; a 429 waits what Retry-After says, a 5xx or a network failure
 * is tried again a few times, then it is an error.  The only file that
 * uses libcurl, and only calsyncctl links it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "calsync.h"

#define API_VERSION		"2024-08-13"	/* cal-api-version */
#define CONNECT_TIMEOUT_S	10L
#define TOTAL_TIMEOUT_S		60L
#define TRIES			4	/* a 5xx or network failure, in all */
#define RATE_LIMITS		5	/* 429s in a row, then an error */
#define RETRY_AFTER_MAX		120	/* seconds: a longer wait is an error */
#define ANSWER_MAX		(16L * 1024 * 1024)

struct calcom {
	CURL			*curl;
	struct curl_slist	*headers;	/* holds the key: never logged */
	char			*base;
	char			*buf;		/* the answer being read */
	size_t			 len, cap;
};

static size_t
take_bytes(char *data, size_t size, size_t n, void *arg)
{
	struct calcom	*c = arg;
	size_t		 add = size * n;
	char		*bigger;

	if (add > (size_t)ANSWER_MAX - c->len)
		return 0;	/* curl fails the transfer */
	if (c->len + add + 1 > c->cap) {
		c->cap = (c->len + add + 1) * 2;
		if ((bigger = realloc(c->buf, c->cap)) == NULL)
			return 0;
		c->buf = bigger;
	}
	memcpy(c->buf + c->len, data, add);
	c->len += add;
	c->buf[c->len] = '\0';
	return add;
}

struct calcom *
calcom_new(const struct calcom_config *cfg, char *err, size_t errsz)
{
	struct calcom	*c;
	char		*auth = NULL;
	size_t		 authlen;
	int		 ok;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errsz, "cannot set up libcurl");
		return NULL;
	}
	authlen = cfg->key.len + sizeof("Authorization: Bearer ");
	ok = (c->curl = curl_easy_init()) != NULL &&
	    (c->base = strdup(cfg->url)) != NULL &&
	    (auth = malloc(authlen)) != NULL;
	if (ok) {
		snprintf(auth, authlen, "Authorization: Bearer %s", cfg->key.key);
		ok = (c->headers = curl_slist_append(NULL, auth)) != NULL &&
		    curl_slist_append(c->headers, "cal-api-version: "
		    API_VERSION) != NULL &&
		    curl_slist_append(c->headers, "Accept: application/json") !=
		    NULL;
		explicit_bzero(auth, authlen);
	}
	free(auth);
	/* Verification is libcurl's default and is never turned off here. */
	ok = ok &&
	    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https") ==
	    CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	    (cfg->ca_file == NULL || curl_easy_setopt(c->curl, CURLOPT_CAINFO,
	    cfg->ca_file) == CURLE_OK) &&
	    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers) ==
	    CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT,
	    CONNECT_TIMEOUT_S) == CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S) ==
	    CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "calsync/"
	    PACKAGE_VERSION) == CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "") ==
	    CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, take_bytes) ==
	    CURLE_OK &&
	    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c) == CURLE_OK;
	if (!ok) {
		snprintf(err, errsz, "cannot set up libcurl (out of memory, or "
		    "a libcurl without https)");
		calcom_free(c);
		return NULL;
	}
	return c;
}

void
calcom_free(struct calcom *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c->base);
	free(c->buf);
	free(c);
	curl_global_cleanup();
}

static void
pause_s(long s)
{
	struct timespec	 t = { s, 0 };

	while (nanosleep(&t, &t) == -1)
		;
}

/* One request; the HTTP status, or 0 with err set if none came. */
static long
request(struct calcom *c, const char *url, char *err, size_t errsz)
{
	CURLcode	 rc;
	long		 status = 0;

	c->len = 0;
	if (c->buf != NULL)
		c->buf[0] = '\0';
	if ((rc = curl_easy_setopt(c->curl, CURLOPT_URL, url)) == CURLE_OK)
		rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK) {
		snprintf(err, errsz, "cannot read %s: %s", c->base,
		    curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* What an error answer says, for the one line that reports it. */
static void
answer_error(struct calcom *c, struct parser *p, long status, char *err,
    size_t errsz)
{
	char	 why[700];

	if (c->len == 0 || payload_api_error(p, c->buf, c->len, why,
	    sizeof(why)) == -1)
		snprintf(why, sizeof(why), "no error in Cal.com's format");
	snprintf(err, errsz, "Cal.com answered %ld: %s", status, why);
}

/*
 * GET base + path (path and query, already encoded).  0 with the 2xx
 * answer in *body (NUL-terminated, the caller frees), or -1 with err.
 */
int
calcom_get(struct calcom *c, struct parser *p, const char *path, char **body,
    size_t *len, char *err, size_t errsz)
{
	char		*url;
	size_t		 n = strlen(c->base) + strlen(path) + 1;
	long		 status, wait;
	curl_off_t	 after;
	int		 fails = 0, limits = 0;

	*body = NULL;
	*len = 0;
	if ((url = malloc(n)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	snprintf(url, n, "%s%s", c->base, path);
	for (;;) {
		status = request(c, url, err, errsz);
		if (status >= 200 && status < 300)
			break;
		if (status == 429 && ++limits <= RATE_LIMITS) {
			after = -1;
			curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &after);
			wait = after > 0 ? (long)after : 1L << (limits - 1);
			if (wait <= RETRY_AFTER_MAX) {
				pause_s(wait);
				continue;
			}
		}
		if ((status == 0 || status >= 500) && ++fails < TRIES) {
			pause_s(1L << (fails - 1));
			continue;
		}
		if (status != 0)
			answer_error(c, p, status, err, errsz);
		if (status == 0 || status >= 500 || status == 429) {
			n = strlen(err);
			snprintf(err + n, errsz - n, " (%s)", status == 429 ?
			    "rate limited, still" : "tried 4 times");
		}
		free(url);
		return -1;
	}
	free(url);
	if (c->len == 0) {
		snprintf(err, errsz, "Cal.com answered %ld with no body", status);
		return -1;
	}
	if ((*body = malloc(c->len + 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	memcpy(*body, c->buf, c->len + 1);
	*len = c->len;
	return 0;
}
