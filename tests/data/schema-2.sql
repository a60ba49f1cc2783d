-- tests/data/schema-2.sql: sql/calsync.sql as of commit ef00fa4 (2026-12-01,
-- "tests/pending.sh: a reject of a request never confirmed expires ..."),
-- the last commit whose calsync.sql recorded schema version 2 at its top:
--     git show ef00fa4:sql/calsync.sql
-- Kept unchanged below this header so that tests/upgrade.sh can make a
-- database at schema version 2, with data put in through that version's
-- own apply_delivery, and upgrade it in place with today's sql/calsync.sql.
-- Never loaded by calsync itself.

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
INSERT INTO calsync.schema_version (version) VALUES (1), (2)
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
	-- the same millisecond are ordered CREATED < RESCHEDULED < location and
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
-- set search_path (and the plans they cache); the functions they call run
-- under those settings.  A SET clause on each of those too was saved and
-- restored at every call: a fifth of PostgreSQL's time a delivery (pgbench
-- with calsync's statement, one client).

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

CREATE OR REPLACE FUNCTION calsync.trigger_rank(p_trigger text)
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p_trigger
	    WHEN 'BOOKING_CREATED' THEN 1
	    WHEN 'BOOKING_RESCHEDULED' THEN 2
	    WHEN 'BOOKING_NO_SHOW_UPDATED' THEN 4
	    WHEN 'BOOKING_CANCELLED' THEN 5
	    WHEN 'BOOKING_REJECTED' THEN 5
	    ELSE 3 END
$$;

-- The appointments the events of a booking make, folded in clock order.
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
	r		calsync.state;
	i		integer;
BEGIN
	FOR e IN SELECT * FROM calsync.events x WHERE x.uid = ANY (p_uids)
	    ORDER BY x.clock, x.id LOOP
		IF NOT e.uid = ANY (v_uids) THEN
			v_uids := v_uids || e.uid;
		END IF;
		IF v_base.id IS NULL AND e.full_booking AND e.trigger IN
		    ('BOOKING_CREATED', 'BOOKING_RESCHEDULED') THEN
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
		WHEN 'BOOKING_RESCHEDULED' THEN
			-- Also after a cancel: "request reschedule" then a new time
			-- brings the session back.
			v_start := e.start_at;
			v_duration := coalesce(e.duration, v_duration);
			v_location := coalesce(e.location, v_location);
			v_status := 'scheduled';
			v_reason := NULL;
			v_cancelled := NULL;
			v_noshow := '{}';
		WHEN 'BOOKING_CANCELLED', 'BOOKING_REJECTED' THEN
			IF v_status IS DISTINCT FROM 'cancelled' THEN
				v_cancelled := e.clock AT TIME ZONE 'UTC';
			END IF;
			v_status := 'cancelled';
			v_reason := coalesce(nullif(e.cancellation_reason, ''),
			    v_reason, 'Cancelled via Cal.com');
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
		SELECT array_agg(f.id ORDER BY f.n), array_agg(f.email ORDER BY f.n)
		INTO v_ids, v_emails
		FROM calsync.find_students(v_base.student_id,
		    v_base.attendee_emails) WITH ORDINALITY AS f (id, email, n);
		IF v_trainer IS NOT NULL AND v_ids IS NULL THEN
			r.unmatched := calsync.unmatched_reason('student',
			    v_base.student_id, v_base.attendee_emails);
		END IF;
	END IF;
	RETURN NEXT r;		-- the booking as a whole
	IF v_base.id IS NULL OR r.unmatched IS NOT NULL THEN
		RETURN;
	END IF;

	r.trainer_id := v_trainer;
	r.scheduled_at := coalesce(v_start, v_base.start_at);
	r.duration_minutes := coalesce(v_duration, 60);
	r.appointment_type := (SELECT t.appointment_type
	    FROM calsync.event_types t
	    WHERE t.name IN (lower(v_base.event_type), lower(v_base.event_slug))
	    ORDER BY t.name = lower(v_base.event_type) DESC LIMIT 1);
	r.notes := concat_ws(E'\n',
	    (SELECT string_agg('cal.com:' || u, E'\n' ORDER BY n)
	     FROM unnest(v_uids) WITH ORDINALITY AS x (u, n)),
	    nullif(v_base.title, ''), nullif(v_base.description, ''),
	    nullif(nullif(v_base.booker_notes, ''), v_base.description));
	FOR i IN 1 .. cardinality(v_ids) LOOP
		r.student_id := v_ids[i];
		r.status := CASE WHEN v_status = 'cancelled' THEN 'cancelled'
		    WHEN (v_noshow ->> v_emails[i])::boolean THEN 'no_show'
		    ELSE 'scheduled' END;
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
			        THEN n.notes ELSE a.notes END,
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
	p_organizer_email text, p_attendee_emails text[], p_no_show boolean[],
	p_trainer_id uuid, p_student_id uuid, p_full_booking boolean,
	p_body_sha256 bytea, p_body bytea,
	OUT outcome text, OUT appointment_id uuid, OUT detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
-- Its statements and those of the functions it calls are planned once per
-- connection: a plan made for one delivery's values would be no better.
-- (A plan is made again when ANALYZE renews its tables' statistics.)
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
	v_clock		timestamptz := coalesce(p_created_at, now()) +
			    make_interval(secs => calsync.trigger_rank(p_trigger) / 1e6);
	v_event		bigint;
	v_uids		text[];
	v_settled	record;
BEGIN
	IF p_uid IS NULL OR p_trigger NOT IN ('BOOKING_CREATED',
	    'BOOKING_RESCHEDULED', 'BOOKING_CANCELLED', 'BOOKING_REJECTED',
	    'BOOKING_NO_SHOW_UPDATED', 'BOOKING_LOCATION_UPDATED',
	    'BOOKING_PAID', 'BOOKING_PAYMENT_INITIATED') THEN
		outcome := 'ignored';
		detail := CASE p_trigger WHEN 'PING' THEN 'ping received'
		    WHEN 'BOOKING_REQUESTED' THEN 'booking requested: its '
		        'appointment is made when the trainer confirms it'
		    END;
	ELSE
		v_uids := calsync.lock_booking(ARRAY[p_uid, p_reschedule_uid]);
		INSERT INTO calsync.events AS e (body_sha256, trigger, clock, uid,
		    reschedule_uid, start_at, duration, title, event_type,
		    event_slug, description, booker_notes, location,
		    cancellation_reason, organizer_email, attendee_emails, no_show,
		    trainer_id, student_id, full_booking)
		VALUES (p_body_sha256, p_trigger, v_clock, p_uid, p_reschedule_uid,
		    p_start, p_duration, p_title, p_event_type, p_event_slug,
		    p_description, p_booker_notes, p_location,
		    p_cancellation_reason, p_organizer_email, p_attendee_emails,
		    p_no_show, p_trainer_id, p_student_id, p_full_booking)
		ON CONFLICT (body_sha256) DO NOTHING
		RETURNING e.id INTO v_event;
		-- A body seen before changes nothing, but may still make an
		-- appointment it could not make then (a student registered since).
		SELECT * INTO v_settled FROM calsync.settle(v_uids);
		appointment_id := v_settled.appointment_id;
		outcome := CASE
		    WHEN v_settled.changed THEN 'applied'
		    WHEN v_event IS NULL THEN 'duplicate'
		    WHEN v_settled.kept IS NOT NULL THEN 'ignored'
		    WHEN v_settled.unmatched IS NOT NULL THEN 'unmatched'
		    WHEN v_settled.appointment_id IS NULL THEN 'pending'
		    WHEN v_clock < (SELECT max(e.clock) FROM calsync.events e
		        WHERE e.uid = ANY (v_uids) AND e.id <> v_event) THEN 'stale'
		    ELSE 'duplicate' END;
		detail := CASE
		    WHEN v_settled.kept IS NOT NULL AND outcome IN ('applied',
		        'ignored') THEN calsync.kept_detail(v_settled.kept,
		        outcome = 'applied')
		    ELSE CASE outcome
		    WHEN 'duplicate' THEN 'nothing to change'
		    WHEN 'unmatched' THEN v_settled.unmatched
		    WHEN 'pending' THEN 'booking not known yet; this change is '
		        'kept and applied when it arrives'
		    WHEN 'stale' THEN 'older than a change already applied to '
		        'this booking'
		    END END;
		IF v_event IS NULL THEN
			SELECT e.id INTO v_event FROM calsync.events e
			WHERE e.body_sha256 = p_body_sha256;
		END IF;
	END IF;

	INSERT INTO calsync.deliveries (request_id, trigger, uid,
	    event_created_at, body_sha256, event_id, outcome, detail,
	    appointment_id, body)
	VALUES (p_request_id, p_trigger, coalesce(p_uid, p_reschedule_uid),
	    p_created_at, p_body_sha256, v_event, outcome, detail,
	    apply_delivery.appointment_id, p_body);
END
$$;

-- calsyncctl replay: a delivery kept as unmatched (its student registered
-- since, say) is settled again with the same rules; its journal row says
-- what became of it.  Replaying twice changes nothing.
CREATE OR REPLACE FUNCTION calsync.replay(p_delivery bigint,
	OUT outcome text, OUT detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan AS $$
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
	    AND EXISTS (SELECT FROM calsync.bookings b WHERE b.uid = d.uid);
	GET DIAGNOSTICS arrived = ROW_COUNT;
	UPDATE calsync.deliveries d SET outcome = 'expired',
	    detail = format('its booking never arrived within %s days: '
	        'nothing to apply it to (kept; applied if it still comes)',
	        extract(day FROM p_lifetime))
	WHERE d.outcome = 'pending' AND d.received_at < now() - p_lifetime
	    AND NOT EXISTS (SELECT FROM calsync.events e
	        WHERE (e.uid = d.uid OR e.reschedule_uid = d.uid)
	        AND e.full_booking AND e.trigger IN ('BOOKING_CREATED',
	        'BOOKING_RESCHEDULED'));
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
