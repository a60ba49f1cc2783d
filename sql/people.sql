-- people.sql: who a booking names in GA Personal: its trainer and its
-- students, found by id or email, and why none matched.  Read by
-- calsync.sql.

-- A user is looked up by its id or its email alone, through users' primary
-- key or users_email_index, and its role is checked on the row found: a
-- role in the WHERE clause could be served by users_role_index, which the
-- planner may well choose on a users table not analysed (a new install's,
-- one of fewer than 50 users: autovacuum never analyses it), and which the
-- engine's plans keep: then a lookup reads every student
-- (tests/sql/growth.sql).

DROP FUNCTION IF EXISTS calsync.user_by_email(text, text);

-- The user with this email in any case, and this role: a scan, as an
-- index on lower(email) would be an object in the application's schema.
-- Read in table order: every condition is inside one CASE, which no index
-- serves, so the plan is a scan even under the engine's enable_seqscan off
-- (through users_role_index, which a bare role = p_role would have it
-- choose, a heap read a row, it took three times as long; a SET clause
-- to forbid that instead was saved and restored at every call).  One
-- CASE also keeps the planner from ordering the conditions by cost, lower()
-- first: it lowers only the addresses as long in bytes as the wanted one,
-- as lowering costs far more than a length.  A letter and its lower case
-- are as long in UTF-8 (ASCII, accented Latin, Greek, Cyrillic), but for a
-- few signs no address has (the Kelvin sign, the Angstrom sign, some of
-- Latin Extended), which match exactly only.  The scan reads each user's
-- first two columns, id and email, and the few ids found are looked up by
-- key for their role: the role, after the password hash, cost a tenth more
-- to read of every user (bench/run --instructions).  Not email alone: an
-- index-only scan of users_email_index would serve that, and where the
-- visibility map is not set, it reads the table a row at a time.
CREATE OR REPLACE FUNCTION calsync.user_by_email_any_case(p_email text,
	p_role text)
RETURNS uuid LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_lower	text := lower(p_email);
	v_bytes	integer := octet_length(v_lower);
	v_id	uuid;
BEGIN
	SELECT u.id INTO v_id FROM public.users u
	WHERE u.id = ANY (ARRAY(SELECT x.id FROM public.users x
	    WHERE CASE WHEN octet_length(x.email) = v_bytes
	    THEN lower(x.email) = v_lower END))
	AND CASE WHEN u.role = p_role THEN true END
	LIMIT 1;
	RETURN v_id;
END
$$;

-- The trainer of a booking: metadata.trainer_id if sent (checked, not
-- trusted), else the organizer's email, matched without regard to case.
-- The exact address is tried first, through users_email_index; only when
-- it is not there (another case) are users compared in lower case
-- (calsync.user_by_email_any_case).
CREATE OR REPLACE FUNCTION calsync.find_trainer(p_id uuid, p_email text)
RETURNS uuid LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_id	uuid;
BEGIN
	IF p_id IS NOT NULL THEN
		SELECT CASE WHEN u.role = 'trainer' THEN u.id END INTO v_id
		FROM public.users u WHERE u.id = p_id;
		RETURN v_id;
	END IF;
	SELECT CASE WHEN u.role = 'trainer' THEN u.id END INTO v_id
	FROM public.users u WHERE u.email = p_email;
	RETURN coalesce(v_id, calsync.user_by_email_any_case(p_email,
	    'trainer'));
END
$$;

-- The students of a booking: metadata.student_id if sent, else every
-- attendee whose email is a student's, in order (the booker first): one
-- appointment each; ids NULL if none is.  With each, the email it was
-- booked with, in lower case.  The exact addresses are looked up as
-- calsync.find_trainer looks one up, all in one statement (an attendee at
-- a time was a call and a statement each); the others, a guest or another
-- case, in any case.  The trainer's one address keeps its own lookup:
-- looked up in this one statement too, it cost 1.4% more a delivery
-- (bench/run --instructions).  One row of arrays, not a set of rows: a
-- caller assigns it without a query of its own.
DROP FUNCTION IF EXISTS calsync.find_students(uuid, text[]);
CREATE OR REPLACE FUNCTION calsync.find_students(p_id uuid, p_emails text[],
	OUT ids uuid[], OUT emails text[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_exact	uuid[];
	v_id	uuid;
BEGIN
	IF p_id IS NOT NULL THEN
		SELECT ARRAY[u.id], ARRAY[lower(u.email)::text] INTO ids, emails
		FROM public.users u
		WHERE u.id = p_id AND CASE WHEN u.role = 'student' THEN true END;
		RETURN;
	END IF;
	v_exact := ARRAY(SELECT (SELECT CASE WHEN u.role = 'student' THEN u.id
	        END FROM public.users u WHERE u.email = a.email)
	    FROM unnest(p_emails) WITH ORDINALITY AS a (email, n) ORDER BY a.n);
	FOR i IN 1 .. coalesce(cardinality(p_emails), 0) LOOP
		v_id := coalesce(v_exact[i],
		    calsync.user_by_email_any_case(p_emails[i], 'student'));
		IF v_id IS NOT NULL AND NOT coalesce(v_id = ANY (ids), false) THEN
			ids := array_append(ids, v_id);
			emails := array_append(emails, lower(p_emails[i]));
		END IF;
	END LOOP;
END
$$;

-- Roles match exactly: a trainer is a user whose role is 'trainer', a
-- student one whose role is 'student' (GA Personal writes them so; the
-- database does not limit role).  'admin', 'coach', 'Trainer' are neither,
-- and a booking with no trainer or no student is unmatched, kept for
-- replay: once the application gives the user the role, calsyncctl replay
-- makes the appointment.  When a user has the id or the email but another
-- role, the reason names that role, so the operator sees which user to fix.
-- Only on that path: the first user with this id, or else with one of these
-- emails (any case, in order), and the role it has.
CREATE OR REPLACE FUNCTION calsync.role_of(p_id uuid, p_emails text[])
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_id IS NOT NULL THEN
	    (SELECT u.role FROM public.users u WHERE u.id = p_id)
	ELSE
	    (SELECT u.role FROM unnest(p_emails) WITH ORDINALITY AS e (email, n)
	     JOIN public.users u ON lower(u.email) = lower(e.email)
	     ORDER BY e.n LIMIT 1)
	END
$$;

-- Why a booking has no trainer (p_role 'trainer') or no student.
CREATE OR REPLACE FUNCTION calsync.unmatched_reason(p_role text,
	p_id uuid, p_emails text[])
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_role	text := calsync.role_of(p_id, p_emails);
BEGIN
	IF v_role IS NULL THEN
		RETURN CASE
		    WHEN p_id IS NOT NULL THEN format('metadata.%s_id is not a '
		        '%s in GA Personal', p_role, p_role)
		    WHEN p_role = 'trainer' THEN 'no trainer in GA Personal has '
		        'the organizer''s email'
		    ELSE 'no attendee''s email belongs to a student in GA Personal'
		    END;
	END IF;
	RETURN CASE
	    WHEN p_id IS NOT NULL THEN format('metadata.%s_id is a GA Personal '
	        'user whose role is %L, not %L', p_role, v_role, p_role)
	    WHEN p_role = 'trainer' THEN format('the organizer''s email is a GA '
	        'Personal user whose role is %L, not %L', v_role, p_role)
	    ELSE format('no attendee is a student in GA Personal: an '
	        'attendee''s email is a user whose role is %L, not %L',
	        v_role, p_role)
	    END;
END
$$;
