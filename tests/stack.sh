# shellcheck shell=bash
# tests/stack.sh: start and stop calsync's whole stack on loopback -- a
# throwaway PostgreSQL cluster, calsync on a unix socket, nginx with TLS in
# front -- for the end-to-end tests and tools/up.  Source it, do not run it:
#
#	. "$top_srcdir/tests/stack.sh"
#	trap stack_stop EXIT
#	stack_start 2 || exit 1
#	stack_post booking.json		# -> "200 {...}"
#	stack_psql -c 'SELECT count(*) FROM public.appointments'
#
# Every function returns 1 after a one-line reason on stderr (and the tail of
# the log that explains it); none calls exit, so it is safe under set -e and
# without it.  Everything the stack writes is inside STACK_DIR.

_stack_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_stack_fail()
{
	echo "stack: $*" >&2
	return 1
}

# Show the end of a log, because "failed" alone does not say why.
_stack_tail()
{
	[ -s "$1" ] || return 0
	echo "stack: --- last lines of $1:" >&2
	tail -n 25 "$1" >&2
}

_stack_root()
{
	[ "$(id -u)" = 0 ]
}

# PostgreSQL programs refuse to run as root: as root, run them as the
# postgres system user, from / because root's own cwd may be closed to it.
_stack_as_pg()
{
	if _stack_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# True while the process runs; a zombie counts as gone (a child of this
# shell stays a zombie until it is waited for).
_stack_alive()
{
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# A pid read back from a file may have been reused since: only signal a
# process one of whose command words is the program we started (a wrapper
# such as valgrind puts it after its own name).
_stack_is()
{
	local words w
	read -ra words < <({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)
	for w in "${words[@]}"; do
		[ "${w##*/}" = "$2" ] && return 0
	done
	return 1
}

# The pids whose parent is $1 (without ps: procps may not be installed).
_stack_children()
{
	grep -lx "PPid:[[:space:]]*$1" /proc/[0-9]*/status 2>/dev/null |
	    sed 's|^/proc/\([0-9]*\)/status$|\1|'
}

# The supervisor's workers, and its notifier (named calsync-notify).
stack_workers()
{
	local pid
	for pid in $(_stack_children "$CALSYNC_PID"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = calsync-notify ] ||
		    echo "$pid"
	done | sort
}

stack_notifier()
{
	local pid
	for pid in $(_stack_children "$CALSYNC_PID"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != calsync-notify ] ||
		    echo "$pid"
	done
}

# Sets _stack_port to a TCP port nothing on this machine uses (listening or
# connected, any address), and that this start has not handed out yet.
# Another program may still take it before we bind: callers retry on
# "address in use".
_stack_free_port()
{
	local used hex
	used=$(awk 'FNR > 1 { n = split($2, a, ":"); print a[n] }' \
	    /proc/net/tcp /proc/net/tcp6 2>/dev/null)
	for _ in $(seq 100); do
		_stack_port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		hex=$(printf '%04X' "$_stack_port")
		case " $_stack_taken " in *" $_stack_port "*) continue ;; esac
		grep -qx "$hex" <<<"$used" && continue
		_stack_taken="$_stack_taken $_stack_port"
		return 0
	done
	_stack_fail "no free TCP port found in 20000-59999"
}

# stack_free_port: set STACK_FREE_PORT to a port as _stack_free_port picks
# them, for a server a test adds in front of the stack (tests/apache.sh).
stack_free_port()
{
	_stack_free_port && STACK_FREE_PORT=$_stack_port
}

# STACK_DIR: the caller's if it names an empty or new directory, else a new
# temporary one.  Traversable (755) by postgres and www-data, which run
# parts of the stack when we are root.
_stack_make_dir()
{
	_stack_made_tmp=0
	if [ -n "${STACK_DIR:-}" ]; then
		if [ -e "$STACK_DIR" ] && [ -n "$(ls -A "$STACK_DIR" 2>/dev/null)" ]; then
			_stack_fail "STACK_DIR=$STACK_DIR is not empty; remove it or unset STACK_DIR"
			return 1
		fi
		mkdir -p "$STACK_DIR" || { _stack_fail "cannot create STACK_DIR=$STACK_DIR"; return 1; }
	else
		STACK_DIR=$(mktemp -d /tmp/calsync-stack.XXXXXX) ||
		    { _stack_fail "mktemp failed"; return 1; }
		_stack_made_tmp=1
	fi
	STACK_DIR=$(cd "$STACK_DIR" && pwd)
	case "$STACK_DIR" in
	*[[:space:]]*)
		# nginx.conf and postgresql.conf would need quoting everywhere.
		_stack_fail "STACK_DIR must not contain white space: $STACK_DIR"
		return 1 ;;
	esac
	chmod 755 "$STACK_DIR" || return 1
	# stack_stop removes only a directory that carries this mark.
	: >"$STACK_DIR/.calsync-stack"
	export STACK_DIR
}

_stack_check_access()
{
	local u
	_stack_root || return 0
	for u in postgres www-data; do
		runuser -u "$u" -- test -x "$STACK_DIR" ||
		    { _stack_fail "user $u cannot reach $STACK_DIR (a parent directory is closed to it); unset STACK_DIR, or name one under /tmp or /var/lib"; return 1; }
	done
}

_stack_psql_super()
{
	"$_stack_pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"
}

# Debian installs each major version side by side and PATH has only
# wrappers: take the newest installed server's own programs.
_stack_find_pgbin()
{
	_stack_pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[ -x "$_stack_pgbin/initdb" ] ||
	    { _stack_fail "no /usr/lib/postgresql/*/bin/initdb (run tools/deps)"; return 1; }
}

_stack_init_pg()
{
	local loc
	_stack_find_pgbin || return 1

	mkdir -m 700 "$STACK_DIR/pg" && mkdir -m 700 "$STACK_DIR/pg-socket" &&
	    : >"$STACK_DIR/postgres.log" || return 1
	if _stack_root; then
		chown postgres: "$STACK_DIR/pg" "$STACK_DIR/pg-socket" "$STACK_DIR/postgres.log" || return 1
	fi
	loc=C
	if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
		loc=C.UTF-8
	fi
	# --no-sync: the cluster lives for one test run.
	_stack_as_pg "$_stack_pgbin/initdb" -D "$STACK_DIR/pg" -A trust -U postgres \
	    --encoding=UTF8 --locale="$loc" --no-sync \
	    >"$STACK_DIR/initdb.log" 2>&1 ||
	    { _stack_fail "initdb failed"; _stack_tail "$STACK_DIR/initdb.log"; return 1; }
	# TCP on loopback only, like calsync will connect; the unix socket
	# stays inside STACK_DIR instead of the system's /run/postgresql.
	cat >>"$STACK_DIR/pg/postgresql.conf" <<-EOF

	# tests/stack.sh
	listen_addresses = '127.0.0.1'
	unix_socket_directories = '$STACK_DIR/pg-socket'
	EOF
}

# The port goes on the command line, so a retry on another one is cheap.
# STACK_PG_OPTS, when set, adds server options there too (bench/run loads
# pg_stat_statements with it); unset, nothing changes.
_stack_run_pg()
{
	local log=$STACK_DIR/postgres.log
	for _ in 1 2 3; do
		_stack_free_port || return 1
		if _stack_as_pg "$_stack_pgbin/pg_ctl" -D "$STACK_DIR/pg" -l "$log" \
		    -w -t 60 -o "-p $_stack_port ${STACK_PG_OPTS:-}" start >"$STACK_DIR/pg_ctl.log" 2>&1; then
			PGPORT=$_stack_port
			return 0
		fi
		grep -q 'could not bind\|already in use' "$log" || break
	done
	_stack_fail "PostgreSQL did not start"
	_stack_tail "$STACK_DIR/pg_ctl.log"
	_stack_tail "$log"
	return 1
}

# The application's schema, calsync's own objects, then the dev users, in
# the order each builds on the one before.
_stack_load_sql()
{
	local f path
	_stack_psql_super -d postgres -c 'CREATE DATABASE ga_personal' ||
	    { _stack_fail "CREATE DATABASE ga_personal failed"; return 1; }
	for f in ga_personal.sql calsync.sql dev-seed.sql; do
		path=$top_srcdir/sql/$f
		[ -r "$path" ] || { _stack_fail "missing $path"; return 1; }
		_stack_psql_super -d ga_personal -f "$path" >>"$STACK_DIR/sql.log" 2>&1 ||
		    { _stack_fail "loading sql/$f failed"; _stack_tail "$STACK_DIR/sql.log"; return 1; }
	done
	# calsync.sql creates the role NOLOGIN: production grants login
	# (and a password) by hand.
	_stack_psql_super -d ga_personal -c 'ALTER ROLE calsync LOGIN' ||
	    { _stack_fail "ALTER ROLE calsync LOGIN failed"; return 1; }
}

_stack_start_pg()
{
	_stack_init_pg && _stack_run_pg && _stack_load_sql
}

_stack_stop_pg()
{
	[ -f "$STACK_DIR/pg/postmaster.pid" ] || return 0
	[ -n "${_stack_pgbin:-}" ] || _stack_find_pgbin || return 0
	_stack_as_pg "$_stack_pgbin/pg_ctl" -D "$STACK_DIR/pg" -m fast -w -t 30 stop \
	    >>"$STACK_DIR/pg_ctl.log" 2>&1 ||
	    { _stack_fail "pg_ctl stop failed"; _stack_tail "$STACK_DIR/pg_ctl.log"; }
	return 0
}

_stack_start_calsync()
{
	local workers=$1 args
	[ -x "$CALSYNC_BIN" ] || { _stack_fail "no calsync at $CALSYNC_BIN (build it: make)"; return 1; }
	args=(-s "$STACK_SOCKET" -w "$workers")
	# As root, calsync drops to www-data, which also owns its socket
	# (mode 0660) so that nginx's workers can connect.
	if _stack_root; then
		args+=(-u www-data)
	fi
	# A socket left by an earlier calsync stays: calsync replaces it.
	local started
	started=$(grep -c 'msg="started: ' "$STACK_DIR/calsync.log" 2>/dev/null)
	# CALSYNC_VALGRIND=1: the supervisor and every worker under memcheck,
	# one log each in valgrind/, read by stack_valgrind_errors.
	local wrap=()
	if [ -n "${CALSYNC_VALGRIND:-}" ]; then
		mkdir -p "$STACK_DIR/valgrind" && chmod 1777 "$STACK_DIR/valgrind"
		wrap=(valgrind -q --vgdb=no --leak-check=full --errors-for-leak-kinds=definite
		    --log-file="$STACK_DIR/valgrind/%p.log")
	fi
	# The spool keeps deliveries while PostgreSQL is away.
	mkdir -p "$STACK_DIR/spool"
	_stack_root && chown www-data "$STACK_DIR/spool"
	# The secret as production gives it: a file (SIGHUP reads it again).
	(umask 077 && printf '%s\n' "$STACK_SECRET" >"$STACK_DIR/webhook-secret")
	_stack_root && chown www-data "$STACK_DIR/webhook-secret"
	# STACK_DATABASE_URL, when set, is calsync's instead (tests/failover.sh
	# names a primary and its standby); psql still uses PGPORT.
	DATABASE_URL=${STACK_DATABASE_URL:-$DATABASE_URL} \
	    CALCOM_WEBHOOK_SECRET_FILE=$STACK_DIR/webhook-secret \
	    CALSYNC_SPOOL_DIR=$STACK_DIR/spool CALSYNC_SPOOL_INTERVAL=1 \
	    "${wrap[@]}" "$CALSYNC_BIN" "${args[@]}" </dev/null >>"$STACK_DIR/calsync.log" 2>&1 &
	CALSYNC_PID=$!
	_stack_my_calsync=$CALSYNC_PID
	echo "$CALSYNC_PID" >"$STACK_DIR/calsync.pid"
	export CALSYNC_PID
	# A stale socket from an earlier calsync may be there: wait for this
	# calsync's "started" line, which it logs once it listens.
	for _ in $(seq 100); do
		[ -S "$STACK_SOCKET" ] && [ "$(grep -c 'msg="started: ' \
		    "$STACK_DIR/calsync.log")" -gt "${started:-0}" ] && return 0
		if ! _stack_alive "$CALSYNC_PID"; then
			wait "$CALSYNC_PID" 2>/dev/null
			_stack_fail "calsync exited (status $?) before creating $STACK_SOCKET"
			_stack_tail "$STACK_DIR/calsync.log"
			return 1
		fi
		sleep 0.1
	done
	_stack_fail "calsync did not create $STACK_SOCKET within 10 s"
	_stack_tail "$STACK_DIR/calsync.log"
	return 1
}

# SIGTERM lets calsync finish the requests in hand; one that has not
# exited after 10 s is killed with its workers.
_stack_stop_calsync()
{
	local pid=${CALSYNC_PID:-} kids
	if [ -z "$pid" ]; then
		pid=$(cat "$STACK_DIR/calsync.pid" 2>/dev/null) || return 0
	fi
	# This shell's own child needs no check (it may be a wrapper that
	# exec'd something else); a pid from the file does.
	if [ "$pid" != "${_stack_my_calsync:-}" ] && _stack_alive "$pid" &&
	    ! _stack_is "$pid" calsync; then
		_stack_fail "pid $pid is no longer calsync; not signalling it"
	elif _stack_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 100); do
			_stack_alive "$pid" || break
			sleep 0.1
		done
		if _stack_alive "$pid"; then
			echo "stack: calsync (pid $pid) still running 10 s after SIGTERM; sending SIGKILL" >&2
			kids=$(_stack_children "$pid")
			# shellcheck disable=SC2086 # one word per pid
			kill -KILL "$pid" $kids 2>/dev/null
		fi
	fi
	# Reap it when this shell started it (else wait just fails).
	if ! _stack_alive "$pid"; then
		wait "$pid" 2>/dev/null
	fi
	rm -f "$STACK_DIR/calsync.pid"
	CALSYNC_PID=
	return 0
}

# A value made safe for the right-hand side of sed's s|||.
_stack_sed_quote()
{
	printf '%s' "$1" | sed 's/[\\|&]/\\&/g'
}

# Replace @NAME@ in loopback.conf.in.
_stack_nginx_conf()
{
	local https=$1 http=$2 user=''
	if _stack_root; then
		user='user www-data;'
	fi
	sed -e "s|@DIR@|$(_stack_sed_quote "$STACK_DIR/nginx")|g" \
	    -e "s|@HTTPS_PORT@|$https|g" \
	    -e "s|@HTTP_PORT@|$http|g" \
	    -e "s|@SOCKET@|$(_stack_sed_quote "$STACK_SOCKET")|g" \
	    -e "s|@CERT@|$(_stack_sed_quote "$STACK_CERT")|g" \
	    -e "s|@KEY@|$(_stack_sed_quote "$STACK_DIR/key.pem")|g" \
	    -e "s|@USER_DIRECTIVE@|$user|g" \
	    -e "s|@SNIPPET@|$(_stack_sed_quote "$STACK_DIR/nginx/calsync-fastcgi.conf")|g" \
	    "$top_srcdir/nginx/loopback.conf.in"
}

# A certificate for localhost and 127.0.0.1, valid two days: tests pass it
# to curl --cacert, so TLS is verified as Cal.com would verify it.
_stack_make_cert()
{
	STACK_CERT=$STACK_DIR/cert.pem
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	    -keyout "$STACK_DIR/key.pem" -out "$STACK_CERT" \
	    >"$STACK_DIR/openssl.log" 2>&1 ||
	    { _stack_fail "openssl could not make a certificate"; _stack_tail "$STACK_DIR/openssl.log"; return 1; }
	export STACK_CERT
}

# nginx binds before it daemonizes, so a port taken since we picked it
# shows as a failed start: try again with other ports.
_stack_run_nginx()
{
	local https http conf=$STACK_DIR/nginx/nginx.conf log=$STACK_DIR/nginx/start.log
	for _ in 1 2 3; do
		_stack_free_port || return 1
		https=$_stack_port
		_stack_free_port || return 1
		http=$_stack_port
		_stack_nginx_conf "$https" "$http" >"$conf" || return 1
		if ! /usr/sbin/nginx -t -p "$STACK_DIR/nginx/" -c "$conf" >"$log" 2>&1; then
			_stack_fail "nginx rejected $conf"
			_stack_tail "$log"
			return 1
		fi
		if /usr/sbin/nginx -p "$STACK_DIR/nginx/" -c "$conf" </dev/null >"$log" 2>&1; then
			STACK_URL=https://127.0.0.1:$https/api/v1/webhooks/calcom
			STACK_HTTP_URL=http://127.0.0.1:$http/api/v1/webhooks/calcom
			_stack_https_port=$https
			return 0
		fi
		grep -q 'already in use' "$log" || break
	done
	_stack_fail "nginx did not start"
	_stack_tail "$log"
	return 1
}

# Ready when its pid file is written and a request gets the expected 404.
_stack_wait_nginx()
{
	local code
	for _ in $(seq 100); do
		if [ -s "$STACK_DIR/nginx/nginx.pid" ]; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			    --cacert "$STACK_CERT" "https://127.0.0.1:$_stack_https_port/") || true
			if [ "$code" = 404 ]; then
				NGINX_PID=$(cat "$STACK_DIR/nginx/nginx.pid")
				export NGINX_PID
				return 0
			fi
		fi
		sleep 0.1
	done
	_stack_fail "nginx on port $_stack_https_port did not answer within 10 s (last status ${code:-none})"
	_stack_tail "$STACK_DIR/nginx/nginx-error.log"
	return 1
}

_stack_start_nginx()
{
	mkdir -p "$STACK_DIR/nginx" || return 1
	# A copy beside nginx.conf: a checkout's path may hold a blank, which
	# an include would need quoted.
	cp "$top_srcdir/nginx/calsync-fastcgi.conf" "$STACK_DIR/nginx/" || return 1
	_stack_make_cert && _stack_run_nginx && _stack_wait_nginx
}

# QUIT lets nginx finish what it is sending; TERM, then KILL, if it hangs.
_stack_stop_nginx()
{
	local pid=${NGINX_PID:-} sig
	if [ -z "$pid" ]; then
		pid=$(cat "$STACK_DIR/nginx/nginx.pid" 2>/dev/null) || return 0
	fi
	for sig in QUIT TERM KILL; do
		if ! _stack_alive "$pid" || ! _stack_is "$pid" nginx; then
			break
		fi
		[ "$sig" = QUIT ] || echo "stack: nginx (pid $pid) still running; sending SIG$sig" >&2
		kill -"$sig" "$pid" 2>/dev/null
		for _ in $(seq 50); do
			_stack_alive "$pid" || break
			sleep 0.1
		done
	done
	NGINX_PID=
	return 0
}

# What stack_load gives back to another shell (tools/up stop, a developer).
_stack_save()
{
	local v
	{
		for v in STACK_DIR PGHOST PGPORT PGUSER PGDATABASE STACK_SECRET \
		    STACK_SOCKET STACK_URL STACK_HTTP_URL STACK_CERT CALSYNC_PID \
		    NGINX_PID DATABASE_URL; do
			printf 'export %s=%q\n' "$v" "${!v}"
		done
		printf '_stack_pgbin=%q\n_stack_workers=%q\n' "$_stack_pgbin" "$_stack_workers"
	} >"$STACK_DIR/stack.env" && chmod 600 "$STACK_DIR/stack.env"
}

_stack_start_all()
{
	_stack_make_dir || return 1
	_stack_check_access || return 1

	STACK_SECRET=${STACK_SECRET:-calsync-test-secret}
	STACK_SOCKET=$STACK_DIR/calsync.sock
	PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=ga_personal
	export STACK_SECRET STACK_SOCKET PGHOST PGUSER PGDATABASE

	_stack_start_pg || return 1
	DATABASE_URL=postgresql://calsync@127.0.0.1:$PGPORT/ga_personal
	export PGPORT DATABASE_URL

	_stack_start_calsync "$_stack_workers" || return 1
	_stack_start_nginx || return 1
	export STACK_URL STACK_HTTP_URL
	_stack_save || _stack_fail "cannot write $STACK_DIR/stack.env"
}

# stack_prerequisites: say what this machine lacks to start a stack (one
# line, with the fix), or return 0 when it lacks nothing.
stack_prerequisites()
{
	local p
	if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
		echo "no PostgreSQL server (tools/deps installs it)"
		return 1
	fi
	[ -x /usr/sbin/nginx ] || { echo "no /usr/sbin/nginx (tools/deps installs nginx-light)"; return 1; }
	for p in openssl curl cgi-fcgi; do
		command -v "$p" >/dev/null || { echo "no $p (tools/deps installs it)"; return 1; }
	done
	if _stack_root && ! id postgres >/dev/null 2>&1; then
		echo "no postgres user to run PostgreSQL as (tools/deps installs postgresql)"
		return 1
	fi
	return 0
}

# stack_start [WORKERS]: start PostgreSQL, calsync with WORKERS workers
# (default 2) and nginx; export where each one is (see _stack_save).
stack_start()
{
	if [ -n "${CALSYNC_PID:-}" ] && _stack_alive "$CALSYNC_PID"; then
		_stack_fail "a stack is already running in $STACK_DIR; stack_stop first"
		return 1
	fi
	# make check exports these (relative, and different in a VPATH
	# build); by hand, both are the checkout this file is in.
	top_srcdir=$(cd "${top_srcdir:-$_stack_lib/..}" && pwd) || return 1
	top_builddir=$(cd "${top_builddir:-$_stack_lib/..}" && pwd) || return 1
	CALSYNC_BIN=${CALSYNC_BIN:-$top_builddir/src/calsync}
	_stack_workers=${1:-2}
	_stack_taken=
	_stack_pgbin=

	if ! _stack_start_all; then
		stack_stop
		return 1
	fi
}

# stack_stop: stop whatever stack_start started (also after a failed or
# partial start, from a trap, twice, or from another shell that only knows
# STACK_DIR), then remove STACK_DIR unless STACK_KEEP=1.
stack_stop()
{
	# Called as a condition, the whole body runs without set -e: a
	# signal to a process that just exited must not end a trap midway.
	_stack_stop_all || true
}

_stack_stop_all()
{
	[ -n "${STACK_DIR:-}" ] && [ -d "$STACK_DIR" ] || return 0
	_stack_stop_second_pool
	_stack_stop_calsync
	_stack_stop_nginx
	stack_pgbouncer_stop TERM
	_stack_stop_pg
	if [ "${STACK_KEEP:-0}" != 1 ] && [ -e "$STACK_DIR/.calsync-stack" ]; then
		rm -rf "$STACK_DIR"
		# A temporary directory is made anew by the next stack_start.
		if [ "${_stack_made_tmp:-0}" = 1 ]; then
			unset STACK_DIR
		fi
	fi
	return 0
}

# stack_restart_calsync [WORKERS]: a new calsync on the same socket,
# database and nginx (WORKERS defaults to the last count).
stack_restart_calsync()
{
	_stack_workers=${1:-${_stack_workers:-2}}
	_stack_stop_calsync || true
	_stack_start_calsync "$_stack_workers" || return 1
	_stack_save || _stack_fail "cannot write $STACK_DIR/stack.env"
}

# stack_stop_calsync: calsync away (nginx answers 502), until
# stack_restart_calsync.
stack_stop_calsync()
{
	_stack_stop_calsync
}

# stack_load [DIR]: take over the variables of a stack started by another
# shell (DIR defaults to STACK_DIR).
stack_load()
{
	local dir=${1:-${STACK_DIR:-}}
	[ -r "$dir/stack.env" ] || { _stack_fail "no running stack recorded in ${dir:-STACK_DIR}"; return 1; }
	# shellcheck disable=SC1091 # written by _stack_save
	. "$dir/stack.env"
}

# stack_psql [ARGS]: psql as superuser on the stack's database; unaligned,
# tuples only, stops at the first error.  Reads stdin without -c/-f.
stack_psql()
{
	"${_stack_pgbin:-/usr/bin}/psql" -XAtq -v ON_ERROR_STOP=1 \
	    -h 127.0.0.1 -p "$PGPORT" -U postgres -d ga_personal "$@"
}

# stack_sign FILE: the lowercase hex HMAC-SHA256 of FILE's bytes under
# STACK_SECRET, exactly Cal.com's X-Cal-Signature-256 value.
stack_sign()
{
	local out
	out=$(openssl dgst -sha256 -hmac "$STACK_SECRET" -r <"$1") ||
	    { _stack_fail "cannot sign $1"; return 1; }
	printf '%s\n' "${out%% *}"
}

# stack_post FILE [CURL ARGS]: POST FILE through nginx and TLS the way
# Cal.com does; print "STATUS BODY" on one line.  STACK_SIG, when set,
# replaces the signature (set and empty: no signature header at all).
stack_post()
{
	local file=$1 sig out status body
	shift
	if [ -n "${STACK_SIG+set}" ]; then
		sig=$STACK_SIG
	else
		sig=$(stack_sign "$file") || return 1
	fi
	# Cal.com's client (Node's fetch) speaks HTTP/1.1 and never sends
	# "Expect: 100-continue", which curl adds to large bodies.
	out=$(curl -sS --http1.1 --cacert "$STACK_CERT" -H 'Expect:' \
	    -H 'Content-Type: application/json' \
	    -H "X-Cal-Signature-256:${sig:+ $sig}" \
	    --data-binary "@$file" -w '\n%{http_code}' "$@" "$STACK_URL") ||
	    { echo "000 curl failed"; return 1; }
	status=${out##*$'\n'}
	body=${out%$'\n'*}
	body=${body%$'\n'}
	printf '%s %s\n' "$status" "${body//$'\n'/ }"
}

# For outage tests: take the database away, and bring it back on the same
# port, which calsync's DATABASE_URL names.
stack_pg_stop()
{
	_stack_stop_pg
}

stack_pg_start()
{
	_stack_as_pg "$_stack_pgbin/pg_ctl" -D "$STACK_DIR/pg" \
	    -l "$STACK_DIR/postgres.log" -w -t 60 -o "-p $PGPORT ${STACK_PG_OPTS:-}" start \
	    >"$STACK_DIR/pg_ctl.log" 2>&1 && return 0
	_stack_fail "PostgreSQL did not start again"
	_stack_tail "$STACK_DIR/postgres.log"
	return 1
}

# Under CALSYNC_VALGRIND=1: stop calsync (leaks are counted at exit) and
# print what memcheck found; nothing printed means clean.
stack_valgrind_errors()
{
	_stack_stop_calsync >&2 || true
	cat "$STACK_DIR"/valgrind/*.log 2>/dev/null
}

# stack_start_second_pool WORKERS: a second calsync pool on the stack's
# database, as a second host runs it: its own socket (STACK_SOCKET2),
# spool (spool2) and log (pool2.log), and no nginx: tests talk FastCGI to
# it.  STACK_DATABASE_URL, when set, is its database too.  stack_stop
# stops it.
stack_start_second_pool()
{
	STACK_SOCKET2=$STACK_DIR/pool2.sock
	mkdir -p "$STACK_DIR/spool2" || return 1
	DATABASE_URL=${STACK_DATABASE_URL:-$DATABASE_URL} \
	    CALCOM_WEBHOOK_SECRET=$STACK_SECRET \
	    CALSYNC_SPOOL_DIR=$STACK_DIR/spool2 CALSYNC_SPOOL_INTERVAL=1 \
	    "$CALSYNC_BIN" -s "$STACK_SOCKET2" -w "$1" </dev/null \
	    >>"$STACK_DIR/pool2.log" 2>&1 &
	_stack_pool2=$!
	export STACK_SOCKET2
	for _ in $(seq 100); do
		[ -S "$STACK_SOCKET2" ] && grep -q 'msg="started: ' \
		    "$STACK_DIR/pool2.log" && return 0
		_stack_alive "$_stack_pool2" || break
		sleep 0.1
	done
	_stack_fail "the second pool did not start on $STACK_SOCKET2"
	_stack_tail "$STACK_DIR/pool2.log"
	return 1
}

# SIGTERM, as for the first pool; this shell started it, so no pid check.
_stack_stop_second_pool()
{
	[ -n "${_stack_pool2:-}" ] || return 0
	kill -TERM "$_stack_pool2" 2>/dev/null
	for _ in $(seq 100); do
		_stack_alive "$_stack_pool2" || break
		sleep 0.1
	done
	# shellcheck disable=SC2046 # one word a pid
	kill -KILL "$_stack_pool2" $(_stack_children "$_stack_pool2") 2>/dev/null
	wait "$_stack_pool2" 2>/dev/null
	_stack_pool2=
	return 0
}

# --- pgbouncer in front of the stack's PostgreSQL (tests/pgbouncer.sh,
# bench/run --pgbouncer): on loopback, in transaction pooling, run as
# postgres when root; its config, auth file, log and pid file in
# STACK_DIR/pgbouncer.  stack_stop stops it.

_stack_pgbouncer_bin()
{
	command -v pgbouncer || echo /usr/sbin/pgbouncer
}

_stack_pgbouncer_conf()
{
	local dir=$STACK_DIR/pgbouncer
	mkdir -p "$dir" && _stack_free_port || return 1
	STACK_PGBOUNCER_PORT=$_stack_port
	cat >"$dir/pgbouncer.ini" <<-EOF || return 1
	[databases]
	ga_personal = host=127.0.0.1 port=$PGPORT dbname=ga_personal

	[pgbouncer]
	listen_addr = 127.0.0.1
	listen_port = $STACK_PGBOUNCER_PORT
	unix_socket_dir =
	auth_type = trust
	auth_file = $dir/userlist.txt
	admin_users = postgres
	pool_mode = transaction
	default_pool_size = $1
	max_client_conn = 200
	logfile = $dir/pgbouncer.log
	pidfile = $dir/pgbouncer.pid
	EOF
	printf '"calsync" ""\n"postgres" ""\n' >"$dir/userlist.txt" || return 1
	if _stack_root; then
		chown -R postgres: "$dir" || return 1
	fi
	STACK_PGBOUNCER_URL=postgresql://calsync@127.0.0.1:$STACK_PGBOUNCER_PORT/ga_personal
	export STACK_PGBOUNCER_PORT STACK_PGBOUNCER_URL
}

_stack_pgbouncer_alive()
{
	local pid
	pid=$(cat "$STACK_DIR/pgbouncer/pgbouncer.pid" 2>/dev/null) &&
	    _stack_alive "$pid" && _stack_is "$pid" pgbouncer
}

# stack_pgbouncer_start POOL_SIZE: start pgbouncer with POOL_SIZE server
# connections (default_pool_size); sets STACK_PGBOUNCER_PORT and
# STACK_PGBOUNCER_URL, a DATABASE_URL through it.  Once stopped, it starts
# again on the same port with the same settings.
stack_pgbouncer_start()
{
	local dir=$STACK_DIR/pgbouncer
	[ -x "$(_stack_pgbouncer_bin)" ] ||
	    { _stack_fail "no pgbouncer (run tools/deps)"; return 1; }
	if [ ! -e "$dir/pgbouncer.ini" ]; then
		_stack_pgbouncer_conf "$1" ||
		    { _stack_fail "cannot configure pgbouncer in $dir"; return 1; }
	fi
	# After a crash (stack_pgbouncer_stop KILL) its pid file stays,
	# and pgbouncer will not start over it: remove it, as its
	# service's runtime directory would be.
	_stack_pgbouncer_alive || rm -f "$dir/pgbouncer.pid"
	_stack_as_pg "$(_stack_pgbouncer_bin)" -d -q "$dir/pgbouncer.ini" &&
	    for _ in $(seq 100); do
		stack_pgbouncer_admin "SHOW VERSION" >/dev/null && return 0
		sleep 0.1
	    done
	_stack_fail "pgbouncer did not start on port $STACK_PGBOUNCER_PORT"
	_stack_tail "$dir/pgbouncer.log"
	return 1
}

# stack_pgbouncer_stop [SIGNAL]: TERM (pgbouncer's immediate shutdown), or
# KILL as a crash would; KILL after 10 s anyway.
stack_pgbouncer_stop()
{
	local pid
	[ -n "${STACK_DIR:-}" ] && _stack_pgbouncer_alive || return 0
	pid=$(cat "$STACK_DIR/pgbouncer/pgbouncer.pid")
	kill -"${1:-TERM}" "$pid"
	for _ in $(seq 100); do
		_stack_alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid"
}

# stack_pgbouncer_admin COMMAND: what pgbouncer's admin console answers.
stack_pgbouncer_admin()
{
	"$_stack_pgbin/psql" -X -q -At -h 127.0.0.1 -p "$STACK_PGBOUNCER_PORT" \
	    -U postgres -d pgbouncer -c "$1" 2>/dev/null
}

# Restart calsync as an operator would without a gap: start the new one
# (it takes the socket over), then SIGTERM the old one, which serves what
# it had queued and exits.
stack_replace_calsync()
{
	local old=$CALSYNC_PID
	_stack_start_calsync "${1:-${_stack_workers:-2}}" || return 1
	kill -TERM "$old" 2>/dev/null
	for _ in $(seq 100); do
		_stack_alive "$old" || break
		sleep 0.1
	done
	wait "$old" 2>/dev/null
	_stack_save || _stack_fail "cannot write $STACK_DIR/stack.env"
}
