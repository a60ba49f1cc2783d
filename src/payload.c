/*
 * payload.c: a verified Cal.com body -> struct delivery, strictly: every
 * field calsync uses is described in one table with its JSON type and
 * validator; anything else in the body is ignored.  Also builds the
 * JSON answers.  With delivery.c, which writes a delivery for the
 * database, the only file that uses json-c.
 *
 * A worker makes one struct parser at start and parses every body with
 * it: json-c's tokener is set up once, not per delivery.  What json-c
 * accepts that is not JSON, rfc8259.c refuses.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "calsync.h"

#define JSON_MAX_DEPTH	32
#define MINUTES_MAX	(7 * 24 * 60)
#define COUNT_MAX	1000	/* Cal.com allows up to 730 occurrences */

enum ftype {
	F_UID,		/* printable ASCII, no blanks or quotes */
	F_SEAT,		/* a seat id: as F_UID */
	F_TEXT,		/* any UTF-8 text without NUL */
	F_EMAIL,
	F_UUID,
	F_TIME,		/* ISO 8601 with a zone */
	F_MINUTES,	/* integer 1..MINUTES_MAX */
	F_COUNT,	/* integer 0..COUNT_MAX; -1 when absent */
	F_EMAILS	/* array of at most MAX_ATTENDEES emails */
};

struct field {
	const char	*path;	/* dotted, below "payload" */
	enum ftype	 type;
	size_t		 off;	/* where it goes in struct delivery */
};

#define AT(member)	offsetof(struct delivery, member)

struct parser {
	struct json_tokener	*tok;	/* reset after every body */
};

/*
 * Where two paths fill one member, the first one present wins: Cal.com
 * sends eventTitle, the seed guide eventType.title; Cal.com puts the
 * booker's notes in additionalNotes and in responses.notes.value.
 * attendeeSeatId is the seat of a seated event type (a group class) that
 * this BOOKING_CREATED adds: every seat of a class shares the uid.
 * recurringEvent is the rule of a weekly series (freq as rrule numbers it:
 * 0 yearly, 1 monthly, 2 weekly, 3 daily): every occurrence's booking
 * carries it, and so does the one cancel of "cancel all remaining".
 * location is resolved with the meeting URL after the table (location.c).
 */
static const struct field fields[] = {
	{ "uid",			F_UID,		AT(uid) },
	{ "bookingUid",			F_UID,		AT(uid) },
	{ "rescheduleUid",		F_UID,		AT(reschedule_uid) },
	{ "startTime",			F_TIME,		AT(start) },
	{ "endTime",			F_TIME,		AT(end) },
	{ "length",			F_MINUTES,	AT(length) },
	{ "title",			F_TEXT,		AT(title) },
	{ "eventTitle",			F_TEXT,		AT(event_type) },
	{ "eventType.title",		F_TEXT,		AT(event_type) },
	{ "type",			F_TEXT,		AT(event_slug) },
	{ "description",		F_TEXT,		AT(description) },
	{ "additionalNotes",		F_TEXT,		AT(booker_notes) },
	{ "responses.notes.value",	F_TEXT,		AT(booker_notes) },
	{ "cancellationReason",		F_TEXT,		AT(cancellation_reason) },
	{ "rejectionReason",		F_TEXT,		AT(cancellation_reason) },
	{ "responses.guests.value",	F_EMAILS,	AT(nguests) },
	{ "responses.rescheduleReason.value", F_TEXT,	AT(reschedule_reason) },
	{ "rescheduleReason",		F_TEXT,		AT(reschedule_reason) },
	{ "location",			F_TEXT,		AT(location_sent) },
	{ "metadata.videoCallUrl",	F_TEXT,		AT(video_url) },
	{ "videoCallData.url",		F_TEXT,		AT(video_data_url) },
	{ "organizer.email",		F_EMAIL,	AT(organizer_email) },
	{ "metadata.trainer_id",	F_UUID,		AT(trainer_id) },
	{ "metadata.student_id",	F_UUID,		AT(student_id) },
	{ "attendeeSeatId",		F_SEAT,		AT(attendee_seat_id) },
	{ "recurringEvent.freq",	F_COUNT,	AT(recur_freq) },
	{ "recurringEvent.interval",	F_COUNT,	AT(recur_interval) },
	{ "recurringEvent.count",	F_COUNT,	AT(recur_count) },
};

/* The triggers calsync reads (calsync.h); every other one is recorded. */
#define TRIGGER_KIND(name, kind, rank)	{ name, kind },
static const struct {
	const char	*name;
	enum trigger	 kind;
} triggers[] = {
	CALSYNC_TRIGGERS(TRIGGER_KIND)
};

/* Follow a dotted path; NULL if any step is missing or not an object. */
static struct json_object *
lookup(struct json_object *obj, const char *path)
{
	char		 step[64];
	const char	*dot;
	size_t		 n;

	while (obj != NULL && json_object_is_type(obj, json_type_object)) {
		dot = strchr(path, '.');
		n = dot == NULL ? strlen(path) : (size_t)(dot - path);
		if (n >= sizeof(step))
			return NULL;
		memcpy(step, path, n);
		step[n] = '\0';
		if (!json_object_object_get_ex(obj, step, &obj))
			return NULL;
		if (dot == NULL)
			return obj;
		path = dot + 1;
	}
	return NULL;
}

/*
 * Number of characters of the longest prefix of s (len bytes of valid
 * UTF-8) that has at most max characters, in bytes: a cut there never
 * splits a character.
 */
size_t
utf8_truncate(const char *s, size_t len, size_t max)
{
	size_t	 i, chars = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == max)
			return i;
	return len;
}

/*
 * Strict UTF-8 (RFC 3629): json-c checks only that lead and continuation
 * bytes fit together, and PostgreSQL refuses overlong forms, surrogates
 * and code points past U+10FFFF with an error, not a clear 400.
 */
static int
valid_utf8(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
valid_uid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > UID_MAX_BYTES)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' ||
		    s[i] == '\\' || s[i] == '\'')
			return 0;
	return 1;
}

static int
valid_email(const char *s, size_t len)
{
	const char	*at = memchr(s, '@', len);
	size_t		 i;

	if (len < 3 || len > EMAIL_MAX_BYTES || at == NULL || at == s ||
	    at == s + len - 1)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
valid_uuid(const char *s, size_t len)
{
	size_t	 i;

	if (len != 36)
		return 0;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdefABCDEF", s[i]) == NULL ||
		    s[i] == '\0')
			return 0;
	}
	return 1;
}

/* A string member: JSON string, no NUL inside, and the type's rules. */
static int
take_string(struct json_object *v, enum ftype type, const char **out,
    size_t *outlen)
{
	const char	*s;
	int		 len;

	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (len < 0 || strlen(s) != (size_t)len ||
	    !valid_utf8((const unsigned char *)s, (size_t)len))
		return -1;
	if ((type == F_UID && !valid_uid(s, (size_t)len)) ||
	    (type == F_SEAT && !valid_uid(s, (size_t)len)) ||
	    (type == F_EMAIL && !valid_email(s, (size_t)len)) ||
	    (type == F_UUID && !valid_uuid(s, (size_t)len)))
		return -1;
	*out = s;
	*outlen = (size_t)len;
	return 0;
}

static const char *
type_words(enum ftype type)
{
	switch (type) {
	case F_UID:
		return "a booking uid (1 to 255 printable characters)";
	case F_SEAT:
		return "a seat id (1 to 255 printable characters)";
	case F_EMAIL:
		return "an email address of at most 255 bytes";
	case F_UUID:
		return "a uuid";
	case F_TIME:
		return "an ISO 8601 timestamp with a zone";
	case F_MINUTES:
		return "a whole number of minutes from 1 to 10080";
	case F_COUNT:
		return "a whole number from 0 to 1000";
	case F_EMAILS:
		return "an array of at most 100 email addresses";
	default:
		return "a string of valid UTF-8 without NUL characters";
	}
}

/* responses.guests.value: the emails the booker added (the only list). */
static int
take_emails(struct delivery *d, struct json_object *v)
{
	const char	*s;
	size_t		 i, n, len;

	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) > MAX_ATTENDEES)
		return -1;
	for (i = 0; i < n; i++) {
		if (take_string(json_object_array_get_idx(v, i), F_EMAIL, &s,
		    &len) == -1)
			return -1;
		d->guests[d->nguests++] = s;
	}
	return 0;
}

/* Store one present, non-null value; -1 if it breaks its rules. */
static int
take_field(struct delivery *d, const struct field *f, struct json_object *v)
{
	char		*dst = (char *)d + f->off;
	const char	*s;
	size_t		 len;
	int64_t		 n;

	if (f->type == F_EMAILS)
		return take_emails(d, v);
	if (f->type == F_MINUTES) {
		if (!json_object_is_type(v, json_type_int))
			return -1;
		n = json_object_get_int64(v);
		if (n < 1 || n > MINUTES_MAX)
			return -1;
		*(int *)(void *)dst = (int)n;
		return 0;
	}
	if (f->type == F_COUNT) {
		if (!json_object_is_type(v, json_type_int))
			return -1;
		n = json_object_get_int64(v);
		if (n < 0 || n > COUNT_MAX)
			return -1;
		*(int *)(void *)dst = (int)n;
		return 0;
	}
	if (take_string(v, f->type, &s, &len) == -1)
		return -1;
	switch (f->type) {
	case F_TIME:
		return timestamp_parse(s, len, (int64_t *)(void *)dst);
	default:
		*(const char **)(void *)dst = s;
		return 0;
	}
}

static int
already_set(const struct delivery *d, const struct field *f)
{
	const char	*dst = (const char *)d + f->off;

	switch (f->type) {
	case F_TIME:
		return *(const int64_t *)(const void *)dst != TIME_NONE;
	case F_MINUTES:
		return *(const int *)(const void *)dst != 0;
	case F_COUNT:
		return *(const int *)(const void *)dst != -1;
	case F_EMAILS:
		return d->nguests != 0;
	default:
		return *(const char *const *)(const void *)dst != NULL;
	}
}

/* The n fields of table from obj; where names obj in errors. */
static int
take_fields(struct delivery *d, struct json_object *obj,
    const struct field *table, size_t n, const char *where, char *err,
    size_t errsz)
{
	struct json_object	*v;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (already_set(d, &table[i]))
			continue;
		v = lookup(obj, table[i].path);
		if (v == NULL || json_object_is_type(v, json_type_null))
			continue;
		if (take_field(d, &table[i], v) == -1) {
			snprintf(err, errsz, "%s.%s must be %s", where,
			    table[i].path, type_words(table[i].type));
			return -1;
		}
	}
	return 0;
}

/*
 * attendees[].email, in order: the first is the booker, then guests; and
 * attendees[].noShow where BOOKING_NO_SHOW_UPDATED says it.
 */
static int
take_attendees(struct delivery *d, struct json_object *payload,
    const char *where, char *err, size_t errsz)
{
	struct json_object	*list, *email, *noshow;
	const char		*s;
	size_t			 i, n, len;

	if ((list = lookup(payload, "attendees")) == NULL ||
	    json_object_is_type(list, json_type_null))
		return 0;
	if (!json_object_is_type(list, json_type_array)) {
		snprintf(err, errsz, "%s.attendees must be an array", where);
		return -1;
	}
	if ((n = json_object_array_length(list)) > MAX_ATTENDEES) {
		snprintf(err, errsz, "%s.attendees has more than %d "
		    "entries", where, MAX_ATTENDEES);
		return -1;
	}
	for (i = 0; i < n; i++) {
		email = lookup(json_object_array_get_idx(list, i), "email");
		if (email == NULL ||
		    take_string(email, F_EMAIL, &s, &len) == -1) {
			snprintf(err, errsz, "%s.attendees[%zu].email "
			    "must be %s", where, i, type_words(F_EMAIL));
			return -1;
		}
		d->no_show[d->nattendees] = -1;
		noshow = lookup(json_object_array_get_idx(list, i), "noShow");
		if (noshow != NULL && !json_object_is_type(noshow,
		    json_type_null)) {
			if (!json_object_is_type(noshow, json_type_boolean)) {
				snprintf(err, errsz, "%s.attendees[%zu]."
				    "noShow must be true or false", where, i);
				return -1;
			}
			d->no_show[d->nattendees] =
			    json_object_get_boolean(noshow) ? 1 : 0;
		}
		d->attendees[d->nattendees++] = s;
	}
	return 0;
}

/* What each trigger cannot do without, and the duration rule. */
static int
check_booking(struct delivery *d, char *err, size_t errsz)
{
	const char	*missing = NULL;

	if (d->uid == NULL)
		missing = d->kind == TRIGGER_NO_SHOW ? "payload.bookingUid" :
		    "payload.uid";
	else if ((d->kind == TRIGGER_CREATED ||
	    d->kind == TRIGGER_RESCHEDULED || d->kind == TRIGGER_REQUESTED) &&
	    d->start == TIME_NONE)
		missing = "payload.startTime";
	else if (d->kind == TRIGGER_NO_SHOW && d->nattendees == 0)
		missing = "payload.attendees";
	else if (d->kind == TRIGGER_CREATED && d->organizer_email == NULL &&
	    d->trainer_id == NULL)
		missing = "payload.organizer.email";
	else if (d->kind == TRIGGER_CREATED && d->nattendees == 0 &&
	    d->student_id == NULL)
		missing = "payload.attendees";
	if (missing != NULL) {
		snprintf(err, errsz, "%s is required for %s", missing,
		    d->trigger);
		return -1;
	}
	if (d->start != TIME_NONE && d->end != TIME_NONE) {
		if (d->end <= d->start) {
			snprintf(err, errsz, "payload.endTime must be after "
			    "payload.startTime");
			return -1;
		}
		if (d->end - d->start > (int64_t)MINUTES_MAX * 60000) {
			snprintf(err, errsz, "payload.endTime is more than "
			    "7 days after payload.startTime");
			return -1;
		}
		d->duration = (int)((d->end - d->start + 30000) / 60000);
		if (d->duration == 0)
			d->duration = 1;
	} else
		d->duration = d->length;
	d->full_booking = d->organizer_email != NULL || d->trainer_id != NULL;
	return 0;
}

static int
take_envelope(struct delivery *d, struct json_object *root, char *err,
    size_t errsz)
{
	struct json_object	*v;
	const char		*s;
	size_t			 i, len;

	v = lookup(root, "triggerEvent");
	if (v == NULL || take_string(v, F_UID, &s, &len) == -1 || len > 64) {
		snprintf(err, errsz, "triggerEvent must be a Cal.com trigger "
		    "name such as BOOKING_CREATED");
		return -1;
	}
	d->trigger = s;
	for (i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++)
		if (strcmp(s, triggers[i].name) == 0)
			d->kind = triggers[i].kind;
	v = lookup(root, "createdAt");
	if (v != NULL && !json_object_is_type(v, json_type_null) &&
	    (take_string(v, F_TIME, &s, &len) == -1 ||
	    timestamp_parse(s, len, &d->created_at) == -1)) {
		snprintf(err, errsz, "createdAt must be %s",
		    type_words(F_TIME));
		return -1;
	}
	return 0;
}

struct parser *
payload_parser_new(void)
{
	struct parser	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL) {
		free(p);
		return NULL;
	}
	json_tokener_set_flags(p->tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return p;
}

void
payload_parser_free(struct parser *p)
{
	if (p == NULL)
		return;
	json_tokener_free(p->tok);
	free(p);
}

static struct json_object *
parse_json(struct parser *p, const char *body, size_t len, char *err,
    size_t errsz)
{
	struct json_object	*root;
	enum json_tokener_error	 jerr;
	size_t			 used;

	if (len > INT32_MAX) {
		snprintf(err, errsz, "body too large to parse");
		return NULL;
	}
	root = json_tokener_parse_ex(p->tok, body, (int)len);
	jerr = json_tokener_get_error(p->tok);
	used = json_tokener_get_parse_end(p->tok);
	/*
	 * A body that ended early leaves the tokener waiting for more, and
	 * holding what it read: the next body must start afresh.
	 */
	json_tokener_reset(p->tok);
	if (root == NULL || jerr != json_tokener_success) {
		snprintf(err, errsz, "body is not valid JSON: %s",
		    jerr == json_tokener_continue ? "unexpected end" :
		    json_tokener_error_desc(jerr));
		json_object_put(root);
		return NULL;
	}
	if (used != len) {
		snprintf(err, errsz, "body is not valid JSON: trailing "
		    "characters after the object");
		json_object_put(root);
		return NULL;
	}
	if (rfc8259_check(body, len, err, errsz) == -1) {
		json_object_put(root);
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errsz, "body must be a JSON object");
		json_object_put(root);
		return NULL;
	}
	return root;
}

/* Whether obj has key, not JSON null. */
static int
has_value(struct json_object *obj, const char *key)
{
	struct json_object	*v = lookup(obj, key);

	return v != NULL && !json_object_is_type(v, json_type_null);
}

/*
 * Fills d from body.  On error, err says what is wrong in words a Cal.com
 * operator can act on, and d may hold what was read so far (the trigger
 * and uid, for the journal); payload_free() must be called either way.
 */
int
payload_parse(struct parser *p, const char *body, size_t len,
    struct delivery *d, char *err, size_t errsz)
{
	struct json_object	*root, *payload;

	memset(d, 0, sizeof(*d));
	d->created_at = d->start = d->end = TIME_NONE;
	d->recur_freq = d->recur_interval = d->recur_count = -1;
	if ((root = parse_json(p, body, len, err, errsz)) == NULL)
		return -1;
	d->root = root;
	if (take_envelope(d, root, err, errsz) == -1)
		return -1;

	/* MEETING_STARTED and MEETING_ENDED are flat: no payload key. */
	if ((payload = lookup(root, "payload")) == NULL)
		payload = root;

	/*
	 * A BOOKING_REQUESTED without rescheduleUid is a new booking
	 * awaiting confirmation: only recorded, as its BOOKING_CREATED
	 * follows if the trainer accepts.  With one, it is a reschedule
	 * (the original is already cancelled in Cal.com), read in full.
	 * So is an occurrence of a series (recurringEvent): the approval of
	 * the series is one BOOKING_CREATED, for the first occurrence only.
	 */
	if (d->kind == TRIGGER_REQUESTED &&
	    !has_value(payload, "rescheduleUid") &&
	    !has_value(payload, "recurringEvent"))
		d->kind = TRIGGER_OTHER;

	/*
	 * Triggers calsync only records are read leniently: their shapes
	 * vary and change, and a delivery must never be refused for a
	 * field calsync does not use.
	 */
	if (d->kind == TRIGGER_OTHER) {
		struct json_object	*v = lookup(payload, "uid");
		const char		*s;
		size_t			 n;

		if (v != NULL && take_string(v, F_UID, &s, &n) == 0)
			d->uid = s;
		return 0;
	}
	if (!json_object_is_type(payload, json_type_object)) {
		snprintf(err, errsz, "payload must be a JSON object");
		return -1;
	}
	if (take_fields(d, payload, fields, sizeof(fields) / sizeof(fields[0]),
	    "payload", err, errsz) == -1 ||
	    take_attendees(d, payload, "payload", err, errsz) == -1)
		return -1;
	location_resolve(d);
	return check_booking(d, err, errsz);
}

/*
 * A booking of GET /v2/bookings in the names of Cal.com's
 * BookingOutput_2024_08_13 (calcom/cal.com, packages/platform/types/
 * bookings/2024-08-13/outputs/booking.output.ts), into the members a
 * webhook of it fills.  The API has no event type title, only its slug;
 * hosts[0] is the organizer (take_booking).
 */
static const struct field api_fields[] = {
	{ "uid",			F_UID,		AT(uid) },
	{ "rescheduledFromUid",		F_UID,		AT(reschedule_uid) },
	{ "start",			F_TIME,		AT(start) },
	{ "end",			F_TIME,		AT(end) },
	{ "duration",			F_MINUTES,	AT(length) },
	{ "title",			F_TEXT,		AT(title) },
	{ "eventType.slug",		F_TEXT,		AT(event_slug) },
	{ "description",		F_TEXT,		AT(description) },
	{ "bookingFieldsResponses.notes", F_TEXT,	AT(booker_notes) },
	{ "cancellationReason",		F_TEXT,		AT(cancellation_reason) },
	{ "guests",			F_EMAILS,	AT(nguests) },
	{ "reschedulingReason",		F_TEXT,		AT(reschedule_reason) },
	{ "location",			F_TEXT,		AT(location_sent) },
	{ "metadata.videoCallUrl",	F_TEXT,		AT(video_url) },
	{ "meetingUrl",			F_TEXT,		AT(video_data_url) },
	{ "metadata.trainer_id",	F_UUID,		AT(trainer_id) },
	{ "metadata.student_id",	F_UUID,		AT(student_id) },
};

static const char *const statuses[] = {
	[BOOKING_ACCEPTED] = "accepted",
	[BOOKING_PENDING] = "pending",
	[BOOKING_CANCELLED] = "cancelled",
	[BOOKING_REJECTED] = "rejected",
};

#define PAGE_MAX	250	/* GetBookingsInput_2024_08_13's take */

const char *
booking_status_name(enum booking_status s)
{
	return statuses[s];
}

/* An optional timestamp (null: TIME_NONE), or -1 with err set. */
static int
take_time(struct json_object *obj, const char *key, const char *where,
    int64_t *out, char *err, size_t errsz)
{
	struct json_object	*v = lookup(obj, key);
	const char		*s;
	size_t			 len;

	*out = TIME_NONE;
	if (v == NULL || json_object_is_type(v, json_type_null))
		return 0;
	if (take_string(v, F_TIME, &s, &len) == 0 &&
	    timestamp_parse(s, len, out) == 0)
		return 0;
	snprintf(err, errsz, "%s.%s must be %s", where, key,
	    type_words(F_TIME));
	return -1;
}

/* What only the API says: status, clocks, the organizer, seats. */
static int
take_booking_facts(struct booking *b, struct json_object *obj,
    const char *where, char *err, size_t errsz)
{
	struct json_object	*v, *hosts;
	const char		*s;
	size_t			 i, len;

	v = lookup(obj, "status");
	for (i = 0; v != NULL && json_object_is_type(v, json_type_string) &&
	    i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(json_object_get_string(v), statuses[i]) == 0)
			break;
	if (v == NULL || !json_object_is_type(v, json_type_string) ||
	    i == sizeof(statuses) / sizeof(statuses[0])) {
		snprintf(err, errsz, "%s.status must be one of accepted, "
		    "pending, cancelled, rejected", where);
		return -1;
	}
	b->status = (enum booking_status)i;
	if (take_time(obj, "createdAt", where, &b->created, err, errsz) == -1 ||
	    take_time(obj, "updatedAt", where, &b->updated, err, errsz) == -1)
		return -1;
	v = lookup(obj, "rescheduledToUid");
	if (v != NULL && !json_object_is_type(v, json_type_null)) {
		if (take_string(v, F_UID, &s, &len) == -1) {
			snprintf(err, errsz, "%s.rescheduledToUid must be %s",
			    where, type_words(F_UID));
			return -1;
		}
		b->rescheduled_to = s;
	}
	if ((hosts = lookup(obj, "hosts")) == NULL ||
	    !json_object_is_type(hosts, json_type_array)) {
		snprintf(err, errsz, "%s.hosts must be an array", where);
		return -1;
	}
	if (json_object_array_length(hosts) > 0) {
		v = lookup(json_object_array_get_idx(hosts, 0), "email");
		if (v == NULL || take_string(v, F_EMAIL, &s, &len) == -1) {
			snprintf(err, errsz, "%s.hosts[0].email must be %s",
			    where, type_words(F_EMAIL));
			return -1;
		}
		b->d.organizer_email = s;
	}
	v = lookup(obj, "attendees");
	for (i = 0; i < b->d.nattendees; i++)
		if (lookup(json_object_array_get_idx(v, i), "seatUid") != NULL)
			b->seated = true;
	return 0;
}

static int
take_booking(struct booking *b, struct json_object *obj, size_t i,
    char *err, size_t errsz)
{
	const char	*missing = NULL;
	char		 where[32];

	snprintf(where, sizeof(where), "data[%zu]", i);
	b->d.created_at = b->d.start = b->d.end = TIME_NONE;
	b->d.recur_freq = b->d.recur_interval = b->d.recur_count = -1;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errsz, "%s must be an object", where);
		return -1;
	}
	if (take_fields(&b->d, obj, api_fields, sizeof(api_fields) /
	    sizeof(api_fields[0]), where, err, errsz) == -1 ||
	    take_attendees(&b->d, obj, where, err, errsz) == -1 ||
	    take_booking_facts(b, obj, where, err, errsz) == -1)
		return -1;
	if (b->d.uid == NULL)
		missing = "uid";
	else if (b->d.start == TIME_NONE)
		missing = "start";
	else if (b->d.end == TIME_NONE)
		missing = "end";
	else if (b->created == TIME_NONE)
		missing = "createdAt";
	if (missing != NULL) {
		snprintf(err, errsz, "%s.%s is required", where, missing);
		return -1;
	}
	if (b->d.end <= b->d.start ||
	    b->d.end - b->d.start > (int64_t)MINUTES_MAX * 60000) {
		snprintf(err, errsz, "%s.end must be after %s.start, by at "
		    "most 7 days", where, where);
		return -1;
	}
	b->d.duration = (int)((b->d.end - b->d.start + 30000) / 60000);
	if (b->d.duration == 0)
		b->d.duration = 1;
	b->d.full_booking = b->d.organizer_email != NULL ||
	    b->d.trainer_id != NULL;
	location_resolve(&b->d);
	if ((b->json = strdup(json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * One page of GET /v2/bookings: {"status": "success", "data": [...],
 * "pagination": {..., "hasNextPage": ...}} (GetBookingsOutput_2024_08_13,
 * pagination.output.ts).  Every booking is checked: one that breaks a
 * rule refuses the page, err naming the field.  payload_free_page()
 * either way.
 */
int
payload_bookings(struct parser *p, const char *body, size_t len,
    struct bookings_page *page, char *err, size_t errsz)
{
	struct json_object	*root, *v, *data;
	size_t			 i, n;

	memset(page, 0, sizeof(*page));
	if ((root = parse_json(p, body, len, err, errsz)) == NULL)
		return -1;
	page->root = root;
	v = lookup(root, "status");
	if (v == NULL || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "success") != 0) {
		snprintf(err, errsz, "status must be \"success\"");
		return -1;
	}
	if ((data = lookup(root, "data")) == NULL ||
	    !json_object_is_type(data, json_type_array) ||
	    (n = json_object_array_length(data)) > PAGE_MAX) {
		snprintf(err, errsz, "data must be an array of at most %d "
		    "bookings", PAGE_MAX);
		return -1;
	}
	v = lookup(root, "pagination.hasNextPage");
	if (v == NULL || !json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errsz, "pagination.hasNextPage must be true or "
		    "false");
		return -1;
	}
	page->more = json_object_get_boolean(v);
	if (n > 0 && (page->list = calloc(n, sizeof(*page->list))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++, page->n++)
		if (take_booking(&page->list[i],
		    json_object_array_get_idx(data, i), i, err, errsz) == -1) {
			page->n++;
			return -1;
		}
	return 0;
}

void
payload_free_page(struct bookings_page *page)
{
	size_t	 i;

	for (i = 0; i < page->n; i++)
		free(page->list[i].json);
	free(page->list);
	json_object_put(page->root);
	memset(page, 0, sizeof(*page));
}

/*
 * What an error answer of Cal.com's API says: {"status": "error",
 * "error": {"code": ..., "message": ...}} (its HttpExceptionFilter), as
 * one escaped line.  -1 if the body is not that.
 */
int
payload_api_error(struct parser *p, const char *body, size_t len, char *out,
    size_t outsz)
{
	struct json_object	*root, *code, *msg;
	char			 err[64], c[128], m[512];
	int			 rc = -1;

	if ((root = parse_json(p, body, len, err, sizeof(err))) == NULL)
		return -1;
	code = lookup(root, "error.code");
	msg = lookup(root, "error.message");
	if (code != NULL && json_object_is_type(code, json_type_string) &&
	    msg != NULL && json_object_is_type(msg, json_type_string)) {
		log_escape(c, sizeof(c), json_object_get_string(code),
		    (size_t)json_object_get_string_len(code));
		log_escape(m, sizeof(m), json_object_get_string(msg),
		    (size_t)json_object_get_string_len(msg));
		snprintf(out, outsz, "%s: %s", c, m);
		rc = 0;
	}
	json_object_put(root);
	return rc;
}

void
payload_free(struct delivery *d)
{
	json_object_put(d->root);
	d->root = NULL;
}

static void
add_string(struct json_object *obj, const char *key, const char *value)
{
	if (value != NULL && *value != '\0')
		json_object_object_add(obj, key,
		    json_object_new_string(value));
}

/*
 * The JSON body of an answer: {"status": ...} for 2xx, {"error": ...}
 * otherwise, with the request id to find the log line.  Returns a
 * string the caller frees, or NULL if out of memory.
 */
char *
payload_answer(enum outcome o, const char *detail, const char *request_id,
    const char *uid, const char *appointment_id)
{
	const struct outcome_info	*info = outcome_info(o);
	struct json_object		*obj;
	char				*out;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	if (detail == NULL || *detail == '\0')
		detail = info->message;
	if (info->status < 300) {
		add_string(obj, "status", info->name);
		if (strcmp(detail, info->name) != 0)
			add_string(obj, "detail", detail);
	} else {
		add_string(obj, "error", detail);
		add_string(obj, "outcome", info->name);
	}
	add_string(obj, "uid", uid);
	add_string(obj, "appointment_id", appointment_id);
	add_string(obj, "request_id", request_id);
	out = strdup(json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return out;
}
