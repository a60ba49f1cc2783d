/*
 * store.c: calsync's side of PostgreSQL.  One connection a worker, made
 * on first use and made again when it breaks; one statement a delivery
 * (calsync.apply_delivery, in sql/calsync.sql); the journal of refused
 * deliveries; the operator's queries.  The only file that uses libpq.
 *
 * A connection may be a pooler's (pgbouncer in transaction pooling, many
 * hosts sharing a few server connections): each statement here may run on
 * a server connection another client used a moment ago, and the next one
 * on another.  So calsync keeps no state in a session, and must never
 * add any: no named prepared statement (PQprepare; they clash, 42P05, or
 * are missing), no SET or set_config(..., false) outside a function (plan
 * settings, search_path, timeouts), no temporary table, no session
 * advisory lock (pg_advisory_lock: only the _xact_ ones, in the SQL), no
 * LISTEN, no explicit transaction spread over several calls.  What a
 * statement needs goes in the statement (PQexecParams, unnamed; names
 * and types schema-qualified, since the search_path is the server's) or
 * in the function's SET clauses (sql/calsync.sql: search_path,
 * the planner settings); the statement timeout is this file's own deadline.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "calsync.h"

#define TRIES		8	/* for serialization failures and deadlocks */
#define RECONNECTS	3	/* for a lost or read-only connection */
/*
 * A hung database or a booking locked too long must not hold a worker for
 * ever: a statement still running after this long is cancelled, and the
 * delivery spooled (57014, like a server-side statement_timeout, which a
 * pooled connection cannot carry).
 */
#define STATEMENT_TIMEOUT_MS	15000

struct store {
	char	*conninfo;
	PGconn	*conn;
	char	 error[512];	/* why the last call failed, for its caller */
	const char *request_id;	/* the request in hand, for notices */
};

/*
 * The SQL of a delivery lives in sql/calsync.sql as one function, so that
 * a delivery is one round trip and one transaction whatever it does.  Its
 * one argument is a calsync.delivery, sent as a jsonb object named field
 * by field (delivery.c): the fields are listed in calsync.delivery and
 * in delivery_json, nowhere else.
 */
static const char apply_sql[] =
	"SELECT outcome, appointment_id, detail FROM calsync.apply_delivery("
	"pg_catalog.jsonb_populate_record(NULL::calsync.delivery,"
	" $1::pg_catalog.jsonb))";

static const char refused_sql[] =
	"INSERT INTO calsync.deliveries (request_id, trigger, uid,"
	" body_sha256, outcome, detail, body)"
	" VALUES ($1, $2, $3, $4::pg_catalog.bytea, $5, $6,"
	" $7::pg_catalog.bytea)";

static const char check_sql[] =
	"SELECT (SELECT max(version) FROM calsync.schema_version),"
	" pg_catalog.has_table_privilege('public.appointments', 'INSERT'),"
	" pg_catalog.has_table_privilege('public.users', 'SELECT'),"
	" pg_catalog.has_function_privilege("
	"'calsync.apply_delivery(calsync.delivery)', 'EXECUTE')";

/*
 * The triggers whose rank in the database (calsync.trigger_rank) is not
 * calsync.h's, as "NAME: R there, R here"; $1 the names, $2 the ranks,
 * comma-separated, empty for none.
 */
static const char ranks_sql[] =
	"SELECT coalesce(pg_catalog.string_agg(x.t OPERATOR(pg_catalog.||) ': '"
	" OPERATOR(pg_catalog.||) coalesce(calsync.trigger_rank(x.t)::"
	"pg_catalog.text, 'none') OPERATOR(pg_catalog.||) ' there, '"
	" OPERATOR(pg_catalog.||) coalesce(x.r, 'none') OPERATOR(pg_catalog.||)"
	" ' here', ', '), '')"
	" FROM ROWS FROM (pg_catalog.unnest(pg_catalog.string_to_array($1,"
	" ',')), pg_catalog.unnest(pg_catalog.string_to_array($2, ',', '')))"
	" AS x (t, r)"
	" WHERE x.t OPERATOR(pg_catalog.<>) ''"
	" AND calsync.trigger_rank(x.t) IS DISTINCT FROM x.r::pg_catalog.int4";
#define RANKED_NAME(name, kind, rank)	name ","
#define RANKED_RANK(name, kind, rank)	#rank ","
#define RECORDED_NAME(name)		name ","
#define RECORDED_RANK(name)		","
static const char trigger_names[] =
	CALSYNC_TRIGGERS(RANKED_NAME) CALSYNC_RECORDED_TRIGGERS(RECORDED_NAME);
static const char trigger_ranks[] =
	CALSYNC_TRIGGERS(RANKED_RANK) CALSYNC_RECORDED_TRIGGERS(RECORDED_RANK);

static const char deliveries_sql[] =
	"SELECT id, pg_catalog.to_char(received_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(trigger, '-'),"
	" coalesce(uid, '-'), outcome, coalesce(detail, ''),"
	" pg_catalog.floor(pg_catalog.date_part('epoch',"
	" pg_catalog.now() OPERATOR(pg_catalog.-) received_at))"
	"::pg_catalog.int8,"
	" CASE WHEN pg_catalog.starts_with(request_id, '" RECONCILE_ID_PREFIX "')"
	" THEN 'reconcile' WHEN pg_catalog.starts_with(request_id, '"
	REPLAY_ID_PREFIX "') THEN 'replay' ELSE 'webhook' END"
	" FROM calsync.deliveries WHERE $2::pg_catalog.text IS NULL"
	" OR outcome OPERATOR(pg_catalog.=) $2"
	" ORDER BY id DESC LIMIT $1::pg_catalog.int4";

/* Unmatched ones are settled again in SQL; ones that failed (internal)
 * never became events and are read again by calsyncctl. */
static const char replayable_sql[] =
	"SELECT id, event_id IS NOT NULL, body FROM calsync.deliveries"
	" WHERE outcome OPERATOR(pg_catalog.=) ANY"
	" ('{unmatched,internal}'::pg_catalog.text[])"
	" AND ($1::pg_catalog.int8 IS NULL OR id OPERATOR(pg_catalog.=) $1)"
	" ORDER BY coalesce(event_created_at, received_at), id";

/* A batch of changes for the notifier; see calsync.announce. */
#define ANNOUNCE_BATCH	1000
static const char announce_sql[] =
	"SELECT calsync.announce($1::pg_catalog.int4)";

/* See calsync.expire_pending. */
static const char expire_sql[] =
	"SELECT arrived, expired, pending"
	" FROM calsync.expire_pending(pg_catalog.make_interval(days =>"
	" $1::pg_catalog.int4))";

static const char replay_sql[] =
	"SELECT outcome, detail FROM calsync.replay($1::pg_catalog.int8)";

/*
 * What calsync makes of a booking now (calsyncctl reconcile): the fold of
 * its events as a whole (calsync.fold's state without a student), whether
 * an appointment came of it, and whether uid $2 is linked to it.
 */
static const char known_sql[] =
	"SELECT w.status, pg_catalog.date_part('epoch', w.scheduled_at)"
	"::pg_catalog.int8, w.duration_minutes, w.unmatched,"
	" EXISTS (SELECT FROM calsync.bookings b"
	" WHERE b.uid OPERATOR(pg_catalog.=) ANY (l.u)),"
	" $2::pg_catalog.text OPERATOR(pg_catalog.=) ANY (l.u)"
	" FROM calsync.linked_uids(ARRAY[$1::pg_catalog.text]) AS l (u),"
	" pg_catalog.unnest(calsync.fold(l.u)) AS w"
	" WHERE w.student_id IS NULL";

static const char replayed_sql[] =
	"UPDATE calsync.deliveries SET outcome = $2, detail = $3,"
	" replayed_at = pg_catalog.now()"
	" WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.int8";

struct store *
store_new(const char *conninfo)
{
	struct store	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->conninfo = strdup(conninfo)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	PQfinish(s->conn);
	free(s->conninfo);
	free(s);
}

/*
 * Keep why a call failed, for the caller to report once: the first line
 * of libpq's message only, since DETAIL may hold row data (emails).  A
 * connection's message has a line for each host tried (and indented
 * hints, left out): all of them, since the last may be the one that says
 * why (a standby: "session is read-only").
 */
static void
set_error(struct store *s, const char *what, const PGconn *conn,
    const PGresult *res)
{
	const char	*msg, *state = NULL;
	size_t		 off, len;

	if (res != NULL) {
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (msg == NULL)
			msg = PQresultErrorMessage(res);
	} else
		msg = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	off = (size_t)snprintf(s->error, sizeof(s->error), "%s: %.*s", what,
	    (int)strcspn(msg, "\n"), msg);
	while (res == NULL && off < sizeof(s->error) &&
	    *(msg += strcspn(msg, "\n")) == '\n') {
		msg++;
		if ((len = strcspn(msg, "\n")) > 0 && *msg != '\t')
			off += (size_t)snprintf(s->error + off,
			    sizeof(s->error) - off, "; %.*s", (int)len, msg);
	}
	if (state != NULL && off < sizeof(s->error))
		snprintf(s->error + off, sizeof(s->error) - off,
		    " (sqlstate %s)", state);
}

const char *
store_error(const struct store *s)
{
	return s->error;
}

/*
 * The server's notices and warnings (a WARNING as it shuts down, a NOTICE
 * from the SQL), and libpq's own: one logfmt line each, with the request
 * they came during, instead of libpq's default, raw lines on stderr.
 */
static void
log_notice(void *arg, const PGresult *res)
{
	const struct store	*s = arg;
	const char		*severity, *state, *msg;
	char			 esc[600], sev[32], st[16];

	if ((severity = PQresultErrorField(res,
	    PG_DIAG_SEVERITY_NONLOCALIZED)) == NULL &&
	    (severity = PQresultErrorField(res, PG_DIAG_SEVERITY)) == NULL)
		severity = "NOTICE";
	if ((state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		state = "-";
	if ((msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) == NULL)
		msg = PQresultErrorMessage(res);
	/* The first line only: DETAIL may hold row data (emails). */
	log_escape(esc, sizeof(esc), msg, strcspn(msg, "\n"));
	log_escape(sev, sizeof(sev), severity, strcspn(severity, " "));
	log_escape(st, sizeof(st), state, strcspn(state, " "));
	log_kv("event=database_notice id=%s severity=%s sqlstate=%s "
	    "msg=\"%s\"", s->request_id != NULL ? s->request_id : "-", sev,
	    st, esc);
}

/* A working connection, made now if there is none or it broke. */
static PGconn *
store_conn(struct store *s)
{
	/*
	 * Defaults first: what DATABASE_URL says wins.  Without them a
	 * database that stops answering (a dropped VPC route) blocks a
	 * worker in recv() with no end.
	 */
	static const char *const keys[] = { "connect_timeout",
	    "tcp_user_timeout", "keepalives_idle", "keepalives_interval",
	    "keepalives_count", "fallback_application_name", "dbname", NULL };
	const char		*values[] = { "5", "20000", "10", "5", "3",
	    "calsync", s->conninfo, NULL };

	if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
		return s->conn;
	PQfinish(s->conn);
	s->conn = PQconnectdbParams(keys, values, 1);
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
		set_error(s, "cannot connect", s->conn, NULL);
		PQfinish(s->conn);
		s->conn = NULL;
		return NULL;
	}
	PQsetNoticeReceiver(s->conn, log_notice, s);
	return s->conn;
}

/*
 * Before try n + 1 (n >= 1): 5 ms, 10, 20, ... plus up to 5 ms more that
 * differ from worker to worker, so two deliveries that collided do not
 * collide again at once.  Eight tries wait 0.7 s at the most.
 */
static void
back_off(int n)
{
	long		 us = (5000L << (n - 1)) + (long)(getpid() % 5000);
	struct timespec	 t = { us / 1000000, us % 1000000 * 1000 };

	nanosleep(&t, NULL);
}

/* Milliseconds on a monotonic clock. */
static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * PQexecParams (an unnamed statement, nothing left on the connection)
 * with a deadline: after STATEMENT_TIMEOUT_MS the statement is cancelled
 * (through pgbouncer too: it passes cancel requests on) and its answer,
 * a 57014 error, or the result if it finished first, is read as usual.
 * A connection that no longer answers at all is ended by libpq's TCP
 * timeouts (store_conn).  NULL: libpq's error is on the connection.
 */
static PGresult *
exec_params(PGconn *conn, const char *sql, int n, const char *const *values,
    const int *lengths, const int *formats)
{
	struct pollfd	 pfd;
	PGcancel	*cancel;
	PGresult	*res, *last = NULL;
	long long	 deadline = now_ms() + STATEMENT_TIMEOUT_MS, wait;
	char		 err[256];
	int		 cancelled = 0, rc;

	if (!PQsendQueryParams(conn, sql, n, NULL, values, lengths, formats,
	    0))
		return NULL;
	while (PQisBusy(conn)) {
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		wait = -1;
		if (!cancelled && (wait = deadline - now_ms()) < 0)
			wait = 0;
		if ((rc = poll(&pfd, 1, (int)wait)) == -1 && errno != EINTR)
			break;
		if (rc == 0) {
			if ((cancel = PQgetCancel(conn)) != NULL) {
				(void)PQcancel(cancel, err, sizeof(err));
				PQfreeCancel(cancel);
			}
			cancelled = 1;
		} else if (rc > 0 && !PQconsumeInput(conn))
			break;
	}
	/* The last result is the one that says how it went. */
	while ((res = PQgetResult(conn)) != NULL) {
		PQclear(last);
		last = res;
	}
	return last;
}

/*
 * Run a statement; the caller clears the result.  What
 * a failure means is dbfault.c's table: tried again (on a new connection
 * after a crash, a failover or a read-only host: with DATABASE_URL's
 * target_session_attrs=read-write the new one finds the primary), or
 * given up as unavailable (the caller spools) or internal (the caller
 * journals).  Trying again is safe even if the first try committed: a
 * delivery is idempotent.
 */
static enum outcome
run(struct store *s, const char *what, const char *sql, int n,
    const char *const *values, const int *lengths, const int *formats,
    PGresult **out)
{
	const struct dbfault_rule	*rule;
	PGconn				*conn;
	PGresult			*res;
	int				 try;

	*out = NULL;
	for (try = 1; ; try++) {
		if ((conn = store_conn(s)) == NULL) {
			rule = dbfault_classify(DBFAULT_CANNOT_CONNECT, 0);
			break;
		}
		res = exec_params(conn, sql, n, values, lengths, formats);
		if (PQresultStatus(res) == PGRES_TUPLES_OK ||
		    PQresultStatus(res) == PGRES_COMMAND_OK) {
			*out = res;
			return OUTCOME_APPLIED;
		}
		rule = dbfault_classify(res != NULL ? PQresultErrorField(res,
		    PG_DIAG_SQLSTATE) : NULL, PQstatus(conn) == CONNECTION_OK);
		set_error(s, what, conn, res);
		PQclear(res);
		if (rule->action == DBFAULT_RETRY && try < TRIES) {
			back_off(try);
			continue;
		}
		if (rule->action == DBFAULT_RECONNECT && try < RECONNECTS) {
			PQfinish(s->conn);
			s->conn = NULL;
			continue;
		}
		break;
	}
	return rule->action == DBFAULT_REFUSE ? OUTCOME_INTERNAL :
	    OUTCOME_UNAVAILABLE;
}

static const char *
or_null(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

int
store_apply(struct store *s, const char *request_id,
    const struct delivery *d, const unsigned char *digest, const char *body,
    size_t len, struct applied *a)
{
	const char	*v[1];
	char		*json;
	PGresult	*res;
	enum outcome	 o;

	memset(a, 0, sizeof(*a));
	if ((json = delivery_json(request_id, d, digest, body, len)) == NULL) {
		a->outcome = OUTCOME_INTERNAL;
		return -1;
	}
	v[0] = json;
	s->request_id = request_id;
	o = run(s, "applying a delivery", apply_sql, 1, v, NULL, NULL, &res);
	s->request_id = NULL;
	free(json);
	if (o != OUTCOME_APPLIED) {
		a->outcome = o;
		return -1;
	}
	if (PQntuples(res) != 1 ||
	    outcome_from_name(PQgetvalue(res, 0, 0), &a->outcome) == -1) {
		snprintf(s->error, sizeof(s->error), "calsync.apply_delivery "
		    "answered an unknown outcome: is sql/calsync.sql current?");
		a->outcome = OUTCOME_INTERNAL;
		PQclear(res);
		return -1;
	}
	snprintf(a->appointment_id, sizeof(a->appointment_id), "%s",
	    PQgetvalue(res, 0, 1));
	snprintf(a->detail, sizeof(a->detail), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

/*
 * Keep a verified delivery that calsync could not read (bad JSON, a
 * payload template): it came from Cal.com, and Cal.com will not send it
 * again.
 */
int
store_keep_refused(struct store *s, const char *request_id,
    const char *trigger, const unsigned char *digest, const char *body,
    size_t len, enum outcome o, const char *detail)
{
	const char	*v[7];
	int		 lengths[7] = { 0, 0, 0, DIGEST_LEN, 0, 0, (int)len };
	int		 formats[7] = { 0, 0, 0, 1, 0, 0, 1 };
	PGresult	*res;
	enum outcome	 done;

	v[0] = request_id;
	v[1] = or_null(trigger);
	v[2] = NULL;
	v[3] = (const char *)digest;
	v[4] = outcome_info(o)->name;
	v[5] = detail;
	v[6] = body;
	s->request_id = request_id;
	done = run(s, "journaling a refused delivery", refused_sql, 7,
	    v, lengths, formats, &res);
	s->request_id = NULL;
	if (done != OUTCOME_APPLIED)
		return -1;
	PQclear(res);
	return 0;
}

/* GET /healthz: does the database answer? */
int
store_ping(struct store *s)
{
	PGresult	*res;

	if (run(s, "checking the database", "SELECT 1", 0, NULL, NULL,
	    NULL, &res) != OUTCOME_APPLIED)
		return -1;
	PQclear(res);
	return 0;
}

/*
 * The notifier: announce every change committed so far, a batch a
 * transaction.  0, or -1 with the reason in store_error().
 */
int
store_announce(struct store *s)
{
	char		 batch[16];
	const char	*values[] = { batch };
	PGresult	*res;
	int		 n;

	snprintf(batch, sizeof(batch), "%d", ANNOUNCE_BATCH);
	do {
		if (run(s, "announcing changes", announce_sql, 1, values,
		    NULL, NULL, &res) != OUTCOME_APPLIED)
			return -1;
		n = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
	} while (n == ANNOUNCE_BATCH);
	return 0;
}

/* Settle the pending deliveries whose booking came, or never will. */
int
store_expire_pending(struct store *s, size_t days, struct pending *p)
{
	char		 n[24];
	const char	*values[] = { n };
	PGresult	*res;

	snprintf(n, sizeof(n), "%zu", days);
	if (run(s, "expiring pending deliveries", expire_sql, 1, values,
	    NULL, NULL, &res) != OUTCOME_APPLIED)
		return -1;
	p->arrived = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	p->expired = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	p->waiting = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return 0;
}

/* calsyncctl check: reachable, schema current, privileges in place. */
/* Whether the database ranks the triggers as calsync.h does. */
static int
check_ranks(struct store *s, char *msg, size_t msgsz)
{
	const char	*v[2] = { trigger_names, trigger_ranks };
	PGresult	*res;
	int		 rc = -1;

	if (run(s, "comparing the triggers' ranks", ranks_sql, 2, v, NULL,
	    NULL, &res) != OUTCOME_APPLIED) {
		snprintf(msg, msgsz, "%s", s->error);
		return -1;
	}
	if (*PQgetvalue(res, 0, 0) != '\0')
		snprintf(msg, msgsz, "the database ranks triggers otherwise "
		    "than this calsync (%s): run sql/calsync.sql",
		    PQgetvalue(res, 0, 0));
	else {
		snprintf(msg, msgsz, "database reachable, calsync schema "
		    "version %d", CALSYNC_SCHEMA_VERSION);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
store_check(struct store *s, char *msg, size_t msgsz)
{
	PGresult	*res;
	const char	*version;
	int		 rc = -1;

	if (run(s, "checking the schema", check_sql, 0, NULL, NULL, NULL,
	    &res) != OUTCOME_APPLIED) {
		snprintf(msg, msgsz, "%s", s->error);
		return -1;
	}
	version = PQgetvalue(res, 0, 0);
	if (atoi(version) != CALSYNC_SCHEMA_VERSION)
		snprintf(msg, msgsz, "calsync schema version is %s, this "
		    "calsync needs %d: run sql/calsync.sql",
		    *version != '\0' ? version : "missing",
		    CALSYNC_SCHEMA_VERSION);
	else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0 ||
	    strcmp(PQgetvalue(res, 0, 2), "t") != 0 ||
	    strcmp(PQgetvalue(res, 0, 3), "t") != 0)
		snprintf(msg, msgsz, "this database user may not read users, "
		    "write appointments or run calsync.apply_delivery: grant "
		    "the calsync role to it");
	else
		rc = check_ranks(s, msg, msgsz);
	PQclear(res);
	return rc;
}

/* How long ago, in its two largest units: 31d4h, 5h12m, 7m3s, 40s. */
static void
format_age(long long s, char *buf, size_t bufsz)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, bufsz, "%lldd%lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, bufsz, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, bufsz, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(buf, bufsz, "%llds", s);
}

int
store_print_deliveries(struct store *s, FILE *out, int limit,
    const char *outcome)
{
	char		 n[16], age[24];
	const char	*v[2] = { n, outcome };
	PGresult	*res;
	int		 i;

	snprintf(n, sizeof(n), "%d", limit);
	if (run(s, "listing deliveries", deliveries_sql, 2, v, NULL,
	    NULL, &res) != OUTCOME_APPLIED)
		return -1;
	fprintf(out, "%-8s %-20s %-7s %-24s %-28s %-16s %-9s %s\n", "ID",
	    "RECEIVED", "AGE", "TRIGGER", "UID", "OUTCOME", "SOURCE", "DETAIL");
	for (i = 0; i < PQntuples(res); i++) {
		format_age(strtoll(PQgetvalue(res, i, 6), NULL, 10), age,
		    sizeof(age));
		fprintf(out, "%-8s %-20s %-7s %-24s %-28s %-16s %-9s %s\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), age,
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
		    PQgetvalue(res, i, 4), PQgetvalue(res, i, 7),
		    PQgetvalue(res, i, 5));
	}
	PQclear(res);
	return 0;
}

/*
 * The deliveries calsyncctl replay takes, in the order Cal.com made them:
 * one (id > 0) or all.  The caller frees the list with store_free_replayable.
 */
int
store_replayable(struct store *s, long long id, struct replayable **list,
    size_t *n)
{
	char		 num[24];
	const char	*v[1] = { id > 0 ? num : NULL };
	int		 formats[1] = { 0 }, i;
	PGresult	*res;

	*list = NULL;
	*n = 0;
	snprintf(num, sizeof(num), "%lld", id);
	if (run(s, "listing deliveries to replay", replayable_sql, 1, v,
	    NULL, formats, &res) != OUTCOME_APPLIED)
		return -1;
	if (PQntuples(res) > 0 &&
	    (*list = calloc((size_t)PQntuples(res), sizeof(**list))) == NULL) {
		PQclear(res);
		snprintf(s->error, sizeof(s->error), "out of memory");
		return -1;
	}
	for (i = 0; i < PQntuples(res); i++) {
		struct replayable	*r = &(*list)[i];
		size_t			 len;
		unsigned char		*raw;

		r->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		r->has_event = strcmp(PQgetvalue(res, i, 1), "t") == 0;
		raw = PQunescapeBytea((const unsigned char *)
		    PQgetvalue(res, i, 2), &len);
		if (raw != NULL && (r->body = malloc(len + 1)) != NULL) {
			memcpy(r->body, raw, len);
			r->body[len] = '\0';
			r->len = len;
		}
		PQfreemem(raw);
		(*n)++;
	}
	PQclear(res);
	return 0;
}

void
store_free_replayable(struct replayable *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(list[i].body);
	free(list);
}

/* Settle an unmatched delivery's booking again (calsync.replay). */
int
store_replay_event(struct store *s, long long id, struct applied *a)
{
	char		 num[24];
	const char	*v[1] = { num };
	PGresult	*res;

	memset(a, 0, sizeof(*a));
	snprintf(num, sizeof(num), "%lld", id);
	if ((a->outcome = run(s, "replaying a delivery", replay_sql, 1,
	    v, NULL, NULL, &res)) != OUTCOME_APPLIED)
		return -1;
	if (outcome_from_name(PQgetvalue(res, 0, 0), &a->outcome) == -1)
		a->outcome = OUTCOME_INTERNAL;
	snprintf(a->detail, sizeof(a->detail), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

/* A failed delivery, sent again through store_apply: say so on its row. */
int
store_mark_replayed(struct store *s, long long id, enum outcome o,
    const char *detail)
{
	char		 num[24];
	const char	*v[3] = { num, outcome_info(o)->name, detail };
	PGresult	*res;

	snprintf(num, sizeof(num), "%lld", id);
	if (run(s, "marking a delivery replayed", replayed_sql, 3, v,
	    NULL, NULL, &res) != OUTCOME_APPLIED)
		return -1;
	PQclear(res);
	return 0;
}

int
store_known(struct store *s, const char *uid, const char *linked,
    struct known *k)
{
	const char	*v[2] = { uid, linked };
	PGresult	*res;

	memset(k, 0, sizeof(*k));
	k->start = TIME_NONE;
	if (run(s, "reading what calsync knows of a booking", known_sql, 2,
	    v, NULL, NULL, &res) != OUTCOME_APPLIED)
		return -1;
	if (PQntuples(res) == 1) {
		snprintf(k->status, sizeof(k->status), "%s",
		    PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			k->start = strtoll(PQgetvalue(res, 0, 1), NULL, 10) *
			    1000;
		k->duration = atoi(PQgetvalue(res, 0, 2));
		snprintf(k->unmatched, sizeof(k->unmatched), "%s",
		    PQgetvalue(res, 0, 3));
		k->has_appointment = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
		k->linked = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	}
	PQclear(res);
	return 0;
}
