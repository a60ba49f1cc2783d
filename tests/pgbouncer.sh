#!/bin/bash
# tests/pgbouncer.sh: calsync behind pgbouncer in transaction pooling, as
# many hosts would share one database.  pgbouncer (started here, on
# loopback, as postgres when root) has fewer server connections than
# calsync has workers; a load of signed deliveries, eight at a time, must
# be applied at once, every one (2xx, none spooled), once, with no error
# logged, and must leave no session state behind for pgbouncer's other
# clients.  Then pgbouncer drops its server connections (RECONNECT) and is
# restarted under load: nothing lost.  PGBOUNCER_DELIVERIES sets the loads.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
PGB_DIR=
cleanup()
{
	pgb_stop
	stack_stop
}
trap cleanup EXIT
t_require_stack
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
t_require "no pgbouncer (run tools/deps)" test -x "$PGBOUNCER"
N=${PGBOUNCER_DELIVERIES:-60}
WORKERS=4
POOL_SIZE=2
stack_start "$WORKERS" >&2 || t_bail "the stack did not start (see above)"
LOG=$STACK_DIR/calsync.log

# A program of the stack as pgbouncer's user: postgres when root.
as_pg()
{
	_stack_as_pg "$@"
}

# --- pgbouncer: its own config and auth file in the stack directory.
PGB_DIR=$STACK_DIR/pgbouncer
mkdir -p "$PGB_DIR" || t_bail "cannot make $PGB_DIR"
stack_free_port || t_bail "no free port for pgbouncer"
PGB_PORT=$STACK_FREE_PORT
cat >"$PGB_DIR/pgbouncer.ini" <<EOF
[databases]
ga_personal = host=127.0.0.1 port=$PGPORT dbname=ga_personal

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 100
logfile = $PGB_DIR/pgbouncer.log
pidfile = $PGB_DIR/pgbouncer.pid
EOF
printf '"calsync" ""\n"postgres" ""\n' >"$PGB_DIR/userlist.txt"
if _stack_root; then
	chown -R postgres: "$PGB_DIR" || t_bail "cannot give $PGB_DIR to postgres"
fi

pgb_alive()
{
	local pid
	pid=$(cat "$PGB_DIR/pgbouncer.pid" 2>/dev/null) &&
	    _stack_alive "$pid" && _stack_is "$pid" pgbouncer
}

pgb_start()
{
	as_pg "$PGBOUNCER" -d -q "$PGB_DIR/pgbouncer.ini" &&
	    wait_until 10 pgb_admin "SHOW VERSION"
}

pgb_stop()
{
	local pid
	[ -n "$PGB_DIR" ] && pgb_alive || return 0
	pid=$(cat "$PGB_DIR/pgbouncer.pid")
	kill -TERM "$pid"
	for _ in $(seq 100); do
		_stack_alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid"
}

# pgb_admin COMMAND: pgbouncer's admin console.
pgb_admin()
{
	"$_stack_pgbin/psql" -X -q -At -h 127.0.0.1 -p "$PGB_PORT" \
	    -U postgres -d pgbouncer -c "$1" >/dev/null 2>&1
}

# pgb_sql QUERY: a value as another client of pgbouncer sees it.
pgb_sql()
{
	"$_stack_pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 \
	    -p "$PGB_PORT" -U calsync -d ga_personal -c "$1"
}

pgb_start || { _stack_tail "$PGB_DIR/pgbouncer.log"; t_bail "pgbouncer did not start"; }
t_ok "pgbouncer runs on loopback in transaction pooling" pgb_alive

# calsync's pool through pgbouncer instead of straight to PostgreSQL.
STACK_DATABASE_URL="postgresql://calsync@127.0.0.1:$PGB_PORT/ga_personal"
export STACK_DATABASE_URL
stack_restart_calsync "$WORKERS" >&2 || t_bail "calsync did not start behind pgbouncer"

spool_empty()
{
	[ -z "$(ls "$STACK_DIR/spool")" ]
}

# bodies FILE COUNT: COUNT new bookings, one a line, created in the
# order they are listed.
bodies()
{
	for i in $(seq "$2"); do
		body created CREATED_AT="$(created_at $((i - 600)))" \
		    START="2026-12-$(printf %02d $((1 + i % 28)))T10:00:00Z" \
		    END="2026-12-$(printf %02d $((1 + i % 28)))T11:00:00Z"
	done >"$1"
}

# send_all BODIES RESULTS: eight senders, one curl a delivery; a line of
# RESULTS a delivery: uid status.
send_all()
{
	xargs -P 8 -L 1 bash -c '. "$top_srcdir/tests/stack.sh";
	    . "$top_srcdir/tests/tap.sh"; post "$0";
	    echo "$(json_field "$0" uid) $STATUS"' <"$1" >"$2"
}
export top_srcdir STACK_SECRET STACK_DIR STACK_CERT STACK_URL

# applied_once RESULTS: how many of RESULTS' uids have one booking and one
# applied delivery.
applied_once()
{
	awk '{ print $1 }' "$1" | sort >"$1.uids"
	sql "SELECT uid FROM calsync.bookings GROUP BY uid HAVING count(*) = 1
	    AND uid IN (SELECT uid FROM calsync.deliveries WHERE outcome =
	    'applied' GROUP BY uid HAVING count(*) = 1)" | sort >"$1.once"
	comm -12 "$1.uids" "$1.once" | wc -l
}

answered()	# answered RESULTS PATTERN: lines whose status matches
{
	awk -v p="$2" '$2 ~ p' "$1" | wc -l
}

# Errors, requests that say why they failed or were spooled, and the
# server's notices: none while the database is healthy.
error_lines()
{
	grep -Ec 'level=error| reason=|event=database_notice' "$LOG"
}

# --- A healthy database: every delivery applied at once.
bodies "$STACK_DIR/bodies" "$N"
send_all "$STACK_DIR/bodies" "$STACK_DIR/results"
R=$STACK_DIR/results
echo "# healthy: sent=$(wc -l <"$R") 2xx=$(answered "$R" '^2')" \
    "202=$(answered "$R" '^202$') applied_once=$(applied_once "$R")" \
    "errors=$(error_lines)"
grep -E 'level=error| reason=|event=database_notice' "$LOG" | head -n 5 | sed 's/^/# /'
awk '$2 !~ /^200$/ { print "# not 200: " $0 }' "$R" | head -n 5
t_is "healthy: every delivery answered 200" "$(answered "$R" '^200$')" "$N"
t_is "healthy: none spooled (202)" "$(answered "$R" '^202$')" 0
t_is "healthy: every one applied once" "$(applied_once "$R")" "$N"
t_ok "healthy: the spool is empty" spool_empty
t_is "healthy: no error logged" "$(error_lines)" 0
t_not "healthy: no prepared statement clash" grep -q 42P05 "$LOG"

# The server connections carry nothing from calsync to other clients.
leaks=
for _ in $(seq $((POOL_SIZE * 2))); do
	leaks="$leaks$(pgb_sql "SELECT current_setting('search_path') || '|' ||
	    current_setting('statement_timeout') || '|' ||
	    current_setting('lock_timeout') || '|' ||
	    (SELECT count(*) FROM pg_catalog.pg_prepared_statements) || '|' ||
	    (SELECT count(*) FROM pg_catalog.pg_listening_channels())")"$'\n'
done
echo "# other clients see: $(sort -u <<<"$leaks" | tr '\n' ' ')"
t_is "no session state left on pgbouncer's server connections" \
    "$(sort -u <<<"$leaks" | sed '/^$/d')" '"$user", public|0|0|0|0'

# The notifier announced through pgbouncer too.
announced()
{
	[ "$(sql 'SELECT count(*) FROM calsync.changes')" = 0 ]
}
t_ok "the notifier announced every change through pgbouncer" \
    wait_until 10 announced

# calsyncctl through pgbouncer too.
CTL=$top_builddir/src/calsyncctl
ctl()
{
	DATABASE_URL=$STACK_DATABASE_URL CALCOM_WEBHOOK_SECRET=x "$CTL" "$@" \
	    >"$STACK_DIR/ctl.out"
}
t_ok "calsyncctl check through pgbouncer" ctl check
t_ok "calsyncctl deliveries through pgbouncer" ctl deliveries -n 5

# --- RECONNECT, then a restart of pgbouncer, under load: nothing lost.
bodies "$STACK_DIR/bodies2" "$N"
send_all "$STACK_DIR/bodies2" "$STACK_DIR/results2" &
sender=$!
R=$STACK_DIR/results2
third()
{
	[ "$(wc -l <"$R" 2>/dev/null || echo 0)" -ge $((N / 3)) ]
}
wait_until 60 third || echo "# the load was slow to start"
pgb_admin RECONNECT || echo "# RECONNECT failed"
two_thirds()
{
	[ "$(wc -l <"$R")" -ge $((2 * N / 3)) ]
}
wait_until 60 two_thirds ||
    echo "# the load was slow to go on"
pgb_stop
pgb_start || { _stack_tail "$PGB_DIR/pgbouncer.log"; t_bail "pgbouncer did not start again"; }
wait "$sender"
wait_until 60 spool_empty
echo "# restart: sent=$(wc -l <"$R") 2xx=$(answered "$R" '^2')" \
    "202=$(answered "$R" '^202$') applied_once=$(applied_once "$R")" \
    "left_in_spool=$(ls "$STACK_DIR/spool" | wc -l)"
awk '$2 !~ /^2/ { print "# not 2xx: " $0 }' "$R" | head -n 5
t_is "restart: every delivery answered 2xx" "$(answered "$R" '^2')" "$N"
t_is "restart: every one applied once in the end" "$(applied_once "$R")" "$N"
t_ok "restart: the spool is drained" spool_empty
t_is "restart: none of the first load applied twice" \
    "$(applied_once "$STACK_DIR/results")" "$N"
t_done
