-- floor.sql: bench/run --floor puts this apply_delivery in place of
-- calsync's, on the bench's own throwaway database only.  It is the least
-- a receiver of this shape does for a BOOKING_CREATED: find the trainer and
-- the booker by their exact email, insert the appointment, journal the
-- body, in one transaction.  None of what keeps calsync correct is here:
-- no events, so no ordering of late or out-of-order deliveries; no
-- reschedule links, no duplicate detection, no case-insensitive email, no
-- guests, no change announcements.  What the stack does with it is the most
-- any receiver could do on this machine.
--
-- The signature is calsync's own, read from the database (bench/run sets
-- :signature): CREATE OR REPLACE with any other would add a second
-- function beside calsync's, and the bench would time calsync's.
CREATE OR REPLACE FUNCTION calsync.apply_delivery(:signature)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
	v_now	timestamp(0) := now() AT TIME ZONE 'UTC';
BEGIN
	INSERT INTO public.appointments (trainer_id, student_id, scheduled_at,
	    duration_minutes, status, location, notes, inserted_at, updated_at)
	VALUES ((SELECT u.id FROM public.users u
	        WHERE u.email = d.organizer_email AND u.role = 'trainer'),
	    (SELECT u.id FROM public.users u
	        WHERE u.email = d.attendee_emails[1] AND u.role = 'student'),
	    d.start_at, coalesce(d.duration, 60), 'scheduled', d.location,
	    'cal.com:' || d.uid, v_now, v_now)
	RETURNING id INTO appointment_id;
	outcome := 'applied';
	INSERT INTO calsync.deliveries (request_id, trigger, uid,
	    event_created_at, body_sha256, outcome, appointment_id, body)
	VALUES (d.request_id, d.trigger, d.uid, d.created_at, d.body_sha256,
	    outcome, apply_delivery.appointment_id, d.body);
END
$$;
