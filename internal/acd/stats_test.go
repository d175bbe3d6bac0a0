package acd

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// TestStats scripts a queue's hour and checks the figures.
func TestStats(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001", "1002", "1003")})
	ev.queue("8000").ServiceLevel = 20 * time.Second
	ev.apply()
	ev.member("8000", "1003", MemberPaused)
	ev.mustStatus("1001", StatusBreak, "")
	ev.mustStatus("1002", StatusBreak, "")
	// c1 waits 10 s, c2 30 s, c3 hangs up after 40 s, c4 5 s.
	ev.mustEnter("c1", "8000")
	ev.mustEnter("c2", "8000")
	ev.clk.Advance(10 * time.Second)
	ev.mustStatus("1001", StatusAvailable, "")
	ev.e.OfferAnswered("c1", "1001")
	ev.mustEnter("c3", "8000")
	ev.clk.Advance(20 * time.Second)
	ev.mustStatus("1002", StatusAvailable, "")
	ev.e.OfferAnswered("c2", "1002")
	ev.clk.Advance(20 * time.Second)
	ev.e.Abandon("c3")
	ev.mustEnter("c4", "8000")
	ev.mustEnter("c5", "8000")
	ev.clk.Advance(5 * time.Second)
	ev.e.InteractionEnded("c1") // 1001 free: takes c4
	ev.e.OfferAnswered("c4", "1001")
	ev.clk.Advance(5 * time.Second)

	d, err := ev.e.QueueDetail("8000")
	if err != nil {
		t.Fatal(err)
	}
	s := d.QueueStats
	checks := []struct {
		name      string
		got, want float64
	}{
		{"waiting", float64(s.Waiting), 1},
		{"ringing", float64(s.Ringing), 0},
		{"active", float64(s.Active), 2},
		{"entered", float64(s.EnteredLastHour), 5},
		{"answered", float64(s.AnsweredLastHour), 3},
		{"abandoned", float64(s.AbandonedLastHour), 1},
		{"average wait", s.AvgWaitSeconds, 15}, // (10 + 30 + 5) / 3
		{"longest wait", s.LongestWaitSeconds, 10},
		{"longest call", s.LongestCallSeconds, 30}, // c2 answered at 30 s, now 60 s
		{"service level", *s.ServiceLevel, 50},     // c1 and c4 within 20 s, of 4 done
		{"logged in", float64(s.AgentsLoggedIn), 2},
		{"paused", float64(s.AgentsPaused), 1},
		{"logged out", float64(s.AgentsLoggedOut), 0},
		{"available", float64(s.AgentsAvailable), 0},
		{"busy", float64(s.AgentsBusy), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	ids := func(cs []QueueCallView) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID+":"+c.State)
		}
		return out
	}
	if got := ids(d.WaitingCalls); !slices.Equal(got, []string{"c5:waiting"}) {
		t.Errorf("waiting list %v", got)
	}
	if got := ids(d.AnsweredCalls); !slices.Equal(got, []string{"c2:answered", "c4:answered"}) {
		t.Errorf("answered list %v", got)
	}
	if c := d.AnsweredCalls[0]; c.WaitSeconds != 30 || c.TalkSeconds != 30 || c.Agents[0].ID != 1002 {
		t.Errorf("c2 = %+v", c)
	}
	if len(d.Members) != 3 || d.Members[0].Presence != "busy" || d.Members[2].State != "paused" {
		t.Errorf("members %+v", d.Members)
	}
	// A call ringing is in the ringing list.
	ev.mustStatus("1003", StatusAvailable, "")
	ev.member("8000", "1003", MemberLoggedIn)
	d, _ = ev.e.QueueDetail("8000")
	if got := ids(d.RingingCalls); !slices.Equal(got, []string{"c5:ringing"}) || d.Ringing != 1 || d.Waiting != 1 {
		t.Errorf("ringing list %v (%+v)", got, d.QueueStats)
	}

	// An hour later the counts have rolled out; live figures remain.
	ev.clk.Advance(time.Hour)
	s, _ = ev.e.QueueStats("8000")
	if s.EnteredLastHour != 0 || s.AnsweredLastHour != 0 || s.ServiceLevel != nil || s.Active != 2 {
		t.Errorf("an hour later: %+v", s)
	}
}

// TestStatsEventsCoalesced: with an interval, changes of a queue within
// it make one queue_stats_updated.
func TestStatsEventsCoalesced(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	ev.e.cfg.StatsInterval = time.Second
	sub, err := ev.bus.Subscribe(ev.bus.Seq(), 256)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ev.mustEnter("c1", "8000")
	ev.mustEnter("c2", "8000")
	ev.e.Abandon("c2")
	count := func() int {
		n := 0
		for len(sub.C()) > 0 {
			if e := <-sub.C(); e.Type == "queue_stats_updated" {
				n++
				if s := e.Data.(QueueStats); s.Waiting != 1 || s.EnteredLastHour != 2 {
					t.Errorf("stats %+v", s)
				}
			}
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d stats events before the interval", n)
	}
	ev.clk.Advance(time.Second)
	if n := count(); n != 1 {
		t.Fatalf("%d stats events after it, want 1", n)
	}
}
