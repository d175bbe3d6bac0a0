package acd

import (
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// agent is the engine's record of one agent. Guarded by Engine.mu.
type agent struct {
	info        Agent
	status      Status
	reason      string // reason code of status
	statusSince time.Time
	state       State
	stateSince  time.Time
	// idleSince is when the agent last became free for calls: the end of
	// their last queue call (or wrap-up), or becoming available.
	idleSince time.Time
	call      *qcall // the call offered (StateOffered) or answered (StateBusy)
	// wrap is the current wrap-up (StateWrapUp) or, after it, the last
	// one, for a code chosen late.
	wrap      *wrapup
	wrapGen   uint64
	wrapTimer Timer
	// notBefore: skipped for offers until then (their devices were busy).
	notBefore  time.Time
	retryGen   uint64
	retryTimer Timer
	members    []*member // one per queue and extension, in queue order
	gone       bool      // no longer an agent (user or extension deleted)
	// unreachable: no registered device on any of the agent's extensions
	// (devices.go); not offered calls until one registers.
	unreachable bool
}

// wrapup is an agent's after-call work for one call.
type wrapup struct {
	gen    uint64
	callID string
	queue  string
	endsAt time.Time // zero when the queue has no wrap-up time
	code   string
}

func (a *agent) stopTimers() {
	if a.wrapTimer != nil {
		a.wrapTimer.Stop()
		a.wrapTimer = nil
	}
	if a.retryTimer != nil {
		a.retryTimer.Stop()
		a.retryTimer = nil
	}
}

// presence is what the agent is available for, for history: their
// status, or "rona", which the system sets over it.
func (a *agent) presence() string {
	if a.state == StateRONA {
		return StateRONA.String()
	}
	return a.status.String()
}

// member is one extension's membership of a queue. Guarded by Engine.mu.
type member struct {
	q         *queue
	a         *agent
	ext       string
	state     MemberState
	penalty   int
	changedAt time.Time
	answered  int // calls of this queue the member answered since start (fewest calls)
}

// eligible reports whether the member may be offered a call now.
func (m *member) eligible(now time.Time) bool {
	a := m.a
	return m.state == MemberLoggedIn && a.status == StatusAvailable && a.state == StateIdle &&
		!a.gone && !a.unreachable && len(a.info.Extensions) > 0 && !now.Before(a.notBefore)
}

// queue is one queue: its settings, members and calls. Guarded by
// Engine.mu.
type queue struct {
	cfg       store.Queue // settings; Members unused (see members)
	strategy  Strategy
	members   []*member // by penalty, then extension
	waiting   []*qcall  // by priority (highest first), then order of entering
	offering  map[*qcall]bool
	active    map[*qcall]bool
	rrLast    string // extension offered last (round robin)
	wrapCodes []store.WrapupCode
	stats     window
	handled   handleRing // recent handle times, for the expected wait
	// counting is when the engine began counting the queue's calls (its
	// first load): the capacity estimate's arrival rate is measured over
	// the last hour, or since then when that is shorter.
	counting time.Time
	gone     bool
}

func newQueue() *queue {
	return &queue{offering: make(map[*qcall]bool), active: make(map[*qcall]bool)}
}

// member returns the membership of extension ext, or nil.
func (q *queue) member(ext string) *member {
	for _, m := range q.members {
		if m.ext == ext {
			return m
		}
	}
	return nil
}

// memberOf returns agent a's first membership (the one with the lowest
// penalty), or nil.
func (q *queue) memberOf(a *agent) *member {
	for _, m := range q.members {
		if m.a == a {
			return m
		}
	}
	return nil
}

// loggedIn counts members who count as logged in for join_empty: logged
// in or paused, with a status other than logged out.
func (q *queue) loggedIn() int {
	n := 0
	for _, m := range q.members {
		if m.state != MemberLoggedOut && m.a.status != StatusLoggedOut {
			n++
		}
	}
	return n
}

// qcall is a call in a queue. Guarded by Engine.mu.
type qcall struct {
	QueueCall
	seq        uint64 // order of entering: keeps a returned call's place
	q          *queue
	state      callState
	ringing    []*agent // StateOffered agents (several with ringall)
	offeredAt  time.Time
	agent      *agent // who answered
	answeredAt time.Time
	expired    bool // max wait passed while ringing: overflow if not answered
	waitTimer  Timer
	callback   *callbackState // a caller who hung up to be called back (experience.go)
}

// before reports whether c is served before d: higher priority first,
// then the one that entered first.
func (c *qcall) before(d *qcall) bool {
	if c.Priority != d.Priority {
		return c.Priority > d.Priority
	}
	return c.seq < d.seq
}

// insertWaiting puts c in q's waiting line at its place.
func (q *queue) insertWaiting(c *qcall) {
	i := len(q.waiting)
	for i > 0 && c.before(q.waiting[i-1]) {
		i--
	}
	q.waiting = append(q.waiting, nil)
	copy(q.waiting[i+1:], q.waiting[i:])
	q.waiting[i] = c
}

// removeWaiting takes c out of q's waiting line.
func (q *queue) removeWaiting(c *qcall) {
	for i, w := range q.waiting {
		if w == c {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			return
		}
	}
}
