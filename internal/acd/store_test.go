package acd

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// TestRestart runs the engine on the real store: what an agent and a
// supervisor changed survives a restart; what the system drove does not.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "switchboard.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { st.Close() }()
	ids := map[string]int64{}
	for _, x := range []string{"1001", "1002"} {
		u, err := st.CreateUser(ctx, store.User{Username: x, Role: store.RoleAgent})
		if err != nil {
			t.Fatal(err)
		}
		ids[x] = u.ID
		if _, err := st.CreateExtension(ctx, store.Extension{Number: x, UserID: u.ID, Realm: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	sup, err := st.CreateUser(ctx, store.User{Username: "eva", Role: store.RoleSupervisor})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateQueue(ctx, store.Queue{Number: "8000", Name: "Support", Strategy: "linear",
		WrapupTime: time.Minute, Members: []store.QueueMember{{Extension: "1001"}, {Extension: "1002"}}}); err != nil {
		t.Fatal(err)
	}

	clk := newFakeClock()
	start := func() (*Engine, *fakeCalls) {
		e := New(Config{Store: st, Clock: clk})
		calls := &fakeCalls{}
		e.SetCalls(calls)
		if err := e.Load(ctx); err != nil {
			t.Fatal(err)
		}
		e.Start()
		return e, calls
	}
	e, calls := start()
	if _, err := e.CreateReasonCode(ctx, store.ReasonCode{Code: "lunch", Kind: store.ReasonBreak}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateWrapupCode(ctx, store.WrapupCode{Queue: "8000", Code: "sale"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateWrapupCode(ctx, store.WrapupCode{Queue: "8999", Code: "sale"}); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("wrap-up code for an unknown queue: %v", err)
	}
	if _, err := e.SetSupervisors(ctx, "8000", []int64{sup.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SetStatus(ctx, ids["1002"], StatusBreak, "lunch", sup.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SetMembership(ctx, MembershipChange{Queue: "8000", Extension: "1001", State: MemberPaused}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SetMembership(ctx, MembershipChange{Queue: "8000", Extension: "1001", State: MemberLoggedIn}); err != nil {
		t.Fatal(err)
	}
	// A call: RONA, then answered, ended, and a wrap-up code chosen
	// before the CDR is written.
	if err := e.Enter(QueueCall{ID: "call-1", Queue: "8000"}); err != nil {
		t.Fatal(err)
	}
	e.OfferFailed("call-1", "1001", FailNoAnswer)
	if _, err := e.SetStatus(ctx, ids["1001"], StatusAvailable, "", ids["1001"]); err != nil {
		t.Fatal(err)
	}
	e.OfferAnswered("call-1", "1001")
	e.InteractionEnded("call-1")
	if _, err := e.EndWrapUp(ctx, ids["1001"], "sale", true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertCDR(ctx, store.CDR{CallID: "call-1", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.Enter(QueueCall{ID: "call-2", Queue: "8000"}); err != nil {
		t.Fatal(err)
	}
	if got := calls.take(); !slices.Equal(got, []string{"offer call-1 1001 20s", "offer call-1 1001 20s", "offer call-2 1001 20s"}) {
		t.Errorf("call layer: %v", got)
	}
	e.Close() // a "crash" with 1001 ringing

	e, _ = start()
	defer e.Close()
	a1, err := e.Agent(ids["1001"])
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := e.Agent(ids["1002"])
	if a1.State != "idle" || a1.Status != "available" || a2.Status != "break" || a2.ReasonCode != "lunch" {
		t.Errorf("after restart: 1001 %s/%s, 1002 %s/%s %q", a1.Status, a1.State, a2.Status, a2.State, a2.ReasonCode)
	}
	if len(a1.Queues) != 1 || a1.Queues[0].State != "logged_in" || a1.Queues[0].ChangedAt == nil {
		t.Errorf("1001's membership after restart: %+v", a1.Queues)
	}
	if !e.Supervises(sup.ID, "8000") {
		t.Error("supervisor lost")
	}
	if codes := e.ReasonCodes(); len(codes) != 1 || codes[0].Code != "lunch" {
		t.Errorf("reason codes %+v", codes)
	}
	if w, _ := e.WrapupCodes("8000"); len(w) != 1 {
		t.Errorf("wrap-up codes %+v", w)
	}
	cdrs, err := st.CDRs(ctx, 10)
	if err != nil || len(cdrs) != 1 || cdrs[0].WrapupCode != "sale" {
		t.Errorf("CDR %+v, %v", cdrs, err)
	}
	h, err := st.AgentStatusHistory(ctx, ids["1001"], time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var tos []string
	for _, c := range h {
		tos = append(tos, c.From+">"+c.To)
	}
	if !slices.Equal(tos, []string{"available>rona", "rona>available"}) {
		t.Errorf("1001's history %v", tos)
	}
	h, _ = st.AgentStatusHistory(ctx, ids["1002"], time.Time{}, 10)
	if len(h) != 1 || h[0].To != "break" || h[0].ReasonCode != "lunch" || h[0].ChangedBy != sup.ID {
		t.Errorf("1002's history %+v", h)
	}
	// Deleting a reason code and a wrap-up code.
	if err := e.DeleteReasonCode(ctx, e.ReasonCodes()[0].ID); err != nil {
		t.Fatal(err)
	}
	w, _ := e.WrapupCodes("8000")
	if err := e.DeleteWrapupCode(ctx, "8000", w[0].ID); err != nil {
		t.Fatal(err)
	}
	if len(e.ReasonCodes()) != 0 {
		t.Error("reason code kept")
	}
	if w, _ := e.WrapupCodes("8000"); len(w) != 0 {
		t.Error("wrap-up code kept")
	}
	// A configuration change is picked up by Load.
	if _, err := st.UpdateQueue(ctx, "8000", func(q *store.Queue) error {
		q.Strategy = "round_robin"
		q.Members = q.Members[:1]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s, _ := e.QueueStats("8000")
	if s.Strategy != "round_robin" || s.AgentsLoggedIn != 1 {
		t.Errorf("after reload: %+v", s)
	}
}
