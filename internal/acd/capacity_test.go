package acd

import (
	"math"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/capacity"
	"github.com/switchboard/switchboard/internal/store"
)

// TestCapacityEstimate scripts half an hour of a queue (ten calls, each
// handled 180 s) and checks that the estimate is Erlang C of what was
// measured: 20 calls an hour × 180 s = 1 Erlang.
func TestCapacityEstimate(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001", "1002", "1003")})
	ev.queue("8000").ServiceLevel = 20 * time.Second
	ev.queue("8000").ServiceLevelTarget = 80
	ev.apply()

	s, _ := ev.e.QueueStats("8000")
	if c := s.Capacity; c.ModelErlangs != nil || c.MeasuredHandleTimeSeconds != nil || c.AgentsStaffed != 3 || c.TargetServiceLevel != 80 {
		t.Fatalf("before any call: %+v", c)
	}
	for i := range 10 {
		id := "c" + string(rune('0'+i))
		ev.mustEnter(id, "8000")
		ev.e.OfferAnswered(id, "1001")
		ev.clk.Advance(180 * time.Second)
		ev.e.InteractionEnded(id)
	}
	s, _ = ev.e.QueueStats("8000")
	c := s.Capacity
	if c.WindowSeconds != 1800 || c.MeasuredCallsPerHour != 20 || c.HandledCalls != 10 ||
		c.MeasuredHandleTimeSeconds == nil || *c.MeasuredHandleTimeSeconds != 180 {
		t.Fatalf("measured %+v", c)
	}
	if c.MeasuredServiceLevel == nil || *c.MeasuredServiceLevel != 100 || c.MeasuredAvgWaitSeconds != 0 {
		t.Fatalf("measured service %+v", c)
	}
	want := capacity.Predict(capacity.Load{CallsPerHour: 20, HandleTime: 180 * time.Second}, 3, 20*time.Second)
	switch {
	case c.ModelErlangs == nil || *c.ModelErlangs != 1:
		t.Fatalf("erlangs %+v", c)
	case c.ModelAgentsNeeded == nil || *c.ModelAgentsNeeded != 3: // 2 agents: 70.2 %, 3: 92.7 %
		t.Fatalf("agents needed %+v", c)
	case c.ModelStable == nil || !*c.ModelStable || c.ModelServiceLevel == nil ||
		math.Abs(*c.ModelServiceLevel-want.ServiceLevel*100) > 0.01 ||
		math.Abs(*c.ModelAvgWaitSeconds-want.ASA.Seconds()) > 0.01 ||
		math.Abs(*c.ModelOccupancy-100.0/3) > 0.01:
		t.Fatalf("model with 3 agents %+v, want %+v", c, want)
	}

	// Two agents on a break: one is left for 1 Erlang — unstable.
	ev.mustStatus("1002", StatusBreak, "")
	ev.mustStatus("1003", StatusBreak, "")
	s, _ = ev.e.QueueStats("8000")
	if c := s.Capacity; c.AgentsStaffed != 1 || c.ModelStable == nil || *c.ModelStable || c.ModelServiceLevel != nil ||
		*c.ModelAgentsNeeded != 3 {
		t.Fatalf("one agent for 1 Erlang: %+v", c)
	}

	// A stricter occupancy cap needs more agents: at most 25 % busy → 4.
	ev.queue("8000").MaxOccupancy = 25
	ev.apply()
	s, _ = ev.e.QueueStats("8000")
	if c := s.Capacity; c.MaxOccupancy != 25 || *c.ModelAgentsNeeded != 4 {
		t.Fatalf("with max occupancy 25 %%: %+v", c)
	}

	// An hour after the last call the window is empty: no estimate.
	ev.clk.Advance(time.Hour)
	s, _ = ev.e.QueueStats("8000")
	if c := s.Capacity; c.WindowSeconds != 3600 || c.MeasuredCallsPerHour != 0 || c.ModelErlangs != nil {
		t.Fatalf("an hour later: %+v", c)
	}
}
