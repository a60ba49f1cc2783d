#!/bin/bash
# tests/pgbouncer.sh: calsync behind pgbouncer in transaction pooling, as
# many hosts share one database.  pgbouncer (started here, on loopback, as
# postgres when root) has fewer server connections than the two calsync
# pools in front of it (two hosts: the stack's, behind nginx and TLS, and
# a second one on its own FastCGI socket) have workers.  Loads eight at a
# time, each delivery to either host: new bookings, then the order
# property test's histories (tests/histories.sh) in random orders with
# duplicates.  Every delivery answered 2xx at once, journaled once, none
# spooled, no error logged; each history ends as it does delivered in
# order; no session state is left for pgbouncer's other clients.  The
# notifier (whose NOTIFYs a listener on PostgreSQL itself hears) and
# calsyncctl go through pgbouncer too.  Then pgbouncer drops its server
# connections (RECONNECT) and is killed and started again under load:
# nothing lost.  PGBOUNCER_DELIVERIES sets the loads of new bookings,
# PGBOUNCER_HISTORIES and PGBOUNCER_ORDERS the histories.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/histories.sh"
LISTENER=
cleanup()
{
	[ -z "$LISTENER" ] || kill "$LISTENER" 2>/dev/null
	stack_stop
}
trap cleanup EXIT
t_require_stack
t_require "no pgbouncer (run tools/deps)" test -x "$(_stack_pgbouncer_bin)"
N=${PGBOUNCER_DELIVERIES:-60}
WORKERS=4	# the first host's; the second has 2
POOL_SIZE=2	# server connections for the 6 workers and 2 notifiers
stack_start "$WORKERS" >&2 || t_bail "the stack did not start (see above)"
LOGS=("$STACK_DIR/calsync.log" "$STACK_DIR/pool2.log")

# pgb_sql QUERY: a value as another client of pgbouncer sees it.
pgb_sql()
{
	"$_stack_pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 \
	    -p "$STACK_PGBOUNCER_PORT" -U calsync -d ga_personal -c "$1"
}

stack_pgbouncer_start "$POOL_SIZE" >&2 || t_bail "pgbouncer did not start"
t_is "pgbouncer runs on loopback in transaction pooling" \
    "$(stack_pgbouncer_admin 'SHOW CONFIG' | grep -E '^(listen_addr|pool_mode|default_pool_size)\|' |
    cut -d '|' -f 1-2 | sort | tr '\n' ' ')" \
    "default_pool_size|$POOL_SIZE listen_addr|127.0.0.1 pool_mode|transaction "

# Both hosts' pools through pgbouncer instead of straight to PostgreSQL.
STACK_DATABASE_URL=$STACK_PGBOUNCER_URL
export STACK_DATABASE_URL
stack_restart_calsync "$WORKERS" >&2 || t_bail "calsync did not start behind pgbouncer"
stack_start_second_pool 2 >&2 || t_bail "the second host's pool did not start"


# Both spools exist and hold no delivery (a dot-file is one being written).
spool_empty()
{
	[ -d "$STACK_DIR/spool" ] && [ -d "$STACK_DIR/spool2" ] &&
	    [ "$(spooled_left)" = 0 ]
}

spooled_left()
{
	find "$STACK_DIR/spool" "$STACK_DIR/spool2" -type f | wc -l
}

# send_one FILE: FILE to one of the two hosts, at random: the first
# through nginx and TLS as Cal.com sends it, the second straight to its
# FastCGI socket.  Prints "FILE STATUS OUTCOME HOST" (OUTCOME: the word
# the journal uses, src/outcome.c).
send_one()
{
	local out host=1
	if [ $((RANDOM % 2)) = 0 ]; then
		out=$(stack_post "$1")
		STATUS=${out%% *}
		ANSWER=${out#* }
	else
		host=2
		SOCKET=$STACK_SOCKET2 fcgi "$1"
	fi
	# The outcome: "status" of a 2xx answer, "outcome" of another.
	echo "$1 $STATUS $(grep -oE '"(status|outcome)":"[a-z_]*"' \
	    <<<"$ANSWER" | cut -d '"' -f 4) $host"
}
export -f send_one

# send_all BODIES RESULTS: BODIES' files (one a line), eight at a time; a
# line of RESULTS a delivery, as send_one prints it.
send_all()
{
	xargs -P 8 -L 1 bash -c '. "$top_srcdir/tests/stack.sh";
	    . "$top_srcdir/tests/tap.sh"; send_one "$0"' <"$1" >"$2"
}
export top_srcdir STACK_SECRET STACK_DIR STACK_CERT STACK_URL STACK_SOCKET2

answered()	# answered RESULTS PATTERN: lines whose status matches
{
	awk -v p="$2" '$2 ~ p' "$1" | wc -l
}

spooled()	# spooled RESULTS: deliveries answered "spooled"
{
	awk '$3 == "spooled"' "$1" | wc -l
}

# by_host RESULTS: how many deliveries each host answered.
by_host()
{
	echo "host1=$(awk '$4 == 1' "$1" | wc -l) host2=$(awk '$4 == 2' "$1" | wc -l)"
}

# Errors, requests that say why they failed or were spooled, and the
# server's notices: none while the database is healthy.
error_lines()
{
	cat "${LOGS[@]}" | grep -Ec 'level=error| reason=|event=database_notice'
}

show_errors()
{
	cat "${LOGS[@]}" | grep -E 'level=error| reason=|event=database_notice' |
	    head -n 5 | sed 's/^/# /'
}

# not_journaled_once RESULTS: how many bodies of RESULTS the journal does
# not hold once for each time they were sent (the journal holds only
# RESULTS' deliveries: reset empties it before them).
not_journaled_once()
{
	awk '{ print $1 }' "$1" | xargs sha256sum | awk '{ print $1 }' |
	    sort | uniq -c | awk '{ print $2, $1 }' | sort >"$1.sent"
	sql "SELECT encode(body_sha256, 'hex') || ' ' || count(*)
	    FROM calsync.deliveries GROUP BY body_sha256" | sort >"$1.journal"
	comm -3 "$1.sent" "$1.journal" | wc -l
}

# --- A healthy database: the histories, each in order, then in random
# orders with duplicates through both hosts at once.
HISTORIES=${PGBOUNCER_HISTORIES:-10}
ORDERS=${PGBOUNCER_ORDERS:-3}
H=$STACK_DIR/histories
: >"$H"
unjournaled=0

# shuffled_run FILE...: the files, eight at a time, each to either host;
# what each was answered in $STACK_DIR/run.
shuffled_run()
{
	printf '%s\n' "$@" >"$STACK_DIR/order"
	send_all "$STACK_DIR/order" "$STACK_DIR/run"
}

# journaled_once N P: history N's shuffled run P journaled once a request.
journaled_once()
{
	if [ "$(not_journaled_once "$STACK_DIR/run")" != 0 ]; then
		unjournaled=$((unjournaled + 1))
		echo "# history $1, order $2: not journaled once a request"
	fi
	cat "$STACK_DIR/run" >>"$H"
}

property "$HISTORIES" "$ORDERS" shuffled_run : journaled_once
echo "# histories: sent=$(wc -l <"$H") 2xx=$(answered "$H" '^2')" \
    "spooled=$(spooled "$H") $(by_host "$H") runs=$PROPERTY_RUNS" \
    "events=$PROPERTY_EVENTS differ=$PROPERTY_BAD not_journaled_once=$unjournaled errors=$(error_lines)"
show_errors
awk '$2 !~ /^2/ { print "# not 2xx: " $0 }' "$H" | head -n 5
t_is "histories: every delivery answered 2xx" "$(answered "$H" '^2')" "$(wc -l <"$H")"
t_is "histories: none spooled" "$(spooled "$H")" 0
t_is "histories: both hosts answered" \
    "$(by_host "$H" | grep -c 'host1=[1-9].* host2=[1-9]')" 1
t_is "histories: $PROPERTY_RUNS runs of $HISTORIES histories ($PROPERTY_EVENTS events) in random orders end as in order" \
    "$PROPERTY_BAD" 0
t_is "histories: every request journaled once" "$unjournaled" 0
t_ok "histories: the spools are empty" spool_empty
t_is "histories: no error logged" "$(error_lines)" 0

# --- New bookings, heard by a listener on PostgreSQL itself, as README
# says to run GA Personal's: LISTEN needs a session, which transaction
# pooling does not keep; calsync's notifier only NOTIFYs, in a
# transaction, and goes through pgbouncer.
{
	echo 'LISTEN calsync_appointments;'
	while sleep 0.2; do echo 'SELECT 1;'; done
} | "$_stack_pgbin/psql" -X -q -At -h 127.0.0.1 -p "$PGPORT" -U postgres \
    -d ga_personal >"$STACK_DIR/heard" 2>&1 &
LISTENER=$!

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

# uids RESULTS: the uids of RESULTS' bookings, sorted.
uids()
{
	awk '{ print $1 }' "$1" | while read -r f; do
		json_field "$f" uid
	done | sort
}

# applied_once RESULTS: how many of RESULTS' bookings have one booking row
# and one applied delivery.
applied_once()
{
	uids "$1" >"$1.uids"
	sql "SELECT uid FROM calsync.bookings GROUP BY uid HAVING count(*) = 1
	    AND uid IN (SELECT uid FROM calsync.deliveries WHERE outcome =
	    'applied' GROUP BY uid HAVING count(*) = 1)" | sort >"$1.once"
	comm -12 "$1.uids" "$1.once" | wc -l
}

# heard RESULTS: how many of RESULTS' bookings the listener heard of.
heard()
{
	grep -o '"uid" *: *"[^"]*"' "$STACK_DIR/heard" | cut -d '"' -f 4 |
	    sort -u | comm -12 <(uids "$1") - | wc -l
}

R=$STACK_DIR/results
bodies "$STACK_DIR/bodies" "$N"
send_all "$STACK_DIR/bodies" "$R"
echo "# new bookings: sent=$(wc -l <"$R") 2xx=$(answered "$R" '^2')" \
    "spooled=$(spooled "$R") applied_once=$(applied_once "$R")" \
    "$(by_host "$R") errors=$(error_lines)"
show_errors
awk '$2 !~ /^200$/ { print "# not 200: " $0 }' "$R" | head -n 5
t_is "new bookings: every one answered 200" "$(answered "$R" '^200$')" "$N"
t_is "new bookings: none spooled" "$(spooled "$R")" 0
t_is "new bookings: every one applied once" "$(applied_once "$R")" "$N"
t_ok "new bookings: the spools are empty" spool_empty
t_is "new bookings: no error logged" "$(error_lines)" 0
t_absent "no prepared statement clash" -F 42P05 -- "${LOGS[@]}"

# The hosts shared fewer server connections than they have workers:
# pgbouncer made their clients wait for one (SHOW STATS' 8th column,
# total_wait_time, in microseconds).
waited=$(stack_pgbouncer_admin 'SHOW STATS' | awk -F '|' '$1 == "ga_personal" { print $8 }')
echo "# pgbouncer: clients waited ${waited:-?} us in all for a server connection"
t_like "clients waited for pgbouncer's $POOL_SIZE server connections" \
    "$waited" '^[1-9][0-9]*$'

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

# The notifiers announced through pgbouncer; the listener heard them.
announced()
{
	[ "$(sql 'SELECT count(*) FROM calsync.changes')" = 0 ]
}
all_heard()
{
	[ "$(heard "$R")" = "$N" ]
}
t_ok "the notifiers announced every change through pgbouncer" \
    wait_until 10 announced
t_ok "a listener on PostgreSQL heard of every new booking" \
    wait_until 10 all_heard
echo "# heard: $(heard "$R") of $N new bookings"

# calsyncctl through pgbouncer too.
CTL=$top_builddir/src/calsyncctl
ctl()
{
	DATABASE_URL=$STACK_DATABASE_URL CALCOM_WEBHOOK_SECRET=x "$CTL" "$@" \
	    >"$STACK_DIR/ctl.out"
}
t_ok "calsyncctl check through pgbouncer" ctl check
t_ok "calsyncctl deliveries through pgbouncer" ctl deliveries -n 5
t_is "calsyncctl deliveries lists the last five" "$(wc -l <"$STACK_DIR/ctl.out")" 6

# --- RECONNECT, then pgbouncer killed and started again, under load:
# nothing lost.
R2=$STACK_DIR/results2
bodies "$STACK_DIR/bodies2" "$N"
send_all "$STACK_DIR/bodies2" "$R2" &
sender=$!
sent_at_least()	# sent_at_least COUNT
{
	[ "$(wc -l <"$R2" 2>/dev/null || echo 0)" -ge "$1" ]
}
wait_until 60 sent_at_least $((N / 3)) || echo "# the load was slow to start"
stack_pgbouncer_admin RECONNECT >/dev/null || echo "# RECONNECT failed"
wait_until 60 sent_at_least $((2 * N / 3)) || echo "# the load was slow to go on"
stack_pgbouncer_stop KILL
stack_pgbouncer_start >&2 || t_bail "pgbouncer did not start again"
wait "$sender"
wait_until 60 spool_empty
echo "# restart: sent=$(wc -l <"$R2") 2xx=$(answered "$R2" '^2')" \
    "spooled=$(spooled "$R2") applied_once=$(applied_once "$R2")" \
    "left_in_spool=$(spooled_left) $(by_host "$R2")"
awk '$2 !~ /^2/ { print "# not 2xx: " $0 }' "$R2" | head -n 5
t_is "restart: every delivery answered 2xx" "$(answered "$R2" '^2')" "$N"
t_is "restart: every one applied once in the end" "$(applied_once "$R2")" "$N"
t_ok "restart: the spools are drained" spool_empty
t_is "restart: none of the first load applied twice" \
    "$(applied_once "$R")" "$N"
t_done
