package reports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/capacity"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/simulate"
)

// The two "Show" tests, on one seeded simulation (internal/simulate)
// against a Switchboard with the demo organisation started in this process
// on ephemeral ports; the simulator and the checks talk only SIP and HTTP
// to it.
//
//   - erlang_c: the service level Erlang C predicts for the offered load
//     and the agents is within slTolerance of the one the simulator
//     measured, for two loads.
//   - report_counts: the queue report's offered/answered/abandoned/other
//     equal the CDRs' and the simulator's own tally.

// slTolerance is how far (absolute, as a share) the simulated service
// level may lie from Erlang C's. About a hundred calls per queue (what
// fits in the time budget) give a binomial standard error of about 0.04
// at SL 0.8, and a queue's successive waits are correlated, which widens
// it; a run of some 40 handle times starts with an empty queue, which
// favours the simulation; and the model ignores the milliseconds of
// signalling in every wait.
const slTolerance = 0.15

// simLoad is one queue's traffic in the simulation.
type simLoad struct {
	queue, did string
	agents     []string // the simulated agents; the queue's other members are logged out
	others     []string
	rate       float64 // calls per second
}

func TestSimulatedQueues(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Switchboard and places hundreds of calls")
	}
	sb := startSwitchboard(t)
	admin := sb.login(t, "admin", "demo-admin")
	const (
		talk      = 800 * time.Millisecond // mean, exponential: Erlang C's assumption
		wrapup    = time.Second
		threshold = time.Second
		total     = 200
	)
	loads := []simLoad{
		// 3 agents at about 2.2 Erlangs, 4 at about 2.9 (73 % busy): loads
		// where the wait depends strongly on the agents.
		{queue: "8001", did: "+31201230002", agents: []string{"1006", "1007", "1008"}, rate: 1.1},
		{queue: "8000", did: "+31201230001", agents: []string{"1002", "1003", "1004", "1005"}, others: []string{"1001"}, rate: 1.45},
	}
	sumRates := 0.0
	for _, l := range loads {
		sumRates += l.rate
	}
	var queues []simulate.Queue
	var agents []string
	for _, l := range loads {
		for _, ext := range l.others {
			admin.do(t, http.MethodPut, "/api/queues/"+l.queue+"/members/"+ext, `{"state":"logged_out"}`, nil)
		}
		queues = append(queues, simulate.Queue{
			Number: l.queue, DID: l.did, Rate: l.rate,
			HandleTime: simulate.Exp(talk),
			// No wrap-up codes to post: a simulated agent rejects offers
			// (486) until its post-call work is done, and the ACD then
			// skips it for 5 s (BusyRetry). A fixed wrap-up time instead
			// keeps the ACD from offering until the agent is free.
			WrapupCodes:  []string{},
			Patience:     simulate.Fixed(time.Hour), // Erlang C's callers never give up
			ServiceLevel: threshold,
			// One agent offered at a time, free again a fixed wrap-up after
			// each call (part of the handle time the model is given).
			Settings: map[string]any{"strategy": "longest_idle", "ring_time_s": 5, "wrapup_time_s": int(wrapup / time.Second)},
		})
		agents = append(agents, l.agents...)
	}
	started := time.Now()
	sim, err := simulate.New(simulate.Config{
		SIPAddr: sb.sip, APIURL: sb.api,
		Queues: queues, Agents: simulate.DemoAgents(agents...),
		AdminUser: "admin", AdminPassword: "demo-admin",
		Seed: 11, MaxCalls: total, DrainTimeout: 30 * time.Second,
		AnswerDelay:  simulate.Fixed(time.Millisecond),
		WrapupDelay:  simulate.Fixed(time.Millisecond),
		CallerToneHz: -1, AgentToneHz: -1, // keep the machine's cores for signalling
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the simulation ran into the test's time bound")
	}
	tally := sim.Tally()
	ended := time.Now()
	t.Logf("seed %d, %d calls in %s", sim.Seed(), total, ended.Sub(started).Round(time.Millisecond))

	t.Run("erlang_c", func(t *testing.T) {
		for _, l := range loads {
			q := tally.Queues[l.queue]
			if q.Abandoned != 0 || q.Failed != 0 || q.Answered < 60 {
				t.Fatalf("queue %s: answered %d, abandoned %d, failed %d: want ≥ 60 answered and nothing else",
					l.queue, q.Answered, q.Abandoned, q.Failed)
			}
			// The model is fed the load really offered: the queue's calls
			// over the arrivals' span (MaxCalls at the summed rates; a
			// queue's share of them varies), and the handle time the
			// agents really gave: talk (answer to hang-up, as the
			// simulator measured it) + wrap-up.
			span := float64(total) / sumRates
			load := capacity.Load{CallsPerHour: float64(q.Offered) / span * 3600, HandleTime: q.MeanHandle() + wrapup}
			e := capacity.Predict(load, len(l.agents), threshold)
			measured := q.ServiceLevelPct()
			t.Logf("queue %s: %d agents, %.2f Erlangs (handle %s): Erlang C SL %.3f (P(wait) %.3f, ASA %s); simulated SL %.3f (%d of %d within %s), mean wait %s",
				l.queue, len(l.agents), e.Erlangs, q.MeanHandle().Round(time.Millisecond), e.ServiceLevel, e.ProbWait,
				e.ASA.Round(time.Millisecond), measured, q.AnsweredInSL, q.Answered, threshold, q.MeanWait().Round(time.Millisecond))
			if !e.Stable || math.Abs(measured-e.ServiceLevel) > slTolerance {
				t.Errorf("queue %s: simulated SL %.3f, Erlang C %.3f: more than %.2f apart", l.queue, measured, e.ServiceLevel, slTolerance)
			}
		}
	})

	t.Run("report_counts", func(t *testing.T) {
		from, to := started.Add(-time.Minute).UTC().Format(time.RFC3339), ended.Add(time.Minute).UTC().Format(time.RFC3339)
		for _, l := range loads {
			q := tally.Queues[l.queue]
			// CDRs are written behind a queue: wait (bounded) until the
			// last ones are in.
			var cdrs struct {
				CDRs []struct {
					AnsweredAt  *time.Time `json:"answered_at"`
					Disposition string     `json:"disposition"`
				} `json:"cdrs"`
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				cdrs.CDRs = nil // decoding into old elements would keep their answered_at
				admin.do(t, http.MethodGet, "/api/cdrs?queue="+l.queue+"&limit=10000&since="+from+"&until="+to, "", &cdrs)
				if len(cdrs.CDRs) >= q.Offered || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			var fromCDRs [4]int // offered, answered, abandoned, other
			for _, c := range cdrs.CDRs {
				fromCDRs[0]++
				switch {
				case c.AnsweredAt != nil:
					fromCDRs[1]++
				case c.Disposition == "abandoned":
					fromCDRs[2]++
				default:
					fromCDRs[3]++
				}
			}
			var rep struct {
				Rows   []map[string]any `json:"rows"`
				Totals []struct {
					Queue                               string
					Offered, Answered, Abandoned, Other int
				} `json:"totals"`
			}
			admin.do(t, http.MethodGet, "/api/reports/queues?queue="+l.queue+"&from="+from+"&to="+to, "", &rep)
			if len(rep.Totals) != 1 {
				t.Fatalf("queue %s: report totals %+v", l.queue, rep.Totals)
			}
			tot := rep.Totals[0]
			fromReport := [4]int{tot.Offered, tot.Answered, tot.Abandoned, tot.Other}
			fromTally := [4]int{q.Offered, q.Answered, q.Abandoned, q.Failed}
			var perHour [4]int
			for _, r := range rep.Rows {
				for i, k := range []string{"offered", "answered", "abandoned", "other"} {
					perHour[i] += int(r[k].(float64))
				}
			}
			t.Logf("queue %s: offered/answered/abandoned/other — report %v, hourly rows %v, CDRs %v, simulator %v",
				l.queue, fromReport, perHour, fromCDRs, fromTally)
			if fromReport != fromCDRs || fromReport != fromTally || perHour != fromReport {
				t.Errorf("queue %s: report %v, hourly rows %v, CDRs %v, simulator %v: want all equal",
					l.queue, fromReport, perHour, fromCDRs, fromTally)
			}
		}
	})
}

// switchboard is a Switchboard with the demo organisation, started in this
// process on ephemeral ports.
type switchboard struct{ sip, api string }

func freePort(t *testing.T) int {
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
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.SIP.Addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	lo := 44000 + 2*rand.IntN(3000) // an RTP range away from the e2e tests'
	cfg.RTP.PortMin, cfg.RTP.PortMax = lo, lo+1999
	cfg.LogLevel = "warn"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(ctx, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Seed(ctx, st, demo.Options{Realm: cfg.SIP.Realm, CarrierAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Start(ctx, cfg, st, log)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		a.Shutdown(sctx)
		st.Close()
	})
	return switchboard{sip: a.SIPAddr(), api: "http://" + a.HTTPAddr()}
}

// client is a logged-in API user.
type client struct{ api, token string }

func (sb switchboard) login(t *testing.T, user, password string) client {
	t.Helper()
	resp, err := http.Post(sb.api+"/api/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, password)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Token == "" {
		t.Fatalf("login %s: %d %v", user, resp.StatusCode, err)
	}
	return client{api: sb.api, token: tok.Token}
}

// do sends one request and decodes a 2xx answer into out.
func (c client) do(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, c.api+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
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
