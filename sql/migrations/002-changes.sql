-- 002-changes.sql: schema version 2, calsync.changes: the changes calsync
-- made to appointments, kept until calsync's notifier announces them to
-- the Phoenix application (notify.sql says how).  Run once, by tables.sql.

CREATE TABLE calsync.changes (
	id		bigserial PRIMARY KEY,
	appointment_id	uuid NOT NULL,
	change		text NOT NULL,
	status		text,
	uid		text,
	made_at		timestamptz NOT NULL DEFAULT now()
);
