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
\set n random(1, 999999999999)
\set s random(1, 1000)
SELECT outcome, appointment_id, detail FROM calsync.apply_delivery(
	('pgbench-' || :client_id || '-' || :n)::text,
	'BOOKING_CREATED'::text,
	'2026-11-24T11:08:53.981Z'::timestamptz,
	('pgb' || :client_id || 'x' || :n)::text,
	NULL::text,
	('2027-01-01'::timestamp + (:n::bigint % 100000) * interval '30 minutes'),
	60::integer,
	'Personal Training Session between Guilherme and Ana'::text,
	'Personal Training Session'::text,
	'standard-event-type'::text,
	''::text,
	''::text,
	'GA Personal Studio'::text,
	NULL::text,
	'guilherme@gapersonal.com'::text,
	pg_catalog.string_to_array(('student' || lpad(:s::text, 4, '0')
	    || '@bench.example' || E'\n' || 'additional-guest@example.com')::text,
	    E'\n'),
	pg_catalog.string_to_array(E'\n', E'\n', '')::boolean[],
	NULL::uuid,
	NULL::uuid,
	true,
	pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.replace(:body,
	    'PGBENCHUID000000', 'pgb' || :client_id || 'x' || :n), 'UTF8')),
	pg_catalog.convert_to(pg_catalog.replace(:body,
	    'PGBENCHUID000000', 'pgb' || :client_id || 'x' || :n), 'UTF8'));
