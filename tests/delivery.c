/*
 * tests/delivery.c: delivery_json, the text calsync.apply_delivery's
 * argument is read from: each field under calsync.delivery's name and in
 * the form jsonb_populate_record reads into its type, strings escaped as
 * RFC 8259 says, bytes exact in bytea's hex form, unread fields left out.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/calsync.h"
#include "tap.h"

/* 2027-03-01T09:30:00.250Z and 2027-03-08T18:00:00Z */
#define CREATED_MS	(1803893400LL * 1000 + 250)
#define START_MS	(1804528800LL * 1000)

/* 32 bytes, and their hex */
static const unsigned char digest[DIGEST_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x0f, 0x10, 0x7f, 0x80,
	0x9a, 0xbc, 0xde, 0xf0, 0xff, 0xfe, 0x20, 0x5c,
	0x22, 0x2f, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
	0x0a, 0x0d, 0x09, 0x00, 0x11, 0x22, 0x33, 0x44
};
#define DIGEST_HEX	"000102030f107f809abcdef0fffe205c" \
			"222f6162636465660a0d090011223344"

/* A delivery with nothing read: what payload_parse starts from. */
static void
empty(struct delivery *d)
{
	memset(d, 0, sizeof(*d));
	d->created_at = TIME_NONE;
	d->start = TIME_NONE;
	d->end = TIME_NONE;
	d->recur_freq = -1;
}

static void
is_json(const struct delivery *d, const char *body, size_t len,
    const char *want, const char *name)
{
	char	*got;

	got = delivery_json("req-1", d, digest, body, len);
	is_str(got, want, "%s", name);
	free(got);
}

/* Every field set; the strings hold what JSON must escape. */
static void
test_full(void)
{
	struct delivery	 d;
	/* A body with a NUL, a quote, a backslash and bytes over 0x7f. */
	static const char body[] = "{\"a\":\"\\\"\0\xc3\xa9\xff\"}";

	empty(&d);
	d.trigger = "BOOKING_CREATED";
	d.created_at = CREATED_MS;
	d.uid = "b-1";
	d.reschedule_uid = "b-0";
	d.start = START_MS;
	d.duration = 45;
	d.title = "quote \" backslash \\ slash / tab \t nl \n cr \r "
	    "ff \f bs \b ctl \x01\x1f del \x7f e\xc3\xa9 \xf0\x9f\x98\x80";
	d.event_type = "Personal training";
	d.event_slug = "pt/45";
	d.description = "";
	d.booker_notes = "</script>";
	snprintf(d.location, sizeof(d.location), "https://meet.example/x?a=1&b=2");
	d.has_location = true;
	d.cancellation_reason = "c";
	d.organizer_email = "t@ga.example";
	d.nattendees = 3;
	d.attendees[0] = "s1@ga.example";
	d.attendees[1] = "s2@ga.example";
	d.attendees[2] = "s3@ga.example";
	d.no_show[0] = -1;
	d.no_show[1] = 0;
	d.no_show[2] = 1;
	d.trainer_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
	d.student_id = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
	d.full_booking = true;
	d.nguests = 2;
	d.guests[0] = "g1@ga.example";
	d.guests[1] = "g2@ga.example";
	d.reschedule_reason = "r";
	d.attendee_seat_id = "seat-1";
	d.recur_freq = 2;
	d.recur_interval = 0;
	d.recur_count = 5;
	is_json(&d, body, sizeof(body) - 1,
	    "{\"request_id\":\"req-1\",\"trigger\":\"BOOKING_CREATED\","
	    "\"created_at\":\"2027-03-01T09:30:00.250Z\",\"uid\":\"b-1\","
	    "\"reschedule_uid\":\"b-0\","
	    "\"start_at\":\"2027-03-08 18:00:00\","
	    "\"title\":\"quote \\\" backslash \\\\ slash / tab \\t nl \\n "
	    "cr \\r ff \\f bs \\b ctl \\u0001\\u001f del \x7f e\xc3\xa9 "
	    "\xf0\x9f\x98\x80\","
	    "\"event_type\":\"Personal training\",\"event_slug\":\"pt/45\","
	    "\"description\":\"\",\"booker_notes\":\"</script>\","
	    "\"location\":\"https://meet.example/x?a=1&b=2\","
	    "\"cancellation_reason\":\"c\","
	    "\"organizer_email\":\"t@ga.example\","
	    "\"trainer_id\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\","
	    "\"student_id\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
	    "\"reschedule_reason\":\"r\",\"attendee_seat_id\":\"seat-1\","
	    "\"duration\":45,"
	    "\"attendee_emails\":[\"s1@ga.example\",\"s2@ga.example\","
	    "\"s3@ga.example\"],"
	    "\"no_show\":[null,false,true],\"full_booking\":true,"
	    "\"guests\":[\"g1@ga.example\",\"g2@ga.example\"],"
	    "\"recurring\":[2,null,5],"
	    "\"body_sha256\":\"\\\\x" DIGEST_HEX "\","
	    "\"body\":\"\\\\x7b2261223a225c2200c3a9ff227d\"}",
	    "every field: its name, its form, strings escaped");
}

/* Nothing read but the trigger: no member for what is unread. */
static void
test_bare(void)
{
	struct delivery	 d;

	empty(&d);
	d.trigger = "PING";
	/* Not what Cal.com sent: has_location says so. */
	snprintf(d.location, sizeof(d.location), "left over");
	is_json(&d, "", 0,
	    "{\"request_id\":\"req-1\",\"trigger\":\"PING\","
	    "\"full_booking\":false,"
	    "\"body_sha256\":\"\\\\x" DIGEST_HEX "\",\"body\":\"\\\\x\"}",
	    "nothing read: no members but the trigger, the flag and the bytes");
}

/* recurringEvent's freq 0 (yearly) is said; interval and count not. */
static void
test_recurring(void)
{
	struct delivery	 d;
	char		*got;

	empty(&d);
	d.recur_freq = 0;
	d.recur_interval = 3;
	got = delivery_json("req-1", &d, digest, "x", 1);
	ok(got != NULL && strstr(got, "\"recurring\":[0,3,null]") != NULL,
	    "recurring: freq 0 kept, count unsaid is null: %s",
	    got != NULL ? got : "(null)");
	ok(got != NULL && strstr(got, "\"trigger\"") == NULL,
	    "no trigger read: no trigger member");
	free(got);
}

/* Every byte value, as bytea's hex form reads it back. */
static void
test_bytes(void)
{
	struct delivery	 d;
	char		 body[256], want[2 * 256 + 1], *got, *at;
	size_t		 i;

	empty(&d);
	for (i = 0; i < sizeof(body); i++) {
		body[i] = (char)i;
		snprintf(want + 2 * i, 3, "%02x", (unsigned)i);
	}
	got = delivery_json("req-1", &d, digest, body, sizeof(body));
	at = got != NULL ? strstr(got, "\"body\":\"\\\\x") : NULL;
	ok(at != NULL, "body: a bytea hex string");
	if (at != NULL)
		at += strlen("\"body\":\"\\\\x");
	ok(at != NULL && strncmp(at, want, strlen(want)) == 0 &&
	    strcmp(at + strlen(want), "\"}") == 0,
	    "body: the 256 byte values, in order, two lowercase digits each");
	free(got);
}

int
main(void)
{
	test_full();
	test_bare();
	test_recurring();
	test_bytes();
	return tap_done();
}
