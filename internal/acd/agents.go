package acd

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// This file holds the changes people make: an agent's status, their
// membership of a queue, the end of their wrap-up. Each is checked, stored
// (so it survives a restart), then applied; apiMu keeps two of them from
// interleaving between the check and the apply.

// SetStatus changes the status of the agent with user ID id, on behalf of
// user by (the agent, a supervisor, an admin). Break and Offline take a
// reason code of their kind, required once the admin configured any of
// that kind (ErrReasonRequired); the others take none (ErrInvalidReason).
// Choosing a status ends RONA, even the same status again. Leaving
// Available while a call rings the agent stops the offer: the call goes
// back to its place in the queue.
func (e *Engine) SetStatus(ctx context.Context, id int64, status Status, reason string, by int64) (AgentView, error) {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()

	e.mu.Lock()
	a := e.agents[id]
	err := e.checkStatus(a, status, reason)
	same := err == nil && a.status == status && a.reason == reason && a.state != StateRONA
	if err != nil || same {
		var v AgentView
		if a != nil {
			v = e.agentView(a, e.clock.Now())
		}
		e.mu.Unlock()
		return v, err
	}
	e.mu.Unlock()

	if e.st != nil {
		err := e.st.SetAgentStatus(ctx, store.AgentStatus{UserID: id, Status: status.String(), ReasonCode: reason,
			ChangedAt: e.clock.Now(), ChangedBy: by})
		if err != nil {
			return AgentView{}, fmt.Errorf("set status of agent %d: %w", id, err)
		}
	}

	e.mu.Lock()
	defer e.unlock()
	a = e.agents[id]
	if a == nil || e.closed {
		return AgentView{}, fmt.Errorf("set status of agent %d: %w", id, ErrUnknownAgent)
	}
	now := e.clock.Now()
	from := a.presence()
	a.status, a.reason, a.statusSince = status, reason, now
	if a.state == StateRONA {
		e.setState(a, StateIdle, now)
		a.idleSince = now
	}
	var back *qcall
	if a.state == StateOffered && status != StatusAvailable {
		back = e.withdrawOffer(a, now)
	}
	if status == StatusAvailable && a.state == StateIdle {
		a.idleSince = now // longest idle counts from becoming available
	}
	e.record(a, from, by, now)
	e.agentChanged(a, now)
	if back != nil {
		e.callBack(back, now)
	}
	for _, m := range a.members {
		e.statsChanged(m.q)
	}
	e.agentFreed(a, now)
	return e.agentView(a, now), nil
}

// checkStatus validates a status change for a (nil: unknown agent).
func (e *Engine) checkStatus(a *agent, status Status, reason string) error {
	if a == nil {
		return ErrUnknownAgent
	}
	kind := status.reasonKind()
	switch {
	case status <= StatusUnknown || status > StatusLoggedOut:
		return fmt.Errorf("status %d: %w", int(status), ErrInvalidStatus)
	case kind == "" && reason != "":
		return fmt.Errorf("status %s takes no reason code: %w", status, ErrInvalidReason)
	case kind != "" && reason == "" && e.reasonKinds[kind] > 0:
		return fmt.Errorf("status %s: %w", status, ErrReasonRequired)
	case kind != "" && reason != "" && e.reasons[reason].Kind != kind:
		return fmt.Errorf("reason code %q is not a %s reason: %w", reason, kind, ErrInvalidReason)
	}
	return nil
}

// withdrawOffer stops the offer ringing a (who no longer takes calls)
// and returns the call when nobody else rings it, for callBack.
func (e *Engine) withdrawOffer(a *agent, now time.Time) *qcall {
	c := a.call
	c.ringing = slices.DeleteFunc(c.ringing, func(r *agent) bool { return r == a })
	a.call = nil
	e.enqueue(action{kind: actCancel, callID: c.ID, agent: a.info})
	e.setState(a, StateIdle, now)
	if len(c.ringing) == 0 {
		return c
	}
	return nil
}

// MembershipChange is a change of one extension's membership of a queue.
type MembershipChange struct {
	Queue     string
	Extension string
	State     MemberState // MemberUnknown: unchanged
	Penalty   *int        // nil: unchanged
	// Create adds the extension to the queue when it is not a member
	// (logged in unless State says otherwise); otherwise that is
	// ErrNotMember.
	Create bool
}

// SetMembership changes the membership of an agent's extension in a
// queue (SPEC Q4, S2) and returns it. ErrUnknownQueue, ErrUnknownAgent
// (the extension belongs to no agent), ErrNotMember. Logging out of or
// pausing the queue whose call rings the agent stops that offer.
func (e *Engine) SetMembership(ctx context.Context, ch MembershipChange) (MembershipView, error) {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()

	e.mu.Lock()
	q, a := e.queues[ch.Queue], e.byExt[ch.Extension]
	var m *member
	if q != nil {
		m = q.member(ch.Extension)
	}
	switch {
	case q == nil:
		e.mu.Unlock()
		return MembershipView{}, fmt.Errorf("queue %s: %w", ch.Queue, ErrUnknownQueue)
	case a == nil:
		e.mu.Unlock()
		return MembershipView{}, fmt.Errorf("extension %s: %w", ch.Extension, ErrUnknownAgent)
	case m == nil && !ch.Create:
		e.mu.Unlock()
		return MembershipView{}, fmt.Errorf("extension %s in queue %s: %w", ch.Extension, ch.Queue, ErrNotMember)
	case ch.State < MemberUnknown || ch.State > MemberLoggedOut:
		e.mu.Unlock()
		return MembershipView{}, fmt.Errorf("member state %d: %w", int(ch.State), ErrInvalidMemberState)
	}
	state, penalty := MemberLoggedIn, 0
	if m != nil {
		state, penalty = m.state, m.penalty
	}
	if ch.State != MemberUnknown {
		state = ch.State
	}
	if ch.Penalty != nil {
		penalty = *ch.Penalty
	}
	if m != nil && state == m.state && penalty == m.penalty {
		v := membershipView(m)
		e.mu.Unlock()
		return v, nil
	}
	e.mu.Unlock()

	now := e.clock.Now()
	if e.st != nil {
		err := e.st.SetQueueMembership(ctx, store.QueueMembership{Queue: ch.Queue, Extension: ch.Extension,
			Penalty: penalty, State: state.String(), ChangedAt: now})
		if err != nil {
			return MembershipView{}, fmt.Errorf("set membership: %w", err)
		}
	}

	e.mu.Lock()
	defer e.unlock()
	q, a = e.queues[ch.Queue], e.byExt[ch.Extension]
	if q == nil || a == nil || e.closed {
		return MembershipView{}, fmt.Errorf("set membership of %s in queue %s: %w", ch.Extension, ch.Queue, ErrUnknownQueue)
	}
	now = e.clock.Now()
	if m = q.member(ch.Extension); m == nil {
		m = &member{q: q, a: a, ext: ch.Extension}
		q.members = append(q.members, m)
		a.members = append(a.members, m)
	}
	m.state, m.penalty, m.changedAt = state, penalty, now
	sortMembers(q.members)
	v := membershipView(m)
	e.publish(events.AgentMembershipChanged, queueResource(q), v)
	var back *qcall
	if a.state == StateOffered && a.call.q == q && state != MemberLoggedIn {
		back = e.withdrawOffer(a, now)
	}
	e.agentChanged(a, now)
	if back != nil {
		e.callBack(back, now)
	}
	e.statsChanged(q)
	e.agentFreed(a, now)
	return v, nil
}

// sortMembers orders members by penalty, then extension (the linear
// order).
func sortMembers(ms []*member) {
	slices.SortStableFunc(ms, func(x, y *member) int {
		return cmp.Or(cmp.Compare(x.penalty, y.penalty), cmp.Compare(x.ext, y.ext))
	})
}

// EndWrapUp records wrap-up code code (when not empty) for the agent's
// call and, when end is set, ends their wrap-up early. The code must be
// one of the call's queue's wrap-up codes (ErrInvalidWrapupCode); it is
// stored with the call's CDR. A code may still be chosen for the agent's
// last queue call after the wrap-up ended; without one, an agent not in
// wrap-up gets ErrNotInWrapUp.
func (e *Engine) EndWrapUp(ctx context.Context, id int64, code string, end bool) (AgentView, error) {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()

	e.mu.Lock()
	a := e.agents[id]
	if a == nil {
		e.mu.Unlock()
		return AgentView{}, fmt.Errorf("end wrap-up of agent %d: %w", id, ErrUnknownAgent)
	}
	w := a.wrap
	if w == nil || (a.state != StateWrapUp && code == "") {
		e.mu.Unlock()
		return AgentView{}, fmt.Errorf("end wrap-up of agent %d: %w", id, ErrNotInWrapUp)
	}
	if code != "" {
		q := e.queues[w.queue]
		if q == nil || !slices.ContainsFunc(q.wrapCodes, func(c store.WrapupCode) bool { return c.Code == code }) {
			e.mu.Unlock()
			return AgentView{}, fmt.Errorf("wrap-up code %q for queue %s: %w", code, w.queue, ErrInvalidWrapupCode)
		}
	}
	callID := w.callID
	e.mu.Unlock()

	if code != "" && e.st != nil {
		if err := e.st.SetCDRWrapupCode(ctx, callID, code); err != nil {
			return AgentView{}, fmt.Errorf("end wrap-up of agent %d: %w", id, err)
		}
	}

	e.mu.Lock()
	defer e.unlock()
	now := e.clock.Now()
	if code != "" {
		w.code = code
	}
	if end && a.state == StateWrapUp && a.wrap == w {
		e.endWrapUp(a, now)
	} else {
		e.agentChanged(a, now)
	}
	return e.agentView(a, now), nil
}
