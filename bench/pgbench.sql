-- pgbench.sql: the database's limit for calsync.  One transaction is
-- exactly what calsync sends for one BOOKING_CREATED delivery: the same
-- single statement as apply_sql in src/store.c, prepared (pgbench -M
-- prepared, as calsync prepares it), with parameters of the same shape and
-- values: a new uid each time, one of the 1,000 bench students, a ~2.6 KB
-- body made by bench/gen and its SHA-256.
--
-- pgbench variables are numbers, so the strings calsync gets from the body
-- are built here in SQL from them (a few microseconds next to the call);
-- :body (pgbench -D) is a bench/gen body whose uid is PGBENCHUID000000.
-- The uid is made unique by :client_id and a random number, and put into
-- the body too, so each body (and its SHA-256) is new, as each delivery's
-- is: a repeated SHA-256 would take calsync's cheaper duplicate path.
-- The delivery is a calsync.delivery built by name, as store.c's
-- delivery_json sends it (a field not named is NULL); calsync sends the
-- object as text, parsed by PostgreSQL, where this builds it in SQL.
\set n random(1, 999999999999)
\set s random(1, 1000)
SELECT outcome, appointment_id, detail FROM calsync.apply_delivery(
    pg_catalog.jsonb_populate_record(NULL::calsync.delivery,
    pg_catalog.jsonb_build_object(
	'request_id', 'pgbench-' || :client_id || '-' || :n,
	'trigger', 'BOOKING_CREATED',
	'created_at', '2026-11-24T11:08:53.981Z',
	'uid', 'pgb' || :client_id || 'x' || :n,
	'start_at', '2027-01-01'::timestamp
	    + (:n::bigint % 100000) * interval '30 minutes',
	'duration', 60,
	'title', 'Personal Training Session between Guilherme and Ana',
	'event_type', 'Personal Training Session',
	'event_slug', 'standard-event-type',
	'description', '',
	'booker_notes', '',
	'location', 'GA Personal Studio',
	'organizer_email', 'guilherme@gapersonal.com',
	'attendee_emails', pg_catalog.jsonb_build_array('student'
	    || lpad(:s::text, 4, '0') || '@bench.example',
	    'additional-guest@example.com'),
	'no_show', '[null, null]'::jsonb,
	'full_booking', true,
	'body_sha256', pg_catalog.sha256(pg_catalog.convert_to(
	    pg_catalog.replace(:body, 'PGBENCHUID000000',
	    'pgb' || :client_id || 'x' || :n), 'UTF8')),
	'body', pg_catalog.convert_to(pg_catalog.replace(:body,
	    'PGBENCHUID000000', 'pgb' || :client_id || 'x' || :n), 'UTF8'))));
