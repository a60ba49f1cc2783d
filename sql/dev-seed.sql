-- dev-seed.sql: a trainer and a few students for local runs and tests.
-- Never load this into the production database.
INSERT INTO public.users (id, email, role, full_name, inserted_at, updated_at)
VALUES
	('11111111-1111-4111-8111-111111111111', 'guilherme@gapersonal.com',
	 'trainer', 'Guilherme Almeida', now() AT TIME ZONE 'UTC',
	 now() AT TIME ZONE 'UTC'),
	('22222222-2222-4222-8222-222222222222', 'ana@example.com',
	 'student', 'Ana Souza', now() AT TIME ZONE 'UTC',
	 now() AT TIME ZONE 'UTC'),
	('33333333-3333-4333-8333-333333333333', 'Bruno.Lima@Example.com',
	 'student', 'Bruno Lima', now() AT TIME ZONE 'UTC',
	 now() AT TIME ZONE 'UTC'),
	('44444444-4444-4444-8444-444444444444', 'carla@example.com',
	 'student', 'Carla Dias', now() AT TIME ZONE 'UTC',
	 now() AT TIME ZONE 'UTC'),
	('55555555-5555-4555-8555-555555555555', 'admin@gapersonal.com',
	 'admin', 'Office', now() AT TIME ZONE 'UTC',
	 now() AT TIME ZONE 'UTC')
ON CONFLICT DO NOTHING;
