#!/bin/bash
# tests/sql.sh: calsync's SQL, tested in the database with pgTAP
# (postgresql-15-pgtap): the stack's PostgreSQL, loaded as it loads it
# (sql/ga_personal.sql, sql/calsync.sql, sql/dev-seed.sql), runs the
# assertions of tests/sql/*.sql, in the order below (engine.sql uses the
# helpers of rules.sql and seats.sql; growth.sql comes last), in one
# transaction, rolled back.  pgTAP writes the TAP; this file only starts
# and stops the stack.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
trap stack_stop EXIT
t_require_stack
t_require "no pgTAP: apt-get install postgresql-15-pgtap (tools/deps does)" \
    test -n "$(compgen -G '/usr/share/postgresql/*/extension/pgtap.control')"
stack_start 1 >&2 || t_bail "the stack did not start (see above)"

[ -n "$(stack_psql -c "SELECT 1 FROM pg_available_extensions
    WHERE name = 'pgtap'")" ] ||
	t_bail "no pgTAP in this PostgreSQL: apt-get install postgresql-15-pgtap (tools/deps)"

out=$STACK_DIR/sql-tap.out
{
	echo 'BEGIN;'
	echo 'CREATE EXTENSION pgtap;'
	echo 'SELECT * FROM no_plan();'
	for f in schema rules pending seats engine growth; do
		printf "\\i '%s'\n" "$top_srcdir/tests/sql/$f.sql"
	done
	echo 'SELECT * FROM finish();'
	echo 'ROLLBACK;'
} | stack_psql -v ON_ERROR_STOP=1 >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" = 0 ] || t_bail "psql stopped at an error (rc $rc; see above)"
