// Package presence derives each extension's live presence — offline,
// available, ringing, busy — for the console's phonebook, directory and
// transfer dialog (SPEC C3, C6, D3). It is the one owner of that state:
// it follows the event bus (device registrations, calls, agent states),
// keeps per extension what every source says, and publishes a
// presence_changed event with the extension's full presence whenever it
// changes. Nothing else computes presence.
package presence

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/store"
)

// Changed is the event type the tracker publishes, with resource
// "extension:<number>" and a View.
const Changed events.Type = "presence_changed"

// Presence values.
const (
	Offline   = "offline"   // no registered device
	Available = "available" // registered, no call
	Ringing   = "ringing"   // a call rings there (a queue offer included)
	Busy      = "busy"      // on a call, or calling out
)

// View is an extension's presence, the data of a presence_changed event.
type View struct {
	Extension string `json:"extension"`
	UserID    int64  `json:"user_id,omitempty"` // the owner; 0 when none
	Presence  string `json:"presence"`
	// AgentStatus and AgentState are the owner's ACD status (available,
	// break, offline, logged_out) and state (idle, offered, busy,
	// wrap_up, rona); empty when the extension has no owner.
	AgentStatus string `json:"agent_status,omitempty"`
	AgentState  string `json:"agent_state,omitempty"`
	// Since is when Presence took its value; AgentSince when the agent's
	// status or state last changed (the A2 timer).
	Since      time.Time  `json:"since"`
	AgentSince *time.Time `json:"agent_since,omitempty"`
}

// Sources are what the tracker reads to (re)build its state; events keep
// it current afterwards.
type Sources struct {
	Bus *events.Bus
	// Extensions lists the organisation's extensions (the store).
	Extensions func(ctx context.Context) ([]store.Extension, error)
	// Registered reports an extension's live devices (the registrar).
	Registered func(ext string) []registrar.Contact
	// Calls lists the calls in progress (the call manager); nil: none.
	Calls func() []call.Info
	// Agents lists the agents' states (the ACD); nil: none.
	Agents func() []acd.AgentView
	Logger *slog.Logger
}

// Tracker owns every extension's presence. Its goroutine applies the
// events in bus order; readers take the mutex.
type Tracker struct {
	src Sources
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	exts  map[string]*extState
	calls map[string]callMark // call ID → what the call makes of which extensions

	stop chan struct{}
	done chan struct{}
}

// extState is what the sources say of one extension.
type extState struct {
	view       View
	sent       View // as last published
	known      bool // in the store's list
	registered bool
	ringing    int  // calls ringing it
	busy       int  // calls it is on
	offered    bool // the ACD offers its owner a queue call
}

// callMark is the extensions one call rings and occupies.
type callMark struct {
	ringing, busy []string
}

// refreshEvery rereads the extension list, so extensions created or
// deleted since are listed; their presence itself follows from events.
const refreshEvery = 30 * time.Second

// New returns a tracker; Start begins following the bus.
func New(src Sources) *Tracker {
	if src.Logger == nil {
		src.Logger = slog.Default()
	}
	return &Tracker{src: src, log: src.Logger.With("component", "presence"), now: time.Now,
		exts: make(map[string]*extState), calls: make(map[string]callMark)}
}

// Start subscribes to the bus, builds the state from the sources and
// follows the events in a goroutine until Close.
func (t *Tracker) Start(ctx context.Context) {
	sub, err := t.src.Bus.Subscribe(0, 4096)
	if err != nil {
		t.log.Error("presence: subscribe", "error", err)
		return
	}
	t.resync(ctx)
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	go t.loop(sub)
}

// Close stops the tracker's goroutine.
func (t *Tracker) Close() {
	if t.stop == nil {
		return
	}
	close(t.stop)
	<-t.done
	t.stop = nil
}

func (t *Tracker) loop(sub *events.Subscription) {
	defer close(t.done)
	defer func() { sub.Close() }()
	refresh := time.NewTicker(refreshEvery)
	defer refresh.Stop()
	for {
		select {
		case <-t.stop:
			return
		case e := <-sub.C():
			t.apply(e)
		case <-refresh.C:
			t.refreshExtensions(context.Background())
		case <-sub.Done():
			// Cut off in a flood: subscribe again and rebuild from the
			// sources; changes found are published as usual.
			next, err := t.src.Bus.Subscribe(0, 4096)
			if err != nil {
				t.log.Error("presence stopped", "error", err)
				<-t.stop
				return
			}
			sub.Close()
			sub = next
			t.resync(context.Background())
		}
	}
}

// resync rebuilds every source's contribution from the sources
// themselves and publishes what changed.
func (t *Tracker) resync(ctx context.Context) {
	t.refreshExtensions(ctx)
	var calls []call.Info
	if t.src.Calls != nil {
		calls = t.src.Calls()
	}
	var agents []acd.AgentView
	if t.src.Agents != nil {
		agents = t.src.Agents()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var changed []string
	for _, m := range t.calls {
		changed = t.markLocked(callMark{}, m, changed)
	}
	clear(t.calls)
	for _, c := range calls {
		changed = t.callLocked(c, changed)
	}
	for _, a := range agents {
		changed = t.agentLocked(a, changed)
	}
	for n, x := range t.exts {
		if reg := t.src.Registered != nil && len(t.src.Registered(n)) > 0; reg != x.registered {
			x.registered = reg
			changed = append(changed, n)
		}
	}
	t.publishLocked(changed, now)
}

// refreshExtensions rereads the extension list: owners, new extensions
// (with their registrations), deleted ones.
func (t *Tracker) refreshExtensions(ctx context.Context) {
	if t.src.Extensions == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := t.src.Extensions(ctx)
	if err != nil {
		t.log.Warn("presence: list extensions", "error", err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := make(map[string]bool, len(list))
	var changed []string
	for _, e := range list {
		seen[e.Number] = true
		x, isNew := t.extLocked(e.Number)
		x.known = true
		if x.view.UserID != e.UserID {
			x.view.UserID = e.UserID
			if !isNew {
				changed = append(changed, e.Number)
			}
		}
		if isNew {
			// Listed as it is, without an event: it was not shown before.
			x.registered = t.src.Registered != nil && len(t.src.Registered(e.Number)) > 0
			x.view.Presence = presenceOf(x)
			x.sent = x.view
		}
	}
	for n, x := range t.exts {
		if !seen[n] && x.ringing == 0 && x.busy == 0 {
			delete(t.exts, n)
		} else if !seen[n] {
			x.known = false
		}
	}
	t.publishLocked(changed, t.now())
}

// extLocked returns n's state, creating it (as of now, offline).
func (t *Tracker) extLocked(n string) (*extState, bool) {
	x := t.exts[n]
	if x != nil {
		return x, false
	}
	x = &extState{view: View{Extension: n, Presence: Offline, Since: t.now().UTC()}}
	t.exts[n] = x
	return x, true
}

// apply folds one event into the state.
func (t *Tracker) apply(e events.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var changed []string
	switch d := e.Data.(type) {
	case registrar.DeviceState:
		x, _ := t.extLocked(d.Extension)
		reg := true
		if t.src.Registered != nil {
			// The registrar is asked rather than the event counted: an
			// extension with two phones stays registered when one leaves.
			reg = len(t.src.Registered(d.Extension)) > 0
		} else if e.Type == events.DeviceRemoved {
			reg = false
		}
		if reg != x.registered {
			x.registered = reg
			changed = append(changed, d.Extension)
		}
	case call.Info:
		changed = t.callLocked(d, changed)
	case call.OfferInfo:
		changed = t.callLocked(d.Call, changed)
	case acd.AgentView:
		changed = t.agentLocked(d, changed)
	default:
		return
	}
	t.publishLocked(changed, e.Time)
}

// callLocked replaces call c's marks with what c's state says.
func (t *Tracker) callLocked(c call.Info, changed []string) []string {
	old := t.calls[c.ID]
	var m callMark
	if c.State != call.StateEnded {
		m = t.markOf(c)
	}
	if len(m.ringing) == 0 && len(m.busy) == 0 {
		delete(t.calls, c.ID)
	} else {
		t.calls[c.ID] = m
	}
	return t.markLocked(m, old, changed)
}

// markOf says which extensions call c rings and occupies: every party
// on an extension is busy (monitors included: they are on a call); before
// the call connects, an extension caller is busy (off hook) and an
// extension target rings; a consultation or blind transfer rings its
// target while it is an extension. Queue offers ring through the agent's
// state (offered), not the call.
func (t *Tracker) markOf(c call.Info) callMark {
	var m callMark
	for _, p := range c.Parties {
		if p.Extension != "" && !slices.Contains(m.busy, p.Extension) {
			m.busy = append(m.busy, p.Extension)
		}
	}
	if len(c.Parties) == 0 {
		if c.From.Kind == "extension" && c.From.Number != "" {
			m.busy = append(m.busy, c.From.Number)
		}
		if n, ok := strings.CutPrefix(c.Target, "extension:"); ok && !slices.Contains(m.busy, n) {
			m.ringing = append(m.ringing, n)
		}
	}
	ring := func(n string) {
		if x := t.exts[n]; x != nil && x.known && !slices.Contains(m.busy, n) && !slices.Contains(m.ringing, n) {
			m.ringing = append(m.ringing, n)
		}
	}
	if c.Consult != nil && c.Consult.State == "ringing" {
		ring(c.Consult.Target)
	}
	if c.Transfer != nil {
		ring(c.Transfer.Target)
	}
	return m
}

// markLocked moves the counts from old marks to new ones.
func (t *Tracker) markLocked(m, old callMark, changed []string) []string {
	for _, n := range old.ringing {
		if x := t.exts[n]; x != nil && !slices.Contains(m.ringing, n) {
			x.ringing--
			changed = append(changed, n)
		}
	}
	for _, n := range old.busy {
		if x := t.exts[n]; x != nil && !slices.Contains(m.busy, n) {
			x.busy--
			changed = append(changed, n)
		}
	}
	for _, n := range m.ringing {
		if !slices.Contains(old.ringing, n) {
			x, _ := t.extLocked(n)
			x.ringing++
			changed = append(changed, n)
		}
	}
	for _, n := range m.busy {
		if !slices.Contains(old.busy, n) {
			x, _ := t.extLocked(n)
			x.busy++
			changed = append(changed, n)
		}
	}
	return changed
}

// agentLocked records an agent's ACD status and state on their
// extensions; an offer rings the first (where the ACD rings it).
func (t *Tracker) agentLocked(a acd.AgentView, changed []string) []string {
	since := a.PresenceSince.UTC()
	for i, n := range a.Extensions {
		x, _ := t.extLocked(n)
		offered := i == 0 && a.State == "offered"
		if x.view.AgentStatus != a.Status || x.view.AgentState != a.State || x.offered != offered ||
			x.view.AgentSince == nil || !x.view.AgentSince.Equal(since) {
			x.view.AgentStatus, x.view.AgentState, x.offered = a.Status, a.State, offered
			x.view.AgentSince = &since
			if x.view.UserID == 0 {
				x.view.UserID = a.ID
			}
			changed = append(changed, n)
		}
	}
	return changed
}

// presenceOf is the one rule: a call in progress wins over the device
// list (it proves a device), busy over ringing.
func presenceOf(x *extState) string {
	switch {
	case x.busy > 0:
		return Busy
	case x.ringing > 0 || x.offered:
		return Ringing
	case x.registered:
		return Available
	}
	return Offline
}

// publishLocked recomputes the named extensions and publishes those
// whose presence or agent state changed (listed in changed because a
// source moved). Under t.mu, so the events leave in the order applied.
func (t *Tracker) publishLocked(changed []string, at time.Time) {
	if len(changed) == 0 {
		return
	}
	slices.Sort(changed)
	changed = slices.Compact(changed)
	for _, n := range changed {
		x := t.exts[n]
		if x == nil {
			continue
		}
		if p := presenceOf(x); p != x.view.Presence {
			x.view.Presence, x.view.Since = p, at.UTC()
		}
		if !x.known && x.busy == 0 && x.ringing == 0 && !x.registered {
			// Not (or no longer) an extension of ours: nothing to show.
			if x.view.UserID == 0 {
				delete(t.exts, n)
				continue
			}
		}
		if sameView(x.view, x.sent) {
			continue
		}
		x.sent = x.view
		if t.src.Bus != nil {
			t.src.Bus.Publish(Changed, "extension:"+n, x.view)
		}
	}
}

func sameView(a, b View) bool {
	as, bs := a.AgentSince, b.AgentSince
	a.AgentSince, b.AgentSince = nil, nil
	return a == b && (as == nil) == (bs == nil) && (as == nil || as.Equal(*bs))
}

// Get returns extension n's presence; offline when nothing is known.
func (t *Tracker) Get(n string) View {
	t.mu.Lock()
	defer t.mu.Unlock()
	if x := t.exts[n]; x != nil {
		return x.view
	}
	return View{Extension: n, Presence: Offline}
}

// Snapshot returns every extension's presence by number.
func (t *Tracker) Snapshot() []View {
	t.mu.Lock()
	out := make([]View, 0, len(t.exts))
	for _, x := range t.exts {
		out = append(out, x.view)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b View) int { return cmp.Compare(a.Extension, b.Extension) })
	return out
}
