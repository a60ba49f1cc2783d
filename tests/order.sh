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
trap 'kill $POOL2 2>/dev/null; stack_stop' EXIT
POOL2=
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

at()	# at SECONDS: a createdAt that many seconds into 2026-11-01
{
	date -u -d "@$((1793491200 + $1))" +%Y-%m-%dT%H:%M:%S.000Z
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
SOCK2=$STACK_DIR/pool2.sock
mkdir -p "$STACK_DIR/spool2"
DATABASE_URL=$DATABASE_URL CALCOM_WEBHOOK_SECRET=$STACK_SECRET \
    CALSYNC_SPOOL_DIR=$STACK_DIR/spool2 \
    "$top_builddir/src/calsync" -s "$SOCK2" -w 2 2>>"$STACK_DIR/pool2.log" &
POOL2=$!
for _ in $(seq 50); do [ -S "$SOCK2" ] && break; sleep 0.1; done
t_ok "a second pool (a second host) on the same database" test -S "$SOCK2"

STUDENTS=(ana@example.com bruno.lima@example.com carla@example.com)

# class_history N T: a group class (one uid, a seat per student) into
# $STACK_DIR/h.N from createdAt T on, as Cal.com can send it: one to three
# students take a seat, some leave (and may take a new seat again), the
# last one leaving cancels the class, or the trainer cancels it whole;
# after either, the uid is done (Cal.com books a new one).
class_history()
{
	local n=$1 t=$2 uid k i s in=() out=() day when
	uid=$(new_uid)
	day=2026-12-2$((RANDOM % 9))
	when="START=${day}T1$((RANDOM % 9)):00:00Z END=${day}T23:00:00Z"
	for s in $(printf '%s\n' "${STUDENTS[@]}" | shuf -n $((1 + RANDOM % 3))); do
		t=$((t + 1 + RANDOM % 3))
		body seat_created UID="$uid" STUDENT="$s" SEAT="$(new_uid)" \
		    CREATED_AT="$(at $t)" $when >>"$STACK_DIR/h.$n"
		in+=("$s")
	done
	for k in $(seq $((RANDOM % 5))); do
		t=$((t + 1 + RANDOM % 3))
		case $((RANDOM % 5)) in
		0|1|2)	# someone leaves; the last one leaving cancels the class
			i=$((RANDOM % ${#in[@]}))
			s=${in[i]}
			body seat_cancelled UID="$uid" STUDENT="$s" REASON="left $k" \
			    CREATED_AT="$(at $t)" $when >>"$STACK_DIR/h.$n"
			in=("${in[@]:0:i}" "${in[@]:i+1}")
			out+=("$s")
			[ ${#in[@]} = 0 ] && break ;;
		3)	# one who left takes a new seat
			[ ${#out[@]} = 0 ] && continue
			i=$((RANDOM % ${#out[@]}))
			s=${out[i]}
			body seat_created UID="$uid" STUDENT="$s" SEAT="$(new_uid)" \
			    CREATED_AT="$(at $t)" $when >>"$STACK_DIR/h.$n"
			out=("${out[@]:0:i}" "${out[@]:i+1}")
			in+=("$s") ;;
		4)	# the trainer cancels the class whole: a cancel naming no one
			body seed_cancelled UID="$uid" REASON="class off $k" \
			    CREATED_AT="$(at $t)" >>"$STACK_DIR/h.$n"
			out+=("${in[@]}")
			in=()
			break ;;
		esac
	done
	echo "$uid" >>"$STACK_DIR/h.$n.chains"
	# what the trainer must see: each student once, cancelled if out
	for s in "${in[@]}"; do echo "$uid|$s|scheduled"; done >>"$STACK_DIR/h.$n.seats"
	for s in "${out[@]}"; do echo "$uid|$s|cancelled"; done >>"$STACK_DIR/h.$n.seats"
}

# series_history N T: a weekly series of one student into $STACK_DIR/h.N
# from createdAt T on, as Cal.com sends it: a BOOKING_CREATED per
# occurrence, each with its own uid and recurringEvent; or, when the
# event type needs approval, a BOOKING_REQUESTED per occurrence and, if
# the trainer accepts, one BOOKING_CREATED for the first uid with
# recurringEvent.count = how many.  Then, in any mix: one occurrence
# cancelled alone (no recurringEvent), one rescheduled (a plain
# BOOKING_RESCHEDULED, to another hour of its day: Cal.com keeps it in
# the series), and "cancel all remaining" from the link of an occurrence
# still to come: one BOOKING_CANCELLED with recurringEvent (the event
# type's count), sent at 12:15 of an occurrence's day, after which
# Cal.com has cancelled every occurrence starting from then and sends
# nothing more.
series_history()
{
	local n=$1 t=$2 s count first hour i k j new moment link
	local uids=() starts=() state=() chains=() template=series_created
	: >"$STACK_DIR/h.$n.series.kind"
	s=${STUDENTS[RANDOM % 3]}
	count=$((2 + RANDOM % 4))
	first=2026-12-0$((1 + RANDOM % 7))
	hour=1$((RANDOM % 8))
	[ $((RANDOM % 3)) = 0 ] && template=series_requested
	for i in $(seq 0 $((count - 1))); do
		uids[i]=$(new_uid)
		chains[i]=${uids[i]}
		starts[i]=$(date -u -d "$first $hour:00 UTC + $((7 * i)) days" +%Y-%m-%dT%H:%M:%SZ)
		state[i]=scheduled
		t=$((t + 1))
		body "$template" UID="${uids[i]}" STUDENT="$s" COUNT="$count" \
		    START="${starts[i]}" END="${starts[i]/T$hour/T2$((hour % 4))}" \
		    CREATED_AT="$(at $t)" >>"$STACK_DIR/h.$n"
	done
	if [ "$template" = series_requested ]; then
		if [ $((RANDOM % 3)) = 0 ]; then	# not approved yet
			for i in "${!uids[@]}"; do state[i]=none; done
			k=0
		else
			t=$((t + 1 + RANDOM % 3))
			body series_created UID="${uids[0]}" STUDENT="$s" \
			    COUNT="$count" START="${starts[0]}" \
			    END="${starts[0]/T$hour/T2$((hour % 4))}" \
			    CREATED_AT="$(at $t)" >>"$STACK_DIR/h.$n"
			echo approved >"$STACK_DIR/h.$n.series.kind"
			k=$((RANDOM % 4))
		fi
	else
		k=$((RANDOM % 4))
	fi
	for _ in $(seq "$k"); do
		t=$((t + 1 + RANDOM % 3))
		i=$((RANDOM % count))
		case $((RANDOM % 3)) in
		0)	# one occurrence cancelled alone
			[ "${state[i]}" = cancelled ] && continue
			body cancelled UID="${uids[i]}" STUDENT="$s" REASON="sick $t" \
			    CREATED_AT="$(at $t)" >>"$STACK_DIR/h.$n"
			state[i]=cancelled ;;
		1)	# one occurrence rescheduled to another hour of its day
			[ "${state[i]}" = cancelled ] && continue
			new=$(new_uid)
			j=$(printf %02d $((6 + RANDOM % 15)))
			f=$(body rescheduled UID="$new" ORIG="${uids[i]}" STUDENT="$s" \
			    START="${starts[i]%T*}T$j:30:00Z" \
			    END="${starts[i]%T*}T23:00:00Z" CREATED_AT="$(at $t)")
			echo "$f" >>"$STACK_DIR/h.$n"
			starts[i]=${starts[i]%T*}T$j:30:00Z
			uids[i]=$new
			chains[i]="${chains[i]} $new" ;;
		2)	# cancel all remaining, from an occurrence still to come
			moment="${starts[i]%T*}T12:15:00"
			link=
			for j in "${!uids[@]}"; do
				[ "${state[j]}" = scheduled ] &&
				    [[ ! ${starts[j]%Z} < $moment ]] &&
				    link=${link:-$j}
			done
			[ -z "$link" ] && continue
			body series_cancelled UID="${uids[link]}" STUDENT="$s" \
			    COUNT=$((count + RANDOM % 3)) REASON="moving $t" \
			    START="${starts[link]%Z}+00:00" \
			    END="${starts[link]%T*}T23:00:00+00:00" \
			    CREATED_AT="$moment.000Z" >>"$STACK_DIR/h.$n"
			for j in "${!uids[@]}"; do
				[[ ! ${starts[j]%Z} < $moment ]] && state[j]=cancelled
			done
			break ;;	# the series is over
		esac
	done
	printf '%s\n' "${chains[@]}" >>"$STACK_DIR/h.$n.chains"
	# what the trainer must see: each occurrence at its time, cancelled
	# if cancelled; none for requests not approved
	for i in "${!uids[@]}"; do
		if [ "${state[i]}" = none ]; then
			echo "${chains[i]%% *}|none|-"
		else
			echo "${chains[i]%% *}|${state[i]}|${starts[i]}"
		fi
	done >>"$STACK_DIR/h.$n.series"
}

# series N: the appointments of history N's series, as h.N.series says them.
series()
{
	local uids
	[ -s "$STACK_DIR/h.$1.series" ] || return 0
	uids=$(cut -d '|' -f 1 "$STACK_DIR/h.$1.series" | sed "s/.*/'&'/" | paste -sd,)
	sql "SELECT v.uid, coalesce(a.status, 'none'), coalesce(to_char(a.scheduled_at,
	    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')
	    FROM unnest(ARRAY[$uids]) v (uid)
	    LEFT JOIN calsync.bookings b ON b.uid = v.uid
	    LEFT JOIN public.appointments a ON a.id = b.appointment_id" | LC_ALL=C sort
}

# seats N: the appointments of history N's classes, as h.N.seats says them.
seats()
{
	local uids
	[ -s "$STACK_DIR/h.$1.seats" ] || return 0
	uids=$(cut -d '|' -f 1 "$STACK_DIR/h.$1.seats" | sort -u | sed "s/.*/'&'/" | paste -sd,)
	sql "SELECT b.uid, lower(u.email), a.status FROM calsync.bookings b
	    JOIN public.appointments a ON a.id = b.appointment_id
	    JOIN public.users u ON u.id = a.student_id
	    WHERE b.uid IN ($uids)" | LC_ALL=C sort
}

# history N: writes the events of one random history, one "FILE" a line
# in createdAt order, into $STACK_DIR/h.N; and the uids of each booking
# (the original and its reschedules), one booking a line, into
# $STACK_DIR/h.N.chains.
history()
{
	local n=$1 b t uid prev new k op s guest day when chain
	: >"$STACK_DIR/h.$n"
	: >"$STACK_DIR/h.$n.chains"
	: >"$STACK_DIR/h.$n.seats"
	: >"$STACK_DIR/h.$n.series"
	for b in $(seq $((1 + RANDOM % 2))); do
		t=$((RANDOM % 100))
		case $((RANDOM % 4)) in
		0)	class_history "$n" "$t"
			continue ;;
		1)	# one series a history: two of one student on one
			# weekday would be one to calsync (README)
			if [ ! -s "$STACK_DIR/h.$n.series" ]; then
				series_history "$n" "$t"
				continue
			fi ;;
		esac
		uid=$(new_uid)
		s=${STUDENTS[RANDOM % 3]}
		guest=nobody@example.com
		[ $((RANDOM % 3)) = 0 ] && guest=${STUDENTS[RANDOM % 3]}
		f=$(body created UID="$uid" STUDENT="$s" CREATED_AT="$(at $t)" \
		    START="2026-12-0$((1 + RANDOM % 9))T1$((RANDOM % 9)):00:00Z" \
		    END="2026-12-0$((1 + RANDOM % 9))T2$((RANDOM % 3)):00:00Z")
		# endTime may come before startTime: then use length only
		sed -i "s/additional-guest@example.com/$guest/g; s/\"endTime\":\"[^\"]*\",//" "$f"
		echo "$f" >>"$STACK_DIR/h.$n"
		prev=$uid
		chain=$uid
		for k in $(seq $((RANDOM % 5))); do
			t=$((t + 1 + RANDOM % 3))
			op=$((RANDOM % 6))
			case $op in
			0|1)	new=$(new_uid)
				f=$(body rescheduled UID="$new" ORIG="$prev" STUDENT="$s" \
				    CREATED_AT="$(at $t)" \
				    START="2026-12-1$((RANDOM % 9))T0$((RANDOM % 9)):30:00Z" \
				    END="2026-12-19T23:59:00Z")
				sed -i "s/\"endTime\":\"[^\"]*\",//" "$f"
				chain="$chain $new"
				prev=$new ;;
			2)	f=$(body cancelled UID="$prev" STUDENT="$s" CREATED_AT="$(at $t)" \
				    REQRES=$([ $((RANDOM % 2)) = 0 ] && echo true || echo false) \
				    REASON="reason $k") ;;
			3)	f=$(body no_show_updated UID="$prev" STUDENT="$s" CREATED_AT="$(at $t)" \
				    NOSHOW=$([ $((RANDOM % 2)) = 0 ] && echo true || echo false)) ;;
			4)	f=$(body created UID="$prev" STUDENT="$s" CREATED_AT="$(at $t)" \
				    LOCATION="Room $k$t")
				sed -i 's/"BOOKING_CREATED"/"BOOKING_LOCATION_UPDATED"/' "$f" ;;
			5)	# a reschedule the trainer must confirm: BOOKING_REQUESTED
				# for the new uid, then its BOOKING_CREATED (accepted,
				# no rescheduleUid), its BOOKING_REJECTED, or nothing yet
				new=$(new_uid)
				chain="$chain $new"
				day=2026-12-2$((RANDOM % 9))
				when="START=${day}T0$((RANDOM % 9)):00:00Z END=${day}T23:00:00Z"
				f=$(body requested_reschedule UID="$new" ORIG="$prev" \
				    STUDENT="$s" CREATED_AT="$(at $t)" $when)
				echo "$f" >>"$STACK_DIR/h.$n"
				t=$((t + 1 + RANDOM % 3))
				case $((RANDOM % 3)) in
				0)	f=$(body created UID="$new" STUDENT="$s" \
					    CREATED_AT="$(at $t)" $when)
					prev=$new ;;
				1)	f=$(body rejected UID="$new" STUDENT="$s" \
					    CREATED_AT="$(at $t)" REASON="declined $k" $when)
					echo "$f" >>"$STACK_DIR/h.$n"
					break ;;
				2)	break ;;	# still waiting
				esac ;;
			esac
			echo "$f" >>"$STACK_DIR/h.$n"
		done
		echo "$chain" >>"$STACK_DIR/h.$n.chains"
	done
}

# twice N: the bookings of history N that hold two appointments of one
# student (a reschedule that made a second session instead of moving it).
twice()
{
	local chain
	while read -r chain; do
		sql "SELECT '$chain' FROM public.appointments a
		    WHERE a.id IN (SELECT b.appointment_id FROM calsync.bookings b
		    WHERE b.uid IN ($(sed "s/[^ ]*/'&'/g; s/ /,/g" <<<"$chain")))
		    GROUP BY a.student_id HAVING count(*) > 1"
	done <"$STACK_DIR/h.$n.chains"
}

reset()
{
	sql "TRUNCATE calsync.deliveries, calsync.events, calsync.bookings,
	    calsync.settled, public.appointments CASCADE" >/dev/null
}

# Every appointment, named by the first uid of its booking and its student.
snapshot()
{
	sql "SELECT (SELECT min(uid) FROM calsync.bookings b WHERE b.appointment_id = a.id),
	    trainer_id, student_id, scheduled_at, duration_minutes, location, status,
	    cancellation_reason, cancelled_at, appointment_type, replace(notes, E'\n', '/')
	    FROM public.appointments a ORDER BY 1, 3"
}

# deliver FILE...: each to a random pool, four at a time.
deliver()
{
	local f
	for f in "$@"; do
		printf '%s %s\n' "$f" "$([ $((RANDOM % 2)) = 0 ] && echo "$STACK_SOCKET" || echo "$SOCK2")"
	done | xargs -P 4 -L 1 bash -c '. "$top_srcdir/tests/stack.sh"; . "$top_srcdir/tests/tap.sh";
	    SOCKET=$1 fcgi "$0"; case $STATUS:$ANSWER in *spooled*) echo "$0 $STATUS $ANSWER" ;;
	    2*|422:*) ;; *) echo "$0 $STATUS $ANSWER" ;; esac' \
	    >>"$STACK_DIR/failed"
}

export top_srcdir STACK_SECRET STACK_DIR
HISTORIES=${PROPERTY_HISTORIES:-25}
PERMUTATIONS=${PROPERTY_PERMUTATIONS:-4}
seed=${PROPERTY_SEED:-$$}
RANDOM=$seed
echo "# property: $HISTORIES histories x $PERMUTATIONS orders, seed $seed"
: >"$STACK_DIR/failed"
bad=0
runs=0
events=0
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
for n in $(seq "$HISTORIES"); do
	history "$n"
	mapfile -t files <"$STACK_DIR/h.$n"
	events=$((events + ${#files[@]}))
	requests=$((requests + $(cat "${files[@]}" | grep -c '"BOOKING_REQUESTED".*"rescheduleUid"')))
	seats=$((seats + $(cat "${files[@]}" | grep -c '"attendeeSeatId"')))
	leaves=$((leaves + $(cat "${files[@]}" | grep -c '"seatsPerTimeSlot":3,.*"status":"CANCELLED"')))
	if [ -s "$STACK_DIR/h.$n.series" ]; then
		series_n=$((series_n + 1))
		occurrences=$((occurrences + $(wc -l <"$STACK_DIR/h.$n.series")))
		approvals=$((approvals + $(grep -c approved "$STACK_DIR/h.$n.series.kind")))
		remaining=$((remaining + $(cat "${files[@]}" | grep -c '"BOOKING_CANCELLED".*"recurringEvent"')))
	fi
	reset
	for f in "${files[@]}"; do SOCKET=$STACK_SOCKET fcgi "$f"; done
	want=$(snapshot)
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
	for p in $(seq "$PERMUTATIONS"); do
		# a random order, with about a third of the events twice
		mapfile -t order < <(printf '%s\n' "${files[@]}" \
		    $(printf '%s\n' "${files[@]}" | shuf -n $(( (${#files[@]} + 2) / 3 ))) | shuf)
		reset
		deliver "${order[@]}"
		got=$(snapshot)
		runs=$((runs + 1))
		if [ "$got" != "$want" ]; then
			bad=$((bad + 1))
			echo "# history $n, order $p differs (seed $seed)"
			diff <(echo "$want") <(echo "$got") | sed 's/^/# /' | head -20
			tail -n 5 "$STACK_DIR/calsync.log" "$STACK_DIR/pool2.log" \
			    "$STACK_DIR/failed" | sed 's/^/# /'
		fi
	done
done
t_is "property: $runs shuffled deliveries of $HISTORIES histories ($events events, $requests reschedules to confirm, $seats seats taken and $leaves left in group classes, $occurrences occurrences of $series_n weekly series) end as in order" "$bad" 0
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
