#!/bin/bash
# tests/hostile.sh: the hostile-input corpus (tests/hostile/cases, which
# says how to read it) through the real path: nginx with TLS, or straight
# to calsync's FastCGI socket for what nginx would not pass on; the worker
# pool and PostgreSQL behind.  Two test points a case:
#   answer   the status; the answer is JSON ({"error":...} for 4xx,
#            {"status":...} for 2xx) from whom it should come (calsync's
#            carry a request_id, nginx's do not); what else the case asks;
#   effects  public.appointments and calsync.bookings unchanged, row for
#            row, unless the case expects rows; calsync's log has exactly
#            one line for the request (none if nginx answered), without the
#            secret, an email or a piece of the body; the same workers
#            still run and none crashed.
# Then the database is checked whole, and calsync must stop cleanly.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"
trap stack_stop EXIT
# A secret of its own, to look for in the log.
STACK_SECRET=hostile-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export STACK_SECRET
t_require_stack
stack_start 2 >&2 || t_bail "the stack did not start (see above)"

HOSTILE=$top_srcdir/tests/hostile
LOG=$STACK_DIR/calsync.log
BASE=${STACK_URL%/api/v1/webhooks/calcom}
WORK=$STACK_DIR/hostile
mkdir -p "$WORK"
# Every email the corpus sends, and the seeded users': none may be logged.
EMAILS=$WORK/emails
printf '%s\n' guilherme@gapersonal.com ana@example.com bruno.lima@example.com \
    carla@example.com admin@gapersonal.com additional-guest@example.com \
    guest@example.com >"$EMAILS"

# --- generated bodies (too big, or too regular, for a file)

gen_blanks()	# N: N blanks
{
	head -c "$1" /dev/zero | tr '\0' ' '
}

gen_nest()	# N: a PING nested N deep in all (the root object is 1)
{
	printf '{"triggerEvent":"PING","deep":'
	head -c $(($1 - 1)) /dev/zero | tr '\0' '['
	head -c $(($1 - 1)) /dev/zero | tr '\0' ']'
	printf '}'
}

gen_nest_objects()	# N: N objects, one in the other
{
	printf '{"triggerEvent":"PING","deep":'
	for _ in $(seq "$1"); do printf '{"a":'; done
	printf '1'
	head -c "$1" /dev/zero | tr '\0' '}'
	printf '}'
}

gen_unclosed()	# N: N "[" and nothing else
{
	head -c "$1" /dev/zero | tr '\0' '['
}

# The valid booking of tests/data/e2e/created.json through jq FILTER.
_created_jq()
{
	jq -cj "$@" "$(body created)"
}

gen_title()	# N: a booking whose title is N bytes
{
	_created_jq --rawfile t <(head -c "$1" /dev/zero | tr '\0' 't') \
	    '.payload.title = $t'
}

gen_attendees()	# N JSON: the student, then N-1 times JSON
{
	_created_jq --argjson n "$1" --argjson e "$2" \
	    '.payload.attendees = [.payload.attendees[0]] + [range($n - 1) | $e]'
}

gen_padding()	# N: a booking with N numbers in a key calsync does not read
{
	_created_jq --argjson n "$1" '.payload.padding = [range($n) | 0]'
}

gen_uid()	# N: a booking whose uid has N characters
{
	_created_jq --argjson n "$1" \
	    '.payload.uid = (.payload.uid + ("u" * $n))[0:$n]'
}

gen_email()	# N: a booking whose booker's email has N bytes
{
	_created_jq --argjson n "$1" \
	    '.payload.attendees[0].email = ("s" * ($n - 12)) + "@example.com"'
}

gen_trigger()	# N: a booking whose triggerEvent has N characters
{
	_created_jq --argjson n "$1" '.triggerEvent = ("X" * $n)'
}

# make_body SPEC OUT: write the body a case describes.
make_body()
{
	local kind=${1%% *} rest='' tpl arg args=()
	[ "$kind" != "$1" ] && rest=${1#* }
	case $kind in
	tpl)
		tpl=${rest%% *}
		[ "$tpl" != "$rest" ] || rest=''
		rest=${rest#"$tpl"}
		for arg in $rest; do
			args+=("$(printf '%b' "$arg")")
		done
		cp "$(LC_ALL=C body "$tpl" "${args[@]}")" "$2" ;;
	jq)
		jq -cj "${rest#* }" "$(body "${rest%% *}")" >"$2" ;;
	sed)
		LC_ALL=C sed -e "${rest#* }" "$(body "${rest%% *}")" >"$2" ;;
	raw)
		printf '%b' "$rest" >"$2" ;;
	gen)
		# shellcheck disable=SC2086 # the arguments are words
		"gen_${rest%% *}" ${rest#* } >"$2" ;;
	*)
		echo "unknown body kind: $kind" >&2
		return 1 ;;
	esac
}

# --- signatures

hmac()	# SECRET FILE
{
	openssl dgst -sha256 -hmac "$1" -r <"$2" | cut -d ' ' -f 1
}

# signatures MODE FILE: the X-Cal-Signature-256 values to send, one a
# line (none for "none").
signatures()
{
	local good last
	good=$(hmac "$STACK_SECRET" "$2")
	last=${good: -1}
	case $1 in
	valid)		echo "$good" ;;
	upper)		echo "$good" | tr a-f A-F ;;
	prefix)		echo "sha256=$good" ;;
	prefix-upper)	echo "SHA256=$good" | tr a-f A-F ;;
	none)		;;
	empty)		echo ;;
	nosecret)	echo no-secret-provided ;;
	prefix-empty)	echo 'sha256=' ;;
	prefix-nonhex)	echo "sha256=$(printf '%064d' 0 | tr 0 z)" ;;
	prefix-short)	echo "sha256=${good%?}" ;;
	prefix-twice)	echo "sha256=sha256=$good" ;;
	bad)		echo "${good%?}$([ "$last" = 0 ] && echo 1 || echo 0)" ;;
	short)		echo "${good%?}" ;;
	long)		echo "${good}0" ;;
	nonhex)		echo "${good:0:10}g${good:11}" ;;
	zero)		printf '%064d\n' 0 ;;
	twice)		echo "$good,$good" ;;
	spaces)		echo "   $good   " ;;
	other-body)	printf '{}' >"$WORK/other"; hmac "$STACK_SECRET" "$WORK/other" ;;
	other-secret)	hmac "not-$STACK_SECRET" "$2" ;;
	huge)		head -c 20000 /dev/zero | tr '\0' a; echo ;;
	dup-bad-first)	printf '%064d\n%s\n' 0 "$good" ;;
	dup-good-first)	printf '%s\n%064d\n' "$good" 0 ;;
	*)		echo "unknown signature mode: $1" >&2; return 1 ;;
	esac
}

# --- sending: both set STATUS, HEADERS (a file) and ANSWER (a file)

send_nginx()	# FILE
{
	local file=$1 args s
	args=(-sS --path-as-is --cacert "$STACK_CERT" -o "$ANSWER" -D "$HEADERS"
	    -w '%{http_code}' --max-time "${o[timeout]:-30}" -H 'Expect:')
	if [ -n "${o[h2]+set}" ]; then
		args+=(--http2)
	else
		args+=(--http1.1)
	fi
	case ${o[method]:-POST} in
	POST)	args+=(--data-binary "@$file") ;;
	HEAD)	args+=(--head) ;;
	*)	args+=(-X "${o[method]}") ;;
	esac
	if [ -z "${o[ct]-application/json}" ]; then
		args+=(-H 'Content-Type:')
	else
		args+=(-H "Content-Type: ${o[ct]-application/json}")
	fi
	while IFS= read -r s; do
		if [ -z "$s" ]; then
			args+=(-H 'X-Cal-Signature-256;')
		else
			args+=(-H "X-Cal-Signature-256: $s")
		fi
	done <"$WORK/sigs"
	[ -n "${o[cl]+set}" ] && args+=(-H "Content-Length: ${o[cl]}")
	[ -n "${o[chunked]+set}" ] && args+=(-H 'Transfer-Encoding: chunked')
	[ -n "${o[hdr]+set}" ] && args+=(-H "${o[hdr]}")
	STATUS=$(curl "${args[@]}" "$BASE${o[path]-/api/v1/webhooks/calcom}" 2>"$WORK/curl.err")
	[ -n "$STATUS" ] || STATUS=curl-failed
}

send_fcgi()	# FILE
{
	local file=$1 env out=$WORK/fcgi.out
	env=(REQUEST_METHOD="${o[method]-POST}"
	    REQUEST_URI="${o[path]-/api/v1/webhooks/calcom}"
	    CONTENT_TYPE="${o[ct]-application/json}"
	    CONTENT_LENGTH="${o[cl]-$(stat -c %s "$file")}"
	    REMOTE_ADDR=127.0.0.1)
	if [ -s "$WORK/sigs" ]; then
		env+=(HTTP_X_CAL_SIGNATURE_256="$(head -n 1 "$WORK/sigs")")
	fi
	[ -n "${o[param]+set}" ] && env+=("${o[param]}")
	env -i "${env[@]}" cgi-fcgi -bind -connect "$STACK_SOCKET" <"$file" \
	    >"$out" 2>"$WORK/curl.err"
	STATUS=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$out")
	sed -n '/^\r*$/q;p' "$out" >"$HEADERS"
	sed '1,/^\r*$/d' "$out" >"$ANSWER"
	[ -n "$STATUS" ] || STATUS=no-answer
}

# --- what is looked at before and after a case

# Counts and a digest of every row of the two tables a case may change.
db_state()
{
	sql "SELECT (SELECT count(*) FROM public.appointments),
	    (SELECT count(*) FROM calsync.bookings),
	    (SELECT md5(coalesce(string_agg(a::text, ',' ORDER BY a.id), ''))
	     FROM public.appointments a),
	    (SELECT md5(coalesce(string_agg(b::text, ',' ORDER BY b.uid), ''))
	     FROM calsync.bookings b)"
}

# The supervisor's children, straight from /proc (what pgrep -P finds by
# reading every process's status).
workers()
{
	local f
	for f in "/proc/$CALSYNC_PID/task/"*/children; do
		if [ ! -r "$f" ]; then
			pgrep -P "$CALSYNC_PID" | tr '\n' ' '
			return
		fi
	done
	cat "/proc/$CALSYNC_PID/task/"*/children
}

# What of this body must never reach the log: its emails, and its string
# values (cut to 40 bytes) that would say something -- with a blank or a
# sign in them, or 20 bytes long -- but for uids and the trigger, which
# calsync logs.  A body jq cannot read: quoted runs, keys left out.
secrets_of()	# FILE
{
	local strings=$WORK/strings
	printf '%s\n' "$STACK_SECRET"
	if ! jq -r '[.. | objects | (.uid?, .triggerEvent?) | strings] as $skip
	    | .. | strings | select(. as $s | $skip | index([$s]) | not)' \
	    "$1" >"$strings" 2>/dev/null; then
		LC_ALL=C grep -aoE '"[^"\\]+"[^:]' "$1" | cut -c 2- |
		    sed 's/"[^"]*$//' | LC_ALL=C grep -avxF -f <(
		    LC_ALL=C grep -aoE '"(uid|triggerEvent)":"[^"]*"' "$1" |
		    sed 's/^"[^"]*":"//; s/"$//'; echo '"') >"$strings"
	fi
	LC_ALL=C grep -a @ "$strings" | tee -a "$EMAILS"
	# Timestamps say nothing.
	LC_ALL=C grep -aE '.{20}|[^[:alpha:]_.]' "$strings" |
	    LC_ALL=C grep -avE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' |
	    LC_ALL=C grep -aE '.{8}' | LC_ALL=C cut -c 1-40 | head -n 200
	cat "$EMAILS"
}

# --- one case

declare -A o
ANSWER=$WORK/answer
HEADERS=$WORK/headers
LONG=$(head -c 9000 /dev/zero | tr '\0' a)

point()	# OK NAME TODO DIAGNOSTICS...: one TAP line
{
	local ok=$1 name=$2 todo=$3 d
	shift 3
	_tap_n=$((_tap_n + 1))
	if [ "$ok" = 1 ]; then
		echo "ok $_tap_n - $name${todo:+ # TODO $todo}"
		return
	fi
	echo "not ok $_tap_n - $name${todo:+ # TODO $todo}"
	[ -n "$todo" ] || _tap_failed=$((_tap_failed + 1))
	for d in "$@"; do
		printf '# %s\n' "$d"
	done
}

# run_case STATUS VIA SIGN OPTIONS NAME BODY
run_case()
{
	local want=$1 via=$2 sign=$3 opts=$4 name=$5 spec=$6
	local file=$WORK/body size kv key before after workers0 offset lines
	local why=() n uid got rid a0 a1 b0 b1
	o=()
	if [ "$opts" != - ]; then
		for kv in $opts; do
			key=${kv%%=*}
			if [ "$key" = "$kv" ]; then
				o[$key]=1
			else
				o[$key]=$(printf '%b' "${kv#*=}")
			fi
		done
	fi
	[ -n "${o[path]+set}" ] && o[path]=${o[path]//@LONG@/$LONG}
	if ! make_body "$spec" "$file"; then
		point 0 "$name: answer" "" "cannot make the body: $spec"
		point 0 "$name: effects" "" "not run"
		return
	fi
	size=$(stat -c %s "$file")
	if [ -n "${o[cl]+set}" ]; then
		if [[ ${o[cl]} =~ ^size([+-][0-9]+)$ ]]; then
			o[cl]=$((size ${BASH_REMATCH[1]}))
		else
			o[cl]=${o[cl]//size/$size}
		fi
	fi
	signatures "$sign" "$file" >"$WORK/sigs" || return
	# An empty pattern would match every line.
	secrets_of "$file" | LC_ALL=C grep -a '[^[:space:]]' >"$WORK/secrets"

	# What the last case left (nothing else changes these meanwhile).
	before=$STATE
	workers0=$WORKERS
	offset=$(stat -c %s "$LOG")
	rm -f "$ANSWER" "$HEADERS"
	: >"$ANSWER"
	: >"$HEADERS"
	"send_$via" "$file"

	# -- the answer
	[ "$STATUS" = "$want" ] || why+=("status $STATUS, want $want")
	if [ "$want" != 000 ] && [ -z "${o[nobody]+set}" ]; then
		# "error" or "status" (the one that is a string), and the id.
		got=$(jq -r 'if type == "object" then [(if (.error | type) ==
		    "string" then "error" elif (.status | type) == "string" then
		    "status" else "-" end), (.request_id // "")] | join(" ")
		    else "-" end' "$ANSWER" 2>/dev/null)
		rid=${got#* }
		[ "$rid" != "$got" ] || rid=
		if [ "$want" -ge 400 ]; then
			[ "${got%% *}" = error ] || why+=("not a JSON {\"error\":...}")
		else
			[ "${got%% *}" = status ] || why+=("not a JSON {\"status\":...}")
		fi
		case ${o[by]:-calsync} in
		calsync) [ -n "$rid" ] || why+=("not answered by calsync") ;;
		nginx)	[ -z "$rid" ] || why+=("answered by calsync, not nginx") ;;
		esac
	fi
	if [ -n "${o[allow]+set}" ] && ! grep -qi '^Allow: POST' "$HEADERS"; then
		why+=("no Allow: POST")
	fi
	if [ -n "${o[answer]+set}" ] && ! grep -Eq -- "${o[answer]}" "$ANSWER"; then
		why+=("answer does not match ${o[answer]}")
	fi
	((${#why[@]})) && why+=("answer: $(head -c 300 "$ANSWER")")
	point $((${#why[@]} == 0)) "$name: $want, answer" "${o[todo-answer]:-}" "${why[@]}"

	# -- the effects
	why=()
	after=$(db_state)
	STATE=$after
	n=${o[rows]:-0}
	IFS='|' read -r a0 b0 _ _ <<<"$before"
	IFS='|' read -r a1 b1 _ _ <<<"$after"
	# A case whose effects are a known bug: what it did is still counted.
	[ -n "${o[todo-effects]+set}" ] && todo_rows=$((todo_rows + a1 - a0 - n))
	if [ "$n" = 0 ]; then
		[ "$before" = "$after" ] ||
		    why+=("appointments or bookings changed: $before -> $after")
	elif [ "$((a1 - a0))|$((b1 - b0))" != "$n|$n" ]; then
		why+=("appointments +$((a1 - a0)), bookings +$((b1 - b0)), want +$n each")
	fi
	tail -c +$((offset + 1)) "$LOG" >"$WORK/log"
	lines=$(grep -c '' "$WORK/log")
	if [ "${o[by]:-calsync}" = nginx ] || [ "$want" = 000 ]; then
		[ "$lines" = 0 ] || why+=("calsync logged $lines lines for a request it never saw")
	else
		[ "$lines" = 1 ] || why+=("calsync logged $lines lines, want 1")
		grep -Eq '^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]* level=info prog=calsync pid=[0-9]+ event=request id=' \
		    "$WORK/log" || why+=("no well-formed request line in the log")
	fi
	# Less the time= field: the clock's, not the body's, and today's date.
	sed 's/^time=[^ ]* //' "$WORK/log" >"$WORK/log-fields"
	if LC_ALL=C grep -aiqF -f "$WORK/secrets" "$WORK/log-fields"; then
		got=$(LC_ALL=C grep -aioF -f "$WORK/secrets" "$WORK/log-fields" | head -n 1)
		[ "$got" = "$STACK_SECRET" ] && got="the secret"
		why+=("the log holds what it must not: $got")
	fi
	grep -Eq 'killed by signal|exited with status|Sanitizer|runtime error' "$WORK/log" &&
	    why+=("a worker crashed: $(grep -E 'signal|status|Sanitizer|runtime error' "$WORK/log" | head -n 1)")
	WORKERS=$(workers)
	[ "$WORKERS" = "$workers0" ] ||
	    why+=("workers changed: $workers0-> $WORKERS")
	[ -z "${o[stored]+set}" ] || uid=$(jq -r '.payload.uid? // empty' "$file")
	case ${o[stored]:-} in
	'')	;;
	title)
		got=$(sql "SELECT split_part(a.notes, E'\n', 2) FROM public.appointments a
		    JOIN calsync.bookings b ON b.appointment_id = a.id WHERE b.uid = '$uid'")
		[ "$got" = "$(jq -r .payload.title "$file")" ] ||
		    why+=("title stored as: $(printf '%s' "$got" | head -c 100)") ;;
	notes)
		got=$(sql "SELECT split_part(a.notes, E'\n', 3) FROM public.appointments a
		    JOIN calsync.bookings b ON b.appointment_id = a.id WHERE b.uid = '$uid'")
		[ "$got" = "$(jq -r .payload.additionalNotes "$file")" ] ||
		    why+=("notes stored as: $(printf '%s' "$got" | head -c 100)") ;;
	location)
		got=$(sql "SELECT a.location FROM public.appointments a
		    JOIN calsync.bookings b ON b.appointment_id = a.id WHERE b.uid = '$uid'")
		[ "$got" = "$(jq -r .payload.location "$file")" ] ||
		    why+=("location stored as: $got") ;;
	*)	why+=("unknown stored=${o[stored]}") ;;
	esac
	if [ -n "${o[journal]+set}" ]; then
		got=$(sql "SELECT encode(sha256(body), 'hex') FROM calsync.deliveries
		    WHERE request_id = '$rid'")
		[ "$got" = "$(sha256sum <"$file" | cut -d ' ' -f 1)" ] ||
		    why+=("the journal does not hold the body as sent (request $rid)")
	fi
	if [ -n "${o[booked]+set}" ]; then
		[ "$(sql "SELECT count(*) FROM calsync.bookings WHERE uid = '${o[booked]}'
		    AND appointment_id IS NOT NULL")" = 1 ] ||
		    why+=("${o[booked]} has no appointment")
	fi
	if [ -n "${o[unbooked]+set}" ]; then
		[ "$(sql "SELECT count(*) FROM calsync.bookings WHERE uid = '${o[unbooked]}'")" = 0 ] ||
		    why+=("${o[unbooked]} is in calsync.bookings")
	fi
	point $((${#why[@]} == 0)) "$name: effects" "${o[todo-effects]:-}" "${why[@]}"
}

# --- the corpus

tables_before=$(sql "SELECT count(*) FROM pg_catalog.pg_tables
    WHERE schemaname IN ('public', 'calsync')")
users_before=$(sql "SELECT md5(string_agg(u::text, ',' ORDER BY u.id)) FROM public.users u")
appointments_before=$(sql "SELECT count(*) FROM public.appointments")
expected_rows=0
todo_rows=0
trim()	# VARIABLE...: strip the blanks around each
{
	local -n v
	for v; do
		v=${v#"${v%%[![:space:]]*}"}
		v=${v%"${v##*[![:space:]]}"}
	done
}

STATE=$(db_state)
WORKERS=$(workers)
while IFS='|' read -r status via sign opts name spec; do
	trim status
	case $status in '' | '#'*) continue ;; esac
	trim via sign opts name spec
	# HOSTILE_ONLY=REGEX: only the cases whose name matches (by hand).
	if [ -n "${HOSTILE_ONLY:-}" ] && ! [[ $name =~ $HOSTILE_ONLY ]]; then
		continue
	fi
	run_case "$status" "$via" "$sign" "$opts" "$name" "$spec"
	printf '%s\n' "$name" >>"$WORK/names"
	[[ $opts =~ (^|[[:space:]])rows=([0-9]+) ]] &&
	    expected_rows=$((expected_rows + BASH_REMATCH[2]))
done <"$HOSTILE/cases"
# Two cases of one name would make their test points ambiguous.
t_is "the corpus: no two cases share a name" "$(sort "$WORK/names" | uniq -d)" ""

# --- the database afterwards
t_is "database: the same tables" "$(sql "SELECT count(*) FROM pg_catalog.pg_tables
    WHERE schemaname IN ('public', 'calsync')")" "$tables_before"
t_is "database: users untouched" \
    "$(sql "SELECT md5(string_agg(u::text, ',' ORDER BY u.id)) FROM public.users u")" "$users_before"
t_is "database: appointments grew only by the accepted bookings" \
    "$(sql "SELECT count(*) FROM public.appointments")" "$((appointments_before + expected_rows + todo_rows))"
t_is "database: every appointment has its booking" \
    "$(sql "SELECT count(*) FROM public.appointments a WHERE NOT EXISTS
    (SELECT FROM calsync.bookings b WHERE b.appointment_id = a.id)")" 0

# --- the whole log, and a clean stop

sort -u "$EMAILS" >"$WORK/all-emails"
t_ok "calsync.log: there, and not empty" test -s "$LOG"
t_absent "calsync.log: no secret" -F "$STACK_SECRET" -- "$LOG"
t_absent "calsync.log: no email of the corpus ($(wc -l <"$WORK/all-emails"))" \
    -iF -f "$WORK/all-emails" -- "$LOG"
t_absent "calsync.log: no worker died" -E 'killed by signal|exited with status' -- "$LOG"
pid=$CALSYNC_PID
kill -TERM "$pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
t_not "calsync stops on SIGTERM" kill -0 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
t_is "... with status 0" "$?" 0
t_absent "calsync.log: no sanitizer report" -E 'Sanitizer|runtime error' -- "$LOG"
CALSYNC_PID=

t_done
