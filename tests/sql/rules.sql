-- tests/sql/rules.sql: calsync.apply_delivery on GA Personal's tables: a
-- plain create and cancel, a session the trainer marked completed, and
-- users whose role is neither 'trainer' nor 'student'.  dev-seed.sql's
-- users; everything runs in sql.sh's one transaction, rolled back.

-- One delivery, as calsync's worker sends it (tests/sql.sh makes no HTTP
-- request: calsync's C side is the end-to-end tests' concern).
CREATE FUNCTION pg_temp.deliver(p_trigger text, p_uid text, p_at timestamptz,
	p_organizer text DEFAULT 'guilherme@gapersonal.com',
	p_attendee text DEFAULT 'ana@example.com',
	p_start timestamp DEFAULT '2027-03-01 10:00',
	p_reschedule_uid text DEFAULT NULL,
	p_trainer uuid DEFAULT NULL, p_student uuid DEFAULT NULL,
	OUT outcome text, OUT appointment_id uuid, OUT detail text)
LANGUAGE sql AS $$
	SELECT d.outcome, d.appointment_id, d.detail
	FROM calsync.apply_delivery('sql.sh', p_trigger, p_at, p_uid,
	    p_reschedule_uid, p_start, 60, 'Personal Training Session',
	    'Personal Training Session', 'personal-training-session', NULL, NULL,
	    'Studio', CASE WHEN p_trigger = 'BOOKING_CANCELLED' THEN 'sick' END,
	    p_organizer, ARRAY[p_attendee], NULL, p_trainer, p_student, true,
	    sha256(convert_to(concat_ws('|', p_trigger, p_uid, p_at, p_organizer,
	        p_attendee, p_start, p_reschedule_uid, p_trainer, p_student),
	        'UTF8')),
	    convert_to(format('{"triggerEvent":"%s","payload":{"uid":"%s"}}',
	        p_trigger, p_uid), 'UTF8')) d
$$;

-- The appointment a booking uid names.
CREATE FUNCTION pg_temp.appt(p_uid text) RETURNS public.appointments
LANGUAGE sql AS $$
	SELECT a.* FROM public.appointments a
	WHERE a.id = (SELECT b.appointment_id FROM calsync.bookings b
	    WHERE b.uid = p_uid LIMIT 1)
$$;

-- --- A plain create, then cancel.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-plain',
    '2027-02-01 09:00+00')), 'applied', 'created: applied');
SELECT is((SELECT row(a.trainer_id, a.student_id, a.scheduled_at, a.status)::text
    FROM pg_temp.appt('sql-plain') a),
    row('11111111-1111-4111-8111-111111111111'::uuid,
        '22222222-2222-4222-8222-222222222222'::uuid,
        '2027-03-01 10:00'::timestamp, 'scheduled')::text,
    'created: the trainer''s appointment with the student, scheduled');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED', 'sql-plain',
    '2027-02-02 09:00+00')), 'applied', 'cancelled: applied');
SELECT is((SELECT row(a.status, a.cancellation_reason, a.cancelled_at)::text
    FROM pg_temp.appt('sql-plain') a),
    row('cancelled', 'sick', '2027-02-02 09:00'::timestamp)::text,
    'cancelled: status, reason, when');
