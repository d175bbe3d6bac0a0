package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	created := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 7200))
	tests := []struct {
		name    string
		u       User
		wantErr error
	}{
		{"admin", User{Username: "admin", DisplayName: "Admin", Role: RoleAdmin, PasswordHash: "$2a$10$x", CreatedAt: created}, nil},
		{"agent, default created", User{Username: "1001", Role: RoleAgent}, nil},
		{"supervisor", User{Username: "sup", Role: RoleSupervisor}, nil},
		{"operator", User{Username: "op", Role: RoleOperator}, nil},
		{"taken", User{Username: "admin", Role: RoleAgent}, ErrConflict},
		{"unknown role", User{Username: "x", Role: "root"}, ErrInvalid},
		{"empty username", User{Role: RoleAgent}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			got, err := s.CreateUser(ctx, tt.u)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateUser = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.ID == 0 {
				t.Error("no ID")
			}
			if tt.u.CreatedAt.IsZero() && got.CreatedAt.Before(before) {
				t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
			}
			if !tt.u.CreatedAt.IsZero() && !got.CreatedAt.Equal(tt.u.CreatedAt.Truncate(time.Millisecond)) {
				t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, tt.u.CreatedAt)
			}
			back, err := s.UserByUsername(ctx, tt.u.Username)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, got) {
				t.Errorf("UserByUsername = %+v, want %+v", back, got)
			}
		})
	}
	if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByUsername(nobody) = %v, want ErrNotFound", err)
	}
}

func TestExtensions(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	u, err := s.CreateUser(ctx, User{Username: "anna", Role: RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateQueue(ctx, Queue{Number: "8000", Name: "Support"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		e       Extension
		wantErr error
	}{
		{"owned", Extension{Number: "1002", UserID: u.ID, DisplayName: "Anna", HA1: "a", HA1SHA256: "b", Realm: "r"}, nil},
		{"unowned", Extension{Number: "1001", DisplayName: "Lobby", HA1: "c", HA1SHA256: "d", Realm: "r"}, nil},
		{"taken", Extension{Number: "1001", Realm: "r"}, ErrConflict},
		{"taken by a queue", Extension{Number: "8000", Realm: "r"}, ErrConflict},
		{"unknown user", Extension{Number: "1003", UserID: 999, Realm: "r"}, ErrNotFound},
		{"empty number", Extension{Realm: "r"}, ErrInvalid},
		{"empty realm", Extension{Number: "1004"}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CreateExtension(ctx, tt.e)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateExtension = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			back, err := s.ExtensionByNumber(ctx, tt.e.Number)
			if err != nil || back != got || got.ID == 0 {
				t.Errorf("ExtensionByNumber = %+v, %v; want %+v", back, err, got)
			}
		})
	}
	_, err = s.ExtensionByNumber(ctx, "1999")
	if !errors.Is(err, ErrNotFound) || err.Error() != "extension 1999: not found" {
		t.Errorf("ExtensionByNumber(1999) = %v", err)
	}
	es, err := s.Extensions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Number != "1001" || es[1].Number != "1002" || es[1].UserID != u.ID || es[0].UserID != 0 {
		t.Errorf("Extensions = %+v, want 1001 then 1002", es)
	}
}
