package simulate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/simulate"
)

// switchboard is a Switchboard with the demo organisation, started in
// this process on ephemeral ports (the simulator still only talks SIP and
// HTTP to it).
type switchboard struct {
	sip, api string
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func startSwitchboard(t *testing.T) switchboard {
	t.Helper()
	// A port found free may be taken by someone else before the server
	// binds it: try again with others.
	for attempt := 0; ; attempt++ {
		sb, err := tryStartSwitchboard(t)
		if err == nil {
			return sb
		}
		if attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
}

func tryStartSwitchboard(t *testing.T) (switchboard, error) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.SIP.Addr = fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))
	cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))
	// An RTP range of its own, below the e2e tests' (42000 and up).
	lo := 30000 + 2*rand.IntN(5000)
	cfg.RTP.PortMin, cfg.RTP.PortMax = lo, lo+1999
	cfg.LogLevel = "warn"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(ctx, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Seed(ctx, st, demo.Options{Realm: cfg.SIP.Realm, CarrierAddr: fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))}); err != nil {
		st.Close()
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Start(ctx, cfg, st, log)
	if err != nil {
		st.Close()
		return switchboard{}, err
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		a.Shutdown(sctx)
		st.Close()
	})
	return switchboard{sip: a.SIPAddr(), api: "http://" + a.HTTPAddr()}, nil
}

// adminDo is one API request as the demo administrator.
func adminDo(t *testing.T, sb switchboard, method, path, body string, out any) {
	t.Helper()
	resp, err := http.Post(sb.api+"/api/login", "application/json",
		strings.NewReader(`{"username":"admin","password":"demo-admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest(method, sb.api+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSimulationTallyMatchesQueue runs a short seeded simulation (a few
// callers give up, some offers ring out) and checks that every call
// placed is counted exactly once and that Switchboard's queue figures
// agree with the simulator's tally.
func TestSimulationTallyMatchesQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Switchboard and places calls")
	}
	sb := startSwitchboard(t)
	// Only simulated agents take Support's calls.
	for _, ext := range []string{"1001", "1005"} {
		adminDo(t, sb, http.MethodPut, "/api/queues/8000/members/"+ext, `{"state":"logged_out"}`, nil)
	}
	const calls = 16
	sim, err := simulate.New(simulate.Config{
		SIPAddr: sb.sip,
		APIURL:  sb.api,
		Queues: []simulate.Queue{{
			Number: "8000", DID: "+31201230001", Rate: 2, InitialCalls: 5,
			HandleTime:   simulate.Uniform(200*time.Millisecond, 600*time.Millisecond),
			Patience:     simulate.Uniform(100*time.Millisecond, 3*time.Second),
			ServiceLevel: time.Second,
			Settings:     map[string]any{"strategy": "longest_idle", "ring_time_s": 1, "wrapup_time_s": 1},
		}},
		Agents:        simulate.DemoAgents("1002", "1003", "1004"),
		AdminUser:     "admin",
		AdminPassword: "demo-admin",
		Seed:          7,
		MaxCalls:      calls,
		DrainTimeout:  30 * time.Second,
		AnswerDelay:   simulate.Uniform(20*time.Millisecond, 200*time.Millisecond),
		MissProb:      0.15,
		RONARecovery:  simulate.Fixed(200 * time.Millisecond),
		WrapupDelay:   simulate.Fixed(100 * time.Millisecond),
		BreakProb:     0.2,
		BreakReasons:  []string{"coffee", "lunch"},
		BreakLength:   simulate.Fixed(300 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the simulation ran into the test's time bound")
	}
	q := sim.Tally().Queues["8000"]
	t.Logf("seed %d: offered %d answered %d (in SL %d) abandoned %d failed %d RONAs %d wrap-up codes %v mean wait %s mean handle %s",
		sim.Seed(), q.Offered, q.Answered, q.AnsweredInSL, q.Abandoned, q.Failed, q.RONAs, q.WrapupCodes, q.MeanWait(), q.MeanHandle())
	if q.Offered != calls {
		t.Errorf("offered %d calls, want %d", q.Offered, calls)
	}
	if q.Answered+q.Abandoned+q.Failed != q.Offered {
		t.Errorf("answered %d + abandoned %d + failed %d != offered %d", q.Answered, q.Abandoned, q.Failed, q.Offered)
	}
	if q.Failed != 0 || q.Answered == 0 {
		t.Errorf("failed %d, answered %d: want none failed and some answered", q.Failed, q.Answered)
	}
	if len(q.Waits) != q.Answered || len(q.HandleTimes) != q.Answered {
		t.Errorf("%d waits and %d handle times for %d answered calls", len(q.Waits), len(q.HandleTimes), q.Answered)
	}
	codes := 0
	for _, n := range q.WrapupCodes {
		codes += n
	}
	if codes != q.Answered {
		t.Errorf("%d wrap-up codes posted for %d answered calls", codes, q.Answered)
	}

	// Switchboard's own figures for the queue agree (they settle as the
	// last calls' ends are processed).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st struct {
			Entered   int `json:"entered_last_hour"`
			Answered  int `json:"answered_last_hour"`
			Abandoned int `json:"abandoned_last_hour"`
			Waiting   int `json:"waiting"`
			Active    int `json:"active"`
		}
		adminDo(t, sb, http.MethodGet, "/api/queues/8000/stats", "", &st)
		ok := st.Entered == q.Offered && st.Answered == q.Answered && st.Abandoned == q.Abandoned && st.Waiting == 0 && st.Active == 0
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue stats %+v, simulator: offered %d answered %d abandoned %d", st, q.Offered, q.Answered, q.Abandoned)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
