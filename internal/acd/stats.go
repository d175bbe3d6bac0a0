package acd

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/events"
)

// Live queue statistics (SPEC Q6). Counts "in the last hour" come from a
// ring of 60 one-minute buckets: the current minute and the 59 before it.

// bucket counts one minute of a queue's calls.
type bucket struct {
	minute       int64 // Unix minute the counts belong to
	entered      int   // callers who joined the queue
	answered     int
	answeredInSL int // answered within the queue's service level
	abandoned    int
	overflowed   int
	refused      int // not let in (queue full, nobody logged in)
	waitSum      time.Duration
	// The caller experience (experience.go): left a message, asked to be
	// called back; callbacks that reached the customer, given up.
	voicemails         int
	callbacksRequested int
	callbacksConnected int
	callbacksFailed    int
	// Calls whose interaction ended (talk plus wrap-up: the handle time),
	// for the capacity estimate.
	handled   int
	handleSum time.Duration
}

// window is the last hour of a queue's calls.
type window struct{ buckets [60]bucket }

// at returns the bucket of now's minute, emptied if it held an older one.
func (w *window) at(now time.Time) *bucket {
	m := now.Unix() / 60
	b := &w.buckets[m%60]
	if b.minute != m {
		*b = bucket{minute: m}
	}
	return b
}

// lastHour sums the buckets of the last 60 minutes up to now.
func (w *window) lastHour(now time.Time) bucket {
	m := now.Unix() / 60
	var s bucket
	for _, b := range w.buckets {
		if b.minute > m-60 && b.minute <= m {
			s.entered += b.entered
			s.answered += b.answered
			s.answeredInSL += b.answeredInSL
			s.abandoned += b.abandoned
			s.overflowed += b.overflowed
			s.refused += b.refused
			s.waitSum += b.waitSum
			s.voicemails += b.voicemails
			s.callbacksRequested += b.callbacksRequested
			s.callbacksConnected += b.callbacksConnected
			s.callbacksFailed += b.callbacksFailed
			s.handled += b.handled
			s.handleSum += b.handleSum
		}
	}
	return s
}

// QueueStats are a queue's live figures.
type QueueStats struct {
	Queue    string    `json:"queue"`
	Name     string    `json:"name"`
	Strategy string    `json:"strategy"`
	At       time.Time `json:"at"`

	Waiting int `json:"waiting"` // callers not answered yet, ringing ones included
	Ringing int `json:"ringing"` // of those, being offered
	Active  int `json:"active"`  // answered calls in progress

	// Last hour: callers who joined, were answered, hung up before an
	// answer, were sent to the overflow destination, were refused.
	EnteredLastHour    int `json:"entered_last_hour"`
	AnsweredLastHour   int `json:"answered_last_hour"`
	AbandonedLastHour  int `json:"abandoned_last_hour"`
	OverflowedLastHour int `json:"overflowed_last_hour"`
	RefusedLastHour    int `json:"refused_last_hour"`
	// The caller experience (SPEC Q5, O3), last hour: callers who left a
	// message, asked to be called back; callbacks that reached the
	// customer, that were given up. CallbacksWaiting are callback requests
	// now in the queue (counted in Waiting too).
	VoicemailsLastHour         int `json:"voicemails_last_hour"`
	CallbacksRequestedLastHour int `json:"callbacks_requested_last_hour"`
	CallbacksConnectedLastHour int `json:"callbacks_connected_last_hour"`
	CallbacksFailedLastHour    int `json:"callbacks_failed_last_hour"`
	CallbacksWaiting           int `json:"callbacks_waiting"`
	// AvgWaitSeconds is the mean wait of the calls answered in the last
	// hour.
	AvgWaitSeconds float64 `json:"avg_wait_s"`
	// LongestWaitSeconds is how long the longest-waiting unanswered caller
	// has waited; OldestWaitingSince when they entered (for a ticking
	// timer).
	LongestWaitSeconds float64    `json:"longest_wait_s"`
	OldestWaitingSince *time.Time `json:"oldest_waiting_since,omitempty"`
	// LongestCallSeconds is the talk time of the longest active call.
	LongestCallSeconds float64    `json:"longest_call_s"`
	OldestCallSince    *time.Time `json:"oldest_call_since,omitempty"`
	// ServiceLevel is the percentage of the last hour's callers who were
	// answered within ServiceLevelSeconds, out of those answered,
	// abandoned or overflowed; absent while there were none.
	ServiceLevelSeconds int      `json:"service_level_s"`
	ServiceLevel        *float64 `json:"service_level,omitempty"`

	// Members (one per extension) by state. Logged in and paused members
	// whose agent chose "logged out" count as logged out.
	AgentsLoggedIn  int `json:"agents_logged_in"`
	AgentsPaused    int `json:"agents_paused"`
	AgentsLoggedOut int `json:"agents_logged_out"`
	// Of the logged-in ones: ready for a call now, and on a call of any
	// queue (offered, busy or in wrap-up).
	AgentsAvailable int `json:"agents_available"`
	AgentsBusy      int `json:"agents_busy"`

	// Capacity is the Erlang C estimate for the last hour's load, next to
	// the measured figures (capacity.go).
	Capacity Capacity `json:"capacity"`
}

// QueueDetail is QueueStats with the drill-down lists (SPEC Q6, C4).
type QueueDetail struct {
	QueueStats
	WaitingCalls  []QueueCallView  `json:"waiting_calls"`  // in queue order
	RingingCalls  []QueueCallView  `json:"ringing_calls"`  // by order of entering
	AnsweredCalls []QueueCallView  `json:"answered_calls"` // by answer time
	Members       []QueueAgentView `json:"members"`
}

// QueueAgentView is a member in a queue's drill-down: the membership and
// the agent's presence.
type QueueAgentView struct {
	MembershipView
	Name           string `json:"name"`
	Presence       string `json:"presence"`
	SecondsInState int64  `json:"seconds_in_state"`
	CallID         string `json:"call_id,omitempty"`
	NoDevice       bool   `json:"no_device,omitempty"` // no registered phone: offered nothing
}

// stats computes q's figures. Under e.mu.
func (e *Engine) stats(q *queue, now time.Time) QueueStats {
	h := q.stats.lastHour(now)
	s := QueueStats{
		Queue: q.cfg.Number, Name: q.cfg.Name, Strategy: q.strategy.String(), At: now,
		Waiting: len(q.waiting) + len(q.offering), Ringing: len(q.offering), Active: len(q.active),
		EnteredLastHour: h.entered, AnsweredLastHour: h.answered, AbandonedLastHour: h.abandoned,
		OverflowedLastHour: h.overflowed, RefusedLastHour: h.refused,
		ServiceLevelSeconds: int(q.cfg.ServiceLevel / time.Second),
		VoicemailsLastHour:  h.voicemails, CallbacksRequestedLastHour: h.callbacksRequested,
		CallbacksConnectedLastHour: h.callbacksConnected, CallbacksFailedLastHour: h.callbacksFailed,
	}
	for _, c := range q.waiting {
		if c.callback != nil {
			s.CallbacksWaiting++
		}
	}
	for c := range q.offering {
		if c.callback != nil {
			s.CallbacksWaiting++
		}
	}
	if h.answered > 0 {
		s.AvgWaitSeconds = seconds(h.waitSum / time.Duration(h.answered))
	}
	if done := h.answered + h.abandoned + h.overflowed; done > 0 {
		sl := math.Round(float64(h.answeredInSL)*1000/float64(done)) / 10
		s.ServiceLevel = &sl
	}
	var oldest time.Time
	for _, c := range q.waiting {
		if oldest.IsZero() || c.Entered.Before(oldest) {
			oldest = c.Entered
		}
	}
	for c := range q.offering {
		if oldest.IsZero() || c.Entered.Before(oldest) {
			oldest = c.Entered
		}
	}
	if !oldest.IsZero() {
		s.LongestWaitSeconds, s.OldestWaitingSince = seconds(now.Sub(oldest)), &oldest
	}
	var oldestCall time.Time
	for c := range q.active {
		if oldestCall.IsZero() || c.answeredAt.Before(oldestCall) {
			oldestCall = c.answeredAt
		}
	}
	if !oldestCall.IsZero() {
		s.LongestCallSeconds, s.OldestCallSince = seconds(now.Sub(oldestCall)), &oldestCall
	}
	for _, m := range q.members {
		switch {
		case m.state == MemberLoggedOut || m.a.status == StatusLoggedOut:
			s.AgentsLoggedOut++
		case m.state == MemberPaused:
			s.AgentsPaused++
		default:
			s.AgentsLoggedIn++
			if m.eligible(now) {
				s.AgentsAvailable++
			}
			if m.a.state == StateOffered || m.a.state == StateBusy || m.a.state == StateWrapUp {
				s.AgentsBusy++
			}
		}
	}
	s.Capacity = e.capacity(q, h, s, now)
	return s
}

// QueueStats returns the live figures of queue number.
func (e *Engine) QueueStats(number string) (QueueStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queues[number]
	if q == nil {
		return QueueStats{}, fmt.Errorf("queue %s: %w", number, ErrUnknownQueue)
	}
	return e.stats(q, e.clock.Now()), nil
}

// QueueDetail returns the live figures of queue number with the lists of
// waiting, ringing and answered calls and the members.
func (e *Engine) QueueDetail(number string) (QueueDetail, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queues[number]
	if q == nil {
		return QueueDetail{}, fmt.Errorf("queue %s: %w", number, ErrUnknownQueue)
	}
	now := e.clock.Now()
	d := QueueDetail{QueueStats: e.stats(q, now),
		WaitingCalls:  make([]QueueCallView, 0, len(q.waiting)),
		RingingCalls:  make([]QueueCallView, 0, len(q.offering)),
		AnsweredCalls: make([]QueueCallView, 0, len(q.active)),
		Members:       make([]QueueAgentView, 0, len(q.members)),
	}
	for _, c := range q.waiting {
		d.WaitingCalls = append(d.WaitingCalls, e.callView(c, now))
	}
	ringing := make([]*qcall, 0, len(q.offering))
	for c := range q.offering {
		ringing = append(ringing, c)
	}
	slices.SortFunc(ringing, func(x, y *qcall) int { return cmp.Compare(x.seq, y.seq) })
	for _, c := range ringing {
		d.RingingCalls = append(d.RingingCalls, e.callView(c, now))
	}
	answered := make([]*qcall, 0, len(q.active))
	for c := range q.active {
		answered = append(answered, c)
	}
	slices.SortFunc(answered, func(x, y *qcall) int { return x.answeredAt.Compare(y.answeredAt) })
	for _, c := range answered {
		d.AnsweredCalls = append(d.AnsweredCalls, e.callView(c, now))
	}
	for _, m := range q.members {
		av := e.agentView(m.a, now)
		qa := QueueAgentView{MembershipView: membershipView(m), Name: m.a.info.Name,
			Presence: av.Presence, SecondsInState: av.SecondsInState, NoDevice: av.NoDevice}
		if av.Call != nil {
			qa.CallID = av.Call.ID
		}
		d.Members = append(d.Members, qa)
	}
	return d, nil
}

// statsChanged notes that q's figures changed: queue_stats_updated goes
// out at once when StatsInterval is negative, else at most once per
// interval for all changed queues. Under e.mu.
func (e *Engine) statsChanged(q *queue) {
	if e.bus == nil || q.gone {
		return
	}
	if e.cfg.StatsInterval < 0 {
		e.publish(events.QueueStatsUpdated, queueResource(q), e.stats(q, e.clock.Now()))
		return
	}
	e.statsDirty[q] = true
	if e.statsTimer == nil {
		e.statsTimer = e.clock.AfterFunc(e.cfg.StatsInterval, e.publishStats)
	}
}

// publishStats publishes queue_stats_updated for every changed queue.
func (e *Engine) publishStats() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.statsTimer = nil
	if e.closed {
		return
	}
	now := e.clock.Now()
	qs := make([]*queue, 0, len(e.statsDirty))
	for q := range e.statsDirty {
		qs = append(qs, q)
	}
	clear(e.statsDirty)
	slices.SortFunc(qs, func(x, y *queue) int { return cmp.Compare(x.cfg.Number, y.cfg.Number) })
	for _, q := range qs {
		if !q.gone {
			e.publish(events.QueueStatsUpdated, queueResource(q), e.stats(q, now))
		}
	}
}
