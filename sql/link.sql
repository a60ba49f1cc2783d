-- link.sql: the uids that are one booking (reschedules, appointments
-- they share), and the locks that make a booking's deliveries take turns.
-- Read by calsync.sql.

-- The uids of a booking and every uid linked to them (reschedules, shared
-- appointments), as committed now: the closure, sorted, each once.  A
-- walk, each step from the uids the last one found; a uid given twice is
-- walked from twice, which finds nothing more.  Not a recursive query:
-- its UNION keeps a hash table made as large as the planner's guess of the
-- rows, which on tables never analysed is thousands (clearing it was a
-- quarter of a delivery's instructions: bench/run --instructions).  No
-- "IS NOT NULL": the planner would give it to each branch, and there
-- reschedule_uid IS NOT NULL could be served by events_reschedule_uid_index,
-- every reschedule ever, on statistics taken before the first
-- (tests/sql/growth.sql); the NOT = ANY drops a NULL as well.
CREATE OR REPLACE FUNCTION calsync.linked_uids(p_uids text[])
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	v_all	text[] := '{}';
	v_more	text[] := array_remove(p_uids, NULL);
BEGIN
	WHILE cardinality(v_more) > 0 LOOP
		v_all := v_all || v_more;
		v_more := ARRAY(SELECT DISTINCT l.x FROM (
			SELECT e.uid FROM calsync.events e
			WHERE e.reschedule_uid = ANY (v_more)
			UNION ALL
			SELECT e.reschedule_uid FROM calsync.events e
			WHERE e.uid = ANY (v_more)
			UNION ALL
			SELECT o.uid FROM calsync.bookings b
			JOIN calsync.bookings o USING (appointment_id)
			WHERE b.uid = ANY (v_more)) l (x)
		    WHERE NOT l.x = ANY (v_all));
	END LOOP;
	IF cardinality(v_all) < 2 THEN
		RETURN v_all;	-- a new booking's one uid: nothing to sort
	END IF;
	RETURN ARRAY(SELECT DISTINCT u FROM unnest(v_all) u ORDER BY u);
END
$$;

-- Lock a booking: its uids and every uid linked to them.  Two deliveries
-- of one booking wait for each other here, and never in a cycle, by one
-- rule: a uid is waited for when it sorts after every lock the delivery
-- holds, and taken only if free when it sorts before.  The uids it is
-- given come first, in sorted order, so each is waited for; any delivery
-- of the booking locks those uids too, as the closure of its own, so what
-- the walk after them finds is as the last of them committed it.  If
-- another delivery holds a linked uid that sorts before (one given that
-- uid, or a link committed meanwhile), this one starts again (a
-- serialization failure, which calsync retries) while the other, which
-- waits, goes on.  Were both to give up (two deliveries of one booking at
-- once, each given one of its uids), both would again at every retry,
-- until calsync spooled them (tests/pool.sh); were both to wait, they
-- would deadlock, which costs a second to detect.  Walking before locking
-- as well cost a walk a delivery.
CREATE OR REPLACE FUNCTION calsync.lock_booking(p_uids text[])
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	v_all	text[] := '{}';	-- the uids locked
	v_now	text[] := array_remove(p_uids, NULL);
	v_top	text;		-- the last one waited for
	u	text;
BEGIN
	LOOP
		FOR u IN SELECT DISTINCT x FROM unnest(v_now) x
		    WHERE NOT x = ANY (v_all) ORDER BY x LOOP
			IF v_top IS NULL OR u > v_top THEN
				PERFORM pg_advisory_xact_lock(
				    hashtextextended(u, 7710585));
				v_top := u;
			ELSIF NOT pg_try_advisory_xact_lock(
			    hashtextextended(u, 7710585)) THEN
				RAISE EXCEPTION 'booking % is being changed by '
				    'another delivery', u
				    USING ERRCODE = 'serialization_failure';
			END IF;
		END LOOP;
		v_all := v_now;
		v_now := calsync.linked_uids(v_all);
		EXIT WHEN v_now <@ v_all;
	END LOOP;
	RETURN v_now;
END
$$;
