package acd

import (
	"fmt"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// This file is the routing half of the seam: the methods the call layer
// calls, and how the engine chooses agents.

// Enter puts a caller in queue call.Queue and, when an eligible agent is
// idle, offers the call at once. A refused caller gets a *RefusedError
// (ErrQueueFull: max_waiting reached; ErrNoAgents: nobody logged in and
// the queue does not let callers join empty); an unknown queue is
// ErrUnknownQueue; a call already waiting or ringing in a queue is
// ErrAlreadyQueued. A call that an agent answered from another queue (a
// transfer to a queue) first ends that interaction.
func (e *Engine) Enter(call QueueCall) error {
	e.mu.Lock()
	defer e.unlock()
	if e.closed {
		return ErrClosed
	}
	now := e.clock.Now()
	q := e.queues[call.Queue]
	if q == nil {
		return fmt.Errorf("enter call %s: queue %s: %w", call.ID, call.Queue, ErrUnknownQueue)
	}
	if old := e.qcalls[call.ID]; old != nil {
		if old.state != callAnswered {
			return fmt.Errorf("enter call %s in queue %s: %w (queue %s)", call.ID, call.Queue, ErrAlreadyQueued, old.Queue)
		}
		e.endInteraction(old, now)
	}
	if q.cfg.MaxWaiting > 0 && len(q.waiting)+len(q.offering) >= q.cfg.MaxWaiting {
		q.stats.at(now).refused++
		e.statsChanged(q)
		return &RefusedError{Queue: call.Queue, Reason: ErrQueueFull, Overflow: q.cfg.OverflowDestination}
	}
	if q.cfg.RefuseWhenEmpty && q.loggedIn() == 0 {
		q.stats.at(now).refused++
		e.statsChanged(q)
		return &RefusedError{Queue: call.Queue, Reason: ErrNoAgents, Overflow: q.cfg.OverflowDestination}
	}
	if call.Entered.IsZero() {
		call.Entered = now
	}
	e.seq++
	c := &qcall{QueueCall: call, seq: e.seq, q: q, state: callWaiting}
	e.qcalls[call.ID] = c
	q.insertWaiting(c)
	q.stats.at(now).entered++
	if q.cfg.MaxWait > 0 {
		e.armMaxWait(c, now)
	}
	e.publish(events.QueueCallEntered, queueResource(q), e.callView(c, now))
	e.dispatch(q, now)
	e.statsChanged(q)
	return nil
}

// armMaxWait starts the timer that overflows c at Entered + MaxWait.
func (e *Engine) armMaxWait(c *qcall, now time.Time) {
	d := c.Entered.Add(c.q.cfg.MaxWait).Sub(now)
	c.waitTimer = e.clock.AfterFunc(max(d, 0), func() { e.maxWaitReached(c) })
}

func (e *Engine) maxWaitReached(c *qcall) {
	e.mu.Lock()
	defer e.unlock()
	if e.closed || e.qcalls[c.ID] != c {
		return
	}
	now := e.clock.Now()
	switch c.state {
	case callWaiting:
		c.q.removeWaiting(c)
		e.overflow(c, now)
	case callOffered:
		// The agent ringing may still answer; if not, the call overflows
		// instead of going back to the queue (OfferFailed).
		c.expired = true
	}
}

// overflow sends c (out of the waiting line, not ringing) to its queue's
// overflow destination.
func (e *Engine) overflow(c *qcall, now time.Time) {
	q := c.q
	delete(e.qcalls, c.ID)
	if c.waitTimer != nil {
		c.waitTimer.Stop()
	}
	q.stats.at(now).overflowed++
	e.enqueue(action{kind: actOverflow, callID: c.ID, dest: q.cfg.OverflowDestination})
	v := e.callView(c, now)
	v.State = "overflowed"
	v.Destination = q.cfg.OverflowDestination
	e.publish(events.QueueCallOverflowed, queueResource(q), v)
	e.statsChanged(q)
}

// Abandon is called when the caller hung up while waiting or ringing: the
// agents ringing are told to stop and are free again. On an answered
// call it is InteractionEnded; on an unknown one, nothing.
func (e *Engine) Abandon(callID string) {
	e.mu.Lock()
	defer e.unlock()
	c := e.qcalls[callID]
	if c == nil || e.closed {
		return
	}
	now := e.clock.Now()
	q := c.q
	var freed []*agent
	switch c.state {
	case callAnswered:
		e.endInteraction(c, now)
		return
	case callWaiting:
		q.removeWaiting(c)
	case callOffered:
		freed = e.stopRinging(c, nil, now)
		delete(q.offering, c)
	}
	delete(e.qcalls, callID)
	if c.waitTimer != nil {
		c.waitTimer.Stop()
	}
	q.stats.at(now).abandoned++
	v := e.callView(c, now)
	v.State = "abandoned"
	e.publish(events.QueueCallAbandoned, queueResource(q), v)
	e.statsChanged(q)
	for _, a := range freed {
		e.agentFreed(a, now)
	}
}

// stopRinging cancels the offer of c to every ringing agent but keep, who
// become idle; it returns them so the caller can give them other calls
// once c's fate is settled.
func (e *Engine) stopRinging(c *qcall, keep *agent, now time.Time) []*agent {
	var freed []*agent
	for _, a := range c.ringing {
		if a == keep {
			continue
		}
		e.enqueue(action{kind: actCancel, callID: c.ID, agent: a.info})
		a.call = nil
		e.setState(a, StateIdle, now)
		e.agentChanged(a, now)
		freed = append(freed, a)
	}
	c.ringing = nil
	if keep != nil {
		c.ringing = []*agent{keep}
	}
	return freed
}

// OfferAnswered is called when agentExt answered the offer of callID,
// before the call layer connects them: it reports whether the answer is
// taken. Taken, the agent is busy with the call and every other agent
// ringing (ringall) is told to stop. An answer that no longer matches an
// offer (the offer was withdrawn because the agent paused, the caller hung
// up, another agent was first) is refused: the call layer must hang the
// answering agent up and leave the call where the ACD has it.
func (e *Engine) OfferAnswered(callID string, agentExt string) bool {
	e.mu.Lock()
	defer e.unlock()
	c, a := e.qcalls[callID], e.byExt[agentExt]
	if e.closed || c == nil || a == nil || c.state != callOffered || a.call != c || a.state != StateOffered {
		e.log.Debug("stale answer refused", "call_id", callID, "extension", agentExt)
		return false
	}
	now := e.clock.Now()
	q := c.q
	freed := e.stopRinging(c, a, now)
	c.ringing = nil
	delete(q.offering, c)
	q.active[c] = true
	c.state, c.agent, c.answeredAt = callAnswered, a, now
	if c.waitTimer != nil {
		c.waitTimer.Stop()
	}
	e.setState(a, StateBusy, now)
	if m := q.memberOf(a); m != nil {
		m.answered++
	}
	// A callback counts when the customer is reached (CallbackConnected):
	// its wait includes the time after the caller hung up.
	if c.callback == nil {
		wait := now.Sub(c.Entered)
		b := q.stats.at(now)
		b.answered++
		b.waitSum += wait
		if wait <= q.cfg.ServiceLevel {
			b.answeredInSL++
		}
	}
	e.publish(events.QueueCallAnswered, queueResource(q), e.callView(c, now))
	e.agentChanged(a, now)
	e.statsChanged(q)
	for _, f := range freed {
		e.agentFreed(f, now)
	}
	return true
}

// OfferFailed is called when the offer of callID to agentExt ended
// without an answer. For FailBusy the agent stays available but is
// skipped for Config.BusyRetry; otherwise (no answer, unreachable) the
// agent goes to RONA and gets no calls until they choose a status again.
// When nobody else is ringing, the call goes back to its place in the
// queue (the head, unless callers of higher priority came) and is offered
// to the next agent — or, if its max wait passed meanwhile, overflows.
func (e *Engine) OfferFailed(callID string, agentExt string, reason string) {
	e.mu.Lock()
	defer e.unlock()
	c, a := e.qcalls[callID], e.byExt[agentExt]
	if e.closed || c == nil || a == nil || c.state != callOffered || a.call != c || a.state != StateOffered {
		e.log.Debug("stale offer failure ignored", "call_id", callID, "extension", agentExt, "reason", reason)
		return
	}
	now := e.clock.Now()
	q := c.q
	c.ringing = slices.DeleteFunc(c.ringing, func(r *agent) bool { return r == a })
	a.call = nil
	if reason == FailBusy {
		e.setState(a, StateIdle, now)
		e.skipFor(a, e.cfg.BusyRetry, now)
	} else {
		from := a.presence()
		e.setState(a, StateRONA, now)
		e.record(a, from, 0, now)
		e.log.Info("RONA", "call_id", callID, "queue", q.cfg.Number, "agent", a.info.Username, "reason", reason)
	}
	e.agentChanged(a, now)
	if len(c.ringing) == 0 {
		e.callBack(c, now)
	}
}

// callBack returns c, which nobody is ringing any more, to its queue —
// or overflows it when its max wait passed — and offers the queue's
// calls again.
func (e *Engine) callBack(c *qcall, now time.Time) {
	q := c.q
	delete(q.offering, c)
	if c.expired || q.gone {
		e.overflow(c, now)
		return
	}
	c.state = callWaiting
	q.insertWaiting(c)
	e.publish(events.QueueCallReturned, queueResource(q), e.callView(c, now))
	e.dispatch(q, now)
	e.statsChanged(q)
}

// skipFor keeps a out of offers for d, then offers them what waits.
func (e *Engine) skipFor(a *agent, d time.Duration, now time.Time) {
	a.notBefore = now.Add(d)
	a.retryGen++
	gen := a.retryGen
	if a.retryTimer != nil {
		a.retryTimer.Stop()
	}
	a.retryTimer = e.clock.AfterFunc(d, func() {
		e.mu.Lock()
		defer e.unlock()
		if e.closed || a.retryGen != gen || a.gone {
			return
		}
		a.retryTimer = nil
		e.agentFreed(a, e.clock.Now())
	})
}

// InteractionEnded is called when an answered queue call ended (either
// side hung up, or it was transferred away): the agent goes to wrap-up
// for the queue's wrap-up time, or is idle at once when it has none. On a
// call still waiting or ringing it is Abandon.
func (e *Engine) InteractionEnded(callID string) {
	e.mu.Lock()
	c := e.qcalls[callID]
	if c != nil && c.state != callAnswered {
		e.mu.Unlock()
		e.Abandon(callID)
		return
	}
	defer e.unlock()
	if c == nil || e.closed {
		return
	}
	e.endInteraction(c, e.clock.Now())
}

// endInteraction ends answered call c and puts its agent in wrap-up.
func (e *Engine) endInteraction(c *qcall, now time.Time) {
	q, a := c.q, c.agent
	delete(q.active, c)
	e.forget(c)
	e.noteHandled(q, now.Sub(c.answeredAt)+q.cfg.WrapupTime, now)
	e.statsChanged(q)
	if a.call != c {
		return // the agent left meanwhile (gone)
	}
	a.call = nil
	a.wrapGen++
	a.wrap = &wrapup{gen: a.wrapGen, callID: c.ID, queue: q.cfg.Number}
	if q.cfg.WrapupTime <= 0 || a.gone {
		e.setState(a, StateIdle, now)
		a.idleSince = now
		e.agentChanged(a, now)
		e.agentFreed(a, now)
		return
	}
	a.wrap.endsAt = now.Add(q.cfg.WrapupTime)
	e.setState(a, StateWrapUp, now)
	gen := a.wrapGen
	a.wrapTimer = e.clock.AfterFunc(q.cfg.WrapupTime, func() {
		e.mu.Lock()
		defer e.unlock()
		if e.closed || a.wrapGen != gen || a.state != StateWrapUp {
			return
		}
		a.wrapTimer = nil
		e.endWrapUp(a, e.clock.Now())
	})
	e.agentChanged(a, now)
}

// endWrapUp moves a from wrap-up to idle and offers them what waits.
func (e *Engine) endWrapUp(a *agent, now time.Time) {
	if a.wrapTimer != nil {
		a.wrapTimer.Stop()
		a.wrapTimer = nil
	}
	e.setState(a, StateIdle, now)
	a.idleSince = now
	e.agentChanged(a, now)
	e.agentFreed(a, now)
}

// CanReceiveTransfer says whether a call may be transferred to the agent
// owning agentExt (SPEC D3): never while they are in wrap-up
// (ErrAgentInWrapUp); a blind transfer only when they are Available and
// idle (ErrAgentNotAvailable). An extension that belongs to no agent has
// no ACD rule: nil.
func (e *Engine) CanReceiveTransfer(agentExt string, blind bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.byExt[agentExt]
	switch {
	case a == nil:
		return nil
	case a.state == StateWrapUp:
		return fmt.Errorf("transfer to %s: %w", agentExt, ErrAgentInWrapUp)
	case blind && (a.status != StatusAvailable || a.state != StateIdle):
		return fmt.Errorf("blind transfer to %s (%s, %s): %w", agentExt, a.status, a.state, ErrAgentNotAvailable)
	}
	return nil
}

// setState moves a to state to if the transition table allows it; a
// refused move is a bug in the engine, logged and not applied.
func (e *Engine) setState(a *agent, to State, now time.Time) bool {
	if a.state == to {
		return true
	}
	if !canMove(a.state, to) {
		e.log.Error("agent state transition refused", "agent", a.info.Username, "from", a.state, "to", to,
			"error", ErrBadTransition)
		return false
	}
	a.state, a.stateSince = to, now
	return true
}

// record queues a history row for a's change of presence from from
// (written behind by persistLoop).
func (e *Engine) record(a *agent, from string, by int64, now time.Time) {
	to := a.presence()
	if len(e.history) >= e.cfg.MaxPendingHistory {
		drop := len(e.history) / 2
		e.log.Error("status history not written in time: dropping the oldest rows", "rows", drop)
		e.history = append(e.history[:0], e.history[drop:]...)
	}
	e.history = append(e.history, store.AgentStatusChange{UserID: a.info.ID, At: now, From: from, To: to,
		ReasonCode: a.reason, ChangedBy: by})
	if to == StateRONA.String() {
		e.history[len(e.history)-1].ReasonCode = ""
	}
	select {
	case e.persistKick <- struct{}{}:
	default:
	}
}

// dispatch offers q's waiting calls, best first, to its eligible agents,
// by the queue's strategy, until either runs out. With ringall, agents
// who become free while a call rings the others join in.
func (e *Engine) dispatch(q *queue, now time.Time) {
	if q.gone {
		return
	}
	for len(q.waiting) > 0 {
		ms := q.pick(now)
		if len(ms) == 0 {
			return
		}
		i := q.nextReady(now)
		if i < 0 {
			break // only callbacks waiting to be retried
		}
		c := q.waiting[i]
		q.waiting = slices.Delete(q.waiting, i, i+1)
		c.state, c.offeredAt = callOffered, now
		q.offering[c] = true
		e.ring(c, ms, now)
		e.publish(events.QueueCallOffered, queueResource(q), e.callView(c, now))
	}
	if q.strategy == StrategyRingAll && len(q.offering) > 0 {
		ms := q.pick(now)
		if len(ms) == 0 {
			return
		}
		var oldest *qcall
		for c := range q.offering {
			if oldest == nil || c.before(oldest) {
				oldest = c
			}
		}
		// Only agents of a penalty the call already rings join: a higher
		// penalty waits until that round failed.
		if ms[0].penalty > q.ringingPenalty(oldest) {
			return
		}
		e.ring(oldest, ms, now)
		e.publish(events.QueueCallOffered, queueResource(q), e.callView(oldest, now))
	}
}

// ringingPenalty is the highest penalty among the members ringing c.
func (q *queue) ringingPenalty(c *qcall) int {
	p := 0
	for _, a := range c.ringing {
		if m := q.memberOf(a); m != nil && m.penalty > p {
			p = m.penalty
		}
	}
	return p
}

// ring offers c to the agents of ms.
func (e *Engine) ring(c *qcall, ms []*member, now time.Time) {
	q := c.q
	for _, m := range ms {
		a := m.a
		if a.state != StateIdle { // listed twice (two extensions in the queue)
			continue
		}
		e.setState(a, StateOffered, now)
		a.call = c
		c.ringing = append(c.ringing, a)
		q.rrLast = m.ext
		e.enqueue(action{kind: actOffer, callID: c.ID, agent: a.info, ringFor: q.cfg.RingTime})
		e.agentChanged(a, now)
	}
}

// pick returns the members to offer q's next call to: none when no
// member is eligible; otherwise the eligible members of the lowest
// penalty, all of them for ringall and one chosen by the strategy for
// the others.
func (q *queue) pick(now time.Time) []*member {
	first := -1
	for i, m := range q.members {
		if m.eligible(now) {
			first = i
			break
		}
	}
	if first < 0 {
		return nil
	}
	penalty := q.members[first].penalty
	end := first
	for end < len(q.members) && q.members[end].penalty == penalty {
		end++
	}
	tier := q.members[first:end] // from the first eligible; others in it may not be
	var best *member
	switch q.strategy {
	case StrategyLinear:
		best = tier[0]
	case StrategyLongestIdle:
		for _, m := range tier {
			if m.eligible(now) && (best == nil || m.a.idleSince.Before(best.a.idleSince)) {
				best = m
			}
		}
	case StrategyFewestCalls:
		for _, m := range tier {
			if m.eligible(now) && (best == nil || m.answered < best.answered ||
				m.answered == best.answered && m.a.idleSince.Before(best.a.idleSince)) {
				best = m
			}
		}
	case StrategyRoundRobin:
		last := -1
		for i, m := range q.members {
			if m.ext == q.rrLast {
				last = i
				break
			}
		}
		for i, m := range tier {
			if first+i > last && m.eligible(now) {
				best = m
				break
			}
		}
		if best == nil {
			best = tier[0] // wrap around
		}
	default: // ringall
		var all []*member
		for _, m := range tier {
			if m.eligible(now) {
				all = append(all, m)
			}
		}
		return all
	}
	return []*member{best}
}

// agentFreed offers agent a, who may just have become eligible, the
// calls waiting in their queues: the queues are served in the order of
// their first waiting caller (priority, then time), so the caller who has
// waited longest across a's queues goes first.
func (e *Engine) agentFreed(a *agent, now time.Time) {
	if a.gone || a.status != StatusAvailable || a.state != StateIdle {
		return
	}
	var qs []*queue
	for _, m := range a.members {
		q := m.q
		if m.state == MemberLoggedIn && (len(q.waiting) > 0 || q.strategy == StrategyRingAll && len(q.offering) > 0) &&
			!slices.Contains(qs, q) {
			qs = append(qs, q)
		}
	}
	if len(qs) > 1 {
		slices.SortStableFunc(qs, func(x, y *queue) int {
			switch {
			case len(x.waiting) == 0 && len(y.waiting) == 0:
				return 0
			case len(y.waiting) == 0:
				return -1
			case len(x.waiting) == 0:
				return 1
			case x.waiting[0].before(y.waiting[0]):
				return -1
			case y.waiting[0].before(x.waiting[0]):
				return 1
			}
			return 0
		})
	}
	for _, q := range qs {
		e.dispatch(q, now)
		e.statsChanged(q)
	}
}
