// Command queuelatency measures, in the live system, how long a queue call
// takes from the ACD's Enter to the call layer ringing an agent: callers
// dial the Support DID (+31201230001, the demo trunk, from 127.0.0.1) at
// -rate while -agents in-repo phones answer after -answer and hang up after
// -talk, and the admin event stream (/api/events) gives each call's
// timeline, stamped by the server at publication:
//
//	call_created        the caller's INVITE reached the call layer
//	queue_call_entered  the ACD took the call (Enter, under its lock)
//	queue_call_offered  the ACD chose agents (same lock, at once when one is idle)
//	call_offered        the call layer got the offer and starts ringing the agent
//
// It reports percentiles of entered→offered (the routing decision as the
// call layer sees it: the ACD's choice plus the hand-over out of its lock)
// and created→offered, for the calls routed at once (an agent was idle on
// Enter) and for all calls, plus the server's CPU (-sut-pid). Start
// `switchboard demo` first (release build); this adds 1006–1008 to queue
// 8000 so that -agents up to 8 can serve it, and sets its -strategy. Bounded by -max-run.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/switchboard/switchboard/internal/procstat"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

var (
	sipAddr  = flag.String("sip", "127.0.0.1:35370", "Switchboard SIP address")
	httpAddr = flag.String("http", "127.0.0.1:35371", "Switchboard HTTP address")
	calls    = flag.Int("calls", 500, "queue calls to place")
	rate     = flag.Float64("rate", 20, "calls per second")
	nAgents  = flag.Int("agents", 8, "agents answering (1001…, at most 8)")
	answerIn = flag.Duration("answer", 20*time.Millisecond, "agents answer after")
	talk     = flag.Duration("talk", 150*time.Millisecond, "agents hang up after")
	strategy = flag.String("strategy", "longest_idle", "queue 8000's strategy for the run")
	sutPID   = flag.Int("sut-pid", 0, "PID of the server, for its CPU")
	maxRun   = flag.Duration("max-run", 3*time.Minute, "hard bound for the whole run")
)

type timeline struct {
	created, entered, qOffered, offered time.Time
}

func main() {
	flag.Parse()
	time.AfterFunc(*maxRun, func() { fatal("max-run %s exceeded", *maxRun) })
	ctx := context.Background()
	tok := login()
	api(tok, "PATCH", "/api/queues/8000", fmt.Sprintf(`{"strategy":%q}`, *strategy))
	for i := 1006; i <= 1008; i++ {
		api(tok, "PUT", fmt.Sprintf("/api/queues/8000/members/%d", i), `{"state":"logged_in"}`)
	}

	var answered atomic.Int64
	var agents []*siptest.Phone
	for i := range min(*nAgents, 8) {
		ext := strconv.Itoa(1001 + i)
		p, err := siptest.New(ctx, siptest.Config{User: ext, Password: "demo-" + ext, Server: *sipAddr, ToneHz: 1000})
		if err != nil {
			fatal("agent %s: %v", ext, err)
		}
		defer p.Close()
		if err := p.Register(ctx, 10*time.Minute); err != nil {
			fatal("register %s: %v", ext, err)
		}
		p.AutoAnswer(*answerIn)
		go func() {
			for c := range p.Incoming() {
				go func() {
					select {
					case <-c.Answered():
					case <-c.Done():
						return
					}
					answered.Add(1)
					select {
					case <-time.After(*talk):
					case <-c.Done():
						return
					}
					hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					defer cancel()
					_ = c.Hangup(hctx)
				}()
			}
		}()
		agents = append(agents, p)
	}

	var mu sync.Mutex
	tl := map[string]*timeline{}
	evCtx, stopEvents := context.WithCancel(ctx)
	ready := make(chan struct{})
	go readEvents(evCtx, tok, ready, func(typ string, at time.Time, id string) {
		mu.Lock()
		defer mu.Unlock()
		t := tl[id]
		if t == nil {
			t = &timeline{}
			tl[id] = t
		}
		switch typ {
		case "call_created":
			t.created = at
		case "queue_call_entered":
			t.entered = at
		case "queue_call_offered":
			if t.qOffered.IsZero() {
				t.qOffered = at
			}
		case "call_offered":
			if t.offered.IsZero() {
				t.offered = at
			}
		}
	})
	<-ready

	caller, err := siptest.New(ctx, siptest.Config{User: "+31612345678", Server: *sipAddr, ToneHz: 440})
	if err != nil {
		fatal("caller: %v", err)
	}
	defer caller.Close()
	cpu0 := procstat.CPUTicks(*sutPID)
	t0 := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	interval := time.Duration(float64(time.Second) / *rate)
	for i := range *calls {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * interval)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			c, err := caller.Dial(dctx, "+31201230001")
			if err != nil {
				failed.Add(1)
				return
			}
			select {
			case <-c.Done(): // the agent hung up
			case <-time.After(20 * time.Second):
				hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_ = c.Hangup(hctx)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	cpu1 := procstat.CPUTicks(*sutPID)
	time.Sleep(500 * time.Millisecond)
	stopEvents()

	mu.Lock()
	defer mu.Unlock()
	var atOnce, all, createdToOffered []time.Duration
	waited := 0
	for _, t := range tl {
		if t.entered.IsZero() || t.offered.IsZero() {
			continue
		}
		d := t.offered.Sub(t.entered)
		all = append(all, d)
		if t.qOffered.Sub(t.entered) < time.Millisecond {
			atOnce = append(atOnce, d)
			if !t.created.IsZero() {
				createdToOffered = append(createdToOffered, t.offered.Sub(t.created))
			}
		} else {
			waited++
		}
	}
	fmt.Printf("calls %d at %.0f/s over %.1f s, %d agents (answer %s, talk %s); caller failures %d; agents answered %d\n",
		*calls, *rate, elapsed.Seconds(), len(agents), *answerIn, *talk, failed.Load(), answered.Load())
	fmt.Printf("routed at once (an agent idle on Enter): %d; waited for an agent: %d\n", len(atOnce), waited)
	fmt.Printf("entered→call_offered, routed at once:  %s\n", pcts(atOnce))
	fmt.Printf("created→call_offered, routed at once:  %s\n", pcts(createdToOffered))
	fmt.Printf("entered→call_offered, all calls:       %s\n", pcts(all))
	if *sutPID > 0 {
		cpu := float64(cpu1-cpu0) / 100
		fmt.Printf("server CPU %.2f s = %.0f %% of a core, %.0f µs per call\n", cpu, 100*cpu/elapsed.Seconds(), 1e6*cpu/float64(*calls))
	}
}

func pcts(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	q := func(p float64) string {
		return fmt.Sprintf("%.3f ms", float64(ds[min(len(ds)-1, int(p*float64(len(ds))))])/1e6)
	}
	return fmt.Sprintf("n %d  p50 %s  p90 %s  p99 %s  max %s", len(ds), q(0.5), q(0.9), q(0.99), q(1))
}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "queuelatency: "+format+"\n", a...)
	os.Exit(1)
}

func login() string {
	resp, err := http.Post("http://"+*httpAddr+"/api/login", "application/json",
		strings.NewReader(`{"username":"admin","password":"demo-admin"}`))
	if err != nil {
		fatal("login: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		fatal("login: %d %v", resp.StatusCode, err)
	}
	return out.Token
}

func api(tok, method, path, body string) {
	req, _ := http.NewRequest(method, "http://"+*httpAddr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fatal("%s %s: %v", method, path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		fatal("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
}

// readEvents streams /api/events and calls f with each event's type, time
// and call ID.
func readEvents(ctx context.Context, tok string, ready chan<- struct{}, f func(typ string, at time.Time, id string)) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+*httpAddr+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		fatal("GET /api/events: %v %v", resp, err)
	}
	defer resp.Body.Close()
	close(ready)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		var e struct {
			Type string    `json:"type"`
			Time time.Time `json:"time"`
			Data struct {
				ID   string `json:"id"`
				Call struct {
					ID string `json:"id"`
				} `json:"call"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(strings.TrimSpace(line)), &e) != nil {
			continue
		}
		id := e.Data.ID
		if id == "" {
			id = e.Data.Call.ID
		}
		if id != "" {
			f(e.Type, e.Time, id)
		}
	}
}
