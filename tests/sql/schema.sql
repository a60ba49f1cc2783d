-- tests/sql/schema.sql: sql/ga_personal.sql makes the tables GA Personal's
-- Ecto migrations make (see its header): every column with its type, NOT
-- NULL and default, the keys, the indexes, and no CHECK constraint.

SELECT results_eq($$
	SELECT c.relname::text COLLATE "default",
	    a.attname::text COLLATE "default",
	    format_type(a.atttypid, a.atttypmod), a.attnotnull,
	    pg_get_expr(d.adbin, d.adrelid) COLLATE "default"
	FROM pg_attribute a
	JOIN pg_class c ON c.oid = a.attrelid
	LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	WHERE c.relnamespace = 'public'::regnamespace
	    AND c.relname IN ('users', 'student_profiles', 'appointments')
	    AND a.attnum > 0 AND NOT a.attisdropped
	ORDER BY c.relname, a.attnum
$$, $$ VALUES
	('appointments', 'id', 'uuid', true, 'uuid_generate_v4()'),
	('appointments', 'trainer_id', 'uuid', true, NULL),
	('appointments', 'student_id', 'uuid', true, NULL),
	('appointments', 'scheduled_at', 'timestamp(0) without time zone', true, NULL),
	('appointments', 'duration_minutes', 'integer', false, '60'),
	('appointments', 'status', 'character varying(255)', false,
	    '''scheduled''::character varying'),
	('appointments', 'appointment_type', 'character varying(255)', false, NULL),
	('appointments', 'location', 'character varying(255)', false, NULL),
	('appointments', 'notes', 'text', false, NULL),
	('appointments', 'cancellation_reason', 'text', false, NULL),
	('appointments', 'cancelled_at', 'timestamp(0) without time zone', false, NULL),
	('appointments', 'inserted_at', 'timestamp(0) without time zone', true, NULL),
	('appointments', 'updated_at', 'timestamp(0) without time zone', true, NULL),
	('student_profiles', 'id', 'uuid', true, 'uuid_generate_v4()'),
	('student_profiles', 'user_id', 'uuid', true, NULL),
	('student_profiles', 'trainer_id', 'uuid', true, NULL),
	('student_profiles', 'date_of_birth', 'date', false, NULL),
	('student_profiles', 'gender', 'character varying(255)', false, NULL),
	('student_profiles', 'emergency_contact_name', 'character varying(255)', false, NULL),
	('student_profiles', 'emergency_contact_phone', 'character varying(255)', false, NULL),
	('student_profiles', 'medical_conditions', 'text', false, NULL),
	('student_profiles', 'goals_description', 'text', false, NULL),
	('student_profiles', 'notes', 'text', false, NULL),
	('student_profiles', 'status', 'character varying(255)', false,
	    '''active''::character varying'),
	('student_profiles', 'inserted_at', 'timestamp(0) without time zone', true, NULL),
	('student_profiles', 'updated_at', 'timestamp(0) without time zone', true, NULL),
	('student_profiles', 'asaas_customer_id', 'character varying(255)', false, NULL),
	('student_profiles', 'cpf', 'character varying(255)', false, NULL),
	('users', 'id', 'uuid', true, 'uuid_generate_v4()'),
	('users', 'email', 'character varying(255)', true, NULL),
	('users', 'password_hash', 'character varying(255)', true, NULL),
	('users', 'role', 'character varying(255)', true, NULL),
	('users', 'full_name', 'character varying(255)', true, NULL),
	('users', 'phone', 'character varying(255)', false, NULL),
	('users', 'locale', 'character varying(255)', false,
	    '''pt_BR''::character varying'),
	('users', 'active', 'boolean', false, 'true'),
	('users', 'last_login_at', 'timestamp(0) without time zone', false, NULL),
	('users', 'inserted_at', 'timestamp(0) without time zone', true, NULL),
	('users', 'updated_at', 'timestamp(0) without time zone', true, NULL)
$$, 'users, student_profiles, appointments: the columns Ecto makes, in its order, with its types, NOT NULL and defaults');

SELECT results_eq($$
	SELECT c.conrelid::regclass::text, c.conname::text COLLATE "default",
	    c.contype::text,
	    pg_get_constraintdef(c.oid) COLLATE "default"
	FROM pg_constraint c
	WHERE c.conrelid IN (to_regclass('public.users'),
	    to_regclass('public.student_profiles'), to_regclass('public.appointments'))
	ORDER BY 1, 2
$$, $$ VALUES
	('appointments', 'appointments_pkey', 'p', 'PRIMARY KEY (id)'),
	('appointments', 'appointments_student_id_fkey', 'f',
	    'FOREIGN KEY (student_id) REFERENCES users(id) ON DELETE RESTRICT'),
	('appointments', 'appointments_trainer_id_fkey', 'f',
	    'FOREIGN KEY (trainer_id) REFERENCES users(id) ON DELETE RESTRICT'),
	('student_profiles', 'student_profiles_pkey', 'p', 'PRIMARY KEY (id)'),
	('student_profiles', 'student_profiles_trainer_id_fkey', 'f',
	    'FOREIGN KEY (trainer_id) REFERENCES users(id) ON DELETE RESTRICT'),
	('student_profiles', 'student_profiles_user_id_fkey', 'f',
	    'FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE'),
	('users', 'users_pkey', 'p', 'PRIMARY KEY (id)')
$$, 'the keys Ecto makes, named as it names them, with its ON DELETE');

SELECT is_empty($$
	SELECT c.conname FROM pg_constraint c
	WHERE c.contype = 'c' AND c.conrelid IN (to_regclass('public.users'),
	    to_regclass('public.student_profiles'), to_regclass('public.appointments'))
$$, 'no CHECK constraint: the application, not the database, limits role and status');

SELECT results_eq($$
	SELECT i.tablename::text COLLATE "default",
	    i.indexname::text COLLATE "default",
	    regexp_replace(i.indexdef, '^.* USING ', '')::text COLLATE "default"
	FROM pg_indexes i
	WHERE i.schemaname = 'public'
	    AND i.tablename IN ('users', 'student_profiles', 'appointments')
	ORDER BY 1, 2
$$, $$ VALUES
	('appointments', 'appointments_pkey', 'btree (id)'),
	('appointments', 'appointments_scheduled_at_index', 'btree (scheduled_at)'),
	('appointments', 'appointments_status_index', 'btree (status)'),
	('appointments', 'appointments_student_id_index', 'btree (student_id)'),
	('appointments', 'appointments_trainer_id_index', 'btree (trainer_id)'),
	('student_profiles', 'student_profiles_asaas_customer_id_index',
	    'btree (asaas_customer_id)'),
	('student_profiles', 'student_profiles_pkey', 'btree (id)'),
	('student_profiles', 'student_profiles_status_index', 'btree (status)'),
	('student_profiles', 'student_profiles_trainer_id_index', 'btree (trainer_id)'),
	('student_profiles', 'student_profiles_user_id_index', 'btree (user_id)'),
	('users', 'users_active_index', 'btree (active)'),
	('users', 'users_email_index', 'btree (email)'),
	('users', 'users_pkey', 'btree (id)'),
	('users', 'users_role_index', 'btree (role)')
$$, 'the indexes Ecto makes, named as it names them');

SELECT results_eq($$
	SELECT i.indexrelid::regclass::text FROM pg_index i
	WHERE i.indisunique AND NOT i.indisprimary
	    AND i.indrelid IN (to_regclass('public.users'),
	    to_regclass('public.student_profiles'), to_regclass('public.appointments'))
	ORDER BY 1
$$, $$ VALUES ('student_profiles_asaas_customer_id_index'),
	('student_profiles_user_id_index'), ('users_email_index') $$,
    'unique: users'' email, a student''s one profile, the Asaas customer');

SELECT is((SELECT count(*)::integer FROM public.student_profiles p
	JOIN public.users s ON s.id = p.user_id AND s.role = 'student'
	JOIN public.users t ON t.id = p.trainer_id AND t.role = 'trainer'),
    (SELECT count(*)::integer FROM public.users WHERE role = 'student'),
    'dev-seed.sql: every seeded student has a profile with the trainer');
