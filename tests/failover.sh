#!/bin/bash
# tests/failover.sh: a failover and a read-only database lose nothing.
# The stack's cluster becomes a primary with a hot standby (pg_basebackup
# -R, synchronous), calsync names both with target_session_attrs=read-write;
# under a load of signed deliveries, four at a time, the primary crashes
# (pg_ctl -m immediate) and the standby is promoted.  Then the new primary
# turns read-only (default_transaction_read_only) for another load, and
# takes writes again.  Every delivery must be answered 2xx and applied
# exactly once in the end; libpq's notices must be calsync's logfmt lines.
# FAILOVER_DELIVERIES and READONLY_DELIVERIES set the loads.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
STANDBY=
cleanup()
{
	if [ -n "$STANDBY" ] && [ -f "$STANDBY/postmaster.pid" ]; then
		_stack_as_pg "$_stack_pgbin/pg_ctl" -D "$STANDBY" -m immediate \
		    -w stop >/dev/null 2>&1
	fi
	stack_stop
}
trap cleanup EXIT
t_require_stack
stack_start 2 >&2 || t_bail "the stack did not start (see above)"
N=${FAILOVER_DELIVERIES:-120}
R=${READONLY_DELIVERIES:-40}
LOG=$STACK_DIR/calsync.log

# A server program of the stack's PostgreSQL, as postgres when root.
pg()
{
	_stack_as_pg "$_stack_pgbin/$1" "${@:2}"
}

spool_empty()
{
	[ -z "$(ls "$STACK_DIR/spool")" ]
}

# bodies FILE COUNT: COUNT new bookings, one a line.
bodies()
{
	for i in $(seq "$2"); do
		body created STUDENT=ana@example.com \
		    START="2026-12-$(printf %02d $((1 + i % 28)))T10:00:00Z" \
		    END="2026-12-$(printf %02d $((1 + i % 28)))T11:00:00Z"
	done >"$1"
}

# send_all BODIES RESULTS [SENDERS]: four senders (or SENDERS), one curl
# a delivery, as Cal.com sends them; a line of RESULTS a delivery: uid
# status.
send_all()
{
	xargs -P "${3:-4}" -L 1 bash -c '. "$top_srcdir/tests/stack.sh";
	    . "$top_srcdir/tests/tap.sh"; post "$0";
	    echo "$(json_field "$0" uid) $STATUS"; sleep "$PAUSE"' \
	    <"$1" >"$2"
}
PAUSE=0
export top_srcdir STACK_SECRET STACK_DIR STACK_CERT STACK_URL PAUSE

# count RESULTS: sent, answered 2xx, applied exactly once (of those
# answered), applied more than once; as "name=value" words.
count()
{
	local results=$1
	awk '$2 ~ /^2/ { print $1 }' "$results" | sort >"$results.2xx"
	sql "SELECT uid FROM calsync.bookings GROUP BY uid HAVING count(*) = 1
	    AND uid IN (SELECT uid FROM calsync.deliveries WHERE outcome =
	    'applied' GROUP BY uid HAVING count(*) = 1)" | sort >"$results.once"
	awk '{ print $1 }' "$results" | sort >"$results.uids"
	sql "SELECT uid FROM calsync.bookings GROUP BY uid HAVING count(*) > 1
	    UNION SELECT uid FROM calsync.deliveries WHERE outcome = 'applied'
	    GROUP BY uid HAVING count(*) > 1" | sort >"$results.twice"
	echo "sent=$(wc -l <"$results")" \
	    "answered_2xx=$(wc -l <"$results.2xx")" \
	    "applied_once=$(comm -12 "$results.2xx" "$results.once" | wc -l)" \
	    "applied_twice=$(comm -12 "$results.uids" "$results.twice" | wc -l)"
}

# Request lines answered 202 spooled, and spooled ones applied later.
spooled_count()
{
	grep 'event=request ' "$LOG" | grep -v ' remote=spool ' |
	    grep -c ' outcome=spooled '
}
drained_count()
{
	grep 'event=request ' "$LOG" | grep ' remote=spool ' |
	    grep -Ec ' outcome=(applied|duplicate) '
}

# --- A primary and its synchronous hot standby.  Commit timestamps give
# the last commit on the old primary and the first on the new one.
PRIMARY_PORT=$PGPORT
stack_psql -c "ALTER SYSTEM SET track_commit_timestamp = on" &&
    stack_pg_stop >&2 && stack_pg_start >&2 ||
    t_bail "cannot restart the primary with track_commit_timestamp"
STANDBY=$STACK_DIR/standby
stack_free_port || t_bail "no free port for the standby"
STANDBY_PORT=$STACK_FREE_PORT
mkdir -m 700 "$STANDBY" && : >"$STACK_DIR/standby.log" ||
    t_bail "cannot make $STANDBY"
if _stack_root; then
	chown postgres: "$STANDBY" "$STACK_DIR/standby.log"
fi
pg pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$STANDBY" \
    -R -X stream -c fast >"$STACK_DIR/basebackup.log" 2>&1 ||
    { cat "$STACK_DIR/basebackup.log" >&2; t_bail "pg_basebackup failed"; }
pg pg_ctl -D "$STANDBY" -l "$STACK_DIR/standby.log" -w -t 60 \
    -o "-p $STANDBY_PORT" start >"$STACK_DIR/standby-ctl.log" 2>&1 ||
    { cat "$STACK_DIR/standby.log" >&2; t_bail "the standby did not start"; }
# Synchronous: a commit the old primary answered is on the standby too.
# (Set after the base backup, so the new primary does not wait for one.)
stack_psql -c "ALTER SYSTEM SET synchronous_standby_names = '*'" \
    -c "SELECT pg_reload_conf()" >/dev/null ||
    t_bail "cannot make the standby synchronous"
sync_standby()
{
	[ "$(sql "SELECT count(*) FROM pg_stat_replication
	    WHERE sync_state = 'sync'")" = 1 ]
}
wait_until 30 sync_standby || t_bail "the standby is not streaming"

STACK_DATABASE_URL="host=127.0.0.1,127.0.0.1 port=$PRIMARY_PORT,$STANDBY_PORT"
STACK_DATABASE_URL="$STACK_DATABASE_URL user=calsync dbname=ga_personal"
STACK_DATABASE_URL="$STACK_DATABASE_URL target_session_attrs=read-write"
export STACK_DATABASE_URL
stack_restart_calsync 2 >&2 || t_bail "calsync did not start on both hosts"

# --- The primary crashes mid-load; the standby is promoted.
bodies "$STACK_DIR/bodies" "$N"
send_all "$STACK_DIR/bodies" "$STACK_DIR/results" &
sender=$!
third()
{
	[ "$(wc -l <"$STACK_DIR/results")" -ge $((N / 3)) ]
}
wait_until 120 third || echo "# the load was slow to start"
pg pg_ctl -D "$STACK_DIR/pg" -m immediate -w stop >>"$STACK_DIR/pg_ctl.log" 2>&1
sleep 1
# The old primary's last commit, as its standby replayed it.
last_old=$(PGPORT=$STANDBY_PORT sql "SELECT max(pg_xact_commit_timestamp(xmin))
    FROM calsync.deliveries")
pg pg_ctl -D "$STANDBY" -w -t 60 promote >>"$STACK_DIR/standby-ctl.log" 2>&1 ||
    t_bail "the standby was not promoted"
PGPORT=$STANDBY_PORT
wait "$sender"
wait_until 60 spool_empty

counts=$(count "$STACK_DIR/results")
spooled=$(spooled_count)
drained=$(drained_count)
gap=$(sql "SELECT round(extract(epoch FROM min(ts) FILTER (WHERE ts > '$last_old')
    - '$last_old'::timestamptz)::numeric, 2),
    count(*) FILTER (WHERE ts <= '$last_old'), count(*) FILTER (WHERE ts > '$last_old')
    FROM (SELECT pg_xact_commit_timestamp(xmin) ts FROM calsync.deliveries) x")
echo "# failover: $counts spooled=$spooled drained_from_spool=$drained" \
    "left_in_spool=$(ls "$STACK_DIR/spool" | wc -l)"
echo "# failover: seconds from the last commit on the old primary to the" \
    "first on the new: ${gap%%|*} (commits before/after: ${gap#*|})"
awk '$2 !~ /^2/ { print "# not 2xx: " $0 }' "$STACK_DIR/results" | head -n 10

t_is "failover: every delivery got an answer" \
    "$(wc -l <"$STACK_DIR/results")" "$N"
t_like "failover: every delivery answered 2xx, every one applied once, none twice" \
    "$counts" "^sent=$N answered_2xx=$N applied_once=$N applied_twice=0\$"
t_ok "failover: the spool is empty again" spool_empty
t_like "failover: both primaries committed some" "${gap#*|}" '^[1-9][0-9]*\|[1-9]'
t_like "failover: the standby is the primary now" \
    "$(sql 'SELECT pg_is_in_recovery()')" '^f$'

# --- The new primary turns read-only: spooled, then applied once.
PGOPTIONS='-c default_transaction_read_only=off' stack_psql \
    -c "ALTER SYSTEM SET default_transaction_read_only = on" \
    -c "SELECT pg_reload_conf()" >/dev/null || t_bail "cannot go read-only"
spooled_before=$(spooled_count)
bodies "$STACK_DIR/bodies-ro" "$R"
send_all "$STACK_DIR/bodies-ro" "$STACK_DIR/results-ro"
in_spool=$(ls "$STACK_DIR/spool" | wc -l)
ro_spooled=$(( $(spooled_count) - spooled_before ))
ro_2xx=$(awk '$2 ~ /^2/' "$STACK_DIR/results-ro" | wc -l)
ro_uids=$(awk '{ print $1 }' "$STACK_DIR/results-ro" | paste -sd , -)
ro_booked=$(sql "SELECT count(*) FROM calsync.bookings
    WHERE uid = ANY (pg_catalog.string_to_array('$ro_uids', ','))")
PGOPTIONS='-c default_transaction_read_only=off' stack_psql \
    -c "ALTER SYSTEM RESET default_transaction_read_only" \
    -c "SELECT pg_reload_conf()" >/dev/null || t_bail "cannot take writes again"
wait_until 60 spool_empty
ro_counts=$(count "$STACK_DIR/results-ro")
echo "# read-only: $ro_counts spooled=$ro_spooled (in the spool while" \
    "read-only: $in_spool, booked meanwhile: $ro_booked)"
grep ' outcome=spooled ' "$LOG" | tail -n 1 | sed -n 's/.* reason=/# read-only: why: /p'
awk '$2 !~ /^2/ { print "# not 2xx: " $0 }' "$STACK_DIR/results-ro" | head -n 10

t_is "read-only: every delivery answered 2xx" "$ro_2xx" "$R"
t_is "read-only: every one spooled" "$ro_spooled" "$R"
t_is "read-only: none applied while read-only" "$ro_booked" 0
t_like "read-only: all applied once writes return, none twice" \
    "$ro_counts" "^sent=$R answered_2xx=$R applied_once=$R applied_twice=0\$"
t_ok "read-only: the spool is empty again" spool_empty

# --- Too many connections (53300, as a full max_connections would say):
# spooled, then applied once the role may connect again.
C=${CONNLIMIT_DELIVERIES:-20}
stack_psql -c "ALTER ROLE calsync CONNECTION LIMIT 0" -c "SELECT
    count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity
    WHERE usename = 'calsync'" \
    >/dev/null || t_bail "cannot limit calsync's connections"
spooled_before=$(spooled_count)
bodies "$STACK_DIR/bodies-cl" "$C"
send_all "$STACK_DIR/bodies-cl" "$STACK_DIR/results-cl"
cl_spooled=$(( $(spooled_count) - spooled_before ))
cl_why=$(grep ' outcome=spooled ' "$LOG" | tail -n 1 | sed -n 's/.* reason=//p')
stack_psql -c "ALTER ROLE calsync CONNECTION LIMIT -1" >/dev/null ||
    t_bail "cannot lift calsync's connection limit"
wait_until 60 spool_empty
cl_counts=$(count "$STACK_DIR/results-cl")
echo "# too many connections: $cl_counts spooled=$cl_spooled; why: $cl_why"
t_like "too many connections: every delivery answered 2xx and spooled, then applied once" \
    "$cl_counts spooled=$cl_spooled" \
    "^sent=$C answered_2xx=$C applied_once=$C applied_twice=0 spooled=$C\$"
t_like "too many connections: the log says why" "$cl_why" 'too many connections'

# --- Two moves more between the two hosts, one delivery at a time with
# a pause between (so the connections are idle when it happens): a crash
# (-m immediate) of the new primary, the old one made again from it and
# promoted; then a switchover back (-m fast: 57P01 to its sessions).
# move NAME MODE COUNT: the host that is not the primary is made its
# synchronous standby, takes over mid-load, and the counts are checked.
PRIMARY_DIR=$STANDBY PRIMARY_PORT_NOW=$STANDBY_PORT
OTHER_DIR=$STACK_DIR/pg OTHER_PORT=$PRIMARY_PORT
move()
{
	local name=$1 mode=$2 n=$3 before moved counts d p
	rm -rf "$OTHER_DIR" && mkdir -m 700 "$OTHER_DIR" ||
	    t_bail "$name: cannot empty $OTHER_DIR"
	if _stack_root; then
		chown postgres: "$OTHER_DIR"
	fi
	pg pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT_NOW" -U postgres \
	    -D "$OTHER_DIR" -R -X stream -c fast >"$STACK_DIR/basebackup.log" 2>&1 ||
	    { cat "$STACK_DIR/basebackup.log" >&2; t_bail "$name: pg_basebackup failed"; }
	pg pg_ctl -D "$OTHER_DIR" -l "$STACK_DIR/standby.log" -w -t 60 \
	    -o "-p $OTHER_PORT" start >>"$STACK_DIR/standby-ctl.log" 2>&1 ||
	    t_bail "$name: the standby did not start"
	stack_psql -c "ALTER SYSTEM SET synchronous_standby_names = '*'" \
	    -c "SELECT pg_reload_conf()" >/dev/null &&
	    wait_until 30 sync_standby || t_bail "$name: the standby does not follow"
	bodies "$STACK_DIR/bodies-$name" "$n"
	before=$(spooled_count)
	PAUSE=0.2 send_all "$STACK_DIR/bodies-$name" "$STACK_DIR/results-$name" 1 &
	sender=$!
	moved()
	{
		[ "$(wc -l <"$STACK_DIR/results-$name")" -ge $((n / 3)) ]
	}
	wait_until 120 moved || echo "# $name: the load was slow to start"
	pg pg_ctl -D "$PRIMARY_DIR" -m "$mode" -w -t 60 stop \
	    >>"$STACK_DIR/standby-ctl.log" 2>&1
	sleep 1
	pg pg_ctl -D "$OTHER_DIR" -w -t 60 promote >>"$STACK_DIR/standby-ctl.log" 2>&1 ||
	    t_bail "$name: the standby was not promoted"
	d=$PRIMARY_DIR p=$PRIMARY_PORT_NOW
	PRIMARY_DIR=$OTHER_DIR PRIMARY_PORT_NOW=$OTHER_PORT
	OTHER_DIR=$d OTHER_PORT=$p
	PGPORT=$PRIMARY_PORT_NOW
	wait "$sender"
	wait_until 60 spool_empty
	counts=$(count "$STACK_DIR/results-$name")
	echo "# $name: $counts spooled=$(( $(spooled_count) - before ))" \
	    "left_in_spool=$(ls "$STACK_DIR/spool" | wc -l)"
	awk '$2 !~ /^2/ { print "# not 2xx: " $0 }' "$STACK_DIR/results-$name" | head -n 10
	t_like "$name: every delivery answered 2xx, every one applied once, none twice" \
	    "$counts" "^sent=$n answered_2xx=$n applied_once=$n applied_twice=0\$"
	t_like "$name: the other host is the primary now" \
	    "$(sql 'SELECT pg_is_in_recovery()')" '^f$'
}
move crash-idle immediate "${IDLE_CRASH_DELIVERIES:-60}"
move switchover fast "${SWITCHOVER_DELIVERIES:-60}"

# --- libpq's notices are calsync's logfmt lines, never raw on stderr.
grep -m 1 'event=database_notice .*severity=WARNING' "$LOG" | sed 's/^/# /'
t_absent "the log has no raw WARNING: line from libpq" -e '^WARNING:' -- "$LOG"
t_absent "every line of the log is logfmt" -v -e '^time=' -- "$LOG"
t_ok "the shutdown WARNING is a logfmt line" grep -Eq \
    'event=database_notice id=[^ ]+ severity=WARNING sqlstate=57P0[12] msg="terminating connection' \
    "$LOG"
t_done
