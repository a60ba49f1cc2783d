/*
 * spool.c: verified deliveries kept on local disk while PostgreSQL cannot
 * take them (a restart, a failover), since Cal.com never sends one again;
 * and the draining of them, oldest first, once it can.  A spooled file is
 * the request id, a newline, and the body, made durable before the 202.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/stat.h>

#include "calsync.h"

#define SPOOL_SUFFIX	".delivery"

/* Bytes of the spooled deliveries now in dir, or -1. */
static long long
spool_size(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	long long	 total = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' &&
		    fstatat(dirfd(d), e->d_name, &st, 0) == 0)
			total += st.st_size;
	closedir(d);
	return total;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Keep one delivery.  Written to a dot-file, synced, renamed into place,
 * and the directory synced: after a crash the file is whole or absent.
 * Names sort by time, so the drain takes the oldest first.  -1 with
 * errno set (and err saying what) when it cannot be kept.
 */
int
spool_put(const struct config *cfg, const char *request_id,
    const char *body, size_t len, char *err, size_t errsz)
{
	char		 tmp[PATH_MAX], name[PATH_MAX];
	struct timespec	 now;
	long long	 used;
	int		 fd, dfd, saved;

	if ((used = spool_size(cfg->spool_dir)) == -1 ||
	    (unsigned long long)used + len > cfg->spool_max) {
		snprintf(err, errsz, "spool %s is full (%lld of %zu bytes)",
		    cfg->spool_dir, used, cfg->spool_max);
		errno = ENOSPC;
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(name, sizeof(name), "%s/%013lld-%s" SPOOL_SUFFIX,
	    cfg->spool_dir, (long long)now.tv_sec * 1000 + now.tv_nsec /
	    1000000, request_id);
	snprintf(tmp, sizeof(tmp), "%s/.%lld-%s", cfg->spool_dir,
	    (long long)now.tv_nsec, request_id);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600))
	    == -1) {
		snprintf(err, errsz, "spool %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, request_id, strlen(request_id)) == -1 ||
	    write_all(fd, "\n", 1) == -1 || write_all(fd, body, len) == -1 ||
	    fsync(fd) == -1 || close(fd) == -1 || rename(tmp, name) == -1) {
		saved = errno;
		snprintf(err, errsz, "spool %s: %s", tmp, strerror(saved));
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if ((dfd = open(cfg->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
	    != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The spooled files' names, oldest first; the caller frees them. */
static char **
spool_list(const char *dir, size_t *n)
{
	DIR		*d;
	struct dirent	*e;
	char		**names = NULL, **bigger;
	size_t		 cap = 0, len;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= strlen(SPOOL_SUFFIX) ||
		    strcmp(e->d_name + len - strlen(SPOOL_SUFFIX),
		    SPOOL_SUFFIX) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((bigger = realloc(names, cap * sizeof(*names))) ==
			    NULL)
				break;
			names = bigger;
		}
		if ((names[*n] = strdup(e->d_name)) == NULL)
			break;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(names, *n, sizeof(*names), by_name);
	return names;
}

/* Read one spooled file whole: the request id, then the body. */
static char *
spool_read(int dfd, const char *name, size_t *len)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 got;
	size_t		 off = 0;
	int		 fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || (buf = malloc((size_t)st.st_size + 1)) ==
	    NULL) {
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size &&
	    (got = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)got;
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
}

/*
 * Apply what the spool holds, oldest first, one worker at a time (a lock
 * on the directory), through apply() as if it came now: duplicates stay
 * harmless.  Stops at the first that the database cannot take yet.
 * Returns how many were applied.
 */
int
spool_drain(const struct config *cfg, spool_apply_fn apply, void *arg)
{
	char		**names, *buf, *nl;
	size_t		 n, i, len;
	int		 dfd, done = 0;

	if ((dfd = open(cfg->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
	    == -1)
		return 0;
	if (flock(dfd, LOCK_EX | LOCK_NB) == -1) {
		close(dfd);
		return 0;
	}
	names = spool_list(cfg->spool_dir, &n);
	for (i = 0; i < n; i++) {
		if ((buf = spool_read(dfd, names[i], &len)) == NULL)
			continue;
		if ((nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			if (apply(arg, buf, nl + 1, len - (size_t)(nl + 1 -
			    buf)) == -1) {
				free(buf);
				break;
			}
		}
		/* Applied, or not a delivery at all: either way, done. */
		unlinkat(dfd, names[i], 0);
		free(buf);
		done++;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	flock(dfd, LOCK_UN);
	close(dfd);
	return done;
}

/* How many deliveries wait in the spool (-1: unreadable). */
long
spool_count(const struct config *cfg)
{
	char	**names;
	size_t	 n, i;

	if ((names = spool_list(cfg->spool_dir, &n)) == NULL && n == 0 &&
	    access(cfg->spool_dir, R_OK) == -1)
		return -1;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return (long)n;
}
