#!/bin/bash
# tests/reconcile.sh: calsyncctl reconcile brings GA Personal to what
# Cal.com's API v2 says, through the webhook's engine and journal.  Cal.com
# is tests/calcom-api.py, a stand-in serving GET /v2/bookings in Cal.com's
# documented shape over TLS on loopback (the stack's certificate, given to
# calsyncctl as CALCOM_API_CA_FILE); calsync and PostgreSQL are the stack's.
# Times are relative to now, never dates written down.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
t_require_stack
t_require "no python3 (tools/deps installs it)" have python3
t_require "no jq (tools/deps installs it)" have jq

API_PID=
cleanup()
{
	[ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null
	stack_stop
}
trap cleanup EXIT
stack_start 2 >&2 || t_bail "the stack did not start (see above)"
CTL=$top_builddir/src/calsyncctl
# As root, calsyncctl runs as calsync's user (www-data here), who may not
# reach the build tree (a clone in /root is 0700): a copy in the stack's
# own directory, which that user can.
if _stack_root; then
	cp "$CTL" "$STACK_DIR/calsyncctl" || t_bail "cannot copy calsyncctl"
	CTL=$STACK_DIR/calsyncctl
fi
base=${STACK_URL%/api/v1/webhooks/calcom}
API_KEY=cal_live_reconcile_test_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')

python3 "$top_srcdir/tests/calcom-api.py" "$STACK_DIR/cert.pem" \
    "$STACK_DIR/key.pem" "$API_KEY" "$STACK_DIR/api.port" \
    2>"$STACK_DIR/calcom-api.log" &
API_PID=$!
wait_until 20 test -s "$STACK_DIR/api.port" || t_bail "the Cal.com stand-in did not start"
API_URL=https://localhost:$(cat "$STACK_DIR/api.port")

# standin ROUTE JSON: the stand-in's own control routes (book, reschedule,
# cancel, queue, served), never Cal.com's.
standin()
{
	curl -sS --cacert "$STACK_CERT" -H 'Content-Type: application/json' \
	    --data "$2" "$API_URL/_standin/$1"
}

served()
{
	curl -sS --cacert "$STACK_CERT" "$API_URL/_standin/served" | jq .count
}

# at HOURS: a start that many whole hours from now.
at()
{
	date -u -d "@$(( ($(date +%s) / 3600 + $1) * 3600 ))" +%Y-%m-%dT%H:%M:%S.000Z
}

book()		# book HOURS [ATTENDEE]: a booking's uid
{
	standin book "{\"start\":\"$(at "$1")\",\"attendee\":\"${2:-ana@example.com}\"}" |
	    jq -r .uid
}

# ctl ARGS: calsyncctl as calsync's own user, with the stand-in's address,
# key and certificate (and no webhook secret: reconcile needs none); output in $STACK_DIR/out and err, exit status in RC.
ctl()
{
	local as=()
	_stack_root && as=(runuser -u www-data --)
	"${as[@]}" env CALCOM_API_URL="$API_URL" \
	    CALCOM_API_CA_FILE="$STACK_CERT" CALCOM_API_KEY="$API_KEY" \
	    CALSYNC_SPOOL_DIR="$STACK_DIR/spool" "$@" \
	    >"$STACK_DIR/out" 2>"$STACK_DIR/err"
	RC=$?
	cat "$STACK_DIR/out" "$STACK_DIR/err" >>"$STACK_DIR/all-output"
}

reconcile()
{
	ctl "$CTL" reconcile "$@"
}

summary()
{
	grep '^reconcile ' "$STACK_DIR/out" | sed 's/^reconcile .*: seen/seen/'
}

appointment()	# appointment UID COLUMNS
{
	sql "SELECT $2 FROM public.appointments WHERE id IN
	    (SELECT appointment_id FROM calsync.bookings WHERE uid = '$1')"
}

minute()	# minute ISO: as scheduled_at holds it
{
	date -u -d "$1" '+%Y-%m-%d %H:%M:%S'
}

journaled()	# journaled UID: the reconcile deliveries of a uid
{
	sql "SELECT count(*) FROM calsync.deliveries WHERE uid = '$1'
	    AND request_id LIKE 'reconcile-%'"
}

snapshot()	# every appointment as it is, for "nothing changed"
{
	sql "SELECT string_agg(concat_ws('|', id, status, scheduled_at,
	    updated_at), ',' ORDER BY id) FROM public.appointments"
}

# --- calsync down while bookings are made, moved and cancelled in Cal.com.
stack_stop_calsync >&2
A=$(book 24)
B=$(book 48)
B2=$(standin reschedule "{\"uid\":\"$B\",\"start\":\"$(at 50)\",\"reason\":\"traffic\"}" | jq -r .uid)
C=$(book 72)
standin cancel "{\"uid\":\"$C\",\"reason\":\"sick\"}" >/dev/null
D=$(book 30 stranger@example.com)
stack_restart_calsync >&2 || t_bail "calsync did not start again"

reconcile --since 1h
t_is "reconcile after the outage exits 0" "$RC" 0
DONE_MEANS=$(grep '^reconcile ' "$STACK_DIR/out")
sed 's/^/# /' "$STACK_DIR/out"
t_is "it saw five bookings: one right (the moved original), three applied, one unmatched" \
    "$(summary)" "seen 5, already right 1, applied 3, unmatched 1, skipped 0, failed 0"
t_is "the booking made meanwhile is an appointment at its time" \
    "$(appointment "$A" "status, scheduled_at")" "scheduled|$(minute "$(at 24)")"
t_is "the rescheduled one is one appointment, at the new time" \
    "$(appointment "$B2" "count(*), min(status), min(scheduled_at)")" "1|scheduled|$(minute "$(at 50)")"
t_is "its original uid is linked to that same appointment" \
    "$(appointment "$B" "id")" "$(appointment "$B2" "id")"
t_is "the cancelled one is a cancelled appointment with Cal.com's reason" \
    "$(appointment "$C" "status, cancellation_reason")" "cancelled|sick"
t_is "the non-student's booking made no appointment" "$(appointment "$D" "count(*)")" 0
t_is "it is journaled unmatched, by the reconcile" \
    "$(sql "SELECT outcome, request_id LIKE 'reconcile-%' FROM calsync.deliveries WHERE uid = '$D'")" "unmatched|t"
t_like "calsyncctl deliveries shows the journal's source: reconcile" \
    "$(CALCOM_WEBHOOK_SECRET=x "$CTL" deliveries -o unmatched)" "$D +unmatched +reconcile "
t_like "each change has its line: uid, outcome, trigger, why" "$(cat "$STACK_DIR/out")" \
    "$C *applied *BOOKING_CANCELLED *cancelled in Cal.com"
t_is "the journal has the five deliveries of the four bookings it changed" \
    "$(( $(journaled "$A") + $(journaled "$B2") + $(journaled "$C") + $(journaled "$D") ))" 5

# --- Twice changes nothing.
before=$(snapshot)
rows=$(sql "SELECT count(*) FROM calsync.deliveries")
reconcile --since 1h
t_is "a second run exits 0" "$RC" 0
t_is "and finds everything right" "$(summary)" \
    "seen 5, already right 4, applied 0, unmatched 1, skipped 0, failed 0"
t_is "no appointment changed" "$(snapshot)" "$before"
t_is "nothing journaled" "$(sql "SELECT count(*) FROM calsync.deliveries")" "$rows"

# --- The stale webhooks of the outage arrive after the reconcile.
f=$(body created UID="$C" START="$(at 72)" END="$(date -u -d "$(at 72) + 1 hour" +%Y-%m-%dT%H:%M:%S.000Z)" \
    CREATED_AT="$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%S.000Z)")
post "$f"
t_is "the cancelled booking's late BOOKING_CREATED is taken (200)" "$STATUS" 200
t_is "and changes nothing: still cancelled" "$(appointment "$C" "status")" cancelled
f=$(body created UID="$A" START="$(at 24)" END="$(date -u -d "$(at 24) + 1 hour" +%Y-%m-%dT%H:%M:%S.000Z)")
post "$f"
t_like "the BOOKING_CREATED of the booking reconciled is no change" "$ANSWER" '"status":"(duplicate|stale)"'
t_is "one appointment for it still" "$(appointment "$A" "count(*)")" 1

# --- A reconcile never undoes a newer webhook: A cancelled by webhook now,
# while Cal.com's API (read before, as it were) still says accepted.
f=$(body cancelled UID="$A" START="$(at 24)" END="$(date -u -d "$(at 24) + 1 hour" +%Y-%m-%dT%H:%M:%S.000Z)")
post "$f"
t_is "a webhook cancels A" "$(appointment "$A" "status")" cancelled
t_like "calsyncctl deliveries: its source is webhook" \
    "$(CALCOM_WEBHOOK_SECRET=x "$CTL" deliveries -n 1)" "$A +applied +webhook "
reconcile --since 1h
t_like "the reconcile's older state of A is stale" "$(cat "$STACK_DIR/out")" "$A *stale *BOOKING_RESCHEDULED"
t_is "A stays cancelled" "$(appointment "$A" "status")" cancelled
t_is "that run still exits 0" "$RC" 0

# --- Unmatched, replayable as today: the stranger registers as a student.
sql "INSERT INTO public.users (id, email, password_hash, role, full_name,
    inserted_at, updated_at) VALUES (gen_random_uuid(), 'stranger@example.com',
    '!test', 'student', 'Stranger', now(), now())" >/dev/null
sql "INSERT INTO public.student_profiles (user_id, trainer_id, inserted_at, updated_at)
    SELECT id, '11111111-1111-4111-8111-111111111111', now(), now()
    FROM public.users WHERE email = 'stranger@example.com'" >/dev/null
CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" replay -a >"$STACK_DIR/replay.out" 2>&1
t_is "calsyncctl replay -a makes the unmatched one's appointment" \
    "$(appointment "$D" "count(*), min(status)")" "1|scheduled"

# --- Pagination: 120 bookings, two pages of 100 for the created filter.
standin book "{\"start\":\"$(at 200)\",\"count\":120}" >/dev/null
n0=$(served)
reconcile --since 1h
t_is "120 bookings more: exit 0" "$RC" 0
t_like "all of them applied" "$(summary)" "applied 120,"
t_is "three pages read: two created, one updated" "$(( $(served) - n0 ))" 3
t_is "120 appointments from 200 hours on" \
    "$(sql "SELECT count(*) FROM public.appointments WHERE scheduled_at >= '$(minute "$(at 200)")'")" 120

# --- 429 with Retry-After, then the answer.
E=$(book 90)
standin queue '{"answers":[{"status":429,"retryAfter":2,"code":"ThrottlerException","message":"Too Many Requests"}]}' >/dev/null
t0=$(date +%s%N)
reconcile --since 1h
t1=$(date +%s%N)
t_is "a 429 then success: exit 0" "$RC" 0
t_ok "it waited the 2 s Retry-After said" test $(( (t1 - t0) / 1000000 )) -ge 2000
t_is "and applied the new booking" "$(appointment "$E" "count(*)")" 1

# --- 500s: a clear error, exit 1, nothing applied (the first page was read).
F=$(book 91)
standin queue '{"answers":[{"status":"real"},{"status":"real"},{"status":500},{"status":500},{"status":500},{"status":500}]}' >/dev/null
reconcile --since 1h
t_is "500s four times: exit 1" "$RC" 1
t_like "a one-line reason" "$(cat "$STACK_DIR/err")" "Cal.com answered 500: InternalServerErrorException: Internal server error \(tried 4 times\)"
t_is "nothing applied: the booking on the page read has no appointment" "$(appointment "$F" "count(*)")" 0
t_is "nor a journal row" "$(journaled "$F")" 0
m=$(curl -sS --cacert "$STACK_CERT" "$base/metrics")
t_like "/metrics says the last reconcile failed" "$m" 'calsync_reconcile_last_success\{result="failed"\} 0'
t_like "/metrics has its time" "$m" 'calsync_reconcile_last_run_timestamp_seconds [0-9]{10}'

# --- Malformed answers: refused with the field named, nothing applied.
standin queue '{"answers":[{"status":200,"body":"{\"status\":\"success\",\"data\":["}]}' >/dev/null
reconcile --since 1h
t_is "an answer that is not JSON: exit 1" "$RC" 1
t_like "says so" "$(cat "$STACK_DIR/err")" "refused, nothing applied from it: body is not valid JSON"
bad=$(jq -c '.start = "tomorrow"' <<<"$(standin book "{\"start\":\"$(at 92)\"}")")
standin queue "$(jq -nc --arg b "{\"status\":\"success\",\"data\":[$bad],\"pagination\":{\"hasNextPage\":false}}" '{answers:[{status:200, body:$b}]}')" >/dev/null
reconcile --since 1h
t_is "a booking with a bad start: exit 1" "$RC" 1
t_like "names the field" "$(cat "$STACK_DIR/err")" "data\[0\]\.start must be an ISO 8601 timestamp"
t_is "nothing applied from it" "$(appointment "$F" "count(*)")" 0
reconcile --since 1h
t_is "the next good run applies what was left" "$(appointment "$F" "count(*)")" 1
m=$(curl -sS --cacert "$STACK_CERT" "$base/metrics")
t_like "/metrics: the last run succeeded" "$m" 'calsync_reconcile_last_success\{result="ok"\} 1'
t_like "/metrics: its counts" "$m" 'calsync_reconcile_last_bookings\{state="applied"\} 2'

# --- Dry run: shown, not applied.
G=$(book 93)
reconcile --since 1h --dry-run
t_is "a dry run exits 0" "$RC" 0
t_like "shows what it would apply" "$(cat "$STACK_DIR/out")" "$G *would apply *BOOKING_CREATED *not in calsync"
t_is "and applies nothing" "$(appointment "$G" "count(*)")" 0

# --- Configuration and TLS.
ctl env -u CALCOM_API_KEY "$CTL" reconcile --since 1h
t_is "no API key: exit 2" "$RC" 2
t_like "says which variables" "$(cat "$STACK_DIR/err")" "set CALCOM_API_KEY or CALCOM_API_KEY_FILE"
printf '%s\n' "$API_KEY" >"$STACK_DIR/api-key"
ctl env CALCOM_API_KEY_FILE="$STACK_DIR/api-key" "$CTL" reconcile --since 1h
t_is "the key and a key file: exit 2" "$RC" 2
t_like "refused like the webhook secret" "$(cat "$STACK_DIR/err")" "set CALCOM_API_KEY or CALCOM_API_KEY_FILE, not both"
_stack_root && chown www-data "$STACK_DIR/api-key"
ctl env -u CALCOM_API_KEY CALCOM_API_KEY_FILE="$STACK_DIR/api-key" "$CTL" reconcile --since 1h
t_is "the key from a file works" "$RC" 0
ctl env CALCOM_API_URL="http://localhost:1" "$CTL" reconcile --since 1h
t_is "an http:// URL: exit 2" "$RC" 2
reconcile --since soon
t_is "a bad --since: exit 2" "$RC" 2
reconcile --from "$(at 0)"
t_is "--from without --to: exit 2" "$RC" 2
ctl env -u CALCOM_API_CA_FILE "$CTL" reconcile --since 1h
t_is "a certificate the system does not trust: exit 1" "$RC" 1
t_like "TLS verification says why" "$(cat "$STACK_DIR/err")" "(SSL|certificate)"
ctl env CALCOM_API_KEY=wrong "$CTL" reconcile --since 1h
t_is "a wrong key: exit 1" "$RC" 1
t_like "Cal.com's 401 reason" "$(cat "$STACK_DIR/err")" "Cal.com answered 401: UnauthorizedException: Invalid API key"
t_absent "the API key is in no output" -F "$API_KEY" -- "$STACK_DIR/all-output"
t_absent "nor in calsync's log" -F "$API_KEY" -- "$STACK_DIR/calsync.log"

echo "# done means: $DONE_MEANS"
t_done
