package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/switchboard/switchboard/internal/simulate"
)

// demoSimulateEnv turns the demo's simulated traffic off when "false"
// (the flag --simulate wins): test harnesses and benchmark scripts set it
// so that every demo they start is quiet, whatever its version.
const demoSimulateEnv = "SWITCHBOARD_DEMO_SIMULATE"

// demoSimulateDefault is --simulate's default: on unless the environment
// says otherwise.
func demoSimulateDefault() bool {
	v, ok := os.LookupEnv(demoSimulateEnv)
	if !ok || v == "" {
		return true
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// runSimulation runs the demo's traffic until ctx ends, logging a
// failure to start (the demo itself keeps running).
func runSimulation(ctx context.Context, cfg simulate.Config, log *slog.Logger) {
	cfg.Logger = log
	sim, err := simulate.New(cfg)
	if err == nil {
		err = sim.Run(ctx)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("simulated traffic stopped", "error", err)
	}
}

const simulateUsage = `usage: switchboard simulate --target HOST:PORT [flags]

Places simulated customer calls to queues through a trunk (unauthenticated
INVITEs to DIDs, from --listen) and plays agents who register a phone and
use the REST API, against any Switchboard. Stops after --duration or
--max-calls (or Ctrl-C), waits for the calls in progress, prints the tally.
`

// simulateCmd is "switchboard simulate".
func simulateCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, simulateUsage)
		fs.PrintDefaults()
	}
	target := fs.String("target", "", "Switchboard's SIP host:port (required)")
	apiURL := fs.String("api", "", "Switchboard's API base URL (default http://<target host>:8080)")
	listen := fs.String("listen", "127.0.0.1", "local IP of the simulated phones (the trunk must trust it)")
	queues := fs.String("queues", "8000=+31201230001,8001=+31201230002", "queues to call: NUMBER=DID,…")
	rate := fs.Float64("rate", 0.1, "calls per second per queue (Poisson)")
	initial := fs.Int("initial", 0, "calls placed at once per queue at the start")
	agents := fs.String("agents", "1002,1003,1004,1005,1006,1007,1008", "agent extensions to play")
	pwPrefix := fs.String("password-prefix", "demo-", "an agent's SIP and API password is this + the extension")
	admin := fs.String("admin", "", "USER:PASSWORD of an administrator, to apply --queue-strategy/--wrapup/--ring-time")
	strategy := fs.String("queue-strategy", "", "set the queues' strategy first (needs --admin)")
	wrapupS := fs.Int("wrapup", -1, "set the queues' wrap-up time in seconds first (needs --admin)")
	ringS := fs.Int("ring-time", -1, "set the queues' ring time in seconds first (needs --admin)")
	handle := fs.String("handle", "lognormal:30s,0.5", "handle time: 30s | exp:30s | uniform:10s-60s | lognormal:MEAN,CV")
	patience := fs.String("patience", "exp:90s", "caller patience (same forms)")
	answer := fs.String("answer-delay", "uniform:1s-4s", "agents answer after (same forms)")
	wrapupDelay := fs.String("wrapup-delay", "uniform:2s-8s", "agents post the wrap-up code after (same forms)")
	breakLen := fs.String("break-length", "uniform:20s-60s", "break length (same forms)")
	breaks := fs.String("break-reasons", "coffee,lunch,training", "break reason codes")
	miss := fs.Float64("miss", 0.05, "chance an agent lets an offer ring out (RONA)")
	breakProb := fs.Float64("break-prob", 0.1, "chance an agent takes a break after a call")
	sl := fs.Duration("service-level", 20*time.Second, "service-level threshold for the tally")
	duration := fs.Duration("duration", 5*time.Minute, "stop new calls after this long (0: no bound)")
	maxCalls := fs.Int("max-calls", 0, "stop after this many calls (0: no bound)")
	seed := fs.Uint64("seed", 0, "RNG seed (0: from the time)")
	load := fs.Bool("load", false, "load mode: measure calls/s, concurrency, latencies and memory (see --help of bench/simulate.sh)")
	lf := registerLoadFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		fs.Usage()
		return errors.New("simulate: --target is required")
	}
	if *apiURL == "" {
		host, _, err := net.SplitHostPort(*target)
		if err != nil {
			return fmt.Errorf("simulate: --target %q: %w", *target, err)
		}
		*apiURL = "http://" + net.JoinHostPort(host, "8080")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	cfg := simulate.Config{SIPAddr: *target, APIURL: *apiURL, Listen: *listen, Seed: *seed,
		Duration: *duration, MaxCalls: *maxCalls, MissProb: *miss, BreakProb: *breakProb,
		BreakReasons: splitList(*breaks), Logger: log}
	if *admin != "" {
		u, p, ok := strings.Cut(*admin, ":")
		if !ok {
			return errors.New("simulate: --admin wants USER:PASSWORD")
		}
		cfg.AdminUser, cfg.AdminPassword = u, p
	}
	var errs []error
	dist := func(name, v string) simulate.Dist {
		d, err := simulate.ParseDist(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", name, err))
		}
		return d
	}
	cfg.AnswerDelay = dist("answer-delay", *answer)
	cfg.WrapupDelay = dist("wrapup-delay", *wrapupDelay)
	cfg.BreakLength = dist("break-length", *breakLen)
	hd, pd := dist("handle", *handle), dist("patience", *patience)
	settings := map[string]any{}
	if *strategy != "" {
		settings["strategy"] = *strategy
	}
	if *wrapupS >= 0 {
		settings["wrapup_time_s"] = *wrapupS
	}
	if *ringS >= 0 {
		settings["ring_time_s"] = *ringS
	}
	if len(settings) > 0 && cfg.AdminUser == "" {
		errs = append(errs, errors.New("--queue-strategy, --wrapup and --ring-time need --admin"))
	}
	for _, qd := range splitList(*queues) {
		num, did, ok := strings.Cut(qd, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("--queues: %q is not NUMBER=DID", qd))
			continue
		}
		q := simulate.Queue{Number: num, DID: did, Rate: *rate, InitialCalls: *initial,
			HandleTime: hd, Patience: pd, ServiceLevel: *sl}
		if len(settings) > 0 {
			q.Settings = settings
		}
		cfg.Queues = append(cfg.Queues, q)
	}
	for _, ext := range splitList(*agents) {
		cfg.Agents = append(cfg.Agents, simulate.Agent{Extension: ext, SIPPassword: *pwPrefix + ext})
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if *load {
		return runLoad(ctx, cfg, lf, stdout)
	}
	if *duration == 0 && *maxCalls == 0 {
		log.Info("no --duration or --max-calls: running until Ctrl-C")
	}
	sim, err := simulate.New(cfg)
	if err != nil {
		return err
	}
	log.Info("simulating", "target", *target, "api", *apiURL, "queues", len(cfg.Queues), "agents", len(cfg.Agents), "seed", sim.Seed())
	if err := sim.Run(ctx); err != nil {
		return err
	}
	printTally(stdout, sim.Tally())
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// printTally writes the per-queue tally as a table.
func printTally(w io.Writer, t simulate.Tally) {
	end := t.Ended
	if end.IsZero() {
		end = time.Now()
	}
	fmt.Fprintf(w, "\nsimulated %s (seed %d)\n\n", end.Sub(t.Started).Round(time.Second), t.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "queue\toffered\tanswered\tabandoned\tfailed\tSL\tmean wait\tmean handle\tRONAs\t")
	names := make([]string, 0, len(t.Queues))
	for n := range t.Queues {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		q := t.Queues[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.0f %% in %s\t%s\t%s\t%d\t\n", n, q.Offered, q.Answered, q.Abandoned, q.Failed,
			100*q.ServiceLevelPct(), q.ServiceLevel, q.MeanWait().Round(100*time.Millisecond),
			q.MeanHandle().Round(100*time.Millisecond), q.RONAs)
	}
	_ = tw.Flush()
	if len(t.Breaks) > 0 {
		fmt.Fprintf(w, "\nbreaks: %v\n", t.Breaks)
	}
}
