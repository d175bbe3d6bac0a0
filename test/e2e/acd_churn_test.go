package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// ACD consistency under churn (issue "The ACD"): a few hundred short queue
// calls from sipp while five in-repo phones act as the agents of queue
// 8000 — answering after a moment, hanging up after a short random talk —
// and the agents log in and out of the queue, pause, go on break and come
// back at random through the API. Every snapshot of the queue's drill-down
// taken meanwhile must be consistent on its own (it is built under the
// engine's lock); once everything has settled, no agent is offered or busy
// without a call, no call is left, every call placed has its CDR, and the
// server still takes a queue call.
//
// Random choices come from one seed, printed (and taken from
// SWITCHBOARD_CHURN_SEED to replay the same choices; the timing on a
// shared machine still differs). Bounded: 200 calls at 8/s, each caller
// waiting at most 5 s, sipp itself bounded to 60 s.

const (
	churnCalls    = 200
	churnRate     = 8 // calls/s
	churnPatience = 5 * time.Second
)

var churnAgents = []string{"1001", "1002", "1003", "1004", "1005"}

// churnClient is a goroutine-safe API client for the churn (no t.Fatal).
type churnClient struct {
	s *server
}

func (c churnClient) do(user, method, path, body string, out any) (int, error) {
	pass := "demo-" + user
	if user == "admin" {
		pass = "demo-admin"
	}
	tok, err := c.s.login(user, pass)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(method, "http://"+c.s.HTTPAddr+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w: %s", method, path, err, raw)
		}
	} else if resp.StatusCode != 200 {
		return resp.StatusCode, fmt.Errorf("%s %s as %s: %d %s", method, path, user, resp.StatusCode, bytes.TrimSpace(raw))
	}
	return resp.StatusCode, nil
}

// queueDetail is the part of GET /api/queues/{n}/stats the churn checks.
type queueDetail struct {
	Waiting         int `json:"waiting"`
	Ringing         int `json:"ringing"`
	Active          int `json:"active"`
	Entered         int `json:"entered_last_hour"`
	Answered        int `json:"answered_last_hour"`
	Abandoned       int `json:"abandoned_last_hour"`
	Overflowed      int `json:"overflowed_last_hour"`
	Refused         int `json:"refused_last_hour"`
	AgentsAvailable int `json:"agents_available"`
	AgentsLoggedIn  int `json:"agents_logged_in"`
	AgentsPaused    int `json:"agents_paused"`
	AgentsOut       int `json:"agents_logged_out"`
	WaitingCalls    []struct {
		ID       string `json:"id"`
		Position int    `json:"position"`
	} `json:"waiting_calls"`
	RingingCalls []struct {
		ID     string `json:"id"`
		Agents []struct {
			ID int64 `json:"id"`
		} `json:"agents"`
	} `json:"ringing_calls"`
	AnsweredCalls []struct {
		ID     string `json:"id"`
		Agents []struct {
			ID int64 `json:"id"`
		} `json:"agents"`
	} `json:"answered_calls"`
	Members []struct {
		Extension string `json:"extension"`
		AgentID   int64  `json:"agent_id"`
		State     string `json:"state"`
		Presence  string `json:"presence"`
		CallID    string `json:"call_id"`
	} `json:"members"`
}

// consistent checks one drill-down snapshot against itself: the figures
// match the lists, every offered or busy member is on a call of the
// matching list, and no call waits while a member could take it.
func (d queueDetail) consistent() []string {
	var bad []string
	if d.Waiting != len(d.WaitingCalls)+len(d.RingingCalls) || d.Ringing != len(d.RingingCalls) || d.Active != len(d.AnsweredCalls) {
		bad = append(bad, fmt.Sprintf("figures waiting %d ringing %d active %d, lists %d waiting %d ringing %d answered",
			d.Waiting, d.Ringing, d.Active, len(d.WaitingCalls), len(d.RingingCalls), len(d.AnsweredCalls)))
	}
	if len(d.WaitingCalls) > 0 && d.AgentsAvailable > 0 {
		bad = append(bad, fmt.Sprintf("%d calls waiting while %d agents are available", len(d.WaitingCalls), d.AgentsAvailable))
	}
	for i, c := range d.WaitingCalls {
		if c.Position != i+1 {
			bad = append(bad, fmt.Sprintf("waiting call %s at position %d is listed %d", c.ID, c.Position, i+1))
		}
	}
	ringing, answered := map[string]bool{}, map[string]bool{}
	for _, c := range d.RingingCalls {
		ringing[c.ID] = true
		if len(c.Agents) == 0 {
			bad = append(bad, "call "+c.ID+" rings nobody")
		}
	}
	for _, c := range d.AnsweredCalls {
		answered[c.ID] = true
		if len(c.Agents) != 1 {
			bad = append(bad, fmt.Sprintf("answered call %s has %d agents", c.ID, len(c.Agents)))
		}
	}
	for _, m := range d.Members {
		switch {
		case m.Presence == "offered" && !ringing[m.CallID]:
			bad = append(bad, fmt.Sprintf("member %s is offered call %q, which is not ringing", m.Extension, m.CallID))
		case m.Presence == "busy" && !answered[m.CallID] && m.CallID != "":
			// Busy on another queue's call is fine; this test has one queue.
			bad = append(bad, fmt.Sprintf("member %s is busy on call %q, not answered in the queue", m.Extension, m.CallID))
		case (m.Presence == "offered" || m.Presence == "busy") && m.CallID == "":
			bad = append(bad, fmt.Sprintf("member %s is %s without a call", m.Extension, m.Presence))
		case m.Presence != "offered" && m.Presence != "busy" && m.CallID != "":
			bad = append(bad, fmt.Sprintf("member %s is %s but shows call %s", m.Extension, m.Presence, m.CallID))
		}
	}
	return bad
}

// churnAgent answers every call to its phone after a short random delay
// and hangs up after a short random talk.
func churnAgent(ctx context.Context, p *siptest.Phone, seed uint64, answered *atomic.Int64, wg *sync.WaitGroup) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for {
		var c *siptest.Call
		select {
		case c = <-p.Incoming():
		case <-ctx.Done():
			return
		}
		answerIn := time.Duration(20+rng.IntN(280)) * time.Millisecond
		talkFor := time.Duration(100+rng.IntN(700)) * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(answerIn):
			case <-c.Done(): // withdrawn, or another agent was quicker
				return
			}
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := c.Answer(actx); err != nil {
				return
			}
			answered.Add(1)
			select {
			case <-time.After(talkFor):
			case <-c.Done(): // the customer ran out of patience
				return
			}
			hctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel2()
			_ = c.Hangup(hctx)
		}()
	}
}

// churnAction is one random change an agent makes.
type churnAction struct {
	path, body string
}

var churnActions = []struct {
	weight int
	act    func(ext string) churnAction
}{
	{3, func(ext string) churnAction {
		return churnAction{"/api/queues/8000/members/" + ext, `{"state":"logged_in"}`}
	}},
	{2, func(ext string) churnAction {
		return churnAction{"/api/queues/8000/members/" + ext, `{"state":"paused"}`}
	}},
	{1, func(ext string) churnAction {
		return churnAction{"/api/queues/8000/members/" + ext, `{"state":"logged_out"}`}
	}},
	{6, func(string) churnAction { return churnAction{"/api/me/agent", `{"status":"available"}`} }},
	{1, func(string) churnAction {
		return churnAction{"/api/me/agent", `{"status":"break","reason_code":"coffee"}`}
	}},
	{1, func(string) churnAction {
		return churnAction{"/api/me/agent", `{"status":"offline","reason_code":"email"}`}
	}},
	{1, func(string) churnAction { return churnAction{"/api/me/agent", `{"status":"logged_out"}`} }},
}

func pickAction(rng *rand.Rand, ext string) churnAction {
	total := 0
	for _, a := range churnActions {
		total += a.weight
	}
	n := rng.IntN(total)
	for _, a := range churnActions {
		if n < a.weight {
			return a.act(ext)
		}
		n -= a.weight
	}
	panic("unreachable")
}

func TestACDConsistencyUnderChurn(t *testing.T) {
	requireTool(t, "sipp")
	seed := rand.Uint64()
	if v := os.Getenv("SWITCHBOARD_CHURN_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("SWITCHBOARD_CHURN_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	strategies := []string{"ringall", "longest_idle", "round_robin", "fewest_calls", "linear"}
	strategy := strategies[rng.IntN(len(strategies))]
	wrapup := rng.IntN(2) // 0 or 1 s
	t.Logf("seed %d (SWITCHBOARD_CHURN_SEED=%d replays the choices): strategy %s, wrap-up %d s", seed, seed, strategy, wrapup)

	// Up to ~40 callers wait at once, each holding RTP ports: more than
	// the harness's default slice of 200.
	s := startServer(t, serverOpts{extra: []string{"--log-level", "info", "--rtp-ports", "50000-51999"}})
	api := churnClient{s}
	if code, body := s.as(t, "admin", "PATCH", "/api/queues/8000",
		fmt.Sprintf(`{"strategy":%q,"wrapup_time_s":%d,"max_waiting":0,"max_wait_s":0,"join_empty":true}`, strategy, wrapup)); code != 200 {
		t.Fatalf("queue settings: %d %v", code, body)
	}

	ctx, stopAgents := context.WithCancel(context.Background())
	var (
		agentsWG sync.WaitGroup
		calls    sync.WaitGroup
		answered atomic.Int64
	)
	t.Cleanup(func() { stopAgents(); agentsWG.Wait(); calls.Wait() })
	var phones []*siptest.Phone
	for i, ext := range churnAgents {
		p := phone(t, s, ext, float64(600+100*i), "udp")
		phones = append(phones, p)
		agentsWG.Add(1)
		go func() {
			defer agentsWG.Done()
			churnAgent(ctx, p, seed+uint64(i), &answered, &calls)
		}()
		// Every agent starts available and logged in; log in once so the
		// churn's logins do not race each other.
		if code, err := api.do(ext, "PUT", "/api/me/agent", `{"status":"available"}`, nil); code != 200 {
			t.Fatalf("agent %s available: %v", ext, err)
		}
	}

	// Watch: every snapshot of the drill-down must be consistent.
	var (
		watchMu    sync.Mutex
		violations []string
		snapshots  int
		maxWaiting int
	)
	watchDone := make(chan struct{})
	stopWatch := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(100 * time.Millisecond):
			}
			var d queueDetail
			if _, err := api.do("admin", "GET", "/api/queues/8000/stats", "", &d); err != nil {
				watchMu.Lock()
				violations = append(violations, "GET stats: "+err.Error())
				watchMu.Unlock()
				continue
			}
			watchMu.Lock()
			snapshots++
			maxWaiting = max(maxWaiting, d.Waiting)
			for _, v := range d.consistent() {
				violations = append(violations, fmt.Sprintf("snapshot %d: %s", snapshots, v))
			}
			watchMu.Unlock()
		}
	}()

	// The callers.
	sippPort := freePort(t)
	r := startSipp(t, 90*time.Second, s.SIPAddr(), "-sf", sippScenario(t, "uac_queue_caller.xml"),
		"-s", "+31201230001", "-i", "127.0.0.1", "-p", strconv.Itoa(sippPort),
		"-m", strconv.Itoa(churnCalls), "-l", strconv.Itoa(churnCalls), "-r", strconv.Itoa(churnRate), "-timeout", "60s")

	// The churn: every 50–250 ms one agent changes something, until the
	// last caller has been placed and had time to wait.
	codes := map[string]int{}
	churnFor := time.Duration(churnCalls/churnRate)*time.Second + churnPatience/2
	start := time.Now()
	for changes := 0; time.Since(start) < churnFor; changes++ {
		time.Sleep(time.Duration(50+rng.IntN(200)) * time.Millisecond)
		ext := churnAgents[rng.IntN(len(churnAgents))]
		a := pickAction(rng, ext)
		code, err := api.do(ext, "PUT", a.path, a.body, nil)
		codes[fmt.Sprintf("%s %s → %d", a.path[:strings.LastIndexByte(a.path, '/')+1], a.body, code)]++
		if code != 200 {
			t.Errorf("agent %s: PUT %s %s: %v", ext, a.path, a.body, err)
		}
		select {
		case <-r.done:
			t.Fatalf("sipp ended during the churn:\n%s", r.report())
		default:
		}
	}
	// Everyone back, so the last callers are served.
	for _, ext := range churnAgents {
		for _, a := range []churnAction{{"/api/me/agent", `{"status":"available"}`}, {"/api/queues/8000/members/" + ext, `{"state":"logged_in"}`}} {
			if code, err := api.do(ext, "PUT", a.path, a.body, nil); code != 200 {
				t.Errorf("agent %s back: %v", ext, err)
			}
		}
	}
	if code := r.wait(); code != 0 {
		// One failure sipp cannot script away: the agent's BYE arriving in
		// the instant the caller's patience runs out, before sipp is ready
		// to take it ("Aborting call on an unexpected BYE"). The server
		// behaved (the BYE is right, the call ends, the CDR is written,
		// and every check below still runs); anything else fails.
		errs, _ := os.ReadFile(filepath.Join(r.dir, "errors.log"))
		crossed := strings.Count(string(errs), "Aborting call on an unexpected BYE")
		aborted := strings.Count(string(errs), "Aborting") + strings.Count(string(errs), "nexpected")
		if crossed == 0 || aborted != 2*crossed || crossed > 3 {
			t.Errorf("not every sipp caller followed the scenario (exit %d):\n%s", code, r.report())
		} else {
			t.Logf("sipp exit %d: %d caller(s) got the agent's BYE as their patience ran out (crossing BYEs sipp cannot script)", code, crossed)
		}
	}
	close(stopWatch)
	<-watchDone
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("churn: %4d × %s", codes[k], k)
	}
	watchMu.Lock()
	t.Logf("%d drill-down snapshots checked, at most %d callers waiting at once; agents answered %d offers",
		snapshots, maxWaiting, answered.Load())
	if len(violations) > 0 {
		t.Errorf("%d inconsistent snapshots, the first ones:\n%s", len(violations), strings.Join(violations[:min(len(violations), 20)], "\n"))
	}
	watchMu.Unlock()

	// Settled: no call, no agent offered or busy, nothing waiting.
	waitChurnSettled(t, s, api)
	var d queueDetail
	if _, err := api.do("admin", "GET", "/api/queues/8000/stats", "", &d); err != nil {
		t.Fatal(err)
	}
	t.Logf("queue 8000 last hour: entered %d, answered %d, abandoned %d, overflowed %d, refused %d",
		d.Entered, d.Answered, d.Abandoned, d.Overflowed, d.Refused)
	if d.Entered != churnCalls || d.Answered+d.Abandoned != churnCalls || d.Overflowed+d.Refused != 0 {
		t.Errorf("queue figures: entered %d, answered %d + abandoned %d, overflowed %d, refused %d; want %d entered, each answered or abandoned",
			d.Entered, d.Answered, d.Abandoned, d.Overflowed, d.Refused, churnCalls)
	}
	cdrs := queueCDRs(t, s)
	byDisposition, byAgent := map[string]int{}, map[string]int{}
	for _, c := range cdrs {
		byDisposition[c.Disposition]++
		byAgent[c.AnsweredBy]++
	}
	t.Logf("CDRs: %d, by disposition %v, by who answered %v", len(cdrs), byDisposition, byAgent)
	if len(cdrs) != churnCalls {
		t.Errorf("%d CDRs for %d calls placed", len(cdrs), churnCalls)
	}
	byAgents := 0
	for _, ext := range churnAgents {
		byAgents += byAgent[ext]
	}
	if byAgents != d.Answered {
		t.Errorf("%d CDRs answered by an agent, the queue counted %d answered", byAgents, d.Answered)
	}

	// Still healthy: a customer reaches an agent and they hear each other.
	var health struct {
		Status      string `json:"status"`
		ActiveCalls int    `json:"active_calls"`
	}
	if code, err := s.api("GET", "/healthz", nil, &health); err != nil || code != 200 || health.Status != "ok" || health.ActiveCalls != 0 {
		t.Fatalf("healthz: %d %v %+v", code, err, health)
	}
	stopAgents()
	agentsWG.Wait()
	calls.Wait()
	for i, p := range phones {
		if err := p.Unregister(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatalf("unregister %s: %v", churnAgents[i], err)
		}
		p.Close()
		if churnAgents[i] != "1003" {
			if code, err := api.do(churnAgents[i], "PUT", "/api/queues/8000/members/"+churnAgents[i], `{"state":"paused"}`, nil); code != 200 {
				t.Fatalf("pause %s: %v", churnAgents[i], err)
			}
		}
	}
	agentPhone := phone(t, s, "1003", agentHz, "udp")
	agentPhone.AutoAnswer(50 * time.Millisecond)
	cp := phone(t, s, "1009", customerHz, "udp")
	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("a queue call after the churn: %v", err)
	}
	agentCall := incoming(t, agentPhone, "agent 1003 after the churn")
	hearsOnly(t, cust, "the customer after the churn", agentHz)
	hearsOnly(t, agentCall, "agent 1003 after the churn", customerHz)
	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	waitChurnSettled(t, s, api)
	if n := len(queueCDRs(t, s)); n != churnCalls+1 {
		t.Errorf("%d CDRs after one more call, want %d", n, churnCalls+1)
	}
}

// waitChurnSettled waits until no call is left and every agent is idle (or in
// RONA, or wrap-up ending) without a call, in the call layer and the ACD alike.
func waitChurnSettled(t *testing.T, s *server, api churnClient) {
	t.Helper()
	eventually(t, 20*time.Second, func() error {
		var calls struct {
			Calls []callInfo `json:"calls"`
		}
		if _, err := api.do("admin", "GET", "/api/calls", "", &calls); err != nil {
			return err
		}
		if len(calls.Calls) != 0 {
			return fmt.Errorf("%d calls still up: %+v", len(calls.Calls), calls.Calls)
		}
		var agents struct {
			Agents []struct {
				Extensions []string        `json:"extensions"`
				Status     string          `json:"status"`
				State      string          `json:"state"`
				Call       json.RawMessage `json:"call"`
			} `json:"agents"`
		}
		if _, err := api.do("admin", "GET", "/api/agents", "", &agents); err != nil {
			return err
		}
		for _, a := range agents.Agents {
			if a.State != "idle" && a.State != "rona" || len(a.Call) > 0 && string(a.Call) != "null" {
				return fmt.Errorf("agent %v is %s/%s with call %s and no call is up", a.Extensions, a.Status, a.State, a.Call)
			}
		}
		var d queueDetail
		if _, err := api.do("admin", "GET", "/api/queues/8000/stats", "", &d); err != nil {
			return err
		}
		if d.Waiting+d.Ringing+d.Active != 0 || len(d.WaitingCalls)+len(d.RingingCalls)+len(d.AnsweredCalls) != 0 {
			return fmt.Errorf("queue 8000 still has calls: waiting %d ringing %d active %d", d.Waiting, d.Ringing, d.Active)
		}
		if bad := d.consistent(); len(bad) > 0 {
			return fmt.Errorf("settled snapshot inconsistent: %v", bad)
		}
		return nil
	})
}

// queueCDRs returns every CDR (up to 1,000) of calls to queue 8000.
func queueCDRs(t *testing.T, s *server) []cdr {
	t.Helper()
	var out []cdr
	for _, c := range s.cdrs(t) {
		if c.Target == "queue:8000" || slices.Contains([]string{"8000", "+31201230001"}, c.To) {
			out = append(out, c)
		}
	}
	return out
}
