-- tests/sql/rules.sql: calsync.apply_delivery on GA Personal's tables: a
-- plain create and cancel, a session the trainer marked completed, and
-- users whose role is neither 'trainer' nor 'student'.  dev-seed.sql's
-- users; everything runs in sql.sh's one transaction, rolled back.

-- One delivery, as calsync's worker sends it (tests/sql.sh makes no HTTP
-- request: calsync's C side is the end-to-end tests' concern).  p_with
-- sets any other field of calsync.delivery, or replaces one set here
-- (JSON null for a field the body does not carry), e.g.
--     p_with => '{"location": "Park", "reschedule_reason": "rain"}'
CREATE FUNCTION pg_temp.deliver(p_trigger text, p_uid text, p_at timestamptz,
	p_organizer text DEFAULT 'guilherme@gapersonal.com',
	p_attendee text DEFAULT 'ana@example.com',
	p_start timestamp DEFAULT '2027-03-01 10:00',
	p_reschedule_uid text DEFAULT NULL,
	p_trainer uuid DEFAULT NULL, p_student uuid DEFAULT NULL,
	p_with jsonb DEFAULT '{}',
	OUT outcome text, OUT appointment_id uuid, OUT detail text)
LANGUAGE sql AS $$
	SELECT d.outcome, d.appointment_id, d.detail
	FROM calsync.apply_delivery(jsonb_populate_record(NULL::calsync.delivery,
	    jsonb_build_object('request_id', 'sql.sh', 'trigger', p_trigger,
	    'created_at', p_at, 'uid', p_uid, 'reschedule_uid', p_reschedule_uid,
	    'start_at', p_start, 'duration', 60,
	    'title', 'Personal Training Session',
	    'event_type', 'Personal Training Session',
	    'event_slug', 'personal-training-session', 'location', 'Studio',
	    'cancellation_reason', CASE WHEN p_trigger = 'BOOKING_CANCELLED'
	        THEN 'sick' END,
	    'organizer_email', p_organizer, 'attendee_emails', ARRAY[p_attendee],
	    'trainer_id', p_trainer, 'student_id', p_student, 'full_booking', true,
	    'body_sha256', sha256(convert_to(concat_ws('|', p_trigger, p_uid, p_at,
	        p_organizer, p_attendee, p_start, p_reschedule_uid, p_trainer,
	        p_student, nullif(p_with, '{}')), 'UTF8')),
	    'body', convert_to(format('{"triggerEvent":"%s","payload":{"uid":"%s"}}',
	        p_trigger, p_uid), 'UTF8')) || p_with)) d
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

-- --- A session the trainer marked completed is a record: a late cancel
-- or a reschedule from Cal.com leaves it as it is, and is journaled.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-done',
    '2027-02-01 09:00+00')), 'applied', 'completed: the booking is made');
UPDATE public.appointments SET status = 'completed'
WHERE id = (pg_temp.appt('sql-done')).id;
SELECT results_eq($$ SELECT outcome, detail FROM pg_temp.deliver(
    'BOOKING_CANCELLED', 'sql-done', '2027-03-02 09:00+00') $$,
    $$ VALUES ('ignored'::text, 'the trainer marked the appointment '
        'completed in GA Personal: calsync leaves it as it is'::text) $$,
    'a late cancel of a completed session: ignored, and says why');
SELECT is((SELECT row(a.status, a.cancellation_reason, a.cancelled_at)::text
    FROM pg_temp.appt('sql-done') a), row('completed', NULL, NULL)::text,
    'a late cancel leaves the completed session as the trainer marked it');
SELECT is((SELECT string_agg(d.outcome, ',' ORDER BY d.id)
    FROM calsync.deliveries d WHERE d.uid = 'sql-done'), 'applied,ignored',
    'the late cancel is journaled');
SELECT is((SELECT count(*)::integer FROM calsync.changes c
    WHERE c.appointment_id = (pg_temp.appt('sql-done')).id), 1,
    'the application hears of no change but the creation');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED', 'sql-done',
    '2027-03-02 09:00+00')), 'duplicate',
    'the same late cancel again: duplicate');

SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-held',
    '2027-02-01 09:00+00', p_attendee => 'carla@example.com')), 'applied',
    'completed, then rescheduled: the booking is made');
UPDATE public.appointments SET status = 'completed'
WHERE id = (pg_temp.appt('sql-held')).id;
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_RESCHEDULED',
    'sql-held-2', '2027-03-02 09:00+00', p_attendee => 'carla@example.com',
    p_start => '2027-03-08 10:00', p_reschedule_uid => 'sql-held')),
    'ignored', 'a reschedule of a completed session: ignored');
SELECT is((SELECT row(a.status, a.scheduled_at)::text
    FROM pg_temp.appt('sql-held') a),
    row('completed', '2027-03-01 10:00'::timestamp)::text,
    'a reschedule does not move a completed session');
SELECT is((SELECT count(*)::integer FROM public.appointments a
    WHERE a.student_id = '44444444-4444-4444-8444-444444444444'), 1,
    'nor makes a second appointment');
-- The trainer reopens it (a mistake): Cal.com's word counts again.
UPDATE public.appointments SET status = 'scheduled'
WHERE id = (pg_temp.appt('sql-held')).id;
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_LOCATION_UPDATED',
    'sql-held-2', '2027-03-03 09:00+00', p_attendee => 'carla@example.com',
    p_start => '2027-03-08 10:00')), 'applied',
    'reopened by the trainer: the next delivery applies the booking');
SELECT is((SELECT row(a.status, a.scheduled_at)::text
    FROM pg_temp.appt('sql-held') a),
    row('scheduled', '2027-03-08 10:00'::timestamp)::text,
    '... at its rescheduled time');

-- An appointment the Phoenix handler made (a cal.com:<uid> line, no event
-- of calsync's), completed: the other UPDATE of calsync.settle.
INSERT INTO public.appointments (trainer_id, student_id, scheduled_at, status,
    notes, inserted_at, updated_at)
VALUES ('11111111-1111-4111-8111-111111111111',
    '33333333-3333-4333-8333-333333333333', '2027-01-10 10:00', 'completed',
    'cal.com:sql-phoenix', now(), now());
INSERT INTO calsync.bookings (uid, appointment_id)
SELECT 'sql-phoenix', a.id FROM public.appointments a
WHERE a.notes = 'cal.com:sql-phoenix';
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED',
    'sql-phoenix', '2027-03-02 09:00+00',
    p_attendee => 'bruno.lima@example.com')), 'ignored',
    'the Phoenix handler''s completed session: a cancel is ignored');
SELECT is((SELECT row(a.status, a.cancelled_at)::text
    FROM pg_temp.appt('sql-phoenix') a), row('completed', NULL)::text,
    '... and the session stays completed');

-- --- Roles match exactly: 'trainer' and 'student'.  Anyone else is not
-- one; the delivery is unmatched, says why, and is replayed once the
-- application gives the user the role.
INSERT INTO public.users (id, email, password_hash, role, full_name,
    inserted_at, updated_at)
VALUES ('77777777-7777-4777-8777-777777777777', 'coach@example.com',
    '!test:no-password', 'coach', 'A Coach', now(), now()),
    ('88888888-8888-4888-8888-888888888888', 'capital@example.com',
    '!test:no-password', 'Trainer', 'A Capital', now(), now()),
    ('99999999-9999-4999-8999-999999999999', 'pupil@example.com',
    '!test:no-password', 'Student', 'A Pupil', now(), now());
SELECT results_eq($$ SELECT outcome, detail, appointment_id
    FROM pg_temp.deliver('BOOKING_CREATED', 'sql-coach', '2027-02-01 09:00+00',
    p_organizer => 'coach@example.com') $$,
    $$ VALUES ('unmatched'::text, 'the organizer''s email is a GA Personal '
        'user whose role is ''coach'', not ''trainer'''::text, NULL::uuid) $$,
    'organizer with role coach: unmatched, and says which role');
SELECT is((SELECT detail FROM pg_temp.deliver('BOOKING_CREATED', 'sql-capital',
    '2027-02-01 09:00+00', p_organizer => 'Capital@Example.com')),
    'the organizer''s email is a GA Personal user whose role is '
    '''Trainer'', not ''trainer''',
    'role Trainer (another case) is not trainer');
SELECT is((SELECT detail FROM pg_temp.deliver('BOOKING_CREATED', 'sql-admin-t',
    '2027-02-01 09:00+00',
    p_trainer => '55555555-5555-4555-8555-555555555555')),
    'metadata.trainer_id is a GA Personal user whose role is ''admin'', '
    'not ''trainer''', 'metadata.trainer_id of an admin: not a trainer');
SELECT is((SELECT detail FROM pg_temp.deliver('BOOKING_CREATED', 'sql-admin-s',
    '2027-02-01 09:00+00', p_attendee => 'admin@gapersonal.com')),
    'no attendee is a student in GA Personal: an attendee''s email is a '
    'user whose role is ''admin'', not ''student''',
    'an admin attendee is not a student');
SELECT is((SELECT detail FROM pg_temp.deliver('BOOKING_CREATED', 'sql-pupil',
    '2027-02-01 09:00+00',
    p_student => '99999999-9999-4999-8999-999999999999')),
    'metadata.student_id is a GA Personal user whose role is ''Student'', '
    'not ''student''', 'metadata.student_id with role Student: not a student');
SELECT is((SELECT detail FROM pg_temp.deliver('BOOKING_CREATED', 'sql-nobody',
    '2027-02-01 09:00+00', p_organizer => 'nobody@example.com')),
    'no trainer in GA Personal has the organizer''s email',
    'no user at all: the reason is unchanged');
SELECT is((SELECT count(*)::integer FROM calsync.bookings b
    WHERE b.uid LIKE 'sql-coach' OR b.uid LIKE 'sql-capital'
    OR b.uid LIKE 'sql-admin-%' OR b.uid LIKE 'sql-pupil'), 0,
    'none of them made an appointment');
UPDATE public.users SET role = 'trainer'
WHERE id = '77777777-7777-4777-8777-777777777777';
SELECT results_eq($$ SELECT r.outcome, r.detail FROM calsync.replay((
    SELECT d.id FROM calsync.deliveries d WHERE d.uid = 'sql-coach')) r $$,
    $$ VALUES ('applied'::text, 'replayed'::text) $$,
    'the coach made a trainer: the delivery replays');
SELECT is((SELECT a.trainer_id FROM pg_temp.appt('sql-coach') a),
    '77777777-7777-4777-8777-777777777777'::uuid,
    '... the appointment is the new trainer''s');

-- --- BOOKING_REQUESTED: a new booking awaiting confirmation is only
-- recorded; one with a rescheduleUid (a reschedule the trainer must
-- confirm) moves the original's session at once.
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_REQUESTED',
    'sql-request', '2027-02-01 09:00+00')), 'ignored',
    'a request that is no reschedule: ignored');
SELECT is((SELECT count(*)::integer FROM calsync.events e
    WHERE e.uid = 'sql-request'), 0, '... and no event kept');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED', 'sql-orig',
    '2027-02-01 09:00+00')), 'applied', 'a booking to reschedule');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_REQUESTED', 'sql-moved',
    '2027-02-02 09:00+00', p_start => '2027-03-05 08:00',
    p_reschedule_uid => 'sql-orig')), 'applied',
    'a reschedule awaiting confirmation: applied');
SELECT is((SELECT row(a.scheduled_at, a.status)::text
    FROM pg_temp.appt('sql-moved') a),
    row('2027-03-05 08:00'::timestamp, 'scheduled')::text,
    '... the session is at the new time, and the new uid names it');
SELECT is((pg_temp.appt('sql-moved')).id, (pg_temp.appt('sql-orig')).id,
    '... the same appointment as the original''s');
SELECT is(ARRAY(SELECT t FROM unnest(ARRAY['BOOKING_CREATED',
    'BOOKING_RESCHEDULED', 'BOOKING_REQUESTED', 'BOOKING_CANCELLED',
    'BOOKING_REJECTED', 'BOOKING_NO_SHOW_UPDATED', 'BOOKING_LOCATION_UPDATED',
    'BOOKING_PAID', 'BOOKING_PAYMENT_INITIATED', 'PING', 'MEETING_ENDED',
    'SOMETHING_NEW']) t WHERE calsync.trigger_rank(t) IS NOT NULL),
    ARRAY['BOOKING_CREATED', 'BOOKING_RESCHEDULED', 'BOOKING_REQUESTED',
    'BOOKING_CANCELLED', 'BOOKING_REJECTED', 'BOOKING_NO_SHOW_UPDATED',
    'BOOKING_LOCATION_UPDATED', 'BOOKING_PAID', 'BOOKING_PAYMENT_INITIATED'],
    'trigger_rank: the triggers src/payload.c reads, and no other');

-- --- Notes calsync writes over the trainer's (calsync.merge_notes: now,
-- last written, new).
SELECT is(calsync.merge_notes(E'cal.com:a\nT', E'cal.com:a\nT',
    E'cal.com:a\ncal.com:b\nT\nReschedule reason: r'),
    E'cal.com:a\ncal.com:b\nT\nReschedule reason: r',
    'notes not edited: calsync''s new notes');
SELECT is(calsync.merge_notes(E'cal.com:a\nT\nTrainer: x', E'cal.com:a\nT',
    E'cal.com:a\ncal.com:b\nT\nReschedule reason: r'),
    E'cal.com:a\nT\nTrainer: x\ncal.com:b\nReschedule reason: r',
    'notes the trainer edited: kept, the new lines after them');
SELECT is(calsync.merge_notes('Trainer only', E'cal.com:a\nT',
    E'cal.com:a\nT\nReschedule reason: r'),
    E'Trainer only\nReschedule reason: r',
    '... also when the trainer replaced them: the lines calsync had are not put back');
SELECT is(calsync.merge_notes(E'cal.com:a\nReschedule reason: r', E'cal.com:a',
    E'cal.com:a\nReschedule reason: r'), E'cal.com:a\nReschedule reason: r',
    '... a line the trainer already has is not added twice');
SELECT is(calsync.merge_notes(E'cal.com:a\nTrainer: x', E'cal.com:a',
    E'cal.com:a'), E'cal.com:a\nTrainer: x',
    '... nothing new: the trainer''s notes as they are');
SELECT is(calsync.merge_notes(NULL, E'cal.com:a', E'cal.com:a\ncal.com:b'),
    'cal.com:b', '... notes the trainer emptied: only the new lines');

-- --- appointment_type: calsync.event_types maps the event type's title,
-- else its slug, in any case; neither mapped, NULL.  Set when the
-- appointment is made, never again.
SELECT is((SELECT (pg_temp.appt('sql-type-title')).appointment_type
    FROM pg_temp.deliver('BOOKING_CREATED', 'sql-type-title',
    '2027-02-01 09:00+00', p_with => '{"event_type": "TRIAL Session",
    "event_slug": "physical-assessment"}')), 'trial',
    'appointment_type: the title''s, in any case, before the slug''s');
SELECT is((SELECT (pg_temp.appt('sql-type-slug')).appointment_type
    FROM pg_temp.deliver('BOOKING_CREATED', 'sql-type-slug',
    '2027-02-01 09:00+00', p_with => '{"event_type": "Avaliação",
    "event_slug": "Physical-Assessment"}')), 'assessment',
    'appointment_type: the slug''s when the title is not mapped');
SELECT is((SELECT row(o.outcome, (pg_temp.appt('sql-type-none')).appointment_type)::text
    FROM pg_temp.deliver('BOOKING_CREATED', 'sql-type-none',
    '2027-02-01 09:00+00', p_with => '{"event_type": "Yoga",
    "event_slug": "yoga"}') o), row('applied', NULL)::text,
    'appointment_type: neither mapped, NULL');
SELECT is((SELECT row(o.outcome, (pg_temp.appt('sql-type-title')).appointment_type)::text
    FROM pg_temp.deliver('BOOKING_RESCHEDULED', 'sql-type-title2',
    '2027-02-02 09:00+00', p_reschedule_uid => 'sql-type-title',
    p_with => '{"event_type": "Physical Assessment"}') o),
    row('applied', 'trial')::text,
    'appointment_type: a reschedule to another type leaves it as made');
