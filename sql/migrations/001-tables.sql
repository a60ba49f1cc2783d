-- 001-tables.sql: schema version 1, calsync's first tables: the event
-- type map, the events of each booking, the uids of each appointment,
-- what calsync last wrote on each, and the journal of deliveries, as they
-- stood when version 2 came.  Run once, by tables.sql.

-- Cal.com event type (title or slug, any case) -> appointments.appointment_type.
-- The operator edits this table; unmapped event types leave the column NULL.
CREATE TABLE calsync.event_types (
	name		text PRIMARY KEY,
	appointment_type varchar(255) NOT NULL
);
INSERT INTO calsync.event_types (name, appointment_type) VALUES
	('personal training session', 'training'),
	('personal-training-session', 'training'),
	('physical assessment', 'assessment'),
	('physical-assessment', 'assessment'),
	('trial session', 'trial'),
	('trial-session', 'trial');

-- Every distinct verified booking event (one per body), parsed.  Cal.com
-- does not order its deliveries, so an appointment is never edited event by
-- event: it is the fold of all the events of its booking in clock order
-- (calsync.fold), and a new event writes what it changes in that fold.
CREATE TABLE calsync.events (
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
CREATE INDEX events_uid_index ON calsync.events (uid);
CREATE INDEX events_reschedule_uid_index ON calsync.events (reschedule_uid);

-- A Cal.com booking uid -> the appointments it became: one per student of
-- the booking.  A reschedule adds the new uid beside the original.
CREATE TABLE calsync.bookings (
	uid			text NOT NULL,
	appointment_id		uuid NOT NULL REFERENCES public.appointments (id)
				ON DELETE CASCADE,
	linked_at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (uid, appointment_id)
);
CREATE INDEX bookings_appointment_id_index ON calsync.bookings (appointment_id);

-- What calsync last wrote on each appointment: a change writes only the
-- fields where the booking's fold moved away from this, so what the trainer
-- edited in GA Personal stays unless Cal.com changes it again.
CREATE TABLE calsync.settled (
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
CREATE TABLE calsync.deliveries (
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
CREATE INDEX deliveries_uid_index ON calsync.deliveries (uid);
CREATE INDEX deliveries_replay_index ON calsync.deliveries (outcome)
	WHERE outcome IN ('unmatched', 'internal');
