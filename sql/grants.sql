-- grants.sql: what the role calsync may do: read users, write
-- appointments and calsync's own tables, nothing else.  Read by
-- calsync.sql.

-- Least privilege: read users, write appointments and calsync's own
-- tables, nothing else.  Give the role a login and password yourself:
--     ALTER ROLE calsync LOGIN PASSWORD '...';
GRANT USAGE ON SCHEMA calsync TO calsync;
GRANT SELECT ON public.users TO calsync;
-- DELETE: only of appointments calsync made twice for one booking (settle).
GRANT SELECT, INSERT, UPDATE, DELETE ON public.appointments TO calsync;
GRANT SELECT ON calsync.schema_version, calsync.event_types TO calsync;
GRANT SELECT, INSERT ON calsync.bookings, calsync.events TO calsync;
GRANT SELECT, INSERT, UPDATE ON calsync.settled TO calsync;
GRANT SELECT, INSERT, DELETE ON calsync.changes TO calsync;
GRANT SELECT, INSERT ON calsync.deliveries TO calsync;
GRANT UPDATE (outcome, detail, replayed_at, appointment_id)
	ON calsync.deliveries TO calsync;
GRANT USAGE ON SEQUENCE calsync.deliveries_id_seq, calsync.events_id_seq,
	calsync.changes_id_seq TO calsync;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA calsync FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA calsync TO calsync;
