package simulate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/switchboard/switchboard/internal/procstat"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LoadConfig tunes RunLoad.
type LoadConfig struct {
	// Rate is the total arrivals per second, shared equally by the queues.
	Rate float64
	// Calls bounds the run (required).
	Calls int
	// Talk is how long each answered call lasts (fixed); default 2 s.
	Talk time.Duration
	// Answer is the agents' answer delay (fixed); default 0.
	Answer time.Duration
	// Agents, when > 0, are created first (users and extensions
	// FirstAgent… with password "load-<ext>", as admin) and made members
	// of every queue; otherwise Config.Agents are used.
	Agents     int
	FirstAgent int
	// EventClients are admin event streams (/api/events) opened for the
	// run, whose delivery lag is measured; default 4.
	EventClients int
	// SUTPID, when > 0, is Switchboard's process ID on this machine, for
	// its CPU time and resident memory from /proc.
	SUTPID int
}

// LoadResult is what a load run measured.
type LoadResult struct {
	Elapsed          time.Duration // first call placed → last call ended
	Offered          int
	Answered         int
	Abandoned        int // callers still waiting after the patience (60 s): capacity exceeded
	Failed           int
	AnsweredPerSec   float64 // answered calls / (last call placed − first call placed)
	PeakConcurrent   int     // calls connected to an agent at once (both legs with media)
	MediaChecked     int     // answered calls whose agent leg was checked for the caller's audio
	MediaOK          int     // of those, the agent received ≥ 80 % of the expected packets
	SetupP50         time.Duration
	SetupP99         time.Duration // INVITE sent → agent answered (queue routing + ringing + answer)
	RoutingP50       time.Duration // queue_call_entered → call_offered (server timestamps)
	RoutingP99       time.Duration
	RoutingN         int
	EventLagP50      time.Duration // event published → received by an event client
	EventLagP99      time.Duration
	EventsReceived   int
	EventClients     int
	GoMemBaseline    float64 // switchboard_go_memory_bytes before the calls
	GoMemPeak        float64 // … at peak concurrency
	RSSBaselineKB    int64   // SUTPID's VmRSS before the calls (0: no SUTPID)
	RSSPeakKB        int64
	MemPerCallKB     float64 // (peak − baseline) / PeakConcurrent, RSS if known, else Go memory
	SUTCPUSeconds    float64 // SUTPID's CPU over the run
	SUTCPUPerCallMs  float64
	SUTCPUPctOfCore  float64
	SimulatorProblem string // set when the run did not complete normally
}

// RunLoad runs cfg as a load test: fixed short calls at lc.Rate, agents
// answering at once, nobody missing, breaking or giving up early; the
// queues are set to longest idle without wrap-up (needs the admin
// credentials). It measures from the callers' and agents' side and from
// the event stream.
func RunLoad(ctx context.Context, cfg Config, lc LoadConfig) (LoadResult, error) {
	var res LoadResult
	if lc.Calls <= 0 || lc.Rate <= 0 {
		return res, errors.New("simulate: load needs Calls and Rate")
	}
	if cfg.AdminUser == "" {
		return res, errors.New("simulate: load needs the admin credentials (queue settings, event streams)")
	}
	if lc.Talk <= 0 {
		lc.Talk = 2 * time.Second
	}
	if lc.EventClients <= 0 {
		lc.EventClients = 4
	}
	if len(cfg.Queues) == 0 {
		return res, errors.New("simulate: load needs a queue")
	}
	hc := &http.Client{}
	admin := newAPIClient(cfg.APIURL, hc)
	if err := admin.login(ctx, cfg.AdminUser, cfg.AdminPassword); err != nil {
		return res, fmt.Errorf("simulate: %w", err)
	}
	if lc.Agents > 0 {
		agents, err := provisionAgents(ctx, admin, cfg.Queues, lc.FirstAgent, lc.Agents)
		if err != nil {
			return res, err
		}
		cfg.Agents = agents
	}
	settings := map[string]any{"strategy": "longest_idle", "wrapup_time_s": 0, "ring_time_s": 20, "max_waiting": 0, "max_wait_s": 0}
	for i := range cfg.Queues {
		q := &cfg.Queues[i]
		q.Rate = lc.Rate / float64(len(cfg.Queues))
		q.InitialCalls = 0
		q.HandleTime = Fixed(lc.Talk)
		q.Patience = Fixed(60 * time.Second)
		q.Settings = settings
	}
	cfg.MaxCalls = lc.Calls
	cfg.Duration = time.Duration(float64(lc.Calls)/lc.Rate*float64(time.Second)) + 30*time.Second
	cfg.DrainTimeout = lc.Talk + 90*time.Second
	cfg.AnswerDelay = Fixed(lc.Answer)
	cfg.MissProb, cfg.BreakProb = 0, 0
	cfg.WrapupDelay = Fixed(0)

	sim, err := New(cfg)
	if err != nil {
		return res, err
	}
	sim.checkMedia = true

	// Event streams: lag of every event, and each queue call's routing.
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	ev := &eventStats{entered: map[string]time.Time{}, offered: map[string]time.Time{}}
	var evWG sync.WaitGroup
	for i := range lc.EventClients {
		ready := make(chan error, 1)
		evWG.Add(1)
		go func() {
			defer evWG.Done()
			ev.read(evCtx, hc, admin, i == 0, ready)
		}()
		if err := <-ready; err != nil {
			return res, fmt.Errorf("simulate: event stream: %w", err)
		}
	}
	res.EventClients = lc.EventClients

	res.GoMemBaseline = goMemory(ctx, hc, cfg.APIURL)
	res.RSSBaselineKB = procstat.RSSKB(lc.SUTPID)
	// The clock and the server's CPU count from the first call: the
	// agents' logins and registrations before it are not the load.
	var start time.Time
	var cpu0 int64
	sim.firstArrival = func() {
		start = time.Now()
		cpu0 = procstat.CPUTicks(lc.SUTPID)
	}

	// Sample concurrency and memory while it runs.
	sampCtx, stopSampling := context.WithCancel(ctx)
	var sampWG sync.WaitGroup
	sampWG.Add(1)
	go func() {
		defer sampWG.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sampCtx.Done():
				return
			case <-t.C:
			}
			n := int(sim.connected.Load())
			if n > res.PeakConcurrent || n == res.PeakConcurrent && n > 0 {
				if n > res.PeakConcurrent {
					res.PeakConcurrent = n
				}
				res.GoMemPeak = max(res.GoMemPeak, goMemory(sampCtx, hc, cfg.APIURL))
				res.RSSPeakKB = max(res.RSSPeakKB, procstat.RSSKB(lc.SUTPID))
			}
		}
	}()

	runErr := sim.Run(ctx)
	if !start.IsZero() {
		res.Elapsed = time.Since(start)
	}
	stopSampling()
	sampWG.Wait()
	cpu1 := procstat.CPUTicks(lc.SUTPID)
	time.Sleep(300 * time.Millisecond) // the last events
	stopEvents()
	evWG.Wait()
	if runErr != nil {
		return res, runErr
	}

	t := sim.Tally()
	var waits []time.Duration
	var arrivalWindow time.Duration
	for _, q := range t.Queues {
		res.Offered += q.Offered
		res.Answered += q.Answered
		res.Abandoned += q.Abandoned
		res.Failed += q.Failed
		waits = append(waits, q.Waits...)
	}
	arrivalWindow = sim.lastArrival().Sub(start)
	if arrivalWindow > 0 {
		res.AnsweredPerSec = float64(res.Answered) / arrivalWindow.Seconds()
	}
	res.MediaChecked, res.MediaOK = int(sim.mediaChecked.Load()), int(sim.mediaOK.Load())
	res.SetupP50, res.SetupP99 = pct(waits, 0.5), pct(waits, 0.99)
	routing := ev.routing()
	res.RoutingN = len(routing)
	res.RoutingP50, res.RoutingP99 = pct(routing, 0.5), pct(routing, 0.99)
	res.EventsReceived = len(ev.lags)
	res.EventLagP50, res.EventLagP99 = pct(ev.lags, 0.5), pct(ev.lags, 0.99)
	if res.PeakConcurrent > 0 {
		if res.RSSPeakKB > 0 {
			res.MemPerCallKB = float64(res.RSSPeakKB-res.RSSBaselineKB) / float64(res.PeakConcurrent)
		} else {
			res.MemPerCallKB = (res.GoMemPeak - res.GoMemBaseline) / 1024 / float64(res.PeakConcurrent)
		}
	}
	if lc.SUTPID > 0 {
		res.SUTCPUSeconds = float64(cpu1-cpu0) / 100
		if res.Answered > 0 {
			res.SUTCPUPerCallMs = 1000 * res.SUTCPUSeconds / float64(res.Answered)
		}
		res.SUTCPUPctOfCore = 100 * res.SUTCPUSeconds / res.Elapsed.Seconds()
	}
	return res, nil
}

// provisionAgents creates n agents (user + extension first…first+n-1,
// password "load-<ext>") unless they exist, and makes them members of
// queues (each agent logs in to them when it starts).
func provisionAgents(ctx context.Context, admin *apiClient, queues []Queue, first, n int) ([]Agent, error) {
	if first <= 0 {
		first = 2000
	}
	agents := make([]Agent, 0, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		ext := strconv.Itoa(first + i)
		agents = append(agents, Agent{Extension: ext, SIPPassword: "load-" + ext})
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = provisionAgent(ctx, admin, ext)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("simulate: provision load agents: %w", err)
	}
	// Members are queue configuration: one PATCH per queue, which also
	// makes the ACD load the new users.
	for _, q := range queues {
		var cur struct {
			Members []map[string]any `json:"members"`
		}
		if err := admin.do(ctx, http.MethodGet, "/api/queues/"+q.Number, nil, &cur); err != nil {
			return nil, fmt.Errorf("simulate: provision load agents: %w", err)
		}
		have := map[string]bool{}
		for _, m := range cur.Members {
			have[fmt.Sprint(m["extension"])] = true
		}
		for _, a := range agents {
			if !have[a.Extension] {
				cur.Members = append(cur.Members, map[string]any{"extension": a.Extension, "penalty": 0})
			}
		}
		if err := admin.do(ctx, http.MethodPatch, "/api/queues/"+q.Number, map[string]any{"members": cur.Members}, nil); err != nil {
			return nil, fmt.Errorf("simulate: provision load agents: queue %s members: %w", q.Number, err)
		}
	}
	return agents, nil
}

func provisionAgent(ctx context.Context, admin *apiClient, ext string) error {
	pw := "load-" + ext
	var u struct {
		ID int64 `json:"id"`
	}
	err := admin.do(ctx, http.MethodPost, "/api/users",
		map[string]any{"username": ext, "display_name": "Load agent " + ext, "role": "agent", "password": pw}, &u)
	var ae *apiError
	switch {
	case err == nil:
		if err := admin.do(ctx, http.MethodPost, "/api/extensions",
			map[string]any{"number": ext, "display_name": "Load agent " + ext, "user_id": u.ID, "sip_password": pw}, nil); err != nil {
			return err
		}
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		// Made by an earlier run.
	default:
		return err
	}
	return nil
}

// eventStats collects event lags and queue calls' routing timelines.
type eventStats struct {
	mu      sync.Mutex
	lags    []time.Duration
	entered map[string]time.Time
	offered map[string]time.Time
}

func (e *eventStats) read(ctx context.Context, hc *http.Client, admin *apiClient, timeline bool, ready chan<- error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin.base+"/api/events", nil)
	if err != nil {
		ready <- err
		return
	}
	req.Header.Set("Authorization", "Bearer "+admin.token)
	resp, err := hc.Do(req)
	if err != nil {
		ready <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("GET /api/events: HTTP %d", resp.StatusCode)
		return
	}
	ready <- nil
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		now := time.Now()
		var ev struct {
			Type string    `json:"type"`
			Time time.Time `json:"time"`
			Data struct {
				ID   string `json:"id"`
				Call struct {
					ID string `json:"id"`
				} `json:"call"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(strings.TrimSpace(line)), &ev) != nil || ev.Time.IsZero() {
			continue
		}
		e.mu.Lock()
		e.lags = append(e.lags, now.Sub(ev.Time))
		if timeline {
			id := ev.Data.ID
			if id == "" {
				id = ev.Data.Call.ID
			}
			switch ev.Type {
			case "queue_call_entered":
				e.entered[id] = ev.Time
			case "call_offered":
				if _, ok := e.offered[id]; !ok {
					e.offered[id] = ev.Time
				}
			}
		}
		e.mu.Unlock()
	}
}

// routing is entered → first offer per call, for calls offered within
// 50 ms (found an agent idle; the others waited for one).
func (e *eventStats) routing() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []time.Duration
	for id, in := range e.entered {
		if off, ok := e.offered[id]; ok {
			if d := off.Sub(in); d >= 0 && d < 50*time.Millisecond {
				out = append(out, d)
			}
		}
	}
	return out
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// goMemory reads switchboard_go_memory_bytes from /metrics (served to
// loopback clients); 0 if unavailable.
func goMemory(ctx context.Context, hc *http.Client, base string) float64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return 0
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "switchboard_go_memory_bytes "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}
