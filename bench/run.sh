#!/usr/bin/env bash
# Switchboard's performance run: the peers (sipp -> sipp directly, sipp -> kamailio stateful
# proxy -> sipp, kamailio registrar, a bare Go UDP relay) and Switchboard side by side, in one
# invocation, on loopback. Prints a markdown summary (also written to OUT/summary.md).
#
#   bench/run.sh [--out DIR] [--only direct,kam,sb,register,media] [rate/port flags, see --help]
#
# Needs: go, python3, sipp and kamailio (Debian: apt-get install -y sip-tester kamailio), and
# ../shared/perf beside the repo (the peers' harness, invoked from there, not copied). The shared
# harness uses UDP ports 5060/5070/5080: nothing else may listen there while this runs.
# Every step is bounded (calls = rate x --secs, sipp time bound = calls/rate + 45 s); the scripts
# kill only the processes they started. About 9-11 minutes with the defaults (a failing sipp step
# runs to its time bound, 55 s).
set -u -o pipefail
# Measure Switchboard alone: no simulated demo traffic (switchboard demo --simulate).
export SWITCHBOARD_DEMO_SIMULATE=false

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
SHARED=$(cd "$REPO/../shared/perf" 2>/dev/null && pwd) || { echo "run.sh: ../shared/perf not found beside the repo" >&2; exit 2; }

OUT=""
ONLY="direct,kam,sb,register,media"
SECS=10
DIRECT_RATES=4000,8000
KAM_RATES=1000,1500,2000,3500
SB_RATES=250,500,750,1000,1500,2000
KAM_REG_RATES=5000,20000
SB_REG_RATES=1000,2000,3000,5000
BARE_CALLS=1000,2000
MEDIA_CALLS=500,1000,1500,2000
MEDIA_SECS=5
MEDIA_SETUP_RATE=400
SIP_PORT=5170 HTTP_PORT=5171 UAC_PORT=5160 UAS_PORT=5180 CARRIER_PORT=5190
RTP_PORTS=10000-29999
QUIET_MAX=30

usage() {
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
	cat <<EOF
flags (defaults):
  --out DIR                 results dir (a new /tmp/sb-bench.XXXXXX)
  --only LIST               sections: direct,kam,sb,register,media ($ONLY)
  --secs N                  seconds of load per calls/s step ($SECS)
  --direct-rates LIST       sipp -> sipp ($DIRECT_RATES)
  --kam-rates LIST          sipp -> kamailio -> sipp ($KAM_RATES)
  --sb-rates LIST           sipp -> Switchboard -> sipp ($SB_RATES)
  --kam-reg-rates LIST      REGISTER -> kamailio, no auth ($KAM_REG_RATES)
  --sb-reg-rates LIST       REGISTER with digest auth -> Switchboard ($SB_REG_RATES)
  --bare-calls LIST         calls through the bare Go relay ($BARE_CALLS)
  --media-calls LIST        calls through Switchboard's relay ($MEDIA_CALLS)
  --media-secs N            counted media window per step ($MEDIA_SECS)
  --sip-port/--http-port/--uac-port/--uas-port/--carrier-port N
                            Switchboard's ports and the sipp ends' ($SIP_PORT $HTTP_PORT $UAC_PORT $UAS_PORT $CARRIER_PORT)
  --rtp-ports LO-HI         Switchboard's and the bare relay's RTP range ($RTP_PORTS); 4 ports per call
  --quiet-max N             seconds to wait for the box to calm down before a section ($QUIET_MAX)
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--direct-rates) DIRECT_RATES=$2; shift ;;
	--kam-rates) KAM_RATES=$2; shift ;;
	--sb-rates) SB_RATES=$2; shift ;;
	--kam-reg-rates) KAM_REG_RATES=$2; shift ;;
	--sb-reg-rates) SB_REG_RATES=$2; shift ;;
	--bare-calls) BARE_CALLS=$2; shift ;;
	--media-calls) MEDIA_CALLS=$2; shift ;;
	--media-secs) MEDIA_SECS=$2; shift ;;
	--sip-port) SIP_PORT=$2; shift ;;
	--http-port) HTTP_PORT=$2; shift ;;
	--uac-port) UAC_PORT=$2; shift ;;
	--uas-port) UAS_PORT=$2; shift ;;
	--carrier-port) CARRIER_PORT=$2; shift ;;
	--rtp-ports) RTP_PORTS=$2; shift ;;
	--quiet-max) QUIET_MAX=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown flag $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/sb-bench.XXXXXX)
mkdir -p "$OUT/perf/sippruns" "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
export PERF_TMP=$OUT
RTP_LO=${RTP_PORTS%-*} RTP_HI=${RTP_PORTS#*-}

for t in sipp go python3; do command -v $t >/dev/null || { echo "run.sh: $t not found" >&2; exit 2; }; done
if want direct || want kam || want register; then
	command -v kamailio >/dev/null || { echo "run.sh: kamailio not found (apt-get install -y kamailio)" >&2; exit 2; }
fi
# Nothing may listen on the ports we use.
busy=$(ss -Hlun 2>/dev/null | awk '{print $4}' | sed 's/.*://' | grep -xE "5060|5070|5080|$SIP_PORT|$UAC_PORT|$UAS_PORT|$CARRIER_PORT" | sort -u | tr '\n' ' ')
if [ -n "$busy" ]; then
	echo "run.sh: UDP ports in use: $busy— stop what uses them or pick other ports" >&2
	exit 2
fi
inrange=$(ss -Hlun 2>/dev/null | awk '{print $4}' | sed 's/.*://' | awk -v lo="$RTP_LO" -v hi="$RTP_HI" '$1>=lo && $1<=hi' | wc -l)
[ "$inrange" -eq 0 ] || log "note: $inrange UDP sockets already bound in $RTP_PORTS (the relays skip taken ports)"

# 2 sockets per call (+ the generator's): raise the descriptor limit as far as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log "building into $OUT/bin"
(cd "$REPO" && go build -o "$OUT/bin/switchboard" ./cmd/switchboard &&
	go build -o "$OUT/bin/rtpload" ./bench/rtpload &&
	go build -o "$OUT/bin/udprelay" ./bench/udprelay) || { echo "run.sh: build failed" >&2; exit 1; }

{
	echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpus:     $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel:   $(uname -r)"
	echo "go:       $(go version | cut -d' ' -f3-)"
	echo "sipp:     $(sipp -v 2>&1 | grep -m1 -o 'SIPp v[^ ]*')"
	command -v kamailio >/dev/null && echo "kamailio: $(kamailio -v 2>/dev/null | head -1 | cut -d' ' -f2-)"
	echo "commit:   $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null) $( [ -n "$(cd "$REPO" && git status --porcelain -- internal cmd 2>/dev/null)" ] && echo '(internal/ or cmd/ modified)')"
	echo "ulimit-n: $(ulimit -n)"
	echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) at start"
} >"$OUT/perf/machine.txt"

# busy_pct SECS: share of both cores in use over SECS seconds.
busy_pct() {
	local a b
	a=($(head -1 /proc/stat)); sleep "$1"; b=($(head -1 /proc/stat))
	local t=0 j
	for j in 1 2 3 4 5 6 7 8; do t=$((t + ${b[$j]} - ${a[$j]})); done
	local idle=$((${b[4]} - ${a[4]} + ${b[5]} - ${a[5]}))
	echo $((100 * (t - idle) / (t > 0 ? t : 1)))
}
# wait_quiet: other people's work shares this machine; wait (bounded) for it to calm down.
wait_quiet() {
	local waited=0 b
	while :; do
		b=$(busy_pct 2)
		[ "$b" -lt 25 ] && return 0
		waited=$((waited + 2))
		if [ "$waited" -ge "$QUIET_MAX" ]; then
			log "box still ${b}% busy after ${waited}s; measuring anyway (see box busy % in the tables)"
			echo "$1: started with the box ${b}% busy" >>"$OUT/perf/machine.txt"
			return 0
		fi
	done
}

SB_PORTS=(--sip-port "$SIP_PORT" --http-port "$HTTP_PORT" --uac-port "$UAC_PORT" --uas-port "$UAS_PORT"
	--carrier-port "$CARRIER_PORT" --rtp-ports "$RTP_PORTS" --bin "$OUT/bin/switchboard")
RUNS=$OUT/perf/sippruns

if want direct; then
	wait_quiet direct; log "direct sipp->sipp $DIRECT_RATES"
	python3 "$SHARED/sip_cps_bench.py" direct "$DIRECT_RATES" --secs "$SECS" --hold-ms 1000 --tolerate-reorder | tee "$RUNS/sweep-direct.log" >&2
fi
if want kam; then
	wait_quiet kam; log "kamailio stateful proxy $KAM_RATES"
	python3 "$SHARED/sip_cps_bench.py" kam-sf "$KAM_RATES" --secs "$SECS" --hold-ms 1000 --tolerate-reorder | tee "$RUNS/sweep-kam-sf.log" >&2
fi
if want sb; then
	wait_quiet sb; log "switchboard B2BUA $SB_RATES"
	timeout 900 python3 "$HERE/sb_cps.py" sb "$SB_RATES" --secs "$SECS" --hold-ms 1000 --tolerate-reorder \
		--stop-below 97 "${SB_PORTS[@]}" | tee "$RUNS/sweep-sb.log" >&2
fi
if want register; then
	wait_quiet register; log "kamailio registrar (no auth) $KAM_REG_RATES"
	python3 "$SHARED/sip_cps_bench.py" register "$KAM_REG_RATES" --secs "$SECS" | tee "$RUNS/sweep-register.log" >&2
	wait_quiet sb-register; log "switchboard registrar (digest auth) $SB_REG_RATES"
	timeout 600 python3 "$HERE/sb_cps.py" sb-register "$SB_REG_RATES" --secs "$SECS" --stop-below 90 "${SB_PORTS[@]}" |
		tee "$RUNS/sweep-sb-register.log" >&2
fi

if want media; then
	MEDIA=$OUT/perf/media.jsonl
	# The bare Go relay: the floor for CPU per forwarded packet, same generator.
	maxbare=$(echo "$BARE_CALLS" | tr ',' '\n' | sort -n | tail -1)
	if [ -n "$maxbare" ] && [ "$maxbare" -gt 0 ]; then
		wait_quiet bare-relay; log "bare Go UDP relay, calls $BARE_CALLS"
		"$OUT/bin/udprelay" -pairs "$maxbare" -base "$RTP_LO" -max 5m >"$OUT/perf/udprelay.out" 2>"$OUT/perf/udprelay.err" &
		RELAY=$!
		for _ in $(seq 50); do grep -q ready "$OUT/perf/udprelay.out" 2>/dev/null && break; sleep 0.1; done
		if grep -q ready "$OUT/perf/udprelay.out"; then
			for n in ${BARE_CALLS//,/ }; do
				"$OUT/bin/rtpload" -bare-base "$RTP_LO" -calls "$n" -secs "${MEDIA_SECS}s" -sut-pid "$RELAY" \
					-sut-ports "$RTP_LO-$((RTP_LO + 4 * maxbare))" -max-run 2m | tee -a "$MEDIA" >&2
				sleep 2
			done
		else
			log "udprelay did not start: $(cat "$OUT/perf/udprelay.err")"
		fi
		kill "$RELAY" 2>/dev/null; wait "$RELAY" 2>/dev/null
	fi
	wait_quiet sb-media; log "switchboard media relay, calls $MEDIA_CALLS"
	rm -rf "$OUT/perf/sbdata-media"
	"$OUT/bin/switchboard" demo --data-dir "$OUT/perf/sbdata-media" --sip-addr "127.0.0.1:$SIP_PORT" \
		--http-addr "127.0.0.1:$HTTP_PORT" --rtp-ports "$RTP_PORTS" --carrier-addr "127.0.0.1:$CARRIER_PORT" \
		--log-level warn >/dev/null 2>"$OUT/perf/sb-media.err" &
	SB=$!
	for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && break; sleep 0.1; done
	for n in ${MEDIA_CALLS//,/ }; do
		if ! kill -0 "$SB" 2>/dev/null; then log "switchboard exited; see $OUT/perf/sb-media.err"; break; fi
		"$OUT/bin/rtpload" -sip "127.0.0.1:$SIP_PORT" -calls "$n" -setup-rate "$MEDIA_SETUP_RATE" -secs "${MEDIA_SECS}s" \
			-sut-pid "$SB" -sut-ports "$RTP_PORTS" -max-run 3m | tee -a "$MEDIA" >&2
		sleep 2
	done
	kill "$SB" 2>/dev/null; wait "$SB" 2>/dev/null
fi

python3 "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.md"
log "results in $OUT (sipp CSVs, sipp error logs and switchboard stderr in $RUNS)"
