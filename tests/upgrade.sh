#!/bin/bash
# tests/upgrade.sh: a database at schema version 2, with data, upgraded in
# place by today's sql/calsync.sql.  The stack's database is made again at
# version 2 (tests/data/schema-2.sql, that version's calsync.sql), given
# bookings through version 2's own apply_delivery (created, rescheduled,
# cancelled, unmatched), then upgraded: the data stays, the migrations
# since version 2 run once, and today's calsync works on the old bookings.
# A second run of calsync.sql changes nothing.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
trap stack_stop EXIT
t_require_stack
stack_start 1 >&2 || t_bail "the stack did not start (see above)"
CTL=$top_builddir/src/calsyncctl

ctl()
{
	CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" "$@"
}

# load FILE: a file of SQL into the stack's database, as the admin does.
load()
{
	stack_psql -f "$1" >>"$STACK_DIR/upgrade-sql.log" 2>&1
}

# old_apply FILE: FILE's body through version 2's apply_delivery, its
# fields read from the body as that version's calsync read them; prints
# the outcome.
old_apply()
{
	stack_psql -v body="$(cat "$1")" <<-'EOF'
	SELECT d.outcome FROM (SELECT b::jsonb AS j, convert_to(b, 'UTF8') AS raw
	    FROM (SELECT :'body'::text AS b) x) s,
	LATERAL (SELECT s.j -> 'payload' AS p) q,
	LATERAL calsync.apply_delivery('upgrade-test', s.j ->> 'triggerEvent',
	    (s.j ->> 'createdAt')::timestamptz, p ->> 'uid',
	    p ->> 'rescheduleUid',
	    (p ->> 'startTime')::timestamptz AT TIME ZONE 'UTC',
	    (extract(epoch FROM (p ->> 'endTime')::timestamptz -
	        (p ->> 'startTime')::timestamptz) / 60)::integer,
	    p ->> 'title', p ->> 'eventTitle', p ->> 'type',
	    nullif(p ->> 'description', ''), nullif(p ->> 'additionalNotes', ''),
	    p ->> 'location', nullif(p ->> 'cancellationReason', ''),
	    p -> 'organizer' ->> 'email',
	    ARRAY(SELECT a ->> 'email' FROM jsonb_array_elements(p -> 'attendees') a),
	    NULL, NULL, NULL, true, sha256(s.raw), s.raw) d
	EOF
}

# counts: the rows of each of calsync's tables, and the appointments.
counts()
{
	sql "SELECT (SELECT count(*) FROM public.appointments) || ' appointments, ' ||
	    (SELECT count(*) FROM calsync.bookings) || ' bookings, ' ||
	    (SELECT count(*) FROM calsync.events) || ' events, ' ||
	    (SELECT count(*) FROM calsync.settled) || ' settled, ' ||
	    (SELECT count(*) FROM calsync.deliveries) || ' deliveries, ' ||
	    (SELECT count(*) FROM calsync.changes) || ' changes, ' ||
	    (SELECT count(*) FROM calsync.event_types) || ' event types'"
}

versions()	# versions [MAX]: each version recorded (to MAX), and when
{
	sql "SELECT string_agg(version || '@' || installed_at, ',' ORDER BY version)
	    FROM calsync.schema_version WHERE version <= ${1:-2147483647}"
}

appointment()	# appointment UID COLUMNS
{
	sql "SELECT $2 FROM public.appointments WHERE id IN
	    (SELECT appointment_id FROM calsync.bookings WHERE uid = '$1')"
}

outcome()	# outcome UID TRIGGER: the journal's last outcome of that delivery
{
	sql "SELECT outcome FROM calsync.deliveries WHERE uid = '$1'
	    AND trigger = '$2' ORDER BY id DESC LIMIT 1"
}

has_column()	# has_column TABLE COLUMN
{
	[ "$(sql "SELECT count(*) FROM pg_catalog.pg_attribute
	    WHERE attrelid = 'calsync.$1'::regclass AND attname = '$2'
	    AND NOT attisdropped")" = 1 ]
}

# --- the database at schema version 2: calsync away while it is made again
stack_stop_calsync
if ! stack_psql -d postgres -c 'DROP DATABASE ga_personal WITH (FORCE)' ||
    ! stack_psql -d postgres -c 'CREATE DATABASE ga_personal'; then
	t_bail "could not make the database again"
fi
for f in "$top_srcdir/sql/ga_personal.sql" "$top_srcdir/tests/data/schema-2.sql" \
    "$top_srcdir/sql/dev-seed.sql"; do
	load "$f" || { sed 's/^/# /' "$STACK_DIR/upgrade-sql.log"; t_bail "loading $f failed"; }
done
t_is "the fixture is at schema version 2" \
    "$(sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM calsync.schema_version")" "1,2"
t_not "... and has no seats yet (calsync.events.seat)" has_column events seat

# Fixed times, well in the future, so no booking falls into the past.
a=$(new_uid) b=$(new_uid) b2=$(new_uid) c=$(new_uid) u=$(new_uid)
t_is "v2: a booking created" "$(old_apply "$(body created UID="$a" \
    CREATED_AT=2027-01-10T09:00:00.000Z START=2027-03-01T10:00:00Z \
    END=2027-03-01T11:00:00Z)")" applied
t_is "v2: another created ..." "$(old_apply "$(body created UID="$b" \
    STUDENT=bruno.lima@example.com CREATED_AT=2027-01-10T09:01:00.000Z \
    START=2027-03-02T10:00:00Z END=2027-03-02T11:00:00Z)")" applied
t_is "v2: ... and rescheduled (a second uid)" "$(old_apply "$(body rescheduled \
    UID="$b2" ORIG="$b" STUDENT=bruno.lima@example.com \
    CREATED_AT=2027-01-11T09:00:00.000Z START=2027-03-09T10:00:00Z \
    END=2027-03-09T11:00:00Z)")" applied
t_is "v2: a third created ..." "$(old_apply "$(body created UID="$c" \
    STUDENT=carla@example.com CREATED_AT=2027-01-10T09:02:00.000Z \
    START=2027-03-03T10:00:00Z END=2027-03-03T11:00:00Z)")" applied
t_is "v2: ... and cancelled" "$(old_apply "$(body cancelled UID="$c" \
    STUDENT=carla@example.com CREATED_AT=2027-01-12T09:00:00.000Z \
    REASON='Travelling')")" applied
f=$(body created UID="$u" STUDENT=dora@example.com \
    CREATED_AT=2027-01-10T09:03:00.000Z START=2027-03-04T10:00:00Z \
    END=2027-03-04T11:00:00Z)
sed -i 's/additional-guest@example.com/nobody@example.com/g' "$f"
t_is "v2: a booking of a student not registered: unmatched" "$(old_apply "$f")" unmatched
before=$(counts)
t_is "v2: the rows made" "$before" \
    "3 appointments, 4 bookings, 6 events, 3 settled, 6 deliveries, 5 changes, 6 event types"
v2_versions=$(versions)
b_appointment=$(appointment "$b" id)

# --- the upgrade
load "$top_srcdir/sql/calsync.sql"
rc=$?
t_is "today's calsync.sql loads on the database at version 2" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' "$STACK_DIR/upgrade-sql.log"
t_is "schema_version: 1 to 7" \
    "$(sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM calsync.schema_version")" \
    "1,2,3,4,5,6,7"
t_is "version 7: the journal's event_id checked against no foreign key" \
    "$(sql "SELECT count(*) FROM pg_catalog.pg_constraint
        WHERE conrelid = 'calsync.deliveries'::regclass AND contype = 'f'")" 0
t_is "versions 1 and 2 kept as they were recorded" "$(versions 2)" "$v2_versions"
t_is "every row kept" "$(counts)" "$before"
t_is "the booking created under v2: as it was" \
    "$(appointment "$a" "status, scheduled_at, duration_minutes, location")" \
    "scheduled|2027-03-01 10:00:00|60|GA Personal Studio"
t_is "the rescheduled one: one appointment, at its new time" \
    "$(appointment "$b2" "count(*), min(scheduled_at)")" "1|2027-03-09 10:00:00"
t_is "the cancelled one: cancelled, with its reason" \
    "$(appointment "$c" "status, cancellation_reason")" "cancelled|Travelling"
t_is "what calsync wrote (settled) kept" \
    "$(sql "SELECT status || '|' || scheduled_at FROM calsync.settled
        WHERE appointment_id = '$b_appointment'")" "scheduled|2027-03-09 10:00:00"
t_is "the unmatched delivery kept, with its body" \
    "$(sql "SELECT outcome || '|' || (convert_from(body, 'UTF8')::jsonb -> 'payload' ->> 'uid')
        FROM calsync.deliveries WHERE uid = '$u'")" "unmatched|$u"
for col in guests reschedule_reason attendee_seat_id seat series recurring; do
	t_ok "calsync.events.$col exists" has_column events "$col"
done
t_is "the indexes of versions 3 and 5" \
    "$(sql "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_catalog.pg_indexes
        WHERE schemaname = 'calsync' AND indexname IN ('deliveries_pending_index',
        'events_series_index')")" "deliveries_pending_index,events_series_index"
t_is "delivery bodies compressed with lz4 from now on" \
    "$(sql "SELECT attcompression FROM pg_catalog.pg_attribute
        WHERE attrelid = 'calsync.deliveries'::regclass AND attname = 'body'")" l
t_is "the events of v2 have their seat: their first attendee" \
    "$(sql "SELECT string_agg(DISTINCT seat, ',' ORDER BY seat) FROM calsync.events
        WHERE seat IS NOT DISTINCT FROM lower(attendee_emails[1])")" \
    "ana@example.com,bruno.lima@example.com,carla@example.com,dora@example.com"
t_is "... every one of them" \
    "$(sql "SELECT count(*) FROM calsync.events WHERE seat IS NULL")" 0

# --- run again: nothing changes
upgraded=$(versions)
load "$top_srcdir/sql/calsync.sql"
t_is "calsync.sql a second time: no error" "$?" 0
t_is "... no migration run again (schema_version as it was)" "$(versions)" "$upgraded"
t_is "... every row as many" "$(counts)" "$before"

# --- today's calsync on the old data
stack_restart_calsync 1 >&2 || t_bail "calsync did not start on the upgraded database"
out=$(ctl check 2>&1)
t_is "calsyncctl check on the upgraded database: exit 0" "$?" 0
t_like "... at version 7" "$out" "schema version 7$"
post "$(body cancelled UID="$a" CREATED_AT=2027-01-13T09:00:00.000Z REASON='Ill')"
t_is "a cancel of the booking created under v2: 200" "$STATUS" 200
t_is "... applied" "$(outcome "$a" BOOKING_CANCELLED)" applied
t_is "... the appointment cancelled" \
    "$(appointment "$a" "count(*), min(status), min(cancellation_reason)")" "1|cancelled|Ill"
b3=$(new_uid)
post "$(body rescheduled UID="$b3" ORIG="$b2" STUDENT=bruno.lima@example.com \
    CREATED_AT=2027-01-14T09:00:00.000Z START=2027-03-16T10:00:00Z \
    END=2027-03-16T11:00:00Z)"
t_is "a reschedule of the one rescheduled under v2: 200" "$STATUS" 200
t_is "... applied" "$(outcome "$b3" BOOKING_RESCHEDULED)" applied
t_is "... the same appointment moved" \
    "$(appointment "$b3" "string_agg(id::text, ','), min(scheduled_at)")" \
    "$b_appointment|2027-03-16 10:00:00"
t_is "... no second appointment" \
    "$(sql "SELECT count(DISTINCT appointment_id) FROM calsync.bookings
        WHERE uid IN ('$b', '$b2', '$b3')")" 1
sql "INSERT INTO public.users (id, email, password_hash, role, full_name,
    inserted_at, updated_at)
    VALUES ('66666666-6666-4666-8666-666666666666', 'dora@example.com',
    '!test:no-password', 'student', 'Dora Reis', now(), now())" >/dev/null
id=$(sql "SELECT id FROM calsync.deliveries WHERE uid = '$u'")
out=$(ctl replay "$id")
t_like "calsyncctl replay of the delivery unmatched under v2: applied" "$out" "^$id +applied"
t_is "... its appointment made, for the student registered since" \
    "$(appointment "$u" "student_id, scheduled_at")" \
    "66666666-6666-4666-8666-666666666666|2027-03-04 10:00:00"
t_is "4 appointments in all" "$(sql "SELECT count(*) FROM public.appointments")" 4
t_done
