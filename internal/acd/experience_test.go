package acd

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

func (ev *env) wait(id string) WaitInfo {
	ev.t.Helper()
	w, err := ev.e.WaitInfo(id)
	if err != nil {
		ev.t.Fatalf("WaitInfo(%s): %v", id, err)
	}
	return w
}

// TestExpectedWait: EWT = position × AHT / staffed agents, with the last
// hour's average wait before any call was handled, unknown with nobody
// staffing the queue.
func TestExpectedWait(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001", "1002")})
	// Two calls answered and handled in 4 minutes each.
	ev.mustEnter("a1", "8000")
	ev.mustEnter("a2", "8000")
	ev.expect("offer a1 1001 20s", "offer a2 1002 20s")
	ev.e.OfferAnswered("a1", "1001")
	ev.e.OfferAnswered("a2", "1002")
	ev.clk.Advance(4 * time.Minute)
	ev.e.InteractionEnded("a1")
	ev.e.InteractionEnded("a2")
	ev.mustEnter("a3", "8000")
	ev.mustEnter("a4", "8000")
	ev.expect("offer a3 1001 20s", "offer a4 1002 20s")
	ev.e.OfferAnswered("a3", "1001")
	ev.e.OfferAnswered("a4", "1002")
	for _, id := range []string{"w1", "w2", "w3"} {
		ev.mustEnter(id, "8000")
	}
	for i, id := range []string{"w1", "w2", "w3"} {
		w := ev.wait(id)
		want := time.Duration(i+1) * 4 * time.Minute / 2
		if w.State != "waiting" || w.Position != i+1 || !w.EWTKnown || w.EWT != want {
			t.Errorf("%s: %+v, want position %d, EWT %v", id, w, i+1, want)
		}
	}
	// One agent on a break: one agent staffs the queue.
	ev.mustStatus("1002", StatusBreak, "")
	if w := ev.wait("w1"); w.EWT != 4*time.Minute {
		t.Errorf("w1 with one agent: EWT %v, want 4m", w.EWT)
	}
	// A ringing or answered call has no position.
	if w := ev.wait("a3"); w.State != "answered" || w.Position != 0 || w.EWTKnown {
		t.Errorf("answered a3: %+v", w)
	}
	if _, err := ev.e.WaitInfo("nope"); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("unknown call: %v", err)
	}
	// Nobody staffing: unknown.
	ev.mustStatus("1001", StatusBreak, "")
	if w := ev.wait("w1"); w.EWTKnown || w.Position != 1 {
		t.Errorf("nobody staffing: %+v", w)
	}
}

// TestExpectedWaitFromAverageWait: before any call was handled, the last
// hour's average wait is the estimate.
func TestExpectedWaitFromAverageWait(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	ev.mustStatus("1001", StatusBreak, "")
	ev.mustEnter("x1", "8000")
	ev.clk.Advance(3 * time.Minute)
	ev.mustStatus("1001", StatusAvailable, "")
	ev.expect("offer x1 1001 20s")
	ev.e.OfferAnswered("x1", "1001")
	ev.mustEnter("x2", "8000")
	if w := ev.wait("x2"); !w.EWTKnown || w.EWT != 3*time.Minute {
		t.Errorf("x2: %+v, want the average wait 3m", w)
	}
}

func TestLeaveForVoicemail(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 ringall", "1001", "1002")})
	sub, err := ev.bus.Subscribe(0, 256)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1001 20s", "offer c1 1002 20s")
	if err := ev.e.Leave("c1", LeftVoicemail); err != nil {
		t.Fatal(err)
	}
	ev.expect("cancel c1 1001", "cancel c1 1002")
	ev.expectState("1001", StateIdle)
	ev.expectState("1002", StateIdle)
	st, _ := ev.e.QueueStats("8000")
	if st.VoicemailsLastHour != 1 || st.AbandonedLastHour != 0 || st.Waiting != 0 {
		t.Errorf("stats %+v", st)
	}
	if err := ev.e.Leave("c1", LeftVoicemail); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("second leave: %v", err)
	}
	var left bool
	for len(sub.C()) > 0 {
		e := <-sub.C()
		if e.Type == events.QueueCallLeft && e.Data.(QueueCallView).State == "voicemail" {
			left = true
		}
	}
	if !left {
		t.Error("no queue_call_left event")
	}
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestCallbackKeepsPlace: a caller who asks to be called back keeps their
// place; the agent chosen for it is offered it like a call; a customer
// not reached sends it back to its place, retried after a delay, while
// the callers behind it are served; after three attempts it is given up.
func TestCallbackKeepsPlace(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	ev.mustStatus("1001", StatusBreak, "")
	ev.mustEnter("c1", "8000")
	ev.mustEnter("c2", "8000")
	if err := ev.e.KeepAsCallback("c1"); err != nil {
		t.Fatal(err)
	}
	if got := ev.waitingIDs("8000"); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("waiting %v: the callback lost its place", got)
	}
	if w := ev.wait("c2"); w.Position != 2 {
		t.Errorf("c2 behind the callback: position %d, want 2", w.Position)
	}
	st, _ := ev.e.QueueStats("8000")
	if st.CallbacksWaiting != 1 || st.CallbacksRequestedLastHour != 1 || st.Waiting != 2 {
		t.Errorf("stats %+v", st)
	}
	d, _ := ev.e.QueueDetail("8000")
	if !d.WaitingCalls[0].Callback || d.WaitingCalls[1].Callback {
		t.Errorf("waiting calls %+v", d.WaitingCalls)
	}

	// The agent comes: the callback first.
	ev.mustStatus("1001", StatusAvailable, "")
	ev.expect("offer c1 1001 20s")
	ev.e.OfferAnswered("c1", "1001")
	ev.expectState("1001", StateBusy)
	if st, _ := ev.e.QueueStats("8000"); st.AnsweredLastHour != 0 {
		t.Errorf("a callback counted answered before the customer was reached: %+v", st)
	}
	// The customer does not answer: the agent is free at once, c2 is
	// served while the callback waits to be retried.
	n, gaveUp, err := ev.e.CallbackFailed("c1", true)
	if err != nil || n != 1 || gaveUp {
		t.Fatalf("CallbackFailed: %d %v %v", n, gaveUp, err)
	}
	ev.expect("offer c2 1001 20s")
	if got := ev.waitingIDs("8000"); !slices.Equal(got, []string{"c1"}) {
		t.Fatalf("waiting %v", got)
	}
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	ev.e.OfferAnswered("c2", "1001")
	ev.clk.Advance(ev.e.cfg.CallbackRetryDelay)
	ev.expect() // the agent is busy
	ev.e.InteractionEnded("c2")
	ev.expect("offer c1 1001 20s")
	ev.e.OfferAnswered("c1", "1001")
	ev.e.CallbackConnected("c1")
	if st, _ := ev.e.QueueStats("8000"); st.CallbacksConnectedLastHour != 1 {
		t.Errorf("connected not counted: %+v", st)
	}
	if _, _, err := ev.e.CallbackFailed("c1", true); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("CallbackFailed after connected: %v", err)
	}
	ev.e.InteractionEnded("c1")
	ev.expectState("1001", StateIdle)

	// Not reached three times: given up.
	ev.mustEnter("c3", "8000")
	ev.expect("offer c3 1001 20s")
	if err := ev.e.KeepAsCallback("c3"); err != nil { // while ringing
		t.Fatal(err)
	}
	ev.expect("cancel c3 1001", "offer c3 1001 20s")
	for i := 1; i <= 3; i++ {
		ev.e.OfferAnswered("c3", "1001")
		n, gaveUp, err := ev.e.CallbackFailed("c3", true)
		if err != nil || n != i || gaveUp != (i == 3) {
			t.Fatalf("attempt %d: %d %v %v", i, n, gaveUp, err)
		}
		ev.clk.Advance(ev.e.cfg.CallbackRetryDelay)
		if i < 3 {
			ev.expect("offer c3 1001 20s")
		}
	}
	ev.expect()
	if st, _ := ev.e.QueueStats("8000"); st.CallbacksFailedLastHour != 1 || st.Waiting != 0 {
		t.Errorf("after giving up: %+v", st)
	}
	// Not counted (the agent gave up): offered again at once, attempts kept.
	ev.mustEnter("c4", "8000")
	ev.expect("offer c4 1001 20s")
	if err := ev.e.KeepAsCallback("c4"); err != nil {
		t.Fatal(err)
	}
	ev.expect("cancel c4 1001", "offer c4 1001 20s")
	ev.e.OfferAnswered("c4", "1001")
	if n, gaveUp, _ := ev.e.CallbackFailed("c4", false); n != 0 || gaveUp {
		t.Errorf("uncounted failure: %d %v", n, gaveUp)
	}
	ev.expect("offer c4 1001 20s")
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	// Answered calls cannot become callbacks.
	ev.e.OfferAnswered("c4", "1001")
	ev.e.CallbackConnected("c4")
	ev.e.InteractionEnded("c4")
	ev.mustEnter("c5", "8000")
	ev.e.OfferAnswered("c5", "1001")
	if err := ev.e.KeepAsCallback("c5"); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("KeepAsCallback of an answered call: %v", err)
	}
}

func TestEnterCallbackAfterRestart(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")})
	ev.mustStatus("1001", StatusBreak, "")
	// The last attempt a minute ago: the retry is due in another minute.
	if err := ev.e.EnterCallback(QueueCall{ID: "cb", Queue: "8000", CallerNumber: "1009",
		Entered: ev.clk.Now().Add(-time.Hour)}, 2, ev.clk.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := ev.e.EnterCallback(QueueCall{ID: "cb", Queue: "8000"}, 0, time.Time{}); !errors.Is(err, ErrAlreadyQueued) {
		t.Errorf("twice: %v", err)
	}
	if err := ev.e.EnterCallback(QueueCall{ID: "x", Queue: "9999"}, 0, time.Time{}); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("unknown queue: %v", err)
	}
	d, _ := ev.e.QueueDetail("8000")
	if len(d.WaitingCalls) != 1 || !d.WaitingCalls[0].Callback || d.WaitingCalls[0].Attempts != 2 {
		t.Fatalf("waiting %+v", d.WaitingCalls)
	}
	ev.mustStatus("1001", StatusAvailable, "")
	ev.expect()
	ev.clk.Advance(ev.e.cfg.CallbackRetryDelay - time.Minute)
	ev.expect("offer cb 1001 20s")
	ev.e.OfferAnswered("cb", "1001")
	// One more attempt is the third: given up.
	if n, gaveUp, _ := ev.e.CallbackFailed("cb", true); n != 3 || !gaveUp {
		t.Errorf("third attempt: %d %v", n, gaveUp)
	}
}
