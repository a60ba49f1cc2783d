-- apply.sql: the functions calsync calls for a delivery: apply_delivery
-- (journal it, record its event, settle its booking), replay and
-- expire_pending, with the one type a delivery arrives as.  Read by
-- calsync.sql.

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
-- expression): any other SQL function is planned at every call.  And no
-- statement is compiled (jit off): a lookup never repays it, and one that
-- could only read a table whole costs more than jit_above_cost with
-- enable_seqscan off, and would be compiled at every execution.

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
	v_ids	uuid[];
BEGIN
	SELECT * INTO e FROM calsync.events x WHERE x.id = p_event;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF e.trigger <> 'BOOKING_CANCELLED' OR
	    coalesce(cardinality(e.attendee_emails), 0) = 0 OR
	    NOT calsync.seated(ARRAY(SELECT x FROM calsync.events x
	    WHERE x.uid = e.uid)) THEN
		RETURN false;
	END IF;
	v_ids := (calsync.find_students(NULL, e.attendee_emails)).ids;
	RETURN v_ids IS NOT NULL AND NOT EXISTS (SELECT FROM calsync.bookings b
	    JOIN public.appointments a ON a.id = b.appointment_id
	    WHERE b.uid = e.uid AND a.student_id = ANY (v_ids));
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
SET enable_mergejoin = off SET jit = off AS $$
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
		v_settled := calsync.settle(v_uids);
		appointment_id := v_settled.appointment_id;
		-- The other occurrences of its series, each its own booking:
		-- "cancel all remaining" and an approval change them (fold).
		v_changed := v_settled.changed;
		v_done := v_uids;
		FOR i IN 1 .. coalesce(cardinality(v_others), 0) LOOP
			CONTINUE WHEN v_others[i] = ANY (v_done);
			v_group := calsync.linked_uids(ARRAY[v_others[i]]);
			v_done := v_done || v_group;
			v_more := calsync.settle(v_group);
			v_changed := v_changed OR v_more.changed;
		END LOOP;
		outcome := CASE
		    WHEN v_changed THEN 'applied'
		    WHEN v_event IS NULL THEN 'duplicate'
		    WHEN v_settled.kept IS NOT NULL THEN 'ignored'
		    WHEN v_settled.unmatched IS NOT NULL THEN 'unmatched'
		    WHEN d.trigger = 'BOOKING_REQUESTED' AND d.reschedule_uid IS NULL
		        AND v_settled.appointment_id IS NULL THEN 'ignored'
		    WHEN v_settled.appointment_id IS NULL THEN 'pending' END;
		-- The outcomes that need a query, apart: the CASE above is a
		-- simple expression, evaluated without starting the executor.
		IF outcome IS NULL THEN
			outcome := CASE
			    WHEN calsync.seat_unknown(v_event) THEN 'pending'
			    WHEN v_clock < (SELECT max(e.clock) FROM calsync.events e
			        WHERE e.uid = ANY (v_uids) AND e.id <> v_event)
			        THEN 'stale'
			    ELSE 'duplicate' END;
		END IF;
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
SET enable_mergejoin = off SET jit = off AS $$
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
