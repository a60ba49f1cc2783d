/*
 * delivery.c: a struct delivery as calsync.apply_delivery's one argument,
 * a JSON object named by the fields of calsync.delivery (sql/calsync.sql),
 * which store.c's statement makes that type of (jsonb_populate_record).
 * json-c writes it: payload.c reads with json-c, this file only writes.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "calsync.h"

/*
 * The keys are literals, each added once: json-c neither copies them nor
 * looks them up first.
 */
#define ADD_FLAGS	(JSON_C_OBJECT_ADD_KEY_IS_NEW | \
			    JSON_C_OBJECT_ADD_CONSTANT_KEY)

/*
 * Add v, which the caller has just made (NULL: that failed), under key:
 * obj owns it then.  -1 when out of memory, v freed.
 */
static int
add(struct json_object *obj, const char *key, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add_ex(obj, key, v, ADD_FLAGS) == -1) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* v at the end of arr, which owns it then; NULL is null. */
static int
append(struct json_object *arr, struct json_object *v)
{
	if (json_object_array_add(arr, v) == -1) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* A list of strings as an array; an empty list is no member. */
static int
add_texts(struct json_object *obj, const char *key, const char *const *list,
    size_t n)
{
	struct json_object	*arr, *v;
	size_t			 i;

	if (n == 0)
		return 0;
	if ((arr = json_object_new_array_ext((int)n)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if ((v = json_object_new_string(list[i])) == NULL ||
		    append(arr, v) == -1) {
			json_object_put(arr);
			return -1;
		}
	return add(obj, key, arr);
}

/* Each attendee's noShow, null when unsaid; no attendees, no member. */
static int
add_no_show(struct json_object *obj, const struct delivery *d)
{
	struct json_object	*arr, *v;
	size_t			 i;

	if (d->nattendees == 0)
		return 0;
	if ((arr = json_object_new_array_ext((int)d->nattendees)) == NULL)
		return -1;
	for (i = 0; i < d->nattendees; i++) {
		v = NULL;
		if ((d->no_show[i] >= 0 &&
		    (v = json_object_new_boolean(d->no_show[i])) == NULL) ||
		    append(arr, v) == -1) {
			json_object_put(arr);
			return -1;
		}
	}
	return add(obj, "no_show", arr);
}

/* recurringEvent as [freq, interval, count], the unsaid ones null. */
static int
add_recurring(struct json_object *obj, const struct delivery *d)
{
	const int		 n[3] = { d->recur_freq, d->recur_interval,
				    d->recur_count };
	struct json_object	*arr, *v;
	size_t			 i;

	if (d->recur_freq < 0)
		return 0;
	if ((arr = json_object_new_array_ext(3)) == NULL)
		return -1;
	for (i = 0; i < 3; i++) {
		v = NULL;
		if ((i == 0 || n[i] > 0) &&
		    (v = json_object_new_int(n[i])) == NULL) {
			json_object_put(arr);
			return -1;
		}
		if (append(arr, v) == -1) {
			json_object_put(arr);
			return -1;
		}
	}
	return add(obj, "recurring", arr);
}

/*
 * Bytes as a string bytea reads in its hex format, "\x" and two
 * lowercase digits a byte: jsonb_populate_record casts the string.
 */
static int
add_bytea(struct json_object *obj, const char *key, const unsigned char *b,
    size_t len)
{
	static const char	 digits[] = "0123456789abcdef";
	char			*hex;
	size_t			 i;
	int			 rc;

	if ((hex = malloc(2 + 2 * len)) == NULL)
		return -1;
	hex[0] = '\\';
	hex[1] = 'x';
	for (i = 0; i < len; i++) {
		hex[2 + 2 * i] = digits[b[i] >> 4];
		hex[3 + 2 * i] = digits[b[i] & 0xf];
	}
	rc = add(obj, key, json_object_new_string_len(hex, (int)(2 + 2 * len)));
	free(hex);
	return rc;
}

/* Every field of calsync.delivery that this delivery has. */
static int
add_fields(struct json_object *obj, const char *request_id,
    const struct delivery *d, const unsigned char *digest, const char *body,
    size_t len)
{
	char		 created[TIMESTAMP_BUFSZ], start[TIMESTAMP_BUFSZ];
	const struct {
		const char	*key, *value;	/* NULL: no member */
	} texts[] = {
		{ "request_id", request_id },
		{ "trigger", d->trigger },
		{ "created_at", d->created_at != TIME_NONE ? created : NULL },
		{ "uid", d->uid },
		{ "reschedule_uid", d->reschedule_uid },
		{ "start_at", d->start != TIME_NONE ? start : NULL },
		{ "title", d->title },
		{ "event_type", d->event_type },
		{ "event_slug", d->event_slug },
		{ "description", d->description },
		{ "booker_notes", d->booker_notes },
		{ "location", d->has_location ? d->location : NULL },
		{ "cancellation_reason", d->cancellation_reason },
		{ "organizer_email", d->organizer_email },
		{ "trainer_id", d->trainer_id },
		{ "student_id", d->student_id },
		{ "reschedule_reason", d->reschedule_reason },
		{ "attendee_seat_id", d->attendee_seat_id },
	};
	size_t		 i;

	if (d->created_at != TIME_NONE)
		timestamp_format_ms(d->created_at, created);
	if (d->start != TIME_NONE)
		timestamp_format(d->start, start);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].value != NULL && add(obj, texts[i].key,
		    json_object_new_string(texts[i].value)) == -1)
			return -1;
	if ((d->duration > 0 && add(obj, "duration",
	    json_object_new_int(d->duration)) == -1) ||
	    add_texts(obj, "attendee_emails", d->attendees,
	    d->nattendees) == -1 ||
	    add_no_show(obj, d) == -1 ||
	    add(obj, "full_booking",
	    json_object_new_boolean(d->full_booking)) == -1 ||
	    add_texts(obj, "guests", d->guests, d->nguests) == -1 ||
	    add_recurring(obj, d) == -1 ||
	    add_bytea(obj, "body_sha256", digest, DIGEST_LEN) == -1 ||
	    add_bytea(obj, "body", (const unsigned char *)body, len) == -1)
		return -1;
	return 0;
}

/*
 * The delivery as a calsync.delivery, a JSON object: what payload.c read,
 * by the names of that type's fields.  A field calsync did not read is
 * left out, which jsonb_populate_record makes null.  The caller frees the
 * text; NULL when out of memory.
 */
char *
delivery_json(const char *request_id, const struct delivery *d,
    const unsigned char *digest, const char *body, size_t len)
{
	struct json_object	*obj;
	const char		*text;
	char			*out = NULL;
	size_t			 n;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	if (add_fields(obj, request_id, d, digest, body, len) == 0 &&
	    (text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &n)) != NULL && (out = malloc(n + 1)) != NULL)
		memcpy(out, text, n + 1);
	json_object_put(obj);
	return out;
}
