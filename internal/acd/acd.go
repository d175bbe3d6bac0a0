// Package acd is the automatic call distributor (SPEC Q1–Q4, Q6, A1–A2,
// S2): queues with strategies, agents' statuses and states, offers and
// RONA, wrap-up, per-queue membership, live queue statistics and the
// queue ↔ supervisor relation.
//
// # Ownership
//
// The Engine is the single owner of agent and queue-call state. Everything
// it owns is changed under one mutex by its methods; nothing else holds a
// pointer into it. The call layer (internal/call) drives it with method
// calls (Enter, Abandon, OfferAnswered, OfferFailed, InteractionEnded) and
// is told what to do through the Calls interface; the API changes statuses
// and memberships through SetStatus, SetMembership and EndWrapUp. Facts go
// out as events on the bus, each with the full new state.
//
// # The seam with the call layer
//
//	call layer                         Engine
//	  caller reaches a queue ── Enter ──▶ (refused: *RefusedError)
//	                          ◀── Offer ── an agent is chosen
//	  agent answers  ── OfferAnswered ──▶ agent busy; others CancelOffer
//	  ring time out  ── OfferFailed ────▶ agent RONA; call back at its place
//	  caller hangs up ── Abandon ───────▶
//	  answered call ends ─ InteractionEnded ▶ agent in wrap-up
//	                          ◀── Overflow ── max wait reached
//	  transfer to an agent ─ CanReceiveTransfer ▶ refused in wrap-up; blind needs Available
//
// Calls methods are never called with the engine's lock held, and always
// in the order the engine decided them (one goroutine at a time runs
// them), so an implementation may call back into the Engine from inside
// them. They must not block.
//
// # Restart
//
// Statuses, memberships, reason codes, wrap-up codes, queue settings and
// supervisors are in the store and loaded by Load. What the system drives
// is not stored: after a restart every agent is idle (an agent who was
// offered a call or busy at a crash comes back idle, one in RONA comes
// back with the status they had chosen), and no call is queued (the calls
// themselves did not survive).
package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// Calls is what the ACD asks of the call layer (implemented by
// internal/call).
type Calls interface {
	// Offer rings the agent's devices for queue call callID for at most
	// ringFor. The outcome is reported back through Engine.OfferAnswered /
	// Engine.OfferFailed. It must not block.
	Offer(callID string, agent Agent, ringFor time.Duration)
	// CancelOffer stops ringing an agent (e.g. the caller hung up, or
	// ring-all: another agent answered).
	CancelOffer(callID string, agent Agent)
	// Overflow sends a waiting call to a destination (max wait reached, or
	// its queue was deleted). destination is the queue's overflow
	// destination as configured (an extension, queue or number); empty
	// means none: end the call.
	Overflow(callID, destination string)
}

// QueueCall is a caller entering a queue.
type QueueCall struct {
	ID           string    // the call layer's call ID (also the CDR's call_id)
	Queue        string    // queue number
	CallerNumber string    // ANI
	CallerName   string    // display name, may be empty
	Entered      time.Time // when the caller reached the queue; zero: now
	// Priority orders callers: a higher one is served before every lower
	// one, whatever their waiting time. 0 is normal.
	Priority int
}

// Agent is a user who takes queue calls on the extensions they own.
type Agent struct {
	ID         int64    // user ID
	Username   string   //
	Name       string   // display name (the username when empty)
	Extensions []string // the devices an offer rings; never modified once handed out
}

// Reasons OfferFailed understands. Anything else counts as no answer.
const (
	// FailNoAnswer: the ring time passed (RONA).
	FailNoAnswer = "no_answer"
	// FailUnreachable: no device registered or every device failed. The
	// agent goes to RONA too: offering them the next call would fail the
	// same way.
	FailUnreachable = "unreachable"
	// FailBusy: the agent's devices are busy (a direct call the ACD does
	// not see). The agent stays available but is skipped for
	// Config.BusyRetry.
	FailBusy = "busy"
)

// Errors. The API maps them to codes; the call layer maps a
// *RefusedError from Enter to a SIP answer or announcement.
var (
	ErrUnknownQueue       = errors.New("no such queue")
	ErrUnknownAgent       = errors.New("no such agent")
	ErrQueueFull          = errors.New("queue full")
	ErrNoAgents           = errors.New("no agents logged in")
	ErrAlreadyQueued      = errors.New("call already in a queue")
	ErrInvalidStatus      = errors.New("invalid status")
	ErrInvalidMemberState = errors.New("invalid member state")
	ErrInvalidStrategy    = errors.New("invalid strategy")
	ErrReasonRequired     = errors.New("a reason code is required")
	ErrInvalidReason      = errors.New("invalid reason code")
	ErrNotMember          = errors.New("not a member of the queue")
	ErrNotInWrapUp        = errors.New("not in wrap-up")
	ErrInvalidWrapupCode  = errors.New("invalid wrap-up code")
	ErrAgentInWrapUp      = errors.New("agent is in wrap-up")
	ErrAgentNotAvailable  = errors.New("agent is not available")
	ErrBadTransition      = errors.New("state transition not allowed")
	ErrClosed             = errors.New("acd closed")
)

// RefusedError is Enter's answer to a caller the queue does not take: its
// Reason is ErrQueueFull or ErrNoAgents (errors.Is works on it), and
// Overflow is the queue's overflow destination ("" for none), where the
// call layer should send the caller instead.
type RefusedError struct {
	Queue    string
	Reason   error
	Overflow string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("queue %s refused the call: %v", e.Queue, e.Reason)
}

func (e *RefusedError) Unwrap() error { return e.Reason }

// Config configures an Engine.
type Config struct {
	// Store persists statuses, memberships and configuration; nil keeps
	// everything in memory (tests).
	Store Store
	// Events receives the engine's events; nil publishes none.
	Events *events.Bus
	// Clock is the time source; nil is the system clock.
	Clock Clock
	// Logger; nil discards.
	Logger *slog.Logger
	// BusyRetry is how long an agent whose devices were busy is skipped.
	// Default 5 s: long enough not to hammer a phone on another call,
	// short enough that a free agent is not lost for long.
	BusyRetry time.Duration
	// StatsInterval is how often at most queue_stats_updated is published
	// for a queue that changed. Default 1 s (a console redraws no faster);
	// negative publishes at every change (tests).
	StatsInterval time.Duration
	// DefaultStatus is the status of an agent who never chose one.
	// Default StatusAvailable: a queue member with only a phone and no
	// console takes queue calls, as members did before the ACD.
	DefaultStatus Status
	// ReloadInterval is how often Load rereads the configuration once
	// started, so that users and extensions changed through the admin API
	// reach the engine (the API reloads at once after a queue change).
	// Default 30 s: a new agent waits at most that long; negative: never.
	ReloadInterval time.Duration
	// MaxPendingHistory bounds status history rows waiting to be written
	// (the store is slow or failing); beyond it the oldest are dropped
	// with an error logged. Default 10,000.
	MaxPendingHistory int
	// CallbackRetryDelay is how long a callback whose customer was not
	// reached waits, at its place, before it is offered again. Default
	// 2 min: a customer who just missed the call is not rung again at
	// once, and is not pushed to the back either.
	CallbackRetryDelay time.Duration
	// MaxCallbackAttempts is how many times a callback's customer is
	// dialled and not reached before it is given up. Default 3.
	MaxCallbackAttempts int
}

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.BusyRetry <= 0 {
		c.BusyRetry = 5 * time.Second
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = time.Second
	}
	if c.DefaultStatus == StatusUnknown {
		c.DefaultStatus = StatusAvailable
	}
	if c.ReloadInterval == 0 {
		c.ReloadInterval = 30 * time.Second
	}
	if c.MaxPendingHistory <= 0 {
		c.MaxPendingHistory = 10_000
	}
	if c.CallbackRetryDelay <= 0 {
		c.CallbackRetryDelay = 2 * time.Minute
	}
	if c.MaxCallbackAttempts <= 0 {
		c.MaxCallbackAttempts = 3
	}
}

// Engine is the ACD. Create it with New, Load it, Start it.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	st    Store
	bus   *events.Bus

	// apiMu serialises the changes that write the store before they
	// apply (status, membership, wrap-up code, configuration, reload), so
	// that what is stored is what is applied. Taken before mu.
	apiMu sync.Mutex

	mu          sync.Mutex
	calls       Calls
	agents      map[int64]*agent
	byExt       map[string]*agent
	queues      map[string]*queue
	qcalls      map[string]*qcall
	reasons     map[string]store.ReasonCode // by code
	reasonKinds map[string]int              // codes per kind
	seq         uint64                      // order of calls entering
	outbox      []action                    // for the call layer, in order
	dispatching bool                        // a goroutine is running the outbox
	history     []store.AgentStatusChange   // waiting to be written
	statsDirty  map[*queue]bool
	statsTimer  Timer
	closed      bool
	tracking    bool            // devices are tracked (devices.go)
	devices     map[string]bool // extensions with a registered device, when tracking
	// earlyDevices are changes told before TrackDevices (devices.go).
	earlyDevices map[string]bool

	// supervisors is read without the lock (Supervises is called from the
	// call-control API on every listen/whisper/barge).
	supervisors atomic.Pointer[supervisorSet]

	persistMu   sync.Mutex // one history write at a time, in order
	persistKick chan struct{}
	stop        chan struct{}
	wg          sync.WaitGroup
	started     bool
}

// supervisorSet is which users supervise which queue.
type supervisorSet map[string]map[int64]bool

// New returns an engine with no queues or agents: Load fills it.
func New(cfg Config) *Engine {
	cfg.defaults()
	e := &Engine{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "acd"),
		clock:       cfg.Clock,
		st:          cfg.Store,
		bus:         cfg.Events,
		calls:       noCalls{},
		agents:      make(map[int64]*agent),
		byExt:       make(map[string]*agent),
		queues:      make(map[string]*queue),
		qcalls:      make(map[string]*qcall),
		reasons:     make(map[string]store.ReasonCode),
		reasonKinds: make(map[string]int),
		statsDirty:  make(map[*queue]bool),
		persistKick: make(chan struct{}, 1),
		stop:        make(chan struct{}),
	}
	e.supervisors.Store(&supervisorSet{})
	return e
}

// SetCalls connects the call layer. Until it is called offers go nowhere
// (and no call can enter, since only the call layer calls Enter).
func (e *Engine) SetCalls(c Calls) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c == nil {
		c = noCalls{}
	}
	e.calls = c
}

// Start starts writing status history behind and rereading the
// configuration every ReloadInterval. Close stops both.
func (e *Engine) Start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.st == nil {
		return
	}
	e.started = true
	e.wg.Add(1)
	go e.persistLoop()
	if e.cfg.ReloadInterval > 0 {
		e.wg.Add(1)
		go e.reloadLoop(e.cfg.ReloadInterval)
	}
}

// reloadLoop calls Load every interval (real time: the injected clock
// serves the ACD's own timers) until Close.
func (e *Engine) reloadLoop(interval time.Duration) {
	defer e.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			if err := e.Load(ctx); err != nil {
				e.log.Error("reload the ACD configuration", "error", err)
			}
			cancel()
		case <-e.stop:
			return
		}
	}
}

// Close stops the engine's timers and writes what is pending. Calls in
// the queues are left to the call layer, which is closing too.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	if e.statsTimer != nil {
		e.statsTimer.Stop()
	}
	for _, c := range e.qcalls {
		if c.waitTimer != nil {
			c.waitTimer.Stop()
		}
	}
	for _, a := range e.agents {
		a.stopTimers()
	}
	e.mu.Unlock()
	close(e.stop)
	e.wg.Wait()
	e.flushHistory()
}

// action is one instruction for the call layer.
type action struct {
	kind    actionKind
	callID  string
	agent   Agent
	ringFor time.Duration
	dest    string
}

type actionKind int

const (
	actOffer actionKind = iota + 1
	actCancel
	actOverflow
)

// enqueue adds an action for the call layer; it runs when the lock is
// released (unlock).
func (e *Engine) enqueue(a action) { e.outbox = append(e.outbox, a) }

// unlock releases e.mu and runs the actions queued under it — unless a
// goroutine is already running them (another one, or this one further up
// the stack when the call layer calls back from inside Offer), in which
// case that one runs these too. So actions run in the order they were
// decided, never under the lock, and the call layer may call back.
func (e *Engine) unlock() {
	if e.dispatching || len(e.outbox) == 0 {
		e.mu.Unlock()
		return
	}
	e.dispatching = true
	e.runOutbox(maxDispatchRounds)
}

// maxDispatchRounds bounds how many batches of actions one caller runs
// for others before a goroutine takes over: under a burst, an API request
// or a call-layer goroutine that happened to start dispatching is not
// kept running everyone's offers.
const maxDispatchRounds = 8

// runOutbox runs the outbox until it is empty, with e.mu held on entry
// and e.dispatching set; it returns with e.mu released. After rounds
// batches (0: no limit) it hands the rest to a new goroutine, which ends
// when the outbox is empty.
func (e *Engine) runOutbox(rounds int) {
	done := false
	defer func() {
		if !done { // a Calls method panicked: let the next unlock dispatch
			e.mu.Lock()
			e.dispatching = false
			e.mu.Unlock()
		}
	}()
	for i := 0; ; i++ {
		if len(e.outbox) == 0 {
			e.dispatching = false
			done = true
			e.mu.Unlock()
			return
		}
		if rounds > 0 && i == rounds {
			done = true
			e.mu.Unlock()
			go func() {
				e.mu.Lock()
				e.runOutbox(0)
			}()
			return
		}
		acts, calls := e.outbox, e.calls
		e.outbox = nil
		e.mu.Unlock()
		for _, a := range acts {
			switch a.kind {
			case actOffer:
				calls.Offer(a.callID, a.agent, a.ringFor)
			case actCancel:
				calls.CancelOffer(a.callID, a.agent)
			case actOverflow:
				calls.Overflow(a.callID, a.dest)
			}
		}
		e.mu.Lock()
	}
}

// publish sends an event (under e.mu, so events leave in the order of the
// changes they describe; the bus never blocks).
func (e *Engine) publish(typ events.Type, resource string, data any) {
	if e.bus != nil {
		e.bus.Publish(typ, resource, data)
	}
}

// noCalls is the call layer before SetCalls: it drops everything.
type noCalls struct{}

func (noCalls) Offer(string, Agent, time.Duration) {}
func (noCalls) CancelOffer(string, Agent)          {}
func (noCalls) Overflow(string, string)            {}

// Supervises reports whether user userID supervises queue (SPEC S1/S2):
// the call-control API allows listen/whisper/barge on the queue's calls
// with it (together with the role's queues.supervise permission). Safe
// for concurrent use without the engine's lock.
func (e *Engine) Supervises(userID int64, queue string) bool {
	return (*e.supervisors.Load())[queue][userID]
}
