-- 007-journal-event.sql: schema version 7.  calsync.deliveries.event_id
-- is no longer a foreign key.  apply_delivery writes the event and its
-- journal row in one transaction, the event first, and nothing deletes an
-- event (the events are history, as the journal is), so the check could
-- never fail.  Yet each delivery paid for it: a lookup of the event it had
-- just written, and a lock on that row, 42,000 of its 3.2 M instructions
-- (bench/run --instructions).  Run once, by tables.sql.

ALTER TABLE calsync.deliveries
	DROP CONSTRAINT IF EXISTS deliveries_event_id_fkey;
