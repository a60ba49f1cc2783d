# tests/tap.sh: TAP for the shell tests (automake's tap-driver reads it),
# and what they share: Cal.com-shaped bodies from tests/data/e2e and
# requests signed and sent the way Cal.com sends them.  Source it after
# tests/stack.sh.

_tap_n=0
_tap_failed=0

# TODO=WHY before a t_* call marks a known bug: "# TODO WHY", which
# automake's driver counts as XFAIL (and as XPASS, a failure, once fixed).
_tap_result()
{
	_tap_n=$((_tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_tap_n - $2${TODO:+ # TODO $TODO}"
	else
		echo "not ok $_tap_n - $2${TODO:+ # TODO $TODO}"
		[ -n "${TODO:-}" ] || _tap_failed=$((_tap_failed + 1))
	fi
}

# t_is NAME GOT WANT
t_is()
{
	if [ "$2" = "$3" ]; then
		_tap_result 0 "$1"
	else
		_tap_result 1 "$1"
		printf '# got:  %s\n# want: %s\n' "$2" "$3"
	fi
}

# t_like NAME GOT PATTERN (a grep -E pattern)
t_like()
{
	if printf '%s' "$2" | grep -Eq -- "$3"; then
		_tap_result 0 "$1"
	else
		_tap_result 1 "$1"
		printf '# got:  %s\n# want match of: %s\n' "$2" "$3"
	fi
}

# t_ok NAME COMMAND...: passes when the command succeeds.
t_ok()
{
	local name=$1
	shift
	if "$@"; then
		_tap_result 0 "$name"
	else
		_tap_result 1 "$name"
		echo "# command failed: $*"
	fi
}

# t_not NAME COMMAND...: passes when the command fails.  (A "!" that comes
# from "$@" is not the shell's negation.)  Not for grep: grep fails on a
# missing file too; t_absent is the check that something is not there.
t_not()
{
	local name=$1
	shift
	if "$@"; then
		_tap_result 1 "$name"
		echo "# command succeeded: $*"
	else
		_tap_result 0 "$name"
	fi
}

# t_absent NAME GREP-ARGS... -- FILE...: passes when every FILE exists,
# is not empty, and no line of them matches.  A log that was never written
# holds no secret, and proves nothing.
t_absent()
{
	local name=$1 f
	local -a args=()
	shift
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	for f in "$@"; do
		if [ ! -s "$f" ]; then
			_tap_result 1 "$name"
			echo "# missing or empty: $f"
			return
		fi
	done
	if LC_ALL=C grep -aq "${args[@]}" -- "$@"; then
		_tap_result 1 "$name"
		LC_ALL=C grep -Hanm 1 "${args[@]}" -- "$@" | cut -d : -f 1-2 |
		    sed 's/^/# first at: /'
	else
		_tap_result 0 "$name"
	fi
}

t_done()
{
	echo "1..$_tap_n"
	[ "$_tap_failed" = 0 ]
}

# t_require REASON COMMAND...: go on if COMMAND succeeds; else the whole
# file is skipped, saying REASON (make check on a developer's machine
# without root or without the servers), or fails saying it under tools/test
# (CALSYNC_TEST_NO_SKIP), where every suite must run.
t_require()
{
	local reason=$1
	shift
	"$@" && return 0
	if [ -n "${CALSYNC_TEST_NO_SKIP:-}" ]; then
		echo "Bail out! $reason"
		exit 1
	fi
	echo "1..0 # SKIP $reason"
	exit 0
}

# wait_until SECONDS COMMAND...: until COMMAND succeeds, for at most
# SECONDS, trying ten times a second; fails if it never does.
wait_until()
{
	local seconds=$1
	shift
	for _ in $(seq $((seconds * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# have PROGRAM: whether PROGRAM is on PATH.
have()
{
	command -v "$1" >/dev/null
}

# t_require_stack: t_require for what tests/stack.sh needs.
t_require_stack()
{
	local why
	why=$(stack_prerequisites) && return 0
	t_require "$why" false
}

# Stop the whole test file: the stack could not start, say why.
t_bail()
{
	echo "Bail out! $*"
	exit 1
}

# A fresh booking uid, as Cal.com makes them (22 base62-ish characters).
new_uid()
{
	printf 'T%s' "$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}

now_ms()
{
	date -u +%Y-%m-%dT%H:%M:%S.%3NZ
}

# created_at SECONDS: a createdAt that many seconds from now (negative:
# ago).  Fixtures that need an order take it from the clock, never from a
# date written down, which would fall into the past one day.
created_at()
{
	date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%S.000Z
}

# body TEMPLATE KEY=VALUE...: a body from tests/data/e2e/TEMPLATE.json with
# its @KEY@ placeholders filled, written to a new file whose path is
# printed.  Defaults give a valid booking of the seeded trainer and student.
body()
{
	local template=$1 out kv key value script
	shift
	# mktemp: callers run this in $(...), where a counter would not count.
	out=$(mktemp "$STACK_DIR/body.XXXXXXXX") || return 1
	script=""
	# Given values first: the first substitution of a placeholder wins.
	for kv in "$@" "ORGANIZER=guilherme@gapersonal.com" \
	    "STUDENT=ana@example.com" "CREATED_AT=$(now_ms)" \
	    "START=2026-12-01T10:00:00Z" "END=2026-12-01T11:00:00Z" \
	    "EVENT=Personal Training Session" "LOCATION=GA Personal Studio" \
	    "NOTES=" "REASON=" "ORIG=" "NOSHOW=true" "REQRES=false" \
	    "VIDEO_URL=https://app.example.com/video/unique-booking-id" \
	    "VIDEO_DATA_URL=https://video.example.com/meeting-room-id" \
	    "DESCRIPTION=" "RESCHEDULE_REASON=" \
	    "NAME=Guest User" "BOOKER=ana@example.com" "SEAT=$(new_uid)" \
	    "UID=$(new_uid)"; do
		key=${kv%%=*}
		value=${kv#*=}
		value=$(printf '%s' "$value" | sed -e 's/[\\|&]/\\&/g')
		script="$script s|@$key@|$value|g;"
	done
	sed -e "$script" "$top_srcdir/tests/data/e2e/$template.json" >"$out"
	printf '%s\n' "$out"
}

# json_field FILE KEY: the first string value of "KEY" in a compact body.
json_field()
{
	grep -o "\"$2\":\"[^\"]*\"" "$1" | head -n 1 | sed -e 's/^.*:"//' -e 's/"$//'
}

# post_raw FILE CURL-ARGS...: POST FILE through nginx and TLS; sets STATUS
# and ANSWER (the response body).
post_raw()
{
	local file=$1
	shift
	STATUS=$(curl -sS --cacert "$STACK_CERT" -o "$STACK_DIR/answer" \
	    -w '%{http_code}' --data-binary @"$file" "$@" "$STACK_URL") ||
	    STATUS=curl-failed
	ANSWER=$(cat "$STACK_DIR/answer" 2>/dev/null)
}

# post FILE: exactly as Cal.com sends it: compact JSON, bare hex signature.
post()
{
	post_raw "$1" -H 'Content-Type: application/json' \
	    -H "X-Cal-Signature-256: $(stack_sign "$1")"
}

# fcgi FILE [PARAM=VALUE...]: POST FILE to SOCKET (default: the pool) as
# nginx would; sets STATUS, HEADERS and ANSWER.
fcgi()
{
	local file=$1 out
	shift
	out=$(env -i REQUEST_METHOD=POST REQUEST_URI=/api/v1/webhooks/calcom \
	    CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(stat -c %s "$file")" \
	    HTTP_X_CAL_SIGNATURE_256="$(stack_sign "$file")" \
	    REMOTE_ADDR=127.0.0.1 "$@" \
	    cgi-fcgi -bind -connect "${SOCKET:-$STACK_SOCKET}" <"$file")
	STATUS=$(printf '%s\n' "$out" | sed -n 's/^Status: \([0-9]*\).*/\1/p')
	HEADERS=$(printf '%s\n' "$out" | sed -n '/^\r*$/q;p')
	ANSWER=$(printf '%s\n' "$out" | tail -n 1)
}

# sql QUERY: one value (or rows, |-separated) from the stack's database.
sql()
{
	stack_psql -c "$1"
}
