/*
 * config.c: the configuration read from the environment at start-up
 * (Cloud Run and systemd style).  A missing or empty value is refused
 * here, with one line saying which and what to do.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calsync.h"

#define SECRET_MAX	4096

/* A strict unsigned decimal: digits only, no sign, no space, <= max. */
int
parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	 v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (s[0] == '0' && s[1] != '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/*
 * Read a secret file whole.  One trailing newline is dropped, since
 * editors and "echo" add it and Cal.com's secret field never holds one.
 */
static int
read_secret_file(const char *var, const char *path, struct secret *s,
    char *err, size_t errsz)
{
	char	 buf[SECRET_MAX + 1];
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s %s: %s", var, path,
		    strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n == -1 || len > SECRET_MAX) {
		snprintf(err, errsz, "%s %s: %s", var, path,
		    n == -1 ? strerror(errno) : "longer than 4096 bytes");
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if ((s->key = malloc(len + 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	memcpy(s->key, buf, len);
	s->key[len] = '\0';
	s->len = len;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/*
 * One secret from NAME or NAME_FILE; never both.  Absent: s->key stays
 * NULL.  The value is taken out of the environment that workers and their
 * children see; a file can be read again (SIGHUP).
 */
static int
load_secret(const char *name, struct secret *s, char *err, size_t errsz)
{
	char		 filevar[64];
	const char	*value, *file;

	snprintf(filevar, sizeof(filevar), "%s_FILE", name);
	value = getenv(name);
	file = getenv(filevar);
	s->key = NULL;
	s->len = 0;
	if (value != NULL && *value != '\0' && file != NULL && *file != '\0') {
		snprintf(err, errsz, "set %s or %s, not both", name, filevar);
		return -1;
	}
	if (file != NULL && *file != '\0') {
		if (read_secret_file(filevar, file, s, err, errsz) == -1)
			return -1;
	} else if (value != NULL && *value != '\0') {
		if ((s->key = strdup(value)) == NULL) {
			snprintf(err, errsz, "out of memory");
			return -1;
		}
		s->len = strlen(value);
	}
	unsetenv(name);
	if (s->key != NULL && s->len == 0) {
		free(s->key);
		s->key = NULL;
	}
	return 0;
}

void
config_free_secret(struct secret *s)
{
	if (s->key != NULL) {
		explicit_bzero(s->key, s->len);
		free(s->key);
	}
	s->key = NULL;
	s->len = 0;
}

/*
 * The webhook secret, and the previous one while Cal.com is being switched
 * to a new one.  Without a current secret calsync must not run.
 */
int
config_load_secrets(struct secret s[2], char *err, size_t errsz)
{
	struct secret	 next[2];

	if (load_secret("CALCOM_WEBHOOK_SECRET", &next[0], err, errsz) == -1)
		return -1;
	if (next[0].key == NULL) {
		snprintf(err, errsz, "no webhook secret: set "
		    "CALCOM_WEBHOOK_SECRET or CALCOM_WEBHOOK_SECRET_FILE to the "
		    "secret of the Cal.com webhook");
		return -1;
	}
	if (load_secret("CALCOM_WEBHOOK_SECRET_PREVIOUS", &next[1], err,
	    errsz) == -1) {
		config_free_secret(&next[0]);
		return -1;
	}
	config_free_secret(&s[0]);
	config_free_secret(&s[1]);
	s[0] = next[0];
	s[1] = next[1];
	return 0;
}

/*
 * SIGHUP: read the secret files again.  Secrets given as values are kept:
 * they left the environment at start-up.
 */
int
config_reload_secrets(struct config *c, char *err, size_t errsz)
{
	if (getenv("CALCOM_WEBHOOK_SECRET_FILE") == NULL) {
		snprintf(err, errsz, "the secret is not from a file "
		    "(CALCOM_WEBHOOK_SECRET_FILE): nothing to read again");
		return -1;
	}
	return config_load_secrets(c->secrets, err, errsz);
}

/*
 * calsyncctl reconcile: where Cal.com's API is and its key, under the
 * webhook secret's rules (CALCOM_API_KEY or CALCOM_API_KEY_FILE, never
 * both, never empty).  Only https: the key goes in every request.
 */
int
config_load_calcom(struct calcom_config *c, char *err, size_t errsz)
{
	const char	*url = getenv("CALCOM_API_URL");
	const char	*ca = getenv("CALCOM_API_CA_FILE");
	size_t		 i;

	memset(c, 0, sizeof(*c));
	c->url = url != NULL && *url != '\0' ? url : CALCOM_API_URL_DEFAULT;
	c->ca_file = ca != NULL && *ca != '\0' ? ca : NULL;
	if (strncmp(c->url, "https://", 8) != 0 || c->url[8] == '\0' ||
	    c->url[strlen(c->url) - 1] == '/' ||
	    strcspn(c->url, " \t\r\n?#") != strlen(c->url)) {
		snprintf(err, errsz, "CALCOM_API_URL must be https://HOST[/PATH] "
		    "without a trailing slash, query or blank, such as %s",
		    CALCOM_API_URL_DEFAULT);
		return -1;
	}
	if (load_secret("CALCOM_API_KEY", &c->key, err, errsz) == -1)
		return -1;
	if (c->key.key == NULL) {
		snprintf(err, errsz, "no Cal.com API key: set CALCOM_API_KEY "
		    "or CALCOM_API_KEY_FILE to a key from Cal.com's Settings > "
		    "Developer > API keys");
		return -1;
	}
	/* It goes in a header line. */
	for (i = 0; i < c->key.len; i++)
		if ((unsigned char)c->key.key[i] < 0x21 || c->key.key[i] == 0x7f) {
			snprintf(err, errsz, "the Cal.com API key holds a blank "
			    "or a control character: copy it again");
			return -1;
		}
	return 0;
}

void
config_free_calcom(struct calcom_config *c)
{
	config_free_secret(&c->key);
}

static int
load_size(const char *name, uint64_t min, uint64_t max, size_t *out,
    char *err, size_t errsz)
{
	const char	*v = getenv(name);
	uint64_t	 n;

	if (v == NULL || *v == '\0')
		return 0;
	if (parse_decimal(v, max, &n) == -1 || n < min) {
		snprintf(err, errsz, "%s must be a number from %llu to %llu",
		    name, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = (size_t)n;
	return 0;
}

/* All but the webhook secrets: what calsyncctl reconcile needs. */
int
config_load_database(struct config *c, char *err, size_t errsz)
{
	const char	*spool = getenv("CALSYNC_SPOOL_DIR");

	memset(c, 0, sizeof(*c));
	c->max_body = MAX_BODY_DEFAULT;
	c->spool_dir = spool != NULL && *spool != '\0' ? spool :
	    SPOOL_DIR_DEFAULT;
	c->spool_max = SPOOL_MAX_DEFAULT;
	c->spool_interval = 5;
	c->pending_days = PENDING_DAYS_DEFAULT;
	c->database_url = getenv("DATABASE_URL");
	if (c->database_url == NULL || *c->database_url == '\0') {
		snprintf(err, errsz, "DATABASE_URL is not set: give the "
		    "PostgreSQL URI or conninfo of the GA Personal database");
		return -1;
	}
	if (load_size("CALSYNC_MAX_BODY", 1024, 64 * 1024 * 1024,
	    &c->max_body, err, errsz) == -1 ||
	    load_size("CALSYNC_SPOOL_MAX", 1024 * 1024, UINT64_MAX / 2,
	    &c->spool_max, err, errsz) == -1 ||
	    load_size("CALSYNC_SPOOL_INTERVAL", 1, 3600, &c->spool_interval,
	    err, errsz) == -1 ||
	    load_size("CALSYNC_PENDING_DAYS", 1, 3650, &c->pending_days,
	    err, errsz) == -1)
		return -1;
	return 0;
}

int
config_load(struct config *c, char *err, size_t errsz)
{
	if (config_load_database(c, err, errsz) == -1)
		return -1;
	return config_load_secrets(c->secrets, err, errsz);
}

void
config_free(struct config *c)
{
	config_free_secret(&c->secrets[0]);
	config_free_secret(&c->secrets[1]);
	memset(c, 0, sizeof(*c));
}
