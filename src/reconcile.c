/*
 * reconcile.c: calsyncctl reconcile.  Reads the bookings of a window from
 * Cal.com's API v2 (calcom.c, payload.c), compares each with what calsync
 * makes of it (store_known), and applies each difference as a delivery
 * through store_apply: the engine, the order rules and the journal of a
 * webhook.  It only reads Cal.com.
 *
 * The clock of a reconciled delivery (its createdAt, which orders it
 * among a booking's webhooks) is when Cal.com recorded the change it
 * stands for: the booking's createdAt for its making (BOOKING_CREATED,
 * or BOOKING_RESCHEDULED / _REQUESTED from rescheduledFromUid), its
 * updatedAt (createdAt if never updated) for what happened to it since
 * (a cancel, a reject, a new time).  Cal.com's state is true at that
 * clock, so a webhook of a later change still wins, and a webhook of an
 * earlier one, arriving after the reconcile, changes nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calsync.h"

#define PAGE_SIZE	100	/* take= */
#define PAGES_MAX	1000	/* of each filter: then the window is too wide */

struct reconcile {
	struct store		*st;
	struct calcom		*api;
	struct parser		*p;
	struct verifier		*v;
	struct bookings_page	*pages;
	size_t			 npages;
	int			 dry_run;
	long long		 run_id;	/* for the journal's request ids */
	unsigned		 seq;
	struct reconciled	 counts;
};

/* One delivery a booking needs: the trigger, and its clock. */
struct step {
	const char	*trigger;
	enum trigger	 kind;
	int64_t		 clock;
};

/* Read one filter's pages (created or updated within the window). */
static int
fetch(struct reconcile *r, const char *field, int64_t from, int64_t to,
    char *err, size_t errsz)
{
	struct bookings_page	*bigger;
	char			 path[512], a[TIMESTAMP_BUFSZ], b[TIMESTAMP_BUFSZ];
	char			*body, why[512];
	size_t			 len, skip = 0, pages = 0;
	int			 more = 1;

	timestamp_format_ms(from, a);
	timestamp_format_ms(to, b);
	while (more) {
		if (++pages > PAGES_MAX) {
			snprintf(err, errsz, "more than %d pages of bookings "
			    "%s in the window: give a shorter one", PAGES_MAX,
			    field);
			return -1;
		}
		snprintf(path, sizeof(path), "/v2/bookings?after%sAt=%s&"
		    "before%sAt=%s&sortCreated=asc&take=%d&skip=%zu", field, a,
		    field, b, PAGE_SIZE, skip);
		if (calcom_get(r->api, r->p, path, &body, &len, err,
		    errsz) == -1)
			return -1;
		if ((bigger = reallocarray(r->pages, r->npages + 1,
		    sizeof(*r->pages))) == NULL) {
			free(body);
			snprintf(err, errsz, "out of memory");
			return -1;
		}
		r->pages = bigger;
		if (payload_bookings(r->p, body, len, &r->pages[r->npages++],
		    why, sizeof(why)) == -1) {
			free(body);
			snprintf(err, errsz, "Cal.com's answer to GET /v2/bookings "
			    "refused, nothing applied from it: %s", why);
			return -1;
		}
		free(body);
		more = r->pages[r->npages - 1].more;
		skip += PAGE_SIZE;
	}
	return 0;
}

/* The first booking listed with this uid (both filters may list one). */
static const struct booking *
first_of(const struct reconcile *r, const char *uid)
{
	size_t	 i, j;

	for (i = 0; i < r->npages; i++)
		for (j = 0; j < r->pages[i].n; j++)
			if (strcmp(r->pages[i].list[j].d.uid, uid) == 0)
				return &r->pages[i].list[j];
	return NULL;
}

/* Whether a booking listed was rescheduled from uid. */
static int
rescheduled_away(const struct reconcile *r, const struct booking *b)
{
	size_t	 i, j;

	if (b->rescheduled_to != NULL)
		return 1;
	for (i = 0; i < r->npages; i++)
		for (j = 0; j < r->pages[i].n; j++)
			if (r->pages[i].list[j].d.reschedule_uid != NULL &&
			    strcmp(r->pages[i].list[j].d.reschedule_uid,
			    b->d.uid) == 0)
				return 1;
	return 0;
}

static void
minute(int64_t ms, char buf[TIMESTAMP_BUFSZ])
{
	if (ms == TIME_NONE)
		snprintf(buf, TIMESTAMP_BUFSZ, "none");
	else
		timestamp_format(ms, buf);
}

/*
 * What a booking needs, against what calsync makes of it (k): up to two
 * steps, and why, or none (already right; why says so if not plain).
 */
static size_t
plan(const struct reconcile *r, const struct booking *b,
    const struct known *k, struct step s[2], char *why, size_t whysz)
{
	int64_t		 changed = b->updated != TIME_NONE ? b->updated :
			    b->created;
	int		 cancel = b->status == BOOKING_CANCELLED ||
			    b->status == BOOKING_REJECTED;
	const char	*from = b->d.reschedule_uid;
	char		 have[TIMESTAMP_BUFSZ], want[TIMESTAMP_BUFSZ];
	size_t		 n = 0;

	*why = '\0';
	/* A reschedule's original: its new booking carries the move. */
	if (cancel && rescheduled_away(r, b))
		return 0;
	/* Awaiting the trainer: its appointment comes with the accept. */
	if (b->status == BOOKING_PENDING && from == NULL)
		return 0;
	if (k->status[0] == '\0') {
		s[n].trigger = from == NULL ? "BOOKING_CREATED" :
		    b->status == BOOKING_PENDING ? "BOOKING_REQUESTED" :
		    "BOOKING_RESCHEDULED";
		s[n].kind = from == NULL ? TRIGGER_CREATED :
		    b->status == BOOKING_PENDING ? TRIGGER_REQUESTED :
		    TRIGGER_RESCHEDULED;
		s[n++].clock = b->created;
		snprintf(why, whysz, "not in calsync");
	}
	if (cancel && strcmp(k->status, "cancelled") != 0) {
		s[n].trigger = b->status == BOOKING_REJECTED ?
		    "BOOKING_REJECTED" : "BOOKING_CANCELLED";
		s[n].kind = TRIGGER_CANCELLED;
		s[n++].clock = changed;
		snprintf(why, whysz, "%s in Cal.com%s", b->status ==
		    BOOKING_REJECTED ? "rejected" : "cancelled", n == 2 ?
		    ", not in calsync" : ", scheduled in calsync");
	} else if (!cancel && n == 0 && (strcmp(k->status, "cancelled") == 0 ||
	    k->start != b->d.start || k->duration != b->d.duration ||
	    (from != NULL && !k->linked))) {
		s[n].trigger = b->status == BOOKING_PENDING ?
		    "BOOKING_REQUESTED" : "BOOKING_RESCHEDULED";
		s[n].kind = b->status == BOOKING_PENDING ? TRIGGER_REQUESTED :
		    TRIGGER_RESCHEDULED;
		s[n++].clock = changed;
		minute(b->d.start, want);
		minute(k->start, have);
		snprintf(why, whysz, "Cal.com: %s at %s for %d min; calsync: "
		    "%s at %s for %d min", booking_status_name(b->status), want,
		    b->d.duration, k->status, have, k->duration);
	}
	return n;
}

/* The journal's body of a reconciled delivery: what Cal.com's API said
 * of the booking, and what calsyncctl made of it.  The caller frees. */
static char *
journal_body(const struct booking *b, const struct step *s, size_t *len)
{
	char	 clock[TIMESTAMP_BUFSZ], *out;
	int	 n;

	timestamp_format_ms(s->clock, clock);
	n = snprintf(NULL, 0, "{\"source\":\"reconcile\",\"triggerEvent\":"
	    "\"%s\",\"createdAt\":\"%s\",\"booking\":%s}", s->trigger, clock,
	    b->json);
	if (n < 0 || (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	snprintf(out, (size_t)n + 1, "{\"source\":\"reconcile\","
	    "\"triggerEvent\":\"%s\",\"createdAt\":\"%s\",\"booking\":%s}",
	    s->trigger, clock, b->json);
	*len = (size_t)n;
	return out;
}

/* One step through the engine: 0 with its outcome in a, or -1. */
static int
apply_step(struct reconcile *r, const struct booking *b, const struct step *s,
    struct applied *a)
{
	struct delivery	 d = b->d;
	unsigned char	 digest[DIGEST_LEN];
	char		 id[64], *body;
	size_t		 len;
	int		 rc = -1;

	d.root = NULL;
	d.trigger = s->trigger;
	d.kind = s->kind;
	d.created_at = s->clock;
	snprintf(id, sizeof(id), RECONCILE_ID_PREFIX "%lld-%u", r->run_id,
	    ++r->seq);
	if ((body = journal_body(b, s, &len)) == NULL ||
	    verify_digest(r->v, body, len, digest) == -1) {
		memset(a, 0, sizeof(*a));
		snprintf(a->detail, sizeof(a->detail), "out of memory");
	} else if ((rc = store_apply(r->st, id, &d, digest, body, len,
	    a)) == -1)
		snprintf(a->detail, sizeof(a->detail), "%s",
		    store_error(r->st));
	free(body);
	return rc;
}

static void
report(const char *uid, const char *what, const char *trigger,
    const char *why)
{
	printf("%-28s %-11s %-19s %s\n", uid, what, trigger, why);
}

/* One booking: compared, then its steps applied (or shown, dry run). */
static void
one_booking(struct reconcile *r, const struct booking *b)
{
	struct known	 k;
	struct step	 s[2];
	struct applied	 a;
	char		 why[256];
	size_t		 n, i;

	r->counts.seen++;
	if (b->seated) {
		r->counts.skipped++;
		report(b->d.uid, "skipped", "-", "a class (seated event "
		    "type): its seats come from the webhooks only");
		return;
	}
	if (store_known(r->st, b->d.uid, b->d.reschedule_uid, &k) == -1) {
		r->counts.failed++;
		report(b->d.uid, "failed", "-", store_error(r->st));
		return;
	}
	if ((n = plan(r, b, &k, s, why, sizeof(why))) == 0) {
		if (k.unmatched[0] != '\0')
			r->counts.unmatched++;
		else
			r->counts.right++;
		return;
	}
	if (r->dry_run) {
		for (i = 0; i < n; i++)
			report(b->d.uid, "would apply", s[i].trigger, why);
		r->counts.applied++;
		return;
	}
	for (i = 0; i < n; i++) {
		if (apply_step(r, b, &s[i], &a) == -1) {
			r->counts.failed++;
			report(b->d.uid, "failed", s[i].trigger, a.detail);
			return;
		}
		report(b->d.uid, outcome_info(a.outcome)->name, s[i].trigger,
		    a.outcome == OUTCOME_APPLIED ? why : a.detail);
	}
	if (a.outcome == OUTCOME_APPLIED)
		r->counts.applied++;
	else if (a.outcome == OUTCOME_UNMATCHED)
		r->counts.unmatched++;
	else
		r->counts.right++;
}

static void
free_pages(struct reconcile *r)
{
	size_t	 i;

	for (i = 0; i < r->npages; i++)
		payload_free_page(&r->pages[i]);
	free(r->pages);
	r->pages = NULL;
	r->npages = 0;
}

/*
 * The whole run: every page read and checked before anything is applied,
 * so a failure of Cal.com's API leaves calsync as it was.  Prints a line
 * per booking changed and the summary; 0, or 1 if anything could not be
 * read or applied.  The summary goes to spool_dir for /metrics too.
 */
int
reconcile_run(struct store *st, const struct calcom_config *cfg,
    const char *spool_dir, const struct reconcile_opts *o)
{
	static const struct secret	 none[2];	/* a digest only */
	struct reconcile		 r;
	const struct booking		*b;
	char				 err[1024], from[TIMESTAMP_BUFSZ];
	char				 to[TIMESTAMP_BUFSZ];
	size_t				 i, j;
	int				 rc = 0;

	memset(&r, 0, sizeof(r));
	r.st = st;
	r.dry_run = o->dry_run;
	r.run_id = (long long)time(NULL);
	if ((r.p = payload_parser_new()) == NULL ||
	    (r.v = verify_new(none)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		rc = 1;
	} else if ((r.api = calcom_new(cfg, err, sizeof(err))) == NULL)
		rc = 1;
	else if (fetch(&r, "Created", o->from, o->to, err, sizeof(err)) == -1 ||
	    fetch(&r, "Updated", o->from, o->to, err, sizeof(err)) == -1)
		rc = 1;
	if (rc != 0)
		fprintf(stderr, "calsyncctl: %s\n", err);
	for (i = 0; rc == 0 && i < r.npages; i++)
		for (j = 0; j < r.pages[i].n; j++) {
			b = &r.pages[i].list[j];
			if (first_of(&r, b->d.uid) == b)
				one_booking(&r, b);
		}
	if (r.counts.failed > 0)
		rc = 1;
	timestamp_format_ms(o->from, from);
	timestamp_format_ms(o->to, to);
	printf("reconcile %s to %s%s: seen %ld, already right %ld, applied "
	    "%ld, unmatched %ld, skipped %ld, failed %ld\n", from, to,
	    r.dry_run ? " (dry run: nothing applied)" : "", r.counts.seen,
	    r.counts.right, r.counts.applied, r.counts.unmatched,
	    r.counts.skipped, r.counts.failed);
	if (!r.dry_run && metrics_write_reconciled(spool_dir, &r.counts,
	    rc == 0 ? "ok" : "failed", err, sizeof(err)) == -1)
		fprintf(stderr, "calsyncctl: cannot record this run for "
		    "/metrics: %s\n", err);
	free_pages(&r);
	calcom_free(r.api);
	verify_free(r.v);
	payload_parser_free(r.p);
	return rc;
}
