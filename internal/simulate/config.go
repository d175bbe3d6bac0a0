package simulate

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config describes a simulation. Zero values take the defaults given at
// each field (applied by New).
type Config struct {
	// SIPAddr is Switchboard's SIP host:port (UDP): where callers send
	// their INVITEs and agents register.
	SIPAddr string
	// APIURL is Switchboard's HTTP base URL, e.g. "http://127.0.0.1:8080".
	APIURL string
	// Listen is the local IP the simulated phones bind to; default
	// 127.0.0.1. Callers come from it, so the trunk must trust it.
	Listen string

	// Queues are the queues called and how.
	Queues []Queue
	// Agents are the simulated agents (each with its own extension).
	Agents []Agent
	// AdminUser and AdminPassword, when set, are used once at the start to
	// apply each Queue's Settings (PATCH /api/queues/{number}).
	AdminUser, AdminPassword string

	// Seed seeds the RNG; 0 takes the time (and Tally reports it).
	Seed uint64
	// Duration stops new arrivals after this long; 0: no bound.
	Duration time.Duration
	// MaxCalls stops new arrivals after this many calls in all; 0: no
	// bound. Run needs Duration, MaxCalls or a cancellable context.
	MaxCalls int
	// DrainTimeout bounds the wait, after arrivals stop, for the calls in
	// progress to end; they are hung up then. Default 2 minutes.
	DrainTimeout time.Duration

	// AnswerDelay is how long an agent's phone rings before they answer.
	// Default uniform 1–4 s.
	AnswerDelay Dist
	// MissProb is the chance an agent lets an offer ring out (RONA).
	MissProb float64
	// RONARecovery is how long an agent in RONA takes to make themselves
	// available again. Default uniform 5–15 s.
	RONARecovery Dist
	// WrapupDelay is how long after a call an agent posts the wrap-up
	// code (ending any wrap-up time the queue gives). Default uniform 2–8 s.
	WrapupDelay Dist
	// BreakProb is the chance an agent goes on a break after a call.
	BreakProb float64
	// BreakReasons are the break reason codes to pick from; default
	// "coffee" (the demo has lunch, coffee, training).
	BreakReasons []string
	// BreakLength is how long a break lasts. Default uniform 20–60 s.
	BreakLength Dist

	// CallerToneHz and AgentToneHz are the tones each side sends (real
	// audio on every leg); defaults 440 and 1000 Hz. Negative: silence.
	CallerToneHz, AgentToneHz float64
	// ANIPrefix starts every caller's number; a sequence number of
	// ANIDigits digits follows. Default "+3161" and 7 digits.
	ANIPrefix string
	// ANIDigits is the length of the sequence part of caller numbers.
	ANIDigits int

	// Logger receives the simulator's logs; nil discards them.
	Logger *slog.Logger
}

// Queue is one queue the simulator calls.
type Queue struct {
	// Number is the queue's number (as in the API: "8000"); the Tally is
	// keyed by it.
	Number string
	// DID is the number callers dial to reach the queue through the trunk.
	DID string
	// Rate is the mean arrivals per second (Poisson); 0: only InitialCalls.
	Rate float64
	// InitialCalls are placed at once when Run starts, so that a demo
	// shows calls right away.
	InitialCalls int
	// HandleTime is how long an answered call lasts (the agent hangs up).
	HandleTime Dist
	// Patience is how long a caller waits for an agent before hanging up.
	Patience Dist
	// ServiceLevel is the threshold for Tally.AnsweredInSL; default 20 s.
	ServiceLevel time.Duration
	// WrapupCodes to choose from; nil: the queue's codes from the API.
	WrapupCodes []string
	// Settings, when not nil and Config.AdminUser is set, are PATCHed onto
	// the queue at the start (e.g. {"strategy":"longest_idle"}).
	Settings map[string]any
}

// Agent is one simulated agent.
type Agent struct {
	// Extension is the SIP user their phone registers as.
	Extension string
	// SIPPassword is the extension's digest password.
	SIPPassword string
	// Username and Password log in to the API; Username defaults to
	// Extension, Password to SIPPassword (as in the demo organisation).
	Username, Password string
	// StartBreak, when set, is a break reason code the agent starts on
	// (for BreakLength) instead of available.
	StartBreak string
}

// DemoAgents returns the demo organisation's agents for the given
// extensions: SIP and API password "demo-<ext>".
func DemoAgents(exts ...string) []Agent {
	out := make([]Agent, 0, len(exts))
	for _, e := range exts {
		out = append(out, Agent{Extension: e, SIPPassword: "demo-" + e})
	}
	return out
}

// DistKind is the shape of a Dist.
type DistKind int

// The distribution shapes.
const (
	DistFixed       DistKind = iota // always Mean
	DistExponential                 // memoryless, mean Mean
	DistUniform                     // between Min and Max
	DistLogNormal                   // mean Mean, coefficient of variation CV: handle times
)

// Dist is a distribution of durations. Min and Max, when set, clamp the
// samples of every shape.
type Dist struct {
	Kind     DistKind
	Mean     time.Duration
	Min, Max time.Duration
	CV       float64 // DistLogNormal: standard deviation / mean
	// set marks a Dist made by a constructor, so that Fixed(0) is a
	// choice (no delay), not "unset, take the default".
	set bool
}

// Fixed is always d.
func Fixed(d time.Duration) Dist { return Dist{Kind: DistFixed, Mean: d, set: true} }

// Exp is exponential with the given mean.
func Exp(mean time.Duration) Dist { return Dist{Kind: DistExponential, Mean: mean, set: true} }

// Uniform is uniform between lo and hi.
func Uniform(lo, hi time.Duration) Dist { return Dist{Kind: DistUniform, Min: lo, Max: hi, set: true} }

// LogNormal has the given mean and coefficient of variation (0.5 is a
// typical handle time: most calls near the mean, a long tail).
func LogNormal(mean time.Duration, cv float64) Dist {
	return Dist{Kind: DistLogNormal, Mean: mean, CV: cv, set: true}
}

// IsZero reports whether d is unset (the zero Dist; Fixed(0) is set).
func (d Dist) IsZero() bool { return d == Dist{} }

// Sample draws one duration.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	var v float64
	switch d.Kind {
	case DistExponential:
		v = r.ExpFloat64() * float64(d.Mean)
	case DistUniform:
		v = float64(d.Min) + r.Float64()*float64(d.Max-d.Min)
	case DistLogNormal:
		s2 := math.Log1p(d.CV * d.CV)
		mu := math.Log(float64(d.Mean)) - s2/2
		v = math.Exp(mu + math.Sqrt(s2)*r.NormFloat64())
	default:
		v = float64(d.Mean)
	}
	out := time.Duration(v)
	if out < d.Min {
		out = d.Min
	}
	if d.Max > 0 && out > d.Max {
		out = d.Max
	}
	return max(out, 0)
}

// String is the form ParseDist reads.
func (d Dist) String() string {
	switch d.Kind {
	case DistExponential:
		return "exp:" + d.Mean.String()
	case DistUniform:
		return "uniform:" + d.Min.String() + "-" + d.Max.String()
	case DistLogNormal:
		return "lognormal:" + d.Mean.String() + "," + strconv.FormatFloat(d.CV, 'g', -1, 64)
	default:
		return d.Mean.String()
	}
}

// ParseDist reads "30s" (fixed), "exp:30s", "uniform:1s-5s" or
// "lognormal:45s,0.5" (mean, coefficient of variation).
func ParseDist(s string) (Dist, error) {
	kind, arg, ok := strings.Cut(s, ":")
	if !ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			return Dist{}, fmt.Errorf("distribution %q: %w", s, err)
		}
		return Fixed(d), nil
	}
	bad := func(err error) (Dist, error) { return Dist{}, fmt.Errorf("distribution %q: %w", s, err) }
	switch kind {
	case "fixed", "exp":
		d, err := time.ParseDuration(arg)
		if err != nil {
			return bad(err)
		}
		if kind == "exp" {
			return Exp(d), nil
		}
		return Fixed(d), nil
	case "uniform":
		a, b, ok := strings.Cut(arg, "-")
		if !ok {
			return bad(errors.New("want uniform:LO-HI"))
		}
		lo, err := time.ParseDuration(a)
		if err != nil {
			return bad(err)
		}
		hi, err := time.ParseDuration(b)
		if err != nil {
			return bad(err)
		}
		if hi < lo {
			return bad(errors.New("HI below LO"))
		}
		return Uniform(lo, hi), nil
	case "lognormal":
		a, b, ok := strings.Cut(arg, ",")
		if !ok {
			return bad(errors.New("want lognormal:MEAN,CV"))
		}
		m, err := time.ParseDuration(a)
		if err != nil {
			return bad(err)
		}
		cv, err := strconv.ParseFloat(b, 64)
		if err != nil || cv < 0 {
			return bad(errors.New("CV must be a number ≥ 0"))
		}
		return LogNormal(m, cv), nil
	}
	return bad(errors.New("kind must be fixed, exp, uniform or lognormal"))
}

// withDefaults fills in defaults and checks the configuration.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.SIPAddr == "" {
		errs = append(errs, errors.New("SIPAddr is empty"))
	}
	if u, err := url.Parse(c.APIURL); c.APIURL == "" || err != nil || u.Host == "" {
		errs = append(errs, fmt.Errorf("APIURL %q is not an http URL", c.APIURL))
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1"
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 2 * time.Minute
	}
	if c.AnswerDelay.IsZero() {
		c.AnswerDelay = Uniform(time.Second, 4*time.Second)
	}
	if c.RONARecovery.IsZero() {
		c.RONARecovery = Uniform(5*time.Second, 15*time.Second)
	}
	if c.WrapupDelay.IsZero() {
		c.WrapupDelay = Uniform(2*time.Second, 8*time.Second)
	}
	if c.BreakLength.IsZero() {
		c.BreakLength = Uniform(20*time.Second, 60*time.Second)
	}
	if len(c.BreakReasons) == 0 {
		c.BreakReasons = []string{"coffee"}
	}
	if c.CallerToneHz == 0 {
		c.CallerToneHz = 440
	}
	if c.AgentToneHz == 0 {
		c.AgentToneHz = 1000
	}
	if c.ANIPrefix == "" {
		c.ANIPrefix = "+3161"
	}
	if c.ANIDigits <= 0 {
		c.ANIDigits = 7
	}
	if c.MissProb < 0 || c.MissProb > 1 || c.BreakProb < 0 || c.BreakProb > 1 {
		errs = append(errs, errors.New("MissProb and BreakProb must be within 0..1"))
	}
	seen := map[string]bool{}
	c.Queues = append([]Queue(nil), c.Queues...)
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.Number == "" || q.DID == "" {
			errs = append(errs, fmt.Errorf("queue %d: Number and DID are required", i))
		}
		if seen[q.Number] {
			errs = append(errs, fmt.Errorf("queue %s listed twice", q.Number))
		}
		seen[q.Number] = true
		if q.Rate < 0 || q.InitialCalls < 0 {
			errs = append(errs, fmt.Errorf("queue %s: negative rate or initial calls", q.Number))
		}
		if q.HandleTime.IsZero() {
			q.HandleTime = LogNormal(30*time.Second, 0.5)
		}
		if q.Patience.IsZero() {
			q.Patience = Exp(90 * time.Second)
		}
		if q.ServiceLevel <= 0 {
			q.ServiceLevel = 20 * time.Second
		}
	}
	c.Agents = append([]Agent(nil), c.Agents...)
	exts := map[string]bool{}
	for i := range c.Agents {
		a := &c.Agents[i]
		if a.Extension == "" {
			errs = append(errs, fmt.Errorf("agent %d: Extension is required", i))
		}
		if exts[a.Extension] {
			errs = append(errs, fmt.Errorf("agent %s listed twice", a.Extension))
		}
		exts[a.Extension] = true
		if a.Username == "" {
			a.Username = a.Extension
		}
		if a.Password == "" {
			a.Password = a.SIPPassword
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("simulate: invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}
