-- tests/sql/seats.sql: group classes (seated event types) in the booking
-- engine: seats with and without attendeeSeatId, who leaves, coming back
-- on a new seat, a reject, a leave whose seat never comes (expire_pending).
-- dev-seed.sql's users; everything runs in sql.sh's one transaction.

-- One delivery of a class (uid sql-class-*), as calsync's worker sends it:
-- p_who is the one person the body names, p_seat its attendeeSeatId.
CREATE FUNCTION pg_temp.seat(p_trigger text, p_uid text, p_at timestamptz,
	p_who text, p_seat text DEFAULT NULL, p_reason text DEFAULT NULL,
	OUT outcome text, OUT appointment_id uuid, OUT detail text)
LANGUAGE sql AS $$
	SELECT d.outcome, d.appointment_id, d.detail
	FROM calsync.apply_delivery(jsonb_populate_record(NULL::calsync.delivery,
	    jsonb_build_object('request_id', 'sql.sh', 'trigger', p_trigger,
	    'created_at', p_at, 'uid', p_uid, 'start_at', '2027-04-01 18:00',
	    'duration', 60, 'title', 'Group class', 'event_type', 'Group class',
	    'event_slug', 'group-class', 'location', 'Studio',
	    'cancellation_reason', p_reason,
	    'organizer_email', 'guilherme@gapersonal.com',
	    'attendee_emails', CASE WHEN p_who IS NOT NULL THEN ARRAY[p_who] END,
	    'full_booking', true,
	    'body_sha256', sha256(convert_to(concat_ws('|', p_trigger, p_uid, p_at,
	        p_who, p_seat, p_reason), 'UTF8')),
	    'body', convert_to(format('{"triggerEvent":"%s","payload":{"uid":"%s"}}',
	        p_trigger, p_uid), 'UTF8'),
	    'attendee_seat_id', p_seat))) d
$$;

-- The class's appointments: email|status|reason, by email.
CREATE FUNCTION pg_temp.class(p_uid text) RETURNS SETOF text
LANGUAGE sql AS $$
	SELECT concat_ws('|', lower(u.email), a.status, a.cancellation_reason)
	FROM public.appointments a JOIN public.users u ON u.id = a.student_id
	WHERE a.id IN (SELECT b.appointment_id FROM calsync.bookings b
	    WHERE b.uid = p_uid) ORDER BY 1
$$;

-- --- seats with attendeeSeatId
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-1',
    '2027-03-01 09:00+00', 'ana@example.com', 'seat-ana')), 'applied',
    'first seat: applied');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-1',
    '2027-03-01 09:01+00', 'bruno.lima@example.com', 'seat-bruno')), 'applied',
    'second seat, the same uid: applied, not a duplicate');
SELECT results_eq($$ SELECT seat, attendee_seat_id FROM calsync.events
    WHERE uid = 'sql-class-1' ORDER BY id $$,
    $$ VALUES ('seat-ana'::text, 'seat-ana'::text), ('seat-bruno', 'seat-bruno') $$,
    'each seat written down');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CANCELLED', 'sql-class-1',
    '2027-03-01 10:00+00', 'Bruno.Lima@Example.com', NULL, 'knee')), 'applied',
    'Bruno leaves: applied');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-1') $$,
    $$ VALUES ('ana@example.com|scheduled'), ('bruno.lima@example.com|cancelled|knee') $$,
    'only Bruno cancelled, with his reason');
SELECT is((SELECT seat FROM calsync.events WHERE uid = 'sql-class-1'
    AND trigger = 'BOOKING_CANCELLED'), 'bruno.lima@example.com',
    'a leave without seat id: the seat is the email, in lower case');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-1',
    '2027-03-01 09:01+00', 'bruno.lima@example.com', 'seat-bruno')), 'duplicate',
    'his seat sent again: duplicate');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-1',
    '2027-03-01 11:00+00', 'bruno.lima@example.com', 'seat-bruno-2')), 'applied',
    'he books the class again: a new seat, applied');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-1') $$,
    $$ VALUES ('ana@example.com|scheduled'), ('bruno.lima@example.com|scheduled') $$,
    '... his appointment scheduled again, no second one');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_REJECTED', 'sql-class-1',
    '2027-03-01 12:00+00', 'ana@example.com', NULL, 'no room')), 'applied',
    'a reject of the class: applied');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-1') $$,
    $$ VALUES ('ana@example.com|cancelled|no room'), ('bruno.lima@example.com|cancelled|no room') $$,
    '... cancels every seat');

-- --- a Cal.com that sends no attendeeSeatId: two people created on one uid
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-2',
    '2027-03-02 09:00+00', 'ana@example.com')), 'applied', 'no seat ids: first');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-2',
    '2027-03-02 09:01+00', 'carla@example.com')), 'applied', 'no seat ids: second');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CANCELLED', 'sql-class-2',
    '2027-03-02 10:00+00', 'ana@example.com', NULL, 'sick')), 'applied',
    'no seat ids: the first leaves');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-2') $$,
    $$ VALUES ('ana@example.com|cancelled|sick'), ('carla@example.com|scheduled') $$,
    'no seat ids: a class all the same, only the first cancelled');

-- --- a plain booking stays one: its cancel cancels it, whoever it names
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-3',
    '2027-03-03 09:00+00', 'ana@example.com')), 'applied', 'a plain booking');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CANCELLED', 'sql-class-3',
    '2027-03-03 10:00+00', 'carla@example.com', NULL, 'host')), 'applied',
    'its cancel naming someone else');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-3') $$,
    $$ VALUES ('ana@example.com|cancelled|host') $$,
    'a plain booking: cancelled whole');

-- --- a leave whose seat never comes: pending, then expired
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CREATED', 'sql-class-4',
    '2027-03-04 09:00+00', 'ana@example.com', 'seat-a4')), 'applied', 'a class');
SELECT is((SELECT outcome FROM pg_temp.seat('BOOKING_CANCELLED', 'sql-class-4',
    '2027-03-04 10:00+00', 'carla@example.com', NULL, 'bye')), 'pending',
    'a leave whose seat has not come: pending');
SELECT results_eq($$ SELECT * FROM pg_temp.class('sql-class-4') $$,
    $$ VALUES ('ana@example.com|scheduled') $$, '... nobody else cancelled');
UPDATE calsync.deliveries SET received_at = received_at - interval '31 days'
WHERE uid = 'sql-class-4';
SELECT is((SELECT expired FROM calsync.expire_pending('30 days')), 1::bigint,
    'expire_pending: the leave of a seat that never came, not arrived');
SELECT is((SELECT detail FROM calsync.deliveries WHERE uid = 'sql-class-4'
    AND outcome = 'expired'), 'its seat of the class never arrived within 30 '
    'days: nothing to apply it to (kept; applied if it still comes)',
    '... expired, saying why');
