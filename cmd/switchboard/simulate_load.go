package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/switchboard/switchboard/internal/simulate"
)

// loadFlags are "switchboard simulate --load"'s own flags.
type loadFlags struct {
	rate       *float64
	calls      *int
	talk       *time.Duration
	answer     *time.Duration
	agents     *int
	firstAgent *int
	evClients  *int
	sutPID     *int
	jsonOut    *bool
}

func registerLoadFlags(fs *flag.FlagSet) loadFlags {
	return loadFlags{
		rate:       fs.Float64("load-rate", 20, "load: total calls per second"),
		calls:      fs.Int("load-calls", 200, "load: calls in all (bounds the run)"),
		talk:       fs.Duration("load-talk", 2*time.Second, "load: length of each answered call"),
		answer:     fs.Duration("load-answer", 0, "load: agents answer after"),
		agents:     fs.Int("load-agents", 0, "load: create this many agents (users + extensions from --load-first-agent, password load-<ext>) instead of --agents"),
		firstAgent: fs.Int("load-first-agent", 2000, "load: first extension of the created agents"),
		evClients:  fs.Int("load-event-clients", 4, "load: event streams whose delivery lag is measured"),
		sutPID:     fs.Int("sut-pid", 0, "load: Switchboard's PID on this machine, for its CPU and RSS"),
		jsonOut:    fs.Bool("json", false, "load: print the result as JSON"),
	}
}

// runLoad is "switchboard simulate --load".
func runLoad(ctx context.Context, cfg simulate.Config, lf loadFlags, w io.Writer) error {
	if cfg.AdminUser == "" {
		cfg.AdminUser, cfg.AdminPassword = "admin", "demo-admin"
	}
	r, err := simulate.RunLoad(ctx, cfg, simulate.LoadConfig{
		Rate: *lf.rate, Calls: *lf.calls, Talk: *lf.talk, Answer: *lf.answer,
		Agents: *lf.agents, FirstAgent: *lf.firstAgent, EventClients: *lf.evClients, SUTPID: *lf.sutPID,
	})
	if err != nil {
		return err
	}
	if *lf.jsonOut {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
	fmt.Fprintf(w, "calls: %d offered, %d answered, %d abandoned, %d failed in %s\n", r.Offered, r.Answered, r.Abandoned, r.Failed, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "answered per second: %.1f (target %.1f)\n", r.AnsweredPerSec, *lf.rate)
	fmt.Fprintf(w, "peak concurrent calls with media: %d; media checked %d, ok %d\n", r.PeakConcurrent, r.MediaChecked, r.MediaOK)
	fmt.Fprintf(w, "INVITE → agent answered: p50 %s p99 %s\n", ms(r.SetupP50), ms(r.SetupP99))
	fmt.Fprintf(w, "queue routing (entered → offered, %d calls): p50 %s p99 %s\n", r.RoutingN, ms(r.RoutingP50), ms(r.RoutingP99))
	fmt.Fprintf(w, "event fan-out lag (%d clients, %d events): p50 %s p99 %s\n", r.EventClients, r.EventsReceived, ms(r.EventLagP50), ms(r.EventLagP99))
	fmt.Fprintf(w, "memory per concurrent call: %.1f kB (Go memory %.1f → %.1f MB, RSS %d → %d kB)\n", r.MemPerCallKB,
		r.GoMemBaseline/1e6, r.GoMemPeak/1e6, r.RSSBaselineKB, r.RSSPeakKB)
	if r.SUTCPUSeconds > 0 {
		fmt.Fprintf(w, "server CPU: %.2f s, %.2f ms per call, %.0f %% of a core\n", r.SUTCPUSeconds, r.SUTCPUPerCallMs, r.SUTCPUPctOfCore)
	}
	return nil
}
