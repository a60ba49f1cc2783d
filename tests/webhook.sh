#!/bin/bash
# tests/webhook.sh: every row of the event table, end to end: signed
# deliveries shaped like Cal.com's, through the shipped nginx config with
# TLS, the calsync worker pool and a real PostgreSQL.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
trap stack_stop EXIT
t_require_stack
stack_start 2 >&2 || t_bail "the stack did not start (see above)"

TRAINER=11111111-1111-4111-8111-111111111111
ANA=22222222-2222-4222-8222-222222222222
BRUNO=33333333-3333-4333-8333-333333333333

appointment()	# appointment UID COLUMNS
{
	sql "SELECT $2 FROM public.appointments WHERE id =
	    (SELECT appointment_id FROM calsync.bookings WHERE uid = '$1')"
}

count_for()	# how many appointments carry the booking uid
{
	sql "SELECT count(*) FROM public.appointments
	    WHERE notes LIKE '%cal.com:$1%'"
}

journal()	# journal UID: the outcomes recorded for it, in order
{
	sql "SELECT string_agg(outcome, ',' ORDER BY id)
	    FROM calsync.deliveries WHERE uid = '$1'"
}

# show TITLE UID...: the appointments of the bookings UID... as the
# trainer sees them (date, status, student, reason, notes), as TAP
# diagnostics.
show()
{
	local title=$1 uids
	shift
	uids=$(printf "'%s'," "$@")
	echo "# $title:"
	sql "SELECT a.scheduled_at, a.status, lower(u.email),
	    coalesce(a.cancellation_reason, '-'), replace(a.notes, E'\n', ' / ')
	    FROM public.appointments a JOIN public.users u ON u.id = a.student_id
	    WHERE a.id IN (SELECT b.appointment_id FROM calsync.bookings b
	    WHERE b.uid IN (${uids%,})) ORDER BY 1, 3" | sed 's/^/#   /'
}

# The Phoenix app listens for changes: so does this test, from here on.
mkfifo "$STACK_DIR/listen.in"
stack_psql -X -q <"$STACK_DIR/listen.in" >"$STACK_DIR/notices" 2>&1 &
listener=$!
exec 7>"$STACK_DIR/listen.in"
echo "LISTEN calsync_appointments;" >&7

# --- BOOKING_CREATED, exactly as Cal.com sends it (bare hex signature)
f=$(body created START=2026-12-01T13:00:00-03:00 END=2026-12-01T14:00:00.000-03:00 \
    NOTES="Knee injury, go easy")
uid=$(json_field "$f" uid)
post "$f"
t_is "created: 200" "$STATUS" 200
t_like "created: answer names the status" "$ANSWER" '"status":"applied"'
t_is "created: the appointment, in UTC, with its duration and type" \
    "$(appointment "$uid" "trainer_id, student_id, scheduled_at, duration_minutes, status, appointment_type, location")" \
    "$TRAINER|$ANA|2026-12-01 16:00:00|60|scheduled|training|GA Personal Studio"
t_like "created: notes keep the cal.com:<uid> line for the Phoenix app" \
    "$(appointment "$uid" notes)" "^cal.com:$uid"
t_like "created: notes carry the title, the booker's notes and the guests" \
    "$(appointment "$uid" "replace(notes, E'\n', '/')")" \
    "between Guilherme and Ana/Knee injury, go easy/Guests: additional-guest@example.com$"
t_is "created: inserted_at and updated_at set" \
    "$(appointment "$uid" "inserted_at IS NOT NULL AND updated_at IS NOT NULL")" t
t_is "created: journal" "$(journal "$uid")" applied

# psql prints the notifications it received when it runs its next command;
# the notifier sends them a moment after the delivery commits.
heard()		# heard PATTERN: wait up to 5 s for a notification matching it
{
	local _
	for _ in $(seq 25); do
		echo "SELECT 1;" >&7
		sleep 0.2
		grep -q "$1" "$STACK_DIR/notices" && return 0
	done
	return 1
}

t_ok "NOTIFY calsync_appointments: created, with the appointment id" \
    heard "\"appointment_id\" : \"$(appointment "$uid" id)\", \"change\" : \"created\", \"status\" : \"scheduled\""
t_is "announced changes leave calsync.changes" \
    "$(sql "SELECT count(*) FROM calsync.changes")" 0

# --- the same delivery again, and the same booking with another body
post "$f"
t_is "duplicate delivery: 200" "$STATUS" 200
t_like "duplicate delivery: answered as duplicate" "$ANSWER" '"status":"duplicate"'
# Newer than the first, so it is no older change to fold in first.
g=$(body created UID="$uid" CREATED_AT="$(created_at 60)")
post "$g"
t_is "same booking, other body: 200" "$STATUS" 200
t_is "duplicates: still one appointment" "$(count_for "$uid")" 1
t_is "duplicates: journal says so" "$(journal "$uid")" applied,duplicate,duplicate

# --- the seed guide's curl recipe: sha256= prefix, the seed's body
f=$(body seed_created)
suid=$(json_field "$f" uid)
post_raw "$f" -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: sha256=$(stack_sign "$f")"
t_is "seed recipe (sha256= prefix): 200" "$STATUS" 200
t_is "seed recipe: appointment from eventType.title" \
    "$(appointment "$suid" "appointment_type, location, duration_minutes")" \
    "training|Gym Address|60"
post_raw "$f" -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: $(stack_sign "$f" | tr a-f A-F)"
t_is "uppercase hex signature accepted" "$STATUS" 200

# --- BOOKING_RESCHEDULED: uid is new, rescheduleUid the original
new=$(new_uid)
f=$(body rescheduled UID="$new" ORIG="$uid" START=2026-12-03T09:30:00Z \
    END=2026-12-03T10:15:00Z)
post "$f"
t_is "rescheduled: 200" "$STATUS" 200
t_is "rescheduled: the original appointment moved" \
    "$(appointment "$uid" "scheduled_at, duration_minutes, status")" \
    "2026-12-03 09:30:00|45|scheduled"
t_is "rescheduled: the new uid names the same appointment" \
    "$(appointment "$new" id)" "$(appointment "$uid" id)"
t_is "rescheduled: no second appointment" \
    "$(sql "SELECT count(*) FROM public.appointments WHERE notes LIKE '%cal.com:$uid%' OR notes LIKE '%cal.com:$new%'")" 1

# --- cancel by the new uid finds it
f=$(body cancelled UID="$new" REASON="Sick today")
post "$f"
t_is "cancelled by the new uid: 200" "$STATUS" 200
t_is "cancelled: status, reason, cancelled_at" \
    "$(appointment "$uid" "status, cancellation_reason, cancelled_at IS NOT NULL")" \
    "cancelled|Sick today|t"

# --- seed's short reschedule (uid names the booking to move)
f=$(body seed_created)
s2=$(json_field "$f" uid)
post "$f"
f=$(body seed_rescheduled UID="$s2" START=2026-12-05T08:00:00.000Z END=2026-12-05T09:30:00.000Z)
post "$f"
t_is "seed reschedule: 200" "$STATUS" 200
t_is "seed reschedule: moved" "$(appointment "$s2" "scheduled_at, duration_minutes")" \
    "2026-12-05 08:00:00|90"

# --- seed's cancel (uid and reason only); a cancel without a reason
f=$(body seed_cancelled UID="$s2" REASON="Travelling")
post "$f"
t_is "seed cancel: cancelled with its reason" \
    "$(appointment "$s2" "status, cancellation_reason")" "cancelled|Travelling"
f=$(body seed_cancelled UID="$suid" REASON=)
sed -i 's/,"cancellationReason":""//' "$f"
post "$f"
t_is "cancel without reason: the default reason" \
    "$(appointment "$suid" "status, cancellation_reason")" \
    "cancelled|Cancelled via Cal.com"

# --- reschedule of a booking calsync never saw
orig=$(new_uid)
new=$(new_uid)
f=$(body rescheduled UID="$new" ORIG="$orig")
post "$f"
t_is "reschedule of an unknown original with the full booking: 200" "$STATUS" 200
t_is "... creates the appointment, named by both uids" \
    "$(appointment "$new" id)" "$(appointment "$orig" id)"
short=$(new_uid)
f=$(body seed_rescheduled UID="$short")
post "$f"
t_is "short reschedule of an unknown booking: 202" "$STATUS" 202
t_is "... kept as pending" "$(journal "$short")" pending
f=$(body seed_created UID="$short" START=2026-11-30T08:00:00Z \
    CREATED_AT="$(created_at -86400)")
post "$f"
t_is "... then its booking arrives: made at the rescheduled time" \
    "$(appointment "$short" "scheduled_at, status")" "2026-12-01 10:00:00|scheduled"

# --- a cancel that arrives before its booking
early=$(new_uid)
f=$(body cancelled UID="$early" REASON="Changed my mind")
post "$f"
t_is "cancel before create: 202" "$STATUS" 202
f=$(body created UID="$early")
post "$f"
t_is "... then created: 200" "$STATUS" 200
t_is "... the appointment is born cancelled" \
    "$(appointment "$early" "status, cancellation_reason, cancelled_at IS NOT NULL")" \
    "cancelled|Changed my mind|t"

# --- reschedule of an event type that requires confirmation: Cal.com
# sends BOOKING_REQUESTED for the new booking with rescheduleUid = the
# original (already cancelled in Cal.com), then BOOKING_CREATED for the new
# uid without rescheduleUid when the trainer accepts, or BOOKING_REJECTED.
# One appointment for the chain, in any delivery order: at the new time
# while waiting and once accepted; cancelled with the reason if rejected.
chain_rows()	# chain_rows ORIG NEW: its appointments, one line each
{
	sql "SELECT a.scheduled_at, a.duration_minutes, a.status,
	    coalesce(a.cancellation_reason, '-'), a.cancelled_at IS NOT NULL
	    FROM public.appointments a WHERE a.id IN (SELECT b.appointment_id
	    FROM calsync.bookings b WHERE b.uid IN ('$1', '$2'))
	    ORDER BY a.scheduled_at"
}
# confirm_flow ORDER WANT: the deliveries named in ORDER (CA: the
# original's CREATED; RQ: the REQUESTED; CB: the CREATED of the accepted
# booking; RJ: its REJECTED), each answered 2xx, then the chain's rows.
confirm_flow()
{
	local a b step f rows codes=
	a=$(new_uid)
	b=$(new_uid)
	for step in $1; do
		case $step in
		CA) f=$(body created UID="$a" START=2026-12-14T10:00:00Z \
		    END=2026-12-14T11:00:00Z CREATED_AT="$(created_at -300)") ;;
		RQ) f=$(body requested_reschedule UID="$b" ORIG="$a" \
		    START=2026-12-16T15:00:00Z END=2026-12-16T16:00:00Z \
		    CREATED_AT="$(created_at -200)") ;;
		CB) f=$(body created UID="$b" START=2026-12-16T15:00:00Z \
		    END=2026-12-16T16:00:00Z CREATED_AT="$(created_at -100)") ;;
		RJ) f=$(body rejected UID="$b" START=2026-12-16T15:00:00Z \
		    END=2026-12-16T16:00:00Z REASON="Fully booked that day" \
		    CREATED_AT="$(created_at -100)") ;;
		esac
		post "$f"
		codes="$codes${codes:+,}$STATUS"
	done
	t_like "confirmation reschedule, $1: every delivery 2xx" "$codes" '^(2[0-9][0-9],?)+$'
	rows=$(chain_rows "$a" "$b")
	printf '# rows after %s: %s\n' "$1" "$(tr '\n' ';' <<<"$rows")"
	t_is "confirmation reschedule, $1: $3" "$rows" "$2"
	case $1 in
	"CA RQ CB") t_is "... the request applied, the confirmation changes nothing" \
	    "$(journal "$b")" applied,duplicate ;;
	"CA RQ RJ") t_is "... the request and the rejection applied" \
	    "$(journal "$b")" applied,applied ;;
	esac
}
accepted="2026-12-16 15:00:00|60|scheduled|-|f"
rejected="2026-12-16 15:00:00|60|cancelled|Fully booked that day|t"
for order in "CA RQ" "RQ CA"; do
	confirm_flow "$order" "$accepted" "while waiting, one appointment at the new time"
done
for order in "CA RQ CB" "CA CB RQ" "RQ CB CA" "CB RQ CA" "CB CA RQ"; do
	confirm_flow "$order" "$accepted" "accepted: one appointment at the new time"
done
for order in "CA RQ RJ" "CA RJ RQ" "RQ RJ CA" "RJ RQ CA" "RJ CA RQ"; do
	confirm_flow "$order" "$rejected" "rejected: one appointment, cancelled with the reason"
done
# The reason of a reschedule that needs confirmation is in the notes, once.
a=$(new_uid)
b=$(new_uid)
post "$(body created UID="$a" NOTES="Primeira aula" CREATED_AT="$(created_at -300)")"
f=$(body requested_reschedule UID="$b" ORIG="$a" START=2026-12-17T15:00:00Z \
    END=2026-12-17T16:00:00Z RESCHEDULE_REASON="Viagem a trabalho" \
    CREATED_AT="$(created_at -200)")
post "$f"
g=$(body requested_reschedule UID="$b" ORIG="$a" START=2026-12-17T15:00:00Z \
    END=2026-12-17T16:00:00Z RESCHEDULE_REASON="Viagem a trabalho" \
    CREATED_AT="$(created_at -199)")
post "$g"
post "$(body created UID="$b" START=2026-12-17T15:00:00Z END=2026-12-17T16:00:00Z \
    CREATED_AT="$(created_at -100)")"
t_is "confirmation reschedule: its reason in the notes, once, after a second subscription's request and the confirmation" \
    "$STATUS|$(appointment "$a" "replace(notes, E'\n', '/')")" \
    "200|cal.com:$a/cal.com:$b/Personal Training Session between Guilherme and Ana/Primeira aula/Guests: additional-guest@example.com/Reschedule reason: Viagem a trabalho"
f=$(body requested)
u=$(json_field "$f" uid)
post "$f"
t_is "a request that is no reschedule: still no appointment until confirmed" \
    "$(journal "$u"):$(appointment "$u" "count(*)")" "ignored:0"

# --- a group class (a seated event type): one uid, a BOOKING_CREATED per
# seat naming only the new person, with its attendeeSeatId; someone who
# leaves is a BOOKING_CANCELLED naming only them (responses are still the
# first booker's); the last one leaving cancels the booking, naming them.
# One appointment per student, each cancelled only when its student
# leaves or the class is cancelled whole, in any delivery order.
CLASS_BASE=$(($(date +%s) - 600))
class_at()	# class_at SECONDS: a createdAt that many seconds after the base
{
	date -u -d "@$((CLASS_BASE + $1))" +%Y-%m-%dT%H:%M:%S.000Z
}
class_rows()	# class_rows UID: email|status|reason|cancelled (s after base)
{
	sql "SELECT lower(u.email), a.status, coalesce(a.cancellation_reason, '-'),
	    coalesce((extract(epoch FROM a.cancelled_at)::bigint - $CLASS_BASE)::text, '-'),
	    a.scheduled_at
	    FROM public.appointments a JOIN public.users u ON u.id = a.student_id
	    WHERE a.id IN (SELECT b.appointment_id FROM calsync.bookings b
	    WHERE b.uid = '$1') ORDER BY 1"
}
# class_flow ORDER: the deliveries named in ORDER, each answered 2xx (JA,
# JB, JC: Ana, Bruno, Carla take a seat at +0, +10, +20 s; LB, LC: Bruno,
# Carla leave at +30, +40; LA: Ana, the last, leaves at +50; HC: the
# trainer cancels the class at +60, a cancel naming no one).  Sets CLASS
# to the uid.
class_flow()
{
	local step f codes= s_ana=$(new_uid) s_bruno=$(new_uid) s_carla=$(new_uid)
	local when="START=2026-12-18T18:00:00Z END=2026-12-18T19:00:00Z"
	CLASS=$(new_uid)
	for step in $1; do
		case $step in
		JA) f=$(body seat_created UID="$CLASS" SEAT="$s_ana" NAME=Ana \
		    NOTES="Ana: mind my knee" \
		    STUDENT=ana@example.com CREATED_AT="$(class_at 0)" $when) ;;
		JB) f=$(body seat_created UID="$CLASS" SEAT="$s_bruno" NAME=Bruno \
		    NOTES="Bruno: my first class" \
		    STUDENT=Bruno.Lima@example.com CREATED_AT="$(class_at 10)" $when) ;;
		JC) f=$(body seat_created UID="$CLASS" SEAT="$s_carla" NAME=Carla \
		    STUDENT=carla@example.com CREATED_AT="$(class_at 20)" $when) ;;
		LB) f=$(body seat_cancelled UID="$CLASS" NAME=Bruno REASON=Injured \
		    STUDENT=Bruno.Lima@example.com CREATED_AT="$(class_at 30)" $when) ;;
		LC) f=$(body seat_cancelled UID="$CLASS" NAME=Carla REASON=Travelling \
		    STUDENT=carla@example.com CREATED_AT="$(class_at 40)" $when) ;;
		LA) f=$(body seat_cancelled UID="$CLASS" NAME=Ana REASON="Moving away" \
		    STUDENT=ana@example.com CREATED_AT="$(class_at 50)" $when) ;;
		HC) f=$(body seed_cancelled UID="$CLASS" REASON="Studio closed" \
		    CREATED_AT="$(class_at 60)") ;;
		esac
		post "$f"
		codes="$codes${codes:+,}$STATUS"
		eval "CLASS_$step=\$f"
	done
	t_like "group class, $1: every delivery 2xx" "$codes" '^(2[0-9][0-9],?)+$'
}
at_class="2026-12-18 18:00:00"
two_left="ana@example.com|scheduled|-|-|$at_class
bruno.lima@example.com|cancelled|Injured|30|$at_class
carla@example.com|cancelled|Travelling|40|$at_class"
for order in "JA JB JC LB LC" "LC LB JC JB JA" "JB LB JC JA LC"; do
	class_flow "$order"
	rows=$(class_rows "$CLASS")
	show "group class, three join and two leave, delivered $order" "$CLASS"
	t_is "group class, $order: three join, two leave: one appointment each, only the leavers cancelled, each with their reason" \
	    "$rows" "$two_left"
	t_is "group class, $order: each appointment has what its student wrote on their seat, only" \
	    "$(sql "SELECT lower(u.email), a.notes LIKE '%Ana: mind my knee%',
	        a.notes LIKE '%Bruno: my first class%'
	        FROM public.appointments a JOIN public.users u ON u.id = a.student_id
	        WHERE a.id IN (SELECT b.appointment_id FROM calsync.bookings b
	        WHERE b.uid = '$CLASS') ORDER BY 1")" \
	    "ana@example.com|t|f
bruno.lima@example.com|f|t
carla@example.com|f|f"
	case $order in
	"JA JB JC LB LC") t_is "... each seat and each leave applied" \
	    "$(journal "$CLASS")" applied,applied,applied,applied,applied
		post "$CLASS_JB"
		t_is "... a seat delivered again: duplicate" \
		    "$STATUS:$(journal "$CLASS" | sed 's/.*,//')" 200:duplicate
		t_is "... and nothing changed" "$(class_rows "$CLASS")" "$two_left" ;;
	"LC LB JC JB JA") t_is "... leaves before any seat wait, each seat applied" \
	    "$(journal "$CLASS")" pending,pending,applied,applied,applied ;;
	esac
	t_is "group class, $order: the seats written down" \
	    "$(sql "SELECT count(DISTINCT seat) FILTER (WHERE attendee_seat_id IS NOT NULL),
	        string_agg(DISTINCT seat, ',') FILTER (WHERE trigger = 'BOOKING_CANCELLED')
	        FROM calsync.events WHERE uid = '$CLASS'")" \
	    "3|bruno.lima@example.com,carla@example.com"
done
# A leave whose seat has not come, in a class calsync knows: pending, then
# applied with its seat.
class_flow "JA LB"
t_like "group class: a leave before its seat, the class known: pending" \
    "$(journal "$CLASS"):$(sql "SELECT detail FROM calsync.deliveries WHERE uid = '$CLASS' ORDER BY id DESC LIMIT 1")" \
    "^applied,pending:this seat of the class not known yet"
all_left="ana@example.com|cancelled|Moving away|50|$at_class
bruno.lima@example.com|cancelled|Injured|30|$at_class"
for order in "JA JB LB LA" "LA LB JB JA"; do
	class_flow "$order"
	t_is "group class, $order: the last one leaves: every appointment cancelled, each with its reason" \
	    "$(class_rows "$CLASS")" "$all_left"
done
closed="ana@example.com|cancelled|Studio closed|60|$at_class
bruno.lima@example.com|cancelled|Injured|30|$at_class
carla@example.com|cancelled|Studio closed|60|$at_class"
for order in "JA JB LB JC HC" "HC JC LB JA JB"; do
	class_flow "$order"
	t_is "group class, $order: cancelled whole by the trainer (a cancel naming no one): every seat cancelled; who had left keeps their reason" \
	    "$(class_rows "$CLASS")" "$closed"
done

# --- PING and triggers calsync does not act on
before=$(sql "SELECT count(*) FROM public.appointments")
f=$(body ping)
post "$f"
t_is "PING: 200" "$STATUS" 200
t_is "PING: recorded" "$(sql "SELECT outcome FROM calsync.deliveries WHERE trigger = 'PING' ORDER BY id DESC LIMIT 1")" ignored
f=$(body meeting_ended UID="$(new_uid)")
post "$f"
t_is "MEETING_ENDED (flat body): 200" "$STATUS" 200
f=$(body requested)
sed -i 's/"BOOKING_REQUESTED"/"SOMETHING_NEW_IN_CALCOM"/' "$f"
post "$f"
t_is "an unknown trigger: 200" "$STATUS" 200
t_is "unknown triggers: recorded as ignored" \
    "$(sql "SELECT outcome FROM calsync.deliveries WHERE trigger = 'SOMETHING_NEW_IN_CALCOM'")" ignored
t_is "PING and unknown triggers: no appointment" \
    "$(sql "SELECT count(*) FROM public.appointments")" "$before"

# --- user mapping
f=$(body created ORGANIZER=someone@else.com)
u=$(json_field "$f" uid)
post "$f"
t_is "unknown trainer: 422" "$STATUS" 422
t_like "unknown trainer: says why" "$ANSWER" "organizer's email"
t_is "unknown trainer: delivery kept as unmatched" "$(journal "$u")" unmatched
t_is "unknown trainer: no appointment" "$(count_for "$u")" 0
f=$(body created STUDENT=stranger@example.com)
sed -i 's/additional-guest@example.com/nobody@example.com/g' "$f"
post "$f"
t_is "unknown student: 422" "$STATUS" 422
f=$(body created ORGANIZER=Guilherme@GAPersonal.com STUDENT=ANA@EXAMPLE.COM)
u=$(json_field "$f" uid)
post "$f"
t_is "emails match in any case" "$(appointment "$u" "trainer_id, student_id")" "$TRAINER|$ANA"
# Not ASCII: more bytes than characters, so the lower-case scan must not
# pass it by for its byte count (24 here, 23 characters).
ANGELA=66666666-6666-4666-8666-666666666666
sql "INSERT INTO public.users (id, email, password_hash, role, full_name,
    inserted_at, updated_at) VALUES ('$ANGELA', 'Ângela.Souza@Example.com',
    '!test:no-password', 'student', 'Ângela Souza', now(), now())" >/dev/null
f=$(body created STUDENT=ângela.souza@example.com)
u=$(json_field "$f" uid)
post "$f"
t_is "a non-ASCII email matches in any case" "$(appointment "$u" student_id)" "$ANGELA"
f=$(body created STUDENT=guest-not-a-student@example.com)
sed -i 's/additional-guest@example.com/bruno.lima@example.com/g' "$f"
u=$(json_field "$f" uid)
post "$f"
t_is "the first attendee who is a student (a guest here)" \
    "$(appointment "$u" student_id)" "$BRUNO"
f=$(body created)
sed -i "s/\"metadata\":{[^}]*}/\"metadata\":{\"trainer_id\":\"$TRAINER\",\"student_id\":\"$BRUNO\"}/" "$f"
u=$(json_field "$f" uid)
post "$f"
t_is "metadata ids win over emails" "$(appointment "$u" "trainer_id, student_id")" "$TRAINER|$BRUNO"
f=$(body created)
sed -i "s/\"metadata\":{[^}]*}/\"metadata\":{\"trainer_id\":\"$TRAINER\",\"student_id\":\"$TRAINER\"}/" "$f"
post "$f"
t_is "metadata.student_id that is not a student: 422" "$STATUS" 422
t_like "... says which" "$ANSWER" "metadata.student_id"

# --- a location longer than the column
long=$(printf 'Academia Açaí %.0s' $(seq 1 30))
f=$(body created LOCATION="$long")
u=$(json_field "$f" uid)
post "$f"
t_is "long location: 200" "$STATUS" 200
t_is "long location: cut to 255 characters" "$(appointment "$u" "char_length(location)")" 255

# --- each kind of location Cal.com sends (packages/app-store/locations.ts):
# what a trainer or student can use.  LOCATION|metadata.videoCallUrl|
# videoCallData.url|what appointments.location holds
while IFS='|' read -r loc video data want; do
	f=$(body created LOCATION="$loc" VIDEO_URL="$video" VIDEO_DATA_URL="$data")
	u=$(json_field "$f" uid)
	post "$f"
	t_is "location $loc${video:+ with metadata.videoCallUrl}${data:+ with videoCallData.url}: $want" \
	    "$STATUS|$(appointment "$u" location)" "200|$want"
done <<'EOF'
integrations:daily|https://app.cal.com/video/Tdaily|https://ga.daily.co/Tdaily|https://app.cal.com/video/Tdaily
integrations:google:meet||https://meet.google.com/abc-defg-hij|https://meet.google.com/abc-defg-hij
integrations:zoom|https://us05web.zoom.us/j/8812345678?pwd=x||https://us05web.zoom.us/j/8812345678?pwd=x
integrations:office365_video||https://teams.microsoft.com/l/meetup-join/19%3ameeting|https://teams.microsoft.com/l/meetup-join/19%3ameeting
integrations:daily|||Cal Video
integrations:google:meet|||Google Meet
integrations:zoom|||Zoom
integrations:office365_video|||Microsoft Teams
integrations:jitsi|||Jitsi Meet
integrations:some_new_video|||Online meeting
integrations:daily|javascript:alert(1)|ftp://ga.daily.co/x|Cal Video
https://meet.jit.si/ga-personal-ana|||https://meet.jit.si/ga-personal-ana
javascript:alert(document.cookie)|||Link meeting
zoommtg://zoom.us/join?confno=1|https://zoom.us/j/1||https://zoom.us/j/1
Rua Augusta, 1500 - São Paulo|||Rua Augusta, 1500 - São Paulo
+55 11 91234-5678|||+55 11 91234-5678
attendeeInPerson|||In person (attendee address)
inPerson|||In person (organizer address)
phone|||Phone call (attendee phone number)
userPhone|||Phone call (organizer phone number)
link|||Link meeting
somewhereElse|||Custom attendee location
conferencing|https://meet.google.com/xyz-abcd-efg||https://meet.google.com/xyz-abcd-efg
EOF
long_url="https://us05web.zoom.us/j/1?pwd=$(printf 'x%.0s' $(seq 1 240))"
f=$(body created LOCATION=integrations:zoom VIDEO_URL="$long_url" VIDEO_DATA_URL=)
u=$(json_field "$f" uid)
post "$f"
t_is "a meeting URL over 255 characters is not cut into a broken link" \
    "$STATUS|$(appointment "$u" location)" "200|Zoom"
# A location update to a video app: its link.
f=$(body created UID="$u" LOCATION=integrations:google:meet VIDEO_URL= \
    VIDEO_DATA_URL=https://meet.google.com/new-link-abc CREATED_AT="$(created_at 30)")
sed -i 's/"BOOKING_CREATED"/"BOOKING_LOCATION_UPDATED"/' "$f"
post "$f"
t_is "location updated to Google Meet: its link" \
    "$STATUS|$(appointment "$u" location)" "200|https://meet.google.com/new-link-abc"

# --- notes: what is this booking's own, once, and the trainer's text kept
desc="Sessão de 60 minutos no estúdio. Traga água e toalha."
f=$(body created NOTES="Joelho esquerdo dói" DESCRIPTION="$desc" \
    CREATED_AT="$(created_at -120)")
nu=$(json_field "$f" uid)
post "$f"
notes()	{ appointment "$nu" "replace(notes, E'\n', '/')"; }
t_is "notes: the uid, title, booker's notes and guests; no event type description" \
    "$STATUS|$(notes)" \
    "200|cal.com:$nu/Personal Training Session between Guilherme and Ana/Joelho esquerdo dói/Guests: additional-guest@example.com"
r1=$(new_uid)
f=$(body rescheduled UID="$r1" ORIG="$nu" START=2026-12-08T10:00:00Z \
    END=2026-12-08T11:00:00Z RESCHEDULE_REASON="Preso no trânsito" \
    CREATED_AT="$(created_at -60)")
post "$f"
t_is "notes: the reschedule reason is added, with the new uid" \
    "$STATUS|$(notes)" \
    "200|cal.com:$nu/cal.com:$r1/Personal Training Session between Guilherme and Ana/Joelho esquerdo dói/Guests: additional-guest@example.com/Reschedule reason: Preso no trânsito"
before=$(notes)
post "$f"
t_is "notes: the same reschedule again: duplicate, no line twice" \
    "$STATUS|$(journal "$r1" | sed 's/.*,//')|$(notes)" "200|duplicate|$before"
# The same reschedule from a second subscription: another createdAt.
g=$(body rescheduled UID="$r1" ORIG="$nu" START=2026-12-08T10:00:00Z \
    END=2026-12-08T11:00:00Z RESCHEDULE_REASON="Preso no trânsito" \
    CREATED_AT="$(created_at -59)")
post "$g"
t_is "notes: the same reschedule sent by a second subscription: no line twice" \
    "$STATUS|$(notes)" "200|$before"
sql "UPDATE public.appointments SET notes = notes || E'\nTrainer: trazer o kettlebell'
    WHERE id = '$(appointment "$nu" id)'" >/dev/null
r2=$(new_uid)
f=$(body rescheduled UID="$r2" ORIG="$r1" START=2026-12-09T10:00:00Z \
    END=2026-12-09T11:00:00Z RESCHEDULE_REASON="Dentista" \
    CREATED_AT="$(created_at -30)")
post "$f"
t_is "notes: the trainer's text stays; the new uid and reason are added after it" \
    "$STATUS|$(notes)|$(appointment "$nu" scheduled_at)" \
    "200|$before/Trainer: trazer o kettlebell/cal.com:$r2/Reschedule reason: Dentista|2026-12-09 10:00:00"
post "$(body cancelled UID="$r2" REASON="Doente" CREATED_AT="$(created_at -10)")"
t_is "notes: a cancel leaves them as they are" \
    "$STATUS|$(notes)|$(appointment "$nu" status)" \
    "200|$before/Trainer: trazer o kettlebell/cal.com:$r2/Reschedule reason: Dentista|cancelled"

# --- refused requests
f=$(body created)
u=$(json_field "$f" uid)
post_raw "$f" -H 'Content-Type: application/json'
t_is "no signature: 401" "$STATUS" 401
post_raw "$f" -H 'Content-Type: application/json' -H 'X-Cal-Signature-256: no-secret-provided'
t_is "no-secret-provided: 401" "$STATUS" 401
t_like "no-secret-provided: says to set the secret" "$ANSWER" "no secret"
post_raw "$f" -H 'Content-Type: application/json' -H "X-Cal-Signature-256: \
$(openssl dgst -sha256 -hmac not-the-secret <"$f" | sed 's/^.* //')"
t_is "wrong signature: 401" "$STATUS" 401
t_is "refused deliveries change nothing" "$(count_for "$u")" 0
t_is "unverified deliveries are not journaled" "$(journal "$u")" ""
printf '{"triggerEvent":"BOOKING_CREATED",' >"$STACK_DIR/broken.json"
post "$STACK_DIR/broken.json"
t_is "invalid JSON: 400" "$STATUS" 400
t_like "invalid JSON: says so" "$ANSWER" '"error":"body is not valid JSON'
t_is "invalid JSON, verified: kept in the journal" \
    "$(sql "SELECT outcome FROM calsync.deliveries ORDER BY id DESC LIMIT 1")" invalid
post_raw "$f" -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "X-Cal-Signature-256: $(stack_sign "$f")"
t_is "payload template (form encoding): 415" "$STATUS" 415
STATUS=$(curl -sS --cacert "$STACK_CERT" -o /dev/null -w '%{http_code}' "$STACK_URL")
t_is "GET: 405" "$STATUS" 405
t_like "GET: Allow: POST" "$(curl -sS --cacert "$STACK_CERT" -D - -o /dev/null "$STACK_URL")" '[Aa]llow: POST'
STATUS=$(curl -sS --cacert "$STACK_CERT" -o /dev/null -w '%{http_code}' \
    --data-binary @"$f" "${STACK_URL%/calcom}/other")
t_is "another path: 404" "$STATUS" 404
head -c 1100000 /dev/zero | tr '\0' ' ' >"$STACK_DIR/big.json"
post "$STACK_DIR/big.json"
t_is "body over 1 MiB: 413" "$STATUS" 413
# Cal.com does not follow redirects: an http:// subscriber URL must hear why.
f=$(body created)
out=$(curl -sS -D - -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: $(stack_sign "$f")" --data-binary @"$f" \
    "$STACK_HTTP_URL" | tr -d '\r')
t_like "plain HTTP to the webhook: 403" "$out" '^HTTP/1.1 403'
t_like "... JSON" "$out" '^Content-Type: application/json'
t_like "... saying to use the https:// URL" "$out" \
    '^\{"error":"https required: set the subscriber URL to https://127\.0\.0\.1:[0-9]+/api/v1/webhooks/calcom"\}$'
t_is "... and nothing stored" "$(count_for "$(json_field "$f" uid)")" 0
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' "${STACK_HTTP_URL%/api/*}/")
t_is "plain HTTP elsewhere: redirected to HTTPS" "$STATUS" 301

# --- a client sending far more than Cal.com does is slowed down
codes=$(curl -sS -Z --parallel-max 32 --interface 127.0.0.2 \
    --cacert "$STACK_CERT" -w 'CODE:%{http_code}\n' \
    -H 'Content-Type: application/json' -H 'X-Cal-Signature-256: 00' \
    --data-binary '{}' $(yes "$STACK_URL" | head -n 300) |
    grep -o 'CODE:[0-9]*' | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')
t_like "rate limit per address: 429 after the burst" "$codes" "CODE:429=[0-9]+"

# --- monitoring: health and Prometheus, from inside only
base=${STACK_URL%/api/v1/webhooks/calcom}
t_is "healthz: 200, database up" "$(curl -sS --cacert "$STACK_CERT" "$base/healthz")" \
    '{"status":"ok","database":"up","spool":0}'
metrics=$(curl -sS --cacert "$STACK_CERT" "$base/metrics")
t_like "metrics: deliveries by trigger and outcome" "$metrics" \
    'calsync_deliveries_total\{trigger="BOOKING_CREATED",outcome="applied"\} [1-9]'
t_like "metrics: refused ones too" "$metrics" \
    'calsync_deliveries_total\{trigger="none",outcome="unauthorized"\} [1-9]'
t_like "metrics: a latency histogram" "$metrics" \
    'calsync_request_duration_seconds_bucket\{le="\+Inf"\} [1-9]'
t_like "metrics: spool depth" "$metrics" '^calsync_spool_deliveries 0$'
t_like "metrics: worker restarts" "$metrics" '^calsync_worker_restarts_total 0$'
t_is "metrics: from outside, 403" "$(curl -sS --interface 127.0.0.2 \
    --cacert "$STACK_CERT" -o /dev/null -w '%{http_code}' "$base/metrics")" 403
t_is "metrics: POST, 405" "$(curl -sS --cacert "$STACK_CERT" -o /dev/null \
    -w '%{http_code}' -d x "$base/metrics")" 405

# --- a change is kept until the notifier announces it
notifier=$(stack_notifier)
t_ok "one notifier beside the workers" test -n "$notifier"
kill -STOP "$notifier"
f=$(body created UID=kept-while-notifier-stopped)
post "$f"
t_is "notifier stopped: the delivery still applies" "$STATUS" 200
t_is "... and its change waits in calsync.changes" \
    "$(sql "SELECT change FROM calsync.changes")" created
kill -CONT "$notifier"
t_ok "notifier back: the change is announced" heard \
    "\"change\" : \"created\", \"status\" : \"scheduled\", \"uid\" : \"kept-while-notifier-stopped\""
t_is "... and leaves calsync.changes" \
    "$(sql "SELECT count(*) FROM calsync.changes")" 0
ids=$(grep -o '"change_id" : [0-9]*' "$STACK_DIR/notices" | grep -o '[0-9]*$')
t_ok "every change announced once, in the order made" \
    test "$ids" = "$(sort -n -u <<<"$ids")" -a "$(wc -l <<<"$ids")" -gt 5
exec 7>&-
wait "$listener" 2>/dev/null

# --- one logfmt line a request
t_like "logs: one logfmt line a request" "$(grep 'event=request' "$STACK_DIR/calsync.log" | tail -n 1)" \
    '^time=[0-9T:.-]+Z level=info prog=calsync pid=[0-9]+ event=request id=[0-9a-f-]+ remote=127\.0\.0\.[12] trigger=[A-Z_-]+ uid=[^ ]+ outcome=[a-z_]+ status=[0-9]{3} ms=[0-9.]+'

# --- nothing a log must not hold
logs=("$STACK_DIR/calsync.log" "$STACK_DIR/postgres.log" "$STACK_DIR/nginx/nginx-access.log")
t_absent "logs hold no secret" -F "$STACK_SECRET" -- "${logs[@]}"
t_absent "logs hold no student email" -iF "ana@example.com" -- "${logs[@]}"

# --- a weekly series (a recurring event type): one booking, with its own
# uid, per occurrence, each body carrying recurringEvent; no series id.
# "Cancel all remaining" is one BOOKING_CANCELLED (with recurringEvent)
# for the occurrence whose link was used: Cal.com cancels every occurrence
# that starts after that moment and sends nothing more.  A series that
# needs approval is one BOOKING_REQUESTED per occurrence, then one
# BOOKING_CREATED for the first uid with recurringEvent.count = how many.
SERIES_BASE=$(($(date +%s) - 900))	# each flow 100 s later
SERIES_DAY=$(date -u -d "@$(($(date +%s) - 86400))" +%Y-%m-%d)
series_at()	# series_at SECONDS: a createdAt that many seconds after the base
{
	date -u -d "@$((SERIES_BASE + $1))" +%Y-%m-%dT%H:%M:%S.000Z
}
week()		# week N: the start of occurrence N (1: yesterday, then weekly)
{
	date -u -d "$SERIES_DAY 10:00 UTC + $((7 * ($1 - 1))) days" \
	    +%Y-%m-%dT%H:%M:%SZ
}
series_rows()	# series_rows UID...: week|status|reason, in the order given
{
	local u n=0
	for u in "$@"; do
		n=$((n + 1))
		printf '%s|%s\n' "$n" "$(appointment "$u" \
		    "status || '|' || coalesce(cancellation_reason, '-')")"
	done
}
# series_flow TEMPLATE COUNT ORDER: deliveries named in ORDER, each 2xx
# (O1..O4: occurrence N booked, with TEMPLATE, at +N s; X2: "cancel all
# remaining" from occurrence 2's link at +60 s, with the event type's count
# 12; A1: the approval of the series, for uid 1 with COUNT, at +60 s).
# Sets S1..S4 to the uids.
series_flow()
{
	local step f n codes=
	SERIES_BASE=$((SERIES_BASE + 100))
	S1=$(new_uid) S2=$(new_uid) S3=$(new_uid) S4=$(new_uid)
	for step in $3; do
		n=${step#?}
		case $step in
		O?) f=$(body "$1" UID="$(eval echo "\$S$n")" COUNT="$2" \
		    START="$(week "$n")" END="$(week "$n" | sed 's/T10/T11/')" \
		    CREATED_AT="$(series_at "$n")") ;;
		X2) f=$(body series_cancelled UID="$S2" COUNT=12 \
		    REASON="Moving to another city" START="$(week 2)" \
		    END="$(week 2 | sed 's/T10/T11/')" CREATED_AT="$(series_at 60)") ;;
		A1) f=$(body series_created UID="$S1" COUNT="$2" START="$(week 1)" \
		    END="$(week 1 | sed 's/T10/T11/')" CREATED_AT="$(series_at 60)") ;;
		esac
		post "$f"
		codes="$codes${codes:+,}$STATUS"
		eval "SERIES_$step=\$f"
	done
	t_like "series, $3: every delivery 2xx" "$codes" '^(2[0-9][0-9],?)+$'
}
remaining="1|scheduled|-
2|cancelled|Moving to another city
3|cancelled|Moving to another city
4|cancelled|Moving to another city"
for order in "O1 O2 O3 O4 X2" "X2 O4 O3 O1 O2"; do
	series_flow series_created 4 "$order"
	rows=$(series_rows "$S1" "$S2" "$S3" "$S4")
	show "series of 4, cancel all remaining from the 2nd, delivered $order" \
	    "$S1" "$S2" "$S3" "$S4"
	t_is "series, $order: cancel all remaining cancels every occurrence from then on, the past one stays" \
	    "$rows" "$remaining"
	post "$SERIES_X2"
	t_is "series, $order: the cancel again: duplicate, nothing changed" \
	    "$STATUS:$(journal "$S2" | sed 's/.*,//'):$(series_rows "$S1" "$S2" "$S3" "$S4")" \
	    "200:duplicate:$remaining"
done
# A cancel of one occurrence (no recurringEvent) cancels that one only.
series_flow series_created 4 "O1 O2 O3 O4"
post "$(body cancelled UID="$S3" REASON=Sick CREATED_AT="$(series_at 60)")"
t_is "series: one occurrence cancelled alone" \
    "$(series_rows "$S1" "$S2" "$S3" "$S4" | cut -d'|' -f2 | tr '\n' ,)" \
    "scheduled,scheduled,cancelled,scheduled,"

approved="1|scheduled|-
2|scheduled|-
3|scheduled|-
4|scheduled|-"
for order in "O1 O2 O3 O4 A1" "A1 O3 O1 O4 O2"; do
	series_flow series_requested 4 "$order"
	rows=$(series_rows "$S1" "$S2" "$S3" "$S4")
	show "series of 4 needing approval, approved, delivered $order" \
	    "$S1" "$S2" "$S3" "$S4"
	t_is "series needing approval, $order: approving it makes every requested occurrence" \
	    "$rows" "$approved"
	t_is "series needing approval, $order: at its times, one appointment each" \
	    "$(for u in "$S1" "$S2" "$S3" "$S4"; do appointment "$u" "to_char(scheduled_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"; done | tr '\n' ,):$(count_for "$S2")" \
	    "$(for n in 1 2 3 4; do week $n; done | tr '\n' ,):1"
	post "$SERIES_A1"
	t_is "series needing approval, $order: the approval again: duplicate" \
	    "$STATUS:$(journal "$S1" | sed 's/.*,//')" "200:duplicate"
done
t_is "series needing approval: requests wait for it" \
    "$(journal "$S3")" "applied"
series_flow series_requested 4 "O1 O2"
t_is "series needing approval: requests not approved make nothing" \
    "$(journal "$S1"),$(journal "$S2"):$(count_for "$S1")$(count_for "$S2")" \
    "ignored,ignored:00"

if [ -n "${CALSYNC_VALGRIND:-}" ]; then
	t_is "valgrind: no memory error or leak in calsync" "$(stack_valgrind_errors)" ""
fi

t_done
