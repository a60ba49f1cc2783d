#!/bin/bash
# tests/faults.sh: nothing lost.  A bounded load of signed deliveries goes
# through nginx while workers are killed (kill -9), PostgreSQL restarts,
# calsync re-reads its secret (SIGHUP) and restarts; then every delivery
# answered 2xx must be in the journal (applied) or still in the spool, and
# the counts are printed side by side.  FAULT_DELIVERIES sets the load.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
trap stack_stop EXIT
t_require_stack
stack_start 2 >&2 || t_bail "the stack did not start (see above)"
N=${FAULT_DELIVERIES:-240}

for i in $(seq "$N"); do
	body created STUDENT=ana@example.com \
	    START="2026-12-$(printf %02d $((1 + i % 28)))T10:00:00Z" \
	    END="2026-12-$(printf %02d $((1 + i % 28)))T11:00:00Z"
done >"$STACK_DIR/bodies"

# Four senders, one curl each delivery, as Cal.com would send them; each
# line of results: uid status.
send_all()
{
	xargs -P 4 -L 1 bash -c '. "$top_srcdir/tests/stack.sh";
	    . "$top_srcdir/tests/tap.sh"; post "$0";
	    echo "$(json_field "$0" uid) $STATUS"' <"$STACK_DIR/bodies" \
	    >"$STACK_DIR/results"
}
export top_srcdir STACK_SECRET STACK_DIR STACK_CERT STACK_URL


send_all &
sender=$!
sleep 1
kill -9 $(stack_workers | head -n 1)			# a worker dies mid-load
sleep 1
stack_pg_stop >&2				# the database goes away...
sleep 2
kill -9 $(stack_workers | tail -n 1)			# ... a worker dies meanwhile
stack_pg_start >&2				# ... and comes back
sleep 1
notifier=$(stack_notifier)
kill -HUP "$CALSYNC_PID"			# secrets read again
sleep 1
notifier_after_hup=$(stack_notifier)
stack_replace_calsync 2 >&2			# a restart, new binary
wait "$sender"

# Let the spools drain (the workers do it every second).
for _ in $(seq 60); do
	[ -z "$(ls "$STACK_DIR/spool")" ] && break
	sleep 0.5
done

sent=$(wc -l <"$STACK_DIR/bodies")
answered=$(awk '$2 ~ /^2/' "$STACK_DIR/results" | wc -l)
refused=$(awk '$2 !~ /^2/' "$STACK_DIR/results" | wc -l)
awk '$2 ~ /^2/ { print $1 }' "$STACK_DIR/results" | sort >"$STACK_DIR/answered"
sql "SELECT DISTINCT uid FROM calsync.deliveries WHERE outcome IN
    ('applied', 'duplicate')" | sort >"$STACK_DIR/journaled"
found=$(comm -12 "$STACK_DIR/answered" "$STACK_DIR/journaled" | wc -l)
spooled=$(ls "$STACK_DIR/spool" | wc -l)
appointments=$(sql "SELECT count(DISTINCT b.uid) FROM calsync.bookings b")
echo "# sent $sent, answered 2xx $answered, not 2xx $refused," \
    "found in the journal $found, left in the spool $spooled," \
    "booked $appointments"
awk '$2 !~ /^2/ { print "# not 2xx: " $0 }' "$STACK_DIR/results" | head -n 10

t_is "every delivery got an answer" "$(wc -l <"$STACK_DIR/results")" "$sent"
t_is "none failed: not one 5xx through kills, outage and restart" "$refused" 0
t_is "every delivery answered 2xx is in the journal" "$found" "$answered"
t_is "and became an appointment" "$appointments" "$answered"
t_is "the spool is empty again" "$spooled" 0
t_ok "the faults happened: workers killed" grep -q "killed by signal 9" \
    "$STACK_DIR/calsync.log"
t_ok "the faults happened: deliveries spooled while the database was away" \
    grep -q "remote=spool" "$STACK_DIR/calsync.log"
t_ok "the faults happened: SIGHUP replaced the workers" grep -q \
    "SIGHUP: secrets read again" "$STACK_DIR/calsync.log"
t_ok "... and left the notifier (it reads no secret)" \
    test -n "$notifier" -a "$notifier_after_hup" = "$notifier"
t_ok "the faults happened: a new calsync took the socket over" grep -q \
    "took over" "$STACK_DIR/calsync.log"
t_done
