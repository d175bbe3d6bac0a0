package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestUserFollows(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	mk := func(name string, role Role) User {
		u, err := st.CreateUser(ctx, User{Username: name, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	op, alice, bob := mk("reception", RoleOperator), mk("alice", RoleAgent), mk("bob", RoleAgent)
	for _, e := range []Extension{{Number: "1001", UserID: alice.ID}, {Number: "1011", UserID: alice.ID}} {
		e.HA1, e.HA1SHA256, e.Realm = "x", "y", "switchboard"
		if _, err := st.CreateExtension(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"8000", "8001"} {
		if _, err := st.CreateQueue(ctx, Queue{Number: q, Name: "Q" + q}); err != nil {
			t.Fatal(err)
		}
	}

	f, err := st.UserFollows(ctx, op.ID)
	if err != nil || len(f.Users) != 0 || len(f.Queues) != 0 || f.Users == nil || f.Queues == nil {
		t.Fatalf("new user's follows %+v %v, want empty lists", f, err)
	}
	if sc, err := st.UserFollowScope(ctx, op.ID); err != nil || !sc.Empty {
		t.Fatalf("scope of nobody followed: %+v %v", sc, err)
	}

	// Bob owns no extension: following him still makes the list non-empty.
	want := Follows{Users: []int64{alice.ID, bob.ID}, Queues: []string{"8000"}}
	if err := st.SetUserFollows(ctx, op.ID, Follows{Users: []int64{bob.ID, alice.ID, bob.ID}, Queues: []string{"8000", "8000"}}); err != nil {
		t.Fatal(err)
	}
	if f, err := st.UserFollows(ctx, op.ID); err != nil || !slices.Equal(f.Users, want.Users) || !slices.Equal(f.Queues, want.Queues) {
		t.Fatalf("follows %+v %v, want %+v", f, err, want)
	}
	sc, err := st.UserFollowScope(ctx, op.ID)
	slices.Sort(sc.Extensions)
	if err != nil || sc.Empty || !slices.Equal(sc.Extensions, []string{"1001", "1011"}) || !slices.Equal(sc.Queues, []string{"8000"}) {
		t.Fatalf("scope %+v %v", sc, err)
	}
	if sc, _ := st.UserFollowScope(ctx, alice.ID); !sc.Empty {
		t.Errorf("lists are per user: alice's scope %+v", sc)
	}

	bad := []struct {
		name string
		id   int64
		f    Follows
		want error
	}{
		{"unknown user", 9999, Follows{}, ErrNotFound},
		{"unknown followed user", op.ID, Follows{Users: []int64{9999}}, ErrNotFound},
		{"unknown queue", op.ID, Follows{Queues: []string{"8999"}}, ErrNotFound},
		{"themselves", op.ID, Follows{Users: []int64{op.ID}}, ErrInvalid},
		{"too many", op.ID, Follows{Queues: make([]string, MaxFollows+1)}, ErrInvalid},
	}
	for _, tt := range bad {
		if err := st.SetUserFollows(ctx, tt.id, tt.f); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// A refused change changes nothing.
	if f, _ := st.UserFollows(ctx, op.ID); !slices.Equal(f.Users, want.Users) || !slices.Equal(f.Queues, want.Queues) {
		t.Errorf("after refused changes: %+v", f)
	}
	if _, err := st.UserFollows(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("follows of an unknown user: %v", err)
	}

	// Deleted users and queues leave the lists.
	if err := st.DeleteUser(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteQueue(ctx, "8000"); err != nil {
		t.Fatal(err)
	}
	if f, _ := st.UserFollows(ctx, op.ID); !slices.Equal(f.Users, []int64{alice.ID}) || len(f.Queues) != 0 {
		t.Errorf("after deletes: %+v", f)
	}
	// An empty list is following nobody again.
	if err := st.SetUserFollows(ctx, op.ID, Follows{}); err != nil {
		t.Fatal(err)
	}
	if sc, _ := st.UserFollowScope(ctx, op.ID); !sc.Empty {
		t.Errorf("after clearing: %+v", sc)
	}
}
