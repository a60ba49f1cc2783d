#!/bin/bash
# tests/pool.sh: the worker pool straight over FastCGI (cgi-fcgi, as nginx
# would speak it): request edge cases, the supervisor (restart, graceful
# stop, spawn-fcgi), start-up refusals, a database outage, calsyncctl.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
trap stack_stop EXIT
t_require_stack
stack_start 2 >&2 || t_bail "the stack did not start (see above)"
CALSYNC=${CALSYNC_BIN:-$top_builddir/src/calsync}
CTL=$top_builddir/src/calsyncctl
# The schema version this calsync wants: calsync.h says it.
SCHEMA=$(sed -n 's/^#define CALSYNC_SCHEMA_VERSION[[:space:]]*\([0-9]*\)$/\1/p' "$top_srcdir/src/calsync.h")


# --- what a request must carry
f=$(body created)
fcgi "$f"
t_is "straight over FastCGI: 200" "$STATUS" 200
fcgi "$f" CONTENT_LENGTH=
t_is "no Content-Length: 411" "$STATUS" 411
for bad in 12x -1 +5 " 5" 0x10 99999999999999999999999; do
	fcgi "$f" CONTENT_LENGTH="$bad"
	t_is "Content-Length '$bad': 400" "$STATUS" 400
done
fcgi "$f" CONTENT_LENGTH=2000000
t_is "Content-Length over the cap: 413" "$STATUS" 413
fcgi "$f" CONTENT_LENGTH=$(( $(stat -c %s "$f") + 10 ))
t_is "body shorter than Content-Length: 400" "$STATUS" 400
t_like "... says so" "$ANSWER" "shorter than Content-Length"
fcgi "$f" CONTENT_LENGTH=$(( $(stat -c %s "$f") - 1 ))
t_is "body longer than Content-Length: refused" "$STATUS" 400
fcgi "$f" REQUEST_METHOD=PUT
t_is "PUT: 405" "$STATUS" 405
t_like "PUT: Allow header" "$HEADERS" "^Allow: POST"
fcgi "$f" REQUEST_URI=/api/v1/webhooks/calcom/../x
t_is "another path: 404" "$STATUS" 404
fcgi "$f" REQUEST_URI="/api/v1/webhooks/calcom?source=test"
t_is "a query string is allowed" "$STATUS" 200
fcgi "$f" CONTENT_TYPE="application/json; charset=utf-8"
t_is "application/json with a charset" "$STATUS" 200
fcgi "$f" HTTP_X_CAL_SIGNATURE_256=
t_is "empty signature header: 401" "$STATUS" 401
t_like "every answer is JSON" "$ANSWER" '^\{"error":".+\}$'

# --- the pool
t_is "two workers under the supervisor" "$(stack_workers | wc -l)" 2
victim=$(stack_workers | head -n 1)
kill -9 "$victim"
sleep 1.2
t_is "a killed worker is replaced within a second" "$(stack_workers | wc -l)" 2
t_not "... by a new process" grep -qx "$victim" <<<"$(stack_workers)"
t_like "... and the supervisor says so" "$(cat "$STACK_DIR/calsync.log")" \
    "worker $victim killed by signal 9"
fcgi "$(body created)"
t_is "the pool still answers" "$STATUS" 200

# --- SIGTERM lets the request in hand finish
slow=$(new_uid)
# calsync.lock_booking's lock on that booking, held for three seconds
stack_psql -c "SELECT pg_advisory_lock(hashtextextended('$slow', 7710585)), pg_sleep(3)" \
    >/dev/null &
locker=$!
until_sql()	# until_sql QUERY: wait (10 s at most) until it answers t
{
	for _ in $(seq 100); do
		[ "$(sql "$1")" = t ] && return 0
		sleep 0.1
	done
	return 1
}
until_sql "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted"
( fcgi "$(body created UID="$slow")"; echo "$STATUS" >"$STACK_DIR/slow.status" ) &
inflight=$!
# SIGTERM only once the delivery is in flight: calsync waits for the lock.
t_ok "a delivery in flight, waiting for its booking's lock" until_sql \
    "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
supervisor=$CALSYNC_PID
kill -TERM "$supervisor"
wait "$inflight"
wait "$locker"
t_is "SIGTERM: the request in flight is answered" "$(cat "$STACK_DIR/slow.status")" 200
for _ in $(seq 50); do kill -0 "$supervisor" 2>/dev/null || break; sleep 0.1; done
t_not "SIGTERM: calsync exits" kill -0 "$supervisor" 2>/dev/null
wait "$supervisor" 2>/dev/null
t_is "SIGTERM: exit status 0" "$?" 0
fcgi "$f"
t_is "SIGTERM: nothing answers on the socket any more" "$STATUS" ""
CALSYNC_PID=
t_ok "a new calsync starts over the stale socket" stack_restart_calsync 2
fcgi "$f"
t_is "... and answers" "$STATUS" 200

# --- a booking rescheduled (two uids, linked), and a delivery for each
# uid at once.  Each locks its own uid and then the other: the one whose
# uid sorts first waits for the other's lock, the other starts again.
# Both used to give up and start again, in step, until calsync spooled
# them: here the other holds its lock for 2 s, longer than calsync's
# retries last.
u1=$(new_uid)
u2=$(new_uid)
lo=$(sql "SELECT least('$u1'::text, '$u2')")
hi=$(sql "SELECT greatest('$u1'::text, '$u2')")
fcgi "$(body created UID="$lo")"
t_is "a booking: 200" "$STATUS" 200
fcgi "$(body rescheduled UID="$hi" ORIG="$lo" START=2027-03-09T10:00:00Z \
    END=2027-03-09T11:00:00Z)"
t_is "... rescheduled, a new uid: 200" "$STATUS" 200
stack_psql -c "SELECT pg_advisory_xact_lock(hashtextextended('$hi', 7710585)),
    pg_sleep(2)" >/dev/null &
holder=$!
until_sql "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted"
fcgi "$(body cancelled UID="$lo")"
t_is "a delivery of its first uid while its second is held: 200" "$STATUS" 200
t_like "... applied, not spooled" "$ANSWER" '"status":"applied"'
wait "$holder"
t_is "... the booking cancelled" "$(sql "SELECT string_agg(a.status, ',')
    FROM public.appointments a WHERE a.id IN (SELECT b.appointment_id
    FROM calsync.bookings b WHERE b.uid = '$hi')")" cancelled

# --- start-up refusals: one line, non-zero
refuse()	# refuse NAME PATTERN ENV... -- ARGS...
{
	local name=$1 pattern=$2 out rc
	shift 2
	out=$(env "$@" 2>&1 </dev/null)
	rc=$?
	t_ok "$name: non-zero exit" test "$rc" -ne 0
	t_like "$name: says why" "$out" "$pattern"
	t_is "$name: in one line" "$(printf '%s\n' "$out" | wc -l)" 1
}
refuse "no secret" "CALCOM_WEBHOOK_SECRET" -u CALCOM_WEBHOOK_SECRET \
    -u CALCOM_WEBHOOK_SECRET_FILE "$CALSYNC" -s "$STACK_DIR/x.sock"
refuse "empty secret" "CALCOM_WEBHOOK_SECRET" CALCOM_WEBHOOK_SECRET= \
    "$CALSYNC" -s "$STACK_DIR/x.sock"
refuse "secret file missing" "$STACK_DIR/nope" -u CALCOM_WEBHOOK_SECRET \
    CALCOM_WEBHOOK_SECRET_FILE="$STACK_DIR/nope" "$CALSYNC" -s "$STACK_DIR/x.sock"
refuse "no DATABASE_URL" "DATABASE_URL" DATABASE_URL= CALCOM_WEBHOOK_SECRET=x \
    "$CALSYNC" -s "$STACK_DIR/x.sock"
refuse "no socket" "spawn-fcgi" CALCOM_WEBHOOK_SECRET=x "$CALSYNC"
refuse "unknown log target" "-l" CALCOM_WEBHOOK_SECRET=x "$CALSYNC" -l file \
    -s "$STACK_DIR/x.sock"
for days in 0 3651 30d -1; do
	refuse "CALSYNC_PENDING_DAYS=$days" "CALSYNC_PENDING_DAYS must be a number from 1 to 3650" \
	    CALSYNC_PENDING_DAYS=$days CALCOM_WEBHOOK_SECRET=x "$CALSYNC" -s "$STACK_DIR/x.sock"
done
refuse "zero workers" "-w" CALCOM_WEBHOOK_SECRET=x "$CALSYNC" -w 0 -s "$STACK_DIR/x.sock"
echo keep >"$STACK_DIR/regular"
refuse "socket path is a file" "not a socket" CALCOM_WEBHOOK_SECRET=x \
    "$CALSYNC" -s "$STACK_DIR/regular"
t_is "... and the file is left alone" "$(cat "$STACK_DIR/regular")" keep
printf 'from-a-file\n' >"$STACK_DIR/secret"
out=$(CALCOM_WEBHOOK_SECRET= CALCOM_WEBHOOK_SECRET_FILE="$STACK_DIR/secret" \
    "$CTL" sign "$f")
t_is "secret file: trailing newline dropped" "$out" \
    "$(openssl dgst -sha256 -hmac from-a-file <"$f" | sed 's/^.* //')"

# --- spawn-fcgi hands calsync its socket on fd 0
spawned=$STACK_DIR/spawned.sock
CALCOM_WEBHOOK_SECRET=$STACK_SECRET CALSYNC_SPOOL_DIR=$STACK_DIR/spool \
    spawn-fcgi -s "$spawned" \
    -P "$STACK_DIR/spawned.pid" -- "$CALSYNC" -w 1 >/dev/null 2>"$STACK_DIR/spawned.log"
sleep 0.3
SOCKET=$spawned fcgi "$(body created)"
t_is "under spawn-fcgi: 200" "$STATUS" 200
kill -TERM "$(cat "$STACK_DIR/spawned.pid")" 2>/dev/null

# --- the database goes away and comes back
# One worker, so that it is known which connection each request finds.
stack_restart_calsync 1 >&2
fcgi "$(body created)"
t_is "one worker, connected: 200" "$STATUS" 200
# PostgreSQL restarts between two deliveries: the worker's connection
# broke while idle.  Cal.com does not retry, so a 503 here loses a booking.
stack_pg_stop >&2
stack_pg_start >&2
fcgi "$(body created)"
t_is "a connection that broke while idle: the worker reconnects" "$STATUS" 200

# --- the database goes away and stays away a while: nothing is lost
stack_pg_stop >&2
printf '' >"$STACK_DIR/empty"
fcgi "$STACK_DIR/empty" REQUEST_METHOD=GET REQUEST_URI=/healthz
t_is "database down: healthz 503" "$STATUS" 503
t_like "... says so" "$ANSWER" '"database":"down"'
g=$(body created)
fcgi "$g"
t_is "database down: 202" "$STATUS" 202
t_like "database down: kept on this host" "$ANSWER" '"status":"spooled"'
t_is "database down: one file in the spool" "$(ls "$STACK_DIR/spool" | wc -l)" 1
chmod 500 "$STACK_DIR/spool"
fcgi "$(body created)"
t_is "database down and the spool unwritable: 503" "$STATUS" 503
t_like "... and calsync says so loudly" "$(tail -n 3 "$STACK_DIR/calsync.log")" \
    "could not be spooled either"
chmod 700 "$STACK_DIR/spool"
sleep 1.5		# down long enough for the notifier to look
stack_pg_start >&2
f=$(body created)
fcgi "$f"
t_is "database back: the same workers reconnect" "$STATUS" 200
for _ in $(seq 30); do [ -z "$(ls "$STACK_DIR/spool")" ] && break; sleep 0.2; done
t_is "database back: the spool is drained" "$(ls "$STACK_DIR/spool" | wc -l)" 0
t_is "... into an appointment" "$(sql "SELECT count(*) FROM calsync.bookings
    WHERE uid = '$(json_field "$g" uid)'")" 1
# The notifier looks every second: it saw the database down, said so once,
# and says when it announces again.
for _ in $(seq 30); do [ "$(sql "SELECT count(*) FROM calsync.changes")" = 0 ] && break; sleep 0.2; done
t_is "database back: the notifier announced what waited" \
    "$(sql "SELECT count(*) FROM calsync.changes")" 0
t_is "... having said once that changes wait" \
    "$(grep -c 'notifier: changes are kept in calsync.changes' "$STACK_DIR/calsync.log")" 1
t_ok "... and that it announces again" \
    grep -q 'notifier: announcing changes again' "$STACK_DIR/calsync.log"

# --- calsyncctl
t_is "calsyncctl sign: what Cal.com sends" \
    "$(CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" sign "$f")" "$(stack_sign "$f")"
t_is "calsyncctl sign -: from stdin" \
    "$(CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" sign - <"$f")" "$(stack_sign "$f")"
out=$(CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" check)
t_is "calsyncctl check: exit 0" "$?" 0
t_like "calsyncctl check: says what it checked" "$out" "^ok: database reachable, calsync schema version $SCHEMA$"
out=$(CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" deliveries -n 2)
t_is "calsyncctl deliveries: a header and two lines" "$(printf '%s\n' "$out" | wc -l)" 3
t_like "calsyncctl deliveries: trigger, uid, outcome" "$out" \
    "BOOKING_CREATED +$(json_field "$f" uid) +applied"
stack_psql -f "$top_srcdir/sql/calsync.sql" >/dev/null
t_is "calsync.sql loads again on a live database" "$?" 0
t_is "delivery bodies are compressed with lz4 (this server has it)" \
    "$(stack_psql -c "SELECT attcompression FROM pg_catalog.pg_attribute
        WHERE attrelid = 'calsync.deliveries'::regclass AND attname = 'body'")" l
stack_psql -c "DELETE FROM calsync.schema_version WHERE version = $SCHEMA" >/dev/null
out=$(CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" check 2>&1)
t_is "calsyncctl check, old schema: exit 1" "$?" 1
t_like "calsyncctl check, old schema: says to run calsync.sql" "$out" "run sql/calsync.sql"
stack_psql -c "INSERT INTO calsync.schema_version VALUES ($SCHEMA)" >/dev/null
# The triggers' ranks: calsync.h's and the database's must agree.
stack_psql -c "CREATE OR REPLACE FUNCTION calsync.trigger_rank(p_trigger text)
    RETURNS integer LANGUAGE sql IMMUTABLE AS \$\$
    SELECT CASE p_trigger WHEN 'BOOKING_CREATED' THEN 1 WHEN 'BOOKING_RESCHEDULED' THEN 2
    WHEN 'BOOKING_REQUESTED' THEN 2 WHEN 'BOOKING_LOCATION_UPDATED' THEN 3
    WHEN 'BOOKING_PAID' THEN 4 WHEN 'BOOKING_PAYMENT_INITIATED' THEN 3
    WHEN 'BOOKING_NO_SHOW_UPDATED' THEN 4 WHEN 'BOOKING_CANCELLED' THEN 5
    WHEN 'BOOKING_REJECTED' THEN 5 WHEN 'PING' THEN 1 END \$\$" >/dev/null
out=$(CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" check 2>&1)
t_is "calsyncctl check, a trigger ranked otherwise in the database: exit 1" "$?" 1
t_like "... names each trigger that differs, both ways" "$out" \
    "BOOKING_PAID: 4 there, 3 here, PING: 1 there, none here.*run sql/calsync.sql"
stack_psql -f "$top_srcdir/sql/calsync.sql" >/dev/null
out=$(CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" check 2>&1)
t_is "... and after calsync.sql again: exit 0" "$?" 0
out=$(DATABASE_URL=postgresql://calsync@127.0.0.1:1/ga_personal \
    CALCOM_WEBHOOK_SECRET=x "$CTL" check 2>&1)
t_is "calsyncctl check, no database: exit 1" "$?" 1

t_done
