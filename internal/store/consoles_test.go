package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestConsoles(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	alice, err := st.CreateUser(ctx, User{Username: "alice", Role: RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := st.CreateUser(ctx, User{Username: "bob", Role: RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if !alice.Profile.CanUseConsole {
		t.Errorf("a new user's profile has the console off")
	}
	if cs, err := st.Consoles(ctx, alice.ID); err != nil || cs == nil || len(cs) != 0 {
		t.Fatalf("no consoles: %v %v", cs, err)
	}
	c, err := st.CreateConsole(ctx, Console{UserID: alice.ID, Name: "Desk", Layout: `[]`})
	if err != nil || c.ID == 0 || c.Version != 1 {
		t.Fatalf("create: %+v %v", c, err)
	}
	if _, err := st.Console(ctx, bob.ID, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob reads alice's console: %v", err)
	}
	got, err := st.Console(ctx, alice.ID, c.ID)
	if err != nil || got != c {
		t.Fatalf("read back %+v %v, want %+v", got, err, c)
	}
	c.Layout = `[{"id":"a","type":"calls","x":0,"y":0,"w":4,"h":3,"config":{}}]`
	up, err := st.UpdateConsole(ctx, c, 1)
	if err != nil || up.Version != 2 || up.Layout != c.Layout {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := st.UpdateConsole(ctx, c, 1); !errors.Is(err, ErrStale) {
		t.Errorf("second save from version 1: %v, want ErrStale", err)
	}
	if _, err := st.UpdateConsole(ctx, Console{ID: c.ID, UserID: bob.ID, Name: "x", Layout: "[]"}, 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob saves alice's console: %v", err)
	}
	if got, _ := st.Console(ctx, alice.ID, c.ID); got != up {
		t.Errorf("stored %+v, want %+v", got, up)
	}
	if err := st.DeleteConsole(ctx, bob.ID, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob deletes alice's console: %v", err)
	}
	if err := st.DeleteConsole(ctx, alice.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	for i := range MaxConsoles {
		if _, err := st.CreateConsole(ctx, Console{UserID: alice.ID, Name: fmt.Sprint(i), Layout: "[]"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateConsole(ctx, Console{UserID: alice.ID, Name: "one too many", Layout: "[]"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("console %d: %v, want ErrInvalid", MaxConsoles+1, err)
	}
	// The console permission is part of the profile.
	u, err := st.UpdateUser(ctx, bob.ID, func(u *User) error { u.Profile.CanUseConsole = false; return nil })
	if err != nil || u.Profile.CanUseConsole {
		t.Fatalf("console off: %+v %v", u.Profile, err)
	}
	if u, _ := st.UserByID(ctx, bob.ID); u.Profile.CanUseConsole || !u.Profile.CanOutdial {
		t.Errorf("read back %+v", u.Profile)
	}
}

func TestFavouritesAndRecents(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	u, err := st.CreateUser(ctx, User{Username: "alice", Role: RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	fs := []Favourite{{Kind: FavouriteQueue, Target: "8000", Label: "Support"}, {Kind: FavouriteNumber, Target: "+31201230001"}, {Kind: FavouriteUser, Target: "7"}}
	if err := st.SetFavourites(ctx, u.ID, fs); err != nil {
		t.Fatal(err)
	}
	got, err := st.Favourites(ctx, u.ID)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(fs) {
		t.Fatalf("favourites %v %v, want %v", got, err, fs)
	}
	if err := st.SetFavourites(ctx, u.ID, []Favourite{{Kind: "group", Target: "x"}}); !errors.Is(err, ErrInvalid) && err == nil {
		t.Errorf("unknown kind stored")
	}
	if got, _ := st.Favourites(ctx, u.ID); len(got) != 3 {
		t.Errorf("a refused replacement changed the list: %v", got)
	}
	if err := st.SetFavourites(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Favourites(ctx, u.ID); got == nil || len(got) != 0 {
		t.Errorf("cleared: %v", got)
	}

	base := time.Now().Add(-time.Hour)
	for i := range MaxRecents + 5 {
		if err := st.AddRecent(ctx, u.ID, Recent{Kind: FavouriteNumber, Target: fmt.Sprint(1000 + i), Action: "call", UsedAt: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	// Using an old target again moves it to the front, once.
	if err := st.AddRecent(ctx, u.ID, Recent{Kind: FavouriteNumber, Target: "1010", Action: "transfer", UsedAt: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	rs, err := st.Recents(ctx, u.ID)
	if err != nil || len(rs) != MaxRecents {
		t.Fatalf("recents %d %v", len(rs), err)
	}
	if rs[0].Target != "1010" || rs[0].Action != "transfer" || rs[1].Target != "1024" {
		t.Errorf("newest first: %+v %+v", rs[0], rs[1])
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.Target] {
			t.Errorf("%s twice", r.Target)
		}
		seen[r.Target] = true
	}
	var n int
	if err := st.r.QueryRowContext(ctx, `SELECT count(*) FROM recents WHERE user_id = ?`, u.ID).Scan(&n); err != nil || n != MaxRecents {
		t.Errorf("%d rows kept (%v), want %d", n, err, MaxRecents)
	}
}
