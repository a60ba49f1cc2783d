-- tables.sql: calsync's schema, its role, and its tables, which the
-- numbered migrations in migrations/ make: NNN-what.sql takes the tables
-- from schema version NNN-1 to NNN.  Each runs once, in calsync.sql's
-- transaction, and calsync.schema_version records it; the rest of sql/ is
-- made anew at every run.  Read by calsync.sql.

CREATE SCHEMA IF NOT EXISTS calsync;

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
	    WHERE rolname = 'calsync') THEN
		CREATE ROLE calsync NOLOGIN;
	END IF;
END
$$;

-- The versions whose migration has run.  A database made before the
-- migrations (by a calsync.sql that made everything IF NOT EXISTS) has the
-- rows that calsync.sql wrote: the migrations of those versions are not
-- run again.
CREATE TABLE IF NOT EXISTS calsync.schema_version (
	version		integer PRIMARY KEY,
	installed_at	timestamptz NOT NULL DEFAULT now()
);

-- Each version: its migration unless recorded, then its row.  A new
-- version is a new file and a new paragraph here (and
-- CALSYNC_SCHEMA_VERSION in src/calsync.h).

-- 1: the journal of deliveries, the events, the bookings, what calsync
--    last wrote, the event type map.
SELECT NOT EXISTS (SELECT FROM calsync.schema_version WHERE version = 1)
	AS missing \gset
\if :missing
\ir migrations/001-tables.sql
INSERT INTO calsync.schema_version (version) VALUES (1);
\endif

-- 2: calsync.changes, announced by calsync's notifier.
SELECT NOT EXISTS (SELECT FROM calsync.schema_version WHERE version = 2)
	AS missing \gset
\if :missing
\ir migrations/002-changes.sql
INSERT INTO calsync.schema_version (version) VALUES (2);
\endif

-- 3: calsync.expire_pending, which the notifier calls.
SELECT NOT EXISTS (SELECT FROM calsync.schema_version WHERE version = 3)
	AS missing \gset
\if :missing
\ir migrations/003-pending.sql
INSERT INTO calsync.schema_version (version) VALUES (3);
\endif

-- 4: the seats of group classes (calsync.events.seat).
SELECT NOT EXISTS (SELECT FROM calsync.schema_version WHERE version = 4)
	AS missing \gset
\if :missing
\ir migrations/004-seats.sql
INSERT INTO calsync.schema_version (version) VALUES (4);
\endif

-- 5: weekly series (calsync.events.series).
SELECT NOT EXISTS (SELECT FROM calsync.schema_version WHERE version = 5)
	AS missing \gset
\if :missing
\ir migrations/005-series.sql
INSERT INTO calsync.schema_version (version) VALUES (5);
\endif

-- 6: apply_delivery takes one calsync.delivery.
SELECT NOT EXISTS (SELECT FROM calsync.schema_version WHERE version = 6)
	AS missing \gset
\if :missing
\ir migrations/006-delivery.sql
INSERT INTO calsync.schema_version (version) VALUES (6);
\endif

-- 7: calsync.deliveries.event_id no longer checked against calsync.events.
SELECT NOT EXISTS (SELECT FROM calsync.schema_version WHERE version = 7)
	AS missing \gset
\if :missing
\ir migrations/007-journal-event.sql
INSERT INTO calsync.schema_version (version) VALUES (7);
\endif
