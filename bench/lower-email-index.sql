-- lower-email-index.sql: an index calsync does not create, for operators
-- to weigh (BENCH_SQL=bench/lower-email-index.sql bench/run).
--
-- calsync matches emails without regard to case: the exact address first,
-- through users_email_index, and only when that finds nobody (a guest who
-- is not a user, an address typed in another case) every user compared in
-- lower case.  This index turns that scan into a lookup.  users belongs to
-- the GA Personal application, so the index is the application's to add,
-- as an Ecto migration:
--     create index(:users, ["lower(email)"], concurrently: true)
CREATE INDEX IF NOT EXISTS users_lower_email_index
	ON public.users (pg_catalog.lower(email));
ANALYZE public.users;
