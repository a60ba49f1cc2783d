/*
 * worker.c: one worker process: wait for a connection or for SIGTERM,
 * and carry each request one way through request -> verify -> payload
 * -> store -> answer, with one log line at the end.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/signalfd.h>

#include "calsync.h"

struct worker {
	const struct config	*cfg;
	struct fcgi		*fcgi;
	struct store		*store;
};

static double
ms_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
log_request(const struct request *r, const struct delivery *d,
    enum outcome o, const char *reason, double ms)
{
	const struct outcome_info	*info = outcome_info(o);
	char				 trigger[80], uid[300], why[400];
	char				 tail[420] = "";

	log_escape(trigger, sizeof(trigger), d->trigger,
	    d->trigger != NULL ? strlen(d->trigger) : 0);
	log_escape(uid, sizeof(uid), d->uid, d->uid != NULL ?
	    strlen(d->uid) : 0);
	if (info->status >= 400 && reason != NULL && *reason != '\0') {
		log_escape(why, sizeof(why), reason, strlen(reason));
		snprintf(tail, sizeof(tail), " reason=\"%s\"", why);
	}
	log_info("request id=%s remote=%s trigger=%s uid=%s outcome=%s "
	    "status=%d ms=%.1f%s", r->id, r->remote[0] ? r->remote : "-",
	    trigger, uid, info->name, info->status, ms, tail);
}

/*
 * A verified body calsync cannot apply is still Cal.com's, sent once:
 * keep it in the journal before answering.
 */
static void
keep_refused(struct worker *w, const struct request *r,
    const struct delivery *d, const unsigned char *digest, enum outcome o,
    const char *reason)
{
	if (store_keep_refused(w->store, r->id, d->trigger, digest, r->body,
	    r->len, o, reason) == -1)
		log_warnx("request id=%s: a verified delivery could not be "
		    "journaled and is lost: %s", r->id, store_error(w->store));
}

static void
handle(struct worker *w)
{
	struct request	 r;
	struct delivery	 d;
	struct applied	 a;
	struct timespec	 t0;
	unsigned char	 digest[DIGEST_LEN];
	char		 err[256], *json;
	const char	*detail = err;	/* answered, and logged */
	const char	*why = NULL;	/* logged only */
	enum verdict	 v;
	enum outcome	 o;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&d, 0, sizeof(d));
	memset(&a, 0, sizeof(a));
	if ((o = request_read(w->fcgi, w->cfg->max_body, &r, err,
	    sizeof(err))) != OUTCOME_APPLIED)
		goto answer;
	if ((v = verify_signature(&w->cfg->secret, r.signature, r.body,
	    r.len)) != VERDICT_OK) {
		o = OUTCOME_UNAUTHORIZED;
		detail = verdict_reason(v);
		goto answer;
	}
	verify_digest(r.body, r.len, digest);
	if (!request_is_json(&r)) {
		o = OUTCOME_UNSUPPORTED_TYPE;
		detail = outcome_info(o)->message;
		keep_refused(w, &r, &d, digest, o, detail);
		goto answer;
	}
	if (payload_parse(r.body, r.len, &d, err, sizeof(err)) == -1) {
		o = OUTCOME_BAD_REQUEST;
		keep_refused(w, &r, &d, digest, o, err);
		goto answer;
	}
	/* The database's own words go to the log, not to the caller. */
	if (store_apply(w->store, r.id, &d, digest, r.body, r.len, &a) == -1) {
		detail = NULL;
		why = store_error(w->store);
		/* Kept for calsyncctl replay; a database down keeps nothing. */
		if (a.outcome == OUTCOME_INTERNAL)
			keep_refused(w, &r, &d, digest, a.outcome, why);
	} else
		detail = a.detail;
	o = a.outcome;
answer:
	json = payload_answer(o, detail, r.id, d.uid, a.appointment_id);
	request_answer(&r, o, json);
	log_request(&r, &d, o, why != NULL ? why : detail, ms_since(&t0));
	free(json);
	payload_free(&d);
	request_finish(&r);
}

static int
serve(struct worker *w, int listen_fd, int sig_fd)
{
	struct pollfd	 pfd[2] = {
		{ .fd = listen_fd, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return 1;
		}
		/* SIGTERM: it is only read here, between requests. */
		if (pfd[1].revents != 0)
			return 0;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		switch (fcgi_accept(w->fcgi)) {
		case 1:
			handle(w);
			break;
		case 0:
			break;
		default:
			log_warn("accepting a FastCGI connection");
			return 1;
		}
	}
}

/*
 * The supervisor forks us with SIGTERM, SIGINT and SIGHUP blocked, so a
 * signal waits in the signalfd until the request in hand is answered.
 */
int
worker_run(const struct config *cfg, int listen_fd)
{
	struct worker	 w = { .cfg = cfg };
	sigset_t	 mask;
	int		 sig_fd, rc = 1;

	/* Do not outlive a supervisor that was killed. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if ((sig_fd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		return 1;
	}
	if (getppid() == 1) {
		close(sig_fd);
		return 0;
	}
	if ((w.fcgi = fcgi_new(listen_fd)) == NULL ||
	    (w.store = store_new(cfg->database_url)) == NULL)
		log_warnx("worker: out of memory");
	else
		rc = serve(&w, listen_fd, sig_fd);
	store_free(w.store);
	fcgi_free(w.fcgi);
	close(sig_fd);
	return rc;
}
