#!/bin/bash
# tests/systemd.sh: the systemd units.  systemd-analyze verify has nothing
# to say about them, the sandbox scores as it should, they keep what calsync
# relies on, and calsync serves on a listening socket handed over as fd 0,
# as StandardInput=socket hands it, with the secret read from a file as
# LoadCredential= gives it.  (systemd itself cannot run here as PID 1.)
set -u
. "$top_srcdir/tests/tap.sh"

t_require "systemd-analyze is not installed (apt-get install systemd)" \
    have systemd-analyze

dir=$(mktemp -d /tmp/calsync-systemd.XXXXXX) || t_bail "mktemp failed"
pid=
cleanup()
{
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

# Test copies: ExecStart= names the calsync just built.
mkdir "$dir/units"
cp "$top_srcdir/systemd/calsync.socket" "$dir/units/"
sed "s|@bindir@|$top_builddir/src|g" "$top_srcdir/systemd/calsync.service.in" \
    >"$dir/units/calsync.service"
cp "$top_srcdir/systemd/calsync-reconcile.timer" "$dir/units/"
sed "s|@bindir@|$top_builddir/src|g" "$top_srcdir/systemd/calsync-reconcile.service.in" \
    >"$dir/units/calsync-reconcile.service"
socket=$dir/units/calsync.socket
service=$dir/units/calsync.service
reconcile=$dir/units/calsync-reconcile.service
timer=$dir/units/calsync-reconcile.timer

# verify runs man(1) for each Documentation= page: let it find ours.
mkdir -p "$dir/man/man8"
cp "$top_srcdir"/man/*.8 "$dir/man/man8/"
man_opt=--man=yes
command -v man >/dev/null || man_opt=--man=no
out=$(cd "$dir/units" && MANPATH=$dir/man \
    systemd-analyze verify "$man_opt" ./calsync.socket ./calsync.service \
    ./calsync-reconcile.service ./calsync-reconcile.timer 2>&1)
rc=$?
t_is "systemd-analyze verify: exit 0" "$rc" 0
t_is "systemd-analyze verify: not one warning" "$out" ""

out=$(systemd-analyze security --offline=yes --threshold=20 "$service" 2>&1)
rc=$?
t_is "systemd-analyze security: exposure at most 2.0 (--threshold=20)" "$rc" 0
[ "$rc" = 0 ] || printf '# %s\n' "$(tail -n 1 <<<"$out")"
out=$(systemd-analyze security --offline=yes --threshold=20 "$reconcile" 2>&1)
rc=$?
t_is "systemd-analyze security of calsync-reconcile.service: at most 2.0" "$rc" 0
[ "$rc" = 0 ] || printf '# %s\n' "$(tail -n 1 <<<"$out")"

# What calsync relies on (see calsync.service.in for why).
key()	# key FILE KEY: the values of KEY, one a line
{
	sed -n "s/^$2=//p" "$1"
}
t_is "calsync.socket: one listening socket" "$(key "$socket" ListenStream)" \
    /run/calsync/calsync.sock
t_is "calsync.socket: Accept=no" "$(key "$socket" Accept)" no
t_is "calsync.socket: for www-data, 0660" \
    "$(key "$socket" SocketUser):$(key "$socket" SocketGroup):$(key "$socket" SocketMode)" \
    calsync:www-data:0660
t_is "calsync.service: the socket on stdin" "$(key "$service" StandardInput)" socket
t_is "calsync.service: logs to the journal, not to the socket" \
    "$(key "$service" StandardOutput) $(key "$service" StandardError)" "journal journal"
t_like "calsync.service: calsync without -s" "$(key "$service" ExecStart)" \
    "^$top_builddir/src/calsync -w [0-9]+\$"
t_is "calsync.service: no RuntimeDirectory= (its removal would take the socket)" \
    "$(key "$service" RuntimeDirectory)" ""
t_is "calsync.service: the secret as a credential" \
    "$(key "$service" LoadCredential) $(key "$service" Environment | grep SECRET)" \
    "webhook-secret:/etc/calsync/webhook-secret CALCOM_WEBHOOK_SECRET_FILE=%d/webhook-secret"
t_is "calsync.service: the spool in its own state directory" \
    "$(key "$service" StateDirectory) $(key "$service" Environment | grep SPOOL)" \
    "calsync CALSYNC_SPOOL_DIR=%S/calsync"
t_is "calsync.service: SIGTERM, 30 s" \
    "$(key "$service" KillSignal) $(key "$service" TimeoutStopSec)" "SIGTERM 30"

t_is "calsync-reconcile.timer: hourly, a missed run at boot" \
    "$(key "$timer" OnCalendar) $(key "$timer" Persistent)" "hourly true"
t_is "calsync-reconcile.service: 26 hours back, once a run" \
    "$(key "$reconcile" Type) $(key "$reconcile" ExecStart)" \
    "oneshot $top_builddir/src/calsyncctl reconcile --since 26h"
t_is "calsync-reconcile.service: the API key as a credential" \
    "$(key "$reconcile" LoadCredential) $(key "$reconcile" Environment | grep KEY)" \
    "calcom-api-key:/etc/calsync/calcom-api-key CALCOM_API_KEY_FILE=%d/calcom-api-key"
t_is "calsync-reconcile.service: calsync's user and state directory (for /metrics)" \
    "$(key "$reconcile" User) $(key "$reconcile" StateDirectory) $(key "$reconcile" Environment | grep SPOOL)" \
    "calsync calsync CALSYNC_SPOOL_DIR=%S/calsync"

built=$top_builddir/systemd/calsync.service
if [ -f "$built" ]; then
	t_like "the built calsync.service names an absolute bindir" \
	    "$(key "$built" ExecStart)" '^/[^@]*/calsync -w 4$'
else
	t_ok "the built calsync.service exists (make builds it)" false
fi

# --- calsync with the listening socket on fd 0.  systemd-socket-activate
# --inetd without --accept does what systemd does for StandardInput=socket
# with Accept=no: it listens, and on the first connection starts calsync
# with the listening socket as stdin.
if ! command -v systemd-socket-activate >/dev/null || ! command -v cgi-fcgi >/dev/null; then
	t_ok "systemd-socket-activate and cgi-fcgi are installed" false
	t_done
	exit
fi
mkdir -m 700 "$dir/credentials" "$dir/state"
printf 'fd0-secret\n' >"$dir/credentials/webhook-secret"
# As calsync.service sets them: the secret from a credential file, the
# spool (for a calsync that has one) in the state directory.
envs=(-E DATABASE_URL=postgresql://calsync@127.0.0.1:1/ga_personal
    -E "CALCOM_WEBHOOK_SECRET_FILE=$dir/credentials/webhook-secret"
    -E "CALSYNC_SPOOL_DIR=$dir/state")
for v in ASAN_OPTIONS UBSAN_OPTIONS; do
	[ -n "${!v:-}" ] && envs+=(-E "$v=${!v}")
done
systemd-socket-activate --inetd -l "$dir/calsync.sock" "${envs[@]}" \
    "$top_builddir/src/calsync" -w 2 </dev/null >"$dir/calsync.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
	[ -S "$dir/calsync.sock" ] && break
	sleep 0.1
done

# fcgi FILE SIGNATURE [PARAM=VALUE...]: the status calsync answers.
fcgi()
{
	local file=$1 sig=$2
	shift 2
	env -i REQUEST_METHOD=POST REQUEST_URI=/api/v1/webhooks/calcom \
	    CONTENT_TYPE=application/json CONTENT_LENGTH="$(stat -c %s "$file")" \
	    HTTP_X_CAL_SIGNATURE_256="$sig" REMOTE_ADDR=127.0.0.1 "$@" \
	    cgi-fcgi -bind -connect "$dir/calsync.sock" <"$file" |
	    sed -n 's/^Status: \([0-9]*\).*/\1/p'
}
printf '{"triggerEvent":"PING","createdAt":"2026-11-24T10:00:00.000Z","payload":{}}' \
    >"$dir/ping.json"
good=$(openssl dgst -sha256 -hmac fd0-secret -r <"$dir/ping.json" | cut -d' ' -f1)
t_is "fd 0: the first connection starts calsync, which answers it (PUT: 405)" \
    "$(fcgi "$dir/ping.json" "$good" REQUEST_METHOD=PUT)" 405
t_is "fd 0: a wrong signature: 401" "$(fcgi "$dir/ping.json" 0123abcd)" 401
# Verified, so past the signature: 503, or 202 from a calsync that spools
# what the database cannot take.
t_like "fd 0: the secret from the credential file verifies (no database: 503 or 202)" \
    "$(fcgi "$dir/ping.json" "$good")" '^(503|202)$'
t_like "fd 0: calsync started its workers" "$(cat "$dir/calsync.log")" \
    'started: 2 workers'
kill -TERM "$pid"
wait "$pid"
t_is "fd 0: SIGTERM: calsync exits 0" "$?" 0
pid=
t_like "fd 0: ... after stopping its workers" "$(cat "$dir/calsync.log")" '[ "=]stopped"?$'
[ -n "${TAP_DEBUG:-}" ] && sed 's/^/# /' "$dir/calsync.log"

t_done
