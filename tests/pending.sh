#!/bin/bash
# tests/pending.sh: pending deliveries have a lifetime.  A cancel or reject
# of a booking that never arrives is settled as expired after
# CALSYNC_PENDING_DAYS (by the notifier, at its start and once a minute);
# one whose booking came since is journaled applied; calsyncctl lists
# pending ones with their age and /metrics counts them.  Ages are made in
# the test database (received_at moved back), never from today's date.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
trap stack_stop EXIT
t_require_stack
stack_start 2 >&2 || t_bail "the stack did not start (see above)"
CTL=$top_builddir/src/calsyncctl
base=${STACK_URL%/api/v1/webhooks/calcom}

journal()	# journal UID: the outcomes recorded for it, in order
{
	sql "SELECT string_agg(outcome, ',' ORDER BY id)
	    FROM calsync.deliveries WHERE uid = '$1'"
}

appointment()	# appointment UID COLUMNS
{
	sql "SELECT $2 FROM public.appointments WHERE id =
	    (SELECT appointment_id FROM calsync.bookings WHERE uid = '$1')"
}

age()		# age DAYS UID...: the deliveries of the uids, DAYS older
{
	local days=$1 u
	shift
	for u in "$@"; do
		sql "UPDATE calsync.deliveries SET received_at = received_at -
		    make_interval(days => $days) WHERE uid = '$u'" >/dev/null
	done
}

rejected()	# rejected KEY=VALUE...: a BOOKING_REJECTED body, as Cal.com's
{
	local f
	f=$(body cancelled "$@") || return 1
	sed -i 's/"BOOKING_CANCELLED"/"BOOKING_REJECTED"/' "$f"
	printf '%s\n' "$f"
}

ctl()
{
	CALCOM_WEBHOOK_SECRET=$STACK_SECRET "$CTL" "$@"
}

journal_is()	# journal_is UID OUTCOMES
{
	[ "$(journal "$1")" = "$2" ]
}

# wait_for UID OUTCOMES: until the journal of UID says OUTCOMES (10 s).
wait_for()
{
	wait_until 10 journal_is "$1" "$2"
}

metrics()
{
	curl -sS --cacert "$STACK_CERT" "$base/metrics"
}

# --- a request rejected before it was confirmed: its booking never comes
never=$(new_uid)
post "$(body requested UID="$never" CREATED_AT="$(created_at -120)")"
t_is "request: 200" "$STATUS" 200
post "$(rejected UID="$never" REASON="Fully booked" CREATED_AT="$(created_at -60)")"
t_is "reject of the request: 202 pending" "$STATUS" 202
# a cancel of a booking that may still come (young)
young=$(new_uid)
post "$(body cancelled UID="$young" CREATED_AT="$(created_at -60)")"
t_is "young cancel: 202 pending" "$STATUS" 202
# a cancel whose booking came afterwards
came=$(new_uid)
post "$(body cancelled UID="$came" CREATED_AT="$(created_at -30)")"
post "$(body created UID="$came" CREATED_AT="$(created_at -90)")"
t_is "booking after its cancel: made cancelled" "$(appointment "$came" status)" cancelled
t_is "... its cancel still journaled pending, until the notifier looks" \
    "$(journal "$came")" pending,applied
# a cancel whose booking came afterwards, unmatched (its student not
# registered yet)
unmatched=$(new_uid)
post "$(body cancelled UID="$unmatched" STUDENT=nobody@example.com CREATED_AT="$(created_at -30)")"
t_is "a cancel: 202 pending" "$STATUS" 202
post "$(body created UID="$unmatched" STUDENT=nobody@example.com CREATED_AT="$(created_at -90)")"
t_is "... its booking, unmatched: 422" "$STATUS" 422

age 31 "$never" "$came" "$unmatched"
out=$(ctl deliveries -o pending)
t_like "deliveries -o pending: an AGE column" "$out" "^ID +RECEIVED +AGE +TRIGGER"
t_like "deliveries -o pending: the old reject, 31 days old" "$out" \
    " 31d0h +BOOKING_REJECTED +$never +pending "
t_like "deliveries -o pending: the young cancel, seconds old" "$out" \
    " [0-9]+s +BOOKING_CANCELLED +$young +pending "
t_ok "pending gauge is there once the notifier looked" \
    grep -q '^calsync_pending_deliveries [0-9]' <<<"$(metrics)"

# --- the notifier of a new calsync looks at them when it starts
stack_restart_calsync >&2 || t_bail "calsync did not start again"
t_ok "the reject older than 30 days: expired" wait_for "$never" ignored,expired
t_like "... its detail says why" \
    "$(sql "SELECT detail FROM calsync.deliveries WHERE uid = '$never' AND outcome = 'expired'")" \
    "never arrived within 30 days"
t_is "the young cancel: still pending" "$(journal "$young")" pending
t_ok "the cancel whose booking came: applied" wait_for "$came" applied,applied
t_is "... with its appointment" \
    "$(sql "SELECT d.appointment_id = b.appointment_id FROM calsync.deliveries d
        JOIN calsync.bookings b USING (uid) WHERE d.uid = '$came' ORDER BY d.id LIMIT 1")" t
t_is "the cancel of an unmatched booking: still pending (a replay takes it)" \
    "$(journal "$unmatched")" pending,unmatched
t_like "the log says how many expired" "$(cat "$STACK_DIR/calsync.log")" \
    "notifier: 1 pending deliveries expired"
m=$(metrics)
t_like "metrics: pending now" "$m" '^calsync_pending_deliveries 2$'
t_like "metrics: expired by this host" "$m" '^calsync_pending_expired_total 1$'
out=$(ctl deliveries -o pending)
t_not "deliveries -o pending: the expired one is gone" grep -q "$never" <<<"$out"
t_like "deliveries -o expired: lists it" "$(ctl deliveries -o expired)" \
    " BOOKING_REJECTED +$never +expired +webhook +its booking never arrived"
t_is "expire_pending again: nothing more (idempotent)" \
    "$(sql "SELECT arrived, expired, pending FROM calsync.expire_pending('30 days')")" "0|0|2"
t_is "the calsync role may run it" \
    "$(sql "SELECT has_function_privilege('calsync', 'calsync.expire_pending(interval)', 'EXECUTE')")" t

# --- the booking arrives after all, after its reject expired: applied
# normally, the expired reject folded in its clock order (the journal is
# history: the expired row stays)
post "$(body created UID="$never" CREATED_AT="$(created_at -100)")"
t_is "late booking after expiry: 200" "$STATUS" 200
t_like "... applied" "$ANSWER" '"status":"applied"'
t_is "... and the reject folded in: cancelled with its reason" \
    "$(appointment "$never" "status, cancellation_reason")" "cancelled|Fully booked"
t_is "... the journal keeps the expiry" "$(journal "$never")" ignored,expired,applied
# and one whose booking comes later than its expired change's clock
late=$(new_uid)
post "$(body cancelled UID="$late" CREATED_AT="$(created_at -200)")"
age 31 "$late"
sql "SELECT expired FROM calsync.expire_pending('30 days')" >/dev/null
t_is "an old cancel: expired" "$(journal "$late")" expired
post "$(body created UID="$late" CREATED_AT="$(created_at -300)")"
t_is "its booking comes: cancelled, as Cal.com has it" "$(appointment "$late" status)" cancelled

# --- the lifetime is configurable
export CALSYNC_PENDING_DAYS=2
age 3 "$young"
stack_restart_calsync >&2 || t_bail "calsync did not start again"
t_ok "CALSYNC_PENDING_DAYS=2: a 3-day-old cancel expires" wait_for "$young" expired
t_like "... its detail names the lifetime" \
    "$(sql "SELECT detail FROM calsync.deliveries WHERE uid = '$young'")" \
    "never arrived within 2 days"
unset CALSYNC_PENDING_DAYS

t_done
