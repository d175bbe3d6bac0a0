package acd

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// Store is what the engine reads at start and writes as things change.
type Store interface {
	Queues(ctx context.Context) ([]store.Queue, error)
	QueueMemberships(ctx context.Context) ([]store.QueueMembership, error)
	Users(ctx context.Context) ([]store.User, error)
	Extensions(ctx context.Context) ([]store.Extension, error)
	ReasonCodes(ctx context.Context) ([]store.ReasonCode, error)
	WrapupCodes(ctx context.Context, queue string) ([]store.WrapupCode, error)
	QueueSupervisors(ctx context.Context) (map[string][]int64, error)
	AgentStatuses(ctx context.Context) ([]store.AgentStatus, error)

	SetAgentStatus(ctx context.Context, a store.AgentStatus) error
	AddAgentStatusChanges(ctx context.Context, cs []store.AgentStatusChange) error
	AgentStatusHistory(ctx context.Context, userID int64, since time.Time, limit int) ([]store.AgentStatusChange, error)
	SetQueueMembership(ctx context.Context, m store.QueueMembership) error
	SetCDRWrapupCode(ctx context.Context, callID, code string) error
	CreateReasonCode(ctx context.Context, rc store.ReasonCode) (store.ReasonCode, error)
	DeleteReasonCode(ctx context.Context, id int64) error
	CreateWrapupCode(ctx context.Context, w store.WrapupCode) (store.WrapupCode, error)
	DeleteWrapupCode(ctx context.Context, queue string, id int64) error
	SetQueueSupervisors(ctx context.Context, queue string, userIDs []int64) error
}

var _ Store = (*store.Store)(nil)

// snapshot is the configuration the engine runs on, as read from the
// store.
type snapshot struct {
	queues      []store.Queue
	memberships []store.QueueMembership
	users       []store.User
	extensions  []store.Extension
	reasonCodes []store.ReasonCode
	wrapupCodes []store.WrapupCode
	supervisors map[string][]int64
	statuses    []store.AgentStatus
}

// Load reads queues, agents (users owning extensions), memberships,
// statuses, reason and wrap-up codes and supervisors from the store and
// applies them. Call it at start and again after a configuration change
// (a queue, user or extension written): what runs — offers, busy agents,
// wrap-ups, waiting callers — carries over. A queue that is gone sends
// its waiting callers to its overflow destination; an agent who is gone
// stops ringing (their call goes back to the queue) and keeps an answered
// call until it ends, without wrap-up.
func (e *Engine) Load(ctx context.Context) error {
	if e.st == nil {
		return nil
	}
	// Under apiMu: a status or membership stored after the read would
	// otherwise be undone by the apply.
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	snap, err := e.read(ctx)
	if err != nil {
		return fmt.Errorf("acd load: %w", err)
	}
	e.mu.Lock()
	defer e.unlock()
	e.apply(snap)
	return nil
}

func (e *Engine) read(ctx context.Context) (snapshot, error) {
	var (
		s   snapshot
		err error
	)
	if s.queues, err = e.st.Queues(ctx); err != nil {
		return s, err
	}
	if s.memberships, err = e.st.QueueMemberships(ctx); err != nil {
		return s, err
	}
	if s.users, err = e.st.Users(ctx); err != nil {
		return s, err
	}
	if s.extensions, err = e.st.Extensions(ctx); err != nil {
		return s, err
	}
	if s.reasonCodes, err = e.st.ReasonCodes(ctx); err != nil {
		return s, err
	}
	if s.wrapupCodes, err = e.st.WrapupCodes(ctx, ""); err != nil {
		return s, err
	}
	if s.supervisors, err = e.st.QueueSupervisors(ctx); err != nil {
		return s, err
	}
	if s.statuses, err = e.st.AgentStatuses(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// apply installs snap, keeping what runs. Under e.mu.
func (e *Engine) apply(snap snapshot) {
	now := e.clock.Now()
	e.setReasonCodes(snap.reasonCodes)

	// Agents: users owning at least one extension.
	owned := make(map[int64][]string)
	for _, x := range snap.extensions {
		if x.UserID != 0 {
			owned[x.UserID] = append(owned[x.UserID], x.Number)
		}
	}
	stored := make(map[int64]store.AgentStatus, len(snap.statuses))
	for _, s := range snap.statuses {
		stored[s.UserID] = s
	}
	keep := make(map[int64]bool, len(snap.users))
	for _, u := range snap.users {
		exts := owned[u.ID]
		if len(exts) == 0 {
			continue
		}
		slices.Sort(exts)
		info := Agent{ID: u.ID, Username: u.Username, Name: u.DisplayName, Extensions: exts}
		if info.Name == "" {
			info.Name = u.Username
		}
		keep[u.ID] = true
		if a := e.agents[u.ID]; a != nil {
			a.info = info
			continue
		}
		a := &agent{info: info, status: e.cfg.DefaultStatus, statusSince: now, state: StateIdle, stateSince: now, idleSince: now}
		if s, ok := stored[u.ID]; ok {
			if st, err := ParseStatus(s.Status); err == nil {
				a.status, a.reason, a.statusSince = st, s.ReasonCode, s.ChangedAt
			}
		}
		e.agents[u.ID] = a
	}
	var freed []*agent
	for id, a := range e.agents {
		if !keep[id] {
			freed = append(freed, e.removeAgent(a, now)...)
		}
	}
	clear(e.byExt)
	for _, a := range e.agents {
		for _, x := range a.info.Extensions {
			e.byExt[x] = a
		}
		e.refreshReachable(a) // its extensions may have changed
	}

	// Queues and their settings.
	codes := make(map[string][]store.WrapupCode)
	for _, w := range snap.wrapupCodes {
		codes[w.Queue] = append(codes[w.Queue], w)
	}
	inStore := make(map[string]bool, len(snap.queues))
	for _, sq := range snap.queues {
		inStore[sq.Number] = true
		q := e.queues[sq.Number]
		if q == nil {
			q = newQueue()
			q.counting = now
			e.queues[sq.Number] = q
		}
		q.cfg = sq
		q.cfg.Members = nil
		var err error
		if q.strategy, err = ParseStrategy(sq.Strategy); err != nil {
			e.log.Warn("unknown queue strategy: ringing all", "queue", sq.Number, "strategy", sq.Strategy)
			q.strategy = StrategyRingAll
		}
		q.wrapCodes = codes[sq.Number]
	}
	for n, q := range e.queues {
		if !inStore[n] {
			freed = append(freed, e.removeQueue(q, now)...)
		}
	}

	// Memberships, rebuilt; a member's answered count carries over.
	answered := make(map[*queue]map[string]int)
	for _, q := range e.queues {
		counts := make(map[string]int, len(q.members))
		for _, m := range q.members {
			counts[m.ext] = m.answered
		}
		answered[q] = counts
		q.members = q.members[:0]
	}
	for _, a := range e.agents {
		a.members = a.members[:0]
	}
	for _, sm := range snap.memberships {
		q, a := e.queues[sm.Queue], e.byExt[sm.Extension]
		if q == nil || a == nil {
			continue // an extension without a user takes no calls from the ACD
		}
		state, err := ParseMemberState(sm.State)
		if err != nil {
			state = MemberLoggedOut
		}
		m := &member{q: q, a: a, ext: sm.Extension, state: state, penalty: sm.Penalty, changedAt: sm.ChangedAt,
			answered: answered[q][sm.Extension]}
		q.members = append(q.members, m)
		a.members = append(a.members, m)
	}

	sup := make(supervisorSet, len(snap.supervisors))
	for q, ids := range snap.supervisors {
		set := make(map[int64]bool, len(ids))
		for _, id := range ids {
			set[id] = true
		}
		sup[q] = set
	}
	e.supervisors.Store(&sup)

	for _, q := range e.queues {
		sortMembers(q.members)
		e.dispatch(q, now)
		e.statsChanged(q)
	}
	for _, a := range freed {
		e.agentFreed(a, now)
	}
}

// removeAgent drops a, who is no longer an agent, and returns the agents
// freed by it (none; the signature matches removeQueue's).
func (e *Engine) removeAgent(a *agent, now time.Time) []*agent {
	a.gone = true
	a.stopTimers()
	delete(e.agents, a.info.ID)
	if a.state == StateOffered {
		if c := e.withdrawOffer(a, now); c != nil {
			e.callBack(c, now)
		}
	}
	return nil
}

// removeQueue drops q, which is no longer configured: its waiting and
// ringing callers go to its overflow destination; answered calls stay
// until they end. It returns the agents who stopped ringing.
func (e *Engine) removeQueue(q *queue, now time.Time) []*agent {
	q.gone = true
	delete(e.queues, q.cfg.Number)
	var freed []*agent
	for _, c := range slices.Clone(q.waiting) {
		q.removeWaiting(c)
		e.overflow(c, now)
	}
	for c := range q.offering {
		freed = append(freed, e.stopRinging(c, nil, now)...)
		delete(q.offering, c)
		e.overflow(c, now)
	}
	return freed
}

// setReasonCodes replaces the reason codes. Under e.mu.
func (e *Engine) setReasonCodes(rcs []store.ReasonCode) {
	clear(e.reasons)
	clear(e.reasonKinds)
	for _, rc := range rcs {
		e.reasons[rc.Code] = rc
		e.reasonKinds[rc.Kind]++
	}
}
