package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// acdFixture is a store with extensions 1001–1003 owned by users, and
// queue 8000 with members 1001 and 1002.
func acdFixture(t *testing.T) (*Store, []User) {
	t.Helper()
	ctx := context.Background()
	s := newStore(t)
	var users []User
	for _, n := range []string{"1001", "1002", "1003"} {
		u, err := s.CreateUser(ctx, User{Username: n, Role: RoleAgent})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
		if _, err := s.CreateExtension(ctx, Extension{Number: n, UserID: u.ID, Realm: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateQueue(ctx, Queue{Number: "8000", Name: "Support",
		Members: []QueueMember{{Extension: "1001"}, {Extension: "1002", Penalty: 2}}}); err != nil {
		t.Fatal(err)
	}
	return s, users
}

func TestQueueACDSettings(t *testing.T) {
	ctx := context.Background()
	s, _ := acdFixture(t)
	q, err := s.QueueByNumber(ctx, "8000")
	if err != nil {
		t.Fatal(err)
	}
	if q.RingTime != DefaultRingTime || q.ServiceLevel != DefaultServiceLevel || q.WrapupTime != 0 ||
		q.MaxWaiting != 0 || q.MaxWait != 0 || q.RefuseWhenEmpty || q.OverflowDestination != "" {
		t.Errorf("defaults: %+v", q)
	}
	set := func(q *Queue) error {
		q.Strategy = "longest_idle"
		q.RingTime = 15*time.Second + 300*time.Millisecond // stored in whole seconds
		q.WrapupTime = 30 * time.Second
		q.MaxWaiting = 10
		q.MaxWait = 5 * time.Minute
		q.OverflowDestination = "1003"
		q.RefuseWhenEmpty = true
		q.ServiceLevel = 30 * time.Second
		return nil
	}
	got, err := s.UpdateQueue(ctx, "8000", set)
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.QueueByNumber(ctx, "8000")
	if err != nil || !reflect.DeepEqual(back, got) {
		t.Fatalf("read back %+v, %v; want %+v", back, err, got)
	}
	if got.RingTime != 15*time.Second || !got.RefuseWhenEmpty || got.MaxWait != 5*time.Minute || got.Strategy != "longest_idle" {
		t.Errorf("updated: %+v", got)
	}
	// Out of range settings are refused by the schema.
	for name, bad := range map[string]func(*Queue) error{
		"ring time":     func(q *Queue) error { q.RingTime = time.Hour; return nil },
		"negative wait": func(q *Queue) error { q.MaxWaiting = -1; return nil },
		"wrap-up":       func(q *Queue) error { q.WrapupTime = 2 * time.Hour; return nil },
	} {
		if _, err := s.UpdateQueue(ctx, "8000", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	created, err := s.CreateQueue(ctx, Queue{Number: "8001", Name: "Sales", MaxWaiting: 3})
	if err != nil || created.MaxWaiting != 3 || created.RingTime != DefaultRingTime {
		t.Fatalf("create: %+v, %v", created, err)
	}
}

func TestQueueMemberships(t *testing.T) {
	ctx := context.Background()
	s, _ := acdFixture(t)
	ms, err := s.QueueMemberships(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueMembership{
		{Queue: "8000", Extension: "1001", Penalty: 0, State: MemberLoggedIn},
		{Queue: "8000", Extension: "1002", Penalty: 2, State: MemberLoggedIn},
	}
	if !reflect.DeepEqual(ms, want) {
		t.Fatalf("memberships = %+v, want %+v", ms, want)
	}
	at := time.UnixMilli(1_700_000_000_123).UTC()
	if err := s.SetQueueMembership(ctx, QueueMembership{Queue: "8000", Extension: "1002", Penalty: 1, State: MemberPaused, ChangedAt: at}); err != nil {
		t.Fatal(err)
	}
	// A new member is added.
	if err := s.SetQueueMembership(ctx, QueueMembership{Queue: "8000", Extension: "1003", State: MemberLoggedOut, ChangedAt: at}); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]QueueMembership{
		"unknown queue":     {Queue: "8999", Extension: "1001", State: MemberPaused},
		"unknown extension": {Queue: "8000", Extension: "1999", State: MemberPaused},
	} {
		if err := s.SetQueueMembership(ctx, m); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if err := s.SetQueueMembership(ctx, QueueMembership{Queue: "8000", Extension: "1001", State: "dancing"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad state: %v, want ErrInvalid", err)
	}
	// Replacing the member list keeps the state of members that stay.
	if _, err := s.UpdateQueue(ctx, "8000", func(q *Queue) error {
		q.Members = []QueueMember{{Extension: "1002", Penalty: 5}, {Extension: "1003"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ms, err = s.QueueMemberships(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = []QueueMembership{
		{Queue: "8000", Extension: "1003", Penalty: 0, State: MemberLoggedOut, ChangedAt: at},
		{Queue: "8000", Extension: "1002", Penalty: 5, State: MemberPaused, ChangedAt: at},
	}
	if !reflect.DeepEqual(ms, want) {
		t.Fatalf("after update = %+v, want %+v", ms, want)
	}
}

func TestReasonAndWrapupCodes(t *testing.T) {
	ctx := context.Background()
	s, _ := acdFixture(t)
	lunch, err := s.CreateReasonCode(ctx, ReasonCode{Code: "lunch", Label: "Lunch", Kind: ReasonBreak})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateReasonCode(ctx, ReasonCode{Code: "email", Kind: ReasonOffline}); err != nil {
		t.Fatal(err)
	}
	for name, rc := range map[string]ReasonCode{
		"taken":    {Code: "lunch", Kind: ReasonOffline},
		"no code":  {Kind: ReasonBreak},
		"bad kind": {Code: "nap", Kind: "sleep"},
	} {
		if _, err := s.CreateReasonCode(ctx, rc); err == nil {
			t.Errorf("%s: created", name)
		}
	}
	rcs, err := s.ReasonCodes(ctx)
	if err != nil || len(rcs) != 2 || rcs[0].Code != "lunch" || rcs[1].Code != "email" {
		t.Fatalf("reason codes = %+v, %v", rcs, err)
	}
	if err := s.DeleteReasonCode(ctx, lunch.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteReasonCode(ctx, lunch.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}

	sale, err := s.CreateWrapupCode(ctx, WrapupCode{Queue: "8000", Code: "sale", Label: "Sale"})
	if err != nil || sale.ID == 0 {
		t.Fatalf("create wrap-up code: %+v, %v", sale, err)
	}
	if _, err := s.CreateWrapupCode(ctx, WrapupCode{Queue: "8000", Code: "sale"}); !errors.Is(err, ErrConflict) {
		t.Errorf("same code twice: %v", err)
	}
	if _, err := s.CreateWrapupCode(ctx, WrapupCode{Queue: "8999", Code: "sale"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown queue: %v", err)
	}
	ws, err := s.WrapupCodes(ctx, "8000")
	if err != nil || !reflect.DeepEqual(ws, []WrapupCode{sale}) {
		t.Fatalf("wrap-up codes = %+v, %v", ws, err)
	}
	if err := s.DeleteWrapupCode(ctx, "8001", sale.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete from another queue: %v", err)
	}
	if err := s.DeleteWrapupCode(ctx, "8000", sale.ID); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.WrapupCodes(ctx, ""); len(ws) != 0 {
		t.Errorf("after delete: %+v", ws)
	}
}

func TestQueueSupervisorsStore(t *testing.T) {
	ctx := context.Background()
	s, users := acdFixture(t)
	if err := s.SetQueueSupervisors(ctx, "8000", []int64{users[2].ID, users[0].ID, users[2].ID}); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueueSupervisors(ctx)
	if err != nil || !reflect.DeepEqual(got, map[string][]int64{"8000": {users[0].ID, users[2].ID}}) {
		t.Fatalf("supervisors = %v, %v", got, err)
	}
	if err := s.SetQueueSupervisors(ctx, "8000", []int64{999}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if err := s.SetQueueSupervisors(ctx, "8999", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown queue: %v", err)
	}
	if got, _ := s.QueueSupervisors(ctx); len(got["8000"]) != 2 {
		t.Errorf("a failed replacement changed the supervisors: %v", got)
	}
	if err := s.SetQueueSupervisors(ctx, "8000", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.QueueSupervisors(ctx); len(got) != 0 {
		t.Errorf("after clearing: %v", got)
	}
}

func TestAgentStatusAndHistory(t *testing.T) {
	ctx := context.Background()
	s, users := acdFixture(t)
	at := time.UnixMilli(1_700_000_000_000).UTC()
	a := AgentStatus{UserID: users[0].ID, Status: "break", ReasonCode: "lunch", ChangedAt: at, ChangedBy: users[1].ID}
	if err := s.SetAgentStatus(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Status, a.ReasonCode, a.ChangedBy = "available", "", 0
	if err := s.SetAgentStatus(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAgentStatus(ctx, AgentStatus{UserID: users[1].ID, Status: "asleep", ChangedAt: at}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	if err := s.SetAgentStatus(ctx, AgentStatus{UserID: 999, Status: "available", ChangedAt: at}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	got, err := s.AgentStatuses(ctx)
	if err != nil || !reflect.DeepEqual(got, []AgentStatus{a}) {
		t.Fatalf("statuses = %+v, %v; want %+v", got, err, a)
	}

	changes := []AgentStatusChange{
		{UserID: users[0].ID, At: at, From: "available", To: "break", ReasonCode: "lunch", ChangedBy: users[0].ID},
		{UserID: users[0].ID, At: at.Add(time.Minute), From: "break", To: "available"},
		{UserID: users[1].ID, At: at.Add(time.Minute), From: "available", To: "rona"},
		{UserID: users[0].ID, At: at.Add(2 * time.Minute), From: "available", To: "rona"},
	}
	if err := s.AddAgentStatusChanges(ctx, changes); err != nil {
		t.Fatal(err)
	}
	h, err := s.AgentStatusHistory(ctx, users[0].ID, at.Add(time.Second), 10)
	if err != nil || !reflect.DeepEqual(h, []AgentStatusChange{changes[1], changes[3]}) {
		t.Fatalf("history = %+v, %v", h, err)
	}
	// History outlives the user.
	if err := s.DeleteUser(ctx, users[1].ID); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.AgentStatusHistory(ctx, users[1].ID, time.Time{}, 10); len(h) != 1 {
		t.Errorf("history of a deleted user: %+v", h)
	}
	if got, _ := s.AgentStatuses(ctx); len(got) != 1 {
		t.Errorf("status of a deleted user kept: %+v", got)
	}
}

func TestSetCDRWrapupCode(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Now()
	// CDR first, code second.
	if _, err := s.InsertCDR(ctx, CDR{CallID: "c1", StartedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCDRWrapupCode(ctx, "c1", "sale"); err != nil {
		t.Fatal(err)
	}
	// Code first: applied when the CDR arrives.
	if err := s.SetCDRWrapupCode(ctx, "c2", "early"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCDRWrapupCode(ctx, "c2", "complaint"); err != nil { // changed before the CDR
		t.Fatal(err)
	}
	if err := s.InsertCDRs(ctx, []CDR{{CallID: "c2", StartedAt: now}, {CallID: "c3", StartedAt: now}}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.CDRs(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range cs {
		got[c.CallID] = c.WrapupCode
	}
	if want := map[string]string{"c1": "sale", "c2": "complaint", "c3": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("wrap-up codes = %v, want %v", got, want)
	}
	var pending int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM cdr_wrapup_pending`).Scan(&pending); err != nil || pending != 0 {
		t.Errorf("pending codes left: %d, %v", pending, err)
	}
	if err := s.SetCDRWrapupCode(ctx, "", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty call id: %v", err)
	}
}
