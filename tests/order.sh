#!/bin/bash
# tests/order.sh: the final state never depends on how Cal.com delivers.
# Every booking trigger a trainer meets, the rule for equal createdAt,
# replay of unmatched deliveries; then a property test: random booking
# histories (plain bookings, group classes, weekly series) delivered in
# random orders, with duplicates, through several workers of two pools
# (two hosts) on one database, must end exactly as the same history
# delivered in order.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/histories.sh"
trap stack_stop EXIT
t_require_stack
stack_start 3 >&2 || t_bail "the stack did not start (see above)"
CTL=$top_builddir/src/calsyncctl
ANA=22222222-2222-4222-8222-222222222222
BRUNO=33333333-3333-4333-8333-333333333333

appointment()	# appointment UID COLUMNS [STUDENT]
{
	sql "SELECT $2 FROM (SELECT * FROM public.appointments WHERE id IN
	    (SELECT appointment_id FROM calsync.bookings WHERE uid = '$1')
	    ${3:+AND student_id = '$3'} ORDER BY student_id) a"
}

journal()
{
	sql "SELECT string_agg(outcome, ',' ORDER BY id)
	    FROM calsync.deliveries WHERE uid = '$1'"
}

# --- BOOKING_REQUESTED: nothing until the trainer confirms
u=$(new_uid)
post "$(body requested UID="$u")"
t_is "requested: 200" "$STATUS" 200
t_is "requested: no appointment" "$(appointment "$u" count\(\*\))" 0
t_is "requested: recorded" "$(journal "$u")" ignored
post "$(body created UID="$u")"
t_is "confirmed (BOOKING_CREATED): the appointment" "$(appointment "$u" status)" scheduled

# --- BOOKING_REJECTED
u=$(new_uid)
post "$(body created UID="$u" CREATED_AT="$(at 0)")"
f=$(body cancelled UID="$u" CREATED_AT="$(at 10)")
sed -i 's/"BOOKING_CANCELLED"/"BOOKING_REJECTED"/; s/"cancellationReason":"[^"]*"/"rejectionReason":"Fully booked"/' "$f"
post "$f"
t_is "rejected: cancelled with the reason" "$(appointment "$u" "status, cancellation_reason")" \
    "cancelled|Fully booked"

# --- cancelled with requestReschedule, then rescheduled: back
u=$(new_uid)
v=$(new_uid)
post "$(body created UID="$u" CREATED_AT="$(at 0)")"
post "$(body cancelled UID="$u" REQRES=true REASON="Please pick another time" CREATED_AT="$(at 10)")"
t_is "request reschedule: cancelled" "$(appointment "$u" status)" cancelled
post "$(body rescheduled UID="$v" ORIG="$u" START=2026-12-09T07:00:00Z END=2026-12-09T08:00:00Z CREATED_AT="$(at 20)")"
t_is "... then rescheduled: scheduled at the new time, no reason left" \
    "$(appointment "$u" "status, scheduled_at, cancellation_reason IS NULL, cancelled_at IS NULL")" \
    "scheduled|2026-12-09 07:00:00|t|t"

# --- no-show, and a student who attends with a guest who is a student too
u=$(new_uid)
f=$(body created UID="$u" CREATED_AT="$(at 0)")
sed -i 's/additional-guest@example.com/bruno.lima@example.com/g' "$f"
post "$f"
t_is "two students in one booking: two appointments" "$(appointment "$u" count\(\*\))" 2
post "$(body no_show_updated UID="$u" STUDENT=Bruno.Lima@example.com NOSHOW=true CREATED_AT="$(at 50)")"
t_is "no-show: the guest marked absent" "$(appointment "$u" status "$BRUNO")" no_show
t_is "no-show: the booker untouched" "$(appointment "$u" status "$ANA")" scheduled
post "$(body no_show_updated UID="$u" STUDENT=bruno.lima@example.com NOSHOW=false CREATED_AT="$(at 60)")"
t_is "no-show unmarked: scheduled again" "$(appointment "$u" status "$BRUNO")" scheduled
post "$(body cancelled UID="$u" CREATED_AT="$(at 70)")"
t_is "a cancel cancels every student's appointment" \
    "$(appointment "$u" "string_agg(status, ',')")" cancelled,cancelled

# --- location and payment updates change what GA Personal stores, only
u=$(new_uid)
post "$(body created UID="$u" CREATED_AT="$(at 0)")"
f=$(body created UID="$u" LOCATION="Parque Ibirapuera" CREATED_AT="$(at 30)")
sed -i 's/"BOOKING_CREATED"/"BOOKING_LOCATION_UPDATED"/' "$f"
post "$f"
t_is "location updated" "$(appointment "$u" "location, status, scheduled_at")" \
    "Parque Ibirapuera|scheduled|2026-12-01 10:00:00"
f=$(body created UID="$u" LOCATION="Studio 2" CREATED_AT="$(at 20)")
sed -i 's/"BOOKING_CREATED"/"BOOKING_PAID"/' "$f"
post "$f"
t_is "an older update: stale, nothing changed" \
    "$(journal "$u"):$(appointment "$u" location)" "applied,applied,stale:Parque Ibirapuera"

# --- MEETING_STARTED (flat body) is recorded and ignored
f=$(body meeting_ended UID="$u")
sed -i 's/"MEETING_ENDED"/"MEETING_STARTED"/' "$f"
post "$f"
t_is "MEETING_STARTED: 200, ignored" "$STATUS:$(sql "SELECT outcome FROM calsync.deliveries ORDER BY id DESC LIMIT 1")" \
    "200:ignored"

# --- out of order: a late CREATED never resurrects a cancel; a stale cancel
# never undoes a later reschedule
u=$(new_uid)
post "$(body cancelled UID="$u" CREATED_AT="$(at 10)")"
t_is "cancel first: pending" "$STATUS" 202
post "$(body created UID="$u" CREATED_AT="$(at 0)")"
t_is "late CREATED: the appointment is cancelled" "$(appointment "$u" status)" cancelled
u=$(new_uid)
v=$(new_uid)
post "$(body created UID="$u" CREATED_AT="$(at 0)")"
post "$(body rescheduled UID="$v" ORIG="$u" START=2026-12-10T10:00:00Z END=2026-12-10T11:00:00Z CREATED_AT="$(at 20)")"
post "$(body cancelled UID="$u" CREATED_AT="$(at 10)")"
t_is "stale cancel after a reschedule: 200, stale" "$STATUS:$(journal "$u" | sed 's/.*,//')" "200:stale"
t_is "... the reschedule stands" "$(appointment "$v" "status, scheduled_at")" "scheduled|2026-12-10 10:00:00"

# --- equal createdAt: a cancel wins over a reschedule, whatever comes first
for order in cancel-first reschedule-first; do
	u=$(new_uid)
	v=$(new_uid)
	post "$(body created UID="$u" CREATED_AT="$(at 0)")"
	c=$(body cancelled UID="$u" CREATED_AT="$(at 40)")
	r=$(body rescheduled UID="$v" ORIG="$u" START=2026-12-11T10:00:00Z END=2026-12-11T11:00:00Z CREATED_AT="$(at 40)")
	if [ "$order" = cancel-first ]; then post "$c"; post "$r"; else post "$r"; post "$c"; fi
	t_is "same createdAt, $order: cancelled, at the new time" \
	    "$(appointment "$u" "status, scheduled_at")" "cancelled|2026-12-11 10:00:00"
done

# --- replay: the student registers after booking
u=$(new_uid)
f=$(body created UID="$u" STUDENT=late.student@example.com)
sed -i 's/additional-guest@example.com/nobody@example.com/g' "$f"
post "$f"
t_is "unknown student: 422" "$STATUS" 422
id=$(sql "SELECT id FROM calsync.deliveries WHERE uid = '$u'")
t_like "deliveries -o unmatched lists it" \
    "$(CALCOM_WEBHOOK_SECRET=x "$CTL" deliveries -o unmatched)" "^$id +.*$u +unmatched"
sql "INSERT INTO public.users (id, email, password_hash, role, full_name,
    inserted_at, updated_at)
    VALUES ('66666666-6666-4666-8666-666666666666', 'Late.Student@example.com',
    '!test:no-password', 'student', 'Late Student', now(), now())" >/dev/null
out=$(CALCOM_WEBHOOK_SECRET=x "$CTL" replay "$id")
t_like "replay: applied" "$out" "^$id +applied"
t_is "replay: the appointment" "$(appointment "$u" student_id)" 66666666-6666-4666-8666-666666666666
out=$(CALCOM_WEBHOOK_SECRET=x "$CTL" replay -a)
t_is "replay -a again: nothing left to replay" "$out" ""
t_is "replaying twice changes nothing" "$(appointment "$u" count\(\*\))" 1
t_not "deliveries -o unmatched no longer lists it" \
    grep -q "$u" <<<"$(CALCOM_WEBHOOK_SECRET=x "$CTL" deliveries -o unmatched)"

# --- replay of a series: a student not registered yet books three Tuesdays
# from 2026-12-01 and then cancels all remaining from the second's link on
# Saturday 5th: all four 422.  Registered, one occurrence replayed alone
# gets the cancel too; replaying the rest, the first stays scheduled.
sv=(x "$(new_uid)" "$(new_uid)" "$(new_uid)")
for n in 1 2 3; do
	day=2026-12-$(printf %02d $((7 * n - 6)))
	f=$(body series_created UID="${sv[n]}" COUNT=3 STUDENT=series.student@example.com \
	    START="${day}T10:00:00Z" END="${day}T11:00:00Z" CREATED_AT="$(at "$n")")
	sed -i 's/additional-guest@example.com/nobody@example.com/g' "$f"
	post "$f"
	codes="${codes:-}$STATUS,"
done
f=$(body series_cancelled UID="${sv[2]}" COUNT=3 STUDENT=series.student@example.com \
    REASON="Moving away" START=2026-12-08T10:00:00+00:00 END=2026-12-08T11:00:00+00:00 \
    CREATED_AT=2026-12-05T12:15:00.000Z)
sed -i 's/additional-guest@example.com/nobody@example.com/g' "$f"
post "$f"
t_is "a series of a student not registered yet: every delivery 422" "$codes$STATUS" 422,422,422,422
sql "INSERT INTO public.users (id, email, password_hash, role, full_name,
    inserted_at, updated_at)
    VALUES ('77777777-7777-4777-8777-777777777777', 'Series.Student@example.com',
    '!test:no-password', 'student', 'Series Student', now(), now())" >/dev/null
id=$(sql "SELECT id FROM calsync.deliveries WHERE uid = '${sv[3]}'")
t_like "replay of the third occurrence: applied" \
    "$(CALCOM_WEBHOOK_SECRET=x "$CTL" replay "$id")" "^$id +applied"
t_is "... cancelled by the cancel all remaining Cal.com sent meanwhile" \
    "$(appointment "${sv[3]}" "status || '|' || cancellation_reason")" "cancelled|Moving away"
CALCOM_WEBHOOK_SECRET=x "$CTL" replay -a >/dev/null
t_is "replay -a: the first occurrence scheduled, the second and third cancelled" \
    "$(for n in 1 2 3; do appointment "${sv[n]}" status; done | tr '\n' ,)" \
    "scheduled,cancelled,cancelled,"

# --- a weekly series: Cal.com keeps a rescheduled occurrence in its series
# at its new time, so "cancel all remaining" cancels it if it then starts
# from that moment on, whatever its first time.  Three Tuesdays from
# 2026-12-01; the first moved to Thursday 3rd, the third to Wednesday 2nd
# 09:00; then "cancel all remaining" from the second's link on the 2nd at
# noon: the first (now the 3rd) and the second cancelled, the third (now
# past) stays.
for order in "B1 B2 B3 R1 R3 X2" "X2 R3 R1 B3 B2 B1"; do
	u1=$(new_uid) u2=$(new_uid) u3=$(new_uid) v1=$(new_uid) v3=$(new_uid)
	for step in $order; do
		case $step in
		B?) n=${step#B}
		    u=$(eval echo "\$u$n")
		    day=2026-12-$(printf %02d $((7 * n - 6)))
		    f=$(body series_created UID="$u" COUNT=3 START="${day}T10:00:00Z" \
		        END="${day}T11:00:00Z" CREATED_AT="$(at "$n")") ;;
		R1) f=$(body rescheduled UID="$v1" ORIG="$u1" START=2026-12-03T10:00:00Z \
		        END=2026-12-03T11:00:00Z CREATED_AT="$(at 10)") ;;
		R3) f=$(body rescheduled UID="$v3" ORIG="$u3" START=2026-12-02T09:00:00Z \
		        END=2026-12-02T10:00:00Z CREATED_AT="$(at 11)") ;;
		X2) f=$(body series_cancelled UID="$u2" COUNT=10 REASON="Moving away" \
		        START=2026-12-08T10:00:00+00:00 END=2026-12-08T11:00:00+00:00 \
		        CREATED_AT=2026-12-02T12:00:00.000Z) ;;
		esac
		post "$f"
	done
	t_is "series, $order: cancel all remaining judges a rescheduled occurrence by its new time" \
	    "$(for u in "$u1" "$u2" "$u3"; do appointment "$u" "status || ' ' || scheduled_at"; done | tr '\n' ,)" \
	    "cancelled 2026-12-03 10:00:00,cancelled 2026-12-08 10:00:00,scheduled 2026-12-02 09:00:00,"
done

# --- the property: any order, duplicates, many workers, two hosts
# A second pool on another socket, as a second host would run.
t_ok "a second pool (a second host) on the same database" \
    stack_start_second_pool 2

# deliver FILE...: each to a random pool (drawn here, not in the pipe:
# tests/histories.sh), four at a time.
deliver()
{
	local f to=()
	for f in "$@"; do
		if [ $((RANDOM % 2)) = 0 ]; then
			to+=("$f $STACK_SOCKET")
		else
			to+=("$f $STACK_SOCKET2")
		fi
	done
	printf '%s\n' "${to[@]}" | xargs -P 4 -L 1 bash -c '. "$top_srcdir/tests/stack.sh"; . "$top_srcdir/tests/tap.sh";
	    SOCKET=$1 fcgi "$0"; case $STATUS:$ANSWER in *spooled*) echo "$0 $STATUS $ANSWER" ;;
	    2*|422:*) ;; *) echo "$0 $STATUS $ANSWER" ;; esac' \
	    >>"$STACK_DIR/failed"
}

export top_srcdir STACK_SECRET STACK_DIR
HISTORIES=${PROPERTY_HISTORIES:-25}
PERMUTATIONS=${PROPERTY_PERMUTATIONS:-4}
: >"$STACK_DIR/failed"
requests=0
seats=0
leaves=0
seats_bad=0
series_n=0
occurrences=0
approvals=0
remaining=0
series_bad=0
twice_bad=0

# in_order N: what history N holds, and what it must give delivered in
# order: the classes' seats, the series' occurrences, no booking with two
# appointments of one student.
in_order()
{
	local n=$1 files doubled
	mapfile -t files <"$STACK_DIR/h.$n"
	requests=$((requests + $(cat "${files[@]}" | grep -c '"BOOKING_REQUESTED".*"rescheduleUid"')))
	seats=$((seats + $(cat "${files[@]}" | grep -c '"attendeeSeatId"')))
	leaves=$((leaves + $(cat "${files[@]}" | grep -c '"seatsPerTimeSlot":3,.*"status":"CANCELLED"')))
	if [ -s "$STACK_DIR/h.$n.series" ]; then
		series_n=$((series_n + 1))
		occurrences=$((occurrences + $(wc -l <"$STACK_DIR/h.$n.series")))
		approvals=$((approvals + $(grep -c approved "$STACK_DIR/h.$n.series.kind")))
		remaining=$((remaining + $(cat "${files[@]}" | grep -c '"BOOKING_CANCELLED".*"recurringEvent"')))
	fi
	doubled=$(twice "$n")
	if [ "$(seats "$n")" != "$(LC_ALL=C sort "$STACK_DIR/h.$n.seats")" ]; then
		seats_bad=$((seats_bad + 1))
		echo "# history $n, in order: the classes' appointments differ"
		diff <(LC_ALL=C sort "$STACK_DIR/h.$n.seats") <(seats "$n") | sed 's/^/# /' | head -10
	fi
	if [ "$(series "$n")" != "$(LC_ALL=C sort "$STACK_DIR/h.$n.series")" ]; then
		series_bad=$((series_bad + 1))
		echo "# history $n, in order: the series' appointments differ"
		diff <(LC_ALL=C sort "$STACK_DIR/h.$n.series") <(series "$n") | sed 's/^/# /' | head -10
	fi
	if [ -n "$doubled" ]; then
		twice_bad=$((twice_bad + 1))
		echo "# history $n, in order: two appointments of one student in: $doubled"
	fi
}

# drawn SEED: five histories and an order of each, drawn from SEED: the
# bodies in the order they would be delivered.
drawn()
{
	local n files order
	RANDOM=$1
	for n in 1 2 3 4 5; do
		history "drawn$n"
		mapfile -t files <"$STACK_DIR/h.drawn$n"
		shuffled order "${files[@]}"
		cat "${order[@]}"
	done
}
# What the property prints when it fails, "seed N", makes the same run
# again: PROPERTY_SEED=N.
t_is "one seed draws the same histories and orders twice" \
    "$(drawn 4242 | sha256sum)" "$(drawn 4242 | sha256sum)"
t_ok "... five histories of bodies" \
    test "$(drawn 4242 | grep -o '"triggerEvent"' | wc -l)" -ge 5
t_ok "... and another seed others" \
    test "$(drawn 4242 | sha256sum)" != "$(drawn 4243 | sha256sum)"

property "$HISTORIES" "$PERMUTATIONS" deliver in_order :
t_is "property: $PROPERTY_RUNS shuffled deliveries of $HISTORIES histories ($PROPERTY_EVENTS events, $requests reschedules to confirm, $seats seats taken and $leaves left in group classes, $occurrences occurrences of $series_n weekly series) end as in order" "$PROPERTY_BAD" 0
t_is "in order: one appointment per student for a booking and all its reschedules" "$twice_bad" 0
t_is "in order: a class has one appointment per student who took a seat, cancelled if they left or the class was cancelled" "$seats_bad" 0
t_is "in order: $series_n weekly series ($occurrences occurrences, $approvals approved, $remaining \"cancel all remaining\") have one appointment per occurrence at its time once booked or approved, cancelled if cancelled alone or starting from a cancel all remaining" "$series_bad" 0
t_is "every shuffled delivery was answered 2xx" "$(cat "$STACK_DIR/failed")" ""
# ... and if not, what calsync logged of them.
grep -o '"request_id":"[^"]*"' "$STACK_DIR/failed" | cut -d'"' -f4 |
    while read -r id; do
	grep -h "id=$id\b" "$STACK_DIR/calsync.log" "$STACK_DIR/pool2.log"
    done | sed 's/^/# /'
t_absent "no worker crashed" -F "killed by signal" -- \
    "$STACK_DIR/calsync.log" "$STACK_DIR/pool2.log"

t_done
