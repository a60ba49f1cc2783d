/*
 * worker.c: one worker process: wait for a connection or for SIGTERM,
 * and carry each request one way through request -> verify -> payload
 * -> store -> answer, with one log line at the end.  Between requests,
 * apply what the spool kept while the database was away.
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
	struct verifier		*verifier;	/* keyed once */
	struct parser		*parser;
	struct metrics		*metrics;
	int			 wake_fd;	/* the notifier's eventfd */
	time_t			 drained;	/* last spool drain */
};

/* What became of a verified body, for the answer and the log. */
struct result {
	struct delivery	 d;
	struct applied	 a;
	enum outcome	 outcome;
	const char	*detail;	/* answered, and logged */
	const char	*why;		/* logged only */
	char		 err[256];
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
log_request(const char *id, const char *remote, const struct result *res,
    double ms)
{
	const struct outcome_info	*info = outcome_info(res->outcome);
	const struct delivery		*d = &res->d;
	const char			*reason = res->why != NULL ?
					    res->why : res->detail;
	char				 trigger[80], uid[300], why[400];
	char				 tail[420] = "";

	log_escape(trigger, sizeof(trigger), d->trigger,
	    d->trigger != NULL ? strlen(d->trigger) : 0);
	log_escape(uid, sizeof(uid), d->uid, d->uid != NULL ?
	    strlen(d->uid) : 0);
	/* Why it failed, or why it waits in the spool. */
	if ((info->status >= 400 || res->outcome == OUTCOME_SPOOLED) &&
	    reason != NULL && *reason != '\0') {
		log_escape(why, sizeof(why), reason, strlen(reason));
		snprintf(tail, sizeof(tail), " reason=\"%s\"", why);
	}
	log_kv("event=request id=%s remote=%s trigger=%s uid=%s outcome=%s "
	    "status=%d ms=%.1f%s", id, remote, trigger, uid, info->name,
	    info->status, ms, tail);
}

/*
 * A verified body calsync cannot apply is still Cal.com's, sent once:
 * keep it in the journal before answering.  -1: the journal is away too
 * (the caller spools the body, or says it is lost).
 */
static int
keep_refused(struct worker *w, const char *id, const char *body, size_t len,
    const unsigned char *digest, struct result *res)
{
	return store_keep_refused(w->store, id, res->d.trigger, digest, body,
	    len, res->outcome, res->why != NULL ? res->why : res->detail);
}

/*
 * The database took neither a verified delivery nor its journal row: from
 * a request, it goes to the spool (a 4xx that is the body's fault keeps
 * its status; anything else is answered 202); from the spool, it stays
 * (-1).  Only when even the spool cannot be written is it lost, said
 * loudly, and answered 5xx.
 */
static int
spool_or_stay(struct worker *w, const char *id, const char *body, size_t len,
    int from_spool, struct result *res)
{
	char	 err[256];

	if (from_spool)
		return -1;
	if (spool_put(w->cfg, id, body, len, err, sizeof(err)) == 0) {
		if (outcome_info(res->outcome)->status >= 500)
			res->outcome = OUTCOME_SPOOLED;
		return 0;
	}
	log_warnx("request id=%s: a verified delivery is LOST: the database "
	    "did not take it (%s) and it could not be spooled either (%s); "
	    "Cal.com will not send it again", id, res->why != NULL ? res->why :
	    "-", err);
	return 0;
}

/* The body's SHA-256 names it in the journal; only an allocation fails. */
static int
digest_body(struct worker *w, const char *body, size_t len,
    unsigned char digest[DIGEST_LEN], struct result *res)
{
	if (verify_digest(w->verifier, body, len, digest) == 0)
		return 0;
	res->outcome = OUTCOME_INTERNAL;
	res->detail = NULL;
	res->why = "out of memory computing the body's SHA-256";
	return -1;
}

/*
 * A verified body, from a request or from the spool: read it, apply it.
 * With the database away, a live request is spooled (202); one from the
 * spool stays there (-1).
 */
static int
apply_verified(struct worker *w, const char *id, const char *body,
    size_t len, int from_spool, struct result *res)
{
	unsigned char	 digest[DIGEST_LEN];

	if (digest_body(w, body, len, digest, res) == -1)
		return from_spool ? -1 : 0;
	if (payload_parse(w->parser, body, len, &res->d, res->err,
	    sizeof(res->err)) == -1) {
		res->outcome = OUTCOME_BAD_REQUEST;
		res->detail = res->err;
		if (keep_refused(w, id, body, len, digest, res) == 0)
			return 0;
		res->why = store_error(w->store);
		return spool_or_stay(w, id, body, len, from_spool, res);
	}
	if (store_apply(w->store, id, &res->d, digest, body, len, &res->a)
	    == 0) {
		res->outcome = res->a.outcome;
		res->detail = res->a.detail;
		if (res->outcome == OUTCOME_APPLIED)
			notifier_wake(w->wake_fd);
		return 0;
	}
	/* The database's own words go to the log, not to the caller. */
	res->outcome = res->a.outcome;
	res->detail = NULL;
	res->why = store_error(w->store);
	/* Refused (dbfault.c): kept in the journal for calsyncctl replay. */
	if (res->outcome == OUTCOME_INTERNAL &&
	    keep_refused(w, id, body, len, digest, res) == 0)
		return 0;
	return spool_or_stay(w, id, body, len, from_spool, res);
}

/*
 * GET /healthz and GET /metrics, for monitoring (nginx lets only internal
 * addresses reach them).  Not logged: a scrape every few seconds would
 * drown the deliveries.
 */
static void
handle_monitoring(struct worker *w, struct request *r)
{
	char	 json[256], *text;
	long	 spool = spool_count(w->cfg);

	if (r->route == ROUTE_METRICS) {
		text = metrics_render(w->metrics, spool, w->cfg->spool_dir);
		request_answer(r, text != NULL ? OUTCOME_APPLIED :
		    OUTCOME_INTERNAL, "text/plain; version=0.0.4", text);
		free(text);
		return;
	}
	if (store_ping(w->store) == 0) {
		snprintf(json, sizeof(json), "{\"status\":\"ok\",\"database\":"
		    "\"up\",\"spool\":%ld}", spool);
		request_answer(r, OUTCOME_APPLIED, "application/json", json);
	} else {
		snprintf(json, sizeof(json), "{\"error\":\"database "
		    "unavailable\",\"database\":\"down\",\"spool\":%ld}", spool);
		request_answer(r, OUTCOME_UNAVAILABLE, "application/json", json);
	}
}

static void
handle(struct worker *w)
{
	struct request	 r;
	struct result	 res;
	struct timespec	 t0;
	enum verdict	 v;
	char		*json;
	double		 ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&res, 0, sizeof(res));
	res.detail = res.err;
	if ((res.outcome = request_read(w->fcgi, w->cfg->max_body, &r,
	    res.err, sizeof(res.err))) != OUTCOME_APPLIED)
		goto answer;
	if (r.route != ROUTE_WEBHOOK) {
		handle_monitoring(w, &r);
		request_finish(&r);
		return;
	}
	if ((v = verify_signature(w->verifier, r.signature, r.body,
	    r.len)) != VERDICT_OK) {
		res.outcome = OUTCOME_UNAUTHORIZED;
		res.detail = verdict_reason(v);
		goto answer;
	}
	if (!request_is_json(&r)) {
		unsigned char	 digest[DIGEST_LEN];

		res.outcome = OUTCOME_UNSUPPORTED_TYPE;
		res.detail = outcome_info(res.outcome)->message;
		/* Not spooled: read again, it would be taken for JSON. */
		if (digest_body(w, r.body, r.len, digest, &res) == 0 &&
		    keep_refused(w, r.id, r.body, r.len, digest, &res) == -1)
			log_warnx("request id=%s: a verified delivery could "
			    "not be journaled and is lost: %s", r.id,
			    store_error(w->store));
		goto answer;
	}
	apply_verified(w, r.id, r.body, r.len, 0, &res);
answer:
	json = payload_answer(res.outcome, res.detail, r.id, res.d.uid,
	    res.a.appointment_id);
	request_answer(&r, res.outcome, "application/json", json);
	ms = ms_since(&t0);
	log_request(r.id, r.remote[0] ? r.remote : "-", &res, ms);
	metrics_request(w->metrics, res.d.trigger, res.outcome, ms);
	free(json);
	payload_free(&res.d);
	request_finish(&r);
}

/* spool_drain's callback: -1 stops the drain, the database is away. */
static int
apply_spooled(void *arg, const char *id, const char *body, size_t len)
{
	struct worker	*w = arg;
	struct result	 res;
	struct timespec	 t0;
	int		 rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&res, 0, sizeof(res));
	if ((rc = apply_verified(w, id, body, len, 1, &res)) == 0) {
		log_request(id, "spool", &res, ms_since(&t0));
		metrics_request(w->metrics, res.d.trigger, res.outcome,
		    ms_since(&t0));
	}
	payload_free(&res.d);
	return rc;
}

static void
drain_when_due(struct worker *w)
{
	time_t	 now = time(NULL);

	if (now - w->drained < (time_t)w->cfg->spool_interval)
		return;
	w->drained = now;
	spool_drain(w->cfg, apply_spooled, w);
}

/*
 * Before exiting on SIGTERM, serve the connections already queued: after a
 * takeover (a new calsync renamed its socket over ours) they would be lost
 * otherwise.  Bounded, since under a plain stop nginx keeps queueing.
 */
static void
serve_queued(struct worker *w, int listen_fd)
{
	struct pollfd	 pfd = { .fd = listen_fd, .events = POLLIN };
	time_t		 until = time(NULL) + 2;

	while (time(NULL) < until && poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & POLLIN) != 0)
		if (fcgi_accept(w->fcgi) == 1)
			handle(w);
}

static int
serve(struct worker *w, int listen_fd, int sig_fd)
{
	struct pollfd	 pfd[2] = {
		{ .fd = listen_fd, .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
	};
	int		 n;

	for (;;) {
		n = poll(pfd, 2, (int)w->cfg->spool_interval * 1000);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return 1;
		}
		/* SIGTERM: it is only read here, between requests. */
		if (pfd[1].revents != 0) {
			serve_queued(w, listen_fd);
			return 0;
		}
		if (pfd[0].revents & POLLIN) {
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
		drain_when_due(w);
	}
}

/*
 * What every child of the supervisor does first.  It forks us with SIGTERM
 * and SIGINT blocked, so a signal waits in the signalfd until the request
 * in hand is answered.  1 and *fd set; 0: the supervisor is gone already;
 * -1: no signalfd (logged).
 */
int
child_signals(int *fd)
{
	sigset_t	 mask;

	/* Do not outlive a supervisor that was killed. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if ((*fd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		return -1;
	}
	if (getppid() == 1) {
		close(*fd);
		return 0;
	}
	return 1;
}

int
worker_run(const struct config *cfg, int listen_fd, int wake_fd,
    struct metrics *metrics)
{
	struct worker	 w = { .cfg = cfg, .metrics = metrics,
			    .wake_fd = wake_fd };
	int		 sig_fd, rc;

	if ((rc = child_signals(&sig_fd)) != 1)
		return rc == 0 ? 0 : 1;
	rc = 1;
	if ((w.fcgi = fcgi_new(listen_fd)) == NULL ||
	    (w.store = store_new(cfg->database_url)) == NULL ||
	    (w.verifier = verify_new(cfg->secrets)) == NULL ||
	    (w.parser = payload_parser_new()) == NULL)
		log_warnx("worker: out of memory");
	else
		rc = serve(&w, listen_fd, sig_fd);
	payload_parser_free(w.parser);
	verify_free(w.verifier);
	store_free(w.store);
	fcgi_free(w.fcgi);
	close(sig_fd);
	return rc;
}
