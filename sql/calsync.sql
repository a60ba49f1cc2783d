-- calsync.sql: calsync's own objects, all in the schema "calsync", and the
-- least-privilege role "calsync".  Idempotent: safe to run twice, and on
-- the live GA Personal database (it never alters the application's tables).
-- Run it as the owner of the GA Personal tables (or a superuser):
--     psql -v ON_ERROR_STOP=1 -f calsync.sql "$ADMIN_DATABASE_URL"
-- It reads the files beside it, in one transaction, each owning one part:
-- tables.sql, calsync's tables, made by the numbered migrations in
-- migrations/ (each once; the rest is made anew at every run);
-- phoenix.sql, the link-up of the bookings made before calsync;
-- people.sql, fold.sql, link.sql, settle.sql and apply.sql, the engine;
-- notify.sql, the changes announced to the Phoenix application;
-- grants.sql, what the role calsync may do.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
BEGIN;
-- Two runs at once would race on CREATE ... IF NOT EXISTS.
SELECT pg_catalog.pg_advisory_xact_lock(7710585);

\ir tables.sql
\ir phoenix.sql
\ir people.sql
\ir fold.sql
\ir link.sql
\ir notify.sql
\ir settle.sql
\ir apply.sql
\ir grants.sql

COMMIT;
