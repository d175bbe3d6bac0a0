#!/usr/bin/env bash
# CPU profiles of Switchboard under the bench loads, for "what limits it".
#
#   bench/profile.sh [--out DIR] [--cps-rate 500] [--reg-rate 2000] [--media-calls 1000] [ports as in run.sh]
#
# The switchboard binary has no pprof endpoint, so this builds a copy of the work tree in a
# temp dir OUTSIDE the repo with one extra file (cmd/switchboard/zz_pprof_bench.go: serves
# net/http/pprof on $SB_PPROF_ADDR) and profiles that copy:
#   1. calls/s: sipp UAC -> DID -> Switchboard -> sipp UAS at --cps-rate for 10 s, a 5 s Go CPU
#      profile from 2 s in (bench/sb_cps.py --pprof-*), plus `perf record -g` of the same
#      window when perf is installed (pprof misses much of the kernel and scheduler time);
#   2. REGISTER with digest auth at --reg-rate, the same way;
#   3. media: bench/rtpload with --media-calls calls, a 5 s profile inside the counted window.
# Writes OUT/{cps,register,media}.pprof, OUT/*-top.txt (go tool pprof -top -cum) and
# OUT/*-perf.txt (perf report --children). Bounded (about 2 minutes); kills only what it started.
set -u -o pipefail
# Measure Switchboard alone: no simulated demo traffic (switchboard demo --simulate).
export SWITCHBOARD_DEMO_SIMULATE=false

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
OUT=""
CPS_RATE=500
REG_RATE=2000
MEDIA_CALLS=1000
SIP_PORT=5170 HTTP_PORT=5171 UAC_PORT=5160 UAS_PORT=5180 CARRIER_PORT=5190 PPROF_PORT=5172
RTP_PORTS=10000-29999
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift ;;
	--cps-rate) CPS_RATE=$2; shift ;;
	--reg-rate) REG_RATE=$2; shift ;;
	--media-calls) MEDIA_CALLS=$2; shift ;;
	--sip-port) SIP_PORT=$2; shift ;;
	--http-port) HTTP_PORT=$2; shift ;;
	--uac-port) UAC_PORT=$2; shift ;;
	--uas-port) UAS_PORT=$2; shift ;;
	--carrier-port) CARRIER_PORT=$2; shift ;;
	--pprof-port) PPROF_PORT=$2; shift ;;
	--rtp-ports) RTP_PORTS=$2; shift ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "profile.sh: unknown flag $1" >&2; exit 2 ;;
	esac
	shift
done
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/sb-profile.XXXXXX)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PERF_TMP=$OUT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

SRC=$(mktemp -d /tmp/sb-pprof-src.XXXXXX)
log "copying the work tree to $SRC and building a pprof-enabled switchboard"
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
BIN=$OUT/switchboard-pprof
(cd "$SRC" && go build -o "$BIN" ./cmd/switchboard && go build -o "$OUT/rtpload" ./bench/rtpload) || exit 1
rm -rf "$SRC"

perf_top() { # perf_top DATA OUTFILE
	perf report -i "$1" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' | head -250 | cut -c1-160 >"$2"
}

# profile_sip MODE RATE NAME: one 10 s sb_cps.py step with a Go CPU profile and perf.
profile_sip() {
	local mode=$1 rate=$2 name=$3 pid="" driver
	log "$name profile: $mode at $rate/s"
	python3 "$HERE/sb_cps.py" "$mode" "$rate" --secs 10 --hold-ms 1000 --tolerate-reorder --bin "$BIN" \
		--sip-port "$SIP_PORT" --http-port "$HTTP_PORT" --uac-port "$UAC_PORT" --uas-port "$UAS_PORT" \
		--carrier-port "$CARRIER_PORT" --rtp-ports "$RTP_PORTS" --pprof-addr "127.0.0.1:$PPROF_PORT" \
		--pprof-rate "$rate" --pprof-secs 5 --pprof-out "$OUT/$name.pprof" >"$OUT/$name-run.json" &
	driver=$!
	if command -v perf >/dev/null; then
		for _ in $(seq 100); do
			pid=$(pgrep -f -n "^$BIN demo") && break
			sleep 0.1
		done
		# sb_cps.py registers the UAS first; the load runs from ~1 s after switchboard is up.
		sleep 3
		[ -n "$pid" ] && timeout 20 perf record -F 999 -g -p "$pid" -o "$OUT/$name-perf.data" -- sleep 5 >/dev/null 2>&1
	fi
	wait "$driver"
	cat "$OUT/$name-run.json" >&2
	go tool pprof -top -cum -nodecount=60 "$BIN" "$OUT/$name.pprof" >"$OUT/$name-top.txt" 2>/dev/null
	[ -f "$OUT/$name-perf.data" ] && perf_top "$OUT/$name-perf.data" "$OUT/$name-perf.txt"
	sleep 2
}

# 1. calls/s and REGISTER/s
profile_sip sb "$CPS_RATE" cps
profile_sip sb-register "$REG_RATE" register

# 2. media
log "media profile with $MEDIA_CALLS calls"
rm -rf "$OUT/sbdata-media"
SB_PPROF_ADDR=127.0.0.1:$PPROF_PORT "$BIN" demo --data-dir "$OUT/sbdata-media" --sip-addr "127.0.0.1:$SIP_PORT" \
	--http-addr "127.0.0.1:$HTTP_PORT" --rtp-ports "$RTP_PORTS" --carrier-addr "127.0.0.1:$CARRIER_PORT" \
	--log-level warn >/dev/null 2>"$OUT/sb-media.err" &
SB=$!
sleep 1.5
"$OUT/rtpload" -sip "127.0.0.1:$SIP_PORT" -calls "$MEDIA_CALLS" -setup-rate 400 -secs 10s -sut-pid "$SB" \
	-sut-ports "$RTP_PORTS" -max-run 2m >"$OUT/media-run.json" &
LOAD=$!
sleep $((MEDIA_CALLS / 400 + 3))
curl -sf -o "$OUT/media.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=5" &
CURL=$!
command -v perf >/dev/null && timeout 20 perf record -F 999 -g -p "$SB" -o "$OUT/media-perf.data" -- sleep 5 >/dev/null 2>&1
wait "$CURL"
wait "$LOAD"
cat "$OUT/media-run.json" >&2
kill "$SB" 2>/dev/null; wait "$SB" 2>/dev/null
go tool pprof -top -cum -nodecount=60 "$BIN" "$OUT/media.pprof" >"$OUT/media-top.txt" 2>/dev/null
[ -f "$OUT/media-perf.data" ] && perf_top "$OUT/media-perf.data" "$OUT/media-perf.txt"
log "profiles in $OUT: cps-top.txt cps-perf.txt media-top.txt media-perf.txt"
