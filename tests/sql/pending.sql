-- tests/sql/pending.sql: calsync.expire_pending.  A reject of a request
-- never confirmed expires after the lifetime; one whose booking came is
-- journaled applied; a booking arriving after expiry is applied with the
-- expired change folded in.  Ages are made by moving received_at back.
-- Uses pg_temp.deliver and pg_temp.appt of rules.sql.

SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_REJECTED',
    'sql-never', '2027-02-01 09:00+00')), 'pending',
    'a reject of a booking not seen: pending');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CANCELLED',
    'sql-came', '2027-02-01 09:00+00')), 'pending',
    'a cancel of a booking not seen: pending');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED',
    'sql-came', '2027-01-31 09:00+00')), 'applied',
    '... its booking comes: applied');
UPDATE calsync.deliveries SET received_at = received_at - interval '31 days'
WHERE uid IN ('sql-never', 'sql-came');
SELECT results_eq($$ SELECT arrived, expired FROM
    calsync.expire_pending('30 days') $$,
    $$ VALUES (1::bigint, 1::bigint) $$,
    'expire_pending: one arrived, one expired');
SELECT results_eq($$ SELECT outcome, detail FROM calsync.deliveries
    WHERE uid = 'sql-never' $$,
    $$ VALUES ('expired'::text, 'its booking never arrived within 30 days: '
    'nothing to apply it to (kept; applied if it still comes)'::text) $$,
    'the reject: expired, saying why');
SELECT results_eq($$ SELECT outcome FROM calsync.deliveries
    WHERE uid = 'sql-came' ORDER BY id $$,
    $$ VALUES ('applied'::text), ('applied') $$,
    'the cancel whose booking came: applied');
SELECT results_eq($$ SELECT arrived, expired FROM
    calsync.expire_pending('30 days') $$,
    $$ VALUES (0::bigint, 0::bigint) $$, 'again: nothing (idempotent)');
SELECT is((SELECT outcome FROM pg_temp.deliver('BOOKING_CREATED',
    'sql-never', '2027-01-31 09:00+00')), 'applied',
    'the booking arrives after its reject expired: applied');
SELECT is((SELECT a.status FROM pg_temp.appt('sql-never') a), 'cancelled',
    '... the expired reject folded in');
SELECT results_eq($$ SELECT outcome FROM calsync.deliveries
    WHERE uid = 'sql-never' ORDER BY id $$,
    $$ VALUES ('expired'::text), ('applied') $$,
    '... the journal keeps the expiry');
SELECT ok(has_function_privilege('calsync',
    'calsync.expire_pending(interval)', 'EXECUTE'),
    'the calsync role may run expire_pending');
SELECT ok(has_column_privilege('calsync', 'calsync.deliveries', 'outcome',
    'UPDATE'), '... and settle the journal rows');
