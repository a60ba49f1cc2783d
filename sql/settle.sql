-- settle.sql: the appointments of a booking brought to what its events
-- say (calsync.settle), keeping what the trainer edited.  Read by
-- calsync.sql.

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

-- Remember what calsync did to appointment p_id (p_change: created,
-- updated or deleted), in one statement: the change, for the notifier
-- (calsync.changes, sql/notify.sql), and what it wrote there, the fields
-- of n, unless it deleted it (calsync.settled).
DROP FUNCTION IF EXISTS calsync.remember(uuid, calsync.state);
DROP FUNCTION IF EXISTS calsync.record_change(uuid, text, text, text);
CREATE OR REPLACE FUNCTION calsync.remember(p_id uuid, p_change text,
	n calsync.state, p_uid text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	WITH change AS (INSERT INTO calsync.changes (appointment_id, change,
	    status, uid) VALUES (p_id, p_change, n.status, p_uid))
	INSERT INTO calsync.settled AS s SELECT p_id, n.scheduled_at,
	    n.duration_minutes, n.location, n.status, n.cancellation_reason,
	    n.cancelled_at, n.notes
	WHERE p_change <> 'deleted'
	ON CONFLICT ON CONSTRAINT settled_pkey DO UPDATE SET
	    scheduled_at = excluded.scheduled_at,
	    duration_minutes = excluded.duration_minutes,
	    location = excluded.location, status = excluded.status,
	    cancellation_reason = excluded.cancellation_reason,
	    cancelled_at = excluded.cancelled_at, notes = excluded.notes;
END
$$;

-- Write on appointment a (read and locked by calsync.settle) the fields
-- of n that moved since calsync last wrote them (calsync.settled): what
-- the trainer edited stays unless Cal.com changes that field again.  n
-- for the booking as a whole (an appointment no event made: student_id
-- NULL) says only what its events say: where it has no time, length,
-- place or status, those stay, and it never writes notes.  Returns
-- whether it wrote, and the status of the appointment when it left it as
-- it is because calsync does not write that status
-- (calsync.writes_status).
DROP FUNCTION IF EXISTS calsync.write_moved(uuid, calsync.state, text);
CREATE OR REPLACE FUNCTION calsync.write_moved(a public.appointments,
	n calsync.state, p_uid text, OUT changed boolean, OUT kept text)
LANGUAGE plpgsql AS $$
DECLARE
	sh	calsync.settled%ROWTYPE;
	v_now	timestamp(0) := now() AT TIME ZONE 'UTC';
BEGIN
	changed := false;
	SELECT * INTO sh FROM calsync.settled s WHERE s.appointment_id = a.id;
	IF n.student_id IS NULL THEN
		n.scheduled_at := coalesce(n.scheduled_at, sh.scheduled_at);
		n.duration_minutes := coalesce(n.duration_minutes,
		    sh.duration_minutes);
		n.location := coalesce(n.location, sh.location);
		n.status := coalesce(n.status, sh.status);
		n.notes := sh.notes;
	END IF;
	IF (n.scheduled_at, n.duration_minutes, n.location, n.status,
	    n.cancellation_reason, n.cancelled_at, n.notes) IS NOT DISTINCT FROM
	    (sh.scheduled_at, sh.duration_minutes, sh.location, sh.status,
	    sh.cancellation_reason, sh.cancelled_at, sh.notes) THEN
		RETURN;
	END IF;
	IF NOT calsync.writes_status(a.status) THEN
		kept := a.status;
		RETURN;
	END IF;
	UPDATE public.appointments x SET
	    scheduled_at = CASE WHEN n.scheduled_at IS DISTINCT FROM
	        sh.scheduled_at THEN n.scheduled_at ELSE x.scheduled_at END,
	    duration_minutes = CASE WHEN n.duration_minutes IS DISTINCT
	        FROM sh.duration_minutes THEN n.duration_minutes
	        ELSE x.duration_minutes END,
	    location = CASE WHEN n.location IS DISTINCT FROM sh.location
	        THEN n.location ELSE x.location END,
	    status = CASE WHEN n.status IS DISTINCT FROM sh.status
	        THEN n.status ELSE x.status END,
	    cancellation_reason = CASE WHEN (n.status, n.cancellation_reason)
	        IS DISTINCT FROM (sh.status, sh.cancellation_reason)
	        THEN n.cancellation_reason ELSE x.cancellation_reason END,
	    cancelled_at = CASE WHEN (n.status, n.cancelled_at) IS
	        DISTINCT FROM (sh.status, sh.cancelled_at)
	        THEN n.cancelled_at ELSE x.cancelled_at END,
	    notes = CASE WHEN n.notes IS DISTINCT FROM sh.notes
	        THEN calsync.merge_notes(x.notes, sh.notes, n.notes)
	        ELSE x.notes END,
	    updated_at = v_now
	WHERE x.id = a.id;
	IF FOUND THEN
		changed := true;
		PERFORM calsync.remember(a.id, 'updated', n, p_uid);
	END IF;
END
$$;

-- Bring the appointments of a booking to what its events say: create the
-- ones missing, and write on the others what moved (calsync.write_moved).
-- Returns whether anything was written, an appointment id, why no
-- appointment can be made, if so, and the status of an appointment left as
-- it is because calsync does not write that status, if one would have
-- changed.
DROP FUNCTION IF EXISTS calsync.settle(text[]);
CREATE OR REPLACE FUNCTION calsync.settle(p_uids text[],
	OUT changed boolean, OUT appointment_id uuid, OUT unmatched text,
	OUT kept text)
LANGUAGE plpgsql AS $$
DECLARE
	n	calsync.state;
	w	calsync.state;		-- the booking as a whole
	v_id	uuid;
	v_other	uuid;
	v_write	record;
	v_done	uuid[] := '{}';		-- appointments settled per student
	v_now	timestamp(0) := now() AT TIME ZONE 'UTC';
	-- The booking's appointments, by its uids, then each by its id: the
	-- only plans these statements have, whatever the statistics say (a
	-- join could start from a student's appointments, all of them).
	v_ids	uuid[] := ARRAY(SELECT b.appointment_id FROM calsync.bookings b
		    WHERE b.uid = ANY (p_uids));
	v_appts	public.appointments[] := '{}';
	v_mine	integer;		-- the student's, in v_appts
BEGIN
	changed := false;
	IF cardinality(v_ids) > 0 THEN	-- none for a new booking
		-- Locked until the transaction ends: the trainer's edits in GA
		-- Personal wait, and what calsync compares is what it writes over.
		v_appts := ARRAY(SELECT a FROM public.appointments a
		    WHERE a.id = ANY (v_ids) ORDER BY a.inserted_at, a.id
		    FOR UPDATE);
	END IF;
	FOREACH n IN ARRAY calsync.fold(p_uids) LOOP
		IF n.student_id IS NULL THEN
			w := n;
			unmatched := n.unmatched;
			CONTINUE;
		END IF;
		-- Two parts of a booking that met late (a reschedule before its
		-- original) may each have made one: keep the first, drop the
		-- others calsync made.
		v_mine := NULL;
		FOR i IN 1 .. coalesce(cardinality(v_appts), 0) LOOP
			CONTINUE WHEN (v_appts[i]).student_id <> n.student_id;
			IF v_mine IS NULL THEN
				v_mine := i;
				CONTINUE;
			END IF;
			v_other := (v_appts[i]).id;
			-- Never a session the trainer marked held.
			DELETE FROM public.appointments a WHERE a.id = v_other
			    AND calsync.writes_status(a.status)
			    AND EXISTS (SELECT FROM calsync.settled s
			    WHERE s.appointment_id = v_other);
			IF FOUND THEN
				changed := true;
				v_done := v_done || v_other;
				PERFORM calsync.remember(v_other, 'deleted', NULL,
				    p_uids[1]);
			END IF;
		END LOOP;
		IF v_mine IS NULL THEN
			INSERT INTO public.appointments (trainer_id, student_id,
			    scheduled_at, duration_minutes, status, appointment_type,
			    location, notes, cancellation_reason, cancelled_at,
			    inserted_at, updated_at)
			VALUES (n.trainer_id, n.student_id, n.scheduled_at,
			    n.duration_minutes, n.status,
			    -- What calsync.event_types maps the event type's
			    -- title to, else its slug: read only here, as
			    -- calsync never writes appointment_type again.
			    (SELECT t.appointment_type FROM calsync.event_types t
			    WHERE t.name = ANY (n.event_types)
			    ORDER BY t.name = n.event_types[1] DESC LIMIT 1),
			    n.location, n.notes, n.cancellation_reason,
			    n.cancelled_at, v_now, v_now)
			RETURNING id INTO v_id;
			changed := true;
			PERFORM calsync.remember(v_id, 'created', n, p_uids[1]);
		ELSE
			v_id := (v_appts[v_mine]).id;
			v_write := calsync.write_moved(v_appts[v_mine], n,
			    p_uids[1]);
			changed := changed OR v_write.changed;
			kept := coalesce(kept, v_write.kept);
		END IF;
		INSERT INTO calsync.bookings (uid, appointment_id)
		SELECT u, v_id FROM unnest(p_uids) u ON CONFLICT DO NOTHING;
		appointment_id := coalesce(appointment_id, v_id);
		v_done := v_done || v_id;
	END LOOP;

	-- Appointments no event made (the Phoenix handler's): what the events
	-- say of the booking as a whole.
	FOR i IN 1 .. coalesce(cardinality(v_appts), 0) LOOP
		CONTINUE WHEN (v_appts[i]).id = ANY (v_done);
		v_write := calsync.write_moved(v_appts[i], w, p_uids[1]);
		changed := changed OR v_write.changed;
		kept := coalesce(kept, v_write.kept);
		appointment_id := coalesce(appointment_id, (v_appts[i]).id);
	END LOOP;
END
$$;
