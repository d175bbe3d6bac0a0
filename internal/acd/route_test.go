package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// answerAndEnd answers call id on ext and ends it at once (no wrap-up in
// these queues), so ext is idle again.
func (ev *env) answerAndEnd(id, ext string) {
	ev.t.Helper()
	ev.e.OfferAnswered(id, ext)
	ev.e.InteractionEnded(id)
	ev.expectState(ext, StateIdle)
}

// TestStrategyOrder: which agent each strategy picks, call after call.
func TestStrategyOrder(t *testing.T) {
	t.Run("linear: first idle in member order, penalty first", func(t *testing.T) {
		ev := newEnv(t, []store.Queue{q("8000 linear", "1003:1", "1002", "1001")})
		ev.mustEnter("c1", "8000")
		ev.mustEnter("c2", "8000")
		ev.mustEnter("c3", "8000")
		ev.expect("offer c1 1001 20s", "offer c2 1002 20s", "offer c3 1003 20s")
		ev.answerAndEnd("c2", "1002")
		ev.mustEnter("c4", "8000")
		ev.expect("offer c4 1002 20s") // 1002 again: linear has no memory
	})
	t.Run("higher penalty only while the lower ones are not idle", func(t *testing.T) {
		ev := newEnv(t, []store.Queue{q("8000 longest_idle", "1001:5", "1002")})
		ev.clk.Advance(time.Minute)
		ev.mustStatus("1002", StatusBreak, "")
		ev.mustStatus("1002", StatusAvailable, "") // 1002 idle for less time than 1001
		ev.mustEnter("c1", "8000")
		ev.expect("offer c1 1002 20s")
		ev.mustEnter("c2", "8000")
		ev.expect("offer c2 1001 20s")
	})
	t.Run("longest idle", func(t *testing.T) {
		ev := newEnv(t, []store.Queue{q("8000 longest_idle", "1001", "1002", "1003")})
		// Everyone became idle at start; make the order 1002, 1003, 1001.
		for _, x := range []string{"1001", "1003"} {
			ev.clk.Advance(time.Second)
			ev.mustStatus(x, StatusBreak, "")
			ev.mustStatus(x, StatusAvailable, "")
		}
		ev.mustEnter("c1", "8000")
		ev.expect("offer c1 1002 20s")
		ev.clk.Advance(time.Second)
		ev.answerAndEnd("c1", "1002")
		ev.mustEnter("c2", "8000")
		ev.expect("offer c2 1001 20s")
		ev.clk.Advance(time.Second)
		ev.answerAndEnd("c2", "1001")
		ev.mustEnter("c3", "8000")
		ev.expect("offer c3 1003 20s")
	})
	t.Run("round robin continues after the last one offered", func(t *testing.T) {
		ev := newEnv(t, []store.Queue{q("8000 round_robin", "1001", "1002", "1003")})
		var got []string
		for i := range 5 {
			id := fmt.Sprint("c", i)
			ev.mustEnter(id, "8000")
			v, _ := ev.e.QueueDetail("8000")
			got = append(got, v.RingingCalls[0].Agents[0].Name)
			ev.calls.take()
			ext := v.RingingCalls[0].Agents[0].Name[len("Agent "):]
			ev.answerAndEnd(id, ext)
		}
		want := []string{"Agent 1001", "Agent 1002", "Agent 1003", "Agent 1001", "Agent 1002"}
		if !slices.Equal(got, want) {
			t.Errorf("offers went to %v, want %v", got, want)
		}
		// An agent who is not eligible is skipped, and the round goes on.
		ev.mustStatus("1003", StatusBreak, "")
		ev.mustEnter("c9", "8000")
		ev.expect("offer c9 1001 20s")
	})
	t.Run("fewest calls", func(t *testing.T) {
		ev := newEnv(t, []store.Queue{q("8000 fewest_calls", "1001", "1002", "1003")})
		ev.e.mu.Lock()
		for _, m := range ev.e.queues["8000"].members {
			m.answered = map[string]int{"1001": 3, "1002": 1, "1003": 2}[m.ext]
		}
		ev.e.mu.Unlock()
		ev.mustEnter("c1", "8000")
		ev.mustEnter("c2", "8000")
		ev.mustEnter("c3", "8000")
		ev.expect("offer c1 1002 20s", "offer c2 1003 20s", "offer c3 1001 20s")
		ev.answerAndEnd("c2", "1003") // 1003 now has 3, like 1001
		ev.answerAndEnd("c3", "1001") // 1001 4
		ev.mustEnter("c4", "8000")
		ev.expect("offer c4 1003 20s")
	})
}

// TestRingAll: the lowest penalty rings, the first answer wins.
func TestRingAll(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 ringall", "1001", "1002", "1003:1")})
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1001 20s", "offer c1 1002 20s")
	ev.e.OfferAnswered("c1", "1002")
	ev.expect("cancel c1 1001")
	ev.expectState("1001", StateIdle)
	ev.expectState("1002", StateBusy)
	// The next call rings the one idle agent of the lowest penalty.
	ev.mustEnter("c2", "8000")
	ev.expect("offer c2 1001 20s")
	// An agent who becomes free while a call rings the others joins in.
	ev.e.InteractionEnded("c1")
	ev.expect("offer c2 1002 20s")
	// A caller hanging up stops every offer.
	ev.e.Abandon("c2")
	ev.expect("cancel c2 1001", "cancel c2 1002")
	ev.expectState("1001", StateIdle)
	ev.expectState("1002", StateIdle)
	// Each agent who does not answer goes to RONA.
	ev.mustEnter("c3", "8000")
	ev.expect("offer c3 1001 20s", "offer c3 1002 20s")
	ev.e.OfferFailed("c3", "1001", FailNoAnswer)
	ev.expect()
	ev.e.OfferFailed("c3", "1002", FailNoAnswer)
	// Nobody of penalty 0 is left: 1003 gets it.
	ev.expect("offer c3 1003 20s")
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestRONA(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001", "1002")})
	ev.mustStatus("1002", StatusBreak, "")
	ev.mustEnter("c1", "8000")
	ev.mustEnter("c2", "8000")
	ev.expect("offer c1 1001 20s")
	if got := ev.waitingIDs("8000"); !slices.Equal(got, []string{"c2"}) {
		t.Fatalf("waiting %v", got)
	}
	ev.e.OfferFailed("c1", "1001", FailNoAnswer)
	ev.expectState("1001", StateRONA, StatusAvailable)
	ev.expect()
	// c1 is back at the head, before c2 which entered later.
	if got := ev.waitingIDs("8000"); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("after RONA waiting %v, want c1 c2", got)
	}
	// An agent in RONA gets nothing, also not from a new call.
	ev.mustEnter("c3", "8000")
	ev.clk.Advance(time.Hour)
	ev.expect()
	ev.expectState("1001", StateRONA)
	// Another agent becoming available gets the head of the queue.
	ev.mustStatus("1002", StatusAvailable, "")
	ev.expect("offer c1 1002 20s")
	// Choosing Available again ends RONA.
	ev.mustStatus("1001", StatusAvailable, "")
	ev.expect("offer c2 1001 20s")
	v := ev.agent("1001")
	if v.Presence != "offered" || v.Call == nil || v.Call.ID != "c2" {
		t.Errorf("1001 = %+v", v)
	}
	// Unreachable counts as RONA; busy does not, but skips the agent a while.
	ev.e.OfferFailed("c2", "1001", FailUnreachable)
	ev.expectState("1001", StateRONA)
	ev.mustStatus("1001", StatusAvailable, "")
	ev.expect("offer c2 1001 20s")
	ev.e.OfferFailed("c2", "1001", FailBusy)
	ev.expectState("1001", StateIdle, StatusAvailable)
	ev.expect()
	ev.clk.Advance(4 * time.Second)
	ev.expect()
	ev.clk.Advance(time.Second) // BusyRetry
	ev.expect("offer c2 1001 20s")
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestWrapUp(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	ev.queue("8000").WrapupTime = 30 * time.Second
	ev.snap.wrapupCodes = []store.WrapupCode{{ID: 1, Queue: "8000", Code: "sale"}, {ID: 2, Queue: "8000", Code: "info"}}
	ev.apply()
	ev.mustEnter("c1", "8000")
	ev.e.OfferAnswered("c1", "1001")
	ev.e.InteractionEnded("c1")
	ev.expectState("1001", StateWrapUp)
	v := ev.agent("1001")
	if v.WrapUp == nil || v.WrapUp.CallID != "c1" || !v.WrapUp.EndsAt.Equal(ev.clk.Now().Add(30*time.Second)) {
		t.Fatalf("wrap-up view %+v", v.WrapUp)
	}
	ev.calls.take()
	ev.mustEnter("c2", "8000")
	ev.clk.Advance(29 * time.Second)
	ev.expect() // blocked for the wrap-up time
	ev.clk.Advance(time.Second)
	ev.expect("offer c2 1001 20s")

	// Ending early, with a code.
	ev.e.OfferAnswered("c2", "1001")
	ev.e.InteractionEnded("c2")
	ev.mustEnter("c3", "8000")
	ctx := context.Background()
	if _, err := ev.e.EndWrapUp(ctx, 1001, "nonsense", true); !errors.Is(err, ErrInvalidWrapupCode) {
		t.Fatalf("bad code: %v", err)
	}
	ev.expectState("1001", StateWrapUp)
	v, err := ev.e.EndWrapUp(ctx, 1001, "info", false) // a code, wrap-up goes on
	if err != nil || v.WrapUp == nil || v.WrapUp.Code != "info" || v.State != "wrap_up" {
		t.Fatalf("code only: %+v, %v", v, err)
	}
	ev.expect()
	if _, err := ev.e.EndWrapUp(ctx, 1001, "sale", true); err != nil {
		t.Fatal(err)
	}
	ev.expect("offer c3 1001 20s")
	// The old wrap-up timer firing later changes nothing.
	ev.clk.Advance(time.Minute)
	ev.expectState("1001", StateOffered)
	// A code for the last call may still be chosen after the wrap-up.
	ev.e.OfferAnswered("c3", "1001")
	ev.e.InteractionEnded("c3")
	ev.clk.Advance(30 * time.Second)
	ev.expectState("1001", StateIdle)
	if _, err := ev.e.EndWrapUp(ctx, 1001, "sale", true); err != nil {
		t.Errorf("late code: %v", err)
	}
	if _, err := ev.e.EndWrapUp(ctx, 1001, "", true); !errors.Is(err, ErrNotInWrapUp) {
		t.Errorf("end a wrap-up that ended: %v", err)
	}
}

func TestSkippedAgents(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001", "1002", "1003", "1004", "1005")})
	ev.member("8000", "1001", MemberPaused)
	ev.mustStatus("1002", StatusOffline, "")
	ev.member("8000", "1003", MemberLoggedOut)
	ev.mustStatus("1004", StatusLoggedOut, "")
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1005 20s")
	ev.mustEnter("c2", "8000")
	ev.expect()
	// Unpausing 1001 gives them the waiting call.
	ev.member("8000", "1001", MemberLoggedIn)
	ev.expect("offer c2 1001 20s")
	// Pausing while it rings withdraws the offer; the call goes back.
	ev.member("8000", "1001", MemberPaused)
	ev.expect("cancel c2 1001")
	if got := ev.waitingIDs("8000"); !slices.Equal(got, []string{"c2"}) {
		t.Fatalf("waiting %v", got)
	}
	if _, err := ev.e.SetMembership(context.Background(), MembershipChange{Queue: "8000", Extension: "1999", State: MemberPaused}); !errors.Is(err, ErrUnknownAgent) {
		t.Errorf("unknown extension: %v", err)
	}
	if _, err := ev.e.SetMembership(context.Background(), MembershipChange{Queue: "8999", Extension: "1001", State: MemberPaused}); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("unknown queue: %v", err)
	}
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestMembershipCreateAndPenalty(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")}, "1002")
	ctx := context.Background()
	if _, err := ev.e.SetMembership(ctx, MembershipChange{Queue: "8000", Extension: "1002", State: MemberLoggedIn}); !errors.Is(err, ErrNotMember) {
		t.Fatalf("not a member: %v", err)
	}
	zero := 0
	v, err := ev.e.SetMembership(ctx, MembershipChange{Queue: "8000", Extension: "1002", Penalty: &zero, Create: true})
	if err != nil || v.State != "logged_in" || v.AgentID != 1002 {
		t.Fatalf("create: %+v, %v", v, err)
	}
	// 1002 < 1001 by penalty now.
	five := 5
	if _, err := ev.e.SetMembership(ctx, MembershipChange{Queue: "8000", Extension: "1001", Penalty: &five}); err != nil {
		t.Fatal(err)
	}
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1002 20s")
	if got := ev.e.AgentQueues(1002); !slices.Equal(got, []string{"8000"}) {
		t.Errorf("AgentQueues = %v", got)
	}
}

func TestMaxWaitingAndJoinEmpty(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	ev.queue("8000").MaxWaiting = 2
	ev.queue("8000").OverflowDestination = "9000"
	ev.apply()
	ev.mustEnter("c1", "8000") // ringing 1001
	ev.mustEnter("c2", "8000") // waiting
	err := ev.enter("c3", "8000")
	var re *RefusedError
	if !errors.Is(err, ErrQueueFull) || !errors.As(err, &re) || re.Overflow != "9000" {
		t.Fatalf("third caller: %v", err)
	}
	// join_empty = false: refused while nobody is logged in; paused counts.
	ev.queue("8000").MaxWaiting = 0
	ev.queue("8000").RefuseWhenEmpty = true
	ev.apply()
	ev.member("8000", "1001", MemberPaused)
	if err := ev.enter("c4", "8000"); err != nil {
		t.Fatalf("paused member counts as logged in: %v", err)
	}
	ev.member("8000", "1001", MemberLoggedOut)
	if err := ev.enter("c5", "8000"); !errors.Is(err, ErrNoAgents) {
		t.Fatalf("nobody logged in: %v", err)
	}
	ev.member("8000", "1001", MemberLoggedIn)
	ev.mustStatus("1001", StatusLoggedOut, "")
	if err := ev.enter("c5", "8000"); !errors.Is(err, ErrNoAgents) {
		t.Fatalf("the only agent logged out: %v", err)
	}
	// join_empty = true (the default): a caller waits for an agent.
	ev.queue("8000").RefuseWhenEmpty = false
	ev.apply()
	ev.mustEnter("c5", "8000")
	st, _ := ev.e.QueueStats("8000")
	if st.RefusedLastHour != 3 || st.Waiting != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestMaxWaitOverflow(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	ev.queue("8000").MaxWait = time.Minute
	ev.queue("8000").OverflowDestination = "+31201230009"
	ev.apply()
	ev.mustStatus("1001", StatusBreak, "")
	ev.mustEnter("c1", "8000")
	ev.clk.Advance(30 * time.Second)
	ev.mustEnter("c2", "8000")
	ev.clk.Advance(30 * time.Second)
	ev.expect("overflow c1 +31201230009")
	if got := ev.waitingIDs("8000"); !slices.Equal(got, []string{"c2"}) {
		t.Fatalf("waiting %v", got)
	}
	// A call ringing at its deadline rings on; unanswered, it overflows
	// instead of going back.
	ev.mustStatus("1001", StatusAvailable, "")
	ev.expect("offer c2 1001 20s")
	ev.clk.Advance(30 * time.Second)
	ev.expect()
	ev.e.OfferFailed("c2", "1001", FailNoAnswer)
	ev.expect("overflow c2 +31201230009")
	// Answered before the deadline: no overflow.
	ev.mustStatus("1001", StatusAvailable, "")
	ev.mustEnter("c3", "8000")
	ev.e.OfferAnswered("c3", "1001")
	ev.clk.Advance(2 * time.Minute)
	ev.expect("offer c3 1001 20s")
	st, _ := ev.e.QueueStats("8000")
	if st.OverflowedLastHour != 2 || st.Active != 1 || st.Waiting != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestPriorityOrder(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	ev.mustStatus("1001", StatusBreak, "")
	for i, p := range []int{0, 1, 0, 2} {
		if err := ev.e.Enter(QueueCall{ID: fmt.Sprint("c", i), Queue: "8000", Priority: p}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ev.waitingIDs("8000"); !slices.Equal(got, []string{"c3", "c1", "c0", "c2"}) {
		t.Fatalf("waiting %v", got)
	}
	d, _ := ev.e.QueueDetail("8000")
	if d.WaitingCalls[2].Position != 3 {
		t.Errorf("position %d", d.WaitingCalls[2].Position)
	}
}

// TestAgentServesOldestCall: an agent in two queues takes the caller
// who waited longest across them.
func TestAgentServesOldestCall(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001"), q("8001 linear", "1001")})
	ev.mustStatus("1001", StatusBreak, "")
	ev.mustEnter("a", "8001")
	ev.clk.Advance(time.Second)
	ev.mustEnter("b", "8000")
	ev.mustStatus("1001", StatusAvailable, "")
	ev.expect("offer a 1001 20s")
}

// TestCallLayerCallsBack: the call layer may report inside Offer (no
// device registered): no deadlock, and the instructions stay in order.
func TestCallLayerCallsBack(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001", "1002")})
	ev.calls.onOffer = func(callID string, a Agent) {
		if a.Extensions[0] == "1001" {
			ev.e.OfferFailed(callID, "1001", FailUnreachable)
		}
	}
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1001 20s", "offer c1 1002 20s")
	ev.expectState("1001", StateRONA)
	ev.expectState("1002", StateOffered)
}

func TestReload(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001", "1002"), q("8001 linear", "1002")})
	ev.queue("8001").OverflowDestination = "1003"
	ev.apply()
	ev.mustStatus("1002", StatusBreak, "")
	ev.mustEnter("c1", "8000") // ringing 1001
	ev.mustEnter("c2", "8001") // waiting
	ev.calls.take()
	// 8001 deleted, 1001 no longer an agent (their extension went).
	ev.snap.queues = ev.snap.queues[:1]
	ev.snap.extensions = slices.DeleteFunc(ev.snap.extensions, func(x store.Extension) bool { return x.Number == "1001" })
	ev.apply()
	ev.expect("cancel c1 1001", "overflow c2 1003")
	if _, ok := ev.e.AgentByExtension("1001"); ok {
		t.Error("1001 is still an agent")
	}
	if got := ev.waitingIDs("8000"); !slices.Equal(got, []string{"c1"}) {
		t.Fatalf("waiting %v", got)
	}
	if _, err := ev.e.QueueStats("8001"); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("deleted queue: %v", err)
	}
	ev.mustStatus("1002", StatusAvailable, "")
	ev.expect("offer c1 1002 20s")
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestEvents(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	sub, err := ev.bus.Subscribe(ev.bus.Seq(), 256)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ev.mustEnter("c1", "8000")
	ev.e.OfferAnswered("c1", "1001")
	ev.e.InteractionEnded("c1")
	ev.mustEnter("c2", "8000")
	ev.e.Abandon("c2")
	ev.member("8000", "1001", MemberPaused)
	var got []string
	var last uint64
	for len(sub.C()) > 0 {
		e := <-sub.C()
		if e.Seq <= last {
			t.Errorf("sequence %d after %d", e.Seq, last)
		}
		last = e.Seq
		if e.Type != events.QueueStatsUpdated {
			got = append(got, string(e.Type)+" "+e.Resource)
		}
	}
	want := []string{
		"queue_call_entered queue:8000",
		"agent_state_changed agent:1001", // offered
		"queue_call_offered queue:8000",
		"queue_call_answered queue:8000",
		"agent_state_changed agent:1001", // busy
		"agent_state_changed agent:1001", // idle (no wrap-up)
		"queue_call_entered queue:8000",
		"agent_state_changed agent:1001",
		"queue_call_offered queue:8000",
		"agent_state_changed agent:1001", // cancelled: idle
		"queue_call_abandoned queue:8000",
		"agent_queue_membership_changed queue:8000",
		"agent_state_changed agent:1001",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n  %v\nwant\n  %v", got, want)
	}
}

func TestSupervises(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000", "1001"), q("8001", "1001")})
	ev.snap.supervisors = map[string][]int64{"8000": {7}}
	ev.apply()
	if !ev.e.Supervises(7, "8000") || ev.e.Supervises(7, "8001") || ev.e.Supervises(8, "8000") {
		t.Error("Supervises after load")
	}
	if _, err := ev.e.SetSupervisors(context.Background(), "8001", []int64{7, 8}); err != nil {
		t.Fatal(err)
	}
	if !ev.e.Supervises(8, "8001") || !slices.Equal(ev.e.SupervisedQueues(7), []string{"8000", "8001"}) {
		t.Error("Supervises after SetSupervisors")
	}
	if _, err := ev.e.SetSupervisors(context.Background(), "8999", []int64{7}); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("unknown queue: %v", err)
	}
}
