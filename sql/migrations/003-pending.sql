-- 003-pending.sql: schema version 3, calsync.expire_pending (settle.sql),
-- which the notifier calls: the index it reads.  With it, what came to
-- calsync.sql while version 2 was current, so that only some databases at
-- version 2 have it (hence IF NOT EXISTS here): lz4 for delivery bodies,
-- the booker's guests and reschedule reasons.  Run once, by tables.sql.

-- calsync.expire_pending looks at the pending ones every minute.
CREATE INDEX IF NOT EXISTS deliveries_pending_index
	ON calsync.deliveries (received_at) WHERE outcome = 'pending';

-- Bodies of 2 KB and more are compressed: with lz4 where the server has
-- it, which made a tenth more deliveries a second than pglz (one client).
-- Bodies stored before stay as they were.
DO $$
BEGIN
	ALTER TABLE calsync.deliveries ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
	NULL;	-- built without lz4 (or before PostgreSQL 14): pglz
END
$$;

-- What the booker wrote beside the notes, kept for the appointment's notes
-- (calsync.fold).  Events recorded before have none (NULL): their bodies
-- were not read for it then.
ALTER TABLE calsync.events ADD COLUMN IF NOT EXISTS guests text[],
	ADD COLUMN IF NOT EXISTS reschedule_reason text;
