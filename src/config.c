/*
 * config.c: the configuration read from the environment at start-up
 * (Cloud Run and systemd style).  A missing or empty value is refused
 * here, with one line saying which and what to do.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
read_secret_file(const char *path, struct secret *s, char *err, size_t errsz)
{
	char	 buf[SECRET_MAX + 1];
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "CALCOM_WEBHOOK_SECRET_FILE %s: %s",
		    path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n == -1 || len > SECRET_MAX) {
		snprintf(err, errsz, "CALCOM_WEBHOOK_SECRET_FILE %s: %s", path,
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

int
config_load_secret(struct secret *s, char *err, size_t errsz)
{
	const char	*value = getenv("CALCOM_WEBHOOK_SECRET");
	const char	*file = getenv("CALCOM_WEBHOOK_SECRET_FILE");

	if (value != NULL && *value != '\0' && file != NULL && *file != '\0') {
		snprintf(err, errsz, "set CALCOM_WEBHOOK_SECRET or "
		    "CALCOM_WEBHOOK_SECRET_FILE, not both");
		return -1;
	}
	if (file != NULL && *file != '\0') {
		if (read_secret_file(file, s, err, errsz) == -1)
			return -1;
	} else if (value != NULL) {
		if ((s->key = strdup(value)) == NULL) {
			snprintf(err, errsz, "out of memory");
			return -1;
		}
		s->len = strlen(value);
	}
	/* Keep the secret out of the environment workers and children see. */
	unsetenv("CALCOM_WEBHOOK_SECRET");
	if (s->key == NULL || s->len == 0) {
		snprintf(err, errsz, "no webhook secret: set "
		    "CALCOM_WEBHOOK_SECRET or CALCOM_WEBHOOK_SECRET_FILE to the "
		    "secret of the Cal.com webhook");
		return -1;
	}
	return 0;
}

int
config_load(struct config *c, char *err, size_t errsz)
{
	const char	*max = getenv("CALSYNC_MAX_BODY");
	uint64_t	 v;

	memset(c, 0, sizeof(*c));
	c->max_body = MAX_BODY_DEFAULT;
	c->database_url = getenv("DATABASE_URL");
	if (c->database_url == NULL || *c->database_url == '\0') {
		snprintf(err, errsz, "DATABASE_URL is not set: give the "
		    "PostgreSQL URI or conninfo of the GA Personal database");
		return -1;
	}
	if (max != NULL && *max != '\0') {
		if (parse_decimal(max, 64 * 1024 * 1024, &v) == -1 || v < 1024) {
			snprintf(err, errsz, "CALSYNC_MAX_BODY must be a "
			    "number of bytes from 1024 to 67108864");
			return -1;
		}
		c->max_body = (size_t)v;
	}
	return config_load_secret(&c->secret, err, errsz);
}

void
config_free(struct config *c)
{
	if (c->secret.key != NULL) {
		explicit_bzero(c->secret.key, c->secret.len);
		free(c->secret.key);
	}
	memset(c, 0, sizeof(*c));
}
