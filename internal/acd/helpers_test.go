package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// fakeClock is a Clock advanced by hand: timers fire in Advance, in order
// of due time, in the caller's goroutine, with no lock held.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	seq     int
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// Advance moves time forward by d, firing the timers due on the way.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		live := c.timers[:0]
		for _, t := range c.timers {
			if t.stopped || t.fired {
				continue
			}
			live = append(live, t)
			if !t.at.After(target) && (next == nil || t.at.Before(next.at) || t.at.Equal(next.at) && t.seq < next.seq) {
				next = t
			}
		}
		c.timers = live
		if next == nil {
			c.now = target
			c.mu.Unlock()
			return
		}
		if next.at.After(c.now) {
			c.now = next.at
		}
		next.fired = true
		c.mu.Unlock()
		next.f()
	}
}

// fakeCalls records what the engine asks of the call layer, as lines
// like "offer c1 1001 20s", "cancel c1 1002", "overflow c1 9000".
type fakeCalls struct {
	mu  sync.Mutex
	log []string
	// onOffer, when set, runs inside Offer (a call layer calling back).
	onOffer func(callID string, a Agent)
}

func (f *fakeCalls) add(s string) {
	f.mu.Lock()
	f.log = append(f.log, s)
	f.mu.Unlock()
}

func (f *fakeCalls) Offer(callID string, a Agent, ringFor time.Duration) {
	f.add(fmt.Sprintf("offer %s %s %s", callID, a.Extensions[0], ringFor))
	if f.onOffer != nil {
		f.onOffer(callID, a)
	}
}

func (f *fakeCalls) CancelOffer(callID string, a Agent) {
	f.add(fmt.Sprintf("cancel %s %s", callID, a.Extensions[0]))
}

func (f *fakeCalls) Overflow(callID, dest string) { f.add(fmt.Sprintf("overflow %s %s", callID, dest)) }

// take returns and forgets what was recorded.
func (f *fakeCalls) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.log
	f.log = nil
	return out
}

var _ Calls = (*fakeCalls)(nil)

// env is an engine on a fake clock and call layer, without a store.
type env struct {
	t     testing.TB
	e     *Engine
	clk   *fakeClock
	calls *fakeCalls
	bus   *events.Bus
	snap  snapshot
}

// q builds a queue: "8000 linear" with members "1001", "1002:1" (penalty 1).
func q(spec string, members ...string) store.Queue {
	f := strings.Fields(spec)
	sq := store.Queue{Number: f[0], Name: "Q" + f[0], Strategy: "ringall", RingTime: 20 * time.Second,
		ServiceLevel: 20 * time.Second}
	if len(f) > 1 {
		sq.Strategy = f[1]
	}
	for _, m := range members {
		ext, pen, _ := strings.Cut(m, ":")
		p, _ := strconv.Atoi(pen)
		sq.Members = append(sq.Members, store.QueueMember{Extension: ext, Penalty: p})
	}
	return sq
}

// newEnv builds an engine with the queues given; every member extension
// (and every extra one) is an agent whose user ID is the extension's
// number, Available and idle.
func newEnv(t testing.TB, qs []store.Queue, extra ...string) *env {
	t.Helper()
	clk := newFakeClock()
	bus := events.New(4096)
	calls := &fakeCalls{}
	e := New(Config{Clock: clk, Events: bus, StatsInterval: -1})
	e.SetCalls(calls)
	s := snapshot{}
	exts := slices.Clone(extra)
	for _, sq := range qs {
		for _, m := range sq.Members {
			exts = append(exts, m.Extension)
			s.memberships = append(s.memberships, store.QueueMembership{Queue: sq.Number, Extension: m.Extension,
				Penalty: m.Penalty, State: store.MemberLoggedIn})
		}
		sq.Members = nil
		s.queues = append(s.queues, sq)
	}
	slices.Sort(exts)
	exts = slices.Compact(exts)
	for _, x := range exts {
		id, _ := strconv.ParseInt(x, 10, 64)
		s.users = append(s.users, store.User{ID: id, Username: x, DisplayName: "Agent " + x})
		s.extensions = append(s.extensions, store.Extension{Number: x, UserID: id})
	}
	ev := &env{t: t, e: e, clk: clk, calls: calls, bus: bus, snap: s}
	ev.apply()
	t.Cleanup(e.Close)
	return ev
}

// apply installs ev.snap (after a test changed it).
func (ev *env) apply() {
	ev.e.mu.Lock()
	ev.e.apply(ev.snap)
	ev.e.unlock()
}

// queue returns the snapshot's queue number for editing.
func (ev *env) queue(number string) *store.Queue {
	for i := range ev.snap.queues {
		if ev.snap.queues[i].Number == number {
			return &ev.snap.queues[i]
		}
	}
	ev.t.Fatalf("no queue %s", number)
	return nil
}

func (ev *env) enter(id, queue string) error {
	return ev.e.Enter(QueueCall{ID: id, Queue: queue, CallerNumber: "+3120555" + id})
}

func (ev *env) mustEnter(id, queue string) {
	ev.t.Helper()
	if err := ev.enter(id, queue); err != nil {
		ev.t.Fatalf("Enter(%s, %s): %v", id, queue, err)
	}
}

func (ev *env) status(ext string, s Status, reason string) error {
	id, _ := strconv.ParseInt(ext, 10, 64)
	_, err := ev.e.SetStatus(context.Background(), id, s, reason, id)
	return err
}

func (ev *env) mustStatus(ext string, s Status, reason string) {
	ev.t.Helper()
	if err := ev.status(ext, s, reason); err != nil {
		ev.t.Fatalf("SetStatus(%s, %s): %v", ext, s, err)
	}
}

func (ev *env) member(queue, ext string, st MemberState) {
	ev.t.Helper()
	if _, err := ev.e.SetMembership(context.Background(), MembershipChange{Queue: queue, Extension: ext, State: st}); err != nil {
		ev.t.Fatalf("SetMembership(%s, %s, %s): %v", queue, ext, st, err)
	}
}

// agent returns the view of the agent with extension ext.
func (ev *env) agent(ext string) AgentView {
	ev.t.Helper()
	v, ok := ev.e.AgentByExtension(ext)
	if !ok {
		ev.t.Fatalf("no agent %s", ext)
	}
	return v
}

// expect checks the call layer's instructions since the last check.
func (ev *env) expect(want ...string) {
	ev.t.Helper()
	got := ev.calls.take()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		ev.t.Fatalf("call layer got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// expectState checks an agent's state (and status, if given).
func (ev *env) expectState(ext string, state State, status ...Status) {
	ev.t.Helper()
	v := ev.agent(ext)
	if v.State != state.String() || len(status) > 0 && v.Status != status[0].String() {
		ev.t.Fatalf("agent %s: %s/%s, want %s/%v", ext, v.Status, v.State, state, status)
	}
}

// waitingIDs lists queue's waiting calls in order.
func (ev *env) waitingIDs(queue string) []string {
	ev.t.Helper()
	d, err := ev.e.QueueDetail(queue)
	if err != nil {
		ev.t.Fatal(err)
	}
	var out []string
	for _, c := range d.WaitingCalls {
		out = append(out, c.ID)
	}
	return out
}

// checkInvariants verifies what must always hold: every agent offered or
// busy has the call that says so (and no other agent has one); every
// call is where its state says; waiting lines are in order; and no call
// waits while an agent eligible for its queue is idle.
func (e *Engine) checkInvariants() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	var errs []error
	for _, a := range e.agents {
		c := a.call
		switch a.state {
		case StateOffered:
			if c == nil || c.state != callOffered || !slices.Contains(c.ringing, a) || e.qcalls[c.ID] != c {
				errs = append(errs, fmt.Errorf("agent %s offered without a ringing call", a.info.Username))
			}
		case StateBusy:
			if c == nil || c.state != callAnswered || c.agent != a || e.qcalls[c.ID] != c {
				errs = append(errs, fmt.Errorf("agent %s busy without an answered call", a.info.Username))
			}
		default:
			if c != nil {
				errs = append(errs, fmt.Errorf("agent %s %s with call %s", a.info.Username, a.state, c.ID))
			}
		}
	}
	for id, c := range e.qcalls {
		q := c.q
		switch c.state {
		case callWaiting:
			if !slices.Contains(q.waiting, c) {
				errs = append(errs, fmt.Errorf("call %s waiting but not in line", id))
			}
		case callOffered:
			if len(c.ringing) == 0 || !q.offering[c] {
				errs = append(errs, fmt.Errorf("call %s ringing nobody", id))
			}
			for _, a := range c.ringing {
				if a.call != c || a.state != StateOffered {
					errs = append(errs, fmt.Errorf("call %s rings %s who is %s", id, a.info.Username, a.state))
				}
			}
		case callAnswered:
			if c.agent == nil || c.agent.call != c || !q.active[c] {
				errs = append(errs, fmt.Errorf("call %s answered by nobody busy with it", id))
			}
		default:
			errs = append(errs, fmt.Errorf("call %s in state %s", id, c.state))
		}
	}
	for _, q := range e.queues {
		for i := 1; i < len(q.waiting); i++ {
			if q.waiting[i].before(q.waiting[i-1]) {
				errs = append(errs, fmt.Errorf("queue %s: line out of order at %d", q.cfg.Number, i))
			}
		}
		for _, c := range q.waiting {
			if e.qcalls[c.ID] != c || c.state != callWaiting {
				errs = append(errs, fmt.Errorf("queue %s: %s in line but %s", q.cfg.Number, c.ID, c.state))
			}
		}
		if q.nextReady(now) >= 0 { // a callback waiting to be retried may wait
			for _, m := range q.members {
				if m.eligible(now) {
					errs = append(errs, fmt.Errorf("queue %s: %d waiting while %s is eligible and idle",
						q.cfg.Number, len(q.waiting), m.ext))
				}
			}
		}
	}
	return errors.Join(errs...)
}
