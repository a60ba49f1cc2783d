/*
 * metrics.c: the counters every worker adds to and any worker reports
 * (GET /metrics, Prometheus' text format): deliveries by trigger and
 * outcome, request latency, database errors, worker restarts, and the
 * pending deliveries the notifier last counted.  They live in one
 * anonymous shared mapping made before the workers are forked.  And what
 * the last calsyncctl reconcile on this host did: it writes that, in the
 * same format, to a file in the spool directory, which /metrics adds.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <sys/mman.h>

#include "calsync.h"

/* In the spool directory; a dot file, so never taken for a delivery. */
#define RECONCILED_FILE		".reconcile.prom"
#define RECONCILED_MAX		4096

/* The triggers counted by name; any other is "other". */
#define TRIGGER_NAME(name, kind, rank)	name,
#define RECORDED_NAME(name)		name,
static const char *const triggers[] = {
	CALSYNC_TRIGGERS(TRIGGER_NAME) CALSYNC_RECORDED_TRIGGERS(RECORDED_NAME)
	"other", "none"
};
#define NTRIGGERS	(sizeof(triggers) / sizeof(triggers[0]))
#define TRIGGER_NONE	(NTRIGGERS - 1)	/* refused before it was read */

/* Upper bounds of the latency buckets, in seconds. */
static const double buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5
};
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

struct metrics {
	atomic_ulong	 deliveries[NTRIGGERS][OUTCOME__MAX];
	atomic_ulong	 latency[NBUCKETS + 1];		/* last: +Inf */
	atomic_ulong	 latency_us;			/* sum */
	atomic_ulong	 db_errors;
	atomic_ulong	 restarts;
	atomic_bool	 pending_known;	/* the notifier has counted them */
	atomic_long	 pending;	/* in the database, at its last count */
	atomic_ulong	 expired;	/* settled as expired by this host */
};

struct metrics *
metrics_new(void)
{
	void	*m;

	m = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return m == MAP_FAILED ? NULL : m;	/* zeroed by the kernel */
}

void
metrics_free(struct metrics *m)
{
	if (m != NULL)
		munmap(m, sizeof(*m));
}

static size_t
trigger_index(const char *trigger)
{
	size_t	 i;

	if (trigger == NULL)
		return TRIGGER_NONE;
	for (i = 0; i < TRIGGER_NONE - 1; i++)
		if (strcmp(trigger, triggers[i]) == 0)
			return i;
	return TRIGGER_NONE - 1;
}

void
metrics_request(struct metrics *m, const char *trigger, enum outcome o,
    double ms)
{
	size_t	 b;

	if (m == NULL)
		return;
	atomic_fetch_add(&m->deliveries[trigger_index(trigger)][o], 1);
	for (b = 0; b < NBUCKETS && ms / 1000 > buckets[b]; b++)
		;
	atomic_fetch_add(&m->latency[b], 1);
	atomic_fetch_add(&m->latency_us, (unsigned long)(ms * 1000));
	if (o == OUTCOME_UNAVAILABLE || o == OUTCOME_INTERNAL ||
	    o == OUTCOME_SPOOLED)
		atomic_fetch_add(&m->db_errors, 1);
}

void
metrics_restart(struct metrics *m)
{
	if (m != NULL)
		atomic_fetch_add(&m->restarts, 1);
}

/* The notifier, after calsync.expire_pending. */
void
metrics_pending(struct metrics *m, const struct pending *p)
{
	if (m == NULL)
		return;
	atomic_store(&m->pending, (long)p->waiting);
	atomic_fetch_add(&m->expired, (unsigned long)p->expired);
	atomic_store(&m->pending_known, true);
}

/* Append to a growing buffer; a failed allocation empties the result. */
static void
put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	*bigger;

	if (*buf == NULL)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			free(*buf);
			*buf = NULL;
			return;
		}
		if ((size_t)n < *cap - *len)
			break;
		if ((bigger = realloc(*buf, *cap * 2)) == NULL) {
			free(*buf);
			*buf = NULL;
			return;
		}
		*buf = bigger;
		*cap *= 2;
	}
	*len += (size_t)n;
}

/*
 * calsyncctl reconcile, at its end: its summary, written whole (a new
 * file renamed over the old one) for the workers' /metrics.  ok: whether
 * every change was read and applied.
 */
int
metrics_write_reconciled(const char *dir, const struct reconciled *r,
    const char *result, char *err, size_t errsz)
{
	char	 tmp[PATH_MAX], path[PATH_MAX];
	int	 fd, saved;

	if (snprintf(path, sizeof(path), "%s/%s", dir, RECONCILED_FILE) >=
	    (int)sizeof(path) || snprintf(tmp, sizeof(tmp), "%s.%d", path,
	    (int)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errsz, "%s: path too long", dir);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (dprintf(fd,
	    "# HELP calsync_reconcile_last_run_timestamp_seconds When "
	    "calsyncctl reconcile last ran on this host.\n"
	    "# TYPE calsync_reconcile_last_run_timestamp_seconds gauge\n"
	    "calsync_reconcile_last_run_timestamp_seconds %lld\n"
	    "# HELP calsync_reconcile_last_success Whether it read Cal.com "
	    "and applied every difference (1) or not (0).\n"
	    "# TYPE calsync_reconcile_last_success gauge\n"
	    "calsync_reconcile_last_success{result=\"%s\"} %d\n"
	    "# HELP calsync_reconcile_last_bookings The bookings of its "
	    "window, by what it found.\n"
	    "# TYPE calsync_reconcile_last_bookings gauge\n"
	    "calsync_reconcile_last_bookings{state=\"seen\"} %ld\n"
	    "calsync_reconcile_last_bookings{state=\"right\"} %ld\n"
	    "calsync_reconcile_last_bookings{state=\"applied\"} %ld\n"
	    "calsync_reconcile_last_bookings{state=\"unmatched\"} %ld\n"
	    "calsync_reconcile_last_bookings{state=\"skipped\"} %ld\n"
	    "calsync_reconcile_last_bookings{state=\"failed\"} %ld\n",
	    (long long)time(NULL), result, strcmp(result, "ok") == 0,
	    r->seen, r->right, r->applied, r->unmatched, r->skipped,
	    r->failed) < 0 || close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		snprintf(err, errsz, "%s: %s", path, strerror(saved));
		return -1;
	}
	return 0;
}

/* The last reconcile's lines, if one ran: appended as they are. */
static void
put_reconciled(char **buf, size_t *len, size_t *cap, const char *dir)
{
	char	 path[PATH_MAX], text[RECONCILED_MAX + 1];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, RECONCILED_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, text, RECONCILED_MAX);
	close(fd);
	if (n <= 0 || text[n - 1] != '\n')
		return;
	text[n] = '\0';
	put(buf, len, cap, "%s", text);
}

/*
 * The exposition, in Prometheus' text format 0.0.4; spool is the number of
 * deliveries waiting in this host's spool, spool_dir where it is.  The
 * caller frees it.
 */
char *
metrics_render(struct metrics *m, long spool, const char *spool_dir)
{
	size_t		 len = 0, cap = 8192, t, o, b;
	unsigned long	 n, cum = 0;
	char		*buf = malloc(cap);

	put(&buf, &len, &cap, "# HELP calsync_deliveries_total Requests to the "
	    "webhook, by Cal.com trigger and outcome.\n"
	    "# TYPE calsync_deliveries_total counter\n");
	for (t = 0; t < NTRIGGERS; t++)
		for (o = 0; o < OUTCOME__MAX; o++)
			if ((n = atomic_load(&m->deliveries[t][o])) > 0)
				put(&buf, &len, &cap, "calsync_deliveries_total"
				    "{trigger=\"%s\",outcome=\"%s\"} %lu\n",
				    triggers[t], outcome_info(o)->name, n);
	put(&buf, &len, &cap, "# HELP calsync_request_duration_seconds Time "
	    "to answer a webhook request.\n"
	    "# TYPE calsync_request_duration_seconds histogram\n");
	for (b = 0; b <= NBUCKETS; b++) {
		cum += atomic_load(&m->latency[b]);
		if (b < NBUCKETS)
			put(&buf, &len, &cap, "calsync_request_duration_seconds_"
			    "bucket{le=\"%g\"} %lu\n", buckets[b], cum);
		else
			put(&buf, &len, &cap, "calsync_request_duration_seconds_"
			    "bucket{le=\"+Inf\"} %lu\n", cum);
	}
	put(&buf, &len, &cap, "calsync_request_duration_seconds_sum %.6f\n"
	    "calsync_request_duration_seconds_count %lu\n",
	    (double)atomic_load(&m->latency_us) / 1e6, cum);
	put(&buf, &len, &cap, "# HELP calsync_database_errors_total Deliveries "
	    "the database could not take (spooled, or failed).\n"
	    "# TYPE calsync_database_errors_total counter\n"
	    "calsync_database_errors_total %lu\n"
	    "# HELP calsync_spool_deliveries Deliveries waiting in this host's "
	    "spool for the database.\n"
	    "# TYPE calsync_spool_deliveries gauge\n"
	    "calsync_spool_deliveries %ld\n"
	    "# HELP calsync_worker_restarts_total Workers that died and were "
	    "replaced.\n"
	    "# TYPE calsync_worker_restarts_total counter\n"
	    "calsync_worker_restarts_total %lu\n",
	    atomic_load(&m->db_errors), spool, atomic_load(&m->restarts));
	put(&buf, &len, &cap, "# HELP calsync_pending_expired_total Pending "
	    "deliveries this host settled as expired: their booking never "
	    "arrived within CALSYNC_PENDING_DAYS.\n"
	    "# TYPE calsync_pending_expired_total counter\n"
	    "calsync_pending_expired_total %lu\n",
	    atomic_load(&m->expired));
	/* Unknown until the notifier first reached the database. */
	if (atomic_load(&m->pending_known))
		put(&buf, &len, &cap, "# HELP calsync_pending_deliveries "
		    "Deliveries pending in the database (all hosts): changes "
		    "to a booking not seen yet.\n"
		    "# TYPE calsync_pending_deliveries gauge\n"
		    "calsync_pending_deliveries %ld\n",
		    atomic_load(&m->pending));
	put_reconciled(&buf, &len, &cap, spool_dir);
	return buf;
}
