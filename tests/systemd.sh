#!/bin/bash
# tests/systemd.sh: calsync under systemd, for real.  A Debian 12 root made
# by debootstrap is booted with systemd as PID 1 (systemd-nspawn --boot, a
# private network: nothing inside touches this machine's ports); the .deb
# built from the dist tarball is installed in it and configured as README
# says, behind nginx with TLS, on a PostgreSQL of its own.  Then: socket
# activation on the first request, the sandbox, the journal, a secret
# rotated by systemctl reload, stop and restart under load, and -l syslog
# through journald.  Root, Debian's mirror, a few minutes: run by
# "make systemd-check", not by make check.
set -u
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/debbuild.sh"

t_require "needs root: the test boots a container" test "$(id -u)" = 0
for p in systemd-nspawn debootstrap nsenter dpkg-buildpackage; do
	have "$p" || t_bail "no $p: tools/deps installs it"
done
tarball=${CALSYNC_TARBALL:-}
[ -r "$tarball" ] || t_bail "CALSYNC_TARBALL must name the dist tarball (make systemd-check sets it)"

# Every delivery of every load below; the mirror debootstrap reads.
N=${SYSTEMD_DELIVERIES:-60}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HOST=api.guialmeidapersonal.esp.br

started=$(date +%s)
dir=$(mktemp -d /var/tmp/calsync-systemd.XXXXXX) || t_bail "mktemp failed"
root=$dir/root
nspawn= leader=

# The container powered off (systemd's SIGRTMIN+4), killed if it will not,
# and its root removed: the machine as it was.  --one-file-system: were a
# mount left inside the root, rm must not go through it.
cleanup()
{
	if [ -n "$nspawn" ]; then
		[ -n "$leader" ] && kill -RTMIN+4 "$leader" 2>/dev/null
		wait_until 60 eval '! kill -0 "$nspawn" 2>/dev/null' ||
		    { kill -KILL "$leader" "$nspawn" 2>/dev/null; sleep 1; }
	fi
	rm -rf --one-file-system "$dir"
}
trap cleanup EXIT

# ct COMMAND...: COMMAND inside the booted container, in all of its
# namespaces, with a clean environment.
ct()
{
	nsenter -t "$leader" -m -u -i -n -p -- \
	    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

# in_service USER COMMAND...: COMMAND as USER, in the mount namespace of
# calsync.service's main process: the system as the service sees it.
in_service()
{
	local user=$1 pid
	shift
	pid=$(ct systemctl show -P MainPID calsync.service)
	[ -n "$pid" ] && [ "$pid" != 0 ] || { echo "calsync.service has no main process" >&2; return 1; }
	ct nsenter -t "$pid" -m -S "$(ct id -u "$user")" -G "$(ct id -g "$user")" -- "$@"
}

# sql QUERY: one value (or |-separated rows) from the container's database.
sql()
{
	ct runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d ga_personal -c "$1"
}

# --- the package, and a root with what it and the test need
deb=$(deb_build "$tarball" "$dir" 2>"$dir/why")
rc=$?
t_is "the .deb, built from the dist tarball" "$rc" 0
[ "$rc" = 0 ] || { sed 's/^/# /' "$dir/why"; t_done; exit 1; }
# What the package depends on (first of each alternative, no versions),
# installed before the boot: inside, the network is private.
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[|(].*//; s/[[:space:]]//g' | paste -sd,)
include=systemd,systemd-sysv,dbus,postgresql,nginx-light,openssl,curl,ca-certificates,procps,$depends
t0=$(date +%s)
debootstrap --variant=minbase --include="$include" bookworm "$root" "$MIRROR" \
    >"$dir/debootstrap.log" 2>&1
rc=$?
t_is "debootstrap bookworm: exit 0" "$rc" 0
[ "$rc" = 0 ] || { tail -n 20 "$dir/debootstrap.log" | sed 's/^/# /'; t_done; exit 1; }
echo "# debootstrap: $(($(date +%s) - t0)) s"

# What the test brings in: the package, a certificate for $HOST (where
# certbot would put it), and a sender that signs and posts as Cal.com does.
mkdir -p "$root/root/work" "$root/etc/letsencrypt/live/$HOST"
cp "$deb" "$root/root/work/"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$HOST" \
    -addext "subjectAltName=DNS:$HOST" \
    -keyout "$root/etc/letsencrypt/live/$HOST/privkey.pem" \
    -out "$root/etc/letsencrypt/live/$HOST/fullchain.pem" >"$dir/openssl.log" 2>&1 ||
    t_bail "openssl could not make a certificate"
cat >"$root/root/work/send" <<EOF
#!/bin/bash
# send SECRET FILE...: each FILE signed with SECRET and posted through
# nginx and TLS, as Cal.com does; a line "FILE STATUS" each.
secret=\$1
shift
for f; do
	sig=\$(openssl dgst -sha256 -hmac "\$secret" -r <"\$f")
	status=\$(curl -sS --http1.1 -H 'Expect:' \\
	    --cacert /etc/letsencrypt/live/$HOST/fullchain.pem \\
	    --resolve $HOST:443:127.0.0.1 \\
	    -H 'Content-Type: application/json' -H "X-Cal-Signature-256: \${sig%% *}" \\
	    --data-binary "@\$f" -o /dev/null -w '%{http_code}' \\
	    https://$HOST/api/v1/webhooks/calcom) || status=000
	echo "\$f \$status"
done
EOF
chmod 755 "$root/root/work/send"

# bodies NAME COUNT: COUNT fresh bookings in /root/work/NAME/, one a
# day apart; their paths inside the container, one a line.
bodies()
{
	local i f
	mkdir -p "$root/root/work/$1"
	for i in $(seq "$2"); do
		f=$(STACK_DIR=$root/root/work/$1 body created \
		    START="2027-01-$(printf %02d $((1 + i % 28)))T10:00:00Z" \
		    END="2027-01-$(printf %02d $((1 + i % 28)))T11:00:00Z")
		printf '%s\n' "${f#"$root"}"
	done
}

# --- boot
systemd-nspawn --boot --keep-unit --register=no --private-network -D "$root" \
    </dev/null >"$dir/boot.log" 2>&1 &
nspawn=$!
leader_pid()
{
	leader=$(grep -lx "PPid:[[:space:]]*$nspawn" /proc/[0-9]*/status 2>/dev/null |
	    head -n 1 | cut -d/ -f3)
	[ -n "$leader" ]
}
wait_until 30 leader_pid || { tail -n 20 "$dir/boot.log" | sed 's/^/# /'; t_bail "systemd-nspawn started no container"; }
booted()
{
	case $(ct systemctl is-system-running 2>/dev/null) in
	running|degraded) return 0 ;;
	esac
	return 1
}
t_ok "the container boots, systemd as PID 1" wait_until 120 booted
t_is "... and is running, no unit failed" "$(ct systemctl is-system-running)" running
t_is "PID 1 inside is systemd" "$(ct cat /proc/1/comm)" systemd
t_is "only loopback inside" "$(ct ls /sys/class/net)" lo

# --- install and configure, as README says
t_ok "dpkg -i installs the package" ct dpkg -i "/root/work/${deb##*/}"
t_is "calsync.socket: enabled and listening, calsync.service not started" \
    "$(ct systemctl is-active calsync.socket calsync.service | paste -sd' ')" "active inactive"
# The database (README: The database): the schema, calsync's objects, a
# trainer and students, and the calsync role allowed to log in.
secret=systemd-secret-$RANDOM$RANDOM
password=pw$RANDOM$RANDOM
ct runuser -u postgres -- createdb ga_personal &&
for f in ga_personal.sql calsync.sql dev-seed.sql; do
	ct runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d ga_personal \
	    -f "/usr/share/calsync/sql/$f" >>"$dir/sql.log" 2>&1 || break
done
t_ok "sql/ loaded in the container's PostgreSQL" \
    sql "ALTER ROLE calsync LOGIN PASSWORD '$password'"
# Deploying on a Debian VM, steps 1 to 3.
ct sed -i "s|^#DATABASE_URL=.*|DATABASE_URL=postgresql://calsync:$password@127.0.0.1/ga_personal|" \
    /etc/calsync/calsync.env
ct sh -c "install -m 640 -g calsync /dev/null /etc/calsync/webhook-secret &&
    install -m 640 -g calsync /dev/null /etc/calsync/webhook-secret-previous &&
    printf '%s\n' '$secret' >/etc/calsync/webhook-secret"
t_like "calsyncctl check, as README runs it" \
    "$(ct sh -c 'set -a; . /etc/calsync/calsync.env; set +a;
        CALCOM_WEBHOOK_SECRET_FILE=/etc/calsync/webhook-secret calsyncctl check' 2>&1)" 'ok'
# nginx/calsync.conf as shipped: the certificate is where it looks.
ct sh -c 'cp /usr/share/calsync/nginx/calsync-fastcgi.conf /etc/nginx/snippets/ &&
    cp /usr/share/calsync/nginx/calsync.conf /etc/nginx/sites-available/calsync &&
    ln -s ../sites-available/calsync /etc/nginx/sites-enabled/ &&
    nginx -t -q && systemctl reload nginx' >"$dir/nginx.log" 2>&1
t_is "nginx -t and reload with calsync.conf" "$?" 0

# --- the first request starts calsync.service
first=$(bodies first 1)
t_like "the first delivery through nginx: 200" "$(ct /root/work/send "$secret" "$first")" ' 200$'
t_is "calsync.socket started calsync.service" "$(ct systemctl is-active calsync.service)" active
uid=$(json_field "$root$first" uid)
echo "$uid" >"$dir/first.answered"
t_is "... and the booking is in PostgreSQL" \
    "$(sql "SELECT count(*) FROM calsync.bookings WHERE uid = '$uid'")" 1
t_like "the service's main process is calsync, as user calsync" \
    "$(ct ps -o user=,comm= -p "$(ct systemctl show -P MainPID calsync.service)")" '^calsync +calsync$'

# --- the sandbox
out=$(ct systemd-analyze security calsync.service 2>&1)
score=$(sed -n 's/^.*Overall exposure level for calsync.service: \([0-9.]*\).*$/\1/p' <<<"$out")
echo "# systemd-analyze security calsync.service: exposure $score"
t_ok "exposure at most 2.0 (got ${score:-none})" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
# calsyncctl reconcile's units, as the package installs them: the timer
# left off (it needs an API key first), both verified, the service's
# sandbox scored like calsync's.
t_is "calsync-reconcile.timer installed, not enabled" \
    "$(ct systemctl is-enabled calsync-reconcile.timer)" disabled
t_is "calsync-reconcile.service and .timer: systemd-analyze verify says nothing" \
    "$(ct systemd-analyze verify --man=no calsync-reconcile.service calsync-reconcile.timer 2>&1)" ""
t_is "calsync-reconcile.timer: hourly, a missed run made up at boot" \
    "$(ct systemctl show -P TimersCalendar calsync-reconcile.timer | grep -c 'OnCalendar=.*-\*-\* \*:00:00') $(ct systemctl show -P Persistent calsync-reconcile.timer)" \
    "1 yes"
t_like "calsync-reconcile.service: calsyncctl reconcile --since 26h" \
    "$(ct systemctl show -P ExecStart calsync-reconcile.service)" 'calsyncctl reconcile --since 26h'
out=$(ct systemd-analyze security calsync-reconcile.service 2>&1)
rscore=$(sed -n 's/^.*Overall exposure level for calsync-reconcile.service: \([0-9.]*\).*$/\1/p' <<<"$out")
echo "# systemd-analyze security calsync-reconcile.service: exposure $rscore"
t_ok "calsync-reconcile.service: exposure at most 2.0 (got ${rscore:-none})" \
    awk -v s="$rscore" 'BEGIN { exit !(s != "" && s <= 2.0) }'
# Probed as root, whom no permission stops: only the mounts do.  Among
# them where calsync's user could write but for the sandbox: its spool in
# /var/spool (calsync's, 0700), /dev/shm, /dev/mqueue.
t_ok "in the service, as calsync: its StateDirectory /var/lib/calsync is writable" \
    in_service calsync sh -c ': >/var/lib/calsync/probe && rm /var/lib/calsync/probe'
for d in / /etc /etc/calsync /usr /var /var/lib /var/spool/calsync /var/log /run /run/calsync /run/lock /dev/shm /dev/mqueue /root /home; do
	out=$(in_service root sh -c ": >$d/probe" 2>&1)
	t_like "in the service, as root: $d is read-only" "$out" 'Read-only file system'
done
t_ok "in the service: /tmp and /var/tmp are writable, but its own (PrivateTmp)" \
    in_service calsync sh -c ': >/var/tmp/calsync-probe && : >/tmp/calsync-probe'
t_ok "... not the system's" ct sh -c '! [ -e /tmp/calsync-probe ] && ! [ -e /var/tmp/calsync-probe ]'

# --- load: deliveries four at a time, through nginx, while systemd acts
# load_start NAME SECRET: N fresh bookings signed with SECRET, sent by four
# senders in the background.
load_start()
{
	local name=$1 secret=$2 k
	bodies "$name" "$N" >"$dir/$name.bodies"
	split -n r/4 "$dir/$name.bodies" "$dir/$name.part."
	senders=()
	for k in "$dir/$name".part.*; do
		mapfile -t files <"$k"
		ct /root/work/send "$secret" "${files[@]}" >"$k.out" &
		senders+=($!)
	done
}

# load_end NAME: wait for the senders; then, once the spool is empty, the
# counts side by side, and the checks that nothing was lost.
load_end()
{
	local name=$1 sent answered once spooled
	wait "${senders[@]}"
	cat "$dir/$name".part.*.out >"$dir/$name.results"
	wait_until 30 eval '[ -z "$(ct ls -A /var/lib/calsync)" ]'
	spooled=$(ct ls -A /var/lib/calsync | wc -l)
	while read -r f status; do
		[[ $status == 2* ]] && json_field "$root$f" uid
	done <"$dir/$name.results" | sort >"$dir/$name.answered"
	sql "SELECT uid FROM calsync.deliveries WHERE outcome = 'applied'
	    GROUP BY uid HAVING count(*) = 1" | sort >"$dir/applied-once"
	sent=$(wc -l <"$dir/$name.bodies")
	answered=$(wc -l <"$dir/$name.answered")
	once=$(comm -12 "$dir/$name.answered" "$dir/applied-once" | wc -l)
	echo "# $name: sent $sent, answered 2xx $answered, applied once $once, left in the spool $spooled (at $(($(date +%s) - started)) s)"
	awk '$2 !~ /^2/ { print "# not 2xx: " $0 }' "$dir/$name.results" | head -n 5
	t_is "$name: every delivery answered 2xx" "$answered" "$sent"
	t_is "$name: each applied once" "$once" "$sent"
}

# Unit messages of systemd about calsync.service that mean it was not
# stopped cleanly.
unclean()
{
	ct journalctl -u calsync.service -o cat --no-pager |
	    grep -E 'Failed with result|State .stop-sigterm. timed out|Killing process|Main process exited, code=(killed|dumped|exited, status=[1-9])'
}

# --- the secret rotated by systemctl reload, under load (README,
# Rotating the webhook secret)
new_secret=systemd-next-$RANDOM$RANDOM
load_start rotation "$secret"
sleep 1
ct sh -c "printf '%s\n' '$secret' >/etc/calsync/webhook-secret-previous &&
    printf '%s\n' '$new_secret' >/etc/calsync/webhook-secret"
t_ok "systemctl reload calsync.service, during the load" ct systemctl reload calsync.service
load_end rotation
load_start rotated "$new_secret"
load_end rotated
# workers: the pids of calsync's workers (its notifier is calsync-notify).
workers()
{
	ct ps -o pid=,comm= --ppid "$(ct systemctl show -P MainPID calsync.service)" |
	    awk '$2 == "calsync" { print $1 }'
}
# gone PID...: none of them is running.
gone()
{
	local p
	for p; do
		ct test -d "/proc/$p" && return 1
	done
	return 0
}
before=$(workers)
ct sh -c ': >/etc/calsync/webhook-secret-previous' && ct systemctl reload calsync.service
# Each worker is replaced once it has finished what it had: until then
# one may still hold the previous secret.
t_ok "the reload replaced every worker" wait_until 30 gone $before
stale=$(bodies stale 1)
t_like "the previous secret emptied and reloaded: the old signature is refused (401)" \
    "$(ct /root/work/send "$secret" "$stale")" ' 401$'
t_like "... the new one verifies" "$(ct /root/work/send "$new_secret" "$stale")" ' 200$'
json_field "$root$stale" uid >"$dir/stale.answered"
old_secret=$secret secret=$new_secret

# --- systemctl stop, then restart, under load
invocation=$(ct systemctl show -P InvocationID calsync.service)
load_start stop "$secret"
sleep 1
t_ok "systemctl stop calsync.service, during the load" ct systemctl stop calsync.service
load_end stop
t_not "stop: calsync exited 0 in time, nothing killed" unclean
# The load may be over before the stop lands: a delivery after it, then.
after=$(bodies after-stop 1)
t_like "a delivery after the stop: 200" "$(ct /root/work/send "$secret" "$after")" ' 200$'
json_field "$root$after" uid >"$dir/after-stop.answered"
t_not "... the socket started calsync.service again for it" \
    test "$(ct systemctl show -P InvocationID calsync.service)" = "$invocation"
load_start restart "$secret"
sleep 1
t_ok "systemctl restart calsync.service, during the load" ct systemctl restart calsync.service
load_end restart
t_not "restart: calsync exited 0 in time, nothing killed" unclean
t_is "calsync said it stopped, after its workers, each time" \
    "$(ct journalctl -u calsync.service -o cat --no-pager | grep -c ' msg="stopped"$')" 2

# --- the journal: one logfmt line a request, nothing secret, no email
ct journalctl -u calsync.service -o cat --no-pager >"$dir/journal"
grep ' event=request .* status=2' "$dir/journal" | sed -n 's/.* uid=\([^ ]*\) .*/\1/p' | sort >"$dir/logged"
cat "$dir"/*.answered | sort >"$dir/all-answered"
t_like "journalctl -u calsync: logfmt lines" "$(grep ' event=request ' "$dir/journal" | head -n 1)" \
    '^time=[0-9T:.-]+Z level=info prog=calsync pid=[0-9]+ event=request id=[0-9a-f]+ .* status=200 '
t_is "journalctl -u calsync: one line for each request answered 2xx" \
    "$(comm -3 <(sort -u "$dir/logged") "$dir/all-answered" | wc -l) $(uniq -d "$dir/logged" | wc -l)" "0 0"
ct journalctl -o cat --no-pager >"$dir/all-journal"
t_absent "the journal holds no secret" -F -e "$old_secret" -e "$secret" -e "$password" -- "$dir/all-journal"
t_absent "... and no student's email" -F -i -e ana@example.com -- "$dir/all-journal"

# --- -l syslog: to journald's /dev/log, a syslog daemon like any other
ct sh -c 'mkdir -p /etc/systemd/system/calsync.service.d &&
    printf "[Service]\nExecStart=\nExecStart=/usr/bin/calsync -l syslog -w 4\n" \
        >/etc/systemd/system/calsync.service.d/syslog.conf &&
    systemctl daemon-reload && systemctl restart calsync.service'
load_start syslog "$secret"
load_end syslog
# syslog_lines [FIELD=VALUE...]: what calsync sent to syslog, one a line.
syslog_lines()
{
	ct journalctl _TRANSPORT=syslog SYSLOG_IDENTIFIER=calsync "$@" -o cat --no-pager
}
syslog_lines >"$dir/syslog"
grep ' event=request ' "$dir/syslog" | sed -n 's/.* uid=\([^ ]*\) .*/\1/p' | sort >"$dir/syslog.logged"
t_is "syslog: one line for each request, tagged calsync" \
    "$(comm -3 "$dir/syslog.logged" "$dir/syslog.answered" | wc -l) $(wc -l <"$dir/syslog.logged")" "0 $N"
t_like "syslog: logfmt, syslog stamping time and pid" "$(grep -m 1 ' event=request ' "$dir/syslog")" \
    '^level=info event=request id=[0-9a-f]+ .* status=200 '
t_is "syslog: every line with facility daemon" "$(syslog_lines SYSLOG_FACILITY=3 | wc -l)" "$(wc -l <"$dir/syslog")"
t_is "syslog: request lines at priority info" "$(syslog_lines PRIORITY=6 | grep -c ' event=request ')" "$N"
t_is "syslog: with calsync's pid" \
    "$(ct journalctl _TRANSPORT=syslog SYSLOG_IDENTIFIER=calsync -o export --no-pager | grep -c '^SYSLOG_PID=[0-9]')" \
    "$(wc -l <"$dir/syslog")"
t_is "syslog: nothing of the load on stderr" \
    "$(ct journalctl -u calsync.service _TRANSPORT=stdout -o cat --no-pager | grep -cFf "$dir/syslog.answered")" 0
t_absent "syslog: no secret" -F -e "$secret" -e "$password" -- "$dir/syslog"
t_absent "syslog: no student's email" -F -i -e ana@example.com -- "$dir/syslog"

echo "# cost: $(($(date +%s) - started)) s"
t_done
