-- ga_personal.sql: the three GA Personal tables calsync's world touches
-- (users, student_profiles, appointments), as the Phoenix application's Ecto
-- migrations create them: the DDL Ecto emits for
-- apps/ga_personal/priv/repo/migrations/20260203121910_create_initial_schema.exs
-- (commit bc82e14 of luizavanter/guialmeidapersonal) and the ALTER of
-- student_profiles in 20260228004000_add_asaas_fields.exs (commit 94c9238),
-- read at the mirror's HEAD 5f65c24; no later migration alters these tables.
-- Ecto's types: :string is varchar(255), :utc_datetime timestamp(0) (without
-- time zone), timestamps() inserted_at/updated_at NOT NULL; references()
-- makes <table>_<column>_fkey, index() <table>_<columns>_index.  The
-- application, not the database, limits role and status: no CHECK.
-- For fresh databases and tests only: in production they already exist, and
-- they belong to the application (calsync never alters them).  Idempotent.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

CREATE TABLE IF NOT EXISTS public.users (
	id		uuid DEFAULT uuid_generate_v4(),
	email		varchar(255) NOT NULL,
	password_hash	varchar(255) NOT NULL,
	role		varchar(255) NOT NULL,	-- "trainer", "student", "admin"
	full_name	varchar(255) NOT NULL,
	phone		varchar(255),
	locale		varchar(255) DEFAULT 'pt_BR',
	active		boolean DEFAULT true,
	last_login_at	timestamp(0),
	inserted_at	timestamp(0) NOT NULL,
	updated_at	timestamp(0) NOT NULL,
	PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_index ON public.users (email);
CREATE INDEX IF NOT EXISTS users_role_index ON public.users (role);
CREATE INDEX IF NOT EXISTS users_active_index ON public.users (active);

-- A student's profile, and the trainer the student belongs to.
CREATE TABLE IF NOT EXISTS public.student_profiles (
	id			uuid DEFAULT uuid_generate_v4(),
	user_id			uuid NOT NULL
				CONSTRAINT student_profiles_user_id_fkey
				REFERENCES public.users (id) ON DELETE CASCADE,
	trainer_id		uuid NOT NULL
				CONSTRAINT student_profiles_trainer_id_fkey
				REFERENCES public.users (id) ON DELETE RESTRICT,
	date_of_birth		date,
	gender			varchar(255),
	emergency_contact_name	varchar(255),
	emergency_contact_phone	varchar(255),
	medical_conditions	text,
	goals_description	text,
	notes			text,
	status			varchar(255) DEFAULT 'active',
	inserted_at		timestamp(0) NOT NULL,
	updated_at		timestamp(0) NOT NULL,
	PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS student_profiles_user_id_index
	ON public.student_profiles (user_id);
CREATE INDEX IF NOT EXISTS student_profiles_trainer_id_index
	ON public.student_profiles (trainer_id);
CREATE INDEX IF NOT EXISTS student_profiles_status_index
	ON public.student_profiles (status);
-- 20260228004000_add_asaas_fields.exs
ALTER TABLE public.student_profiles
	ADD COLUMN IF NOT EXISTS asaas_customer_id varchar(255),
	ADD COLUMN IF NOT EXISTS cpf varchar(255);
CREATE UNIQUE INDEX IF NOT EXISTS student_profiles_asaas_customer_id_index
	ON public.student_profiles (asaas_customer_id);

CREATE TABLE IF NOT EXISTS public.appointments (
	id			uuid DEFAULT uuid_generate_v4(),
	trainer_id		uuid NOT NULL
				CONSTRAINT appointments_trainer_id_fkey
				REFERENCES public.users (id) ON DELETE RESTRICT,
	student_id		uuid NOT NULL
				CONSTRAINT appointments_student_id_fkey
				REFERENCES public.users (id) ON DELETE RESTRICT,
	scheduled_at		timestamp(0) NOT NULL,
	duration_minutes	integer DEFAULT 60,
	-- "scheduled", "completed", "cancelled", "no_show"
	status			varchar(255) DEFAULT 'scheduled',
	appointment_type	varchar(255),
	location		varchar(255),
	notes			text,
	cancellation_reason	text,
	cancelled_at		timestamp(0),
	inserted_at		timestamp(0) NOT NULL,
	updated_at		timestamp(0) NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS appointments_trainer_id_index
	ON public.appointments (trainer_id);
CREATE INDEX IF NOT EXISTS appointments_student_id_index
	ON public.appointments (student_id);
CREATE INDEX IF NOT EXISTS appointments_scheduled_at_index
	ON public.appointments (scheduled_at);
CREATE INDEX IF NOT EXISTS appointments_status_index
	ON public.appointments (status);
