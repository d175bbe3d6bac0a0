// Command rtpsink is the media end of many SIP callers that all advertise
// one RTP address (bench/queue_hold.sh: sipp places N queue calls whose SDP
// points here). It tells the streams apart by their source address (one
// RTP endpoint per call at the server) and measures, per stream, over a
// counted window: packets received against the 50 packets/s of 20 ms
// G.711, the longest gap between packets, and whether the payload carries
// sound (not a constant byte). With -echo it sends every packet back to
// where it came from, as a caller's phone that talks while it waits.
//
// Timeline: wait until -expect streams have sent a packet (bounded by
// -setup-timeout), then -warmup, then count for -secs. The server's CPU
// (utime+stime of -sut-pid from /proc) is read at the start and the end of
// the counted window, with its RSS, threads and open files. One JSON line
// goes to stdout; -max-run bounds the whole run.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/switchboard/switchboard/internal/procstat"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	listen       = flag.String("listen", "127.0.0.1:35390", "address the callers' SDP points at")
	expect       = flag.Int("expect", 1000, "streams to wait for before counting")
	setupTimeout = flag.Duration("setup-timeout", 60*time.Second, "bound for the streams to appear")
	warmup       = flag.Duration("warmup", 3*time.Second, "after all streams appeared, before counting")
	secs         = flag.Duration("secs", 10*time.Second, "counted window")
	echo         = flag.Bool("echo", false, "send every packet back to its source (callers that talk)")
	sutPID       = flag.Int("sut-pid", 0, "PID of the server, for its CPU and memory")
	maxRun       = flag.Duration("max-run", 3*time.Minute, "hard bound for the whole run")
	label        = flag.String("label", "", "label in the JSON output")
)

const (
	pps    = 50  // 20 ms packets
	clkTck = 100 // USER_HZ on Linux x86-64
)

type streamStat struct {
	pkts   int       // in the counted window
	all    int       // since the first packet
	last   time.Time // arrival of the previous packet
	maxGap time.Duration
	sound  bool // a payload with more than one distinct byte value
}

// Result is the JSON line.
type Result struct {
	Label          string  `json:"label,omitempty"`
	Expect         int     `json:"expect"`
	Streams        int     `json:"streams"`
	SetupSecs      float64 `json:"streams_appeared_s"`
	WindowSecs     float64 `json:"window_s"`
	Full           int     `json:"streams_ge_95pct"`
	Short          int     `json:"streams_lt_95pct"`
	Dead           int     `json:"streams_dead_in_window"`
	Silent         int     `json:"streams_without_sound"`
	PPSMin         float64 `json:"stream_pps_min"`
	PPSP1          float64 `json:"stream_pps_p1"`
	PPSMedian      float64 `json:"stream_pps_median"`
	GapP50ms       float64 `json:"max_gap_p50_ms"`
	GapP99ms       float64 `json:"max_gap_p99_ms"`
	GapMaxms       float64 `json:"max_gap_max_ms"`
	PktsIn         int     `json:"pkts_in_window"`
	PktsEchoed     int     `json:"pkts_echoed"`
	SUTCPUs        float64 `json:"sut_cpu_s"`
	SUTCorePct     float64 `json:"sut_core_pct"`
	SUTusPerStream float64 `json:"sut_cpu_us_per_stream_per_s"`
	SUTRSSMB       float64 `json:"sut_rss_mb"`
	SUTThreads     int     `json:"sut_threads"`
	SUTFDs         int     `json:"sut_fds"`
	SinkDrops      int64   `json:"sink_sock_drops"`
	SinkCPUs       float64 `json:"sink_cpu_s"`
}

func main() {
	flag.Parse()
	time.AfterFunc(*maxRun, func() { fatal("max-run %s exceeded", *maxRun) })
	ap, err := netip.ParseAddrPort(*listen)
	if err != nil {
		fatal("-listen: %v", err)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		fatal("listen %s: %v", ap, err)
	}
	_ = conn.SetReadBuffer(16 << 20)

	var (
		mu       sync.Mutex
		streams  = map[netip.AddrPort]*streamStat{}
		counting bool
		echoed   int
		allSeen  = make(chan struct{})
		seenOnce sync.Once
	)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, src, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 12 || buf[0]>>6 != 2 {
				continue
			}
			now := time.Now()
			mu.Lock()
			st := streams[src]
			if st == nil {
				st = &streamStat{}
				streams[src] = st
				if len(streams) >= *expect {
					seenOnce.Do(func() { close(allSeen) })
				}
			}
			st.all++
			if counting {
				st.pkts++
				if !st.last.IsZero() {
					st.maxGap = max(st.maxGap, now.Sub(st.last))
				}
				if !st.sound {
					for _, b := range buf[12:n] {
						if b != buf[12] {
							st.sound = true
							break
						}
					}
				}
			}
			st.last = now
			mu.Unlock()
			if *echo {
				if _, err := conn.WriteToUDPAddrPort(buf[:n], src); err == nil {
					mu.Lock()
					echoed++
					mu.Unlock()
				}
			}
		}
	}()

	start := time.Now()
	res := Result{Label: *label, Expect: *expect}
	select {
	case <-allSeen:
	case <-time.After(*setupTimeout):
		mu.Lock()
		n := len(streams)
		mu.Unlock()
		fatal("only %d of %d streams appeared within %s", n, *expect, *setupTimeout)
	}
	res.SetupSecs = round(time.Since(start).Seconds(), 2)
	time.Sleep(*warmup)

	cpu0, self0 := procstat.CPUTicks(*sutPID), procstat.CPUTicks(os.Getpid())
	mu.Lock()
	counting = true
	for _, st := range streams {
		st.last = time.Time{} // gaps count from the first packet in the window
	}
	echo0 := echoed
	t0 := time.Now()
	mu.Unlock()
	time.Sleep(*secs)
	mu.Lock()
	counting = false
	window := time.Since(t0)
	cpu1, self1 := procstat.CPUTicks(*sutPID), procstat.CPUTicks(os.Getpid())
	res.PktsEchoed = echoed - echo0

	var rates []float64
	var gaps []time.Duration
	want := pps * window.Seconds()
	for _, st := range streams {
		res.PktsIn += st.pkts
		rates = append(rates, float64(st.pkts)/window.Seconds())
		switch {
		case st.pkts == 0:
			res.Dead++
		case float64(st.pkts) >= 0.95*want:
			res.Full++
		default:
			res.Short++
		}
		if st.pkts > 0 {
			gaps = append(gaps, st.maxGap)
			if !st.sound {
				res.Silent++
			}
		}
	}
	res.Streams = len(streams)
	mu.Unlock()

	res.WindowSecs = round(window.Seconds(), 2)
	sort.Float64s(rates)
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	if len(rates) > 0 {
		res.PPSMin = round(rates[0], 1)
		res.PPSP1 = round(rates[len(rates)/100], 1)
		res.PPSMedian = round(rates[len(rates)/2], 1)
	}
	if len(gaps) > 0 {
		ms := func(d time.Duration) float64 { return round(float64(d)/1e6, 1) }
		res.GapP50ms = ms(gaps[len(gaps)/2])
		res.GapP99ms = ms(gaps[len(gaps)*99/100])
		res.GapMaxms = ms(gaps[len(gaps)-1])
	}
	if *sutPID > 0 {
		res.SUTCPUs = round(float64(cpu1-cpu0)/clkTck, 2)
		res.SUTCorePct = round(100*res.SUTCPUs/window.Seconds(), 1)
		if res.Streams > 0 {
			res.SUTusPerStream = round(1e6*res.SUTCPUs/window.Seconds()/float64(res.Streams), 1)
		}
		res.SUTRSSMB, res.SUTThreads = procStatus(*sutPID)
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", *sutPID)); err == nil {
			res.SUTFDs = len(fds)
		}
	}
	res.SinkCPUs = round(float64(self1-self0)/clkTck, 2)
	res.SinkDrops = sockDrops(conn)
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "rtpsink: "+format+"\n", a...)
	os.Exit(1)
}

func round(v float64, d int) float64 {
	p := 1.0
	for range d {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

// procStatus returns pid's RSS in MB and its thread count.
func procStatus(pid int) (float64, int) {
	st, err := procstat.ReadStatus(pid)
	if err != nil {
		return 0, 0
	}
	return round(float64(st.RSSKB)/1024, 1), int(st.Threads)
}

// sockDrops is the kernel's drop counter of conn's socket (/proc/net/udp).
func sockDrops(conn *net.UDPConn) int64 {
	ap := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	a4 := ap.Addr().As4()
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a4[3], a4[2], a4[1], a4[0], ap.Port())
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 12 && f[1] == want {
			n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			return n
		}
	}
	return -1
}
