#!/bin/bash
# tests/install.sh: README's recipes, run as README writes them.  Its
# "Building and installing" block (the user, then make install of this
# build, configured as README configures it), then its spawn-fcgi block,
# both read from README itself; the installed calsync serves a signed
# delivery from the stack's PostgreSQL and spools one while the database
# is away.  Then make uninstall, and the machine is as it was: the test
# checks /usr/local before and after.  Root only.  Not covered: the
# package (tests/deb.sh) and the systemctl lines (no systemd as PID 1
# here; tests/systemd.sh runs the units' calsync as systemd would).
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"

t_require "needs root: the test installs calsync in /usr/local" test "$(id -u)" = 0
for p in spawn-fcgi cgi-fcgi adduser; do
	command -v "$p" >/dev/null || t_bail "no $p (tools/deps installs it)"
done
readme=$top_srcdir/README
mk()	# mk ARGS: make in the build tree, without make check's own settings
{
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	    make -s -C "$top_builddir" "$@"
}
# What README's plain ./configure gives; another configuration (a
# --prefix) is not the recipe, and would install elsewhere.
prefix=$(mk -f Makefile -f - print <<<'print: ; @echo $(prefix) $(bindir) $(localstatedir)' 2>/dev/null)
t_require "this build is not README's ./configure (prefix, bindir, localstatedir: $prefix)" \
    test "$prefix" = "/usr/local /usr/local/bin /usr/local/var"
# Not over an installed calsync, nor a socket directory in use.
for f in /usr/local/bin/calsync /usr/local/bin/calsyncctl /run/calsync; do
	[ -e "$f" ] && t_bail "$f exists: this test would replace or remove it"
done

# block INTRO: the indented block after README's line INTRO, unindented
# (continuation lines joined, as the shell would read them).
block()
{
	awk -v intro="$1" '
		!found { if (index($0, intro) == 1) found = 1; next }
		/^    / { in_block = 1; sub(/^    /, ""); print; next }
		in_block { exit }
	' "$readme" | sed -e ':a' -e '/\\$/N; s/\\\n */ /; ta'
}
build=$(block 'Building and installing')
spawn=$(block 'Under spawn-fcgi, as root')
t_like "README: the build block makes the user calsync" "$build" '^adduser '
t_like "README: ... then configures as this build is, and installs" "$build" \
    $'\n''autoreconf -fi && \./configure && make && make install$'
t_like "README: the spawn-fcgi block runs the installed calsync" "$spawn" \
    '/usr/local/bin/calsync'

before=$(mktemp /tmp/calsync-install.XXXXXX) || t_bail "mktemp failed"
had_user=0
id -u calsync >/dev/null 2>&1 && had_user=1
pid=
log=$before.log
# run NAME COMMAND...: t_ok, with the command's output in the TAP log only
# when it fails.
run()
{
	local name=$1
	shift
	if "$@" >"$log" 2>&1; then
		_tap_result 0 "$name"
	else
		_tap_result 1 "$name"
		sed 's/^/# /' "$log"
	fi
}
cleanup()
{
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		# shellcheck disable=SC2046 # one word per pid
		kill -KILL "$pid" $(_stack_children "$pid") 2>/dev/null
	fi
	stack_stop
	mk uninstall >/dev/null 2>&1
	rm -rf /run/calsync
	# The directories make install made, deepest first.
	find /usr/local -depth -type d | grep -vxFf "$before" | xargs -r rmdir 2>/dev/null
	# The user, if this test made it and no package has come to own it.
	if [ "$had_user" = 0 ] && ! dpkg-query -W calsync >/dev/null 2>&1; then
		deluser --system --quiet calsync >/dev/null 2>&1
	fi
	rm -f "$before" "$log"
}
trap cleanup EXIT
find /usr/local | sort >"$before"

stack_start 1 || t_bail "the stack did not start"

# --- Building and installing: apt-get (tools/deps did it) and the build
# (make check runs in it) are done; the rest runs here.
while IFS= read -r line; do
	case $line in
	"apt-get install "*) ;;
	"autoreconf -fi && ./configure && make && make install")
		run "make install" mk install ;;
	*)	run "README: $line" bash -ec "$line" ;;
	esac
done <<<"$build"
spool=/usr/local/var/spool/calsync
t_is "calsync's default spool is what make install made" \
    "$(strings /usr/local/bin/calsync | grep -x "$spool")" "$spool"
t_is "$spool: calsync's, 0700" "$(stat -c '%U:%G %a' "$spool" 2>&1)" \
    "calsync:calsync 700"
if command -v systemd-analyze >/dev/null; then
	out=$(MANPATH=/usr/local/share/man systemd-analyze verify --man=no \
	    /usr/local/share/calsync/systemd/calsync.socket \
	    /usr/local/share/calsync/systemd/calsync.service \
	    /usr/local/share/calsync/systemd/calsync-reconcile.service \
	    /usr/local/share/calsync/systemd/calsync-reconcile.timer 2>&1)
	t_is "systemd-analyze verify on the installed units (ExecStart: the installed calsync)" \
	    "$out" ""
fi

# --- spawn-fcgi, with the environment README says calsync reads.
(umask 077 && printf '%s\n' "$STACK_SECRET" >"$STACK_DIR/installed-secret")
chown calsync "$STACK_DIR/installed-secret"
out=$(DATABASE_URL=$DATABASE_URL \
    CALCOM_WEBHOOK_SECRET_FILE=$STACK_DIR/installed-secret CALSYNC_SPOOL_INTERVAL=1 \
    bash -ec "$spawn" 2>&1)
t_is "the spawn-fcgi block, as written: exit 0" "$?" 0
pid=$(sed -n 's/.*child spawned successfully: PID: \([0-9]*\).*/\1/p' <<<"$out")
t_like "spawn-fcgi started calsync" "$pid" '^[0-9]+$'
if [ -z "$pid" ]; then
	sed 's/^/# /' <<<"$out"
	t_done
	exit 1
fi
for _ in $(seq 50); do
	[ -n "$(_stack_children "$pid")" ] && break
	sleep 0.1
done
t_ok "calsync runs, with its workers" test -n "$(_stack_children "$pid")"
t_is "calsync runs as calsync" "$(stat -c %U "/proc/$pid" 2>&1)" calsync

export SOCKET=/run/calsync/calsync.sock
f=$(body created)
fcgi "$f"
t_is "a signed booking: 200" "$STATUS" 200
t_is "... in the database" \
    "$(sql "SELECT count(*) FROM calsync.bookings WHERE uid = '$(json_field "$f" uid)'")" 1

# The spool: the database away, a delivery is kept, then applied.
stack_pg_stop
f=$(body created START=2026-12-02T10:00:00Z END=2026-12-02T11:00:00Z)
fcgi "$f"
t_is "the database away: 202 (spooled)" "$STATUS" 202
t_is "... one file in $spool" "$(find "$spool" -type f | wc -l)" 1
stack_pg_start || t_bail "PostgreSQL did not start again"
for _ in $(seq 100); do
	[ -z "$(ls -A "$spool")" ] && break
	sleep 0.1
done
t_is "the database back: the spool is applied and empty" "$(ls -A "$spool")" ""
t_is "... the booking is in the database" \
    "$(sql "SELECT count(*) FROM calsync.bookings WHERE uid = '$(json_field "$f" uid)'")" 1

kill -TERM "$pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
t_not "SIGTERM: calsync exits" kill -0 "$pid" 2>/dev/null
pid=

# --- make uninstall, and what the recipes made: the machine as it was.
run "make uninstall" mk uninstall
t_not "make uninstall removed the empty spool" test -e "$spool"
rm -rf /run/calsync
find /usr/local -depth -type d | grep -vxFf "$before" | xargs -r rmdir
t_is "/usr/local as before the test" "$(find /usr/local | sort | diff "$before" - )" ""

t_done
