-- phoenix.sql: the appointments GA Personal's own Cal.com handler made
-- before calsync, linked to their bookings.  Read by calsync.sql.

-- Bookings made through the Phoenix handler carry a "cal.com:<uid>" line in
-- their notes: link them, so they can still be cancelled and rescheduled.
INSERT INTO calsync.bookings (uid, appointment_id)
SELECT m.uid, a.id
FROM public.appointments a,
	LATERAL (SELECT r[1] AS uid FROM pg_catalog.regexp_matches(a.notes,
	    'cal\.com:([^[:space:]]+)', 'g') AS r) m
WHERE a.notes LIKE '%cal.com:%'
ON CONFLICT DO NOTHING;
