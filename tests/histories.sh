# shellcheck shell=bash
# tests/histories.sh: random booking histories as Cal.com can send them
# (plain bookings, reschedules, group classes, weekly series),
# for the order property test (tests/order.sh) and the same property
# through pgbouncer (tests/pgbouncer.sh).  Source it after tests/tap.sh.
# history N writes history N's bodies in createdAt order; reset empties
# what a history leaves; snapshot prints every appointment, so that a
# history delivered in any order can be compared with it in order; and
# property runs that comparison, the one loop both tests share.

at()	# at SECONDS: a createdAt that many seconds into 2026-11-01
{
	date -u -d "@$((1793491200 + $1))" +%Y-%m-%dT%H:%M:%S.000Z
}

STUDENTS=(ana@example.com bruno.lima@example.com carla@example.com)

# What is random here is drawn from bash's RANDOM in this shell, never in
# a command substitution or a pipe: those run in a subshell, which bash
# seeds afresh, and what they drew would not come again from the seed
# (PROPERTY_SEED, property).  Hence these set a variable, not print.

# uid_into VAR: a new booking uid, as tests/tap.sh's new_uid makes them.
uid_into()
{
	printf -v "$1" 'T%04x%04x%04x%04x%04x' "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM"
}

# coin_into VAR: true or false.
coin_into()
{
	if [ $((RANDOM % 2)) = 0 ]; then printf -v "$1" true; else printf -v "$1" false; fi
}

# permute ARRAY: the array's items in a random order (Fisher and Yates).
permute()
{
	local -n items=$1
	local i j x
	for ((i = ${#items[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		x=${items[i]}
		items[i]=${items[j]}
		items[j]=$x
	done
}

# class_history N T: a group class (one uid, a seat per student) into
# $STACK_DIR/h.N from createdAt T on, as Cal.com can send it: one to three
# students take a seat, some leave (and may take a new seat again), the
# last one leaving cancels the class, or the trainer cancels it whole;
# after either, the uid is done (Cal.com books a new one).
class_history()
{
	local n=$1 t=$2 uid seat k m i s in=() out=() day when
	local takers=("${STUDENTS[@]}")
	uid_into uid
	day=2026-12-2$((RANDOM % 9))
	when="START=${day}T1$((RANDOM % 9)):00:00Z END=${day}T23:00:00Z"
	permute takers
	for s in "${takers[@]:0:1 + RANDOM % 3}"; do
		t=$((t + 1 + RANDOM % 3))
		uid_into seat
		body seat_created UID="$uid" STUDENT="$s" SEAT="$seat" \
		    CREATED_AT="$(at $t)" $when >>"$STACK_DIR/h.$n"
		in+=("$s")
	done
	m=$((RANDOM % 5))
	for k in $(seq "$m"); do
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
			uid_into seat
			body seat_created UID="$uid" STUDENT="$s" SEAT="$seat" \
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
		uid_into "uids[i]"
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
			uid_into new
			printf -v j %02d $((6 + RANDOM % 15))
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
	local n=$1 b t uid prev new k m op s guest day when chain start end flag
	: >"$STACK_DIR/h.$n"
	: >"$STACK_DIR/h.$n.chains"
	: >"$STACK_DIR/h.$n.seats"
: >"$STACK_DIR/h.$n.series"
	m=$((1 + RANDOM % 2))
	for b in $(seq "$m"); do
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
		uid_into uid
		s=${STUDENTS[RANDOM % 3]}
		guest=nobody@example.com
		[ $((RANDOM % 3)) = 0 ] && guest=${STUDENTS[RANDOM % 3]}
		start=2026-12-0$((1 + RANDOM % 9))T1$((RANDOM % 9)):00:00Z
		end=2026-12-0$((1 + RANDOM % 9))T2$((RANDOM % 3)):00:00Z
		f=$(body created UID="$uid" STUDENT="$s" CREATED_AT="$(at $t)" \
		    START="$start" END="$end")
		# endTime may come before startTime: then use length only
		sed -i "s/additional-guest@example.com/$guest/g; s/\"endTime\":\"[^\"]*\",//" "$f"
		echo "$f" >>"$STACK_DIR/h.$n"
		prev=$uid
		chain=$uid
		m=$((RANDOM % 5))
		for k in $(seq "$m"); do
			t=$((t + 1 + RANDOM % 3))
			op=$((RANDOM % 6))
			case $op in
			0|1)	uid_into new
				start=2026-12-1$((RANDOM % 9))T0$((RANDOM % 9)):30:00Z
				f=$(body rescheduled UID="$new" ORIG="$prev" STUDENT="$s" \
				    CREATED_AT="$(at $t)" START="$start" \
				    END="2026-12-19T23:59:00Z")
				sed -i "s/\"endTime\":\"[^\"]*\",//" "$f"
				chain="$chain $new"
				prev=$new ;;
			2)	coin_into flag
				f=$(body cancelled UID="$prev" STUDENT="$s" CREATED_AT="$(at $t)" \
				    REQRES="$flag" REASON="reason $k") ;;
			3)	coin_into flag
				f=$(body no_show_updated UID="$prev" STUDENT="$s" \
				    CREATED_AT="$(at $t)" NOSHOW="$flag") ;;
			4)	f=$(body created UID="$prev" STUDENT="$s" CREATED_AT="$(at $t)" \
				    LOCATION="Room $k$t")
				sed -i 's/"BOOKING_CREATED"/"BOOKING_LOCATION_UPDATED"/' "$f" ;;
			5)	# a reschedule the trainer must confirm: BOOKING_REQUESTED
				# for the new uid, then its BOOKING_CREATED (accepted,
				# no rescheduleUid), its BOOKING_REJECTED, or nothing yet
				uid_into new
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

# shuffled ARRAY FILE...: ARRAY set to the FILEs in a random order, about
# a third of them twice, as Cal.com's deliveries may arrive.
shuffled()
{
	local -n into=$1
	shift
	local twice=("$@")
	permute twice
	into=("$@" "${twice[@]:0:($# + 2) / 3}")
	permute into
}

# property HISTORIES ORDERS DELIVER IN_ORDER AFTER_RUN: the property that
# the end never depends on how Cal.com delivers.  HISTORIES random
# histories (seed PROPERTY_SEED, or the shell's pid), each delivered in
# order to the stack's first pool, which gives the snapshot wanted; then
# ORDERS times in a random order with duplicates (shuffled) by the
# function DELIVER FILE..., each ending as that snapshot or said to
# differ.  IN_ORDER N (after history N in order) and AFTER_RUN N P (after
# its shuffled delivery P) are each test's own checks, ":" for none.
# Leaves PROPERTY_EVENTS (the histories' events), PROPERTY_RUNS (shuffled
# deliveries) and PROPERTY_BAD (those that did not end as in order).
property()
{
	local histories=$1 orders=$2 deliver=$3 in_order=$4 after_run=$5
	local seed=${PROPERTY_SEED:-$$} n p f files order want got
	RANDOM=$seed
	echo "# property: $histories histories x $orders orders, seed $seed"
	PROPERTY_EVENTS=0
	PROPERTY_RUNS=0
	PROPERTY_BAD=0
	for n in $(seq "$histories"); do
		history "$n"
		mapfile -t files <"$STACK_DIR/h.$n"
		PROPERTY_EVENTS=$((PROPERTY_EVENTS + ${#files[@]}))
		reset
		for f in "${files[@]}"; do SOCKET=$STACK_SOCKET fcgi "$f"; done
		want=$(snapshot)
		"$in_order" "$n"
		for p in $(seq "$orders"); do
			shuffled order "${files[@]}"
			reset
			"$deliver" "${order[@]}"
			got=$(snapshot)
			PROPERTY_RUNS=$((PROPERTY_RUNS + 1))
			if [ "$got" != "$want" ]; then
				PROPERTY_BAD=$((PROPERTY_BAD + 1))
				echo "# history $n, order $p differs (seed $seed)"
				diff <(echo "$want") <(echo "$got") | sed 's/^/# /' | head -20
				tail -n 5 "$STACK_DIR/calsync.log" "$STACK_DIR/pool2.log" |
				    sed 's/^/# /'
			fi
			"$after_run" "$n" "$p"
		done
	done
}
