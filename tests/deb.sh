#!/bin/bash
# tests/deb.sh: the Debian package.  Builds it from the dist tarball with
# dpkg-buildpackage, installs it on this machine with dpkg -i, checks what
# landed, and purges it again.  Needs root, dpkg-dev and debhelper; slow,
# so run by "make deb-check", not by make check.
set -u
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/debbuild.sh"

t_require "needs root: the test installs the package" test "$(id -u)" = 0
for p in dpkg-buildpackage dh; do
	command -v "$p" >/dev/null || t_bail "no $p: apt-get install dpkg-dev debhelper"
done
if dpkg-query -W -f='${Status}' calsync 2>/dev/null | grep -q 'installed'; then
	t_bail "a calsync package is installed already; this test would replace it"
fi
tarball=${CALSYNC_TARBALL:-}
[ -r "$tarball" ] || t_bail "CALSYNC_TARBALL must name the dist tarball (make deb-check sets it)"

dir=$(mktemp -d /tmp/calsync-deb.XXXXXX) || t_bail "mktemp failed"
installed=0
# The package keeps its system user on purge (Debian reuses no ids); one
# this test made goes with the test, so the machine is left as found.
had_user=0
id calsync >/dev/null 2>&1 && had_user=1
cleanup()
{
	[ "$installed" = 1 ] && dpkg -P calsync >/dev/null 2>&1
	[ "$had_user" = 1 ] || deluser --system --quiet calsync >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

# dpkg waits for no one: another apt or dpkg run on this machine holds the
# lock for a while, so try again for up to two minutes.
dpkg_retry()
{
	local i
	for i in $(seq 40); do
		if dpkg "$@" >"$dir/dpkg.log" 2>&1; then
			return 0
		fi
		grep -q 'lock' "$dir/dpkg.log" || break
		sleep 3
	done
	sed 's/^/# /' "$dir/dpkg.log"
	return 1
}

# --- build: the artefacts land beside the source, all inside $dir
deb=$(deb_build "$tarball" "$dir" 2>"$dir/why")
rc=$?
t_is "dpkg-buildpackage -us -uc -b: a .deb" "$rc" 0
[ "$rc" = 0 ] || { sed 's/^/# /' "$dir/why"; t_done; exit 1; }
t_like "Depends: the libraries it links, and adduser" \
    "$(dpkg-deb -f "$deb" Depends)" 'adduser.*libcurl4.*libfcgi0ldbl.*libjson-c5.*libpq5.*libssl3'

# --- install
t_ok "dpkg -i installs it" dpkg_retry -i "$deb"
installed=1
files=$(dpkg -L calsync)
for f in /usr/bin/calsync /usr/bin/calsyncctl \
    /usr/share/man/man8/calsync.8.gz /usr/share/man/man8/calsyncctl.8.gz \
    /usr/share/calsync/sql/calsync.sql /usr/share/calsync/sql/ga_personal.sql \
    /usr/share/calsync/sql/tables.sql /usr/share/calsync/sql/migrations/001-tables.sql \
    /usr/share/calsync/nginx/calsync.conf /usr/share/calsync/nginx/calsync-fastcgi.conf \
    /usr/share/calsync/apache/calsync.conf /usr/share/calsync/apache/method-not-allowed.asis \
    /lib/systemd/system/calsync.socket /lib/systemd/system/calsync.service \
    /lib/systemd/system/calsync-reconcile.service \
    /lib/systemd/system/calsync-reconcile.timer \
    /etc/calsync/calsync.env; do
	t_ok "dpkg -L: $f" grep -qx "$f" <<<"$files"
	t_ok "on disk: $f" test -e "$f"
done
# calsync.sql reads the files beside it (\ir), and tables.sql its
# migrations: each one named must be installed where it is read from.
reads=$(grep -H '^\\ir ' /usr/share/calsync/sql/*.sql | sed 's/:\\ir / /')
t_like "the installed SQL reads its parts and migrations" \
    "$(wc -l <<<"$reads")" '^[1-9][0-9]+$'
missing=
while read -r from part; do
	[ -r "$(dirname "$from")/$part" ] || missing="$missing $part"
done <<<"$reads"
t_is "... and every one is installed beside it" "$missing" ""
t_like "conffile: /etc/calsync/calsync.env" \
    "$(dpkg-query -W -f='${Conffiles}' calsync)" '^ /etc/calsync/calsync.env [0-9a-f]{32}$'
t_is "/etc/calsync/calsync.env: root's, mode 600" \
    "$(stat -c '%U:%G %a' /etc/calsync/calsync.env)" "root:root 600"
t_like "calsync.env: DATABASE_URL, commented out" \
    "$(cat /etc/calsync/calsync.env)" '^#DATABASE_URL=postgresql://'
t_like "calsync.env: says where the secret goes" \
    "$(cat /etc/calsync/calsync.env)" '/etc/calsync/webhook-secret'

# --- the user
pw=$(getent passwd calsync)
t_like "user calsync exists" "$pw" '^calsync:'
uid=$(cut -d: -f3 <<<"$pw")
t_ok "calsync is a system user (uid $uid < 1000)" test "$uid" -lt 1000
t_like "calsync has no login shell" "$(cut -d: -f7 <<<"$pw")" 'nologin|false'
t_is "group calsync exists and is its group" "$(id -gn calsync)" calsync
t_ok "dpkg -L: /var/spool/calsync" grep -qx /var/spool/calsync <<<"$files"
t_is "/var/spool/calsync, the default spool: calsync's, 0700" \
    "$(stat -c '%U:%G %a' /var/spool/calsync 2>&1)" "calsync:calsync 700"
t_like "calsync's default spool is /var/spool/calsync" \
    "$(strings /usr/bin/calsync | grep spool/calsync)" '^/var/spool/calsync$'

# --- the units as installed
t_like "calsync.service runs /usr/bin/calsync" \
    "$(sed -n 's/^ExecStart=//p' /lib/systemd/system/calsync.service)" '^/usr/bin/calsync -w 4$'
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify /lib/systemd/system/calsync.socket \
	    /lib/systemd/system/calsync.service \
	    /lib/systemd/system/calsync-reconcile.service \
	    /lib/systemd/system/calsync-reconcile.timer 2>&1)
	t_is "systemd-analyze verify on the installed units: nothing to say" "$out" ""
fi
t_ok "calsync.socket is enabled" test -L /etc/systemd/system/sockets.target.wants/calsync.socket
t_like "calsync-reconcile.service runs /usr/bin/calsyncctl reconcile" \
    "$(sed -n 's/^ExecStart=//p' /lib/systemd/system/calsync-reconcile.service)" \
    '^/usr/bin/calsyncctl reconcile --since 26h$'
t_not "calsync-reconcile.timer is not enabled (it needs an API key first)" \
    test -L /etc/systemd/system/timers.target.wants/calsync-reconcile.timer
t_ok "the Apache site finds its 405 document where the package put it" \
    grep -q '^	Define CALSYNC_SHARE /usr/share/calsync/apache$' /usr/share/calsync/apache/calsync.conf

# --- the programs
out=$(env -i PATH=/usr/bin:/bin /usr/bin/calsync 2>&1)
rc=$?
t_is "calsync without configuration: exit 1" "$rc" 1
t_is "... and one line" "$(printf '%s\n' "$out" | wc -l)" 1
t_like "... saying what to set" "$out" '^calsync: DATABASE_URL is not set'
out=$(/usr/bin/calsync -h 2>&1)
t_like "calsync -h: the usage line" "$out" '^usage: calsync \[-l stderr\|syslog\] \[-s socket\] \[-w workers\] \[-u user\] \[-g group\]$'
out=$(/usr/bin/calsyncctl 2>&1)
rc=$?
t_is "calsyncctl without a command: exit 2" "$rc" 2
t_like "... with its usage" "$out" '^usage: calsyncctl sign FILE\|-'
if command -v man >/dev/null; then
	t_like "man finds calsync(8)" "$(man -w 8 calsync 2>&1)" '/usr/share/man/man8/calsync\.8\.gz$'
fi

# --- purge
t_ok "dpkg -P removes it" dpkg_retry -P calsync
installed=0
t_not "no /usr/bin/calsync left" test -e /usr/bin/calsync
t_not "no /etc/calsync/calsync.env left" test -e /etc/calsync/calsync.env
t_not "no /var/spool/calsync left (it was empty)" test -e /var/spool/calsync
t_not "calsync.socket no longer enabled" test -L /etc/systemd/system/sockets.target.wants/calsync.socket

t_done
