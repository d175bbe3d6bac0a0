package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// Tests of the update, delete and lookup methods the configuration API
// uses. Each builds a small organisation: two users, extensions 1001 and
// 1002, queue 8000, trunk "carrier" with DIDs to 1001 and 8000.

type crudFixture struct {
	s            *Store
	admin, agent User
	trunk, spare Trunk
}

func newCRUDFixture(t *testing.T) crudFixture {
	t.Helper()
	ctx := context.Background()
	f := crudFixture{s: newStore(t)}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f.admin, err = f.s.CreateUser(ctx, User{Username: "admin", Role: RoleAdmin, PasswordHash: "h1"})
	must(err)
	f.agent, err = f.s.CreateUser(ctx, User{Username: "anna", DisplayName: "Anna", Role: RoleAgent, PasswordHash: "h2"})
	must(err)
	for _, n := range []string{"1001", "1002"} {
		_, err = f.s.CreateExtension(ctx, Extension{Number: n, UserID: f.agent.ID, HA1: "a", HA1SHA256: "b", Realm: "r"})
		must(err)
	}
	_, err = f.s.CreateQueue(ctx, Queue{Number: "8000", Name: "Support", Members: []QueueMember{{Extension: "1001"}, {Extension: "1002"}}})
	must(err)
	f.trunk, err = f.s.CreateTrunk(ctx, Trunk{Name: "carrier", Host: "127.0.0.1:5090", Transport: "udp", Password: "p",
		InboundCIDRs: []string{"127.0.0.1/32"}, Outbound: true})
	must(err)
	f.spare, err = f.s.CreateTrunk(ctx, Trunk{Name: "spare", Host: "127.0.0.2:5060", Transport: "tcp"})
	must(err)
	_, err = f.s.CreateDID(ctx, DID{Number: "+31201231001", TrunkID: f.trunk.ID, TargetKind: TargetExtension, Target: "1001"})
	must(err)
	_, err = f.s.CreateDID(ctx, DID{Number: "+31201230001", TrunkID: f.trunk.ID, TargetKind: TargetQueue, Target: "8000"})
	must(err)
	return f
}

var errAbort = errors.New("abort")

func TestUpdateUser(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	tests := []struct {
		name    string
		id      int64
		fn      func(*User) error
		want    func(User) User // the user as stored afterwards
		wantErr error
	}{
		{"display name, role and hash", f.agent.ID,
			func(u *User) error {
				u.DisplayName, u.Role, u.PasswordHash = "Anna B", RoleSupervisor, "h3"
				return nil
			},
			func(u User) User { u.DisplayName, u.Role, u.PasswordHash = "Anna B", RoleSupervisor, "h3"; return u }, nil},
		{"username, id and created are kept", f.agent.ID,
			func(u *User) error { u.Username, u.ID = "other", 99; return nil },
			func(u User) User { return u }, nil},
		{"unknown role", f.agent.ID, func(u *User) error { u.Role = "root"; return nil }, nil, ErrInvalid},
		{"fn error aborts", f.agent.ID, func(u *User) error { u.DisplayName = "x"; return errAbort }, nil, errAbort},
		{"unknown user", 999, func(u *User) error { return nil }, nil, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.s.UserByID(ctx, f.agent.ID)
			got, err := f.s.UpdateUser(ctx, tt.id, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("UpdateUser = %v, want %v", err, tt.wantErr)
			}
			after, _ := f.s.UserByID(ctx, f.agent.ID)
			if err != nil {
				if !reflect.DeepEqual(after, before) {
					t.Errorf("a failed update changed the user: %+v, was %+v", after, before)
				}
				return
			}
			if want := tt.want(before); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(after, want) {
				t.Errorf("UpdateUser = %+v, stored %+v; want %+v", got, after, want)
			}
		})
	}
}

func TestUsersAndDeleteUser(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	us, err := f.s.Users(ctx)
	if err != nil || len(us) != 2 || !reflect.DeepEqual(us[0], f.admin) || !reflect.DeepEqual(us[1], f.agent) {
		t.Fatalf("Users = %+v, %v", us, err)
	}
	if _, err := f.s.CreateAuthToken(ctx, AuthToken{TokenHash: "x", UserID: f.agent.ID, Kind: TokenAPI}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteUser(ctx, f.agent.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if err := f.s.DeleteUser(ctx, f.agent.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteUser again = %v, want ErrNotFound", err)
	}
	// The user's extensions stay, unowned; their tokens go.
	e, err := f.s.ExtensionByNumber(ctx, "1001")
	if err != nil || e.UserID != 0 {
		t.Errorf("extension after its user was deleted: %+v, %v", e, err)
	}
	if ts, err := f.s.AuthTokens(ctx, f.agent.ID, TokenAPI); err != nil || len(ts) != 0 {
		t.Errorf("tokens after the user was deleted: %+v, %v", ts, err)
	}
	if us, _ := f.s.Users(ctx); len(us) != 1 {
		t.Errorf("Users after delete = %+v", us)
	}
}

func TestUpdateExtension(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	tests := []struct {
		name    string
		number  string
		fn      func(*Extension) error
		want    func(Extension) Extension
		wantErr error
	}{
		{"name, owner cleared, secrets", "1001",
			func(e *Extension) error {
				e.DisplayName, e.UserID, e.HA1, e.HA1SHA256, e.Realm = "Lobby", 0, "c", "d", "r2"
				return nil
			},
			func(e Extension) Extension {
				e.DisplayName, e.UserID, e.HA1, e.HA1SHA256, e.Realm = "Lobby", 0, "c", "d", "r2"
				return e
			}, nil},
		{"new owner", "1001", func(e *Extension) error { e.UserID = f.admin.ID; return nil },
			func(e Extension) Extension { e.UserID = f.admin.ID; return e }, nil},
		{"number and id are kept", "1001", func(e *Extension) error { e.Number, e.ID = "1009", 77; return nil },
			func(e Extension) Extension { return e }, nil},
		{"unknown owner", "1001", func(e *Extension) error { e.UserID = 999; return nil }, nil, ErrNotFound},
		{"empty realm", "1001", func(e *Extension) error { e.Realm = ""; return nil }, nil, ErrInvalid},
		{"fn error aborts", "1001", func(e *Extension) error { e.DisplayName = "x"; return errAbort }, nil, errAbort},
		{"unknown extension", "1999", func(e *Extension) error { return nil }, nil, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.s.ExtensionByNumber(ctx, "1001")
			got, err := f.s.UpdateExtension(ctx, tt.number, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("UpdateExtension = %v, want %v", err, tt.wantErr)
			}
			after, _ := f.s.ExtensionByNumber(ctx, "1001")
			if err != nil {
				if after != before {
					t.Errorf("a failed update changed the extension: %+v, was %+v", after, before)
				}
				return
			}
			if want := tt.want(before); got != want || after != want {
				t.Errorf("UpdateExtension = %+v, stored %+v; want %+v", got, after, want)
			}
		})
	}
}

func TestDeleteExtension(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	tests := []struct {
		name    string
		number  string
		wantErr error
	}{
		{"a DID routes to it", "1001", ErrInUse},
		{"in a queue only", "1002", nil},
		{"gone", "1002", ErrNotFound},
		{"unknown", "1999", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.s.DeleteExtension(ctx, tt.number); !errors.Is(err, tt.wantErr) {
				t.Fatalf("DeleteExtension(%s) = %v, want %v", tt.number, err, tt.wantErr)
			}
		})
	}
	if _, err := f.s.ExtensionByNumber(ctx, "1001"); err != nil {
		t.Errorf("refused delete removed 1001: %v", err)
	}
	// Its queue membership went with it.
	q, err := f.s.QueueByNumber(ctx, "8000")
	if err != nil || !reflect.DeepEqual(q.Members, []QueueMember{{Extension: "1001"}}) {
		t.Errorf("queue 8000 after deleting 1002: %+v, %v", q, err)
	}
}

func TestUpdateTrunk(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	tests := []struct {
		name    string
		id      int64
		fn      func(*Trunk) error
		want    func(Trunk) Trunk
		wantErr error
	}{
		{"every field", f.trunk.ID,
			func(t *Trunk) error {
				*t = Trunk{ID: 123, Name: "carrier2", Host: "10.0.0.1:5060", Transport: "tcp", Username: "u", Password: "",
					InboundCIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}, Outbound: false}
				return nil
			},
			func(t Trunk) Trunk {
				return Trunk{ID: t.ID, Name: "carrier2", Host: "10.0.0.1:5060", Transport: "tcp", Username: "u",
					InboundCIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}}
			}, nil},
		{"no cidrs", f.trunk.ID, func(t *Trunk) error { t.InboundCIDRs = []string{}; return nil },
			func(t Trunk) Trunk { t.InboundCIDRs = nil; return t }, nil},
		{"taken name", f.trunk.ID, func(t *Trunk) error { t.Name = "spare"; return nil }, nil, ErrConflict},
		{"bad cidr", f.trunk.ID, func(t *Trunk) error { t.InboundCIDRs = []string{"10.0.0.1"}; return nil }, nil, ErrInvalid},
		{"bad transport", f.trunk.ID, func(t *Trunk) error { t.Transport = "tls"; return nil }, nil, ErrInvalid},
		{"no host", f.trunk.ID, func(t *Trunk) error { t.Host = ""; return nil }, nil, ErrInvalid},
		{"fn error aborts", f.trunk.ID, func(t *Trunk) error { t.Name = "x"; return errAbort }, nil, errAbort},
		{"unknown trunk", 999, func(t *Trunk) error { return nil }, nil, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := f.s.TrunkByID(ctx, f.trunk.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.s.UpdateTrunk(ctx, tt.id, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("UpdateTrunk = %v, want %v", err, tt.wantErr)
			}
			after, _ := f.s.TrunkByID(ctx, f.trunk.ID)
			if err != nil {
				if !reflect.DeepEqual(after, before) {
					t.Errorf("a failed update changed the trunk: %+v, was %+v", after, before)
				}
				return
			}
			if want := tt.want(before); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(after, want) {
				t.Errorf("UpdateTrunk = %+v, stored %+v; want %+v", got, after, want)
			}
		})
	}
	if _, err := f.s.TrunkByID(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("TrunkByID(999) = %v, want ErrNotFound", err)
	}
}

func TestDeleteTrunkAndDID(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	steps := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"trunk with DIDs", func() error { return f.s.DeleteTrunk(ctx, f.trunk.ID) }, ErrInUse},
		{"trunk without DIDs", func() error { return f.s.DeleteTrunk(ctx, f.spare.ID) }, nil},
		{"trunk gone", func() error { return f.s.DeleteTrunk(ctx, f.spare.ID) }, ErrNotFound},
		{"DID", func() error { return f.s.DeleteDID(ctx, "+31201231001") }, nil},
		{"DID gone", func() error { return f.s.DeleteDID(ctx, "+31201231001") }, ErrNotFound},
		{"queue with a DID", func() error { return f.s.DeleteQueue(ctx, "8000") }, ErrInUse},
		{"last DID", func() error { return f.s.DeleteDID(ctx, "+31201230001") }, nil},
		{"queue", func() error { return f.s.DeleteQueue(ctx, "8000") }, nil},
		{"queue gone", func() error { return f.s.DeleteQueue(ctx, "8000") }, ErrNotFound},
		{"trunk now free", func() error { return f.s.DeleteTrunk(ctx, f.trunk.ID) }, nil},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.wantErr)
		}
	}
	if ts, _ := f.s.Trunks(ctx); len(ts) != 0 {
		t.Errorf("trunks left: %+v", ts)
	}
}

func TestUpdateQueue(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	tests := []struct {
		name    string
		number  string
		fn      func(*Queue) error
		want    func(Queue) Queue
		wantErr error
	}{
		{"name and members replaced", "8000",
			func(q *Queue) error {
				q.Name, q.Members = "Help", []QueueMember{{Extension: "1002", Penalty: 2}, {Extension: "1001", Penalty: 1}}
				return nil
			},
			func(q Queue) Queue {
				q.Name, q.Members = "Help", []QueueMember{{Extension: "1001", Penalty: 1}, {Extension: "1002", Penalty: 2}}
				return q
			}, nil},
		{"no members, empty strategy means ringall", "8000",
			func(q *Queue) error { q.Members, q.Strategy = nil, ""; return nil },
			func(q Queue) Queue { q.Members, q.Strategy = nil, "ringall"; return q }, nil},
		{"number and id are kept", "8000", func(q *Queue) error { q.Number, q.ID = "8009", 5; return nil },
			func(q Queue) Queue { return q }, nil},
		{"unknown member", "8000", func(q *Queue) error { q.Members = []QueueMember{{Extension: "1999"}}; return nil }, nil, ErrNotFound},
		{"member twice", "8000", func(q *Queue) error {
			q.Members = []QueueMember{{Extension: "1001"}, {Extension: "1001"}}
			return nil
		}, nil, ErrInvalid},
		{"empty name", "8000", func(q *Queue) error { q.Name = ""; return nil }, nil, ErrInvalid},
		{"fn error aborts", "8000", func(q *Queue) error { q.Members = nil; return errAbort }, nil, errAbort},
		{"unknown queue", "8999", func(q *Queue) error { return nil }, nil, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := f.s.QueueByNumber(ctx, "8000")
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.s.UpdateQueue(ctx, tt.number, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("UpdateQueue = %v, want %v", err, tt.wantErr)
			}
			after, _ := f.s.QueueByNumber(ctx, "8000")
			if err != nil {
				if !reflect.DeepEqual(after, before) {
					t.Errorf("a failed update changed the queue: %+v, was %+v", after, before)
				}
				return
			}
			if want := tt.want(before); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(after, want) {
				t.Errorf("UpdateQueue = %+v, stored %+v; want %+v", got, after, want)
			}
		})
	}
}
