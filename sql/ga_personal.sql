-- ga_personal.sql: the two GA Personal tables calsync touches, exactly as
-- the Phoenix application's Ecto migrations create them.  For fresh
-- databases and tests only: in production they already exist, and they
-- belong to the application (calsync never alters them).
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

CREATE TABLE IF NOT EXISTS public.users (
	id		uuid PRIMARY KEY,
	email		varchar(255) NOT NULL,
	role		varchar(255) NOT NULL
			CHECK (role IN ('trainer', 'student', 'admin')),
	full_name	varchar(255),
	active		boolean NOT NULL DEFAULT true,
	inserted_at	timestamp(0) NOT NULL,
	updated_at	timestamp(0) NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_index ON public.users (email);

CREATE TABLE IF NOT EXISTS public.appointments (
	id			uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
	trainer_id		uuid NOT NULL REFERENCES public.users (id),
	student_id		uuid NOT NULL REFERENCES public.users (id),
	scheduled_at		timestamp(0) NOT NULL,
	duration_minutes	integer DEFAULT 60,
	status			varchar(255) DEFAULT 'scheduled'
				CHECK (status IN ('scheduled', 'completed',
				    'cancelled', 'no_show')),
	appointment_type	varchar(255),
	location		varchar(255),
	notes			text,
	cancellation_reason	text,
	cancelled_at		timestamp(0),
	inserted_at		timestamp(0) NOT NULL,
	updated_at		timestamp(0) NOT NULL
);
CREATE INDEX IF NOT EXISTS appointments_trainer_id_index
	ON public.appointments (trainer_id);
CREATE INDEX IF NOT EXISTS appointments_student_id_index
	ON public.appointments (student_id);
CREATE INDEX IF NOT EXISTS appointments_scheduled_at_index
	ON public.appointments (scheduled_at);
