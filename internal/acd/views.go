package acd

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/events"
)

// Views are value copies of the engine's state, for the API and events.
// They carry the full state of their resource; the JSON names are the
// API's.

// AgentView is an agent's full state.
type AgentView struct {
	ID          int64     `json:"id"`
	Username    string    `json:"username"`
	Name        string    `json:"name"`
	Extensions  []string  `json:"extensions"`
	Status      string    `json:"status"` // available | break | offline | logged_out
	ReasonCode  string    `json:"reason_code,omitempty"`
	StatusSince time.Time `json:"status_since"`
	State       string    `json:"state"` // idle | offered | busy | wrap_up | rona
	StateSince  time.Time `json:"state_since"`
	// Presence is what a console shows: the state unless it is idle, the
	// status then; PresenceSince when it began, SecondsInState the timer
	// (SPEC A2) at the time of the view.
	Presence       string           `json:"presence"`
	PresenceSince  time.Time        `json:"presence_since"`
	SecondsInState int64            `json:"seconds_in_state"`
	Call           *AgentCallView   `json:"call,omitempty"`   // offered or busy
	WrapUp         *WrapUpView      `json:"wrapup,omitempty"` // in wrap-up
	Queues         []MembershipView `json:"queues"`
	// NoDevice: none of the agent's extensions has a registered phone, so
	// the ACD offers them no calls (devices.go) whatever their status.
	NoDevice bool `json:"no_device,omitempty"`
}

// AgentCallView is the queue call an agent is offered or busy with.
type AgentCallView struct {
	ID           string    `json:"id"`
	Queue        string    `json:"queue"`
	CallerNumber string    `json:"caller_number"`
	CallerName   string    `json:"caller_name,omitempty"`
	Since        time.Time `json:"since"` // offered or answered
}

// WrapUpView is an agent's after-call work.
type WrapUpView struct {
	CallID string     `json:"call_id"`
	Queue  string     `json:"queue"`
	EndsAt *time.Time `json:"ends_at,omitempty"`
	Code   string     `json:"code,omitempty"`
}

// MembershipView is one membership of an agent in a queue.
type MembershipView struct {
	Queue     string     `json:"queue"`
	Extension string     `json:"extension"`
	AgentID   int64      `json:"agent_id"`
	State     string     `json:"state"` // logged_in | paused | logged_out
	Penalty   int        `json:"penalty"`
	ChangedAt *time.Time `json:"changed_at,omitempty"`
	Answered  int        `json:"answered"` // this queue's calls answered since start
}

// AgentRef names an agent in a call view.
type AgentRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// QueueCallView is a call in a queue, in the drill-down lists and the
// queue_call_* events.
type QueueCallView struct {
	ID           string `json:"id"`
	Queue        string `json:"queue"`
	CallerNumber string `json:"caller_number"`
	CallerName   string `json:"caller_name,omitempty"`
	Priority     int    `json:"priority"`
	// State is waiting | ringing | answered, and in the last event about
	// a call abandoned | overflowed.
	State       string     `json:"state"`
	Position    int        `json:"position,omitempty"` // 1 = next, while waiting
	EnteredAt   time.Time  `json:"entered_at"`
	WaitSeconds float64    `json:"wait_s"`           // until answered, or so far
	Agents      []AgentRef `json:"agents,omitempty"` // ringing, or who answered
	OfferedAt   *time.Time `json:"offered_at,omitempty"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	TalkSeconds float64    `json:"talk_s,omitempty"`
	Destination string     `json:"destination,omitempty"` // overflowed to
	// Callback: the caller hung up and is to be called back (SPEC O3);
	// Attempts: times they were dialled and not reached.
	Callback bool `json:"callback,omitempty"`
	Attempts int  `json:"attempts,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*10) / 10 }

func agentResource(a *agent) string { return "agent:" + strconv.FormatInt(a.info.ID, 10) }

func queueResource(q *queue) string { return "queue:" + q.cfg.Number }

// agentView builds a's view. Under e.mu.
func (e *Engine) agentView(a *agent, now time.Time) AgentView {
	v := AgentView{
		ID: a.info.ID, Username: a.info.Username, Name: a.info.Name, Extensions: a.info.Extensions,
		Status: a.status.String(), ReasonCode: a.reason, StatusSince: a.statusSince,
		State: a.state.String(), StateSince: a.stateSince,
		Queues: make([]MembershipView, 0, len(a.members)),
	}
	if v.Extensions == nil {
		v.Extensions = []string{}
	}
	v.Presence, v.PresenceSince = v.Status, a.statusSince
	if a.state != StateIdle {
		v.Presence, v.PresenceSince = v.State, a.stateSince
	} else if a.stateSince.After(a.statusSince) {
		v.PresenceSince = a.stateSince
	}
	v.SecondsInState = int64(now.Sub(v.PresenceSince) / time.Second)
	v.NoDevice = a.unreachable
	if c := a.call; c != nil {
		since := c.offeredAt
		if c.state == callAnswered {
			since = c.answeredAt
		}
		v.Call = &AgentCallView{ID: c.ID, Queue: c.Queue, CallerNumber: c.CallerNumber, CallerName: c.CallerName, Since: since}
	}
	if a.state == StateWrapUp && a.wrap != nil {
		v.WrapUp = &WrapUpView{CallID: a.wrap.callID, Queue: a.wrap.queue, EndsAt: timePtr(a.wrap.endsAt), Code: a.wrap.code}
	}
	for _, m := range a.members {
		v.Queues = append(v.Queues, membershipView(m))
	}
	return v
}

func membershipView(m *member) MembershipView {
	return MembershipView{Queue: m.q.cfg.Number, Extension: m.ext, AgentID: m.a.info.ID, State: m.state.String(),
		Penalty: m.penalty, ChangedAt: timePtr(m.changedAt), Answered: m.answered}
}

// agentChanged publishes agent_state_changed with a's full state.
func (e *Engine) agentChanged(a *agent, now time.Time) {
	if e.bus == nil {
		return
	}
	e.publish(events.AgentStateChanged, agentResource(a), e.agentView(a, now))
}

// callView builds c's view. Under e.mu.
func (e *Engine) callView(c *qcall, now time.Time) QueueCallView {
	v := QueueCallView{ID: c.ID, Queue: c.Queue, CallerNumber: c.CallerNumber, CallerName: c.CallerName,
		Priority: c.Priority, State: c.state.String(), EnteredAt: c.Entered}
	if c.callback != nil {
		v.Callback, v.Attempts = true, c.callback.attempts
	}
	switch c.state {
	case callWaiting:
		v.Position = slices.Index(c.q.waiting, c) + 1
		v.WaitSeconds = seconds(now.Sub(c.Entered))
	case callOffered:
		v.WaitSeconds = seconds(now.Sub(c.Entered))
		v.OfferedAt = timePtr(c.offeredAt)
		for _, a := range c.ringing {
			v.Agents = append(v.Agents, AgentRef{ID: a.info.ID, Name: a.info.Name})
		}
	case callAnswered:
		v.WaitSeconds = seconds(c.answeredAt.Sub(c.Entered))
		v.OfferedAt = timePtr(c.offeredAt)
		v.AnsweredAt = timePtr(c.answeredAt)
		v.TalkSeconds = seconds(now.Sub(c.answeredAt))
		v.Agents = []AgentRef{{ID: c.agent.info.ID, Name: c.agent.info.Name}}
	}
	return v
}

// Agents returns every agent's state, by name then ID.
func (e *Engine) Agents() []AgentView {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	out := make([]AgentView, 0, len(e.agents))
	for _, a := range e.agents {
		out = append(out, e.agentView(a, now))
	}
	slices.SortFunc(out, func(x, y AgentView) int { return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.ID, y.ID)) })
	return out
}

// Agent returns the state of the agent with user ID id; ErrUnknownAgent
// when the user owns no extension.
func (e *Engine) Agent(id int64) (AgentView, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.agents[id]
	if a == nil {
		return AgentView{}, ErrUnknownAgent
	}
	return e.agentView(a, e.clock.Now()), nil
}

// AgentByExtension returns the state of the agent owning extension ext.
func (e *Engine) AgentByExtension(ext string) (AgentView, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.byExt[ext]
	if a == nil {
		return AgentView{}, false
	}
	return e.agentView(a, e.clock.Now()), true
}

// AgentQueues returns the numbers of the queues the agent with user ID id
// is a member of (in any state).
func (e *Engine) AgentQueues(id int64) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.agents[id]
	if a == nil {
		return nil
	}
	var out []string
	for _, m := range a.members {
		if !slices.Contains(out, m.q.cfg.Number) {
			out = append(out, m.q.cfg.Number)
		}
	}
	return out
}

// QueueNumbers lists the queues' numbers in order.
func (e *Engine) QueueNumbers() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.queues))
	for n := range e.queues {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
