-- tables.sql: calsync's tables, in the schema "calsync", and the role
-- "calsync": the journal of deliveries, the events they carried, the uids
-- of each appointment, and what calsync last wrote on each.  Read by
-- calsync.sql, in its transaction.

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
