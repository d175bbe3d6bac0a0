// Command wsfanout measures the event WebSocket's fan-out: it starts
// `switchboard demo`, connects N WebSocket clients subscribed to "org",
// sets up a few live calls with in-repo softphones and holds/resumes them
// through the API at a fixed rate (real actions: each is one call_held or
// call_resumed event), then reports deliveries per second, the latency
// from an event's publication (its "time") to a client's receipt, and the
// server's CPU. Bounded: N clients (1,000), a warm-up and a measured
// window (10 s), then everything it started is stopped.
//
//	go run ./bench/wsfanout [-clients 1000] [-rate 120] [-secs 10]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/switchboard/switchboard/internal/procstat"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard/switchboard/internal/siptest"
)

func main() {
	clients := flag.Int("clients", 1000, "WebSocket clients")
	rate := flag.Int("rate", 120, "events per second (hold/resume API calls)")
	calls := flag.Int("calls", 4, "live calls held and resumed (1..4)")
	secs := flag.Int("secs", 10, "measured seconds")
	warm := flag.Int("warmup", 2, "warm-up seconds before measuring")
	bin := flag.String("binary", "", "switchboard binary (default: go build ./cmd/switchboard)")
	pprofAddr := flag.String("pprof", "", "host:port for a pprof-enabled binary's SB_PPROF_ADDR (see bench/profile.sh); a CPU profile of the measured window is written to -cpuprofile")
	cpuProfile := flag.String("cpuprofile", "wsfanout.pprof", "where -pprof writes the server's CPU profile")
	flag.Parse()
	prof = profileOpts{addr: *pprofAddr, out: *cpuProfile}
	if err := run(*clients, *rate, min(max(*calls, 1), 4), *secs, *warm, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "wsfanout:", err)
		os.Exit(1)
	}
}

// profileOpts asks a pprof-enabled server (built as bench/profile.sh does,
// serving net/http/pprof on $SB_PPROF_ADDR) for a CPU profile of the
// measured window.
type profileOpts struct{ addr, out string }

var prof profileOpts

// fetchProfile writes a CPU profile of the next secs seconds to prof.out.
func fetchProfile(secs int) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", prof.addr, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("pprof: HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(prof.out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(nClients, rate, nCalls, secs, warm int, bin string) error {
	dir, err := os.MkdirTemp("", "wsfanout")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "switchboard")
		b := exec.Command("go", "build", "-o", bin, "./cmd/switchboard")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	sipAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	srv := exec.Command(bin, "demo", "--data-dir", filepath.Join(dir, "data"), "--sip-addr", sipAddr,
		"--http-addr", httpAddr, "--rtp-ports", "47000-47199", "--carrier-addr", fmt.Sprintf("127.0.0.1:%d", freePort()),
		"--log-level", "warn")
	srv.Stdout, srv.Stderr = io.Discard, os.Stderr
	srv.Env = append(os.Environ(), "SWITCHBOARD_DEMO_SIMULATE=false") // no simulated demo traffic
	if prof.addr != "" {
		srv.Env = append(srv.Env, "SB_PPROF_ADDR="+prof.addr)
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
	}()
	base := "http://" + httpAddr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			return errors.New("server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	token, err := login(base)
	if err != nil {
		return err
	}

	// Clients.
	var (
		delivered atomic.Int64
		hist      latencyHist
		measuring atomic.Bool
	)
	conns := make([]net.Conn, 0, nClients)
	var wg sync.WaitGroup
	for i := 0; i < nClients; i++ {
		d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + token}}), Timeout: 10 * time.Second}
		conn, br, _, err := d.Dial(context.Background(), "ws://"+httpAddr+"/api/ws")
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		conns = append(conns, conn)
		if err := wsutil.WriteClientText(conn, []byte(`{"type":"subscribe","topics":["org"]}`)); err != nil {
			return err
		}
		var r io.Reader = conn
		if br != nil {
			r = br
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			readEvents(bufio.NewReaderSize(r, 16<<10), conn, &delivered, &hist, &measuring)
		}()
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	fmt.Fprintf(os.Stderr, "%d clients subscribed\n", nClients)

	// Live calls.
	var ids []string
	for i := 0; i < nCalls; i++ {
		from, to := fmt.Sprint(1001+2*i), fmt.Sprint(1002+2*i)
		a, err := newPhone(sipAddr, from)
		if err != nil {
			return err
		}
		defer a.Close()
		b, err := newPhone(sipAddr, to)
		if err != nil {
			return err
		}
		defer b.Close()
		b.AutoAnswer(50 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = a.Dial(ctx, to)
		cancel()
		if err != nil {
			return fmt.Errorf("dial %s → %s: %w", from, to, err)
		}
	}
	for i := 0; len(ids) < nCalls; i++ {
		ids, err = liveCalls(base, token)
		if err != nil {
			return err
		}
		if i > 100 {
			return fmt.Errorf("%d of %d calls answered", len(ids), nCalls)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Drive events: each call alternates hold and resume at rate/nCalls.
	stop := make(chan struct{})
	var published atomic.Int64
	var dwg sync.WaitGroup
	for _, id := range ids {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			t := time.NewTicker(time.Duration(float64(time.Second) * float64(nCalls) / float64(rate)))
			defer t.Stop()
			held := false
			for {
				select {
				case <-stop:
					if held {
						_ = post(base, token, "/api/calls/"+id+"/resume", "")
					}
					return
				case <-t.C:
				}
				var err error
				if held {
					err = post(base, token, "/api/calls/"+id+"/resume", "")
				} else {
					err = post(base, token, "/api/calls/"+id+"/hold", `{"party":"caller"}`)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "drive:", err)
					continue
				}
				held = !held
				if measuring.Load() {
					published.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Duration(warm) * time.Second)
	cpu0, err := cpuTicks(srv.Process.Pid)
	if err != nil {
		return err
	}
	d0 := delivered.Load()
	start := time.Now()
	measuring.Store(true)
	profDone := make(chan error, 1)
	if prof.addr != "" {
		go func() { profDone <- fetchProfile(max(secs-1, 1)) }()
	}
	time.Sleep(time.Duration(secs) * time.Second)
	measuring.Store(false)
	elapsed := time.Since(start)
	d1 := delivered.Load()
	cpu1, err := cpuTicks(srv.Process.Pid)
	if err != nil {
		return err
	}
	close(stop)
	dwg.Wait()
	if prof.addr != "" {
		if err := <-profDone; err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
		} else {
			fmt.Fprintln(os.Stderr, "CPU profile written to", prof.out)
		}
	}

	rss, _ := rssKB(srv.Process.Pid)
	n := d1 - d0
	fmt.Printf("clients %d, calls %d, target %d events/s, measured %.1f s\n", nClients, nCalls, rate, elapsed.Seconds())
	fmt.Printf("events published      %d (%.0f/s)\n", published.Load(), float64(published.Load())/elapsed.Seconds())
	fmt.Printf("deliveries            %d (%.0f/s)\n", n, float64(n)/elapsed.Seconds())
	fmt.Printf("latency publish→recv  p50 %s  p99 %s  max %s  (%d samples)\n", hist.quantile(0.50), hist.quantile(0.99), hist.max(), hist.count())
	fmt.Printf("server CPU            %.1f%% of one core (utime+stime %d ticks)\n", float64(cpu1-cpu0)/100/elapsed.Seconds()*100, cpu1-cpu0)
	fmt.Printf("server RSS at end     %d kB\n", rss)
	return nil
}

// readEvents reads server frames, counting events and recording their
// latency while measuring. It scans for "time" rather than decoding, so
// the clients (on the same machine) cost little CPU.
func readEvents(r *bufio.Reader, conn net.Conn, delivered *atomic.Int64, hist *latencyHist, measuring *atomic.Bool) {
	key := []byte(`"time":"`)
	buf := make([]byte, 0, 64<<10)
	for {
		h, err := ws.ReadHeader(r)
		if err != nil {
			return
		}
		if int64(cap(buf)) < h.Length {
			buf = make([]byte, h.Length)
		}
		buf = buf[:h.Length]
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		now := time.Now()
		switch h.OpCode {
		case ws.OpPing:
			_ = wsutil.WriteClientMessage(conn, ws.OpPong, buf)
			continue
		case ws.OpClose:
			return
		case ws.OpText:
		default:
			continue
		}
		if !measuring.Load() {
			continue
		}
		p := buf
		for {
			i := bytes.Index(p, key)
			if i < 0 {
				break
			}
			p = p[i+len(key):]
			j := bytes.IndexByte(p, '"')
			if j < 0 {
				break
			}
			if t, err := time.Parse(time.RFC3339Nano, string(p[:j])); err == nil {
				delivered.Add(1)
				hist.add(now.Sub(t))
			}
		}
	}
}

// latencyHist counts latencies in 100 µs buckets up to 5 s.
type latencyHist struct {
	buckets [50000]atomic.Int64
	over    atomic.Int64
}

func (h *latencyHist) add(d time.Duration) {
	i := int(d / (100 * time.Microsecond))
	if i < 0 {
		i = 0
	}
	if i >= len(h.buckets) {
		h.over.Add(1)
		return
	}
	h.buckets[i].Add(1)
}

func (h *latencyHist) count() int64 {
	n := h.over.Load()
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

func (h *latencyHist) quantile(q float64) time.Duration {
	total := h.count()
	want := int64(float64(total)*q + 0.5)
	var n int64
	for i := range h.buckets {
		n += h.buckets[i].Load()
		if n >= want && n > 0 {
			return time.Duration(i+1) * 100 * time.Microsecond
		}
	}
	return 5 * time.Second
}

func (h *latencyHist) max() time.Duration {
	if h.over.Load() > 0 {
		return 5 * time.Second
	}
	for i := len(h.buckets) - 1; i >= 0; i-- {
		if h.buckets[i].Load() > 0 {
			return time.Duration(i+1) * 100 * time.Microsecond
		}
	}
	return 0
}

func newPhone(server, ext string) (*siptest.Phone, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := siptest.New(ctx, siptest.Config{User: ext, Password: "demo-" + ext, Server: server, Transport: "udp", ToneHz: 440})
	if err != nil {
		return nil, fmt.Errorf("phone %s: %w", ext, err)
	}
	if err := p.Register(ctx, 300*time.Second); err != nil {
		p.Close()
		return nil, fmt.Errorf("register %s: %w", ext, err)
	}
	return p, nil
}

func login(base string) (string, error) {
	resp, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"admin","password":"demo-admin"}`))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("login: HTTP %d %v", resp.StatusCode, err)
	}
	return out.Token, nil
}

func liveCalls(base, token string) ([]string, error) {
	req, _ := http.NewRequest("GET", base+"/api/calls", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Calls []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"calls"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range out.Calls {
		if c.State == "answered" {
			ids = append(ids, c.ID)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func post(base, token, path, body string) error {
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("POST %s: HTTP %d", path, resp.StatusCode)
	}
	return nil
}

// cpuTicks is utime+stime of pid in clock ticks (USER_HZ, 100 on Linux).
func cpuTicks(pid int) (int64, error) {
	st, err := procstat.ReadStat(pid)
	return st.Ticks, err
}

func rssKB(pid int) (int, error) {
	st, err := procstat.ReadStatus(pid)
	return int(st.RSSKB), err
}
