-- notify.sql: the changes calsync made to appointments, recorded in
-- calsync.changes (migrations/002-changes.sql) until calsync's notifier
-- announces them to the Phoenix application.  Read by calsync.sql.

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
-- to calsync.changes instead, in its transaction; calsync's notifier
-- announces them in batches a moment after they commit (calsync.announce),
-- and deletes them.  A change is in that table until announced: none is
-- lost while no notifier runs.

DROP FUNCTION IF EXISTS calsync.notify(uuid, text, text, text);

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
