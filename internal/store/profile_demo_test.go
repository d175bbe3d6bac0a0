package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/store"
)

// The demo organisation's users keep what users could do before profiles:
// they dial out.
func TestDemoUsersCanOutdial(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := demo.Seed(ctx, s, demo.Options{Realm: "switchboard"}); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserOfExtension(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	if want := store.DefaultProfile(); !u.Profile.CanOutdial || !u.Profile.CanKeypadDial || u.Profile.CanControlRecording || u.Profile.AllowedANIs != nil {
		t.Errorf("demo user 1001's profile = %+v, want %+v", u.Profile, want)
	}
}
