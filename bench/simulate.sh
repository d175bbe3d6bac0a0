#!/usr/bin/env bash
# The simulator as a load generator, side by side with sipp in one run on this machine:
#   1. sipp -> sipp directly (the ceiling; ../shared/perf/sip_cps_bench.py direct)
#   2. sipp -> DID -> Switchboard -> sipp UAS (bench/sb_cps.py sb)
#   3. `switchboard simulate --load` -> Switchboard: callers through the trunk into queue 8000,
#      --sim-agents registered agents answering at once, both legs sending G.711 audio, an
#      event stream per --event-clients, with a Go CPU profile of the server (pprof-enabled copy,
#      as bench/profile.sh builds it) during the simulator's last step.
#
#   bench/simulate.sh [--out DIR] [--sipp-rates 1000] [--direct-rates 4000] [--sim-rates 20,50]
#                     [--secs 10] [--talk 2s] [--event-clients 4] [--skip-sipp]
#
# Every step is bounded: sipp sends RATE x SECS calls (time bound +45 s); the simulator places
# RATE x SECS calls with patience 60 s and a drain bound. About 2-3 minutes with the defaults.
# Uses UDP 5060/5070/5080 (the shared harness) and 5160-5190, 35670-35680; kills only its own PIDs.
set -u -o pipefail
# Measure Switchboard alone: no simulated demo traffic besides the simulator's own load.
export SWITCHBOARD_DEMO_SIMULATE=false

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
SHARED=$(cd "$REPO/../shared/perf" 2>/dev/null && pwd) || { echo "simulate.sh: ../shared/perf not found beside the repo" >&2; exit 2; }
SKIP_SIPP=0 OUT="" SIPP_RATES=1000 DIRECT_RATES=4000 SIM_RATES=20,50 SECS=10 TALK=2s EVENT_CLIENTS=4
SIP_PORT=35670 HTTP_PORT=35671 CARRIER_PORT=35680 PPROF_PORT=35679
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift ;;
	--sipp-rates) SIPP_RATES=$2; shift ;;
	--direct-rates) DIRECT_RATES=$2; shift ;;
	--sim-rates) SIM_RATES=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--talk) TALK=$2; shift ;;
	--event-clients) EVENT_CLIENTS=$2; shift ;;
	--skip-sipp) SKIP_SIPP=1 ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "simulate.sh: unknown flag $1" >&2; exit 2 ;;
	esac
	shift
done
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/sb-sim.XXXXXX)
mkdir -p "$OUT/perf/sippruns"
OUT=$(cd "$OUT" && pwd)
export PERF_TMP=$OUT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# A pprof-enabled copy of the work tree (the real binary serves no pprof).
SRC=$(mktemp -d /tmp/sb-sim-src.XXXXXX)
(cd "$REPO" && tar --exclude=./.git --exclude=./bin -cf - .) | (cd "$SRC" && tar -xf -)
cat >"$SRC/cmd/switchboard/zz_pprof_bench.go" <<'EOF'
package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if a := os.Getenv("SB_PPROF_ADDR"); a != "" {
		go func() { _ = http.ListenAndServe(a, nil) }()
	}
}
EOF
log "building into $OUT"
(cd "$SRC" && go build -o "$OUT/switchboard" ./cmd/switchboard) || { rm -rf "$SRC"; exit 1; }
rm -rf "$SRC"

{
	echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpus:     $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "go:       $(go version | cut -d' ' -f3-)"
	echo "sipp:     $(sipp -v 2>&1 | grep -m1 -o 'SIPp v[^ ]*')"
	echo "commit:   $(cd "$REPO" && git rev-parse --short HEAD)"
	echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) at start"
} | tee "$OUT/machine.txt" >&2

HOLD_MS=$(( $(echo "$TALK" | sed 's/s$//') * 1000 ))
if [ "$SKIP_SIPP" = 0 ]; then
	log "1. sipp -> sipp directly at $DIRECT_RATES/s"
	(cd "$SHARED" && python3 sip_cps_bench.py direct "$DIRECT_RATES" --secs "$SECS" --hold-ms "$HOLD_MS") >"$OUT/direct.log" 2>&1
	log "2. sipp -> Switchboard -> sipp at $SIPP_RATES/s"
	python3 "$HERE/sb_cps.py" sb "$SIPP_RATES" --secs "$SECS" --hold-ms "$HOLD_MS" --tolerate-reorder \
		--bin "$OUT/switchboard" >"$OUT/sb.log" 2>&1
fi

log "3. simulator -> Switchboard at $SIM_RATES/s"
SB_PPROF_ADDR=127.0.0.1:$PPROF_PORT "$OUT/switchboard" demo --simulate=false --data-dir "$OUT/sbdata" --sip-addr "127.0.0.1:$SIP_PORT" \
	--http-addr "127.0.0.1:$HTTP_PORT" --rtp-ports 36000-39999 --carrier-addr "127.0.0.1:$CARRIER_PORT" \
	--log-level warn 2>"$OUT/sim-server.log" >/dev/null &
SB_PID=$!
trap 'kill $SB_PID 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.2; done
last=${SIM_RATES##*,}
for rate in ${SIM_RATES//,/ }; do
	calls=$(awk -v r="$rate" -v s="$SECS" 'BEGIN{printf "%d", r*s}')
	# Agents for the offered load (rate x talk) and half as many again, so calls do not queue.
	agents=$(awk -v r="$rate" -v t="${TALK%s}" 'BEGIN{printf "%d", r*t*1.5+5}')
	PROF_PID=""
	if [ "$rate" = "$last" ]; then
		# 5 s of the server's CPU from the middle of the arrivals (after the agents' set-up).
		( sleep $(( SECS / 2 + agents / 6 + 2 )); curl -s -o "$OUT/sim.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=5" ) &
		PROF_PID=$!
	fi
	log "   simulator: $calls calls at $rate/s, $agents agents, talk $TALK"
	timeout $(( SECS + 150 )) "$OUT/switchboard" simulate --target "127.0.0.1:$SIP_PORT" --api "http://127.0.0.1:$HTTP_PORT" \
		--queues 8000=+31201230001 --load --load-rate "$rate" --load-calls "$calls" --load-talk "$TALK" \
		--load-agents "$agents" --load-event-clients "$EVENT_CLIENTS" --sut-pid "$SB_PID" --json \
		>"$OUT/sim_$rate.json" 2>"$OUT/sim_$rate.log" || log "   simulator step $rate failed (see $OUT/sim_$rate.log)"
	[ -z "$PROF_PID" ] || wait "$PROF_PID"
done
kill $SB_PID 2>/dev/null
wait $SB_PID 2>/dev/null
trap - EXIT
[ -s "$OUT/sim.pprof" ] && go tool pprof -top -cum "$OUT/sim.pprof" 2>/dev/null | head -45 >"$OUT/sim-top.txt"

log "summary"
{
	echo "## sipp -> sipp (ceiling)"; tail -3 "$OUT/direct.log" 2>/dev/null
	echo "## sipp -> Switchboard -> sipp"; tail -3 "$OUT/sb.log" 2>/dev/null
	for rate in ${SIM_RATES//,/ }; do echo "## simulator -> Switchboard at $rate/s"; cat "$OUT/sim_$rate.json"; done
} | tee "$OUT/summary.txt"
log "results in $OUT"
