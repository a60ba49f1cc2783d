-- tests/sql/engine.sql: the booking engine's rules, through what calsync
-- calls (calsync.apply_delivery) and the tables it writes (appointments,
-- the journal, bookings, changes), never through the functions behind it:
-- what each trigger does, events of one millisecond, a booking's events
-- in every order, stale, duplicate and pending deliveries, a reschedule
-- before its original, the trainer's edits, no-shows and seats.  Clocks
-- are fixed (createdAt in February 2027, sessions in March).  Uses
-- pg_temp.deliver and pg_temp.appt (rules.sql) and pg_temp.seat
-- (seats.sql); runs in sql.sh's one transaction, rolled back.

-- Every appointment the uid p_uid || p_tag names, by student: what the
-- booking made of them, with p_tag cut out of the notes' uids (one history
-- is played on several sets of uids, below).
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
	    WHERE b.uid = p_uid || p_tag)
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
    '2027-02-01 09:00+00')), 'applied',
    'a booking whose reschedule is accepted');
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
    WHERE d.trigger = 'PING'
    AND d.event_created_at = '2027-02-10 09:00+00' $$,
    $$ VALUES (NULL::text, 'ignored'::text) $$, '... journaled without a uid');

-- --- 2 and 3. A booking's events in every order.  Cal.com does not order
-- its deliveries: whatever the order, a booking must end as if they had
-- come in clock order; events of the same millisecond are ordered by their
-- trigger (CREATED < RESCHEDULED, REQUESTED < location and payment
-- updates < NO_SHOW_UPDATED < CANCELLED, REJECTED).  Each history below
-- is played in each order of its steps, each order on uids of its own
-- (the step's uid and reschedule_uid with the tag pg_temp.tag gives).
CREATE TEMP TABLE engine_history (
	history		text,
	step		integer,
	trigger		text NOT NULL,
	uid		text NOT NULL,
	reschedule_uid	text,
	at		timestamptz NOT NULL,
	body		jsonb NOT NULL DEFAULT '{}',	-- pg_temp.deliver's p_with
	PRIMARY KEY (history, step)
);

-- Every order of the steps 1 .. p_n.
CREATE FUNCTION pg_temp.orders(p_n integer) RETURNS SETOF integer[]
LANGUAGE sql AS $$
	WITH RECURSIVE o (steps) AS (SELECT '{}'::integer[]
	    UNION ALL
	    SELECT o.steps || i FROM o, generate_series(1, p_n) i
	    WHERE NOT i = ANY (o.steps))
	SELECT o.steps FROM o WHERE cardinality(o.steps) = p_n ORDER BY 1
$$;

CREATE FUNCTION pg_temp.tag(p_history text, p_steps integer[]) RETURNS text
LANGUAGE sql AS $$
	SELECT format('-%s-%s', p_history, array_to_string(p_steps, '.'))
$$;

-- Deliver a history's steps in this order; what it ended as: how many
-- appointments its uids name, and each of them (pg_temp.booking).
CREATE FUNCTION pg_temp.play(p_history text, p_steps integer[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_tag	text := pg_temp.tag(p_history, p_steps);
	h	record;
BEGIN
	FOR i IN 1 .. cardinality(p_steps) LOOP
		SELECT * INTO STRICT h FROM pg_temp.engine_history x
		WHERE x.history = p_history AND x.step = p_steps[i];
		PERFORM pg_temp.deliver(h.trigger, h.uid || v_tag, h.at,
		    p_reschedule_uid => h.reschedule_uid || v_tag,
		    p_with => h.body);
	END LOOP;
	RETURN concat((SELECT count(DISTINCT b.appointment_id)
	    FROM calsync.bookings b WHERE b.uid IN (SELECT x.uid || v_tag
	    FROM pg_temp.engine_history x WHERE x.history = p_history)),
	    ' appointments: ', (SELECT string_agg(a::text, '; ')
	    FROM pg_temp.booking((SELECT x.uid FROM pg_temp.engine_history x
	    WHERE x.history = p_history AND x.step = 1), v_tag) a));
END
$$;

-- Ties: two events of one millisecond (the .123 of createdAt).
INSERT INTO engine_history VALUES
    -- A cancel wins over a reschedule of its millisecond.
    ('tie-cancel', 1, 'BOOKING_CREATED', 'sql-m-a', NULL,
     '2027-02-01 09:00+00', '{}'),
    ('tie-cancel', 2, 'BOOKING_RESCHEDULED', 'sql-m-b', 'sql-m-a',
     '2027-02-02 09:00:00.123+00', '{"start_at": "2027-03-08 10:00"}'),
    ('tie-cancel', 3, 'BOOKING_CANCELLED', 'sql-m-b', NULL,
     '2027-02-02 09:00:00.123+00', '{"start_at": "2027-03-08 10:00"}'),
    -- A location update comes after the creation of its millisecond
    -- (which fills only what no other event set: so by that rule too).
    ('tie-place', 1, 'BOOKING_CREATED', 'sql-m-a', NULL,
     '2027-02-01 09:00:00.123+00', '{}'),
    ('tie-place', 2, 'BOOKING_LOCATION_UPDATED', 'sql-m-a', NULL,
     '2027-02-01 09:00:00.123+00', '{"location": "Park"}'),
    -- A no-show comes after the reschedule of its millisecond (which
    -- would undo it).
    ('tie-no-show', 1, 'BOOKING_CREATED', 'sql-m-a', NULL,
     '2027-02-01 09:00+00', '{}'),
    ('tie-no-show', 2, 'BOOKING_RESCHEDULED', 'sql-m-b', 'sql-m-a',
     '2027-02-02 09:00:00.123+00', '{"start_at": "2027-03-08 10:00"}'),
    ('tie-no-show', 3, 'BOOKING_NO_SHOW_UPDATED', 'sql-m-b', NULL,
     '2027-02-02 09:00:00.123+00',
     pg_temp.no_show('{ana@example.com}', '{true}')),
    -- A reject wins over the reschedule request of its millisecond.
    ('tie-request', 1, 'BOOKING_CREATED', 'sql-m-a', NULL,
     '2027-02-01 09:00+00', '{}'),
    ('tie-request', 2, 'BOOKING_REQUESTED', 'sql-m-b', 'sql-m-a',
     '2027-02-02 09:00:00.123+00', '{"start_at": "2027-03-05 08:00"}'),
    ('tie-request', 3, 'BOOKING_REJECTED', 'sql-m-b', NULL,
     '2027-02-02 09:00:00.123+00', '{"start_at": "2027-03-05 08:00",
     "cancellation_reason": "away that week"}');

-- Histories of a few events, each at its own millisecond.
INSERT INTO engine_history VALUES
    -- One uid: booked, moved to the park, rescheduled, cancelled (the
    -- cancel repeats the reschedule's reason, as Cal.com's responses do).
    ('one', 1, 'BOOKING_CREATED', 'sql-m-a', NULL, '2027-02-01 09:00+00', '{}'),
    ('one', 2, 'BOOKING_LOCATION_UPDATED', 'sql-m-a', NULL,
     '2027-02-02 09:00+00', '{"location": "Park"}'),
    ('one', 3, 'BOOKING_RESCHEDULED', 'sql-m-a', NULL, '2027-02-03 09:00+00',
     '{"location": "Park", "start_at": "2027-03-08 10:00",
     "reschedule_reason": "rain"}'),
    ('one', 4, 'BOOKING_CANCELLED', 'sql-m-a', NULL, '2027-02-04 09:00+00',
     '{"location": "Park", "start_at": "2027-03-08 10:00",
     "reschedule_reason": "rain"}'),
    -- Rescheduled to a new uid, which then moves and is cancelled.
    ('moved', 1, 'BOOKING_CREATED', 'sql-m-a', NULL, '2027-02-01 09:00+00',
     '{}'),
    ('moved', 2, 'BOOKING_RESCHEDULED', 'sql-m-b', 'sql-m-a',
     '2027-02-02 09:00+00', '{"start_at": "2027-03-08 10:00", "duration": 45,
     "reschedule_reason": "rain"}'),
    ('moved', 3, 'BOOKING_LOCATION_UPDATED', 'sql-m-b', NULL,
     '2027-02-03 09:00+00', '{"start_at": "2027-03-08 10:00", "duration": 45,
     "location": "Gym"}'),
    ('moved', 4, 'BOOKING_CANCELLED', 'sql-m-b', NULL, '2027-02-04 09:00+00',
     '{"start_at": "2027-03-08 10:00", "duration": 45, "location": "Gym",
     "cancellation_reason": null}'),
    -- Rescheduled twice (a -> b -> c), then moved: three uids, one
    -- appointment, whichever part comes first.
    ('chain', 1, 'BOOKING_CREATED', 'sql-m-a', NULL, '2027-02-01 09:00+00',
     '{}'),
    ('chain', 2, 'BOOKING_RESCHEDULED', 'sql-m-b', 'sql-m-a',
     '2027-02-02 09:00+00', '{"start_at": "2027-03-08 10:00"}'),
    ('chain', 3, 'BOOKING_RESCHEDULED', 'sql-m-c', 'sql-m-b',
     '2027-02-03 09:00+00', '{"start_at": "2027-03-15 10:00",
     "reschedule_reason": "travel"}'),
    ('chain', 4, 'BOOKING_LOCATION_UPDATED', 'sql-m-c', NULL,
     '2027-02-04 09:00+00', '{"start_at": "2027-03-15 10:00",
     "location": "Park"}'),
    -- Two students: a location update in the creation's millisecond, a
    -- no-show of each, one before the reschedule (which undoes it), one
    -- after.
    ('pair', 1, 'BOOKING_CREATED', 'sql-m-a', NULL,
     '2027-02-01 09:00:00.700+00',
     '{"attendee_emails": ["ana@example.com", "carla@example.com"]}'),
    ('pair', 2, 'BOOKING_LOCATION_UPDATED', 'sql-m-a', NULL,
     '2027-02-01 09:00:00.700+00', '{"location": "Park",
     "attendee_emails": ["ana@example.com", "carla@example.com"]}'),
    ('pair', 3, 'BOOKING_NO_SHOW_UPDATED', 'sql-m-a', NULL,
     '2027-02-02 09:00+00', pg_temp.no_show('{carla@example.com}', '{true}')),
    ('pair', 4, 'BOOKING_RESCHEDULED', 'sql-m-b', 'sql-m-a',
     '2027-02-03 09:00+00', '{"location": "Park",
     "start_at": "2027-03-08 10:00",
     "attendee_emails": ["ana@example.com", "carla@example.com"]}'),
    ('pair', 5, 'BOOKING_NO_SHOW_UPDATED', 'sql-m-b', NULL,
     '2027-02-04 09:00+00', pg_temp.no_show('{ana@example.com}', '{true}'));

CREATE TEMP TABLE engine_runs AS
SELECT h.history, o.steps, pg_temp.play(h.history, o.steps) AS result
FROM (SELECT x.history, count(*)::integer AS n FROM engine_history x
    GROUP BY x.history) h, pg_temp.orders(h.n) o (steps);

-- The orders of a history that did not end as its steps in clock order.
CREATE FUNCTION pg_temp.unlike_in_order(p_history text) RETURNS text[]
LANGUAGE sql AS $$
	SELECT ARRAY(SELECT r.steps::text FROM engine_runs r
	    WHERE r.history = p_history AND r.result IS DISTINCT FROM (
	        SELECT f.result FROM engine_runs f WHERE f.history = p_history
	        AND f.steps = (SELECT array_agg(x.step ORDER BY x.step)
	        FROM engine_history x WHERE x.history = p_history))
	    ORDER BY r.steps)
$$;

-- The tag of a history's uids played in clock order.
CREATE FUNCTION pg_temp.in_order(p_history text) RETURNS text
LANGUAGE sql AS $$
	SELECT pg_temp.tag(p_history, array_agg(x.step ORDER BY x.step))
	FROM engine_history x WHERE x.history = p_history
$$;

SELECT results_eq($$ SELECT history, count(*)::integer FROM engine_runs
    GROUP BY history ORDER BY history $$,
    $$ VALUES ('chain'::text, 24), ('moved', 24), ('one', 24), ('pair', 120),
    ('tie-cancel', 6), ('tie-no-show', 6), ('tie-place', 2),
    ('tie-request', 6) $$,
    'every order of every history played');

SELECT results_eq($$ SELECT * FROM pg_temp.booking('sql-m-a',
    pg_temp.in_order('tie-cancel')) $$,
    $$ VALUES ('ana@example.com'::text, 'guilherme@gapersonal.com'::text,
    '2027-03-08 10:00'::timestamp, 60, 'Studio'::varchar, 'cancelled'::varchar,
    'sick'::text, '2027-02-02 09:00'::timestamp, 'training'::varchar,
    E'cal.com:sql-m-a\ncal.com:sql-m-b\nPersonal Training Session') $$,
    'a reschedule and a cancel of one millisecond: cancelled, at the new time');
SELECT is(pg_temp.unlike_in_order('tie-cancel'), '{}',
    '... in either order (and the creation before, between or after)');
SELECT results_eq($$ SELECT * FROM pg_temp.booking('sql-m-a',
    pg_temp.in_order('tie-place')) $$,
    $$ VALUES ('ana@example.com'::text, 'guilherme@gapersonal.com'::text,
    '2027-03-01 10:00'::timestamp, 60, 'Park'::varchar, 'scheduled'::varchar,
    NULL::text, NULL::timestamp, 'training'::varchar,
    E'cal.com:sql-m-a\nPersonal Training Session') $$,
    'a creation and a location update of one millisecond: the new place');
SELECT is(pg_temp.unlike_in_order('tie-place'), '{}', '... in either order');
SELECT results_eq($$ SELECT b.scheduled_at, b.status FROM pg_temp.booking(
    'sql-m-a', pg_temp.in_order('tie-no-show')) b $$,
    $$ VALUES ('2027-03-08 10:00'::timestamp, 'no_show'::varchar) $$,
    'a reschedule and a no-show of one millisecond: no_show, at the new time');
SELECT is(pg_temp.unlike_in_order('tie-no-show'), '{}', '... in either order');
SELECT results_eq($$ SELECT b.scheduled_at, b.status, b.cancellation_reason,
    b.cancelled_at FROM pg_temp.booking('sql-m-a',
    pg_temp.in_order('tie-request')) b $$,
    $$ VALUES ('2027-03-05 08:00'::timestamp, 'cancelled'::varchar,
    'away that week'::text, '2027-02-02 09:00'::timestamp) $$,
    'a reschedule request and its reject of one millisecond: cancelled');
SELECT is(pg_temp.unlike_in_order('tie-request'), '{}', '... in either order');

SELECT results_eq($$ SELECT * FROM pg_temp.booking('sql-m-a',
    pg_temp.in_order('one')) $$,
    $$ VALUES ('ana@example.com'::text, 'guilherme@gapersonal.com'::text,
    '2027-03-08 10:00'::timestamp, 60, 'Park'::varchar, 'cancelled'::varchar,
    'sick'::text, '2027-02-04 09:00'::timestamp, 'training'::varchar,
    E'cal.com:sql-m-a\nPersonal Training Session\nReschedule reason: rain') $$,
    'one uid booked, moved, rescheduled, cancelled, in order: cancelled at '
    'the new time and place, the reason once');
SELECT is(pg_temp.unlike_in_order('one'), '{}',
    '... and so in each of the 24 orders');
SELECT results_eq($$ SELECT * FROM pg_temp.booking('sql-m-a',
    pg_temp.in_order('moved')) $$,
    $$ VALUES ('ana@example.com'::text, 'guilherme@gapersonal.com'::text,
    '2027-03-08 10:00'::timestamp, 45, 'Gym'::varchar, 'cancelled'::varchar,
    'Cancelled via Cal.com'::text, '2027-02-04 09:00'::timestamp,
    'training'::varchar, E'cal.com:sql-m-a\ncal.com:sql-m-b\n'
    'Personal Training Session\nReschedule reason: rain') $$,
    'rescheduled to a new uid, moved and cancelled there, in order: one '
    'appointment, cancelled at the new time and place');
SELECT is(pg_temp.unlike_in_order('moved'), '{}',
    '... and so in each of the 24 orders');
SELECT results_eq($$ SELECT * FROM pg_temp.booking('sql-m-a',
    pg_temp.in_order('chain')) $$,
    $$ VALUES ('ana@example.com'::text, 'guilherme@gapersonal.com'::text,
    '2027-03-15 10:00'::timestamp, 60, 'Park'::varchar, 'scheduled'::varchar,
    NULL::text, NULL::timestamp, 'training'::varchar,
    E'cal.com:sql-m-a\ncal.com:sql-m-b\ncal.com:sql-m-c\n'
    'Personal Training Session\nReschedule reason: travel') $$,
    'rescheduled twice, then moved, in order: one appointment, three uids');
SELECT is(pg_temp.unlike_in_order('chain'), '{}',
    '... and so in each of the 24 orders (one appointment in each)');
SELECT results_eq($$ SELECT b.student, b.scheduled_at, b.location, b.status,
    b.notes FROM pg_temp.booking('sql-m-a', pg_temp.in_order('pair')) b $$,
    $$ VALUES ('ana@example.com'::text, '2027-03-08 10:00'::timestamp,
    'Park'::varchar, 'no_show'::varchar,
    E'cal.com:sql-m-a\ncal.com:sql-m-b\nPersonal Training Session'),
    ('carla@example.com', '2027-03-08 10:00', 'Park', 'scheduled',
    E'cal.com:sql-m-a\ncal.com:sql-m-b\nPersonal Training Session') $$,
    'two students, in order: each at the new time and place; Ana a no-show, '
    'Carla''s no-show undone by the reschedule');
SELECT is(pg_temp.unlike_in_order('pair'), '{}',
    '... and so in each of the 120 orders');

-- --- 4. Stale, duplicate and pending deliveries.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-s',
    '2027-02-01 09:00+00')), 'applied', 'a booking');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_LOCATION_UPDATED',
    'sql-e-s', '2027-02-03 09:00+00', p_with => '{"location": "Park"}')),
    'applied', '... moved to the park');
SELECT results_eq($$ SELECT outcome, detail, appointment_id FROM
    pg_temp.deliver('BOOKING_LOCATION_UPDATED', 'sql-e-s',
    '2027-02-02 09:00+00', p_with => '{"location": "Gym"}') $$,
    $$ SELECT 'stale'::text, 'older than a change already applied to this '
    'booking'::text, (pg_temp.appt('sql-e-s')).id $$,
    'an older move, arriving after it: stale, saying why');
SELECT is((SELECT b.location FROM pg_temp.booking('sql-e-s') b), 'Park',
    '... the newer place stays');
SELECT is((SELECT count(*)::integer FROM calsync.events e
    WHERE e.uid = 'sql-e-s'), 3, '... the stale event is kept all the same');
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_LOCATION_UPDATED', 'sql-e-s', '2027-02-03 09:00+00',
    p_with => '{"location": "Park"}') $$,
    $$ VALUES ('duplicate'::text, 'nothing to change'::text) $$,
    'the same body again: duplicate');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-s',
    '2027-02-01 09:00+00')), 'duplicate',
    'the first body again: duplicate, not stale');
SELECT results_eq($$ SELECT d.event_id, count(*)::integer
    FROM calsync.deliveries d WHERE d.uid = 'sql-e-s'
    GROUP BY d.event_id ORDER BY min(d.id) $$,
    $$ SELECT e.id, CASE WHEN e.trigger = 'BOOKING_CREATED' OR e.location =
    'Park' THEN 2 ELSE 1 END FROM calsync.events e WHERE e.uid = 'sql-e-s'
    ORDER BY e.id $$,
    '... each journaled, the same body naming the same event');
SELECT results_eq($$ SELECT c.change, c.status FROM calsync.changes c
    WHERE c.appointment_id = (pg_temp.appt('sql-e-s')).id ORDER BY c.id $$,
    $$ VALUES ('created'::text, 'scheduled'::text), ('updated', 'scheduled') $$,
    '... and the application hears of the two that changed something');

SELECT results_eq($$ SELECT outcome, detail, appointment_id FROM
    pg_temp.deliver('BOOKING_LOCATION_UPDATED', 'sql-e-p',
    '2027-02-02 09:00+00', p_with => '{"location": "Park"}') $$,
    $$ VALUES ('pending'::text, 'booking not known yet; this change is kept '
    'and applied when it arrives'::text, NULL::uuid) $$,
    'a move of a booking not seen: pending, saying why');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED', 'sql-e-p',
    '2027-02-03 09:00+00')), 'pending', '... and its cancel: pending');
SELECT is((SELECT count(*)::integer FROM calsync.bookings b
    WHERE b.uid = 'sql-e-p'), 0, '... no appointment yet');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-p',
    '2027-02-01 09:00+00')), 'applied', 'the booking comes: applied');
SELECT results_eq($$ SELECT b.location, b.status, b.cancellation_reason,
    b.cancelled_at FROM pg_temp.booking('sql-e-p') b $$,
    $$ VALUES ('Park'::varchar, 'cancelled'::varchar, 'sick'::text,
    '2027-02-03 09:00'::timestamp) $$,
    '... with both pending changes folded in');
SELECT isnt((SELECT arrived FROM calsync.expire_pending('30 days')), 0::bigint,
    'expire_pending settles what arrived');
SELECT results_eq($$ SELECT d.trigger, d.outcome, d.detail, d.appointment_id
    FROM calsync.deliveries d WHERE d.uid = 'sql-e-p' ORDER BY d.id $$,
    $$ SELECT t, o, x, (pg_temp.appt('sql-e-p')).id FROM (VALUES
    (1, 'BOOKING_LOCATION_UPDATED'::text, 'applied'::text,
     'applied when its booking arrived'::text),
    (2, 'BOOKING_CANCELLED', 'applied', 'applied when its booking arrived'),
    (3, 'BOOKING_CREATED', 'applied', NULL)) v (n, t, o, x) ORDER BY n $$,
    '... the pending ones journaled applied, on the appointment');

-- --- 5. Linking: a reschedule before its original.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_RESCHEDULED',
    'sql-e-l2', '2027-02-02 09:00+00', p_start => '2027-03-08 10:00',
    p_reschedule_uid => 'sql-e-l1')), 'applied',
    'a reschedule before its original: applied');
SELECT is((SELECT row(count(*), min(b.scheduled_at))::text
    FROM pg_temp.booking('sql-e-l1') b),
    row(1, '2027-03-08 10:00'::timestamp)::text,
    '... the original''s uid names its appointment already');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-l1',
    '2027-02-01 09:00+00')), 'applied', 'the original comes: applied');
SELECT results_eq($$ SELECT b.uid, b.appointment_id FROM calsync.bookings b
    WHERE b.uid IN ('sql-e-l1', 'sql-e-l2') ORDER BY b.uid $$,
    $$ SELECT u, (SELECT d.appointment_id FROM calsync.deliveries d
    WHERE d.uid = 'sql-e-l2') FROM unnest('{sql-e-l1,sql-e-l2}'::text[]) u $$,
    '... both uids name the one appointment the reschedule made');
SELECT results_eq($$ SELECT b.scheduled_at, b.notes
    FROM pg_temp.booking('sql-e-l1') b $$,
    $$ VALUES ('2027-03-08 10:00'::timestamp,
    E'cal.com:sql-e-l1\ncal.com:sql-e-l2\nPersonal Training Session') $$,
    '... at the new time, both uids in its notes');

-- Rescheduled twice, the last part first: the original, which cannot know
-- it, makes a second appointment until the middle part links them.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_RESCHEDULED',
    'sql-e-c3', '2027-02-03 09:00+00', p_start => '2027-03-15 10:00',
    p_reschedule_uid => 'sql-e-c2')), 'applied', 'the second reschedule first');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-c1',
    '2027-02-01 09:00+00')), 'applied', '... then the original');
SELECT is((SELECT count(DISTINCT b.appointment_id)::integer
    FROM calsync.bookings b WHERE b.uid LIKE 'sql-e-c_'), 2,
    '... two appointments so far');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_RESCHEDULED',
    'sql-e-c2', '2027-02-02 09:00+00', p_start => '2027-03-08 10:00',
    p_reschedule_uid => 'sql-e-c1')), 'applied',
    '... then the first reschedule');
SELECT results_eq($$ SELECT count(DISTINCT b.appointment_id)::integer,
    count(*)::integer FROM calsync.bookings b WHERE b.uid LIKE 'sql-e-c_' $$,
    $$ VALUES (1, 3) $$, '... one appointment left, named by the three uids');
SELECT results_eq($$ SELECT b.scheduled_at, b.notes
    FROM pg_temp.booking('sql-e-c2') b $$,
    $$ VALUES ('2027-03-15 10:00'::timestamp, E'cal.com:sql-e-c1\n'
    'cal.com:sql-e-c2\ncal.com:sql-e-c3\nPersonal Training Session') $$,
    '... at the last time, the three uids in its notes');
SELECT results_eq($$ SELECT c.change, a.id IS NULL FROM calsync.changes c
    LEFT JOIN public.appointments a ON a.id = c.appointment_id
    WHERE c.uid LIKE 'sql-e-c_' AND c.change = 'deleted' $$,
    $$ VALUES ('deleted'::text, true) $$,
    '... the other one deleted, and the application told');
SELECT is((SELECT count(*)::integer FROM public.appointments a
    WHERE a.notes LIKE '%cal.com:sql-e-c%'), 1, '... no second one left');

-- --- 6. What the trainer edits in GA Personal stays until Cal.com
-- changes that field.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-k',
    '2027-02-01 09:00+00')), 'applied', 'a booking the trainer edits');
UPDATE public.appointments SET location = 'Gym', duration_minutes = 90,
    scheduled_at = '2027-03-01 11:00',
    notes = notes || E'\nTrainer: bring bands'
WHERE id = (pg_temp.appt('sql-e-k')).id;
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_PAID', 'sql-e-k',
    '2027-02-02 09:00+00')), 'duplicate',
    'a delivery with the booking as Cal.com has it: nothing to change');
SELECT results_eq($$ SELECT b.scheduled_at, b.duration_minutes, b.location,
    b.status, b.notes FROM pg_temp.booking('sql-e-k') b $$,
    $$ VALUES ('2027-03-01 11:00'::timestamp, 90, 'Gym'::varchar,
    'scheduled'::varchar,
    E'cal.com:sql-e-k\nPersonal Training Session\nTrainer: bring bands') $$,
    '... the trainer''s time, length, place and notes stay');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_NO_SHOW_UPDATED',
    'sql-e-k', '2027-02-03 09:00+00',
    p_with => pg_temp.no_show('{ana@example.com}', '{true}'))), 'applied',
    'a no-show: applied');
SELECT results_eq($$ SELECT b.scheduled_at, b.duration_minutes, b.location,
    b.status, b.notes FROM pg_temp.booking('sql-e-k') b $$,
    $$ VALUES ('2027-03-01 11:00'::timestamp, 90, 'Gym'::varchar,
    'no_show'::varchar,
    E'cal.com:sql-e-k\nPersonal Training Session\nTrainer: bring bands') $$,
    '... the status only: the trainer''s edits stay');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_LOCATION_UPDATED',
    'sql-e-k', '2027-02-04 09:00+00', p_with => '{"location": "Park"}')),
    'applied', 'Cal.com moves it to the park: applied');
SELECT results_eq($$ SELECT b.scheduled_at, b.duration_minutes, b.location,
    b.status, b.notes FROM pg_temp.booking('sql-e-k') b $$,
    $$ VALUES ('2027-03-01 11:00'::timestamp, 90, 'Park'::varchar,
    'no_show'::varchar,
    E'cal.com:sql-e-k\nPersonal Training Session\nTrainer: bring bands') $$,
    '... the place written over the trainer''s; time, length, notes stay');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_RESCHEDULED',
    'sql-e-k2', '2027-02-05 09:00+00', p_start => '2027-03-08 10:00',
    p_reschedule_uid => 'sql-e-k',
    p_with => '{"location": "Park", "reschedule_reason": "rain"}')),
    'applied', 'Cal.com reschedules it: applied');
SELECT results_eq($$ SELECT b.scheduled_at, b.duration_minutes, b.location,
    b.status, b.notes FROM pg_temp.booking('sql-e-k') b $$,
    $$ VALUES ('2027-03-08 10:00'::timestamp, 90, 'Park'::varchar,
    'scheduled'::varchar,
    E'cal.com:sql-e-k\nPersonal Training Session\nTrainer: bring bands\n'
    'cal.com:sql-e-k2\nReschedule reason: rain') $$,
    '... the new time written; the trainer''s length stays, the new uid and '
    'reason come after the trainer''s notes');
UPDATE public.appointments SET status = 'no_show'
WHERE id = (pg_temp.appt('sql-e-k')).id;
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_LOCATION_UPDATED',
    'sql-e-k2', '2027-02-06 09:00+00', p_start => '2027-03-08 10:00',
    p_with => '{"location": "Pool"}')), 'applied',
    'the trainer marks a no-show; Cal.com moves it to the pool: applied');
SELECT is((SELECT row(b.location, b.status)::text
    FROM pg_temp.booking('sql-e-k') b), row('Pool', 'no_show')::text,
    '... the trainer''s no-show stays');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED',
    'sql-e-k2', '2027-02-07 09:00+00', p_start => '2027-03-08 10:00',
    p_with => '{"location": "Pool"}')), 'applied', 'then cancelled: applied');
SELECT is((SELECT row(b.status, b.cancellation_reason)::text
    FROM pg_temp.booking('sql-e-k') b), row('cancelled', 'sick')::text,
    '... a status calsync writes: the cancel writes it');

-- A session the trainer marked held (rules.sql): the booking's other
-- appointments still change, and a status of the application's own is
-- held the same way.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-h',
    '2027-02-01 09:00+00',
    p_with => '{"attendee_emails": ["ana@example.com", "carla@example.com"]}')),
    'applied', 'a booking of two students');
UPDATE public.appointments SET status = 'completed'
WHERE id IN (SELECT b.appointment_id FROM calsync.bookings b
    WHERE b.uid = 'sql-e-h')
AND student_id = '22222222-2222-4222-8222-222222222222';
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_CANCELLED', 'sql-e-h', '2027-02-02 09:00+00',
    p_with => '{"attendee_emails": ["ana@example.com",
    "carla@example.com"]}') $$,
    $$ VALUES ('applied'::text, 'applied; the trainer marked the appointment '
    'completed in GA Personal: calsync leaves it as it is'::text) $$,
    'one session held, the booking cancelled: applied, saying what was left');
SELECT results_eq($$ SELECT b.student, b.status, b.cancellation_reason
    FROM pg_temp.booking('sql-e-h') b $$,
    $$ VALUES ('ana@example.com'::text, 'completed'::varchar, NULL::text),
    ('carla@example.com', 'cancelled', 'sick') $$,
    '... Ana''s completed, Carla''s cancelled');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-own',
    '2027-02-01 09:00+00')), 'applied', 'a booking');
UPDATE public.appointments SET status = 'confirmed'
WHERE id = (pg_temp.appt('sql-e-own')).id;
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_LOCATION_UPDATED', 'sql-e-own', '2027-02-02 09:00+00',
    p_with => '{"location": "Park"}') $$,
    $$ VALUES ('ignored'::text, 'the trainer marked the appointment '
    'confirmed in GA Personal: calsync leaves it as it is'::text) $$,
    'a status of the application''s own (confirmed): a move is ignored');
SELECT is((SELECT row(b.status, b.location)::text
    FROM pg_temp.booking('sql-e-own') b), row('confirmed', 'Studio')::text,
    '... the session as the trainer left it');

-- --- 7. No-shows by attendee, and seats of a class (seats.sql: more).
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-n',
    '2027-02-01 09:00+00',
    p_with => '{"attendee_emails": ["ana@example.com", "carla@example.com"]}')),
    'applied', 'a booking of two students');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_NO_SHOW_UPDATED',
    'sql-e-n', '2027-02-02 09:00+00',
    p_with => pg_temp.no_show('{Carla@Example.com}', '{true}'))), 'applied',
    'Carla a no-show: applied');
SELECT results_eq($$ SELECT b.student, b.status
    FROM pg_temp.booking('sql-e-n') b $$,
    $$ VALUES ('ana@example.com'::text, 'scheduled'::varchar),
    ('carla@example.com', 'no_show') $$, '... only Carla''s appointment');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_NO_SHOW_UPDATED',
    'sql-e-n', '2027-02-03 09:00+00',
    p_with => pg_temp.no_show('{carla@example.com}', '{false}'))), 'applied',
    'Carla came after all: applied');
SELECT results_eq($$ SELECT b.student, b.status
    FROM pg_temp.booking('sql-e-n') b $$,
    $$ VALUES ('ana@example.com'::text, 'scheduled'::varchar),
    ('carla@example.com', 'scheduled') $$, '... scheduled again');

SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-e',
    '2027-03-01 09:00+00', 'ana@example.com', 'seat-e-ana')), 'applied',
    'a class: Ana''s seat');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-e',
    '2027-03-01 09:01+00', 'bruno.lima@example.com', 'seat-e-bruno')),
    'applied', '... Bruno''s');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CANCELLED', 'sql-class-e',
    '2027-03-01 10:00+00', NULL, 'seat-e-bruno', 'knee')), 'applied',
    'a leave naming only the seat id: applied');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-e') $$,
    $$ VALUES ('ana@example.com|scheduled'),
    ('bruno.lima@example.com|cancelled|knee') $$, '... that seat left');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_NO_SHOW_UPDATED',
    'sql-class-e', '2027-03-02 09:00+00',
    p_with => pg_temp.no_show('{ana@example.com}', '{true}'))), 'applied',
    'Ana a no-show of the class: applied');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-e') $$,
    $$ VALUES ('ana@example.com|no_show'),
    ('bruno.lima@example.com|cancelled|knee') $$, '... only Ana');
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.seat(
    'BOOKING_CANCELLED', 'sql-class-e', '2027-03-01 12:00+00',
    'carla@example.com', NULL, 'bye') $$,
    $$ VALUES ('pending'::text, 'this seat of the class not known yet; its '
    'leaving is kept and applied when the seat arrives'::text) $$,
    'Carla leaves before her seat arrives: pending, saying why');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-e',
    '2027-03-01 11:00+00', 'carla@example.com', 'seat-e-carla')), 'applied',
    '... her seat comes: applied');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-e') $$,
    $$ VALUES ('ana@example.com|no_show'),
    ('bruno.lima@example.com|cancelled|knee'),
    ('carla@example.com|cancelled|bye') $$,
    '... made cancelled, with her reason');
SELECT is((SELECT a.cancelled_at FROM public.appointments a
    WHERE a.id IN (SELECT b.appointment_id FROM calsync.bookings b
    WHERE b.uid = 'sql-class-e')
    AND a.student_id = '44444444-4444-4444-8444-444444444444'),
    '2027-03-01 12:00'::timestamp, '... when she left');
SELECT is((SELECT arrived FROM calsync.expire_pending('30 days')), 1::bigint,
    'expire_pending: her leave arrived');
SELECT results_eq($$ SELECT d.outcome, d.detail FROM calsync.deliveries d
    WHERE d.uid = 'sql-class-e' AND d.detail LIKE 'applied when%' $$,
    $$ VALUES ('applied'::text, 'applied when its booking arrived'::text) $$,
    '... journaled applied');

-- --- A no-show unsaid (noShow null, or left out) leaves the attendee as
-- they were; times are Cal.com's, to the second, never rounded up.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-e-ns',
    '2027-02-01 09:00+00')), 'applied', 'a booking');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_NO_SHOW_UPDATED',
    'sql-e-ns', '2027-02-02 09:00+00',
    p_with => pg_temp.no_show('{ana@example.com}', '{true}'))), 'applied',
    '... Ana marked absent');
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_NO_SHOW_UPDATED', 'sql-e-ns', '2027-02-03 09:00+00',
    p_with => pg_temp.no_show('{ana@example.com}', '{NULL}')) $$,
    $$ VALUES ('duplicate'::text, 'nothing to change'::text) $$,
    '... a no-show update that does not say: nothing to change');
SELECT is((pg_temp.appt('sql-e-ns')).status, 'no_show',
    '... she stays marked absent');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED', 'sql-e-ns',
    '2027-02-04 09:00:00.700+00')), 'applied', '... cancelled at 09:00:00.700');
SELECT is((pg_temp.appt('sql-e-ns')).cancelled_at,
    '2027-02-04 09:00:00'::timestamp, '... cancelled_at 09:00:00, not 09:00:01');
