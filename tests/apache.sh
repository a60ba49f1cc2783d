#!/bin/bash
# tests/apache.sh: Apache instead of nginx, end to end.  A real apache2
# runs the production apache/calsync.conf (through apache/loopback.conf.in:
# loopback ports, this test's certificate) in front of the stack's calsync
# pool and PostgreSQL, and gets the deliveries Cal.com sends.
set -u
. "$top_srcdir/tests/stack.sh"
. "$top_srcdir/tests/tap.sh"

APACHE=${APACHE:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
apache_pid=

apache_stop()
{
	if [ -n "$apache_pid" ] && _stack_alive "$apache_pid"; then
		kill -TERM "$apache_pid" 2>/dev/null
		for _ in $(seq 100); do
			_stack_alive "$apache_pid" || break
			sleep 0.1
		done
		_stack_alive "$apache_pid" && kill -KILL "$apache_pid" 2>/dev/null
		wait "$apache_pid" 2>/dev/null
	fi
	apache_pid=
}
trap 'apache_stop; stack_stop' EXIT

t_require "no $APACHE: install apache2 (tools/deps does)" test -x "$APACHE"
t_require_stack
stack_start 2 >&2 || t_bail "the stack did not start (see above)"

adir=$STACK_DIR/apache
mkdir -p "$adir/htdocs"
# Copies: Apache's workers (www-data) read the 405 document at request
# time, and a checkout may be where they cannot (/root is 0700); and the
# paths need no quoting in the template.
mkdir -p "$adir/share"
cp "$top_srcdir/apache/calsync.conf" "$adir/calsync.conf"
cp "$top_srcdir/apache/method-not-allowed.asis" "$adir/share/"

q()	# a value made safe for sed's s|||
{
	printf '%s' "$1" | sed 's/[\\|&]/\\&/g'
}

apache_conf()	# apache_conf HTTPS-PORT HTTP-PORT
{
	local user='' group=''
	if [ "$(id -u)" = 0 ]; then
		# Its workers, like nginx's, reach calsync's socket (mode
		# 0660, www-data's) as www-data.
		user='User www-data' group='Group www-data'
	fi
	sed -e "s|@DIR@|$(q "$adir")|g" \
	    -e "s|@MODULES@|$(q "$APACHE_MODULES")|g" \
	    -e "s|@HTTPS_PORT@|$1|g" -e "s|@HTTP_PORT@|$2|g" \
	    -e "s|@HOST@|127.0.0.1:$1|g" \
	    -e "s|@SOCKET@|$(q "$STACK_SOCKET")|g" \
	    -e "s|@CERT@|$(q "$STACK_CERT")|g" \
	    -e "s|@KEY@|$(q "$STACK_DIR/key.pem")|g" \
	    -e "s|@SITE@|$(q "$adir/calsync.conf")|g" \
	    -e "s|@SHARE@|$(q "$adir/share")|g" \
	    -e "s|@USER_DIRECTIVE@|$user|g" -e "s|@GROUP_DIRECTIVE@|$group|g" \
	    "$top_srcdir/apache/loopback.conf.in"
}

# Start Apache in the foreground, as this shell's child; ready when a
# request gets the site's 404.  A port taken since we picked it: retry.
apache_start()
{
	local https http code conf=$adir/apache2.conf
	for _ in 1 2 3; do
		stack_free_port || return 1
		https=$STACK_FREE_PORT
		stack_free_port || return 1
		http=$STACK_FREE_PORT
		apache_conf "$https" "$http" >"$conf" || return 1
		if ! "$APACHE" -d "$adir" -f "$conf" -t >"$adir/configtest.log" 2>&1; then
			echo "apache: apache2 -t rejected $conf:" >&2
			cat "$adir/configtest.log" >&2
			return 1
		fi
		: >"$adir/error.log"
		"$APACHE" -d "$adir" -f "$conf" -DFOREGROUND </dev/null \
		    >"$adir/start.log" 2>&1 &
		apache_pid=$!
		for _ in $(seq 100); do
			_stack_alive "$apache_pid" || break
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			    --cacert "$STACK_CERT" "https://127.0.0.1:$https/") || true
			if [ "$code" = 404 ]; then
				APACHE_URL=https://127.0.0.1:$https/api/v1/webhooks/calcom
				APACHE_HTTP_URL=http://127.0.0.1:$http/api/v1/webhooks/calcom
				return 0
			fi
			sleep 0.1
		done
		if _stack_alive "$apache_pid"; then
			echo "apache: no answer on port $https within 10 s (last status ${code:-none})" >&2
			apache_stop
			tail -n 25 "$adir/error.log" >&2
			return 1
		fi
		wait "$apache_pid" 2>/dev/null
		apache_pid=
		grep -q 'Address already in use' "$adir/start.log" "$adir/error.log" || break
	done
	echo "apache: apache2 did not start:" >&2
	tail -n 25 "$adir/start.log" "$adir/error.log" >&2
	return 1
}

apache_start || t_bail "apache2 did not start (see above)"
t_ok "apache2 -t accepts apache/calsync.conf" grep -q 'Syntax OK' "$adir/configtest.log"

# From here on tap.sh's post and post_raw go through Apache.
STACK_URL=$APACHE_URL

TRAINER=11111111-1111-4111-8111-111111111111
ANA=22222222-2222-4222-8222-222222222222

appointment()	# appointment UID COLUMNS
{
	sql "SELECT $2 FROM public.appointments WHERE id =
	    (SELECT appointment_id FROM calsync.bookings WHERE uid = '$1')"
}

headers()	# headers CURL-ARGS...: the response headers, lowercased names
{
	curl -sS --cacert "$STACK_CERT" -D - -o /dev/null "$@" | tr -d '\r'
}

# --- BOOKING_CREATED as Cal.com sends it
f=$(body created START=2026-12-08T13:00:00-03:00 END=2026-12-08T14:00:00-03:00)
uid=$(json_field "$f" uid)
post "$f"
t_is "created: 200" "$STATUS" 200
t_like "created: applied" "$ANSWER" '"status":"applied"'
t_is "created: the appointment is in public.appointments" \
    "$(appointment "$uid" "trainer_id, student_id, scheduled_at, duration_minutes, status")" \
    "$TRAINER|$ANA|2026-12-08 16:00:00|60|scheduled"
post "$f"
t_like "the same delivery again: duplicate" "$STATUS $ANSWER" '^200 .*"status":"duplicate"'

# --- the request id: Apache's (MD5 of UNIQUE_ID) in the answer and both logs
id=$(printf '%s' "$ANSWER" | sed -n 's/.*"request_id":"\([^"]*\)".*/\1/p')
t_like "request id: Apache's, 32 hex digits" "$id" '^[0-9a-f]{32}$'
t_like "request id: in Apache's access log" "$(cat "$adir/calsync.access.log")" "id=$id\$"
t_like "request id: in calsync's log line, with REMOTE_ADDR" \
    "$(grep "id=$id " "$STACK_DIR/calsync.log")" "remote=127\\.0\\.0\\.1 .*outcome=duplicate status=200"

# --- the seed guide's recipe: sha256= prefix
f=$(body seed_created)
suid=$(json_field "$f" uid)
post_raw "$f" -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: sha256=$(stack_sign "$f")"
t_is "seed recipe (sha256= prefix): 200" "$STATUS" 200
t_is "seed recipe: in public.appointments" "$(appointment "$suid" status)" scheduled

# --- REQUEST_URI keeps the query string; CONTENT_LENGTH is passed
f=$(body created)
post_raw "$f" -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: $(stack_sign "$f")" --url-query source=test 2>/dev/null ||
    true
if [ "$STATUS" = curl-failed ]; then	# curl older than 7.87
	STATUS=$(curl -sS --cacert "$STACK_CERT" -o /dev/null -w '%{http_code}' \
	    -H 'Content-Type: application/json' -H "X-Cal-Signature-256: $(stack_sign "$f")" \
	    --data-binary @"$f" "$APACHE_URL?source=test")
fi
t_is "a query string: 200" "$STATUS" 200

# --- refused
f=$(body created)
u=$(json_field "$f" uid)
post_raw "$f" -H 'Content-Type: application/json' -H "X-Cal-Signature-256: \
$(openssl dgst -sha256 -hmac not-the-secret -r <"$f" | cut -d' ' -f1)"
t_is "wrong signature: 401" "$STATUS" 401
post_raw "$f" -H 'Content-Type: application/json'
t_is "no signature: 401" "$STATUS" 401
t_is "refused deliveries change nothing" "$(appointment "$u" id)" ""
post_raw "$f" -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "X-Cal-Signature-256: $(stack_sign "$f")"
t_is "CONTENT_TYPE passed: form encoding gets calsync's 415" "$STATUS" 415

# --- everything that never reaches calsync
h=$(headers "$APACHE_URL")
t_like "GET: 405" "$h" '^HTTP/[0-9.]+ 405'
t_is "GET: one Allow header, POST" "$(grep -i '^allow:' <<<"$h" | tr A-Z a-z)" "allow: post"
t_is "GET: the answer is JSON" "$(grep -i '^content-type:' <<<"$h" | tr A-Z a-z)" \
    "content-type: application/json"
t_like "GET: HSTS on the error too" "$h" '^[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=63072000$'
# A body Apache answers before reading goes over HTTP/1.1, as Cal.com sends:
# over HTTP/2 the answer races the reset of the stream, and curl may see
# only the reset.
STATUS=$(curl -sS --http1.1 --cacert "$STACK_CERT" -o "$STACK_DIR/answer" -w '%{http_code}' \
    -X PUT --data-binary @"$f" "$APACHE_URL")
t_is "PUT: 405" "$STATUS" 405
t_is "405: a JSON answer" "$(cat "$STACK_DIR/answer")" '{"error":"method not allowed"}'
STATUS=$(curl -sS --http1.1 --cacert "$STACK_CERT" -o "$STACK_DIR/answer" -w '%{http_code}' \
    --data-binary @"$f" "${APACHE_URL%/calcom}/other")
t_is "another path: 404" "$STATUS" 404
t_is "404: a JSON answer" "$(cat "$STACK_DIR/answer")" '{"error":"not found"}'
STATUS=$(curl -sS --cacert "$STACK_CERT" -o /dev/null -w '%{http_code}' \
    "${APACHE_URL%/api/*}/.calsync/method-not-allowed")
t_is "the 405 document asked for directly: 404" "$STATUS" 404
h=$(headers -X OPTIONS "$APACHE_URL")
t_is "OPTIONS: 405, Allow: POST" \
    "$(sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' <<<"$h") $(grep -i '^allow:' <<<"$h" | tr A-Z a-z)" \
    "405 allow: post"
STATUS=$(curl -sS --http1.1 --cacert "$STACK_CERT" -o /dev/null -w '%{http_code}' \
    -H 'Content-Type: application/json' -H "X-Cal-Signature-256: $(stack_sign "$f")" \
    --data-binary @"$f" "$APACHE_URL/x")
t_is "below the webhook path: 404" "$STATUS" 404
base=${APACHE_URL%/api/*}
t_like "healthz through Apache: database up" \
    "$(curl -sS --cacert "$STACK_CERT" "$base/healthz")" '"database":"up"'
t_like "metrics through Apache: Prometheus text" \
    "$(curl -sS --cacert "$STACK_CERT" "$base/metrics")" '^# TYPE calsync_deliveries_total counter'
t_is "metrics from an outside address: 403" "$(curl -sS --interface 127.0.0.2 \
    --cacert "$STACK_CERT" -o /dev/null -w '%{http_code}' "$base/metrics")" 403
head -c 1100000 /dev/zero | tr '\0' ' ' >"$STACK_DIR/big.json"
sleep 0.2	# calsync logs a request just after answering it
lines=$(wc -l <"$STACK_DIR/calsync.log")
post_raw "$STACK_DIR/big.json" --http1.1 -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: $(stack_sign "$STACK_DIR/big.json")"
t_is "Content-Length over 1 MiB: 413 from Apache" "$STATUS" 413
t_is "413: a JSON answer" "$ANSWER" '{"error":"request body too large"}'
sleep 0.2
t_is "... calsync never saw it" "$(wc -l <"$STACK_DIR/calsync.log")" "$lines"
# Apache streams a chunked body: calsync gets no CONTENT_LENGTH and reads
# none of it (Apache applies no LimitRequestBody to what it proxies).
post_raw "$STACK_DIR/big.json" --http1.1 -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: $(stack_sign "$STACK_DIR/big.json")"
t_is "chunked body over 1 MiB: refused by calsync (411)" "$STATUS" 411
f=$(body created)
u=$(json_field "$f" uid)
post_raw "$f" --http1.1 -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: $(stack_sign "$f")"
t_is "a small chunked body: Apache reads it first and gives calsync its CONTENT_LENGTH: 200" "$STATUS" 200
t_is "... in public.appointments" "$(appointment "$u" status)" scheduled
h=$(curl -sS -D - -o /dev/null "${APACHE_HTTP_URL%/api/*}/other?x=1" | tr -d '\r')
t_like "plain HTTP: 301" "$h" '^HTTP/[0-9.]+ 301'
t_like "plain HTTP: to the same path on HTTPS, query kept" "$h" \
    '^[Ll]ocation: https://127\.0\.0\.1:[0-9]+/other\?x=1$'
# Cal.com does not follow redirects: an http:// subscriber URL must hear why.
h=$(curl -sS -D - -H 'Content-Type: application/json' --data-binary @"$f" \
    "$APACHE_HTTP_URL" | tr -d '\r')
t_like "plain HTTP to the webhook: 403" "$h" '^HTTP/[0-9.]+ 403'
t_like "... JSON" "$h" '^Content-Type: application/json'
t_like "... saying to use the https:// URL" "$h" \
    '^\{"error":"https required: set the subscriber URL to https://127\.0\.0\.1:[0-9]+/api/v1/webhooks/calcom"\}$'

# --- TLS
tls12()	# tls12 CIPHERS: a TLS 1.2 handshake offering only CIPHERS
{
	curl -s -o /dev/null --cacert "$STACK_CERT" --tls-max 1.2 --ciphers "$1" \
	    "${APACHE_URL%/api/*}/"
}
t_ok "TLS 1.2 with an ECDHE AEAD suite" tls12 ECDHE-RSA-AES128-GCM-SHA256
t_not "TLS 1.2 without forward secrecy: refused" tls12 AES128-GCM-SHA256
t_not "TLS 1.2 with CBC: refused" tls12 ECDHE-RSA-AES128-SHA256
t_not "TLS 1.1: refused" curl -s -o /dev/null --cacert "$STACK_CERT" --tlsv1.1 \
    --tls-max 1.1 "${APACHE_URL%/api/*}/"
t_like "HSTS on a delivery's answer" "$(headers -H 'Content-Type: application/json' \
    --data-binary @"$f" "$APACHE_URL")" '^[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=63072000$'

t_absent "logs hold no secret" -F "$STACK_SECRET" -- "$STACK_DIR/calsync.log" \
    "$adir/calsync.access.log"

apache_stop
t_done
