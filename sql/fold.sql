-- fold.sql: what a booking's events say its appointments should be
-- (calsync.fold), with the rules it needs: the rank of each trigger, group
-- classes, weekly series, cancels.  Read by calsync.sql.

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
	event_types		text[],	-- its event type's title and slug
	notes			text,
	unmatched		text
);

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

-- Whether a booking is a group class, from its events: a seat id was
-- sent, or one uid had BOOKING_CREATED for two different people (a Cal.com
-- that sends no attendeeSeatId).  A plain booking's cancel cancels it
-- whole, whoever it names; a class's cancel that names people is those
-- people leaving.
DROP FUNCTION IF EXISTS calsync.seated(text[]);
CREATE OR REPLACE FUNCTION calsync.seated(p_events calsync.events[])
RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	e	calsync.events;
	v_uids	text[] := '{}';		-- each uid's first seat booked
	v_seats	text[] := '{}';
	i	integer;
BEGIN
	FOREACH e IN ARRAY coalesce(p_events, '{}') LOOP
		IF e.attendee_seat_id IS NOT NULL THEN
			RETURN true;
		END IF;
		CONTINUE WHEN e.trigger <> 'BOOKING_CREATED' OR NOT e.full_booking
		    OR e.seat IS NULL;
		i := array_position(v_uids, e.uid);
		IF i IS NULL THEN
			v_uids := v_uids || e.uid;
			v_seats := v_seats || e.seat;
		ELSIF v_seats[i] <> e.seat THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
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
		cancelled_at := date_trunc('second', p_event.clock AT TIME ZONE 'UTC');
	END IF;
	status := 'cancelled';
	reason := coalesce(nullif(p_event.cancellation_reason, ''), reason,
	    'Cancelled via Cal.com');
END
$$;

-- The appointments the events of a booking make, folded in clock order.
-- A group class makes one per seat: each student from the BOOKING_CREATED
-- of their seat, cancelled when they leave (or the class is cancelled
-- whole); a booking's other fields are the class's, shared.  The booking
-- as a whole comes first.  An array, not a set of rows: its caller assigns
-- it without a query of its own.
DROP FUNCTION IF EXISTS calsync.fold(text[]);
CREATE OR REPLACE FUNCTION calsync.fold(p_uids text[])
RETURNS calsync.state[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_out		calsync.state[];
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
	-- The booking's own events, in clock order: the one read of them.
	v_events	calsync.events[] := ARRAY(SELECT x FROM calsync.events x
			    WHERE x.uid = ANY (p_uids) ORDER BY x.clock, x.id);
	v_seated	boolean := calsync.seated(v_events);
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
	FOREACH e IN ARRAY v_events LOOP
		IF e.series IS NOT NULL AND e.full_booking AND e.trigger IN
		    ('BOOKING_CREATED', 'BOOKING_REQUESTED') THEN
			v_own := e;
			EXIT;
		END IF;
	END LOOP;
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
	IF v_own.series IS NOT NULL THEN
		v_events := ARRAY(SELECT s.e FROM (SELECT x FROM unnest(v_events) x
		    UNION ALL
		    SELECT x FROM calsync.events x WHERE x.series = v_own.series
		    AND NOT x.uid = ANY (p_uids) AND x.clock > v_own.clock
		    AND (x.trigger = 'BOOKING_CANCELLED'
		    OR (x.trigger = 'BOOKING_CREATED' AND v_request AND
		        v_own.start_at >= x.start_at AND v_own.start_at < x.start_at +
		        calsync.series_step(x.recurring) *
		        (greatest(coalesce(x.recurring[3], 1), 1) - 1) +
		        interval '12 hours'))) s (e)
		    ORDER BY (s.e).clock, (s.e).id);
	END IF;
	FOREACH e IN ARRAY v_events LOOP
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
			IF v_seated AND e.full_booking THEN
				f := calsync.find_students(e.student_id,
				    e.attendee_emails);
				FOR j IN 1 .. coalesce(cardinality(f.ids), 0) LOOP
					i := array_position(v_ids, f.ids[j]);
					IF i IS NULL THEN
						v_ids := array_append(v_ids, f.ids[j]);
						v_emails := array_append(v_emails,
						    f.emails[j]);
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
			END IF;
		WHEN 'BOOKING_RESCHEDULED', 'BOOKING_REQUESTED' THEN
		    -- A BOOKING_REQUESTED without rescheduleUid is an occurrence
		    -- of a series awaiting approval: nothing until the series is
		    -- approved (above).
		    IF e.trigger = 'BOOKING_RESCHEDULED' OR
			e.reschedule_uid IS NOT NULL THEN
			-- Also after a cancel: "request reschedule" then a new time
			-- brings the session back.  A BOOKING_REQUESTED here is a
			-- reschedule awaiting the trainer's confirmation: Cal.com
			-- has already cancelled the original, and GA Personal has
			-- no pending status, so the session moves to the new time
			-- now; the BOOKING_CREATED of the accept then changes
			-- nothing, a BOOKING_REJECTED cancels it (at the requested
			-- time, with the trainer's reason).
			v_start := e.start_at;
			v_duration := coalesce(e.duration, v_duration);
			v_location := coalesce(e.location, v_location);
			v_status := 'scheduled';
			v_reason := NULL;
			v_cancelled := NULL;
			v_noshow := '{}';
		    END IF;
		WHEN 'BOOKING_CANCELLED', 'BOOKING_REJECTED' THEN
		    IF v_seated AND e.trigger = 'BOOKING_CANCELLED' AND
			(e.attendee_seat_id IS NOT NULL OR
			cardinality(e.attendee_emails) > 0) THEN
			-- People leaving a class: Cal.com names only them (the
			-- last one too: it then cancels the booking, naming who
			-- was left).  Their metadata is the booker's: by email.
			f := calsync.find_students(NULL, e.attendee_emails);
			FOR i IN 1 .. coalesce(cardinality(v_ids), 0) LOOP
				IF v_left[i] IS NULL AND (v_seats[i] =
				    e.attendee_seat_id OR v_ids[i] = ANY (f.ids)) THEN
					v_left[i] := date_trunc('second', e.clock AT TIME ZONE 'UTC');
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
				-- Unsaid (null) leaves the attendee as they were.
				CONTINUE WHEN e.no_show[i] IS NULL;
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
			f := calsync.find_students(v_base.student_id,
			    v_base.attendee_emails);
			v_ids := f.ids;
			v_emails := f.emails;
		END IF;
		IF v_trainer IS NOT NULL AND v_ids IS NULL THEN
			r.unmatched := calsync.unmatched_reason('student',
			    v_base.student_id, v_base.attendee_emails);
		END IF;
	END IF;
	v_out := ARRAY[r];	-- the booking as a whole
	-- v_status NULL: only requests, not approved.
	IF v_base.id IS NULL OR r.unmatched IS NOT NULL OR v_status IS NULL THEN
		RETURN v_out;
	END IF;

	r.trainer_id := v_trainer;
	r.scheduled_at := coalesce(v_start, v_base.start_at);
	r.duration_minutes := coalesce(v_duration, 60);
	r.event_types := ARRAY[lower(v_base.event_type), lower(v_base.event_slug)];
	FOR i IN 1 .. cardinality(v_ids) LOOP
		r.student_id := v_ids[i];
		-- Notes: the "cal.com:<uid>" lines (the Phoenix app finds
		-- bookings by them), the title, and what is this booking's own:
		-- the booker's notes (in a class, what this student wrote on
		-- their seat) and guests as booked, and the reschedule reasons.
		-- Never the event type's description, the same for every
		-- booking of the type.
		r.notes := concat_ws(E'\n',
		    'cal.com:' || nullif(array_to_string(v_uids, E'\ncal.com:'), ''),
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
		v_out := v_out || r;
	END LOOP;
	RETURN v_out;
END
$$;
