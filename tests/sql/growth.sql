-- tests/sql/growth.sql: a delivery reads its booking's rows, never a
-- table whole.  Here calsync.events has never been analysed (a new
-- install's, for its first minutes) and the engine made its plans when it
-- was nearly empty (the deliveries of the files before this one, in this
-- session); then it grows by 100,000 rows.  A plan that read the table
-- whole on a few pages would now read all of them at every delivery
-- (bench/run --growth: a fifth of the rate after 16,000 deliveries).
SELECT cmp_ok((SELECT c.reltuples FROM pg_class c
    WHERE c.oid = 'calsync.events'::regclass), '<=', 0::real,
    'calsync.events: never analysed with rows in it');
SELECT cmp_ok((SELECT count(*) FROM calsync.events), '>', 0::bigint,
    '... and the engine has run on it (the plans are made)');

INSERT INTO calsync.events (body_sha256, trigger, clock, uid, start_at,
    organizer_email, attendee_emails, full_booking, seat)
SELECT sha256(convert_to('sql-growth-' || i, 'UTF8')), 'BOOKING_CREATED',
    '2020-01-01 00:00+00'::timestamptz + i * interval '1 minute',
    'sql-growth-' || i, '2020-01-08'::timestamp + i * interval '1 minute',
    'guilherme@gapersonal.com', ARRAY['ana@example.com'], true,
    'ana@example.com'
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
