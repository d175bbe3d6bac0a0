package acd

import (
	"math"
	"time"

	"github.com/switchboard/switchboard/internal/capacity"
)

// Capacity planning (issue 7): per queue, what Erlang C (internal/capacity)
// makes of the load measured over the last hour, next to what was really
// measured. Field names say where each figure comes from: measured_* are
// counted by the engine, model_* are the model's, and the rest are the
// queue's settings or its staffing now.

// capacityWindow is how far back the arrival rate and handle time are
// measured: the statistics window, so the model and the measured service
// level speak of the same calls.
const capacityWindow = time.Hour

// Capacity is a queue's capacity estimate.
type Capacity struct {
	// WindowSeconds is the span the measured figures cover: the last hour,
	// or the time since the engine began counting the queue when that is
	// shorter (at least a minute).
	WindowSeconds int `json:"window_s"`
	// MeasuredCallsPerHour is the arrival rate: callers who entered the
	// queue in the window, per hour.
	MeasuredCallsPerHour float64 `json:"measured_calls_per_hour"`
	// MeasuredHandleTimeSeconds is the mean handle time (talk plus
	// wrap-up) of the HandledCalls whose interaction ended in the window;
	// absent without any, and then there is no model estimate.
	MeasuredHandleTimeSeconds *float64 `json:"measured_handle_time_s,omitempty"`
	HandledCalls              int      `json:"handled_calls"`
	// MeasuredServiceLevel and MeasuredAvgWaitSeconds are the queue's
	// service_level and avg_wait_s (the last hour), repeated beside the
	// model's.
	MeasuredServiceLevel   *float64 `json:"measured_service_level,omitempty"`
	MeasuredAvgWaitSeconds float64  `json:"measured_avg_wait_s"`

	// The queue's target (settings): TargetServiceLevel percent within
	// ServiceLevelSeconds, agents busy at most MaxOccupancy percent of
	// their time (0: no limit).
	TargetServiceLevel  int `json:"target_service_level"`
	ServiceLevelSeconds int `json:"service_level_s"`
	MaxOccupancy        int `json:"max_occupancy"`
	// AgentsStaffed is the agents staffing the queue now: members logged
	// in (not paused) whose status is available, whatever they are doing
	// (the N of the expected wait). The model's predictions are for them.
	AgentsStaffed int `json:"agents_staffed"`

	// The model (present with a measured handle time). ModelErlangs is the
	// offered traffic, calls per hour × handle time; ModelAgentsNeeded the
	// fewest agents meeting the target (absent when unreachable).
	ModelErlangs      *float64 `json:"model_erlangs,omitempty"`
	ModelAgentsNeeded *int     `json:"model_agents_needed,omitempty"`
	// ModelStable is false when the staffed agents cannot keep up (N ≤ A):
	// the queue grows until callers give up, and the model predicts no
	// service level or wait.
	ModelStable *bool `json:"model_stable,omitempty"`
	// With AgentsStaffed agents: the predicted service level (percent
	// within ServiceLevelSeconds), average wait over all callers, the
	// probability of waiting at all (percent) and the agents' occupancy
	// (percent).
	ModelServiceLevel   *float64 `json:"model_service_level,omitempty"`
	ModelAvgWaitSeconds *float64 `json:"model_avg_wait_s,omitempty"`
	ModelProbWait       *float64 `json:"model_prob_wait,omitempty"`
	ModelOccupancy      *float64 `json:"model_occupancy,omitempty"`
}

// noteHandled counts an ended interaction of q with handle time d. Under
// e.mu.
func (e *Engine) noteHandled(q *queue, d time.Duration, now time.Time) {
	q.handled.add(d)
	b := q.stats.at(now)
	b.handled++
	b.handleSum += d
}

// capacity computes q's estimate from the last hour h and the figures s
// already computed. Under e.mu.
func (e *Engine) capacity(q *queue, h bucket, s QueueStats, now time.Time) Capacity {
	win := capacityWindow
	if !q.counting.IsZero() {
		win = min(win, max(now.Sub(q.counting), time.Minute))
	}
	c := Capacity{
		WindowSeconds:          int(win / time.Second),
		MeasuredCallsPerHour:   round2(float64(h.entered) / win.Hours()),
		HandledCalls:           h.handled,
		MeasuredServiceLevel:   s.ServiceLevel,
		MeasuredAvgWaitSeconds: s.AvgWaitSeconds,
		TargetServiceLevel:     q.cfg.ServiceLevelTarget,
		ServiceLevelSeconds:    s.ServiceLevelSeconds,
		MaxOccupancy:           q.cfg.MaxOccupancy,
	}
	if c.TargetServiceLevel == 0 {
		c.TargetServiceLevel = 80 // a queue built without the store
	}
	staffed := make(map[*agent]bool)
	for _, m := range q.members {
		if m.state == MemberLoggedIn && m.a.status == StatusAvailable && !m.a.gone {
			staffed[m.a] = true
		}
	}
	c.AgentsStaffed = len(staffed)
	if h.handled == 0 {
		return c
	}
	aht := h.handleSum / time.Duration(h.handled)
	c.MeasuredHandleTimeSeconds = ptr(round2(aht.Seconds()))
	load := capacity.Load{CallsPerHour: float64(h.entered) / win.Hours(), HandleTime: aht}
	threshold := time.Duration(c.ServiceLevelSeconds) * time.Second
	c.ModelErlangs = ptr(round2(load.Erlangs()))
	need, err := capacity.AgentsNeeded(load, capacity.Target{ServiceLevel: float64(c.TargetServiceLevel) / 100,
		Threshold: threshold, MaxOccupancy: float64(c.MaxOccupancy) / 100})
	if err == nil {
		c.ModelAgentsNeeded = ptr(need.Agents)
	}
	p := capacity.Predict(load, c.AgentsStaffed, threshold)
	c.ModelStable = ptr(p.Stable)
	if p.Stable {
		c.ModelServiceLevel = ptr(round2(p.ServiceLevel * 100))
		c.ModelAvgWaitSeconds = ptr(round2(p.ASA.Seconds()))
		c.ModelProbWait = ptr(round2(p.ProbWait * 100))
		c.ModelOccupancy = ptr(round2(p.Occupancy * 100))
	}
	return c
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func ptr[T any](v T) *T { return &v }
