package acd

import (
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/events"
)

// The queue caller experience (SPEC Q5, O3): what a waiting caller is told
// (position, expected wait), leaving the queue for voicemail, and courtesy
// callbacks that keep the caller's place.

// ErrNotWaiting: the call is not waiting or ringing in a queue (unknown,
// or already answered).
var ErrNotWaiting = errors.New("call is not waiting in a queue")

// LeftVoicemail is Leave's reason for a caller who chose to leave a message.
const LeftVoicemail = "voicemail"

// handleSamples is how many recent handle times per queue the expected
// wait is computed from: enough to smooth one long call out, few enough
// to follow the hour's pace.
const handleSamples = 20

// handleRing keeps a queue's most recent handle times (talk plus wrap-up).
type handleRing struct {
	d    [handleSamples]time.Duration
	n    int // filled
	next int
}

func (r *handleRing) add(d time.Duration) {
	r.d[r.next] = d
	r.next = (r.next + 1) % len(r.d)
	r.n = min(r.n+1, len(r.d))
}

// mean is the average handle time, 0 without samples.
func (r *handleRing) mean() time.Duration {
	if r.n == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range r.d[:r.n] {
		sum += d
	}
	return sum / time.Duration(r.n)
}

// callbackState marks a waiting entry that stands for a caller who hung
// up and asked to be called back. Guarded by Engine.mu.
type callbackState struct {
	attempts  int       // times the customer was dialled and not reached
	notBefore time.Time // not offered before: a retry waits Config.CallbackRetryDelay
	timer     Timer     // dispatches the queue again at notBefore
	connected bool      // the customer answered
}

// ready reports whether c may be offered now.
func (c *qcall) ready(now time.Time) bool {
	return c.callback == nil || !now.Before(c.callback.notBefore)
}

// nextReady is the index of the first waiting call that may be offered
// now, or -1. A callback waiting to be retried keeps its place but lets
// the callers behind it go first meanwhile.
func (q *queue) nextReady(now time.Time) int {
	for i, c := range q.waiting {
		if c.ready(now) {
			return i
		}
	}
	return -1
}

// WaitInfo is what a waiting caller is told (SPEC Q5).
type WaitInfo struct {
	Queue string
	// State is waiting, ringing (an agent is being offered the call) or
	// answered.
	State string
	// Position is 1 for the caller served next, counting every call and
	// callback waiting ahead; 0 unless waiting.
	Position int
	// EWT is the expected wait from now, when EWTKnown (see ExpectedWait).
	EWT      time.Duration
	EWTKnown bool
}

// WaitInfo returns where call callID waits and how long it is expected to
// wait; ErrNotWaiting when it is in no queue.
func (e *Engine) WaitInfo(callID string) (WaitInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.qcalls[callID]
	if c == nil {
		return WaitInfo{}, fmt.Errorf("wait info of %s: %w", callID, ErrNotWaiting)
	}
	now := e.clock.Now()
	w := WaitInfo{Queue: c.Queue, State: c.state.String()}
	if c.state == callWaiting {
		for i, x := range c.q.waiting {
			if x == c {
				w.Position = i + 1
				break
			}
		}
		w.EWT, w.EWTKnown = e.expectedWait(c.q, w.Position, now)
	}
	return w, nil
}

// ExpectedWait estimates how long a caller at position (1 = next) of the
// queue still waits:
//
//	EWT = position × AHT / N
//
// where AHT is the mean handle time (talk plus wrap-up) of the queue's
// last 20 answered calls and N the agents staffing it: members logged in
// (not paused) whose status is available, whatever they are doing now.
// With no handle time yet, the last hour's average wait of answered
// callers stands in for position × AHT / N. When an agent is free for the
// caller at the head, the wait is 0. Unknown (false) with nobody staffing
// the queue or nothing to base an estimate on.
func (e *Engine) ExpectedWait(queue string, position int) (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queues[queue]
	if q == nil {
		return 0, false
	}
	return e.expectedWait(q, position, e.clock.Now())
}

func (e *Engine) expectedWait(q *queue, position int, now time.Time) (time.Duration, bool) {
	staffed := make(map[*agent]bool)
	free := false
	for _, m := range q.members {
		if m.state == MemberLoggedIn && m.a.status == StatusAvailable && !m.a.gone {
			staffed[m.a] = true
			free = free || m.eligible(now)
		}
	}
	if len(staffed) == 0 || position < 1 {
		return 0, false
	}
	if free && position == 1 {
		return 0, true
	}
	if aht := q.handled.mean(); aht > 0 {
		return time.Duration(position) * aht / time.Duration(len(staffed)), true
	}
	if h := q.stats.lastHour(now); h.answered > 0 {
		return h.waitSum / time.Duration(h.answered), true
	}
	return 0, false
}

// Leave takes a waiting or ringing caller out of the queue for a reason
// other than hanging up (LeftVoicemail: they chose to leave a message):
// the agents ringing stop and are free again, the statistics count it
// apart from abandoned calls, queue_call_left is published. ErrNotWaiting
// when the call is in no queue or already answered.
func (e *Engine) Leave(callID, why string) error {
	e.mu.Lock()
	defer e.unlock()
	c := e.qcalls[callID]
	if c == nil || e.closed || c.state == callAnswered {
		return fmt.Errorf("leave %s: %w", callID, ErrNotWaiting)
	}
	now := e.clock.Now()
	q := c.q
	var freed []*agent
	if c.state == callWaiting {
		q.removeWaiting(c)
	} else {
		freed = e.stopRinging(c, nil, now)
		delete(q.offering, c)
	}
	e.forget(c)
	b := q.stats.at(now)
	if why == LeftVoicemail {
		b.voicemails++
	} else {
		b.abandoned++
	}
	v := e.callView(c, now)
	v.State = why
	e.publish(events.QueueCallLeft, queueResource(q), v)
	e.statsChanged(q)
	for _, a := range freed {
		e.agentFreed(a, now)
	}
	return nil
}

// forget removes c from the engine's calls and stops its timers.
func (e *Engine) forget(c *qcall) {
	delete(e.qcalls, c.ID)
	if c.waitTimer != nil {
		c.waitTimer.Stop()
	}
	if c.callback != nil && c.callback.timer != nil {
		c.callback.timer.Stop()
	}
}

// KeepAsCallback turns a waiting (or ringing) caller who asked to be
// called back into a callback request that keeps their place (SPEC O3):
// the agents ringing stop; when an agent is chosen for it, Calls.Offer is
// called as for any call, and the call layer rings the agent, then dials
// the customer, and reports CallbackConnected or CallbackFailed. Max wait
// no longer applies. ErrNotWaiting when the call is in no queue or
// already answered.
func (e *Engine) KeepAsCallback(callID string) error {
	e.mu.Lock()
	defer e.unlock()
	c := e.qcalls[callID]
	if c == nil || e.closed || c.state == callAnswered {
		return fmt.Errorf("callback for %s: %w", callID, ErrNotWaiting)
	}
	if c.callback != nil {
		return nil
	}
	now := e.clock.Now()
	q := c.q
	var freed []*agent
	if c.state == callOffered {
		freed = e.stopRinging(c, nil, now)
		delete(q.offering, c)
		c.state = callWaiting
		q.insertWaiting(c)
	}
	if c.waitTimer != nil {
		c.waitTimer.Stop()
		c.waitTimer = nil
	}
	c.expired = false
	c.callback = &callbackState{}
	q.stats.at(now).callbacksRequested++
	e.publish(events.QueueCallbackRequested, queueResource(q), e.callView(c, now))
	e.dispatch(q, now)
	e.statsChanged(q)
	for _, a := range freed {
		e.agentFreed(a, now)
	}
	return nil
}

// EnterCallback puts a callback request back in its queue after a
// restart, behind the callers already there, with the attempts it had
// (the last at lastAttempt: it is not offered before lastAttempt +
// Config.CallbackRetryDelay): never refused (it was let in before), no
// max wait. ErrUnknownQueue when the queue is gone; ErrAlreadyQueued when
// callID is in a queue.
func (e *Engine) EnterCallback(call QueueCall, attempts int, lastAttempt time.Time) error {
	e.mu.Lock()
	defer e.unlock()
	if e.closed {
		return ErrClosed
	}
	q := e.queues[call.Queue]
	if q == nil {
		return fmt.Errorf("callback %s: queue %s: %w", call.ID, call.Queue, ErrUnknownQueue)
	}
	if e.qcalls[call.ID] != nil {
		return fmt.Errorf("callback %s: %w", call.ID, ErrAlreadyQueued)
	}
	now := e.clock.Now()
	if call.Entered.IsZero() {
		call.Entered = now
	}
	e.seq++
	c := &qcall{QueueCall: call, seq: e.seq, q: q, state: callWaiting, callback: &callbackState{attempts: attempts}}
	e.qcalls[call.ID] = c
	if retry := lastAttempt.Add(e.cfg.CallbackRetryDelay); attempts > 0 && !lastAttempt.IsZero() && retry.After(now) {
		e.retryCallbackAt(c, retry, now)
	}
	q.insertWaiting(c)
	e.publish(events.QueueCallEntered, queueResource(q), e.callView(c, now))
	e.dispatch(q, now)
	e.statsChanged(q)
	return nil
}

// retryCallbackAt keeps callback c from offers until at, then dispatches
// its queue again.
func (e *Engine) retryCallbackAt(c *qcall, at, now time.Time) {
	cb := c.callback
	cb.notBefore = at
	if cb.timer != nil {
		cb.timer.Stop()
	}
	cb.timer = e.clock.AfterFunc(at.Sub(now), func() {
		e.mu.Lock()
		defer e.unlock()
		if e.closed || e.qcalls[c.ID] != c || c.state != callWaiting {
			return
		}
		cb.timer = nil
		e.dispatch(c.q, e.clock.Now())
		e.statsChanged(c.q)
	})
}

// CallbackConnected is called when the customer of an answered callback
// answered: the agent and the customer talk; the interaction ends with
// InteractionEnded as any other.
func (e *Engine) CallbackConnected(callID string) {
	e.mu.Lock()
	defer e.unlock()
	c := e.qcalls[callID]
	if e.closed || c == nil || c.callback == nil || c.state != callAnswered || c.callback.connected {
		return
	}
	now := e.clock.Now()
	c.callback.connected = true
	b := c.q.stats.at(now)
	b.callbacksConnected++
	e.publish(events.QueueCallbackConnected, queueResource(c.q), e.callView(c, now))
	e.statsChanged(c.q)
}

// CallbackFailed is called when the customer of an answered (by an agent)
// callback was not reached: busy, no answer, or the agent hung up first.
// The agent is free at once (no wrap-up: there was no conversation). When
// counted (the customer did not answer) the attempt counts: after
// Config.MaxCallbackAttempts the callback is given up (gaveUp) and
// queue_callback_failed published; otherwise it goes back to its place
// and is offered again after Config.CallbackRetryDelay. Not counted (the
// agent gave up) it is offered again at once. It returns the attempts so
// far; ErrNotWaiting when callID is no answered callback.
func (e *Engine) CallbackFailed(callID string, counted bool) (attempts int, gaveUp bool, err error) {
	e.mu.Lock()
	defer e.unlock()
	c := e.qcalls[callID]
	if e.closed || c == nil || c.callback == nil || c.state != callAnswered || c.callback.connected {
		return 0, false, fmt.Errorf("callback %s not reached: %w", callID, ErrNotWaiting)
	}
	now := e.clock.Now()
	q, a, cb := c.q, c.agent, c.callback
	delete(q.active, c)
	if a != nil && a.call == c {
		a.call = nil
		e.setState(a, StateIdle, now)
		a.idleSince = now
		e.agentChanged(a, now)
	}
	if counted {
		cb.attempts++
	}
	if cb.attempts >= e.cfg.MaxCallbackAttempts || q.gone {
		e.forget(c)
		q.stats.at(now).callbacksFailed++
		v := e.callView(c, now)
		v.State = "failed"
		e.publish(events.QueueCallbackFailed, queueResource(q), v)
		e.statsChanged(q)
		if a != nil {
			e.agentFreed(a, now)
		}
		return cb.attempts, true, nil
	}
	c.state, c.agent, c.answeredAt = callWaiting, nil, time.Time{}
	if counted {
		e.retryCallbackAt(c, now.Add(e.cfg.CallbackRetryDelay), now)
	}
	q.insertWaiting(c)
	e.publish(events.QueueCallbackReturned, queueResource(q), e.callView(c, now))
	if a != nil {
		e.agentFreed(a, now)
	}
	e.dispatch(q, now)
	e.statsChanged(q)
	return cb.attempts, false, nil
}
