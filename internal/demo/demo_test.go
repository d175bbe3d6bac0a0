package demo

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/store"
	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	// Hashing cost is not what these tests check.
	bcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func seeded(t *testing.T, opts Options) *store.Store {
	t.Helper()
	st := openStore(t)
	if err := Seed(context.Background(), st, opts); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return st
}

func TestSeedCounts(t *testing.T) {
	ctx := context.Background()
	st := seeded(t, Options{Realm: "switchboard"})

	exts, err := st.Extensions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(exts) != 10 || exts[0].Number != "1001" || exts[9].Number != "1010" {
		t.Fatalf("extensions = %+v, want 1001-1010", exts)
	}
	qs, err := st.Queues(ctx)
	if err != nil || len(qs) != 2 {
		t.Fatalf("queues = %+v, %v; want 2", qs, err)
	}
	trunks, err := st.Trunks(ctx)
	if err != nil || len(trunks) != 1 {
		t.Fatalf("trunks = %+v, %v; want 1", trunks, err)
	}
	want := store.Trunk{ID: trunks[0].ID, Name: "demo-carrier", Host: "127.0.0.1:5090", Transport: "udp",
		InboundCIDRs: []string{"127.0.0.1/32"}, Outbound: true}
	if !reflect.DeepEqual(trunks[0], want) {
		t.Errorf("trunk = %+v, want %+v", trunks[0], want)
	}
	dids, err := st.DIDs(ctx)
	if err != nil || len(dids) != 12 {
		t.Fatalf("dids = %d, %v; want 12", len(dids), err)
	}
	for _, d := range dids {
		if d.TrunkID != trunks[0].ID {
			t.Errorf("DID %s on trunk %d, want %d", d.Number, d.TrunkID, trunks[0].ID)
		}
	}
}

func TestSeedDIDs(t *testing.T) {
	ctx := context.Background()
	st := seeded(t, Options{Realm: "switchboard"})
	tests := []struct {
		number string
		kind   store.TargetKind
		target string
	}{
		{"+31201230001", store.TargetQueue, "8000"},
		{"+31201230002", store.TargetQueue, "8001"},
		{"+31201231001", store.TargetExtension, "1001"},
		{"+31201231005", store.TargetExtension, "1005"},
		{"+31201231010", store.TargetExtension, "1010"},
	}
	for _, tt := range tests {
		d, err := st.DIDByNumber(ctx, tt.number)
		if err != nil {
			t.Errorf("DIDByNumber(%s): %v", tt.number, err)
			continue
		}
		if d.TargetKind != tt.kind || d.Target != tt.target {
			t.Errorf("DID %s → %s %s, want %s %s", tt.number, d.TargetKind, d.Target, tt.kind, tt.target)
		}
	}
	if _, err := st.DIDByNumber(ctx, "+31201231011"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DIDByNumber(+31201231011) = %v, want ErrNotFound", err)
	}
}

func TestSeedQueues(t *testing.T) {
	ctx := context.Background()
	st := seeded(t, Options{Realm: "switchboard"})
	tests := []struct {
		number, name string
		members      []string
	}{
		{"8000", "Support", []string{"1001", "1002", "1003", "1004", "1005"}},
		{"8001", "Sales", []string{"1006", "1007", "1008"}},
	}
	for _, tt := range tests {
		q, err := st.QueueByNumber(ctx, tt.number)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range q.Members {
			got = append(got, m.Extension)
		}
		if q.Name != tt.name || q.Strategy != "ringall" || !reflect.DeepEqual(got, tt.members) {
			t.Errorf("queue %s = %q %q %v, want %q ringall %v", tt.number, q.Name, q.Strategy, got, tt.name, tt.members)
		}
	}
}

func TestSeedCredentials(t *testing.T) {
	ctx := context.Background()
	const realm = "pbx.example.com"
	st := seeded(t, Options{Realm: realm})

	// Known values for 1001 in realm "switchboard", computed independently.
	md5Hex, shaHex := registrar.Secrets("1001", "switchboard", "demo-1001")
	if md5Hex != "488c4f3b0dc0f6f9f774d2c6566c296d" ||
		shaHex != "3a4cd171c3f59d9fabf3974374d4aea088bfa1a8a994f70b42ab352b46f4804e" {
		t.Errorf("registrar.Secrets = %s, %s", md5Hex, shaHex)
	}

	roles := map[string]store.Role{"1009": store.RoleOperator, "1010": store.RoleSupervisor, "1001": store.RoleAgent, "1008": store.RoleAgent}
	exts, err := st.Extensions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exts {
		a1 := e.Number + ":" + realm + ":demo-" + e.Number
		m := md5.Sum([]byte(a1))
		s := sha256.Sum256([]byte(a1))
		if e.HA1 != hex.EncodeToString(m[:]) || e.HA1SHA256 != hex.EncodeToString(s[:]) || e.Realm != realm {
			t.Errorf("extension %s: HA1 %s, HA1SHA256 %s, realm %s: wrong", e.Number, e.HA1, e.HA1SHA256, e.Realm)
		}
		if e.DisplayName == "" {
			t.Errorf("extension %s has no display name", e.Number)
		}
		u, err := st.UserByUsername(ctx, e.Number)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != e.UserID || u.DisplayName != e.DisplayName {
			t.Errorf("extension %s: user %+v does not own it (user id %d)", e.Number, u, e.UserID)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("demo-"+e.Number)); err != nil {
			t.Errorf("user %s: password does not match: %v", u.Username, err)
		}
		if want, ok := roles[e.Number]; ok && u.Role != want {
			t.Errorf("user %s role = %s, want %s", u.Username, u.Role, want)
		}
	}
	if e, _ := st.ExtensionByNumber(ctx, "1009"); e.DisplayName != "Reception" {
		t.Errorf("1009 display name = %q, want Reception", e.DisplayName)
	}

	admin, err := st.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if admin.Role != store.RoleAdmin {
		t.Errorf("admin role = %s", admin.Role)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(admin.PasswordHash), []byte("demo-admin")); err != nil {
		t.Errorf("admin password does not match: %v", err)
	}
}

func TestSeedCarrierAddr(t *testing.T) {
	ctx := context.Background()
	st := seeded(t, Options{Realm: "switchboard", CarrierAddr: "127.0.0.1:15090"})
	trunks, err := st.Trunks(ctx)
	if err != nil || len(trunks) != 1 || trunks[0].Host != "127.0.0.1:15090" {
		t.Fatalf("trunks = %+v, %v", trunks, err)
	}
}

func TestSeedTwiceFails(t *testing.T) {
	ctx := context.Background()
	st := seeded(t, Options{Realm: "switchboard"})
	err := Seed(ctx, st, Options{Realm: "switchboard"})
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("second Seed = %v, want ErrNotEmpty", err)
	}
	if !strings.Contains(err.Error(), "not empty") {
		t.Errorf("error %q does not say why", err)
	}
	// Nothing was added by the failed attempt.
	if exts, _ := st.Extensions(ctx); len(exts) != 10 {
		t.Errorf("extensions after second Seed = %d, want 10", len(exts))
	}
}

func TestSeedRefusesNonEmptyStore(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if _, err := st.CreateUser(ctx, store.User{Username: "someone", Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := Seed(ctx, st, Options{Realm: "switchboard"}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Seed = %v, want ErrNotEmpty", err)
	}
}

func TestSeedBadOptions(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		opts Options
		want string
	}{
		{"no realm", Options{}, "empty realm"},
		{"bad carrier", Options{Realm: "r", CarrierAddr: "nowhere"}, "carrier address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			err := Seed(ctx, st, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Seed = %v, want %q", err, tt.want)
			}
			if empty, _ := st.IsEmpty(ctx); !empty {
				t.Error("a refused Seed wrote to the store")
			}
		})
	}
}

func TestSeedACD(t *testing.T) {
	ctx := context.Background()
	st := seeded(t, Options{Realm: "switchboard"})
	rcs, err := st.ReasonCodes(ctx)
	if err != nil || len(rcs) != len(reasonCodes) {
		t.Fatalf("reason codes = %+v, %v", rcs, err)
	}
	codes, err := st.WrapupCodes(ctx, "8001")
	if err != nil || len(codes) != 3 {
		t.Fatalf("wrap-up codes of 8001 = %+v, %v", codes, err)
	}
	sup, err := st.UserByUsername(ctx, "1010")
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.QueueSupervisors(ctx)
	want := map[string][]int64{"8000": {sup.ID}, "8001": {sup.ID}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("supervisors = %v, %v; want %v", got, err, want)
	}
}
