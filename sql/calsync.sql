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
-- 2: calsync.changes, announced by calsync's notifier.
-- 3: calsync.expire_pending, which the notifier calls.
-- 4: the seats of group classes (calsync.events.seat; apply_delivery's
--    p_attendee_seat_id).
-- 5: weekly series (calsync.events.series; apply_delivery's p_recurring).
-- 6: apply_delivery takes one calsync.delivery.
INSERT INTO calsync.schema_version (version) VALUES (1), (2), (3), (4), (5),
	(6)
ON CONFLICT DO NOTHING;

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

-- Every distinct verified booking event (one per body), parsed.  Cal.com
-- does not order its deliveries, so an appointment is never edited event by
-- event: it is the fold of all the events of its booking in clock order
-- (calsync.fold), and a new event writes what it changes in that fold.
CREATE TABLE IF NOT EXISTS calsync.events (
	id			bigserial PRIMARY KEY,
	body_sha256		bytea NOT NULL UNIQUE,
	trigger			text NOT NULL,
	-- createdAt plus the rank of the trigger in microseconds: events of
	-- the same millisecond are ordered CREATED < RESCHEDULED and REQUESTED
	-- (a reschedule awaiting confirmation) < location and
	-- payment updates < NO_SHOW_UPDATED < CANCELLED and REJECTED (a cancel
	-- in the same millisecond as a reschedule wins).  Equal clocks are
	-- taken in arrival order.
	clock			timestamptz NOT NULL,
	uid			text NOT NULL,
	reschedule_uid		text,
	start_at		timestamp(0),
	duration		integer,
	title			text,
	event_type		text,
	event_slug		text,
	description		text,
	booker_notes		text,
	location		varchar(255),
	cancellation_reason	text,
	organizer_email		text,
	attendee_emails		text[],
	no_show			boolean[],
	trainer_id		uuid,
	student_id		uuid,
	full_booking		boolean NOT NULL
);
-- What the booker wrote beside the notes, kept for the appointment's notes
-- (calsync.fold); added to an events table made before.
ALTER TABLE calsync.events ADD COLUMN IF NOT EXISTS guests text[],
	ADD COLUMN IF NOT EXISTS reschedule_reason text;
-- A seated event type (a group class) keeps one uid for all its seats:
-- each BOOKING_CREATED adds one person, with its attendeeSeatId, and a
-- BOOKING_CANCELLED naming one person is that person leaving.  seat is
-- whom an event concerns: the attendeeSeatId when sent, else the first
-- attendee's email in lower case.
ALTER TABLE calsync.events ADD COLUMN IF NOT EXISTS attendee_seat_id text,
	ADD COLUMN IF NOT EXISTS seat text;
-- A recurring event type (a weekly series) makes one booking, with its
-- own uid, per occurrence; Cal.com ties them by recurringEventId, which
-- its webhook does not send.  What the bodies of one series share is the
-- organizer, the booker, the event type, the rule (recurringEvent's freq
-- and interval; its count is the event type's on a cancel, the booked
-- one elsewhere) and start times on the rule's grid: series is that key
-- (calsync.series_key), on the events that carry recurringEvent.  It
-- cannot tell two series of one student with one trainer and one event
-- type on the same weekday from one series: those are one to calsync.
ALTER TABLE calsync.events ADD COLUMN IF NOT EXISTS series text,
	ADD COLUMN IF NOT EXISTS recurring integer[];
CREATE INDEX IF NOT EXISTS events_series_index ON calsync.events (series)
	WHERE series IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_uid_index ON calsync.events (uid);
CREATE INDEX IF NOT EXISTS events_reschedule_uid_index
	ON calsync.events (reschedule_uid);

-- A Cal.com booking uid -> the appointments it became: one per student of
-- the booking.  A reschedule adds the new uid beside the original.
CREATE TABLE IF NOT EXISTS calsync.bookings (
	uid			text NOT NULL,
	appointment_id		uuid NOT NULL REFERENCES public.appointments (id)
				ON DELETE CASCADE,
	linked_at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (uid, appointment_id)
);
CREATE INDEX IF NOT EXISTS bookings_appointment_id_index
	ON calsync.bookings (appointment_id);

-- What calsync last wrote on each appointment: a change writes only the
-- fields where the booking's fold moved away from this, so what the trainer
-- edited in GA Personal stays unless Cal.com changes it again.
CREATE TABLE IF NOT EXISTS calsync.settled (
	appointment_id		uuid PRIMARY KEY REFERENCES public.appointments (id)
				ON DELETE CASCADE,
	scheduled_at		timestamp(0),
	duration_minutes	integer,
	location		varchar(255),
	status			varchar(255),
	cancellation_reason	text,
	cancelled_at		timestamp(0),
	notes			text
);

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
	event_id		bigint REFERENCES calsync.events (id),
	outcome			text NOT NULL,
	detail			text,
	appointment_id		uuid,
	replayed_at		timestamptz,
	body			bytea NOT NULL
);
-- Bodies of 2 KB and more are compressed: with lz4 where the server has
-- it, which made a tenth more deliveries a second than pglz (one client).
DO $$
BEGIN
	ALTER TABLE calsync.deliveries ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
	NULL;	-- built without lz4 (or before PostgreSQL 14): pglz
END
$$;
CREATE INDEX IF NOT EXISTS deliveries_uid_index ON calsync.deliveries (uid);
CREATE INDEX IF NOT EXISTS deliveries_replay_index ON calsync.deliveries (outcome)
	WHERE outcome IN ('unmatched', 'internal');
-- calsync.expire_pending looks at the pending ones every minute.
CREATE INDEX IF NOT EXISTS deliveries_pending_index
	ON calsync.deliveries (received_at) WHERE outcome = 'pending';

-- Bookings made through the Phoenix handler carry a "cal.com:<uid>" line in
-- their notes: link them, so they can still be cancelled and rescheduled.
INSERT INTO calsync.bookings (uid, appointment_id)
SELECT m.uid, a.id
FROM public.appointments a,
	LATERAL (SELECT r[1] AS uid FROM pg_catalog.regexp_matches(a.notes,
	    'cal\.com:([^[:space:]]+)', 'g') AS r) m
WHERE a.notes LIKE '%cal.com:%'
ON CONFLICT DO NOTHING;

-- What a booking's events say one appointment should be.  student_id NULL:
-- the booking as a whole (time, location, status), for appointments no
-- event made (the Phoenix handler's); unmatched says why none can be made.
DROP TYPE IF EXISTS calsync.state CASCADE;
CREATE TYPE calsync.state AS (
	student_id		uuid,
	trainer_id		uuid,
	scheduled_at		timestamp(0),
	duration_minutes	integer,
	location		varchar(255),
	status			varchar(255),
	cancellation_reason	text,
	cancelled_at		timestamp(0),
	appointment_type	varchar(255),
	notes			text,
	unmatched		text
);

-- calsync calls three functions: apply_delivery, replay and announce.  They
-- set search_path (and how their statements are planned); the functions
-- they call run under those settings.  A SET clause on each of those too
-- was saved and restored at every call: a fifth of PostgreSQL's time a
-- delivery (pgbench with calsync's statement, one client).
--
-- Every statement of the engine finds its rows by a key, through an index:
-- the right plan at ten rows and at ten million.  The planner cannot know
-- that of a table never analysed (a new install's, for its first minutes,
-- or a table that grew since autovacuum last came by): it sees a few pages
-- and reads them whole, and PL/pgSQL keeps that plan for the connection's
-- life, while the table grows (a fifth of the rate after 16,000
-- deliveries: bench/run --growth).  So the engine runs with enable_seqscan
-- off, and joins by nested loop (an index lookup a row), never by hashing
-- or merging a table read whole: a table is read whole only where no
-- index can serve.  Such a plan is right whatever the statistics say, so
-- each statement is planned once a connection (force_generic_plan): left
-- to choose, PL/pgSQL planned the engine's statements afresh at every
-- call, a third of PostgreSQL's time a delivery.  For the same reason the
-- engine's functions are PL/pgSQL, or SQL the planner inlines (a single
-- expression): any other SQL function is planned at every call.

-- The user with this email and role, the email matched without regard to
-- case.  The exact address is tried first, through users_email_index; only
-- when it is not there (a guest, another case) are users compared in lower
-- case, a scan (an index on lower(email) would be an object in the
-- application's schema).  The scan lowers only the addresses that can
-- match, as lowering costs far more than counting: an ASCII address (as
-- many bytes as characters) has as many characters in lower case, under
-- every collation provider, so one whose byte count is not the wanted
-- address's character count in lower case cannot match.
CREATE OR REPLACE FUNCTION calsync.user_by_email(p_email text, p_role text)
RETURNS uuid LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_id	uuid;
	v_lower	text;
	v_len	integer;
BEGIN
	SELECT u.id INTO v_id FROM public.users u
	WHERE u.email = p_email AND u.role = p_role;
	IF v_id IS NULL THEN
		v_lower := lower(p_email);
		v_len := length(v_lower);
		-- One CASE: the planner would order separate conditions by
		-- their cost, lower() first.
		SELECT u.id INTO v_id FROM public.users u
		WHERE u.role = p_role AND CASE
		    WHEN octet_length(u.email) = v_len
		        OR octet_length(u.email) > length(u.email)
		    THEN lower(u.email) = v_lower END
		LIMIT 1;
	END IF;
	RETURN v_id;
END
$$;

-- The trainer of a booking: metadata.trainer_id if sent (checked, not
-- trusted), else the organizer's email.
CREATE OR REPLACE FUNCTION calsync.find_trainer(p_id uuid, p_email text)
RETURNS uuid LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF p_id IS NOT NULL THEN
		RETURN (SELECT u.id FROM public.users u
		    WHERE u.id = p_id AND u.role = 'trainer');
	END IF;
	RETURN calsync.user_by_email(p_email, 'trainer');
END
$$;

-- The students of a booking: metadata.student_id if sent, else every
-- attendee whose email is a student's, in order (the booker first): one
-- appointment each.
CREATE OR REPLACE FUNCTION calsync.find_students(p_id uuid, p_emails text[])
RETURNS TABLE (id uuid, email text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a	text;
	v_id	uuid;
	v_seen	uuid[] := '{}';
BEGIN
	IF p_id IS NOT NULL THEN
		RETURN QUERY SELECT u.id, lower(u.email)::text FROM public.users u
		    WHERE u.id = p_id AND u.role = 'student';
		RETURN;
	END IF;
	FOREACH a IN ARRAY coalesce(p_emails, '{}') LOOP
		v_id := calsync.user_by_email(a, 'student');
		IF v_id IS NOT NULL AND NOT v_id = ANY (v_seen) THEN
			v_seen := v_seen || v_id;
			id := v_id;
			email := lower(a);
			RETURN NEXT;
		END IF;
	END LOOP;
END
$$;

-- Roles match exactly: a trainer is a user whose role is 'trainer', a
-- student one whose role is 'student' (GA Personal writes them so; the
-- database does not limit role).  'admin', 'coach', 'Trainer' are neither,
-- and a booking with no trainer or no student is unmatched, kept for
-- replay: once the application gives the user the role, calsyncctl replay
-- makes the appointment.  When a user has the id or the email but another
-- role, the reason names that role, so the operator sees which user to fix.
-- Only on that path: the first user with this id, or else with one of these
-- emails (any case, in order), and the role it has.
CREATE OR REPLACE FUNCTION calsync.role_of(p_id uuid, p_emails text[])
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_id IS NOT NULL THEN
	    (SELECT u.role FROM public.users u WHERE u.id = p_id)
	ELSE
	    (SELECT u.role FROM unnest(p_emails) WITH ORDINALITY AS e (email, n)
	     JOIN public.users u ON lower(u.email) = lower(e.email)
	     ORDER BY e.n LIMIT 1)
	END
$$;

-- Why a booking has no trainer (p_role 'trainer') or no student.
CREATE OR REPLACE FUNCTION calsync.unmatched_reason(p_role text,
	p_id uuid, p_emails text[])
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_role	text := calsync.role_of(p_id, p_emails);
BEGIN
	IF v_role IS NULL THEN
		RETURN CASE
		    WHEN p_id IS NOT NULL THEN format('metadata.%s_id is not a '
		        '%s in GA Personal', p_role, p_role)
		    WHEN p_role = 'trainer' THEN 'no trainer in GA Personal has '
		        'the organizer''s email'
		    ELSE 'no attendee''s email belongs to a student in GA Personal'
		    END;
	END IF;
	RETURN CASE
	    WHEN p_id IS NOT NULL THEN format('metadata.%s_id is a GA Personal '
	        'user whose role is %L, not %L', p_role, v_role, p_role)
	    WHEN p_role = 'trainer' THEN format('the organizer''s email is a GA '
	        'Personal user whose role is %L, not %L', v_role, p_role)
	    ELSE format('no attendee is a student in GA Personal: an '
	        'attendee''s email is a user whose role is %L, not %L',
	        v_role, p_role)
	    END;
END
$$;

-- The triggers calsync acts on, with their rank among events of the same
-- millisecond; NULL for every other one, which is only recorded.  The
-- same as src/calsync.h's CALSYNC_TRIGGERS: calsyncctl check compares the
-- two.  BOOKING_REQUESTED counts only with a rescheduleUid (apply_delivery).
CREATE OR REPLACE FUNCTION calsync.trigger_rank(p_trigger text)
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p_trigger
	    WHEN 'BOOKING_CREATED' THEN 1
	    WHEN 'BOOKING_RESCHEDULED' THEN 2
	    WHEN 'BOOKING_REQUESTED' THEN 2
	    WHEN 'BOOKING_LOCATION_UPDATED' THEN 3
	    WHEN 'BOOKING_PAID' THEN 3
	    WHEN 'BOOKING_PAYMENT_INITIATED' THEN 3
	    WHEN 'BOOKING_NO_SHOW_UPDATED' THEN 4
	    WHEN 'BOOKING_CANCELLED' THEN 5
	    WHEN 'BOOKING_REJECTED' THEN 5
	    END
$$;

-- Whether a booking is a group class: a seat id was sent, or one uid had
-- BOOKING_CREATED for two different people (a Cal.com that sends no
-- attendeeSeatId).  A plain booking's cancel cancels it whole, whoever it
-- names; a class's cancel that names people is those people leaving.
CREATE OR REPLACE FUNCTION calsync.seated(p_uids text[])
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN EXISTS (SELECT FROM calsync.events x WHERE x.uid = ANY (p_uids)
	    AND x.attendee_seat_id IS NOT NULL)
	    OR EXISTS (SELECT FROM calsync.events x WHERE x.uid = ANY (p_uids)
	    AND x.trigger = 'BOOKING_CREATED' AND x.full_booking
	    GROUP BY x.uid HAVING count(DISTINCT x.seat) > 1);
END
$$;

-- The series of a booking that carries recurringEvent (p_recurring:
-- freq, interval, count), NULL for any other: see calsync.events.series.
-- The grid: the day of the start within the rule's period (UTC days: a
-- daylight-saving change moves the hour, not the day, for a session in
-- the daytime).
CREATE OR REPLACE FUNCTION calsync.series_key(p_organizer text,
	p_booker text, p_slug text, p_event_type text, p_start timestamp,
	p_recurring integer[])
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	n	integer := greatest(coalesce(p_recurring[2], 1), 1);
	day	bigint := floor(extract(epoch FROM p_start) / 86400);
BEGIN
	IF p_recurring[1] IS NULL OR p_organizer IS NULL OR p_booker IS NULL
	    OR p_start IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN concat_ws('|', lower(p_organizer), lower(p_booker),
	    lower(coalesce(p_slug, p_event_type)), p_recurring[1], n,
	    CASE p_recurring[1]
	    WHEN 2 THEN mod(day, 7 * n)::text
	    WHEN 3 THEN mod(day, n)::text
	    WHEN 1 THEN to_char(p_start, 'DD')
	    ELSE to_char(p_start, 'MMDD') END);
END
$$;

-- The time between two occurrences of a rule.
CREATE OR REPLACE FUNCTION calsync.series_step(p_recurring integer[])
RETURNS interval LANGUAGE sql IMMUTABLE AS $$
	SELECT greatest(coalesce(p_recurring[2], 1), 1) * CASE p_recurring[1]
	    WHEN 0 THEN interval '1 year' WHEN 1 THEN interval '1 month'
	    WHEN 2 THEN interval '7 days' ELSE interval '1 day' END
$$;

-- A booking cancelled whole by event p_event (a cancel, a reject, or the
-- "cancel all remaining" of its series), from status, cancelled_at and
-- reason as they were: cancelled at the first cancel's clock, for the
-- last cancel's reason.
CREATE OR REPLACE FUNCTION calsync.cancel(INOUT status text,
	INOUT cancelled_at timestamp(0), INOUT reason text,
	p_event calsync.events)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF status IS DISTINCT FROM 'cancelled' THEN
		cancelled_at := (p_event.clock AT TIME ZONE 'UTC')::timestamp(0);
	END IF;
	status := 'cancelled';
	reason := coalesce(nullif(p_event.cancellation_reason, ''), reason,
	    'Cancelled via Cal.com');
END
$$;

-- The appointments the events of a booking make, folded in clock order.
-- A group class makes one per seat: each student from the BOOKING_CREATED
-- of their seat, cancelled when they leave (or the class is cancelled
-- whole); a booking's other fields are the class's, shared.
CREATE OR REPLACE FUNCTION calsync.fold(p_uids text[])
RETURNS SETOF calsync.state
LANGUAGE plpgsql STABLE AS $$
DECLARE
	e		calsync.events%ROWTYPE;
	v_base		calsync.events%ROWTYPE;	-- what appointments are made of
	v_uids		text[] := '{}';
	v_start		timestamp(0);
	v_duration	integer;
	v_location	varchar(255);
	v_status	text;
	v_reason	text;
	v_cancelled	timestamp(0);
	v_noshow	jsonb := '{}';
	v_trainer	uuid;
	v_ids		uuid[];		-- the students, and the emails they
	v_emails	text[];		-- booked with
	v_seated	boolean := calsync.seated(p_uids);
	v_seats		text[] := '{}';	-- a class, per student: the seat,
	v_left		timestamp(0)[] := '{}';	-- when they left (NULL: in),
	v_why		text[] := '{}';	-- and why,
	v_notes		text[] := '{}';	-- and what they wrote on their seat
	f		record;
	v_reasons	text[] := '{}';	-- "Reschedule reason: ..." lines
	v_line		text;
	r		calsync.state;
	i		integer;
	-- An occurrence of a series: its first booking event, and whether
	-- it is a request awaiting the trainer (a series that needs approval).
	v_own		calsync.events%ROWTYPE;
	v_request	boolean;
BEGIN
	SELECT * INTO v_own FROM calsync.events x WHERE x.uid = ANY (p_uids)
	    AND x.series IS NOT NULL AND x.full_booking AND x.trigger IN
	    ('BOOKING_CREATED', 'BOOKING_REQUESTED') ORDER BY x.clock, x.id LIMIT 1;
	v_request := v_own.trigger = 'BOOKING_REQUESTED' AND
	    v_own.reschedule_uid IS NULL;
	-- With the booking's own events, those of its series that concern it:
	-- "cancel all remaining" of another occurrence (Cal.com cancels every
	-- one of the series that starts after that moment, and sends one
	-- BOOKING_CANCELLED for the occurrence whose link was used), and the
	-- trainer's approval of a series, one BOOKING_CREATED for the first
	-- occurrence with the count approved (all of its requests became
	-- ACCEPTED).  The clock of a cancel is its createdAt, Cal.com's now;
	-- it cancels an occurrence that then starts from that moment on, at
	-- its time then: Cal.com keeps a rescheduled occurrence in its series
	-- (recurringEventId) at its new time.  Only of occurrences booked
	-- before it: a series booked afterwards (the same student, trainer,
	-- type and weekday) is not that one.
	FOR e IN SELECT * FROM calsync.events x WHERE x.uid = ANY (p_uids)
	    UNION ALL
	    SELECT * FROM calsync.events x WHERE v_own.series IS NOT NULL
	    AND x.series = v_own.series AND NOT x.uid = ANY (p_uids)
	    AND x.clock > v_own.clock
	    AND (x.trigger = 'BOOKING_CANCELLED'
	    OR (x.trigger = 'BOOKING_CREATED' AND v_request AND
	        v_own.start_at >= x.start_at AND v_own.start_at < x.start_at +
	        calsync.series_step(x.recurring) *
	        (greatest(coalesce(x.recurring[3], 1), 1) - 1) + interval '12 hours'))
	    ORDER BY clock, id LOOP
		IF NOT e.uid = ANY (p_uids) THEN
			IF e.trigger = 'BOOKING_CREATED' THEN
				-- The series approved: this request with it.
				v_start := coalesce(v_start, v_own.start_at);
				v_duration := coalesce(v_duration, v_own.duration);
				v_location := coalesce(v_location, v_own.location);
				v_status := coalesce(v_status, 'scheduled');
			ELSIF v_status IS NOT NULL AND
			    coalesce(v_start, v_own.start_at) >=
			    e.clock AT TIME ZONE 'UTC' THEN
				-- Cancelled with the rest of the series (a request
				-- never approved has no appointment to cancel).
				SELECT * INTO v_status, v_cancelled, v_reason
				FROM calsync.cancel(v_status, v_cancelled, v_reason, e);
			END IF;
			CONTINUE;
		END IF;
		IF NOT e.uid = ANY (v_uids) THEN
			v_uids := v_uids || e.uid;
		END IF;
		-- Each reschedule's reason, in clock order, once: the same
		-- reschedule sent again adds nothing.  Only from the reschedule:
		-- the booking's later bodies (a cancel) repeat it in responses.
		v_line := 'Reschedule reason: ' || nullif(btrim(e.reschedule_reason),
		    '');
		IF v_line IS NOT NULL AND NOT v_line = ANY (v_reasons) AND
		    (e.reschedule_uid IS NOT NULL OR
		    e.trigger = 'BOOKING_RESCHEDULED') THEN
			v_reasons := v_reasons || v_line;
		END IF;
		IF v_base.id IS NULL AND e.full_booking AND e.trigger IN
		    ('BOOKING_CREATED', 'BOOKING_RESCHEDULED',
		    'BOOKING_REQUESTED') THEN
			v_base := e;
		END IF;
		CASE e.trigger
		WHEN 'BOOKING_CREATED' THEN
			-- The first state of a booking: it fills only what no
			-- other event set, so a late one never undoes a cancel.
			v_start := coalesce(v_start, e.start_at);
			v_duration := coalesce(v_duration, e.duration);
			v_location := coalesce(v_location, e.location);
			v_status := coalesce(v_status, 'scheduled');
			-- A seat: its student joins; one who left comes back only
			-- on a new seat (a resent old one changes nothing).
			FOR f IN SELECT * FROM calsync.find_students(e.student_id,
			    e.attendee_emails) WHERE v_seated AND e.full_booking LOOP
				i := array_position(v_ids, f.id);
				IF i IS NULL THEN
					v_ids := array_append(v_ids, f.id);
					v_emails := array_append(v_emails, f.email);
					v_seats := array_append(v_seats, e.seat);
					v_left := array_append(v_left, NULL);
					v_why := array_append(v_why, NULL);
					v_notes := array_append(v_notes,
					    e.booker_notes);
				ELSIF v_left[i] IS NOT NULL AND
				    e.seat IS DISTINCT FROM v_seats[i] THEN
					v_seats[i] := e.seat;
					v_left[i] := NULL;
					v_why[i] := NULL;
					v_notes[i] := e.booker_notes;
				END IF;
			END LOOP;
		WHEN 'BOOKING_REQUESTED' THEN
		    IF e.reschedule_uid IS NOT NULL THEN
			-- A reschedule awaiting confirmation: as below.
			v_start := e.start_at;
			v_duration := coalesce(e.duration, v_duration);
			v_location := coalesce(e.location, v_location);
			v_status := 'scheduled';
			v_reason := NULL;
			v_cancelled := NULL;
			v_noshow := '{}';
		    END IF;
		    -- Else an occurrence of a series awaiting approval: nothing
		    -- until the series is approved (above).
		WHEN 'BOOKING_RESCHEDULED' THEN
			-- Also after a cancel: "request reschedule" then a new time
			-- brings the session back.  A BOOKING_REQUESTED here is a
			-- reschedule awaiting the trainer's confirmation (only those
			-- are events): Cal.com has already cancelled the original,
			-- and GA Personal has no pending status, so the session
			-- moves to the new time now; the BOOKING_CREATED of the
			-- accept then changes nothing, a BOOKING_REJECTED cancels
			-- it (at the requested time, with the trainer's reason).
			v_start := e.start_at;
			v_duration := coalesce(e.duration, v_duration);
			v_location := coalesce(e.location, v_location);
			v_status := 'scheduled';
			v_reason := NULL;
			v_cancelled := NULL;
			v_noshow := '{}';
		WHEN 'BOOKING_CANCELLED', 'BOOKING_REJECTED' THEN
		    IF v_seated AND e.trigger = 'BOOKING_CANCELLED' AND
			(e.attendee_seat_id IS NOT NULL OR
			cardinality(e.attendee_emails) > 0) THEN
			-- People leaving a class: Cal.com names only them (the
			-- last one too: it then cancels the booking, naming who
			-- was left).  Their metadata is the booker's: by email.
			FOR i IN 1 .. coalesce(cardinality(v_ids), 0) LOOP
				IF v_left[i] IS NULL AND (v_seats[i] =
				    e.attendee_seat_id OR v_ids[i] IN (SELECT x.id
				    FROM calsync.find_students(NULL,
				    e.attendee_emails) x)) THEN
					v_left[i] := e.clock AT TIME ZONE 'UTC';
					v_why[i] := coalesce(nullif(
					    e.cancellation_reason, ''),
					    'Cancelled via Cal.com');
				END IF;
			END LOOP;
		    ELSE
			SELECT * INTO v_status, v_cancelled, v_reason
			FROM calsync.cancel(v_status, v_cancelled, v_reason, e);
		    END IF;
		WHEN 'BOOKING_NO_SHOW_UPDATED' THEN
			FOR i IN 1 .. coalesce(cardinality(e.attendee_emails), 0) LOOP
				v_noshow := v_noshow || jsonb_build_object(
				    lower(e.attendee_emails[i]), e.no_show[i]);
			END LOOP;
		ELSE	-- location and payment updates
			v_start := coalesce(e.start_at, v_start);
			v_duration := coalesce(e.duration, v_duration);
			v_location := coalesce(e.location, v_location);
		END CASE;
	END LOOP;

	r.scheduled_at := v_start;
	r.duration_minutes := v_duration;
	r.location := v_location;
	r.status := v_status;
	r.cancellation_reason := v_reason;
	r.cancelled_at := v_cancelled;
	IF v_base.id IS NOT NULL THEN
		v_trainer := calsync.find_trainer(v_base.trainer_id,
		    v_base.organizer_email);
		IF v_trainer IS NULL THEN
			r.unmatched := calsync.unmatched_reason('trainer',
			    v_base.trainer_id, ARRAY[v_base.organizer_email]);
		END IF;
		-- A class's students came with their seats, above; one whose
		-- seats calsync has not seen (only a reschedule of it) has
		-- the students its booking names.
		IF NOT v_seated OR v_ids IS NULL THEN
			SELECT array_agg(s.id ORDER BY s.n),
			    array_agg(s.email ORDER BY s.n)
			INTO v_ids, v_emails
			FROM calsync.find_students(v_base.student_id,
			    v_base.attendee_emails) WITH ORDINALITY AS s (id, email, n);
		END IF;
		IF v_trainer IS NOT NULL AND v_ids IS NULL THEN
			r.unmatched := calsync.unmatched_reason('student',
			    v_base.student_id, v_base.attendee_emails);
		END IF;
	END IF;
	RETURN NEXT r;		-- the booking as a whole
	-- v_status NULL: only requests, not approved.
	IF v_base.id IS NULL OR r.unmatched IS NOT NULL OR v_status IS NULL THEN
		RETURN;
	END IF;

	r.trainer_id := v_trainer;
	r.scheduled_at := coalesce(v_start, v_base.start_at);
	r.duration_minutes := coalesce(v_duration, 60);
	r.appointment_type := (SELECT t.appointment_type
	    FROM calsync.event_types t
	    WHERE t.name IN (lower(v_base.event_type), lower(v_base.event_slug))
	    ORDER BY t.name = lower(v_base.event_type) DESC LIMIT 1);
	FOR i IN 1 .. cardinality(v_ids) LOOP
		r.student_id := v_ids[i];
		-- Notes: the "cal.com:<uid>" lines (the Phoenix app finds
		-- bookings by them), the title, and what is this booking's own:
		-- the booker's notes (in a class, what this student wrote on
		-- their seat) and guests as booked, and the reschedule reasons.
		-- Never the event type's description, the same for every
		-- booking of the type.
		r.notes := concat_ws(E'\n',
		    (SELECT string_agg('cal.com:' || u, E'\n' ORDER BY n)
		     FROM unnest(v_uids) WITH ORDINALITY AS x (u, n)),
		    nullif(v_base.title, ''), nullif(btrim(CASE
		    WHEN cardinality(v_seats) > 0 THEN v_notes[i]
		    ELSE v_base.booker_notes END), ''),
		    'Guests: ' || nullif(array_to_string(v_base.guests, ', '), ''),
		    nullif(array_to_string(v_reasons, E'\n'), ''));
		r.status := CASE WHEN v_status = 'cancelled' OR
		    v_left[i] IS NOT NULL THEN 'cancelled'
		    WHEN (v_noshow ->> v_emails[i])::boolean THEN 'no_show'
		    ELSE 'scheduled' END;
		-- One who left the class: their reason, when they left.
		r.cancellation_reason := coalesce(v_why[i], v_reason);
		r.cancelled_at := coalesce(v_left[i], v_cancelled);
		RETURN NEXT r;
	END LOOP;
END
$$;

-- The uids of a booking and every uid linked to them (reschedules, shared
-- appointments), as committed now: the closure, sorted.
CREATE OR REPLACE FUNCTION calsync.linked_uids(p_uids text[])
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	v_all	text[] := '{}';
	v_more	text[] := ARRAY(SELECT DISTINCT u FROM unnest(p_uids) u
		    WHERE u IS NOT NULL);
BEGIN
	WHILE cardinality(v_more) > 0 LOOP
		v_all := v_all || v_more;
		v_more := ARRAY(SELECT DISTINCT x FROM (
			SELECT e.uid FROM calsync.events e
			WHERE e.reschedule_uid = ANY (v_all)
			UNION ALL
			SELECT e.reschedule_uid FROM calsync.events e
			WHERE e.uid = ANY (v_all)
			UNION ALL
			SELECT o.uid FROM calsync.bookings b
			JOIN calsync.bookings o USING (appointment_id)
			WHERE b.uid = ANY (v_all)) l (x)
		    WHERE x IS NOT NULL AND NOT x = ANY (v_all));
	END LOOP;
	RETURN ARRAY(SELECT u FROM unnest(v_all) u ORDER BY u);
END
$$;

-- Lock a booking: its uids and every uid linked to them.  Two deliveries
-- of one booking wait for each other here, and never in a cycle: a
-- delivery waits only for the locks it takes first, all in one order.
-- What commits meanwhile may link more uids; those are taken without
-- waiting, and if another delivery holds one, this one starts again
-- (a serialization failure, which calsync retries).  Waiting for them
-- instead could deadlock, and a deadlock costs a second to detect.
CREATE OR REPLACE FUNCTION calsync.lock_booking(p_uids text[])
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	v_all	text[] := calsync.linked_uids(p_uids);
	v_now	text[];
	u	text;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended(x, 7710585))
	FROM unnest(v_all) x;
	LOOP
		v_now := calsync.linked_uids(v_all);
		EXIT WHEN v_now <@ v_all;
		FOR u IN SELECT unnest(v_now) EXCEPT SELECT unnest(v_all) LOOP
			IF NOT pg_try_advisory_xact_lock(
			    hashtextextended(u, 7710585)) THEN
				RAISE EXCEPTION 'booking % is being changed by '
				    'another delivery', u
				    USING ERRCODE = 'serialization_failure';
			END IF;
		END LOOP;
		v_all := v_now;
	END LOOP;
	RETURN v_all;
END
$$;

-- The Phoenix application learns of each change to an appointment as it did
-- from its own handler (to send confirmation emails and in-app notices):
-- LISTEN calsync_appointments; each payload is JSON,
-- {"change_id": n, "appointment_id": "...",
--  "change": "created"|"updated"|"deleted", "status": "...",
--  "uid": "<a Cal.com booking uid>"}.
--
-- A delivery does not NOTIFY in its own transaction: PostgreSQL serialises
-- every notifying transaction, fsync included, behind one database-wide
-- lock, so every worker of every host would queue there (at 16
-- connections, 88% of the sampled waits).  A delivery writes its changes
-- here instead, in its transaction; calsync's notifier announces them in
-- batches a moment after they commit (calsync.announce), and deletes them.
-- A change is in this table until announced: none is lost while no
-- notifier runs.
CREATE TABLE IF NOT EXISTS calsync.changes (
	id		bigserial PRIMARY KEY,
	appointment_id	uuid NOT NULL,
	change		text NOT NULL,
	status		text,
	uid		text,
	made_at		timestamptz NOT NULL DEFAULT now()
);

DROP FUNCTION IF EXISTS calsync.notify(uuid, text, text, text);
CREATE OR REPLACE FUNCTION calsync.record_change(p_id uuid, p_change text,
	p_status text, p_uid text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO calsync.changes (appointment_id, change, status, uid)
	VALUES (p_id, p_change, p_status, p_uid);
END
$$;

-- Announce up to p_max changes, oldest first, in one transaction; returns
-- how many.  One notifier at a time, all hosts together: changes of one
-- appointment are made one after the other (lock_booking), so their ids
-- are in that order, and so are their notifications.
CREATE OR REPLACE FUNCTION calsync.announce(p_max integer)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c	calsync.changes%ROWTYPE;
	n	integer := 0;
BEGIN
	PERFORM pg_advisory_xact_lock(7710586);
	FOR c IN WITH gone AS (DELETE FROM calsync.changes x WHERE x.id IN (
		SELECT y.id FROM calsync.changes y ORDER BY y.id LIMIT p_max)
	    RETURNING x.*)
	    SELECT * FROM gone ORDER BY gone.id LOOP
		PERFORM pg_notify('calsync_appointments', json_build_object(
		    'change_id', c.id, 'appointment_id', c.appointment_id,
		    'change', c.change, 'status', c.status, 'uid', c.uid)::text);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;

-- Whether calsync may write an appointment with this status.  calsync
-- writes only scheduled, cancelled and no_show; any other status (GA
-- Personal's "completed", or one the application adds: the database does
-- not limit them) is the trainer's record of a session that was held, and
-- Cal.com's word no longer moves it: a late cancel or a reschedule leaves
-- it as the trainer marked it, and the delivery is journaled as ignored.
-- calsync.settled keeps what calsync last wrote, so if the trainer sets
-- the status back to one of calsync's, the next delivery brings the
-- appointment to what the booking's events say.
CREATE OR REPLACE FUNCTION calsync.writes_status(p_status text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT p_status IS NULL OR p_status IN ('scheduled', 'cancelled', 'no_show')
$$;

-- The notes to write when the booking's notes moved from p_last (what
-- calsync last wrote) to p_new: p_new if the notes are still p_last; if the
-- trainer edited them (p_now), their text stays, and only the lines of
-- p_new that are new since p_last (a reschedule reason, a new uid) and not
-- in it yet are added at the end.
CREATE OR REPLACE FUNCTION calsync.merge_notes(p_now text, p_last text,
	p_new text)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF p_now IS NOT DISTINCT FROM p_last THEN
		RETURN p_new;
	END IF;
	RETURN coalesce((SELECT concat_ws(E'\n', nullif(p_now, ''),
	        string_agg(l, E'\n' ORDER BY n))
	    FROM unnest(string_to_array(p_new, E'\n')) WITH ORDINALITY AS x (l, n)
	    WHERE l <> ''
	    AND NOT l = ANY (coalesce(string_to_array(p_last, E'\n'), '{}'))
	    AND NOT l = ANY (coalesce(string_to_array(p_now, E'\n'), '{}'))
	    HAVING count(*) > 0), p_now);
END
$$;

-- Bring the appointments of a booking to what its events say: create the
-- ones missing, and on the others write the fields whose folded value moved
-- since calsync last wrote them.  Returns whether anything was written, an
-- appointment id, why no appointment can be made, if so, and the status of
-- an appointment left as it is because calsync does not write that status
-- (calsync.writes_status), if one would have changed.
DROP FUNCTION IF EXISTS calsync.settle(text[]);
CREATE OR REPLACE FUNCTION calsync.settle(p_uids text[],
	OUT changed boolean, OUT appointment_id uuid, OUT unmatched text,
	OUT kept text)
LANGUAGE plpgsql AS $$
DECLARE
	n	calsync.state;
	w	calsync.state;		-- the booking as a whole
	sh	calsync.settled%ROWTYPE;
	v_id	uuid;
	v_other	uuid;
	v_status text;			-- an appointment's, as it is now
	v_held	text;			-- the status of the one kept (v_id)
	v_moves	boolean;
	v_done	uuid[] := '{}';		-- appointments settled per student
	v_now	timestamp(0) := now() AT TIME ZONE 'UTC';
BEGIN
	changed := false;
	FOR n IN SELECT * FROM calsync.fold(p_uids) LOOP
		IF n.student_id IS NULL THEN
			w := n;
			unmatched := n.unmatched;
			CONTINUE;
		END IF;
		-- Two parts of a booking that met late (a reschedule before its
		-- original) may each have made one: keep the first, drop the
		-- others calsync made.
		v_id := NULL;
		v_held := NULL;
		-- From the booking's uids (an index), never from all of a
		-- student's appointments.
		FOR v_other IN SELECT DISTINCT ON (a.inserted_at, a.id) a.id
		    FROM calsync.bookings b
		    JOIN public.appointments a ON a.id = b.appointment_id
		    WHERE b.uid = ANY (p_uids) AND a.student_id = n.student_id
		    ORDER BY a.inserted_at, a.id LOOP
			SELECT a.status INTO v_status FROM public.appointments a
			WHERE a.id = v_other FOR UPDATE;
			IF v_id IS NULL THEN
				v_id := v_other;
				v_held := v_status;
			ELSE
				-- Never a session the trainer marked held.
				DELETE FROM public.appointments a WHERE a.id = v_other
				    AND calsync.writes_status(a.status)
				    AND EXISTS (SELECT FROM calsync.settled s
				    WHERE s.appointment_id = v_other);
				IF FOUND THEN
					changed := true;
					PERFORM calsync.record_change(v_other,
					    'deleted', NULL, p_uids[1]);
				END IF;
			END IF;
		END LOOP;
		IF v_id IS NULL THEN
			INSERT INTO public.appointments (trainer_id, student_id,
			    scheduled_at, duration_minutes, status, appointment_type,
			    location, notes, cancellation_reason, cancelled_at,
			    inserted_at, updated_at)
			VALUES (n.trainer_id, n.student_id, n.scheduled_at,
			    n.duration_minutes, n.status, n.appointment_type,
			    n.location, n.notes, n.cancellation_reason,
			    n.cancelled_at, v_now, v_now)
			RETURNING id INTO v_id;
			changed := true;
			PERFORM calsync.record_change(v_id, 'created', n.status,
			    p_uids[1]);
		ELSIF NOT calsync.writes_status(v_held) THEN
			-- Left as the trainer marked it, and calsync.settled as
			-- calsync last wrote it.
			SELECT * INTO sh FROM calsync.settled s
			WHERE s.appointment_id = v_id;
			IF (n.scheduled_at, n.duration_minutes, n.location, n.status,
			    n.cancellation_reason, n.cancelled_at, n.notes) IS
			    DISTINCT FROM (sh.scheduled_at, sh.duration_minutes,
			    sh.location, sh.status, sh.cancellation_reason,
			    sh.cancelled_at, sh.notes) THEN
				kept := coalesce(kept, v_held);
			END IF;
		ELSE
			SELECT * INTO sh FROM calsync.settled s
			WHERE s.appointment_id = v_id;
			UPDATE public.appointments a SET
			    scheduled_at = CASE WHEN n.scheduled_at IS DISTINCT FROM
			        sh.scheduled_at THEN n.scheduled_at ELSE a.scheduled_at END,
			    duration_minutes = CASE WHEN n.duration_minutes IS DISTINCT
			        FROM sh.duration_minutes THEN n.duration_minutes
			        ELSE a.duration_minutes END,
			    location = CASE WHEN n.location IS DISTINCT FROM sh.location
			        THEN n.location ELSE a.location END,
			    status = CASE WHEN n.status IS DISTINCT FROM sh.status
			        THEN n.status ELSE a.status END,
			    cancellation_reason = CASE WHEN (n.status,
			        n.cancellation_reason) IS DISTINCT FROM (sh.status,
			        sh.cancellation_reason) THEN n.cancellation_reason
			        ELSE a.cancellation_reason END,
			    cancelled_at = CASE WHEN (n.status, n.cancelled_at) IS
			        DISTINCT FROM (sh.status, sh.cancelled_at)
			        THEN n.cancelled_at ELSE a.cancelled_at END,
			    notes = CASE WHEN n.notes IS DISTINCT FROM sh.notes
			        THEN calsync.merge_notes(a.notes, sh.notes, n.notes)
			        ELSE a.notes END,
			    updated_at = v_now
			WHERE a.id = v_id AND (n.scheduled_at, n.duration_minutes,
			    n.location, n.status, n.cancellation_reason, n.cancelled_at,
			    n.notes) IS DISTINCT FROM (sh.scheduled_at,
			    sh.duration_minutes, sh.location, sh.status,
			    sh.cancellation_reason, sh.cancelled_at, sh.notes);
			IF FOUND THEN
				changed := true;
				PERFORM calsync.record_change(v_id, 'updated',
				    n.status, p_uids[1]);
			END IF;
		END IF;
		IF calsync.writes_status(v_held) THEN
			INSERT INTO calsync.settled AS s VALUES (v_id, n.scheduled_at,
			    n.duration_minutes, n.location, n.status,
			    n.cancellation_reason, n.cancelled_at, n.notes)
			ON CONFLICT ON CONSTRAINT settled_pkey DO UPDATE SET
			    scheduled_at = excluded.scheduled_at,
			    duration_minutes = excluded.duration_minutes,
			    location = excluded.location, status = excluded.status,
			    cancellation_reason = excluded.cancellation_reason,
			    cancelled_at = excluded.cancelled_at, notes = excluded.notes
			WHERE (s.*) IS DISTINCT FROM (excluded.*);
		END IF;
		INSERT INTO calsync.bookings (uid, appointment_id)
		SELECT u, v_id FROM unnest(p_uids) u ON CONFLICT DO NOTHING;
		appointment_id := coalesce(appointment_id, v_id);
		v_done := v_done || v_id;
	END LOOP;

	-- Appointments no event made (the Phoenix handler's): what the events
	-- say of the booking as a whole, where they say something.
	FOR v_id IN SELECT DISTINCT b.appointment_id FROM calsync.bookings b
	    WHERE b.uid = ANY (p_uids) AND NOT b.appointment_id = ANY (v_done)
	LOOP
		SELECT * INTO sh FROM calsync.settled s WHERE s.appointment_id = v_id;
		v_moves := (w.scheduled_at IS NOT NULL OR w.status IS NOT NULL)
		    AND (w.scheduled_at, w.duration_minutes, w.location, w.status)
		    IS DISTINCT FROM (sh.scheduled_at, sh.duration_minutes,
		    sh.location, sh.status);
		SELECT a.status INTO v_status FROM public.appointments a
		WHERE a.id = v_id FOR UPDATE;
		IF v_moves AND NOT calsync.writes_status(v_status) THEN
			kept := coalesce(kept, v_status);
			v_moves := false;
		END IF;
		UPDATE public.appointments a SET
		    scheduled_at = CASE WHEN w.scheduled_at IS DISTINCT FROM
		        sh.scheduled_at THEN w.scheduled_at ELSE a.scheduled_at END,
		    duration_minutes = CASE WHEN w.duration_minutes IS DISTINCT FROM
		        sh.duration_minutes THEN w.duration_minutes
		        ELSE a.duration_minutes END,
		    location = CASE WHEN w.location IS DISTINCT FROM sh.location
		        THEN w.location ELSE a.location END,
		    status = CASE WHEN w.status IS DISTINCT FROM sh.status
		        THEN w.status ELSE a.status END,
		    cancellation_reason = CASE WHEN w.status IS DISTINCT FROM
		        sh.status THEN w.cancellation_reason
		        ELSE a.cancellation_reason END,
		    cancelled_at = CASE WHEN w.status IS DISTINCT FROM sh.status
		        THEN w.cancelled_at ELSE a.cancelled_at END,
		    updated_at = v_now
		WHERE a.id = v_id AND v_moves;
		IF FOUND THEN
			changed := true;
			PERFORM calsync.record_change(v_id, 'updated', w.status,
			    p_uids[1]);
			INSERT INTO calsync.settled AS s (appointment_id,
			    scheduled_at, duration_minutes, location, status)
			VALUES (v_id, w.scheduled_at, w.duration_minutes, w.location,
			    w.status)
			ON CONFLICT ON CONSTRAINT settled_pkey DO UPDATE SET
			    scheduled_at = excluded.scheduled_at,
			    duration_minutes = excluded.duration_minutes,
			    location = excluded.location, status = excluded.status;
		END IF;
		appointment_id := coalesce(appointment_id, v_id);
	END LOOP;
END
$$;

-- What a delivery says when calsync left an appointment as the trainer
-- marked it: ignored, or applied to the booking's other appointments.
-- Outcomes stay the ones calsync knows (src/outcome.c): an older calsync
-- on another host reads them during an upgrade.
CREATE OR REPLACE FUNCTION calsync.kept_detail(p_status text,
	p_applied boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT concat(CASE WHEN p_applied THEN 'applied; ' END,
	    format('the trainer marked the appointment %s in GA Personal: '
	    'calsync leaves it as it is', p_status))
$$;

-- Whether an event is someone leaving a class whose seat has not arrived
-- (Cal.com does not order its deliveries): a student of GA Personal with
-- no appointment of the booking yet.  It is folded in when the seat comes.
CREATE OR REPLACE FUNCTION calsync.seat_unknown(p_event bigint)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
	e	calsync.events%ROWTYPE;
BEGIN
	SELECT * INTO e FROM calsync.events x WHERE x.id = p_event;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN e.trigger = 'BOOKING_CANCELLED'
	    AND cardinality(e.attendee_emails) > 0
	    AND calsync.seated(ARRAY[e.uid])
	    AND EXISTS (SELECT FROM calsync.find_students(NULL,
	        e.attendee_emails) f)
	    AND NOT EXISTS (SELECT FROM calsync.bookings b
	        JOIN public.appointments a ON a.id = b.appointment_id
	        WHERE b.uid = e.uid AND a.student_id IN (SELECT f.id
	        FROM calsync.find_students(NULL, e.attendee_emails) f));
END
$$;

-- A delivery as calsync's worker reads it (src/payload.c's struct
-- delivery, sent by src/store.c's delivery_json): the one list of its
-- fields.  Callers build it by name, from a jsonb object,
--     jsonb_populate_record(NULL::calsync.delivery, '{"trigger": ...}')
-- so a field they do not name is NULL.  start_at is Cal.com's startTime
-- in UTC; recurring is recurringEvent's freq, interval and count;
-- no_show, by attendee, true, false or NULL (unsaid); seat and series
-- are calsync's (calsync.events), not the delivery's.
DROP TYPE IF EXISTS calsync.delivery CASCADE;
CREATE TYPE calsync.delivery AS (
	request_id		text,
	trigger			text,
	created_at		timestamptz,
	uid			text,
	reschedule_uid		text,
	start_at		timestamp(0),
	duration		integer,
	title			text,
	event_type		text,
	event_slug		text,
	description		text,
	booker_notes		text,
	location		text,
	cancellation_reason	text,
	organizer_email		text,
	attendee_emails		text[],
	no_show			boolean[],
	trainer_id		uuid,
	student_id		uuid,
	full_booking		boolean,
	guests			text[],
	reschedule_reason	text,
	attendee_seat_id	text,
	recurring		integer[],
	body_sha256		bytea,
	body			bytea
);

-- The forms of before, with their fields as parameters (schema 5 and
-- older); calsync.delivery replaces them.
DROP FUNCTION IF EXISTS calsync.apply_delivery(text, text, timestamptz,
	text, text, timestamp, integer, text, text, text, text, text, text,
	text, text, text[], boolean[], uuid, uuid, boolean, bytea, bytea);
DROP FUNCTION IF EXISTS calsync.apply_delivery(text, text, timestamptz,
	text, text, timestamp, integer, text, text, text, text, text, text,
	text, text, text[], boolean[], uuid, uuid, boolean, bytea, bytea,
	text[], text);
DROP FUNCTION IF EXISTS calsync.apply_delivery(text, text, timestamptz,
	text, text, timestamp, integer, text, text, text, text, text, text,
	text, text, text[], boolean[], uuid, uuid, boolean, bytea, bytea,
	text[], text, text);
DROP FUNCTION IF EXISTS calsync.apply_delivery(text, text, timestamptz,
	text, text, timestamp, integer, text, text, text, text, text, text,
	text, text, text[], boolean[], uuid, uuid, boolean, bytea, bytea,
	text[], text, text, integer[]);

CREATE OR REPLACE FUNCTION calsync.apply_delivery(d calsync.delivery,
	OUT outcome text, OUT appointment_id uuid, OUT detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off AS $$
DECLARE
	v_clock		timestamptz := coalesce(d.created_at, now()) +
			    make_interval(secs => calsync.trigger_rank(d.trigger) / 1e6);
	v_event		bigint;
	v_uids		text[];
	v_settled	record;
	v_series	text := calsync.series_key(d.organizer_email,
			    d.attendee_emails[1], d.event_slug, d.event_type,
			    d.start_at, d.recurring);
	v_others	text[];		-- the rest of its series
	v_group		text[];
	v_done		text[];
	v_more		record;
	v_changed	boolean;
BEGIN
	-- A BOOKING_REQUESTED without rescheduleUid is a new booking awaiting
	-- confirmation: its BOOKING_CREATED comes if the trainer accepts.  An
	-- occurrence of a series is recorded: the approval names only the
	-- first one.
	IF d.uid IS NULL OR calsync.trigger_rank(d.trigger) IS NULL OR
	    (d.trigger = 'BOOKING_REQUESTED' AND d.reschedule_uid IS NULL AND
	    v_series IS NULL) THEN
		outcome := 'ignored';
		detail := CASE d.trigger WHEN 'PING' THEN 'ping received'
		    WHEN 'BOOKING_REQUESTED' THEN 'booking requested: its '
		        'appointment is made when the trainer confirms it'
		    END;
	ELSE
		-- The deliveries of one series one after the other: each sees
		-- what the others wrote (an approval and a request at once would
		-- each miss the other).  Then the booking and the rest of its
		-- series, in lock_booking's one order.
		IF v_series IS NOT NULL THEN
			PERFORM pg_advisory_xact_lock(hashtextextended(v_series,
			    7710586));
			v_others := ARRAY(SELECT DISTINCT x.uid FROM calsync.events x
			    WHERE x.series = v_series);
		END IF;
		-- What lock_booking locked is the booking's closure, when
		-- no other occurrence joined it.
		v_uids := calsync.lock_booking(ARRAY[d.uid, d.reschedule_uid] ||
		    coalesce(v_others, '{}'));
		IF cardinality(v_others) > 0 THEN
			v_uids := calsync.linked_uids(ARRAY[d.uid, d.reschedule_uid]);
		END IF;
		INSERT INTO calsync.events AS e (body_sha256, trigger, clock, uid,
		    reschedule_uid, start_at, duration, title, event_type,
		    event_slug, description, booker_notes, location,
		    cancellation_reason, organizer_email, attendee_emails, no_show,
		    trainer_id, student_id, full_booking, guests, reschedule_reason,
		    attendee_seat_id, seat, series, recurring)
		VALUES (d.body_sha256, d.trigger, v_clock, d.uid, d.reschedule_uid,
		    d.start_at, d.duration, d.title, d.event_type, d.event_slug,
		    d.description, d.booker_notes, d.location,
		    d.cancellation_reason, d.organizer_email, d.attendee_emails,
		    d.no_show, d.trainer_id, d.student_id, d.full_booking, d.guests,
		    d.reschedule_reason, d.attendee_seat_id,
		    coalesce(d.attendee_seat_id, lower(d.attendee_emails[1])),
		    v_series, d.recurring)
		ON CONFLICT (body_sha256) DO NOTHING
		RETURNING e.id INTO v_event;
		-- A body seen before changes nothing, but may still make an
		-- appointment it could not make then (a student registered since).
		SELECT * INTO v_settled FROM calsync.settle(v_uids);
		appointment_id := v_settled.appointment_id;
		-- The other occurrences of its series, each its own booking:
		-- "cancel all remaining" and an approval change them (fold).
		v_changed := v_settled.changed;
		v_done := v_uids;
		FOR i IN 1 .. coalesce(cardinality(v_others), 0) LOOP
			CONTINUE WHEN v_others[i] = ANY (v_done);
			v_group := calsync.linked_uids(ARRAY[v_others[i]]);
			v_done := v_done || v_group;
			SELECT * INTO v_more FROM calsync.settle(v_group);
			v_changed := v_changed OR v_more.changed;
		END LOOP;
		outcome := CASE
		    WHEN v_changed THEN 'applied'
		    WHEN v_event IS NULL THEN 'duplicate'
		    WHEN v_settled.kept IS NOT NULL THEN 'ignored'
		    WHEN v_settled.unmatched IS NOT NULL THEN 'unmatched'
		    WHEN d.trigger = 'BOOKING_REQUESTED' AND d.reschedule_uid IS NULL
		        AND v_settled.appointment_id IS NULL THEN 'ignored'
		    WHEN v_settled.appointment_id IS NULL THEN 'pending'
		    WHEN calsync.seat_unknown(v_event) THEN 'pending'
		    WHEN v_clock < (SELECT max(e.clock) FROM calsync.events e
		        WHERE e.uid = ANY (v_uids) AND e.id <> v_event) THEN 'stale'
		    ELSE 'duplicate' END;
		detail := CASE
		    WHEN v_settled.kept IS NOT NULL AND outcome IN ('applied',
		        'ignored') THEN calsync.kept_detail(v_settled.kept,
		        outcome = 'applied')
		    WHEN outcome = 'ignored' THEN 'booking requested: its '
		        'appointment is made when the trainer confirms it'
		    ELSE CASE outcome
		    WHEN 'duplicate' THEN 'nothing to change'
		    WHEN 'unmatched' THEN v_settled.unmatched
		    WHEN 'pending' THEN CASE WHEN v_settled.appointment_id IS NULL
		        THEN 'booking not known yet; this change is '
		        'kept and applied when it arrives'
		        ELSE 'this seat of the class not known yet; its leaving is '
		        'kept and applied when the seat arrives' END
		    WHEN 'stale' THEN 'older than a change already applied to '
		        'this booking'
		    END END;
		IF v_event IS NULL THEN
			SELECT e.id INTO v_event FROM calsync.events e
			WHERE e.body_sha256 = d.body_sha256;
		END IF;
	END IF;

	INSERT INTO calsync.deliveries (request_id, trigger, uid,
	    event_created_at, body_sha256, event_id, outcome, detail,
	    appointment_id, body)
	VALUES (d.request_id, d.trigger, coalesce(d.uid, d.reschedule_uid),
	    d.created_at, d.body_sha256, v_event, outcome, detail,
	    apply_delivery.appointment_id, d.body);
END
$$;

-- calsyncctl replay: a delivery kept as unmatched (its student registered
-- since, say) is settled again with the same rules; its journal row says
-- what became of it.  Replaying twice changes nothing.
CREATE OR REPLACE FUNCTION calsync.replay(p_delivery bigint,
	OUT outcome text, OUT detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off AS $$
DECLARE
	v_event		calsync.events%ROWTYPE;
	v_settled	record;
BEGIN
	SELECT e.* INTO v_event FROM calsync.deliveries d
	JOIN calsync.events e ON e.id = d.event_id WHERE d.id = p_delivery;
	IF v_event.id IS NULL THEN
		outcome := 'internal';
		detail := 'no such delivery, or one calsync could not read';
		RETURN;
	END IF;
	SELECT * INTO v_settled FROM calsync.settle(calsync.lock_booking(
	    ARRAY[v_event.uid, v_event.reschedule_uid]));
	outcome := CASE WHEN v_settled.unmatched IS NOT NULL THEN 'unmatched'
	    WHEN v_settled.changed THEN 'applied'
	    WHEN v_settled.kept IS NOT NULL THEN 'ignored' ELSE 'duplicate' END;
	detail := coalesce(v_settled.unmatched, CASE WHEN v_settled.kept
	    IS NOT NULL THEN calsync.kept_detail(v_settled.kept,
	    v_settled.changed) END, 'replayed');
	UPDATE calsync.deliveries d SET outcome = replay.outcome,
	    detail = replay.detail, replayed_at = now(),
	    appointment_id = v_settled.appointment_id
	WHERE d.id = p_delivery;
END
$$;

-- Pending deliveries (a change to a booking calsync has not seen), looked
-- at by every host's notifier once a minute; safe to run anywhere at once.
-- Those whose booking has arrived since were folded in with it: journaled
-- applied.  Those older than p_lifetime whose booking never came (a cancel
-- or reject of a request never confirmed) are settled as expired, so that
-- what stays pending is what may still arrive.  A booking that came but is
-- unmatched keeps its changes pending: its replay applies them.  An
-- expired event stays in calsync.events, as the journal is history: if its
-- booking does come later, it is applied as usual and the expired change
-- is folded in its clock order.  Returns how many were settled each way,
-- and how many stay pending.
CREATE OR REPLACE FUNCTION calsync.expire_pending(p_lifetime interval,
	OUT arrived bigint, OUT expired bigint, OUT pending bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE calsync.deliveries d SET outcome = 'applied',
	    detail = 'applied when its booking arrived',
	    appointment_id = (SELECT b.appointment_id FROM calsync.bookings b
	        WHERE b.uid = d.uid ORDER BY b.linked_at, b.appointment_id
	        LIMIT 1)
	WHERE d.outcome = 'pending'
	    AND EXISTS (SELECT FROM calsync.bookings b WHERE b.uid = d.uid)
	    AND NOT calsync.seat_unknown(d.event_id);
	GET DIAGNOSTICS arrived = ROW_COUNT;
	UPDATE calsync.deliveries d SET outcome = 'expired',
	    detail = format('its %s never arrived within %s days: '
	        'nothing to apply it to (kept; applied if it still comes)',
	        CASE WHEN calsync.seat_unknown(d.event_id)
	        THEN 'seat of the class' ELSE 'booking' END,
	        extract(day FROM p_lifetime))
	WHERE d.outcome = 'pending' AND d.received_at < now() - p_lifetime
	    AND (NOT EXISTS (SELECT FROM calsync.events e
	        WHERE (e.uid = d.uid OR e.reschedule_uid = d.uid)
	        AND e.full_booking AND e.trigger IN ('BOOKING_CREATED',
	        'BOOKING_RESCHEDULED'))
	    OR calsync.seat_unknown(d.event_id));
	GET DIAGNOSTICS expired = ROW_COUNT;
	SELECT count(*) INTO pending FROM calsync.deliveries d
	WHERE d.outcome = 'pending';
END
$$;

-- Least privilege: read users, write appointments and calsync's own
-- tables, nothing else.  Give the role a login and password yourself:
--     ALTER ROLE calsync LOGIN PASSWORD '...';
GRANT USAGE ON SCHEMA calsync TO calsync;
GRANT SELECT ON public.users TO calsync;
-- DELETE: only of appointments calsync made twice for one booking (settle).
GRANT SELECT, INSERT, UPDATE, DELETE ON public.appointments TO calsync;
GRANT SELECT ON calsync.schema_version, calsync.event_types TO calsync;
GRANT SELECT, INSERT ON calsync.bookings, calsync.events TO calsync;
GRANT SELECT, INSERT, UPDATE ON calsync.settled TO calsync;
GRANT SELECT, INSERT, DELETE ON calsync.changes TO calsync;
GRANT SELECT, INSERT ON calsync.deliveries TO calsync;
GRANT UPDATE (outcome, detail, replayed_at, appointment_id)
	ON calsync.deliveries TO calsync;
GRANT USAGE ON SEQUENCE calsync.deliveries_id_seq, calsync.events_id_seq,
	calsync.changes_id_seq TO calsync;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA calsync FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA calsync TO calsync;

COMMIT;
