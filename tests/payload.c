/*
 * tests/payload.c: payload_parse on Cal.com's documented bodies, the seed
 * guide's simplified ones, and what it must refuse or tolerate; the
 * derived values; one parser for many bodies, as a worker keeps it;
 * utf8_truncate; and payload_answer's JSON.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/calsync.h"
#include "tap.h"

/* Bodies are built from these parts; one field changes per case. */
#define PRE(trigger, fields) "{\"triggerEvent\":\"" trigger "\"," \
	"\"createdAt\":\"2026-02-04T10:00:00.000Z\",\"payload\":{" fields
#define ENV(trigger, fields)	PRE(trigger, fields) "}}"
#define CREATED(fields)	ENV("BOOKING_CREATED", fields)
#define CREATED_PRE(fields)	PRE("BOOKING_CREATED", fields)
#define UID	"\"uid\":\"b1\""
#define START	"\"startTime\":\"2026-02-05T10:00:00Z\""
#define END	"\"endTime\":\"2026-02-05T11:00:00Z\""
#define ORG	"\"organizer\":{\"email\":\"t@ga.example\"}"
#define ATT	"\"attendees\":[{\"email\":\"s@ga.example\"}]"
#define BOOKING	UID "," START "," END "," ORG "," ATT
#define UUID1	"7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define UUID2	"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"
#define EMOJI	"\xf0\x9f\x98\x80"	/* U+1F600, 4 bytes */
#define P	"payload."
#define LOC	CREATED_PRE(BOOKING ",\"location\":\"")
#define BAD(name, text, message) { name, .body = text, .err = message }
#define BAD2(name, text, message, at) { name, .body = text, .err = message, \
	.err2 = at }
#define GOOD(name, text, ...) { name, .body = text, .want = { __VA_ARGS__ } }
#define EXAMPLE(path, ...) { "Cal.com " path, .file = path, \
	.want = { __VA_ARGS__ } }

/*
 * One body: a file under tests/data/calcom, a literal, or built as body,
 * n x unit (sep between), n x unit2, suffix.  If err is set, parsing must
 * fail with a message containing it ("": any message), and err2 too if
 * set.  Otherwise it must
 * succeed and each want pair (field, value; NULL = absent) must hold.
 */
struct pcase {
	const char	*name;
	const char	*file;
	const char	*body;
	const char	*unit, *sep, *unit2, *suffix;
	int		 n;
	const char	*err, *err2;
	const char	*want[48];
};

static const struct pcase cases[] = {
	/* Cal.com's documented examples (webhooks.mdx), as files. */
	EXAMPLE("booking_created.json", "kind", "CREATED",
	    "trigger", "BOOKING_CREATED",
	    "created_at", "2024-01-01T00:00:00.000Z",
	    "uid", "unique-booking-id", "reschedule_uid", NULL,
	    "start", "2024-01-01T10:00:00.000Z",
	    "end", "2024-01-01T10:15:00.000Z", "length", "15", "duration", "15",
	    "organizer_email", "organizer@example.com",
	    "attendees", "guest@example.com additional-guest@example.com",
	    "event_type", "Strategy Session",
	    "event_slug", "standard-event-type",
	    "location", "https://app.example.com/video/unique-booking-id",
	    "guests", "additional-guest@example.com",
	    "reschedule_reason", NULL,
	    "title", "Strategy Session between Organizer and Guest",
	    "booker_notes", "", "cancellation_reason", NULL, "trainer_id", NULL,
	    "full_booking", "true"),
	EXAMPLE("booking_cancelled.json", "kind", "CANCELLED",
	    "uid", "unique-booking-identifier",
	    "created_at", "2024-01-01T15:00:00.000Z",
	    "start", "2024-01-04T10:00:00.000Z",
	    "end", "2024-01-04T10:15:00.000Z", "duration", "15",
	    "cancellation_reason",
	    "I am no longer able to attend this session.",
	    "organizer_email", "organizer@example.com",
	    "attendees", "guest@example.com additional-guest@example.com",
	    "event_type", "Strategy Session",
	    "booker_notes", "Standard meeting notes placeholder",
	    "title", "Strategy Session: Organizer & Guest",
	    "full_booking", "true"),
	EXAMPLE("booking_rescheduled.json", "kind", "RESCHEDULED",
	    "uid", "new-booking-unique-id",
	    "reschedule_uid", "previous-booking-unique-id",
	    "created_at", "2024-01-01T10:00:00.000Z",
	    "start", "2024-01-10T14:30:00.000Z",
	    "end", "2024-01-10T14:45:00.000Z", "duration", "15",
	    "location", "https://app.example.com/video/new-booking-unique-id",
	    "organizer_email", "organizer@example.com", "nattendees", "2",
	    "event_type", "Strategy Session", "full_booking", "true"),
	EXAMPLE("booking_requested.json", "kind", "OTHER",
	    "trigger", "BOOKING_REQUESTED", "uid", "unique-booking-id",
	    "created_at", "2024-01-01T12:00:00.000Z"),
	EXAMPLE("booking_no_show_updated.json", "kind", "NO_SHOW",
	    "trigger", "BOOKING_NO_SHOW_UPDATED",
	    "uid", "5vQFqxDFMjdgKGMijqtqRw", "attendees", "test@example.com",
	    "created_at", "2025-12-01T12:34:34.774Z"),
	EXAMPLE("meeting_ended.json", "kind", "OTHER",
	    "trigger", "MEETING_ENDED",
	    "uid", "unique-booking-identifier",
	    "created_at", "2024-01-01T09:45:00.000Z"),

	/* The seed guide's simplified bodies ("Webhook Payload Structure"). */
	{ "seed BOOKING_CREATED", .body = ENV("BOOKING_CREATED",
	    "\"uid\":\"unique-booking-id\","
	    "\"startTime\":\"2026-02-05T10:00:00.000Z\","
	    "\"endTime\":\"2026-02-05T11:00:00.000Z\","
	    "\"title\":\"Personal Training Session\","
	    "\"description\":\"Session notes from booking\","
	    "\"location\":\"Gym Address\",\"organizer\":{\"email\":"
	    "\"guilherme@gapersonal.com\",\"name\":\"Guilherme Almeida\"},"
	    "\"attendees\":[{\"email\":\"student@example.com\",\"name\":"
	    "\"Student Name\",\"notes\":\"Any notes from the student\"}],"
	    "\"eventType\":{\"title\":\"Personal Training Session\","
	    "\"length\":60},\"metadata\":{}"),
	  .want = { "kind", "CREATED", "uid", "unique-booking-id",
	    "start", "2026-02-05T10:00:00.000Z",
	    "end", "2026-02-05T11:00:00.000Z", "duration", "60", "length", "0",
	    "event_type", "Personal Training Session",
	    "title", "Personal Training Session",
	    "description", "Session notes from booking",
	    "location", "Gym Address",
	    "organizer_email", "guilherme@gapersonal.com",
	    "attendees", "student@example.com", "booker_notes", NULL,
	    "trainer_id", NULL, "student_id", NULL, "full_booking", "true" } },
	{ "seed BOOKING_CANCELLED", .body = ENV("BOOKING_CANCELLED",
	    "\"uid\":\"unique-booking-id\","
	    "\"cancellationReason\":\"Reason provided by user\""),
	  .want = { "kind", "CANCELLED", "uid", "unique-booking-id",
	    "cancellation_reason", "Reason provided by user", "start", NULL,
	    "duration", "0", "nattendees", "0", "location", NULL,
	    "full_booking", "false" } },
	{ "seed BOOKING_RESCHEDULED",
	  .body = ENV("BOOKING_RESCHEDULED", "\"uid\":\"unique-booking-id\","
	    "\"startTime\":\"2026-02-06T14:00:00.000Z\","
	    "\"endTime\":\"2026-02-06T15:00:00.000Z\","
	    "\"rescheduleReason\":\"Reason provided by user\""),
	  .want = { "kind", "RESCHEDULED", "uid", "unique-booking-id",
	    "reschedule_uid", NULL, "start", "2026-02-06T14:00:00.000Z",
	    "end", "2026-02-06T15:00:00.000Z", "duration", "60",
	    "full_booking", "false" } },
	{ "PING (Cal.com's test trigger)", .body = ENV("PING",
	    "\"type\":\"Test\",\"title\":\"Test trigger event\","
	    "\"startTime\":\"2026-02-04T10:00:00.000Z\","
	    "\"endTime\":\"2026-02-04T10:00:00.000Z\","
	    "\"attendees\":[{\"email\":\"jdoe@example.com\"}],"
	    "\"organizer\":{\"email\":\"no-reply@cal.com\"}"),
	  .want = { "kind", "OTHER", "trigger", "PING", "uid", NULL,
	    "created_at", "2026-02-04T10:00:00.000Z" } },

	/* Strictness: refused, and the message names what is wrong. */
	BAD("invalid JSON", "{\"triggerEvent\":", "JSON"),
	BAD("trailing garbage", ENV("PING", "") "x", "JSON"),
	BAD("a second object", ENV("PING", "") "{}", "JSON"),
	BAD("top-level array", "[" ENV("PING", "") "]", "JSON object"),
	BAD("empty body", "", "JSON"),
	BAD("missing triggerEvent", "{\"payload\":{}}", "triggerEvent"),
	BAD("triggerEvent a number", "{\"triggerEvent\":42}", "triggerEvent"),
	BAD("triggerEvent with a space",
	    "{\"triggerEvent\":\"BOOKING CREATED\"}", "triggerEvent"),
	BAD("createdAt malformed", "{\"triggerEvent\":\"PING\","
	    "\"createdAt\":\"2026-02-04 10:00:00\"}", "createdAt"),
	BAD("startTime malformed", CREATED(UID ","
	    "\"startTime\":\"2026-02-30T10:00:00Z\"," END "," ORG "," ATT),
	    P "startTime"),
	BAD("startTime a number", CREATED(UID ",\"startTime\":1770285600000,"
	    END "," ORG "," ATT), P "startTime"),
	BAD("endTime before startTime", CREATED(UID "," START ","
	    "\"endTime\":\"2026-02-05T09:00:00Z\"," ORG "," ATT), P "endTime"),
	BAD("endTime = startTime", CREATED(UID "," START ","
	    "\"endTime\":\"2026-02-05T10:00:00Z\"," ORG "," ATT), P "endTime"),
	BAD("endTime 8 days after", CREATED(UID "," START ","
	    "\"endTime\":\"2026-02-13T10:00:00Z\"," ORG "," ATT), P "endTime"),
	BAD("uid with a space", CREATED("\"uid\":\"b 1\"," START "," END ","
	    ORG "," ATT), P "uid"),
	{ "uid of 256 characters", .body = PRE("BOOKING_CANCELLED",
	    "\"uid\":\""), .unit = "u", .n = 256, .suffix = "\"}}",
	  .err = P "uid" },
	BAD("organizer.email not an email", CREATED(UID "," START "," END
	    ",\"organizer\":{\"email\":\"organizer\"}," ATT),
	    P "organizer.email"),
	BAD("attendees not an array", CREATED(UID "," START "," END "," ORG
	    ",\"attendees\":{\"email\":\"s@ga.example\"}"), P "attendees"),
	BAD("attendee without email", CREATED(UID "," START "," END "," ORG
	    ",\"attendees\":[{\"name\":\"Student\"}]"),
	    P "attendees[0].email"),
	BAD("second attendee's email bad", CREATED(UID "," START "," END ","
	    ORG ",\"attendees\":[{\"email\":\"s@ga.example\"},"
	    "{\"email\":\"@x\"}]"), P "attendees[1].email"),
	{ "101 attendees", .body = CREATED_PRE(UID "," START "," END "," ORG
	    ",\"attendees\":["), .unit = "{\"email\":\"s@ga.example\"}",
	  .sep = ",", .n = 101, .suffix = "]}}", .err = P "attendees" },
	BAD("metadata.trainer_id not a uuid", CREATED(BOOKING ",\"metadata\":"
	    "{\"trainer_id\":\"7c9e6679-7425-40de-944b\"}"),
	    P "metadata.trainer_id"),
	BAD("metadata.student_id not hex", CREATED(BOOKING ",\"metadata\":"
	    "{\"student_id\":\"7c9e6679-7425-40de-944b-e07fc1f90aeg\"}"),
	    P "metadata.student_id"),
	BAD("length 0", CREATED(BOOKING ",\"length\":0"), P "length"),
	BAD("length negative", CREATED(BOOKING ",\"length\":-15"), P "length"),
	BAD("length 10081", CREATED(BOOKING ",\"length\":10081"), P "length"),
	BAD("length a float", CREATED(BOOKING ",\"length\":15.5"), P "length"),
	BAD("length a string", CREATED(BOOKING ",\"length\":\"15\""),
	    P "length"),
	BAD("title with \\u0000", CREATED(BOOKING
	    ",\"title\":\"Per\\u0000sonal\""), P "title"),
	BAD("uid with \\u0000", CREATED("\"uid\":\"b\\u0000\"," START ","
	    END "," ORG "," ATT), P "uid"),
	BAD("title with byte FF", CREATED(BOOKING ",\"title\":\"a\xff\""),
	    "JSON"),
	BAD("title with a cut 2-byte sequence", CREATED(BOOKING
	    ",\"title\":\"a\xc3\""), "JSON"),
	BAD("title with overlong C0 AF", CREATED(BOOKING
	    ",\"title\":\"a\xc0\xaf\""), P "title"),
	BAD("title with a UTF-8 surrogate ED A0 80", CREATED(BOOKING
	    ",\"title\":\"a\xed\xa0\x80\""), P "title"),
	BAD("title beyond U+10FFFF (F5 80 80 80)", CREATED(BOOKING
	    ",\"title\":\"a\xf5\x80\x80\x80\""), P "title"),

	/*
	 * Not JSON by RFC 8259, yet json-c's strict mode takes them: a
	 * raw control character in a string, numbers outside the grammar.
	 * Refused wherever they are, read or not, naming the member.
	 */
	BAD("NaN, with the byte", ENV("PING", "\"n\":NaN"),
	    "NaN is not a JSON number at byte 77 in payload.n"),
	BAD2("Infinity in length", CREATED(BOOKING ",\"length\":Infinity"),
	    "Infinity is not a JSON number", "in payload.length"),
	BAD2("-Infinity in a field not read", CREATED(BOOKING
	    ",\"price\":-Infinity"), "-Infinity is not a JSON number",
	    "in payload.price"),
	BAD2("1. in length", CREATED(BOOKING ",\"length\":15."),
	    "15. is not a JSON number", "in payload.length"),
	BAD2("1. in a field not read", ENV("PING", "\"n\":1."),
	    "1. is not a JSON number", "in payload.n"),
	BAD2("1.e5 in an array", ENV("PING", "\"n\":[0,1.e5]"),
	    "1.e5 is not a JSON number", "in payload.n[1]"),
	BAD2("-.5", ENV("PING", "\"n\":-.5"), "-.5 is not",
	    "in payload.n"),
	BAD2("00", ENV("PING", "\"n\":00"), "00 is not", "in payload.n"),
	BAD2("-01", ENV("PING", "\"n\":-01"), "-01 is not", "in payload.n"),
	BAD2("NaN at the top", "{\"triggerEvent\":\"PING\",\"n\":NaN}",
	    "NaN is not a JSON number", "in n"),
	BAD2("raw TAB in the title", CREATED(BOOKING ",\"title\":\"a\tb\""),
	    "a raw control character U+0009", "in payload.title"),
	BAD2("raw 01 in a field not read", CREATED(BOOKING
	    ",\"bookerUrl\":\"a\x01\""), "a raw control character U+0001",
	    "in payload.bookerUrl"),
	BAD2("raw 1F in an attendee's email", CREATED_PRE(UID "," START ","
	    END "," ORG ",\"attendees\":[{\"email\":\"s@ga.example\x1f\"}]}}"),
	    "a raw control character U+001F", "in payload.attendees[0].email"),
	BAD2("raw LF in a key", CREATED(BOOKING ",\"a\nb\":1"),
	    "a raw control character U+000A", "in a key of payload"),
	BAD2("raw CR in a PING's payload", ENV("PING", "\"n\":\"\r\""),
	    "U+000D", "in payload.n"),
	BAD2("after an escaped backslash, still read", ENV("PING",
	    "\"n\":\"a\\\\\",\"m\":[\"\\\"\",1.]"), "1. is not",
	    "in payload.m[1]"),
	GOOD("escaped control characters are JSON", CREATED(BOOKING
	    ",\"title\":\"a\\tb\\u0001c\\n\""), "title", "a\tb\x01" "c\n"),
	GOOD("numbers in the grammar, blanks between tokens", ENV("PING",
	    "\t\"n\" :\r\n[0, -0, 0.5, -12.25e-3, 1E+5, 7e9, true, false,"
	    " null, \"\\\"1.\"]"), "kind", "OTHER"),
	{ "nesting 33 deep", .body = "{\"triggerEvent\":\"PING\",\"x\":",
	  .unit = "[", .n = 32, .unit2 = "]", .suffix = "}", .err = "deep" },
	BAD("CREATED without uid", CREATED(START "," END "," ORG "," ATT),
	    P "uid"),
	BAD("CREATED without startTime", CREATED(UID "," END "," ORG ","
	    ATT), P "startTime"),
	BAD("CREATED without organizer or trainer_id", CREATED(UID ","
	    START "," END "," ATT), P "organizer.email"),
	BAD("CREATED without attendees or student_id", CREATED(UID ","
	    START "," END "," ORG), P "attendees"),
	BAD("RESCHEDULED without startTime", ENV("BOOKING_RESCHEDULED",
	    UID), P "startTime"),
	BAD("CANCELLED without uid", ENV("BOOKING_CANCELLED",
	    "\"cancellationReason\":\"x\""), P "uid"),
	BAD("CREATED with payload an array",
	    "{\"triggerEvent\":\"BOOKING_CREATED\",\"payload\":[]}", "payload"),

	/* Leniency. */
	{ "nesting 32 deep", .body = "{\"triggerEvent\":\"PING\",\"x\":",
	  .unit = "[", .n = 31, .unit2 = "]", .suffix = "}",
	  .want = { "kind", "OTHER" } },
	{ "uid of 255 characters", .body = PRE("BOOKING_CANCELLED",
	    "\"uid\":\""), .unit = "u", .n = 255, .suffix = "\"}}",
	  .want = { "kind", "CANCELLED", "uid.bytes", "255" } },
	{ "100 attendees", .body = CREATED_PRE(UID "," START "," END "," ORG
	    ",\"attendees\":["), .unit = "{\"email\":\"s@ga.example\"}",
	  .sep = ",", .n = 100, .suffix = "]}}",
	  .want = { "nattendees", "100" } },
	GOOD("JSON nulls are absent", CREATED(BOOKING ",\"description\":null,"
	    "\"location\":null,\"rescheduleUid\":null,\"length\":null,"
	    "\"eventTitle\":null,\"eventType\":{\"title\":\"PT\"},"
	    "\"metadata\":null"), "kind", "CREATED", "description", NULL,
	    "location", NULL, "reschedule_uid", NULL, "length", "0",
	    "event_type", "PT"),
	GOOD("unknown BOOKING_SOMETHING with odd types",
	    ENV("BOOKING_SOMETHING", "\"uid\":\"p1\",\"startTime\":5,"
	    "\"endTime\":\"soon\",\"length\":1.5,\"attendees\":\"x\","
	    "\"organizer\":{\"email\":7},\"metadata\":[]"), "kind", "OTHER",
	    "trigger", "BOOKING_SOMETHING", "uid", "p1"),
	BAD("BOOKING_PAID is read strictly", ENV("BOOKING_PAID",
	    "\"uid\":\"p1\",\"startTime\":5"), P "startTime"),
	BAD("NO_SHOW without bookingUid", ENV("BOOKING_NO_SHOW_UPDATED",
	    "\"attendees\":[{\"email\":\"s@ga.example\",\"noShow\":true}]"),
	    P "bookingUid"),
	BAD("NO_SHOW with noShow a string", ENV("BOOKING_NO_SHOW_UPDATED",
	    "\"bookingUid\":\"b1\",\"attendees\":[{\"email\":"
	    "\"s@ga.example\",\"noShow\":\"yes\"}]"), P "attendees[0].noShow"),
	BAD("REJECTED without uid", ENV("BOOKING_REJECTED",
	    "\"rejectionReason\":\"busy\""), P "uid"),
	GOOD("REJECTED: rejectionReason is the reason",
	    ENV("BOOKING_REJECTED", "\"uid\":\"r1\",\"rejectionReason\":"
	    "\"Fully booked\""), "kind", "CANCELLED", "cancellation_reason",
	    "Fully booked"),
	GOOD("REQUESTED with rescheduleUid: a reschedule, read in full",
	    ENV("BOOKING_REQUESTED", UID ",\"rescheduleUid\":\"orig1\","
	    START "," END "," ORG "," ATT), "kind", "REQUESTED",
	    "reschedule_uid", "orig1", "full_booking", "true"),
	BAD("REQUESTED reschedule without startTime",
	    ENV("BOOKING_REQUESTED", UID ",\"rescheduleUid\":\"orig1\""),
	    P "startTime"),
	GOOD("REQUESTED with rescheduleUid null: only recorded",
	    ENV("BOOKING_REQUESTED", UID ",\"rescheduleUid\":null,"
	    "\"startTime\":5"), "kind", "OTHER", "reschedule_uid", NULL),
	GOOD("unknown trigger with payload a string",
	    "{\"triggerEvent\":\"SOMETHING_NEW\",\"payload\":\"x\"}",
	    "kind", "OTHER", "trigger", "SOMETHING_NEW", "uid", NULL),
	GOOD("unknown SOMETHING_NEW, uid a number", ENV("SOMETHING_NEW",
	    "\"uid\":17,\"title\":[1,2]"), "kind", "OTHER",
	    "trigger", "SOMETHING_NEW", "uid", NULL),
	GOOD("metadata uuids, no organizer or attendees", CREATED(UID ","
	    START "," END ",\"metadata\":{\"trainer_id\":\"" UUID1 "\","
	    "\"student_id\":\"" UUID2 "\"}"), "trainer_id", UUID1,
	    "student_id", UUID2, "organizer_email", NULL, "nattendees", "0",
	    "full_booking", "true"),
	GOOD("metadata uuids beside organizer and attendees", CREATED(BOOKING
	    ",\"metadata\":{\"trainer_id\":\"" UUID1 "\",\"student_id\":\""
	    UUID2 "\",\"other\":1}"), "trainer_id", UUID1, "student_id", UUID2,
	    "organizer_email", "t@ga.example", "attendees", "s@ga.example"),

	/* A seat of a group class: its own attendeeSeatId, the class's uid. */
	GOOD("a new seat: attendeeSeatId", CREATED(BOOKING
	    ",\"attendeeSeatId\":\"5bc9d4b6-d6b0-4f4d-8a8b-0c1e7b3d9a10\","
	    "\"seatsPerTimeSlot\":3"),
	    "attendee_seat_id", "5bc9d4b6-d6b0-4f4d-8a8b-0c1e7b3d9a10",
	    "attendees", "s@ga.example"),
	GOOD("no attendeeSeatId: none", CREATED(BOOKING),
	    "attendee_seat_id", NULL),
	BAD("attendeeSeatId not a string", CREATED(BOOKING
	    ",\"attendeeSeatId\":7"), P "attendeeSeatId must be"),

	/* Derived values. */
	GOOD("endTime-startTime wins over length", CREATED(BOOKING
	    ",\"length\":30"), "length", "30", "duration", "60"),
	GOOD("length used without endTime", CREATED(UID "," START "," ORG ","
	    ATT ",\"length\":45"), "end", NULL, "length", "45",
	    "duration", "45"),
	GOOD("no endTime, no length", CREATED(UID "," START "," ORG "," ATT),
	    "end", NULL, "duration", "0"),
	GOOD("additionalNotes preferred", CREATED(BOOKING ",\"responses\":"
	    "{\"notes\":{\"value\":\"R\"}},\"additionalNotes\":\"A\""),
	    "booker_notes", "A"),
	GOOD("responses.notes.value without additionalNotes", CREATED(BOOKING
	    ",\"responses\":{\"notes\":{\"label\":\"n\",\"value\":\"R\"}}"),
	    "booker_notes", "R"),
	GOOD("eventTitle preferred over eventType.title", CREATED(BOOKING
	    ",\"eventType\":{\"title\":\"T\"},\"eventTitle\":\"E\""),
	    "event_type", "E"),
	GOOD("offsets converted to UTC", CREATED(UID ",\"startTime\":"
	    "\"2026-02-05T07:00:00-03:00\",\"endTime\":"
	    "\"2026-02-05T15:45:00+05:30\"," ORG "," ATT),
	    "start", "2026-02-05T10:00:00.000Z",
	    "end", "2026-02-05T10:15:00.000Z", "duration", "15"),

	/*
	 * Location: each kind Cal.com sends (packages/app-store/locations.ts)
	 * becomes what a trainer or student can use.
	 */
	GOOD("Cal Video: the join link from metadata.videoCallUrl",
	    CREATED(BOOKING ",\"location\":\"integrations:daily\","
	    "\"videoCallData\":{\"type\":\"daily_video\",\"url\":"
	    "\"https://x.daily.co/room\"},\"metadata\":{\"videoCallUrl\":"
	    "\"https://app.cal.com/video/b1\"}"),
	    "location", "https://app.cal.com/video/b1"),
	GOOD("Google Meet: videoCallData.url without metadata",
	    CREATED(BOOKING ",\"location\":\"integrations:google:meet\","
	    "\"videoCallData\":{\"type\":\"google_video\",\"url\":"
	    "\"https://meet.google.com/abc-defg-hij\"},\"metadata\":{}"),
	    "location", "https://meet.google.com/abc-defg-hij"),
	GOOD("an empty metadata.videoCallUrl gives way to videoCallData.url",
	    CREATED(BOOKING ",\"location\":\"integrations:zoom\","
	    "\"videoCallData\":{\"url\":\"https://zoom.us/j/2\"},"
	    "\"metadata\":{\"videoCallUrl\":\"\"}"),
	    "location", "https://zoom.us/j/2"),
	GOOD("Zoom without a link: the app's name", CREATED(BOOKING
	    ",\"location\":\"integrations:zoom\",\"metadata\":{}"),
	    "location", "Zoom"),
	GOOD("Cal Video without a link", CREATED(BOOKING
	    ",\"location\":\"integrations:daily\""), "location", "Cal Video"),
	GOOD("Teams without a link", CREATED(BOOKING
	    ",\"location\":\"integrations:office365_video\""),
	    "location", "Microsoft Teams"),
	GOOD("Google Meet without a link", CREATED(BOOKING
	    ",\"location\":\"integrations:google:meet\""),
	    "location", "Google Meet"),
	GOOD("an app calsync does not know", CREATED(BOOKING
	    ",\"location\":\"integrations:new_app_video\""),
	    "location", "Online meeting"),
	GOOD("a javascript: meeting URL is not a link", CREATED(BOOKING
	    ",\"location\":\"integrations:daily\",\"metadata\":"
	    "{\"videoCallUrl\":\"javascript:alert(1)\"}"),
	    "location", "Cal Video"),
	GOOD("an ftp:// meeting URL is not a link", CREATED(BOOKING
	    ",\"location\":\"integrations:zoom\",\"videoCallData\":"
	    "{\"url\":\"ftp://zoom.example/1\"}"), "location", "Zoom"),
	{ "a meeting URL over 255 characters is not cut",
	  .body = CREATED_PRE(BOOKING ",\"location\":\"integrations:zoom\","
	    "\"metadata\":{\"videoCallUrl\":\"https://zoom.example/"),
	  .unit = "a", .n = 250, .suffix = "\"}}}",
	  .want = { "location", "Zoom" } },
	GOOD("link: an https URL as sent", CREATED(BOOKING
	    ",\"location\":\"https://meet.jit.si/ga-personal\""),
	    "location", "https://meet.jit.si/ga-personal"),
	GOOD("link: an http URL as sent", CREATED(BOOKING
	    ",\"location\":\"http://example.com/room?id=1\""),
	    "location", "http://example.com/room?id=1"),
	GOOD("link: javascript: is not stored", CREATED(BOOKING
	    ",\"location\":\"javascript:alert(document.cookie)\""),
	    "location", "Link meeting"),
	GOOD("link: ftp:// is not stored", CREATED(BOOKING
	    ",\"location\":\"ftp://files.example.com/a\""),
	    "location", "Link meeting"),
	GOOD("link: another scheme gives way to the meeting URL",
	    CREATED(BOOKING ",\"location\":\"zoommtg://zoom.us/join?c=1\","
	    "\"metadata\":{\"videoCallUrl\":\"https://zoom.us/j/1\"}"),
	    "location", "https://zoom.us/j/1"),
	{ "link: an https URL over 255 characters is not cut",
	  .body = LOC "https://example.com/", .unit = "a", .n = 250,
	  .suffix = "\"}}", .want = { "location", "Link meeting" } },
	GOOD("in person: an address as sent", CREATED(BOOKING
	    ",\"location\":\"Rua Augusta, 1500 - S\u00e3o Paulo\","
	    "\"metadata\":{\"videoCallUrl\":\"https://app.cal.com/video/b1\"}"),
	    "location", "Rua Augusta, 1500 - S\xc3\xa3o Paulo"),
	GOOD("phone: a number as sent", CREATED(BOOKING
	    ",\"location\":\"+55 11 91234-5678\""),
	    "location", "+55 11 91234-5678"),
	GOOD("attendeeInPerson without its address", CREATED(BOOKING
	    ",\"location\":\"attendeeInPerson\""),
	    "location", "In person (attendee address)"),
	GOOD("inPerson without its address", CREATED(BOOKING
	    ",\"location\":\"inPerson\""),
	    "location", "In person (organizer address)"),
	GOOD("phone without its number", CREATED(BOOKING
	    ",\"location\":\"phone\""),
	    "location", "Phone call (attendee phone number)"),
	GOOD("userPhone without its number", CREATED(BOOKING
	    ",\"location\":\"userPhone\""),
	    "location", "Phone call (organizer phone number)"),
	GOOD("link without its URL", CREATED(BOOKING
	    ",\"location\":\"link\""), "location", "Link meeting"),
	GOOD("somewhereElse without its value", CREATED(BOOKING
	    ",\"location\":\"somewhereElse\""),
	    "location", "Custom attendee location"),
	GOOD("conferencing: the organizer's app, its link when sent",
	    CREATED(BOOKING ",\"location\":\"conferencing\",\"metadata\":"
	    "{\"videoCallUrl\":\"https://meet.google.com/x\"}"),
	    "location", "https://meet.google.com/x"),
	GOOD("a meeting URL without a location is no location",
	    CREATED(BOOKING ",\"metadata\":{\"videoCallUrl\":"
	    "\"https://app.cal.com/video/b1\"}"), "location", NULL),
	BAD("metadata.videoCallUrl a number", CREATED(BOOKING
	    ",\"location\":\"integrations:daily\",\"metadata\":"
	    "{\"videoCallUrl\":5}"), P "metadata.videoCallUrl"),

	/* Notes: the guests and the reschedule reason. */
	GOOD("guests from responses.guests.value", CREATED(BOOKING
	    ",\"responses\":{\"guests\":{\"label\":\"g\",\"value\":"
	    "[\"a@x.example\",\"b@x.example\"]}}"),
	    "guests", "a@x.example b@x.example"),
	GOOD("no guests", CREATED(BOOKING ",\"responses\":{\"guests\":"
	    "{\"label\":\"g\",\"value\":[]}}"), "guests", NULL),
	BAD("a guest that is not an email", CREATED(BOOKING
	    ",\"responses\":{\"guests\":{\"value\":[\"nobody\"]}}"),
	    P "responses.guests.value"),
	BAD("guests not an array", CREATED(BOOKING
	    ",\"responses\":{\"guests\":{\"value\":\"a@x.example\"}}"),
	    P "responses.guests.value"),
	GOOD("reschedule reason from responses", ENV("BOOKING_RESCHEDULED",
	    BOOKING ",\"rescheduleUid\":\"b0\",\"rescheduleReason\":\"T\","
	    "\"responses\":{\"rescheduleReason\":{\"label\":\"r\","
	    "\"value\":\"Stuck in traffic\"}}"),
	    "reschedule_reason", "Stuck in traffic"),
	GOOD("reschedule reason at the top level", ENV("BOOKING_RESCHEDULED",
	    BOOKING ",\"rescheduleReason\":\"Stuck in traffic\","
	    "\"responses\":{\"rescheduleReason\":{\"label\":\"r\"}}"),
	    "reschedule_reason", "Stuck in traffic"),

	/* Location: 255 characters at most, cut between characters. */
	{ "location of 300 ASCII", .body = LOC, .unit = "a", .n = 300,
	  .suffix = "\"}}",
	  .want = { "location.bytes", "255", "location.chars", "255" } },
	{ "location of 300 c-cedilla", .body = LOC, .unit = "\xc3\xa7",
	  .n = 300, .suffix = "\"}}", .want = { "location.bytes", "510",
	    "location.chars", "255", "location.utf8", "valid" } },
	{ "emoji as 255th character kept whole", .body = LOC, .unit = "a",
	  .n = 254, .suffix = EMOJI "b\"}}",
	  .want = { "location.bytes", "258", "location.chars", "255",
	    "location.tail", "aaaa" EMOJI, "location.utf8", "valid" } },
	{ "emoji as 256th character left out", .body = LOC, .unit = "a",
	  .n = 255, .suffix = EMOJI "\"}}",
	  .want = { "location.bytes", "255", "location.tail", "aaaaaaaa" } },
	{ "location of 256 emoji", .body = LOC, .unit = EMOJI, .n = 256,
	  .suffix = "\"}}", .want = { "location.bytes", "1020",
	    "location.chars", "255", "location.utf8", "valid" } },
};

/* Well-formed UTF-8 (RFC 3629): no overlongs, surrogates or > U+10FFFF. */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t	 i, j, k;

	/* k: the continuation bytes s[i] announces; 9: it starts none. */
	for (i = 0; i < n; i += k + 1) {
		k = s[i] < 0x80 ? 0 : s[i] < 0xc2 ? 9 : s[i] < 0xe0 ? 1 :
		    s[i] < 0xf0 ? 2 : s[i] < 0xf5 ? 3 : 9;
		if (k == 9 || n - i <= k)
			return 0;
		for (j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		if ((s[i] == 0xe0 && s[i + 1] < 0xa0) ||
		    (s[i] == 0xed && s[i + 1] > 0x9f) ||
		    (s[i] == 0xf0 && s[i + 1] < 0x90) ||
		    (s[i] == 0xf4 && s[i + 1] > 0x8f))
			return 0;
	}
	return 1;
}

/* Characters in s: bytes that do not continue a UTF-8 sequence. */
static size_t
chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A member of d, or a value derived from it, as text; NULL: absent. */
static const char *
field(const struct delivery *d, const char *name, char *buf, size_t sz)
{
	static const char *const kinds[] = { "OTHER", "CREATED",
	    "RESCHEDULED", "REQUESTED", "CANCELLED", "NO_SHOW", "UPDATED" };
	const char	*loc = d->location;
	size_t		 i, n = strlen(loc);
	const char	*strs[] = { "trigger", d->trigger, "uid", d->uid,
	    "reschedule_uid", d->reschedule_uid, "title", d->title,
	    "event_type", d->event_type, "event_slug", d->event_slug,
	    "description", d->description, "booker_notes", d->booker_notes,
	    "reschedule_reason", d->reschedule_reason,
	    "cancellation_reason", d->cancellation_reason,
	    "organizer_email", d->organizer_email,
	    "trainer_id", d->trainer_id, "student_id", d->student_id,
	    "attendee_seat_id", d->attendee_seat_id,
	    "location", d->has_location ? loc : NULL,
	    "location.tail", n < 8 ? loc : loc + n - 8,
	    "location.utf8", utf8_valid((const unsigned char *)loc, n) ?
	    "valid" : "invalid",
	    "full_booking", d->full_booking ? "true" : "false",
	    "kind", (unsigned)d->kind < sizeof(kinds) / sizeof(kinds[0]) ?
	    kinds[d->kind] : "?" };
	const struct {
		const char	*name;
		long long	 v;
	} nums[] = { { "created_at", d->created_at }, { "start", d->start },
	    { "end", d->end }, { "length", d->length },
	    { "duration", d->duration }, { "nattendees", d->nattendees },
	    { "uid.bytes", d->uid != NULL ? strlen(d->uid) : 0 },
	    { "location.bytes", n }, { "location.chars", chars(loc) } };

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i += 2)
		if (strcmp(name, strs[i]) == 0)
			return strs[i + 1];
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(name, nums[i].name) != 0)
			continue;
		/* The first three are times, shown as in the log. */
		if (i < 3 && nums[i].v == TIME_NONE)
			return NULL;
		if (i < 3)
			timestamp_format_ms(nums[i].v, buf);
		else
			snprintf(buf, sz, "%lld", nums[i].v);
		return buf;
	}
	if (strcmp(name, "guests") == 0) {
		if (d->nguests == 0)
			return NULL;
		for (buf[0] = '\0', i = 0; i < d->nguests; i++)
			snprintf(buf + strlen(buf), sz - strlen(buf), "%s%s",
			    i > 0 ? " " : "", d->guests[i]);
		return buf;
	}
	if (strcmp(name, "attendees") != 0)
		return "(a field this test does not know)";
	if (d->nattendees == 0)
		return NULL;
	for (buf[0] = '\0', i = 0; i < d->nattendees; i++)
		snprintf(buf + strlen(buf), sz - strlen(buf), "%s%s",
		    i > 0 ? " " : "", d->attendees[i]);
	return buf;
}

/*
 * The body of case c in a buffer of exactly *len bytes, without a NUL, so
 * that a read past len shows under valgrind.  Files are read from
 * $top_srcdir/tests/data/calcom (make check exports top_srcdir).
 */
static char *
body_of(const struct pcase *c, size_t *len)
{
	const char	*top = getenv("top_srcdir");
	char		 path[4096], text[65536], *buf;
	FILE		*f;
	int		 i;

	if (c->file != NULL) {
		snprintf(path, sizeof(path), "%s/tests/data/calcom/%s",
		    top != NULL ? top : ".", c->file);
		if ((f = fopen(path, "rb")) == NULL)
			return NULL;
		text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
		fclose(f);
	} else {
		snprintf(text, sizeof(text), "%s", c->body);
		for (i = 0; i < c->n; i++)
			snprintf(text + strlen(text), sizeof(text) -
			    strlen(text), "%s%s", i > 0 && c->sep != NULL ?
			    c->sep : "", c->unit);
		for (i = 0; c->unit2 != NULL && i < c->n; i++)
			strcat(text, c->unit2);
		if (c->suffix != NULL)
			strcat(text, c->suffix);
	}
	*len = strlen(text);
	if ((buf = malloc(*len + (*len == 0))) != NULL)
		memcpy(buf, text, *len);
	return buf;
}

/* One parser for every case, as a worker parses every body with one. */
static void
parse_cases(struct parser *p)
{
	const struct pcase	*c;
	struct delivery		 d;
	char			 err[512], buf[1024], *body;
	const char		*got;
	size_t			 i, j, len;
	int			 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		if ((body = body_of(c, &len)) == NULL) {
			ok(0, "%s: read its body", c->name);
			continue;
		}
		err[0] = '\0';
		rc = payload_parse(p, body, len, &d, err, sizeof(err));
		if (c->err != NULL) {
			is_int(rc, -1, "%s: refused", c->name);
			ok(err[0] != '\0' && strstr(err, c->err) != NULL,
			    "%s: message names \"%s\" (%s)", c->name, c->err,
			    err);
			if (c->err2 != NULL)
				ok(strstr(err, c->err2) != NULL,
				    "%s: and \"%s\"", c->name, c->err2);
		} else {
			is_int(rc, 0, "%s: accepted%s%s", c->name,
			    rc == 0 ? "" : ": ", rc == 0 ? "" : err);
			for (j = 0; rc == 0 && c->want[j] != NULL; j += 2) {
				got = field(&d, c->want[j], buf, sizeof(buf));
				is_str(got, c->want[j + 1], "%s: %s", c->name,
				    c->want[j]);
			}
		}
		payload_free(&d);
		free(body);
	}
	/*
	 * Freed twice, as a caller may on its error path: the second call
	 * must do nothing.  No test point (re-reading what payload_free
	 * assigned cannot fail): a double free or a leaked tree fails the
	 * valgrind and ASan passes of tools/test, which run this program.
	 */
	payload_free(&d);
}

/*
 * Whatever the last body left in the parser (a body cut short leaves
 * json-c waiting for the rest), the next one is read from its start.
 */
static void
reuse_cases(struct parser *p)
{
	static const char *const before[] = {
		"{\"triggerEvent\":",		/* cut short */
		"{\"triggerEvent\":\"PING\",\"payload\":{\"a\":[{\"b\":",
		ENV("PING", "") "x",		/* trailing garbage */
		"\"",				/* an open string */
		"{\"triggerEvent\":\"\xc3",	/* cut inside UTF-8 */
		CREATED(BOOKING),		/* a good one */
	};
	static const char	 good[] = CREATED(BOOKING);
	struct delivery		 d;
	char			 err[512];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		payload_parse(p, before[i], strlen(before[i]), &d, err,
		    sizeof(err));
		payload_free(&d);
		err[0] = '\0';
		rc = payload_parse(p, good, sizeof(good) - 1, &d, err,
		    sizeof(err));
		is_int(rc, 0, "reuse %zu: the next body accepted%s%s", i,
		    rc == 0 ? "" : ": ", err);
		is_str(d.uid, "b1", "reuse %zu: and read from its start", i);
		payload_free(&d);
	}
	rc = payload_parse(p, before[0], strlen(before[0]), &d, err,
	    sizeof(err));
	is_int(rc, -1, "reuse: a body cut short is refused on a used parser");
	ok(strstr(err, "unexpected end") != NULL, "reuse: as ending early (%s)",
	    err);
	payload_free(&d);
}

static const struct {
	const char	*s;
	size_t		 len, max, want;
} cuts[] = {
	{ "abc", 3, 2, 2 }, { "abc", 3, 3, 3 }, { "abc", 3, 9, 3 },
	{ "abc", 3, 0, 0 }, { "", 0, 5, 0 },
	{ "abcdef", 3, 10, 3 },			/* len, not the NUL */
	{ "\xc3\xa7\xc3\xa7", 4, 1, 2 },	/* c-cedilla twice */
	{ "a\xc3\xa7", 3, 1, 1 }, { "a\xc3\xa7" "b", 4, 2, 3 },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, 2, 6 },	/* 3 x 3 */
	{ EMOJI "a", 5, 1, 4 }, { "a" EMOJI, 5, 1, 1 }, { "a" EMOJI, 5, 2, 5 },
	{ EMOJI EMOJI EMOJI, 12, 2, 8 },
};

static void
truncate_cases(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		is_int(utf8_truncate(cuts[i].s, cuts[i].len, cuts[i].max),
		    cuts[i].want, "utf8_truncate(case %zu, len %zu, max %zu)",
		    i, cuts[i].len, cuts[i].max);
}

/* Each answer must contain every has[] and none of hasnot[]. */
static const struct {
	enum outcome	 o;
	const char	*detail, *rid, *uid, *appt;
	const char	*has[6], *hasnot[4];
} answers[] = {
	{ OUTCOME_APPLIED, NULL, "req-1", "unique-booking-id",
	    "3f2b6e0a-5c1d-4e8f-9a7b-2c4d6e8f0a1b",
	  { "\"status\":\"applied\"", "\"uid\":\"unique-booking-id\"",
	    "\"appointment_id\":\"3f2b6e0a-5c1d-4e8f-9a7b-2c4d6e8f0a1b\"",
	    "\"request_id\":\"req-1\"" },
	  { "\"error\"", "\"detail\"", "\"outcome\"" } },
	{ OUTCOME_UNAUTHORIZED, "X-Cal-Signature-256 does not match the body",
	    "req-2", NULL, NULL,
	  { "\"error\":\"X-Cal-Signature-256 does not match the body\"",
	    "\"outcome\":\"unauthorized\"", "\"request_id\":\"req-2\"" },
	  { "\"status\"", "\"uid\"", "\"appointment_id\"" } },
	{ OUTCOME_UNAUTHORIZED, NULL, "req-3", NULL, NULL,
	  { "\"error\":\"invalid or missing X-Cal-Signature-256\"",
	    "\"outcome\":\"unauthorized\"" }, { NULL } },
	{ OUTCOME_BAD_REQUEST, "payload.uid must be \"b 1\"\nsee /docs",
	    "req-4", "b1", NULL,
	  { "\"error\":\"payload.uid must be \\\"b 1\\\"\\nsee /docs\"",
	    "\"outcome\":\"invalid\"", "\"uid\":\"b1\"" },
	  { "\n", "\\/" } },
	{ OUTCOME_IGNORED, NULL, "req-5", NULL, NULL,
	  { "\"status\":\"ignored\"", "\"detail\":\"received; calsync "
	    "takes no action on this trigger\"" }, { "\"error\"" } },
};

static void
answer_cases(void)
{
	char	*a;
	size_t	 i, j, n;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		a = payload_answer(answers[i].o, answers[i].detail,
		    answers[i].rid, answers[i].uid, answers[i].appt);
		ok(a != NULL, "answer %zu: made", i);
		if (a == NULL)
			continue;
		n = strlen(a);
		ok(n > 1 && a[0] == '{' && a[n - 1] == '}',
		    "answer %zu: one JSON object: %s", i, a);
		for (j = 0; j < 6 && answers[i].has[j] != NULL; j++)
			ok(strstr(a, answers[i].has[j]) != NULL,
			    "answer %zu: has %s", i, answers[i].has[j]);
		for (j = 0; j < 4 && answers[i].hasnot[j] != NULL; j++)
			ok(strstr(a, answers[i].hasnot[j]) == NULL,
			    "answer %zu: has no %s", i, answers[i].hasnot[j]);
		free(a);
	}
}

/* GET /v2/bookings pages: Cal.com's shape read, a bad one refused by name. */
#define API_BOOKING(start, extra) "{\"id\":1,\"uid\":\"u1\",\"title\":\"T\"," \
	"\"hosts\":[{\"id\":1,\"email\":\"guilherme@gapersonal.com\"}]," \
	"\"status\":\"cancelled\",\"start\":" start "," \
	"\"end\":\"2026-12-01T11:00:00.000Z\",\"duration\":60," \
	"\"eventType\":{\"id\":7,\"slug\":\"personal-training-session\"}," \
	"\"location\":\"Studio\",\"createdAt\":\"2026-11-30T10:00:00.000Z\"," \
	"\"updatedAt\":null,\"rescheduledToUid\":\"u2\"," \
	"\"attendees\":[{\"name\":\"Ana\",\"email\":\"ana@example.com\"," \
	"\"absent\":false}]" extra "}"
#define API_PAGE(b, more) "{\"status\":\"success\",\"data\":[" b "]," \
	"\"pagination\":{\"totalItems\":1,\"hasNextPage\":" more "}}"

static const struct {
	const char	*body;
	const char	*err;	/* NULL: read */
} pages[] = {
	{ API_PAGE(API_BOOKING("\"2026-12-01T10:00:00.000Z\"", ""), "true"),
	  NULL },
	{ API_PAGE(API_BOOKING("\"tomorrow\"", ""), "false"),
	  "data[0].start must be an ISO 8601 timestamp with a zone" },
	{ API_PAGE(API_BOOKING("\"2026-12-01T10:00:00.000Z\"",
	  ",\"status\":\"done\""), "false"), "data[0].status must be one of" },
	{ "{\"status\":\"success\",\"data\":[],\"pagination\":{}}",
	  "pagination.hasNextPage must be true or false" },
	{ "{\"status\":\"error\",\"error\":{\"code\":\"X\",\"message\":\"m\"}}",
	  "status must be \"success\"" },
	{ "{\"status\":\"success\",\"data\":[", "body is not valid JSON" },
	{ API_PAGE("{\"uid\":\"u1\"}", "false"), "data[0].status must be one of" },
};

static void
page_cases(struct parser *p)
{
	struct bookings_page	 pg;
	char			 err[256];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		err[0] = '\0';
		rc = payload_bookings(p, pages[i].body, strlen(pages[i].body),
		    &pg, err, sizeof(err));
		if (pages[i].err == NULL) {
			ok(rc == 0, "page %zu: read (%s)", i, err);
			if (rc == 0 && pg.n == 1) {
				const struct booking *b = &pg.list[0];

				is_str(b->d.uid, "u1", "page %zu: uid", i);
				is_int(b->status, BOOKING_CANCELLED,
				    "page %zu: status", i);
				is_int(b->d.duration, 60, "page %zu: duration", i);
				is_int(b->updated, TIME_NONE,
				    "page %zu: updatedAt null", i);
				is_str(b->rescheduled_to, "u2",
				    "page %zu: rescheduledToUid", i);
				is_str(b->d.organizer_email,
				    "guilherme@gapersonal.com",
				    "page %zu: hosts[0] is the organizer", i);
				is_str(b->d.event_slug, "personal-training-session",
				    "page %zu: eventType.slug", i);
				ok(pg.more, "page %zu: hasNextPage", i);
				ok(b->json != NULL && strstr(b->json,
				    "\"uid\":\"u1\"") != NULL,
				    "page %zu: the booking kept as sent", i);
			} else
				ok(0, "page %zu: one booking", i);
		} else
			ok(rc == -1 && strstr(err, pages[i].err) != NULL,
			    "page %zu: refused: %s", i, err);
		payload_free_page(&pg);
	}
	rc = payload_api_error(p, pages[4].body, strlen(pages[4].body), err,
	    sizeof(err));
	ok(rc == 0 && strcmp(err, "X: m") == 0, "Cal.com's error: %s", err);
}

int
main(void)
{
	struct parser	*p = payload_parser_new();

	ok(p != NULL, "payload_parser_new");
	if (p == NULL)
		return tap_done();
	parse_cases(p);
	reuse_cases(p);
	page_cases(p);
	/* As for payload_free: a crash here kills the run before its plan. */
	payload_parser_free(p);
	payload_parser_free(NULL);
	truncate_cases();
	answer_cases();
	return tap_done();
}
