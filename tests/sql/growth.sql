-- tests/sql/growth.sql: a delivery reads its booking's rows, never a
-- table whole.  Here calsync.events has never been analysed (a new
-- install's, for its first minutes) and the engine made its plans when it
-- was nearly empty (the deliveries of the files before this one, in this
-- session); then it grows by 100,000 rows, the occurrences of 10,000
-- weekly series.  A plan that read the table whole on a few pages would
-- now read all of them at every delivery (bench/run --growth: a fifth of
-- the rate after 16,000 deliveries), and one that read events_series_index
-- whole, every event of every series.
SELECT cmp_ok((SELECT c.reltuples FROM pg_class c
    WHERE c.oid = 'calsync.events'::regclass), '<=', 0::real,
    'calsync.events: never analysed with rows in it');
SELECT cmp_ok((SELECT count(*) FROM calsync.events), '>', 0::bigint,
    '... and the engine has run on it (the plans are made)');

INSERT INTO calsync.events (body_sha256, trigger, clock, uid, start_at,
    organizer_email, attendee_emails, full_booking, seat, series, recurring)
SELECT sha256(convert_to('sql-growth-' || i, 'UTF8')), 'BOOKING_CREATED',
    '2020-01-01 00:00+00'::timestamptz + i * interval '1 minute',
    'sql-growth-' || i, '2020-01-08'::timestamp + i * interval '1 minute',
    'guilherme@gapersonal.com', ARRAY['ana@example.com'], true,
    'ana@example.com', 'sql-growth-series-' || i % 10000, '{2,1,10}'
FROM generate_series(1, 100000) i;

CREATE TEMP TABLE growth_read AS SELECT x.seq_tup_read
FROM pg_stat_xact_user_tables x WHERE x.relid = 'calsync.events'::regclass;
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED',
    'sql-growth', '2027-05-01 09:00+00', p_start => '2027-05-03 10:00')),
    'applied', 'a booking after 100,000 others: applied');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED',
    'sql-growth', '2027-05-02 09:00+00', p_start => '2027-05-03 10:00')),
    'applied', '... and its cancel');
SELECT cmp_ok((SELECT x.seq_tup_read FROM pg_stat_xact_user_tables x
    WHERE x.relid = 'calsync.events'::regclass)
    - (SELECT g.seq_tup_read FROM growth_read g), '<', 1000::bigint,
    '... and the two read fewer than 1,000 rows of calsync.events whole');

-- The same for a booking that is rescheduled and cancelled, with calsync's
-- tables and the appointments grown too (20,000 bookings), none analysed:
-- rows fetched through an index count as much as rows read whole.  (A
-- table analysed while it held only dead rows, reltuples 0 with pages, is
-- taken for one row whatever it holds, and may be read through any index
-- until autovacuum analyses it again, after 50 changed rows: the planner's
-- limit, not tested here.)
INSERT INTO public.appointments (id, trainer_id, student_id, scheduled_at,
    status, inserted_at, updated_at)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
    (SELECT u.id FROM public.users u WHERE u.email = 'guilherme@gapersonal.com'),
    (SELECT u.id FROM public.users u WHERE u.email = 'ana@example.com'),
    '2020-01-08'::timestamp + i * interval '1 minute', 'scheduled',
    '2020-01-01', '2020-01-01'
FROM generate_series(1, 20000) i;
INSERT INTO calsync.bookings (uid, appointment_id)
SELECT 'sql-growth-' || i,
    ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid
FROM generate_series(1, 20000) i;
SELECT cmp_ok((SELECT max(c.reltuples) FROM pg_class c
    WHERE c.oid IN ('calsync.bookings'::regclass,
    'public.appointments'::regclass)), '<', 0::real,
    'calsync.bookings and appointments: never analysed');
CREATE TEMP VIEW growth_fetched AS SELECT sum(x.seq_tup_read +
    coalesce(x.idx_tup_fetch, 0))::bigint AS n
FROM pg_stat_xact_user_tables x
WHERE x.relid IN ('calsync.events'::regclass, 'calsync.bookings'::regclass,
    'calsync.settled'::regclass, 'public.appointments'::regclass);
CREATE TEMP TABLE growth_before AS SELECT n FROM growth_fetched;
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED',
    'sql-growth-first', '2027-05-01 09:00+00', p_start => '2027-05-04 10:00')),
    'applied', 'after 20,000 bookings: a booking applied');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_RESCHEDULED',
    'sql-growth-moved', '2027-05-01 10:00+00', p_start => '2027-05-05 10:00',
    p_reschedule_uid => 'sql-growth-first')),
    'applied', '... its reschedule');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED',
    'sql-growth-moved', '2027-05-02 09:00+00', p_start => '2027-05-05 10:00')),
    'applied', '... and its cancel');
SELECT cmp_ok((SELECT n FROM growth_fetched) - (SELECT n FROM growth_before),
    '<', 200::bigint, '... and the three fetched fewer than 200 rows of '
    'calsync.events, calsync.bookings, calsync.settled and appointments');

-- How the engine's statements are planned (sql/apply.sql): once a
-- connection, by index, and never compiled.
SELECT results_eq($$ SELECT p.proname::text COLLATE "default",
    s.setting COLLATE "default" FROM pg_proc p,
    unnest(p.proconfig) s (setting) WHERE p.pronamespace =
    'calsync'::regnamespace AND p.proname IN ('apply_delivery', 'replay')
    AND s.setting NOT LIKE 'search_path=%' ORDER BY 1, 2 $$,
    $$ SELECT f, s FROM unnest(ARRAY['apply_delivery', 'replay']) f,
    unnest(ARRAY['enable_hashjoin=off', 'enable_mergejoin=off',
    'enable_seqscan=off', 'jit=off', 'plan_cache_mode=force_generic_plan']) s
    ORDER BY 1, 2 $$,
    'apply_delivery and replay: plans made once, by index, not compiled');

-- People are found by id or email alone and their role checked on the row
-- found, and a guest who is no GA Personal user by a scan of users in lower
-- case (sql/people.sql): never through users_role_index, which a role in
-- the WHERE clause would let the plans made when users was smaller (and
-- not analysed since) read, every student at each lookup.
INSERT INTO public.users (email, password_hash, role, full_name,
    inserted_at, updated_at)
SELECT format('sql-growth-student-%s@example.com', i), '!test:no-password',
    'student', format('Student %s', i), '2020-01-01', '2020-01-01'
FROM generate_series(1, 2000) i;
CREATE TEMP TABLE growth_users AS SELECT coalesce(x.idx_tup_fetch, 0) AS n
FROM pg_stat_xact_user_tables x WHERE x.relid = 'public.users'::regclass;
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED',
    'sql-growth-guest', '2027-05-01 09:00+00', p_start => '2027-05-06 10:00',
    p_with => jsonb_build_object('attendee_emails',
    ARRAY['ana@example.com', 'no-user@example.com']))),
    'applied', 'a booking with a guest who is no user, among 2,000 students');
SELECT cmp_ok((SELECT coalesce(x.idx_tup_fetch, 0)
    FROM pg_stat_xact_user_tables x WHERE x.relid = 'public.users'::regclass)
    - (SELECT g.n FROM growth_users g), '<', 10::bigint,
    '... and it fetched fewer than 10 users through an index');

-- The walk of a booking's links (sql/link.sql) finds the events that
-- reschedule its uids, and the uids they reschedule, each by its own
-- index.  Analysed while nothing had been rescheduled (a few hundred
-- bookings made), reschedule_uid IS NOT NULL looks like no row at all: a
-- plan made then could read events_reschedule_uid_index for it, every
-- reschedule since, at each walk.
TRUNCATE calsync.deliveries, calsync.events;
INSERT INTO calsync.events (body_sha256, trigger, clock, uid, start_at,
    organizer_email, attendee_emails, full_booking, seat)
SELECT sha256(convert_to('sql-growth-made-' || i, 'UTF8')), 'BOOKING_CREATED',
    '2020-01-01 00:00+00'::timestamptz + i * interval '1 minute',
    'sql-growth-made-' || i, '2020-01-08'::timestamp + i * interval '1 minute',
    'guilherme@gapersonal.com', ARRAY['ana@example.com'], true,
    'ana@example.com'
FROM generate_series(1, 200) i;
ANALYZE calsync.events;
INSERT INTO calsync.events (body_sha256, trigger, clock, uid, reschedule_uid,
    start_at, organizer_email, attendee_emails, full_booking, seat)
SELECT sha256(convert_to('sql-growth-moved-' || i, 'UTF8')),
    'BOOKING_RESCHEDULED', '2020-01-01 00:00+00'::timestamptz
    + i * interval '1 minute', 'sql-growth-moved-' || i,
    'sql-growth-made-' || i % 200, '2020-01-09'::timestamp
    + i * interval '1 minute', 'guilherme@gapersonal.com',
    ARRAY['ana@example.com'], true, 'ana@example.com'
FROM generate_series(1, 20000) i;
CREATE TEMP TABLE growth_moved AS SELECT n FROM growth_fetched;
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED',
    'sql-growth-after-moves', '2027-05-01 09:00+00',
    p_start => '2027-05-07 10:00')),
    'applied', 'after 20,000 reschedules, analysed before them: a booking');
SELECT cmp_ok((SELECT n FROM growth_fetched) - (SELECT n FROM growth_moved),
    '<', 50::bigint, '... and it fetched fewer than 50 rows of calsync''s '
    'tables and appointments');
