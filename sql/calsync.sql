-- calsync.sql: calsync's own objects, all in the schema "calsync", and the
-- least-privilege role "calsync".  Idempotent: safe to run twice, and on
-- the live GA Personal database (it never alters the application's tables).
-- Run it as the owner of the GA Personal tables (or a superuser):
--     psql -v ON_ERROR_STOP=1 -f calsync.sql "$ADMIN_DATABASE_URL"
\set ON_ERROR_STOP on
SET client_min_messages = warning;
BEGIN;
-- Two runs at once would race on CREATE ... IF NOT EXISTS.
SELECT pg_catalog.pg_advisory_xact_lock(7710585);

CREATE SCHEMA IF NOT EXISTS calsync;

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
	    WHERE rolname = 'calsync') THEN
		CREATE ROLE calsync NOLOGIN;
	END IF;
END
$$;

CREATE TABLE IF NOT EXISTS calsync.schema_version (
	version		integer PRIMARY KEY,
	installed_at	timestamptz NOT NULL DEFAULT now()
);
INSERT INTO calsync.schema_version (version) VALUES (1) ON CONFLICT DO NOTHING;

-- Cal.com event type (title or slug, any case) -> appointments.appointment_type.
-- The operator edits this table; unmapped event types leave the column NULL.
CREATE TABLE IF NOT EXISTS calsync.event_types (
	name		text PRIMARY KEY,
	appointment_type varchar(255) NOT NULL
);
INSERT INTO calsync.event_types (name, appointment_type) VALUES
	('personal training session', 'training'),
	('personal-training-session', 'training'),
	('physical assessment', 'assessment'),
	('physical-assessment', 'assessment'),
	('trial session', 'trial'),
	('trial-session', 'trial')
ON CONFLICT DO NOTHING;

-- A Cal.com booking uid -> the appointment it became.  A reschedule adds
-- the new uid beside the old one, so either finds the appointment.  A row
-- without appointment_id records a cancel that came before its booking.
CREATE TABLE IF NOT EXISTS calsync.bookings (
	uid			text PRIMARY KEY,
	appointment_id		uuid REFERENCES public.appointments (id)
				ON DELETE CASCADE,
	cancelled		boolean NOT NULL DEFAULT false,
	cancellation_reason	text,
	cancelled_at		timestamp(0),
	last_event_at		timestamptz,
	linked_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS bookings_appointment_id_index
	ON calsync.bookings (appointment_id);

-- Every verified delivery, with its body and what became of it, written in
-- the same transaction as its effect.  Nothing Cal.com sends is lost.
CREATE TABLE IF NOT EXISTS calsync.deliveries (
	id			bigserial PRIMARY KEY,
	received_at		timestamptz NOT NULL DEFAULT now(),
	request_id		text,
	trigger			text,
	uid			text,
	event_created_at	timestamptz,
	body_sha256		bytea NOT NULL,
	outcome			text NOT NULL,
	detail			text,
	appointment_id		uuid,
	body			bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_body_sha256_index
	ON calsync.deliveries (body_sha256);
CREATE INDEX IF NOT EXISTS deliveries_uid_index
	ON calsync.deliveries (uid);

-- Bookings made through the Phoenix handler carry a "cal.com:<uid>" line in
-- their notes: link them, so they can still be cancelled and rescheduled.
-- Where the old handler made duplicates, the earliest appointment wins.
INSERT INTO calsync.bookings (uid, appointment_id)
SELECT DISTINCT ON (m.uid) m.uid, a.id
FROM public.appointments a,
	LATERAL (SELECT r[1] AS uid FROM pg_catalog.regexp_matches(a.notes,
	    'cal\.com:([^[:space:]]+)', 'g') AS r) m
WHERE a.notes LIKE '%cal.com:%'
ORDER BY m.uid, a.inserted_at, a.id
ON CONFLICT (uid) DO NOTHING;

-- The trainer of a booking: metadata.trainer_id if sent (checked, not
-- trusted), else the organizer's email, matched without regard to case.
CREATE OR REPLACE FUNCTION calsync.find_trainer(p_id uuid, p_email text)
RETURNS uuid LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT u.id FROM public.users u
	WHERE p_id IS NOT NULL AND u.id = p_id AND u.role = 'trainer'
	UNION ALL
	(SELECT u.id FROM public.users u
	 WHERE p_id IS NULL AND lower(u.email) = lower(p_email)
	     AND u.role = 'trainer'
	 ORDER BY u.email = p_email DESC LIMIT 1)
	LIMIT 1
$$;

-- The student: metadata.student_id if sent, else the first attendee whose
-- email is a student's (the booker comes first, then the guests).
CREATE OR REPLACE FUNCTION calsync.find_student(p_id uuid, p_emails text[])
RETURNS uuid LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT u.id FROM public.users u
	WHERE p_id IS NOT NULL AND u.id = p_id AND u.role = 'student'
	UNION ALL
	(SELECT u.id
	 FROM unnest(p_emails) WITH ORDINALITY AS a (email, n)
	 JOIN public.users u ON lower(u.email) = lower(a.email)
	 WHERE p_id IS NULL AND u.role = 'student'
	 ORDER BY a.n, u.email = a.email DESC LIMIT 1)
	LIMIT 1
$$;

-- A new appointment for booking p_uid.  If a cancel for it came first,
-- the appointment is born cancelled, as Cal.com shows it.
CREATE OR REPLACE FUNCTION calsync.create_appointment(
	p_uid text, p_start timestamp, p_duration integer,
	p_title text, p_event_type text, p_event_slug text,
	p_description text, p_booker_notes text, p_location text,
	p_organizer_email text, p_attendee_emails text[],
	p_trainer_id uuid, p_student_id uuid,
	OUT outcome text, OUT appointment_id uuid, OUT detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_now		timestamp(0) := now() AT TIME ZONE 'UTC';
	v_trainer	uuid := calsync.find_trainer(p_trainer_id, p_organizer_email);
	v_student	uuid := calsync.find_student(p_student_id, p_attendee_emails);
	v_early		calsync.bookings%ROWTYPE;
BEGIN
	IF v_trainer IS NULL THEN
		outcome := 'unmatched';
		detail := CASE WHEN p_trainer_id IS NOT NULL
		    THEN 'metadata.trainer_id is not a trainer in GA Personal'
		    ELSE 'no trainer in GA Personal has the organizer''s email'
		    END;
		RETURN;
	END IF;
	IF v_student IS NULL THEN
		outcome := 'unmatched';
		detail := CASE WHEN p_student_id IS NOT NULL
		    THEN 'metadata.student_id is not a student in GA Personal'
		    ELSE 'no attendee''s email belongs to a student in GA Personal'
		    END;
		RETURN;
	END IF;
	SELECT * INTO v_early FROM calsync.bookings b WHERE b.uid = p_uid;

	INSERT INTO public.appointments (trainer_id, student_id, scheduled_at,
	    duration_minutes, status, appointment_type, location, notes,
	    cancellation_reason, cancelled_at, inserted_at, updated_at)
	VALUES (v_trainer, v_student, p_start, coalesce(p_duration, 60),
	    CASE WHEN v_early.cancelled THEN 'cancelled' ELSE 'scheduled' END,
	    (SELECT e.appointment_type FROM calsync.event_types e
	     WHERE e.name IN (lower(p_event_type), lower(p_event_slug))
	     ORDER BY e.name = lower(p_event_type) DESC LIMIT 1),
	    p_location,
	    concat_ws(E'\n', 'cal.com:' || p_uid, nullif(p_title, ''),
	        nullif(p_description, ''),
	        nullif(nullif(p_booker_notes, ''), p_description)),
	    v_early.cancellation_reason, v_early.cancelled_at, v_now, v_now)
	RETURNING id INTO appointment_id;

	INSERT INTO calsync.bookings AS b (uid, appointment_id)
	VALUES (p_uid, appointment_id)
	ON CONFLICT (uid) DO UPDATE SET appointment_id = excluded.appointment_id;
	outcome := 'applied';
END
$$;

-- Move the appointment of a booking to a new time, and let every uid given
-- (the original and the new one) name it.  It is scheduled again even if it
-- had been cancelled: a reschedule after "request reschedule" brings the
-- session back.
CREATE OR REPLACE FUNCTION calsync.move_appointment(
	p_appointment_id uuid, p_uids text[], p_start timestamp,
	p_duration integer, p_location text)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	UPDATE public.appointments a SET
		scheduled_at = p_start,
		duration_minutes = coalesce(p_duration, a.duration_minutes),
		location = coalesce(p_location, a.location),
		status = 'scheduled',
		cancellation_reason = NULL,
		cancelled_at = NULL,
		notes = (SELECT concat_ws(E'\n', a.notes, string_agg('cal.com:' || u,
		    E'\n' ORDER BY n)) FROM unnest(p_uids) WITH ORDINALITY AS x (u, n)
		    WHERE strpos(coalesce(a.notes, ''), 'cal.com:' || u) = 0),
		updated_at = now() AT TIME ZONE 'UTC'
	WHERE a.id = p_appointment_id;
	INSERT INTO calsync.bookings (uid, appointment_id)
	SELECT DISTINCT u, p_appointment_id FROM unnest(p_uids) u
	ON CONFLICT (uid) DO UPDATE SET appointment_id = excluded.appointment_id;
$$;

-- One verified delivery, applied and journaled in one statement: calsync
-- sends this single call per delivery, so a delivery costs one round trip
-- to PostgreSQL and is one transaction whatever it does.
CREATE OR REPLACE FUNCTION calsync.apply_delivery(
	p_request_id text, p_trigger text, p_created_at timestamptz,
	p_uid text, p_reschedule_uid text,
	p_start timestamp, p_duration integer,
	p_title text, p_event_type text, p_event_slug text,
	p_description text, p_booker_notes text, p_location text,
	p_cancellation_reason text,
	p_organizer_email text, p_attendee_emails text[],
	p_trainer_id uuid, p_student_id uuid, p_full_booking boolean,
	p_body_sha256 bytea, p_body bytea,
	OUT outcome text, OUT appointment_id uuid, OUT detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_now		timestamp(0) := now() AT TIME ZONE 'UTC';
	v_target	text := coalesce(p_reschedule_uid, p_uid);
	v_status	text;
BEGIN
	-- Events of one booking wait for each other, across workers and
	-- hosts; the uids are locked in one order so that two reschedules
	-- naming each other cannot deadlock.
	PERFORM pg_advisory_xact_lock(hashtextextended(u, 0))
	FROM (SELECT DISTINCT u FROM unnest(ARRAY[p_uid, p_reschedule_uid]) u
	      WHERE u IS NOT NULL ORDER BY u) l;

	outcome := 'ignored';
	IF p_trigger IN ('BOOKING_CREATED', 'BOOKING_RESCHEDULED',
	    'BOOKING_CANCELLED') AND EXISTS (SELECT FROM calsync.deliveries d
	    WHERE d.body_sha256 = p_body_sha256
	    AND d.outcome IN ('applied', 'pending')) THEN
		outcome := 'duplicate';
		detail := 'this delivery was already applied';
		SELECT b.appointment_id INTO appointment_id
		FROM calsync.bookings b WHERE b.uid = p_uid;

	ELSIF p_trigger = 'BOOKING_CREATED' THEN
		SELECT b.appointment_id INTO appointment_id
		FROM calsync.bookings b WHERE b.uid = p_uid;
		IF appointment_id IS NOT NULL THEN
			outcome := 'duplicate';
			detail := 'this booking already has its appointment';
		ELSE
			SELECT c.outcome, c.appointment_id, c.detail
			INTO outcome, appointment_id, detail
			FROM calsync.create_appointment(p_uid, p_start,
			    p_duration, p_title, p_event_type, p_event_slug,
			    p_description, p_booker_notes, p_location,
			    p_organizer_email, p_attendee_emails, p_trainer_id,
			    p_student_id) c;
		END IF;

	ELSIF p_trigger = 'BOOKING_RESCHEDULED' THEN
		-- Cal.com: uid is the new booking, rescheduleUid the original.
		-- The seed's short form has only uid, naming the one to move.
		SELECT b.appointment_id INTO appointment_id
		FROM calsync.bookings b
		WHERE b.uid IN (v_target, p_uid) AND b.appointment_id IS NOT NULL
		ORDER BY b.uid = v_target DESC LIMIT 1;
		IF appointment_id IS NOT NULL THEN
			PERFORM calsync.move_appointment(appointment_id,
			    ARRAY[v_target, p_uid], p_start, p_duration,
			    p_location);
			outcome := 'applied';
		ELSIF p_full_booking THEN
			SELECT c.outcome, c.appointment_id, c.detail
			INTO outcome, appointment_id, detail
			FROM calsync.create_appointment(p_uid, p_start,
			    p_duration, p_title, p_event_type, p_event_slug,
			    p_description, p_booker_notes, p_location,
			    p_organizer_email, p_attendee_emails, p_trainer_id,
			    p_student_id) c;
			IF outcome = 'applied' AND v_target <> p_uid THEN
				INSERT INTO calsync.bookings (uid, appointment_id)
				VALUES (v_target, apply_delivery.appointment_id)
				ON CONFLICT (uid) DO UPDATE
				SET appointment_id = excluded.appointment_id;
			END IF;
		ELSE
			outcome := 'unknown_booking';
			detail := 'booking ' || v_target || ' is not known to '
			    'calsync and this reschedule does not carry the '
			    'full booking; delivery kept for replay';
		END IF;

	ELSIF p_trigger = 'BOOKING_CANCELLED' THEN
		SELECT b.appointment_id, a.status INTO appointment_id, v_status
		FROM calsync.bookings b
		LEFT JOIN public.appointments a ON a.id = b.appointment_id
		WHERE b.uid = p_uid;
		IF appointment_id IS NULL THEN
			-- Cal.com does not order deliveries: keep the cancel, and
			-- its booking is born cancelled when it arrives.
			INSERT INTO calsync.bookings AS b (uid, cancelled,
			    cancellation_reason, cancelled_at)
			VALUES (p_uid, true, coalesce(nullif(p_cancellation_reason,
			    ''), 'Cancelled via Cal.com'), v_now)
			ON CONFLICT (uid) DO UPDATE SET cancelled = true,
			    cancellation_reason = excluded.cancellation_reason,
			    cancelled_at = coalesce(b.cancelled_at, excluded.cancelled_at);
			outcome := 'pending';
			detail := 'booking not known yet; it is cancelled when '
			    'it arrives';
		ELSIF v_status = 'cancelled' THEN
			outcome := 'duplicate';
			detail := 'the appointment is already cancelled';
		ELSE
			UPDATE public.appointments a SET status = 'cancelled',
			    cancellation_reason = coalesce(
			        nullif(p_cancellation_reason, ''),
			        'Cancelled via Cal.com'),
			    cancelled_at = v_now, updated_at = v_now
			WHERE a.id = apply_delivery.appointment_id;
			outcome := 'applied';
		END IF;

	ELSIF p_trigger = 'PING' THEN
		detail := 'ping received';
	END IF;

	INSERT INTO calsync.deliveries (request_id, trigger, uid,
	    event_created_at, body_sha256, outcome, detail, appointment_id, body)
	VALUES (p_request_id, p_trigger, coalesce(p_uid, p_reschedule_uid),
	    p_created_at, p_body_sha256, outcome, detail,
	    apply_delivery.appointment_id, p_body);
END
$$;

-- Least privilege: read users, write appointments and calsync's own
-- tables, nothing else.  Give the role a login and password yourself:
--     ALTER ROLE calsync LOGIN PASSWORD '...';
GRANT USAGE ON SCHEMA calsync TO calsync;
GRANT SELECT ON public.users TO calsync;
GRANT SELECT, INSERT, UPDATE ON public.appointments TO calsync;
GRANT SELECT ON calsync.schema_version, calsync.event_types TO calsync;
GRANT SELECT, INSERT, UPDATE ON calsync.bookings TO calsync;
GRANT SELECT, INSERT ON calsync.deliveries TO calsync;
GRANT USAGE ON SEQUENCE calsync.deliveries_id_seq TO calsync;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA calsync FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA calsync TO calsync;

COMMIT;
