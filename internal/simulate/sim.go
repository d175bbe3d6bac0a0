package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// Sim is one simulation; New prepares it, Run runs it once.
type Sim struct {
	cfg   Config
	log   *slog.Logger
	http  *http.Client
	tally *tally
	seed  uint64

	ran    atomic.Bool
	placed atomic.Int64 // calls reserved against MaxCalls
	aniSeq atomic.Int64

	mu      sync.Mutex
	callers map[string]*caller // by ANI sequence part
	trunk   *siptest.Phone

	// Load mode's measurements (load.go).
	checkMedia   bool         // agents count the caller's packets they got
	connected    atomic.Int64 // calls connected to an agent now
	mediaChecked atomic.Int64
	mediaOK      atomic.Int64
	lastArrNanos atomic.Int64 // when the last call was placed
	firstArrival func()       // called once, as the first call is placed
	firstOnce    sync.Once

	// afterCall counts answered calls whose wrap-up code is not posted
	// yet. Not a WaitGroup: an agent may answer a call nobody placed
	// after Run started waiting.
	afterCall atomic.Int64
}

// lastArrival is when the last call was placed.
func (s *Sim) lastArrival() time.Time { return time.Unix(0, s.lastArrNanos.Load()) }

// New checks cfg and prepares a simulation.
func New(cfg Config) (*Sim, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &Sim{
		cfg:     cfg,
		log:     log.With("component", "simulate"),
		http:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		tally:   newTally(seed, cfg.Queues),
		seed:    seed,
		callers: map[string]*caller{},
	}, nil
}

// Run runs the simulation until arrivals stop (Config.MaxCalls,
// Config.Duration or ctx) and the calls placed have ended (bounded by
// Config.DrainTimeout). Cancelling ctx stops arrivals and hangs every
// call up. It returns an error if the simulation could not start (login,
// registration, the carrier phone); a Sim runs once.
func (s *Sim) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("simulate: a Sim runs once")
	}
	defer s.http.CloseIdleConnections()
	s.tally.do(func(t *Tally) { t.Started = time.Now() })
	defer s.tally.do(func(t *Tally) { t.Ended = time.Now() })

	if err := s.applySettings(ctx); err != nil {
		return err
	}
	// Agents outlive the callers' drain: they finish their calls and
	// wrap-ups, and stop when agentCtx ends.
	agentCtx, stopAgents := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAgents()
	agents, err := s.startAgents(ctx)
	if err != nil {
		return err
	}
	var agentWG sync.WaitGroup
	for _, a := range agents {
		agentWG.Add(1)
		go func() {
			defer agentWG.Done()
			a.run(agentCtx)
		}()
	}
	defer func() {
		stopAgents()
		agentWG.Wait()
		for _, a := range agents {
			a.close()
		}
	}()

	trunk, err := siptest.New(ctx, siptest.Config{
		User: "carrier", Server: s.cfg.SIPAddr, Listen: s.cfg.Listen, ToneHz: max(s.cfg.CallerToneHz, 0),
	})
	if err != nil {
		return fmt.Errorf("simulate: carrier phone: %w", err)
	}
	s.trunk = trunk
	defer trunk.Close()

	// Calls live in callCtx: ctx's cancellation, or the drain timeout,
	// hangs them up.
	callCtx, hangupAll := context.WithCancel(context.WithoutCancel(ctx))
	defer hangupAll()
	stopOnCancel := context.AfterFunc(ctx, hangupAll)
	defer stopOnCancel()

	arrCtx, stopArrivals := context.WithCancel(ctx)
	defer stopArrivals()
	if s.cfg.Duration > 0 {
		var cancel context.CancelFunc
		arrCtx, cancel = context.WithTimeout(arrCtx, s.cfg.Duration)
		defer cancel()
	}
	var arrWG, callWG sync.WaitGroup
	for i, q := range s.cfg.Queues {
		rnd := rand.New(rand.NewPCG(s.seed, uint64(i)+1))
		arrWG.Add(1)
		go func() {
			defer arrWG.Done()
			s.arrivals(arrCtx, stopArrivals, callCtx, &callWG, q, rnd)
		}()
	}
	arrWG.Wait()
	s.log.Info("arrivals stopped; waiting for the calls in progress", "placed", s.placed.Load())

	drained := make(chan struct{})
	go func() {
		callWG.Wait()
		close(drained)
	}()
	t := time.NewTimer(s.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		s.log.Warn("drain timeout: hanging up the calls still in progress", "timeout", s.cfg.DrainTimeout)
		hangupAll()
		<-drained
	case <-callCtx.Done():
		<-drained
	}
	// The agents post the wrap-up codes of the last calls (bounded by
	// their WrapupDelay; a stop hangs up and skips them).
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for s.afterCall.Load() > 0 {
		select {
		case <-poll.C:
		case <-callCtx.Done():
			return nil
		case <-t.C:
			return nil
		}
	}
	return nil
}

// Tally returns what the simulation counted so far (a copy).
func (s *Sim) Tally() Tally { return s.tally.snapshot() }

// Seed returns the RNG seed in use (Config.Seed, or the one chosen).
func (s *Sim) Seed() uint64 { return s.seed }

// applySettings PATCHes each queue's Settings as the administrator.
func (s *Sim) applySettings(ctx context.Context) error {
	if s.cfg.AdminUser == "" {
		return nil
	}
	var admin *apiClient
	for _, q := range s.cfg.Queues {
		if q.Settings == nil {
			continue
		}
		if admin == nil {
			admin = newAPIClient(s.cfg.APIURL, s.http)
			if err := admin.login(ctx, s.cfg.AdminUser, s.cfg.AdminPassword); err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
		}
		if err := admin.do(ctx, http.MethodPatch, "/api/queues/"+q.Number, q.Settings, nil); err != nil {
			return fmt.Errorf("simulate: queue %s settings: %w", q.Number, err)
		}
	}
	return nil
}

// startAgents sets every agent up (in parallel: each logs in and
// registers); any failure stops the lot.
func (s *Sim) startAgents(ctx context.Context) ([]*agentRun, error) {
	agents := make([]*agentRun, len(s.cfg.Agents))
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	// A few at a time: each login checks a password hash on the server,
	// which is slow on purpose.
	sem := make(chan struct{}, 4)
	for i, spec := range s.cfg.Agents {
		agents[i] = &agentRun{s: s, spec: spec, rnd: rand.New(rand.NewPCG(s.seed, 1000+uint64(i))),
			log: s.log.With("agent", spec.Extension)}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = agents[i].setup(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, a := range agents {
			a.close()
		}
		return nil, fmt.Errorf("simulate: agents: %w", err)
	}
	return agents, nil
}

// reserve takes one call from the MaxCalls budget.
func (s *Sim) reserve() bool {
	n := s.placed.Add(1)
	if s.cfg.MaxCalls > 0 && n > int64(s.cfg.MaxCalls) {
		s.placed.Add(-1)
		return false
	}
	return true
}

// arrivals places queue q's calls: InitialCalls at once, then a Poisson
// process at q.Rate until ctx ends or the budget is spent (which stops
// every queue's arrivals).
func (s *Sim) arrivals(ctx context.Context, stopAll context.CancelFunc, callCtx context.Context, wg *sync.WaitGroup, q Queue, rnd *rand.Rand) {
	spawn := func() bool {
		if ctx.Err() != nil {
			return false
		}
		if !s.reserve() {
			stopAll()
			return false
		}
		patience := q.Patience.Sample(rnd)
		s.firstOnce.Do(func() {
			if s.firstArrival != nil {
				s.firstArrival()
			}
		})
		s.lastArrNanos.Store(time.Now().UnixNano())
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.placeCall(callCtx, q, patience)
		}()
		return true
	}
	for range q.InitialCalls {
		if !spawn() {
			return
		}
	}
	if q.Rate <= 0 {
		return
	}
	next := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		next = next.Add(time.Duration(rnd.ExpFloat64() / q.Rate * float64(time.Second)))
		t.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !spawn() {
			return
		}
	}
}

// nextANI returns a new caller number and its sequence part (the key an
// agent's call is matched by).
func (s *Sim) nextANI() (ani, key string) {
	n := s.aniSeq.Add(1)
	key = fmt.Sprintf("%0*d", s.cfg.ANIDigits, n)
	if len(key) > s.cfg.ANIDigits {
		key = key[len(key)-s.cfg.ANIDigits:]
	}
	return s.cfg.ANIPrefix + key, key
}

// lookupCaller finds the caller whose number is in an agent call's From
// user: its last ANIDigits digits, whatever Switchboard did to the
// prefix (E.164 or national form).
func (s *Sim) lookupCaller(fromUser string) *caller {
	var digits strings.Builder
	for _, r := range fromUser {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	d := digits.String()
	if len(d) < s.cfg.ANIDigits {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callers[d[len(d)-s.cfg.ANIDigits:]]
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
