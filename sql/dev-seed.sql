-- dev-seed.sql: a trainer, the trainer's students and an office admin for
-- local runs and tests.  Never load this into the production database.
-- password_hash is NOT NULL in GA Personal: these users get a placeholder
-- that is no hash of any password (no Bcrypt or Argon2 string starts with
-- "!"), so none of them can log in to the application.
INSERT INTO public.users (id, email, password_hash, role, full_name,
    inserted_at, updated_at)
VALUES
	('11111111-1111-4111-8111-111111111111', 'guilherme@gapersonal.com',
	 '!dev-seed:no-password', 'trainer', 'Guilherme Almeida',
	 now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
	('22222222-2222-4222-8222-222222222222', 'ana@example.com',
	 '!dev-seed:no-password', 'student', 'Ana Souza',
	 now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
	('33333333-3333-4333-8333-333333333333', 'Bruno.Lima@Example.com',
	 '!dev-seed:no-password', 'student', 'Bruno Lima',
	 now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
	('44444444-4444-4444-8444-444444444444', 'carla@example.com',
	 '!dev-seed:no-password', 'student', 'Carla Dias',
	 now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
	('55555555-5555-4555-8555-555555555555', 'admin@gapersonal.com',
	 '!dev-seed:no-password', 'admin', 'Office',
	 now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
ON CONFLICT DO NOTHING;

-- Each student belongs to the trainer, as the application records it.
INSERT INTO public.student_profiles (user_id, trainer_id, inserted_at,
    updated_at)
SELECT s.id, '11111111-1111-4111-8111-111111111111',
    now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM public.users s
WHERE s.id IN ('22222222-2222-4222-8222-222222222222',
    '33333333-3333-4333-8333-333333333333',
    '44444444-4444-4444-8444-444444444444')
ON CONFLICT DO NOTHING;
