package auth

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/store"
)

func newService(t *testing.T) (*Service, *store.Store, *time.Time) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, u := range []struct{ name, pass string }{{"1001", "demo-1001"}, {"admin", "demo-admin"}} {
		h, _ := bcrypt.GenerateFromPassword([]byte(u.pass), bcrypt.MinCost)
		if _, err := st.CreateUser(context.Background(), store.User{Username: u.name, Role: store.RoleAgent, PasswordHash: string(h)}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	s := New(Config{SessionIdle: time.Hour, SessionMax: 3 * time.Hour, UserFailures: 3, SourceFailures: 5, FailWindow: 10 * time.Minute}, st)
	s.now = func() time.Time { return now }
	return s, st, &now
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t)
	tests := []struct {
		name, user, pass string
		want             error
	}{
		{"right", "1001", "demo-1001", nil},
		{"wrong password", "1001", "nope", ErrBadCredentials},
		{"unknown user", "9999", "demo-1001", ErrBadCredentials},
		{"empty", "", "", ErrBadCredentials},
		{"oversized", string(make([]byte, 1000)), "x", ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := s.Login(ctx, tt.user, tt.pass, "10.0.0."+tt.name)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil {
				p, err := s.Authenticate(ctx, sess.Token)
				if err != nil || p.User.Username != tt.user || p.Kind != store.TokenSession {
					t.Fatalf("session does not authenticate: %+v %v", p, err)
				}
			}
		})
	}
}

func TestLoginRateLimits(t *testing.T) {
	ctx := context.Background()
	s, _, now := newService(t)
	for i := 0; i < 3; i++ {
		if _, err := s.Login(ctx, "1001", "bad", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	// The user is locked, from any source, even with the right password.
	if _, err := s.Login(ctx, "1001", "demo-1001", "10.0.0.2"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("locked user: %v", err)
	}
	// Another user from another source is fine.
	if _, err := s.Login(ctx, "admin", "demo-admin", "10.0.0.2"); err != nil {
		t.Fatalf("other user: %v", err)
	}
	// A source spraying many usernames is locked out.
	for i := 0; i < 5; i++ {
		s.Login(ctx, "user"+string(rune('a'+i)), "x", "10.9.9.9")
	}
	if _, err := s.Login(ctx, "admin", "demo-admin", "10.9.9.9"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("locked source: %v", err)
	}
	*now = now.Add(11 * time.Minute)
	if _, err := s.Login(ctx, "1001", "demo-1001", "10.0.0.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	ctx := context.Background()
	s, _, now := newService(t)
	sess, err := s.Login(ctx, "1001", "demo-1001", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// Used every 50 minutes, the idle timeout (1h) slides …
	for i := 0; i < 3; i++ {
		*now = now.Add(50 * time.Minute)
		if _, err := s.Authenticate(ctx, sess.Token); err != nil {
			t.Fatalf("after %d×50m: %v", i+1, err)
		}
	}
	// … but never past the absolute maximum (3h).
	*now = now.Add(40 * time.Minute)
	if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("past the maximum: %v", err)
	}
	// Idle longer than an hour ends a fresh session too.
	sess, _ = s.Login(ctx, "1001", "demo-1001", "10.0.0.1")
	*now = now.Add(61 * time.Minute)
	if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("idle session: %v", err)
	}
}

func TestLogoutAndAPITokens(t *testing.T) {
	ctx := context.Background()
	s, st, now := newService(t)
	sess, _ := s.Login(ctx, "1001", "demo-1001", "10.0.0.1")
	if err := s.Logout(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after logout: %v", err)
	}
	if err := s.Logout(ctx, sess.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("double logout: %v", err)
	}
	u, _ := st.UserByUsername(ctx, "1001")
	tok, meta, err := s.CreateAPIToken(ctx, u.ID, "crm")
	if err != nil || meta.Name != "crm" {
		t.Fatal(err)
	}
	*now = now.Add(1000 * time.Hour)
	p, err := s.Authenticate(ctx, tok)
	if err != nil || p.Kind != store.TokenAPI {
		t.Fatalf("api token after 1000h: %+v %v", p, err)
	}
	for _, bad := range []string{"", "x", tok + "x", string(make([]byte, 200))} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

func TestRoleTable(t *testing.T) {
	actions := []Action{CallsViewAll, CallsControlAny, CDRsViewAll, EventsViewAll, ConfigManage,
		AgentsViewAll, AgentsManageAll, QueuesSupervise}
	want := map[store.Role][]bool{
		store.RoleAdmin:      {true, true, true, true, true, true, true, true},
		store.RoleSupervisor: {true, false, true, true, false, false, false, true},
		store.RoleOperator:   {true, true, false, true, false, true, false, false},
		store.RoleAgent:      {false, false, false, false, false, false, false, false},
		"nobody":             {false, false, false, false, false, false, false, false},
	}
	for role, row := range want {
		p := Principal{User: store.User{Role: role}}
		for i, a := range actions {
			if got := p.Can(a); got != row[i] {
				t.Errorf("%s can %s = %v, want %v", role, a, got, row[i])
			}
		}
	}
}
