#!/bin/bash
# tests/up.sh: README's first command, as a newcomer runs it: tools/up, then
# the curl and the query it prints, exactly as printed, then tools/up stop,
# which must leave no process, no listening socket and no state behind.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"

t_require_stack
t_require "tools/up builds in the checkout, and this is a build elsewhere" \
    test "$top_srcdir" -ef "$top_builddir"
t_require "tools/up is running from this checkout already (tools/up stop)" \
    test ! -L "$top_srcdir/run"

# As a user runs it: not inside make check's own make.
up()
{
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	    "$top_srcdir/tools/up" "$@"
}

# block TEXT HEADING: the lines after HEADING up to the next blank line.
block()
{
	printf '%s\n' "$1" | awk -v h="$2" '
		index($0, h) == 1 { on = 1; next }
		on && /^[[:space:]]*$/ { if (seen) exit; next }
		on { seen = 1; print }'
}

# Listening TCP sockets (state 0A) and the ports they listen on.
listening_ports()
{
	awk 'FNR > 1 && $4 == "0A" { n = split($2, a, ":"); print a[n] }' \
	    /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u
}

out=$(up 2>&1 </dev/null)
rc=$?
t_is "tools/up: exit 0" "$rc" 0
[ "$rc" = 0 ] || { printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'; t_bail "tools/up failed"; }
state=$(printf '%s\n' "$out" | sed -n 's/^ *state *run\/ (a link to \(.*\))$/\1/p')
t_ok "tools/up: its state is outside the checkout, ./run links to it" \
    test -d "$state" -a -L "$top_srcdir/run" -a "$(readlink "$top_srcdir/run")" = "$state"

send=$(block "$out" "Send a signed test booking")
t_like "tools/up prints a command that sends a booking" "$send" '^ *curl .*--cacert run/cert\.pem'
answer=$(bash -c "$send" 2>&1)
t_like "the printed curl: the booking is applied" "$answer" '^\{"status":"applied"'

query=$(block "$out" "See the appointment it made")
rows=$(bash -c "$query" 2>&1)
t_like "the printed query: the appointment, Ana with Guilherme, 10:00 for 60 minutes" \
    "$rows" '10:00:00 +\| +60 \| scheduled \| guilherme@gapersonal\.com \| ana@example\.com'

# In hex, as /proc/net/tcp writes them.
ports=$(. "$state/stack.env" && for u in "$STACK_URL" "$STACK_HTTP_URL"; do
	u=${u#*://*:}
	printf '%04X\n' "${u%%/*}"
done && printf '%04X\n' "$PGPORT")
t_is "tools/up listens on three ports (PostgreSQL, HTTPS, HTTP)" "$(wc -l <<<"$ports")" 3

out=$(up stop 2>&1)
t_is "tools/up stop: exit 0" "$?" 0
t_is "... says so" "$out" "tools/up: stopped"
t_ok "... removes the state and the link" test ! -e "$state" -a ! -L "$top_srcdir/run"
# The pattern from a file: grep's own command line must not hold it.
left=$(grep -lFf <(printf '%s\n' "$state") /proc/[0-9]*/cmdline 2>/dev/null)
t_is "... leaves no process of the stack" "$left" ""
now=$(listening_ports)
t_is "... leaves none of its ports listening" \
    "$(comm -12 <(sort <<<"$ports") <(printf '%s\n' "$now"))" ""
t_is "tools/up stop again: nothing to stop" "$(up stop 2>&1)" "tools/up: nothing to stop"

t_done
