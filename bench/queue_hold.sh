#!/usr/bin/env bash
# How many callers can wait in a queue with music at once: N sipp calls to queue 8000 (the
# demo trunk's DID +31201230001, from 127.0.0.1) that nobody answers and that stay, against
# the release build of switchboard (no race detector) with a fresh demo organisation.
#
#   bench/queue_hold.sh [--calls 500,1000,2000] [--rate 200] [--secs 10] [--echo] [--rev REV] [--out DIR] [ports]
#
# Queue 8000 takes callers with nobody logged in (join_empty true, max_waiting 0, max_wait_s 0)
# and all its members are logged out, so every caller waits and hears the hold music. The
# callers' SDP points at bench/rtpsink, which tells the N music streams apart by source and
# counts, per caller, the packets of a counted window (50/s expected), the longest gap and
# whether there is sound; it reads the server's CPU, RSS, threads and open files from /proc.
# --echo makes rtpsink send every packet back (callers whose phones send audio while waiting).
# The queue's own figures (waiting callers) and /healthz are read during the window.
# --rev builds switchboard from that commit (git archive into OUT) instead of the work tree,
# which may be in the middle of someone's edit on a shared machine.
# Every step is bounded (sipp -timeout, timeout(1) on everything); the script kills only the
# processes it started. About 1 minute per step.
set -u -o pipefail
# Measure Switchboard alone: no simulated demo traffic (switchboard demo --simulate).
export SWITCHBOARD_DEMO_SIMULATE=false

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
OUT=""
CALLS=500,1000,2000
RATE=200
SECS=10
WARMUP=3
ECHO=""
REV=""
SIP_PORT=35370 HTTP_PORT=35371 UAC_PORT=35360 SINK_PORT=35390 CARRIER_PORT=35380 SIPP_MEDIA=35400
RTP_PORTS=20000-29999

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift ;;
	--calls) CALLS=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--echo) ECHO=-echo ;;
	--rev) REV=$2; shift ;;
	--sip-port) SIP_PORT=$2; shift ;;
	--http-port) HTTP_PORT=$2; shift ;;
	--uac-port) UAC_PORT=$2; shift ;;
	--sink-port) SINK_PORT=$2; shift ;;
	--rtp-ports) RTP_PORTS=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "queue_hold.sh: unknown flag $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }
command -v sipp >/dev/null || { echo "queue_hold.sh: sipp not installed (apt-get install sip-tester)" >&2; exit 2; }
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/sb-queuehold.XXXXXX)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

SRC=$REPO
if [ -n "$REV" ]; then
	SRC=$OUT/src
	rm -rf "$SRC" && mkdir -p "$SRC"
	(cd "$REPO" && git archive "$REV") | tar -x -C "$SRC" || exit 1
	BUILT="commit $(cd "$REPO" && git rev-parse --short "$REV")"
else
	BUILT="work tree at $(cd "$REPO" && git rev-parse --short HEAD)$(cd "$REPO" && git diff --quiet HEAD -- cmd internal || echo ' + uncommitted changes in cmd/ internal/')"
fi
log "building switchboard (release, $BUILT) and rtpsink into $OUT"
(cd "$SRC" && go build -o "$OUT/switchboard" ./cmd/switchboard) || exit 1
(cd "$REPO" && go build -o "$OUT/rtpsink" ./bench/rtpsink) || exit 1

SB_PID=""
SIPP_PID=""
cleanup() {
	[ -n "$SIPP_PID" ] && kill "$SIPP_PID" 2>/dev/null
	if [ -n "$SB_PID" ]; then
		kill -INT "$SB_PID" 2>/dev/null
		for _ in $(seq 1 40); do kill -0 "$SB_PID" 2>/dev/null || break; sleep 0.5; done
		kill -KILL "$SB_PID" 2>/dev/null
	fi
	SB_PID="" SIPP_PID=""
}
trap cleanup EXIT

api() { # METHOD PATH [BODY]
	curl -s -m 10 -X "$1" -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
		${3:+-d "$3"} "http://127.0.0.1:$HTTP_PORT$2"
}

{
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpus:    $(nproc) x $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
	echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel:  $(uname -r)"
	echo "go:      $(go version | cut -d' ' -f3-)"
	echo "sipp:    $(sipp -v 2>&1 | grep -o 'SIPp v[0-9.]*' | head -1)"
	echo "built:   $BUILT"
	echo "ulimit-n: $(ulimit -n)"
} | tee "$OUT/machine.txt" >&2

ROWS="$OUT/rows.md"
: >"$ROWS"
IFS=, read -r -a NS <<<"$CALLS"
for N in "${NS[@]}"; do
	log "step: $N waiting callers"
	DATA="$OUT/data-$N"
	rm -rf "$DATA"
	"$OUT/switchboard" demo --data-dir "$DATA" --sip-addr "127.0.0.1:$SIP_PORT" --http-addr "127.0.0.1:$HTTP_PORT" \
		--rtp-ports "$RTP_PORTS" --carrier-addr "127.0.0.1:$CARRIER_PORT" --log-level warn \
		>"$OUT/sb-$N.out" 2>"$OUT/sb-$N.err" &
	SB_PID=$!
	for _ in $(seq 1 100); do curl -s -m 1 "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.3; done
	TOK=$(curl -s -m 10 -d '{"username":"admin","password":"demo-admin"}' "http://127.0.0.1:$HTTP_PORT/api/login" |
		python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])') || { log "login failed"; exit 1; }
	api PATCH /api/queues/8000 '{"join_empty":true,"max_waiting":0,"max_wait_s":0}' >/dev/null
	for ext in 1001 1002 1003 1004 1005; do
		api PUT "/api/queues/8000/members/$ext" '{"state":"logged_out"}' >/dev/null
	done
	api GET /api/queues/8000/stats | python3 -c 'import sys,json; d=json.load(sys.stdin); print("queue 8000 before: waiting", d["waiting"], "logged in", d["agents_logged_in"], "logged out", d["agents_logged_out"])' >&2

	SETUP=$(( (N + RATE - 1) / RATE ))
	HOLD_MS=$(( (SETUP + WARMUP + SECS + 8) * 1000 ))
	timeout $((SETUP + WARMUP + SECS + 90)) "$OUT/rtpsink" -listen "127.0.0.1:$SINK_PORT" -expect "$N" \
		-setup-timeout "$((SETUP + 30))s" -warmup "${WARMUP}s" -secs "${SECS}s" -sut-pid "$SB_PID" $ECHO \
		-label "$N" >"$OUT/sink-$N.json" 2>"$OUT/sink-$N.err" &
	SINK_PID=$!
	sleep 0.3
	timeout $((HOLD_MS / 1000 + SETUP + 60)) sipp "127.0.0.1:$SIP_PORT" -sf "$HERE/sipp/queue_caller_hold.xml" \
		-s +31201230001 -key sinkport "$SINK_PORT" -i 127.0.0.1 -p "$UAC_PORT" -mp "$SIPP_MEDIA" -cp 35401 \
		-m "$N" -l "$N" -r "$RATE" -d "$HOLD_MS" -timeout "$((HOLD_MS / 1000 + SETUP + 50))s" -nostdin \
		-trace_stat -stf "$OUT/sipp-$N.csv" -trace_err -error_file "$OUT/sipp-$N-errors.log" \
		>"$OUT/sipp-$N.out" 2>&1 &
	SIPP_PID=$!
	# In the middle of the counted window: the queue's figures and health.
	sleep $((SETUP + WARMUP + SECS / 2))
	STATS=$(api GET /api/queues/8000/stats | python3 -c 'import sys,json; d=json.load(sys.stdin); print(d["waiting"], d["ringing"], d["agents_available"])')
	HEALTH=$(curl -s -m 5 "http://127.0.0.1:$HTTP_PORT/healthz" | python3 -c 'import sys,json; d=json.load(sys.stdin); print(d["status"], d["active_calls"])')
	LOAD=$(cut -d' ' -f1 /proc/loadavg)
	HOLDREQ=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOK" "http://127.0.0.1:$HTTP_PORT/api/calls?limit=1")
	log "mid-window: queue waiting/ringing/available = $STATS; healthz = $HEALTH; GET /api/calls = $HOLDREQ; load $LOAD"
	wait "$SINK_PID"
	SINK_RC=$?
	wait "$SIPP_PID"
	SIPP_RC=$?
	SIPP_PID=""
	cleanup
	OK=$(grep -o 'Successful call *| *[0-9]* *| *[0-9]*' "$OUT/sipp-$N.out" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
	FAILED=$(grep -o 'Failed call *| *[0-9]* *| *[0-9]*' "$OUT/sipp-$N.out" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
	log "sink rc $SINK_RC: $(cat "$OUT/sink-$N.json" "$OUT/sink-$N.err" 2>/dev/null)"
	log "sipp rc $SIPP_RC: successful $OK failed $FAILED; switchboard errors: $(grep -c 'level=ERROR' "$OUT/sb-$N.err")"
	python3 - "$OUT/sink-$N.json" "$N" "$STATS" "$SIPP_RC" "${OK:-?}" "${FAILED:-?}" "$ECHO" "$LOAD" >>"$ROWS" <<'EOF'
import json, sys
path, n, stats, rc, ok, failed, echo, load = sys.argv[1:]
try:
    r = json.load(open(path))
except Exception:
    print(f"| {n} | {'yes' if echo else 'no'} | sink failed | | | | | | | | | | sipp rc {rc} ok {ok} failed {failed} | {load} |")
    sys.exit()
waiting = stats.split()[0] if stats else "?"
print(f"| {n} | {'yes' if echo else 'no'} | {waiting} | {r['streams']} | {r['streams_ge_95pct']} / {r['streams_lt_95pct']} / {r['streams_dead_in_window']} | "
      f"{r['stream_pps_min']} / {r['stream_pps_median']} | {r['max_gap_p50_ms']} / {r['max_gap_p99_ms']} / {r['max_gap_max_ms']} | "
      f"{r['streams_without_sound']} | {r['sut_core_pct']} % | {r['sut_cpu_us_per_stream_per_s']} | {r['sut_rss_mb']} | {r['sut_threads']} / {r['sut_fds']} | "
      f"{ok} / {failed} (rc {rc}) | {load} |")
EOF
	sleep 2
done

{
	echo
	echo "| waiting callers | callers send RTP | queue says waiting | streams | ≥95 % / short / dead | pkts/s per caller min / median | longest gap p50 / p99 / max ms | silent | server CPU (% of a core) | µs CPU per caller per s | RSS MB | threads / fds | sipp ok / failed | box load |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	cat "$ROWS"
} | tee "$OUT/summary.md"
