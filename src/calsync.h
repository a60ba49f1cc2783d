/*
 * calsync.h: the one internal header.  The structs that flow through a
 * request (request -> verify -> payload -> store -> response) and the
 * prototypes each file exports.  No library header is included here.
 */
#ifndef CALSYNC_H
#define CALSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CALSYNC_SCHEMA_VERSION	7
#define WEBHOOK_PATH		"/api/v1/webhooks/calcom"
#define MAX_BODY_DEFAULT	(1024 * 1024)
#define MAX_ATTENDEES		100
#define LOCATION_MAX_CHARS	255	/* appointments.location varchar(255) */
#define EMAIL_MAX_BYTES		255	/* users.email varchar(255) */
#define UID_MAX_BYTES		255
#define REQUEST_ID_MAX		64
#define DIGEST_LEN		32	/* SHA-256 */
/*
 * The journal's source of a delivery is its request id: nginx's for a
 * webhook, these prefixes for calsyncctl's (calsyncctl deliveries shows it).
 */
#define REPLAY_ID_PREFIX	"replay-"
#define RECONCILE_ID_PREFIX	"reconcile-"

/*
 * Every way a request can end.  outcome.c maps each to an HTTP status,
 * a name (what the journal and the logs say) and a message.
 */
enum outcome {
	OUTCOME_APPLIED,	/* the change is in appointments */
	OUTCOME_DUPLICATE,	/* already applied; nothing changed */
	OUTCOME_IGNORED,	/* PING or a trigger calsync does not act on */
	OUTCOME_PENDING,	/* recorded; takes effect when its booking arrives */
	OUTCOME_SPOOLED,	/* kept on local disk until the database is back */
	OUTCOME_BAD_REQUEST,
	OUTCOME_UNAUTHORIZED,
	OUTCOME_NOT_FOUND,
	OUTCOME_BAD_METHOD,
	OUTCOME_LENGTH_REQUIRED,
	OUTCOME_TOO_LARGE,
	OUTCOME_UNSUPPORTED_TYPE,
	OUTCOME_STALE,		/* older than what was applied; nothing changed */
	OUTCOME_UNMATCHED,	/* trainer or student unknown; kept for replay */
	OUTCOME_EXPIRED,	/* journal only: pending, its booking never came */
	OUTCOME_UNAVAILABLE,	/* database down */
	OUTCOME_INTERNAL,
	OUTCOME__MAX
};

struct outcome_info {
	int		 status;	/* HTTP status */
	const char	*name;		/* journal and log word */
	const char	*message;	/* default text of the JSON answer */
};

const struct outcome_info *outcome_info(enum outcome);
int		 outcome_from_name(const char *, enum outcome *);

/* log.c */
void		 log_init(const char *, int);
void		 log_kv(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_info(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_warnx(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_warn(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
size_t		 log_escape(char *, size_t, const char *, size_t);

/* config.c: everything read from the environment at start-up */
struct secret {
	char		*key;
	size_t		 len;
};

/* $(localstatedir)/spool/calsync, from Makefile.am: make install makes it. */
#ifndef SPOOL_DIR_DEFAULT
#error "SPOOL_DIR_DEFAULT comes from Makefile.am (-DSPOOL_DIR_DEFAULT=...)"
#endif
#define SPOOL_MAX_DEFAULT	((size_t)1024 * 1024 * 1024)
#define PENDING_DAYS_DEFAULT	30

struct config {
	const char	*database_url;
	struct secret	 secrets[2];	/* current, previous (key NULL: none) */
	size_t		 max_body;
	const char	*spool_dir;
	size_t		 spool_max;	/* bytes */
	size_t		 spool_interval;/* seconds between drains */
	size_t		 pending_days;	/* then a pending delivery expires */
};

int		 config_load(struct config *, char *, size_t);
int		 config_load_database(struct config *, char *, size_t);
int		 config_load_secrets(struct secret [2], char *, size_t);
int		 config_reload_secrets(struct config *, char *, size_t);
void		 config_free_secret(struct secret *);
int		 parse_decimal(const char *, uint64_t, uint64_t *);
void		 config_free(struct config *);

/* Cal.com's API v2, which calsyncctl reconcile reads (never writes). */
#define CALCOM_API_URL_DEFAULT	"https://api.cal.com"
struct calcom_config {
	const char	*url;		/* https only, no trailing slash */
	struct secret	 key;		/* the API key */
	const char	*ca_file;	/* NULL: the system's CAs */
};

int		 config_load_calcom(struct calcom_config *, char *, size_t);
void		 config_free_calcom(struct calcom_config *);

/* timestamp.c: ISO 8601 <-> milliseconds since the epoch, UTC */
#define TIMESTAMP_BUFSZ	48
#define TIME_NONE	INT64_MIN	/* an absent timestamp */
int		 timestamp_parse(const char *, size_t, int64_t *);
void		 timestamp_format(int64_t, char [TIMESTAMP_BUFSZ]);
void		 timestamp_format_ms(int64_t, char [TIMESTAMP_BUFSZ]);

/* verify.c: HMAC-SHA256 as Cal.com signs (wraps OpenSSL) */
enum verdict {
	VERDICT_OK,
	VERDICT_MISSING,	/* no header */
	VERDICT_NO_SECRET,	/* "no-secret-provided": webhook has no secret */
	VERDICT_MALFORMED,	/* not 64 hex digits */
	VERDICT_MISMATCH
};

#define SIGNATURE_HEX_LEN	64
struct verifier;

struct verifier	*verify_new(const struct secret [2]);
void		 verify_free(struct verifier *);
enum verdict	 verify_signature(struct verifier *, const char *,
		    const void *, size_t);
void		 verify_sign(struct verifier *, const void *, size_t,
		    char [SIGNATURE_HEX_LEN + 1]);
int		 verify_digest(struct verifier *, const void *, size_t,
		    unsigned char [DIGEST_LEN]);
const char	*verdict_reason(enum verdict);

/* payload.c: Cal.com JSON -> struct delivery (wraps json-c) */
enum trigger {
	TRIGGER_OTHER,		/* recorded, not read: PING, MEETING_*, ... */
	TRIGGER_CREATED,
	TRIGGER_RESCHEDULED,
	TRIGGER_REQUESTED,	/* a reschedule awaiting confirmation */
	TRIGGER_CANCELLED,	/* and BOOKING_REJECTED */
	TRIGGER_NO_SHOW,
	TRIGGER_UPDATED		/* location and payment updates */
};

/*
 * The triggers calsync acts on: the name Cal.com sends, what payload.c
 * reads of it, and its rank among events of the same millisecond (a
 * cancel in the same millisecond as a reschedule wins).  The one list in
 * C: payload.c and metrics.c read it, and calsyncctl check compares it
 * with the database's calsync.trigger_rank, which must rank these alike
 * and the recorded ones below not at all.
 */
#define CALSYNC_TRIGGERS(X) \
	X("BOOKING_CREATED",		TRIGGER_CREATED,	1) \
	X("BOOKING_RESCHEDULED",	TRIGGER_RESCHEDULED,	2) \
	X("BOOKING_REQUESTED",		TRIGGER_REQUESTED,	2) \
	X("BOOKING_LOCATION_UPDATED",	TRIGGER_UPDATED,	3) \
	X("BOOKING_PAID",		TRIGGER_UPDATED,	3) \
	X("BOOKING_PAYMENT_INITIATED",	TRIGGER_UPDATED,	3) \
	X("BOOKING_NO_SHOW_UPDATED",	TRIGGER_NO_SHOW,	4) \
	X("BOOKING_CANCELLED",		TRIGGER_CANCELLED,	5) \
	X("BOOKING_REJECTED",		TRIGGER_CANCELLED,	5)

/* Triggers only recorded as they came, counted by name in /metrics. */
#define CALSYNC_RECORDED_TRIGGERS(X) \
	X("PING") X("MEETING_STARTED") X("MEETING_ENDED")

/*
 * One verified delivery, parsed and validated.  Strings point into the
 * parsed JSON tree held by root, which this struct owns: payload_free()
 * releases all of them at once.  NULL means absent (or JSON null).
 */
struct delivery {
	void		*root;
	const char	*trigger;
	enum trigger	 kind;
	int64_t		 created_at;	/* ms; the envelope's createdAt */
	const char	*uid;
	const char	*reschedule_uid;
	int64_t		 start;		/* ms */
	int64_t		 end;		/* ms */
	int		 length;	/* minutes, as sent */
	int		 duration;	/* minutes, 0 when unknown */
	const char	*title;
	const char	*event_type;	/* eventTitle or eventType.title */
	const char	*event_slug;	/* type */
	const char	*description;
	const char	*booker_notes;	/* additionalNotes or responses.notes */
	const char	*reschedule_reason;	/* responses.rescheduleReason */
	const char	*location_sent;	/* location, as Cal.com sent it */
	const char	*video_url;	/* metadata.videoCallUrl */
	const char	*video_data_url;	/* videoCallData.url */
	const char	*cancellation_reason;
	const char	*organizer_email;
	const char	*trainer_id;	/* metadata, a uuid */
	const char	*student_id;
	const char	*attendee_seat_id;	/* the seat a group class adds */
	int		 recur_freq;	/* recurringEvent, -1 when absent */
	int		 recur_interval;
	int		 recur_count;
	size_t		 nattendees;
	const char	*attendees[MAX_ATTENDEES];	/* emails, in order */
	signed char	 no_show[MAX_ATTENDEES];	/* -1 unsaid, 0, 1 */
	size_t		 nguests;
	const char	*guests[MAX_ATTENDEES];		/* responses.guests */
	/* What a trainer or student can use: see location_resolve(). */
	char		 location[LOCATION_MAX_CHARS * 4 + 1];
	bool		 has_location;
	bool		 full_booking;	/* organizer/attendees present */
};

struct parser;

struct parser	*payload_parser_new(void);
void		 payload_parser_free(struct parser *);
int		 payload_parse(struct parser *, const char *, size_t,
		    struct delivery *, char *, size_t);
void		 payload_free(struct delivery *);
size_t		 utf8_truncate(const char *, size_t, size_t);

/*
 * payload.c too: one page of GET /v2/bookings (Cal.com API v2,
 * cal-api-version 2024-08-13).  Each booking is read into the struct
 * delivery a webhook of it would give (trigger, kind and created_at left
 * for the caller), with what only the API says.  Strings point into the
 * page's tree, which the page owns (payload_free_page).
 */
enum booking_status {
	BOOKING_ACCEPTED,
	BOOKING_PENDING,	/* awaiting the trainer's confirmation */
	BOOKING_CANCELLED,
	BOOKING_REJECTED
};

struct booking {
	struct delivery	 d;
	enum booking_status status;
	int64_t		 created;	/* ms: createdAt */
	int64_t		 updated;	/* ms: updatedAt, TIME_NONE if null */
	const char	*rescheduled_to;	/* rescheduledToUid */
	bool		 seated;	/* attendees carry seatUid: a class */
	char		*json;		/* the booking as Cal.com sent it */
};

struct bookings_page {
	void		*root;
	struct booking	*list;
	size_t		 n;
	bool		 more;		/* pagination.hasNextPage */
};

int		 payload_bookings(struct parser *, const char *, size_t,
		    struct bookings_page *, char *, size_t);
void		 payload_free_page(struct bookings_page *);
int		 payload_api_error(struct parser *, const char *, size_t,
		    char *, size_t);
const char	*booking_status_name(enum booking_status);


/* location.c: Cal.com's location -> what appointments.location holds */
void		 location_resolve(struct delivery *);
char		*payload_answer(enum outcome, const char *, const char *,
		    const char *, const char *);

/*
 * delivery.c: a delivery as calsync.apply_delivery's argument (JSON text,
 * the caller frees it; NULL when out of memory)
 */
char		*delivery_json(const char *, const struct delivery *,
		    const unsigned char *, const char *, size_t);

/* rfc8259.c: what json-c's strict mode accepts that is not JSON */
int		 rfc8259_check(const char *, size_t, char *, size_t);

/* dbfault.c: what a failed database call means for a delivery */
enum dbfault_action {
	DBFAULT_RETRY,		/* again on the same connection, after a pause */
	DBFAULT_RECONNECT,	/* again on a new connection */
	DBFAULT_SPOOL,		/* keep it in the spool until writes return */
	DBFAULT_REFUSE		/* journal it as internal, for replay */
};

/* Keys that are not SQLSTATEs: what libpq says of the connection. */
#define DBFAULT_LOST		"lost"
#define DBFAULT_NO_SQLSTATE	"no-sqlstate"
#define DBFAULT_CANNOT_CONNECT	"cannot-connect"

struct dbfault_rule {
	const char		*key;	/* SQLSTATE, class, one of the above, "*" */
	enum dbfault_action	 action;
	const char		*what;
};

const struct dbfault_rule *dbfault_classify(const char *, int);
const struct dbfault_rule *dbfault_rules(size_t *);
const char	*dbfault_action_name(enum dbfault_action);

/* store.c: one booking change, one transaction (wraps libpq) */
struct store;

struct applied {
	enum outcome	 outcome;
	char		 appointment_id[40];
	char		 detail[256];
};

struct store	*store_new(const char *);
void		 store_free(struct store *);
const char	*store_error(const struct store *);
int		 store_ping(struct store *);
int		 store_announce(struct store *);

struct pending {
	long long	 arrived;	/* settled now: their booking came */
	long long	 expired;	/* settled now: it never came */
	long long	 waiting;	/* still pending, in the whole database */
};

int		 store_expire_pending(struct store *, size_t,
		    struct pending *);
int		 store_apply(struct store *, const char *,
		    const struct delivery *, const unsigned char *,
		    const char *, size_t, struct applied *);
int		 store_keep_refused(struct store *, const char *, const char *,
		    const unsigned char *, const char *, size_t, enum outcome,
		    const char *);
int		 store_check(struct store *, char *, size_t);
int		 store_print_deliveries(struct store *, FILE *, int,
		    const char *);

struct replayable {
	long long	 id;
	bool		 has_event;	/* parsed once: settle it again */
	char		*body;		/* else: read it again */
	size_t		 len;
};

int		 store_replayable(struct store *, long long,
		    struct replayable **, size_t *);
void		 store_free_replayable(struct replayable *, size_t);
int		 store_replay_event(struct store *, long long,
		    struct applied *);
int		 store_mark_replayed(struct store *, long long, enum outcome,
		    const char *);

/* What calsync makes of a booking now, for calsyncctl reconcile. */
struct known {
	char		 status[16];	/* scheduled, cancelled; "": nothing */
	int64_t		 start;		/* ms, TIME_NONE if none */
	int		 duration;	/* minutes */
	char		 unmatched[256];	/* why no appointment; "" */
	bool		 has_appointment;
	bool		 linked;	/* the second uid is of this booking */
};

int		 store_known(struct store *, const char *, const char *,
		    struct known *);

/* request.c: one FastCGI request, read and answered (wraps libfcgi) */
struct fcgi;

enum route {
	ROUTE_WEBHOOK,		/* POST WEBHOOK_PATH */
	ROUTE_HEALTH,		/* GET /healthz */
	ROUTE_METRICS		/* GET /metrics */
};

struct request {
	struct fcgi	*fcgi;
	enum route	 route;
	char		 id[REQUEST_ID_MAX + 1];
	char		 remote[64];
	char		*body;		/* owned; NUL-terminated copy */
	size_t		 len;
	const char	*signature;	/* FastCGI param, valid until finish */
	const char	*content_type;
};

struct fcgi	*fcgi_new(int);
void		 fcgi_free(struct fcgi *);
int		 fcgi_accept(struct fcgi *);
enum outcome	 request_read(struct fcgi *, size_t, struct request *,
		    char *, size_t);
int		 request_is_json(const struct request *);
void		 request_answer(struct request *, enum outcome, const char *,
		    const char *);
void		 request_finish(struct request *);

/* spool.c: deliveries kept on disk while the database is away */
typedef int	(*spool_apply_fn)(void *, const char *, const char *, size_t);
int		 spool_put(const struct config *, const char *, const char *,
		    size_t, char *, size_t);
int		 spool_drain(const struct config *, spool_apply_fn, void *);
long		 spool_count(const struct config *);

/* metrics.c: counters shared by the workers, for GET /metrics */
struct metrics;

struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *);
void		 metrics_request(struct metrics *, const char *, enum outcome,
		    double);
void		 metrics_restart(struct metrics *);
void		 metrics_pending(struct metrics *, const struct pending *);
char		*metrics_render(struct metrics *, long, const char *);

/* What the last calsyncctl reconcile did, for /metrics (metrics.c). */
struct reconciled {
	long		 seen;		/* bookings Cal.com listed */
	long		 right;		/* calsync had them right already */
	long		 applied;	/* changed by this run */
	long		 unmatched;	/* no trainer or student for them */
	long		 skipped;	/* classes: not reconciled */
	long		 failed;	/* not applied: the run exits 1 */
};

int		 metrics_write_reconciled(const char *, const struct reconciled *,
		    const char *, char *, size_t);

/* calcom.c: Cal.com's API v2, read only (wraps libcurl; calsyncctl only) */
struct calcom;

struct calcom	*calcom_new(const struct calcom_config *, char *, size_t);
void		 calcom_free(struct calcom *);
int		 calcom_get(struct calcom *, struct parser *, const char *,
		    char **, size_t *, char *, size_t);

/* reconcile.c: calsyncctl reconcile, from a window of Cal.com's bookings */
struct reconcile_opts {
	int64_t		 from, to;	/* ms */
	int		 dry_run;
};

int		 reconcile_run(struct store *, const struct calcom_config *,
		    const char *, const struct reconcile_opts *);

/* worker.c */
int		 worker_run(const struct config *, int, int, struct metrics *);
int		 child_signals(int *);

/* notifier.c */
int		 notifier_run(const struct config *, int, struct metrics *);
void		 notifier_wake(int);

#endif /* CALSYNC_H */
