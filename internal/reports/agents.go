package reports

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// Agent is whom an agent report is about.
type Agent struct {
	ID         int64
	Name       string
	Extensions []string
}

// AgentRow is one agent's interval (or, as a total, the whole range).
type AgentRow struct {
	AgentID int64     `json:"agent_id"`
	Name    string    `json:"name"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Answered: calls the agent's extensions answered (CDR answered_by),
	// of which QueueAnswered were queue calls; counted in the interval
	// the call started in.
	Answered      int `json:"answered"`
	QueueAnswered int `json:"queue_answered"`
	// TalkSeconds is the answered calls' talk time (answer to end);
	// AvgHandleSeconds its mean (CDRs do not record wrap-up).
	TalkSeconds      float64  `json:"talk_s"`
	AvgHandleSeconds *float64 `json:"avg_handle_s,omitempty"`
	// StatusSeconds is the time in each status the agent chose, from the
	// status history: available, break, offline, logged_out, and rona
	// (set by the system after an unanswered offer). Time before the
	// first known change, and after now, is not counted.
	StatusSeconds map[string]float64 `json:"status_s"`
	// ReasonSeconds is the time per reason code (of break and offline).
	ReasonSeconds map[string]float64 `json:"reason_s"`

	talked int
}

func (a *AgentRow) finish() {
	a.AvgHandleSeconds = ratio(a.TalkSeconds, float64(a.talked), false)
	a.TalkSeconds = float64(int64(a.TalkSeconds*100+0.5)) / 100
	// Rounded copies: the report keeps adding to its own maps.
	a.StatusSeconds, a.ReasonSeconds = maps.Clone(a.StatusSeconds), maps.Clone(a.ReasonSeconds)
	for k, v := range a.StatusSeconds {
		a.StatusSeconds[k] = float64(int64(v*1000+0.5)) / 1000
	}
	for k, v := range a.ReasonSeconds {
		a.ReasonSeconds[k] = float64(int64(v*1000+0.5)) / 1000
	}
}

// AgentReport accumulates agents' calls and status history into rows.
// Not safe for concurrent use.
type AgentReport struct {
	r       Range
	periods []time.Time
	now     time.Time
	agents  []Agent
	byID    map[int64]int
	byExt   map[string]int
	rows    [][]AgentRow
	totals  []AgentRow
}

// NewAgentReport starts a report over r for agents; status time is
// counted up to now at the latest. r must pass Check.
func NewAgentReport(r Range, agents []Agent, now time.Time) *AgentReport {
	a := &AgentReport{r: r, periods: r.Periods(), now: now, byID: make(map[int64]int), byExt: make(map[string]int)}
	a.agents = slices.Clone(agents)
	slices.SortFunc(a.agents, func(x, y Agent) int { return cmp.Compare(x.ID, y.ID) })
	for i, ag := range a.agents {
		a.byID[ag.ID] = i
		for _, e := range ag.Extensions {
			a.byExt[e] = i
		}
		rows := make([]AgentRow, len(a.periods))
		for j, p := range a.periods {
			rows[j] = newAgentRow(ag, p, r.next(p))
		}
		a.rows = append(a.rows, rows)
		a.totals = append(a.totals, newAgentRow(ag, r.From, r.To))
	}
	return a
}

func newAgentRow(ag Agent, start, end time.Time) AgentRow {
	return AgentRow{AgentID: ag.ID, Name: ag.Name, Start: start, End: end,
		StatusSeconds: map[string]float64{}, ReasonSeconds: map[string]float64{}}
}

// Extensions lists every agent's extensions (for store.EachAgentCall).
func (a *AgentReport) Extensions() []string {
	var out []string
	for _, ag := range a.agents {
		out = append(out, ag.Extensions...)
	}
	return out
}

// IDs lists the agents' user IDs (for store.AgentStatusChangesBetween).
func (a *AgentReport) IDs() []int64 {
	out := make([]int64, len(a.agents))
	for i, ag := range a.agents {
		out[i] = ag.ID
	}
	return out
}

// AddCall counts a call answered by one of the agents' extensions.
func (a *AgentReport) AddCall(c store.QueueCall) {
	ai, ok := a.byExt[c.AnsweredBy]
	if !ok || c.AnsweredAt.IsZero() {
		return
	}
	i := a.r.index(a.periods, c.StartedAt)
	if i < 0 {
		return
	}
	for _, row := range []*AgentRow{&a.rows[ai][i], &a.totals[ai]} {
		row.Answered++
		if c.Queue != "" {
			row.QueueAnswered++
		}
		if !c.EndedAt.IsZero() {
			row.TalkSeconds += max(c.EndedAt.Sub(c.AnsweredAt), 0).Seconds()
			row.talked++
		}
	}
}

// AddHistory counts the time per status and reason from changes: the
// agents' status history ordered by agent, then time, with each agent's
// last change before the range first (store.AgentStatusChangesBetween).
func (a *AgentReport) AddHistory(changes []store.AgentStatusChange) {
	end := a.r.To
	if a.now.Before(end) {
		end = a.now
	}
	for i, c := range changes {
		ai, ok := a.byID[c.UserID]
		if !ok {
			continue
		}
		until := end
		if i+1 < len(changes) && changes[i+1].UserID == c.UserID && changes[i+1].At.Before(until) {
			until = changes[i+1].At
		}
		a.addSpan(ai, c.To, c.ReasonCode, c.At, until)
	}
}

// addSpan adds [from, until) in status (with reason) to agent ai's rows,
// clipped to the range and split at interval boundaries.
func (a *AgentReport) addSpan(ai int, status, reason string, from, until time.Time) {
	if from.Before(a.r.From) {
		from = a.r.From
	}
	if !from.Before(until) {
		return
	}
	i := a.r.index(a.periods, from)
	for ; i >= 0 && i < len(a.periods) && from.Before(until); i++ {
		stop := earlier(a.rows[ai][i].End, until)
		d := stop.Sub(from).Seconds()
		for _, row := range []*AgentRow{&a.rows[ai][i], &a.totals[ai]} {
			row.StatusSeconds[status] += d
			if reason != "" {
				row.ReasonSeconds[reason] += d
			}
		}
		from = stop
	}
}

func earlier(x, y time.Time) time.Time {
	if x.Before(y) {
		return x
	}
	return y
}

// Rows returns the rows by agent ID, then time.
func (a *AgentReport) Rows() []AgentRow {
	var out []AgentRow
	for _, rows := range a.rows {
		for _, r := range rows {
			r.finish()
			out = append(out, r)
		}
	}
	return out
}

// Totals returns one row per agent over the whole range, by ID.
func (a *AgentReport) Totals() []AgentRow {
	out := make([]AgentRow, len(a.totals))
	for i, r := range a.totals {
		r.finish()
		out[i] = r
	}
	return out
}
