package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestProfileDefaults(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	// A caller that sets no profile (the demo seed, older code) gets the
	// defaults, as does a row written without the profile columns.
	u, err := s.CreateUser(ctx, User{Username: "anna", Role: RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(u.Profile, DefaultProfile()) {
		t.Errorf("CreateUser without a profile: %+v, want %+v", u.Profile, DefaultProfile())
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO users (username, role, created_at) VALUES ('old', 'agent', 0)`); err != nil {
		t.Fatal(err)
	}
	old, err := s.UserByUsername(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	want := Profile{CanOutdial: true, CanKeypadDial: true, CanControlRecording: false, AllowedANIs: nil, CanUseConsole: true}
	if !reflect.DeepEqual(old.Profile, want) {
		t.Errorf("row without profile columns reads %+v, want %+v", old.Profile, want)
	}
}

func TestProfileRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	p := Profile{CanOutdial: false, CanKeypadDial: true, CanControlRecording: true,
		AllowedANIs: []string{"+31201231001", "+442071234567"}}
	u, err := s.CreateUser(ctx, User{Username: "anna", Role: RoleAgent, Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	p.AllowedANIs[0] = "+31000000000" // the returned user has its own copy
	if u.Profile.AllowedANIs[0] != "+31201231001" {
		t.Errorf("CreateUser's result shares the caller's ANI slice")
	}
	p.AllowedANIs[0] = "+31201231001"
	for _, get := range []func() (User, error){
		func() (User, error) { return s.UserByID(ctx, u.ID) },
		func() (User, error) { return s.UserByUsername(ctx, "anna") },
		func() (User, error) {
			us, err := s.Users(ctx)
			if err != nil || len(us) != 1 {
				return User{}, err
			}
			return us[0], nil
		},
	} {
		back, err := get()
		if err != nil || !reflect.DeepEqual(back, u) || !reflect.DeepEqual(back.Profile, p) {
			t.Errorf("read back %+v, %v; want %+v", back, err, u)
		}
	}

	// UpdateUser writes the profile, including the all-off one.
	for _, np := range []Profile{
		{CanOutdial: true, AllowedANIs: []string{"+31201231002"}},
		{},
		DefaultProfile(),
	} {
		got, err := s.UpdateUser(ctx, u.ID, func(u *User) error { u.Profile = np; return nil })
		if err != nil {
			t.Fatalf("UpdateUser(%+v): %v", np, err)
		}
		back, _ := s.UserByID(ctx, u.ID)
		if !reflect.DeepEqual(got.Profile, np) || !reflect.DeepEqual(back.Profile, np) {
			t.Errorf("UpdateUser(%+v) = %+v, stored %+v", np, got.Profile, back.Profile)
		}
	}
	// An empty, non-nil list reads back as nil.
	got, err := s.UpdateUser(ctx, u.ID, func(u *User) error { u.Profile.AllowedANIs = []string{}; return nil })
	if err != nil || got.Profile.AllowedANIs != nil {
		t.Errorf("empty ANIs: %+v, %v", got.Profile, err)
	}
}

func TestProfileInvalid(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	u, err := s.CreateUser(ctx, User{Username: "anna", Role: RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	tooMany := make([]string, MaxAllowedANIs+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("+312012310%02d", i)
	}
	for name, anis := range map[string][]string{
		"national form": {"0201231001"},
		"no digits":     {"+"},
		"too long":      {"+1234567890123456"},
		"duplicate":     {"+31201231001", "+31201231001"},
		"too many":      tooMany,
	} {
		t.Run(name, func(t *testing.T) {
			p := Profile{CanOutdial: true, AllowedANIs: anis}
			if _, err := s.CreateUser(ctx, User{Username: "x" + strings.ReplaceAll(name, " ", ""), Role: RoleAgent, Profile: p}); !errors.Is(err, ErrInvalid) {
				t.Errorf("CreateUser = %v, want ErrInvalid", err)
			}
			before, _ := s.UserByID(ctx, u.ID)
			if _, err := s.UpdateUser(ctx, u.ID, func(u *User) error { u.Profile = p; return nil }); !errors.Is(err, ErrInvalid) {
				t.Errorf("UpdateUser = %v, want ErrInvalid", err)
			}
			if after, _ := s.UserByID(ctx, u.ID); !reflect.DeepEqual(after, before) {
				t.Errorf("a refused profile changed the user: %+v", after)
			}
		})
	}
	// The limit itself is fine.
	if _, err := s.UpdateUser(ctx, u.ID, func(u *User) error { u.Profile.AllowedANIs = tooMany[:MaxAllowedANIs]; return nil }); err != nil {
		t.Errorf("UpdateUser with %d ANIs: %v", MaxAllowedANIs, err)
	}
}

func TestUserOfExtension(t *testing.T) {
	ctx := context.Background()
	f := newCRUDFixture(t)
	if _, err := f.s.UpdateUser(ctx, f.agent.ID, func(u *User) error { u.Profile.CanOutdial = false; return nil }); err != nil {
		t.Fatal(err)
	}
	u, err := f.s.UserOfExtension(ctx, "1002")
	if err != nil || u.ID != f.agent.ID || u.Profile.CanOutdial {
		t.Errorf("UserOfExtension(1002) = %+v, %v; want anna without outdial", u, err)
	}
	if _, err := f.s.CreateExtension(ctx, Extension{Number: "1009", HA1: "a", HA1SHA256: "b", Realm: "r"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"1009", "1999"} { // no user; no extension
		if _, err := f.s.UserOfExtension(ctx, n); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserOfExtension(%s) = %v, want ErrNotFound", n, err)
		}
	}
}
