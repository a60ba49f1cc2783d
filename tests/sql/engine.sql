-- tests/sql/engine.sql: the booking engine's rules, through what calsync
-- calls (calsync.apply_delivery) and the tables it writes (appointments,
-- the journal, bookings, changes), never through the functions behind it:
-- what each trigger does, events of one millisecond, a booking's events
-- in every order, stale, duplicate and pending deliveries, a reschedule
-- before its original, the trainer's edits, no-shows and seats.  Clocks
-- are fixed (createdAt in February 2027, sessions in March).  Uses
-- pg_temp.deliver and pg_temp.appt (rules.sql) and pg_temp.seat
-- (seats.sql); runs in sql.sh's one transaction, rolled back.

-- Every appointment a uid names, by student: what the booking made of
-- them.  p_tag is cut out of the notes' uids (one history played on
-- several sets of uids, below).
CREATE FUNCTION pg_temp.booking(p_uid text, p_tag text DEFAULT '')
RETURNS TABLE (student text, trainer text, scheduled_at timestamp,
	duration_minutes integer, location varchar, status varchar,
	cancellation_reason text, cancelled_at timestamp,
	appointment_type varchar, notes text)
LANGUAGE sql AS $$
	SELECT lower(s.email), lower(t.email), a.scheduled_at,
	    a.duration_minutes, a.location, a.status, a.cancellation_reason,
	    a.cancelled_at, a.appointment_type, replace(a.notes, p_tag, '')
	FROM public.appointments a
	JOIN public.users s ON s.id = a.student_id
	JOIN public.users t ON t.id = a.trainer_id
	WHERE a.id IN (SELECT b.appointment_id FROM calsync.bookings b
	    WHERE b.uid = p_uid)
	ORDER BY 1
$$;

-- The fields of a BOOKING_NO_SHOW_UPDATED (pg_temp.deliver's p_with): it
-- names the attendees and their noShow, and carries no booking.
CREATE FUNCTION pg_temp.no_show(p_who text[], p_flags boolean[])
RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('attendee_emails', p_who, 'no_show', p_flags,
	    'organizer_email', NULL, 'start_at', NULL, 'duration', NULL,
	    'location', NULL, 'title', NULL, 'event_type', NULL,
	    'event_slug', NULL, 'full_booking', false)
$$;

-- The journal row of a booking's last delivery.
CREATE FUNCTION pg_temp.journal(p_uid text) RETURNS calsync.deliveries
LANGUAGE sql AS $$
	SELECT d.* FROM calsync.deliveries d WHERE d.uid = p_uid
	ORDER BY d.id DESC LIMIT 1
$$;

-- --- 1. Each trigger: its outcome, its detail, the fields it sets.
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_CREATED', 'sql-e-t', '2027-02-01 09:00+00',
    p_with => '{"booker_notes": " Bring water ", "guests": ["g@example.com"],
    "description": "The type''s text"}') $$,
    $$ VALUES ('applied'::text, NULL::text) $$,
    'BOOKING_CREATED: applied, no detail');
SELECT results_eq($$ SELECT * FROM pg_temp.booking('sql-e-t') $$,
    $$ VALUES ('ana@example.com'::text, 'guilherme@gapersonal.com'::text,
    '2027-03-01 10:00'::timestamp, 60, 'Studio'::varchar, 'scheduled'::varchar,
    NULL::text, NULL::timestamp, 'training'::varchar,
    E'cal.com:sql-e-t\nPersonal Training Session\nBring water\n'
    'Guests: g@example.com') $$,
    '... one appointment: trainer, student, time, length, place, type; '
    'notes: uid, title, the booker''s notes and guests, not the description');
SELECT results_eq($$ SELECT j.trigger, j.uid, j.event_created_at,
    j.event_id IS NOT NULL, j.appointment_id, j.request_id
    FROM pg_temp.journal('sql-e-t') j $$,
    $$ SELECT 'BOOKING_CREATED'::text, 'sql-e-t'::text,
    '2027-02-01 09:00+00'::timestamptz, true,
    (pg_temp.appt('sql-e-t')).id, 'sql.sh'::text $$,
    '... journaled with its event and its appointment');
SELECT results_eq($$ SELECT c.change, c.status, c.uid FROM calsync.changes c
    WHERE c.appointment_id = (pg_temp.appt('sql-e-t')).id ORDER BY c.id $$,
    $$ VALUES ('created'::text, 'scheduled'::text, 'sql-e-t'::text) $$,
    '... and a change for the application: created');

SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_LOCATION_UPDATED', 'sql-e-t', '2027-02-02 09:00+00',
    p_with => '{"location": "Park"}') $$,
    $$ VALUES ('applied'::text, NULL::text) $$,
    'BOOKING_LOCATION_UPDATED: applied');
SELECT is((SELECT row(b.location, b.scheduled_at, b.duration_minutes,
    b.status)::text FROM pg_temp.booking('sql-e-t') b),
    row('Park', '2027-03-01 10:00'::timestamp, 60, 'scheduled')::text,
    '... the new place, nothing else');

SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_PAID', 'sql-e-t', '2027-02-03 09:00+00',
    p_with => '{"location": "Park"}') $$,
    $$ VALUES ('duplicate'::text, 'nothing to change'::text) $$,
    'BOOKING_PAID with the booking as it is: nothing to change');
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_PAYMENT_INITIATED', 'sql-e-t', '2027-02-03 10:00+00',
    p_start => '2027-03-01 10:30', p_with => '{"location": "Pool"}') $$,
    $$ VALUES ('applied'::text, NULL::text) $$,
    'BOOKING_PAYMENT_INITIATED with another place and time: applied');
SELECT is((SELECT row(b.location, b.scheduled_at, b.status)::text
    FROM pg_temp.booking('sql-e-t') b),
    row('Pool', '2027-03-01 10:30'::timestamp, 'scheduled')::text,
    '... a payment update sets place and time as the location update does');

SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_NO_SHOW_UPDATED', 'sql-e-t', '2027-02-04 09:00+00',
    p_with => pg_temp.no_show('{Ana@Example.com}', '{true}')) $$,
    $$ VALUES ('applied'::text, NULL::text) $$,
    'BOOKING_NO_SHOW_UPDATED: applied (the email in another case)');
SELECT is((SELECT row(b.status, b.location, b.scheduled_at)::text
    FROM pg_temp.booking('sql-e-t') b),
    row('no_show', 'Pool', '2027-03-01 10:30'::timestamp)::text,
    '... status no_show; its empty booking fields change nothing');

SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_RESCHEDULED', 'sql-e-t2', '2027-02-05 09:00+00',
    p_start => '2027-03-08 10:00', p_reschedule_uid => 'sql-e-t',
    p_with => '{"location": "Pool", "duration": 45,
    "reschedule_reason": "rain"}') $$,
    $$ VALUES ('applied'::text, NULL::text) $$,
    'BOOKING_RESCHEDULED to a new uid: applied');
SELECT results_eq($$ SELECT * FROM pg_temp.booking('sql-e-t2') $$,
    $$ VALUES ('ana@example.com'::text, 'guilherme@gapersonal.com'::text,
    '2027-03-08 10:00'::timestamp, 45, 'Pool'::varchar, 'scheduled'::varchar,
    NULL::text, NULL::timestamp, 'training'::varchar,
    E'cal.com:sql-e-t\ncal.com:sql-e-t2\nPersonal Training Session\n'
    'Bring water\nGuests: g@example.com\nReschedule reason: rain') $$,
    '... the new time and length, scheduled again (the no-show undone), '
    'both uids and the reason in the notes');
SELECT is((pg_temp.appt('sql-e-t2')).id, (pg_temp.appt('sql-e-t')).id,
    '... the same appointment, named by both uids');

SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_CANCELLED', 'sql-e-t2', '2027-02-06 09:00+00',
    p_start => '2027-03-08 10:00') $$,
    $$ VALUES ('applied'::text, NULL::text) $$,
    'BOOKING_CANCELLED: applied');
SELECT is((SELECT row(b.status, b.cancellation_reason, b.cancelled_at,
    b.scheduled_at)::text FROM pg_temp.booking('sql-e-t2') b),
    row('cancelled', 'sick', '2027-02-06 09:00'::timestamp,
    '2027-03-08 10:00'::timestamp)::text,
    '... cancelled, the reason, at its createdAt; the time stays');
SELECT results_eq($$ SELECT c.change, c.status FROM calsync.changes c
    WHERE c.appointment_id = (pg_temp.appt('sql-e-t')).id ORDER BY c.id $$,
    $$ VALUES ('created'::text, 'scheduled'::text), ('updated', 'scheduled'),
    ('updated', 'scheduled'), ('updated', 'no_show'), ('updated', 'scheduled'),
    ('updated', 'cancelled') $$,
    '... a change for each delivery applied, none for the one that changed '
    'nothing');

SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED',
    'sql-e-blank', '2027-02-01 09:00+00')), 'applied', 'a booking to cancel');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED',
    'sql-e-blank', '2027-02-02 09:00+00',
    p_with => '{"cancellation_reason": ""}')), 'applied',
    'a cancel with an empty reason: applied');
SELECT is((SELECT b.cancellation_reason FROM pg_temp.booking('sql-e-blank') b),
    'Cancelled via Cal.com', '... the reason says where it came from');

-- A reschedule awaiting the trainer (BOOKING_REQUESTED with rescheduleUid),
-- then rejected: the session is cancelled at the time asked for.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-r',
    '2027-02-01 09:00+00')), 'applied', 'a booking whose reschedule is asked');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_REQUESTED',
    'sql-e-r2', '2027-02-02 09:00+00', p_start => '2027-03-05 08:00',
    p_reschedule_uid => 'sql-e-r')), 'applied', '... the request: applied');
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_REJECTED', 'sql-e-r2', '2027-02-03 09:00+00',
    p_start => '2027-03-05 08:00',
    p_with => '{"cancellation_reason": "away that week"}') $$,
    $$ VALUES ('applied'::text, NULL::text) $$,
    'BOOKING_REJECTED of the request: applied');
SELECT is((SELECT row(b.status, b.cancellation_reason, b.cancelled_at,
    b.scheduled_at)::text FROM pg_temp.booking('sql-e-r') b),
    row('cancelled', 'away that week', '2027-02-03 09:00'::timestamp,
    '2027-03-05 08:00'::timestamp)::text,
    '... cancelled with the trainer''s reason, at the time asked for');
-- ... or accepted: its BOOKING_CREATED changes nothing.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-a',
    '2027-02-01 09:00+00')), 'applied', 'a booking whose reschedule is accepted');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_REQUESTED',
    'sql-e-a2', '2027-02-02 09:00+00', p_start => '2027-03-05 08:00',
    p_reschedule_uid => 'sql-e-a')), 'applied', '... the request: applied');
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_CREATED', 'sql-e-a2', '2027-02-03 09:00+00',
    p_start => '2027-03-05 08:00') $$,
    $$ VALUES ('duplicate'::text, 'nothing to change'::text) $$,
    '... the accept''s BOOKING_CREATED: nothing to change');
SELECT is((SELECT row(count(*), min(b.status), min(b.scheduled_at))::text
    FROM pg_temp.booking('sql-e-a2') b),
    row(1, 'scheduled', '2027-03-05 08:00'::timestamp)::text,
    '... one appointment, scheduled at the new time');

-- A new booking awaiting confirmation: recorded; its appointment comes
-- with the BOOKING_CREATED of the confirmation.
SELECT results_eq($$ SELECT outcome, detail, appointment_id FROM
    pg_temp.deliver('BOOKING_REQUESTED', 'sql-e-q', '2027-02-01 09:00+00') $$,
    $$ VALUES ('ignored'::text, 'booking requested: its appointment is made '
    'when the trainer confirms it'::text, NULL::uuid) $$,
    'BOOKING_REQUESTED without rescheduleUid: ignored, saying why');
SELECT results_eq($$ SELECT j.trigger, j.outcome, j.event_id FROM
    pg_temp.journal('sql-e-q') j $$,
    $$ VALUES ('BOOKING_REQUESTED'::text, 'ignored'::text, NULL::bigint) $$,
    '... journaled, with no event');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-q',
    '2027-02-02 09:00+00')), 'applied', '... confirmed: applied');
SELECT is((SELECT count(*)::integer FROM pg_temp.booking('sql-e-q')), 1,
    '... one appointment');

-- Triggers calsync does not act on: journaled, nothing else.
CREATE TEMP TABLE engine_before AS SELECT * FROM pg_temp.booking('sql-e-t');
SELECT results_eq($$ SELECT outcome, detail, appointment_id FROM
    pg_temp.deliver('MEETING_ENDED', 'sql-e-t', '2027-02-10 09:00+00') $$,
    $$ VALUES ('ignored'::text, NULL::text, NULL::uuid) $$,
    'MEETING_ENDED of a known booking: ignored');
SELECT results_eq($$ SELECT j.trigger, j.outcome, j.event_id FROM
    pg_temp.journal('sql-e-t') j $$,
    $$ VALUES ('MEETING_ENDED'::text, 'ignored'::text, NULL::bigint) $$,
    '... journaled, with no event');
SELECT results_eq($$ SELECT * FROM pg_temp.booking('sql-e-t') $$,
    $$ SELECT * FROM engine_before $$, '... the appointment as it was');
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver('PING', NULL,
    '2027-02-10 09:00+00') $$,
    $$ VALUES ('ignored'::text, 'ping received'::text) $$,
    'PING: ignored, ping received');
SELECT results_eq($$ SELECT d.uid, d.outcome FROM calsync.deliveries d
    WHERE d.trigger = 'PING' $$,
    $$ VALUES (NULL::text, 'ignored'::text) $$, '... journaled without a uid');
