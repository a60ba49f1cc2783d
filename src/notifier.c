/*
 * notifier.c: the notifier process.  It tells the GA Personal application
 * of the changes the deliveries made (NOTIFY calsync_appointments), in
 * batches and outside the deliveries' transactions: see calsync.changes in
 * sql/calsync.sql for why.  The workers wake it through an eventfd after
 * each applied delivery; it also looks once a second, for changes made
 * elsewhere (calsyncctl replay, a worker killed before waking it).
 * Changes are announced within about 50 ms of their commit.
 *
 * Once a minute (and when it starts) it also settles the pending
 * deliveries: applied when their booking came since, expired when it has
 * not come within CALSYNC_PENDING_DAYS (calsync.expire_pending), and
 * gives /metrics the number still pending.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <sys/prctl.h>

#include "calsync.h"

#define SWEEP_MS	1000
/*
 * After a batch, wait this long before the next: the changes committed
 * meanwhile go in one transaction, and a notifier under load commits
 * twenty times a second, not once per delivery.
 */
#define GATHER_NS	50000000L
#define EXPIRE_EVERY_S	60

/* Log when announcing starts failing and when it works again, not every
 * second in between. */
static void
announce(struct store *s, int *failing)
{
	if (store_announce(s) == -1) {
		if (!*failing)
			log_warnx("notifier: changes are kept in calsync.changes "
			    "until the database answers: %s", store_error(s));
		*failing = 1;
	} else if (*failing) {
		log_info("notifier: announcing changes again");
		*failing = 0;
	}
}

/* Like announce: a failure is logged when it starts and when it ends. */
static void
expire(struct store *s, size_t days, struct metrics *m, int *failing)
{
	struct pending	 p;

	if (store_expire_pending(s, days, &p) == -1) {
		if (!*failing)
			log_warnx("notifier: pending deliveries not looked at: "
			    "%s", store_error(s));
		*failing = 1;
		return;
	}
	if (*failing)
		log_info("notifier: looking at pending deliveries again");
	*failing = 0;
	if (p.expired > 0)
		log_info("notifier: %lld pending deliveries expired: their "
		    "booking did not arrive within %zu days", p.expired, days);
	metrics_pending(m, &p);
}

static time_t
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int
watch(struct store *s, const struct config *cfg, struct metrics *m,
    int wake_fd, int sig_fd)
{
	struct pollfd	 pfd[2] = {
		{ .fd = wake_fd, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};
	struct timespec	 gather = { 0, GATHER_NS };
	uint64_t	 wakes;
	int		 failing = 0, expire_failing = 0;
	time_t		 next_expiry = 0;

	for (;;) {
		if (now_s() >= next_expiry) {
			expire(s, cfg->pending_days, m, &expire_failing);
			next_expiry = now_s() + EXPIRE_EVERY_S;
		}
		if (poll(pfd, 2, SWEEP_MS) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("notifier: poll");
			return 1;
		}
		/* Reset the eventfd first: a wake from now on is a new one. */
		if (pfd[0].revents & POLLIN)
			(void)read(wake_fd, &wakes, sizeof(wakes));
		announce(s, &failing);
		if (pfd[1].revents != 0)
			return 0;
		nanosleep(&gather, NULL);
	}
}

int
notifier_run(const struct config *cfg, int wake_fd, struct metrics *m)
{
	struct store	*s;
	int		 sig_fd, rc;

	prctl(PR_SET_NAME, "calsync-notify");
	if ((rc = child_signals(&sig_fd)) != 1)
		return rc == 0 ? 0 : 1;
	rc = 1;
	if ((s = store_new(cfg->database_url)) == NULL)
		log_warnx("notifier: out of memory");
	else
		rc = watch(s, cfg, m, wake_fd, sig_fd);
	store_free(s);
	close(sig_fd);
	return rc;
}

/* A worker, after an applied delivery: the notifier has work. */
void
notifier_wake(int wake_fd)
{
	uint64_t	 one = 1;

	if (write(wake_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("waking the notifier");
}
