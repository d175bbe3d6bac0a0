package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// openTemp opens a store on a file in a fresh temporary directory and
// returns it with its path, for tests that reopen it.
func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s, _ := openTemp(t)
	return s
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"empty", "", "empty path"},
		{"missing dir", filepath.Join(dir, "nope", "x.db"), "no such file or directory"},
		{"parent is a file", filepath.Join(file, "x.db"), "is not a directory"},
		{"question mark", filepath.Join(dir, "x?.db"), "must not contain '?'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.path)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %v, want it to mention %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestOpenPragmas(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, tt := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"}, // NORMAL
	} {
		for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
			var got string
			if err := db.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatalf("%s PRAGMA %s: %v", name, tt.pragma, err)
			}
			if got != tt.want {
				t.Errorf("%s PRAGMA %s = %q, want %q", name, tt.pragma, got, tt.want)
			}
		}
	}
	if _, err := s.r.ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Error("a reader connection could write")
	}
}

func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateUser(ctx, User{Username: "u", Role: RoleAgent}); err != nil {
		t.Fatal(err)
	}
	// The one connection must serve reads too, or they would see another,
	// empty, in-memory database.
	if _, err := s.UserByUsername(ctx, "u"); err != nil {
		t.Fatal(err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != len(ms) || v < 1 {
		t.Fatalf("SchemaVersion = %d, want %d", v, len(ms))
	}
	s.Close()

	for range 2 {
		s2, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		v2, err := s2.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := s2.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		s2.Close()
		if v2 != v || rows != len(ms) {
			t.Fatalf("after reopen: version %d with %d rows, want %d with %d", v2, rows, v, len(ms))
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if _, err := s.w.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path)
	if err == nil {
		s2.Close()
		t.Fatal("Open succeeded on a database from a newer build")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error = %v, want it to say the schema is newer", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []int
		wantErr string
	}{
		{"ordered", fstest.MapFS{"migrations/0002_b.sql": sql, "migrations/0001_a.sql": sql}, []int{1, 2}, ""},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": sql, "migrations/0003_c.sql": sql}, nil, "expected version 2"},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": sql, "migrations/0001_b.sql": sql}, nil, "expected version 2"},
		{"bad name", fstest.MapFS{"migrations/init.sql": sql}, nil, "NNNN_description.sql"},
		{"zero", fstest.MapFS{"migrations/0000_a.sql": sql}, nil, "NNNN_description.sql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.fs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if len(got) != len(tt.want) || got[0] != tt.want[0] || got[1] != tt.want[1] {
				t.Errorf("versions = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsEmpty(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		add  func(s *Store) error
	}{
		{"user", func(s *Store) error {
			_, err := s.CreateUser(ctx, User{Username: "a", Role: RoleAdmin})
			return err
		}},
		{"extension", func(s *Store) error {
			_, err := s.CreateExtension(ctx, Extension{Number: "1001", Realm: "r"})
			return err
		}},
		{"trunk", func(s *Store) error {
			_, err := s.CreateTrunk(ctx, Trunk{Name: "t", Host: "127.0.0.1:5090", Transport: "udp"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			empty, err := s.IsEmpty(ctx)
			if err != nil || !empty {
				t.Fatalf("fresh store: IsEmpty = %v, %v", empty, err)
			}
			if err := tt.add(s); err != nil {
				t.Fatal(err)
			}
			if empty, err := s.IsEmpty(ctx); err != nil || empty {
				t.Fatalf("after adding a %s: IsEmpty = %v, %v", tt.name, empty, err)
			}
		})
	}
}

// TestReopenPersists checks that a restart loses nothing.
func TestReopenPersists(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	u, err := s.CreateUser(ctx, User{Username: "anna", DisplayName: "Anna", Role: RoleAgent, PasswordHash: "$2a$x"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.CreateExtension(ctx, Extension{Number: "1001", UserID: u.ID, HA1: "h", HA1SHA256: "h2", Realm: "r"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.CreateTrunk(ctx, Trunk{Name: "carrier", Host: "127.0.0.1:5090", Transport: "udp",
		InboundCIDRs: []string{"127.0.0.1/32"}, Outbound: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.CreateDID(ctx, DID{Number: "+31201230001", TrunkID: tr.ID, TargetKind: TargetQueue, Target: "8000"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.CreateQueue(ctx, Queue{Number: "8000", Name: "Support", Members: []QueueMember{{Extension: "1001"}}})
	if err != nil {
		t.Fatal(err)
	}
	b := Binding{Extension: "1001", ContactURI: "sip:1001@10.0.0.2:5062", Transport: "udp",
		Expires: time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC(), UpdatedAt: time.UnixMilli(1000).UTC()}
	if err := s.SaveBindings(ctx, []Binding{b}); err != nil {
		t.Fatal(err)
	}
	c := CDR{CallID: "c1", StartedAt: time.UnixMilli(5000).UTC(), Disposition: DispositionAnswered}
	if c.ID, err = s.InsertCDR(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.UserByUsername(ctx, "anna"); err != nil || !reflect.DeepEqual(got, u) {
		t.Errorf("user after reopen = %+v, %v; want %+v", got, err, u)
	}
	if got, err := s.ExtensionByNumber(ctx, "1001"); err != nil || got != e {
		t.Errorf("extension after reopen = %+v, %v; want %+v", got, err, e)
	}
	if got, err := s.Trunks(ctx); err != nil || len(got) != 1 || got[0].Name != tr.Name || got[0].InboundCIDRs[0] != "127.0.0.1/32" {
		t.Errorf("trunks after reopen = %+v, %v", got, err)
	}
	if got, err := s.DIDByNumber(ctx, d.Number); err != nil || got != d {
		t.Errorf("did after reopen = %+v, %v; want %+v", got, err, d)
	}
	if got, err := s.QueueByNumber(ctx, "8000"); err != nil || got.ID != q.ID || len(got.Members) != 1 {
		t.Errorf("queue after reopen = %+v, %v", got, err)
	}
	if got, err := s.Bindings(ctx, time.Now()); err != nil || len(got) != 1 || got[0] != b {
		t.Errorf("bindings after reopen = %+v, %v; want %+v", got, err, b)
	}
	if got, err := s.CDRs(ctx, 10); err != nil || len(got) != 1 || got[0] != c {
		t.Errorf("cdrs after reopen = %+v, %v; want %+v", got, err, c)
	}
}

// TestConcurrentUse writes and reads from many goroutines: under -race it
// checks the Store is safe for concurrent use, and that the single writer
// never sees SQLITE_BUSY.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if _, err := s.InsertCDR(ctx, CDR{CallID: "c", StartedAt: time.UnixMilli(int64(w*100 + i + 1))}); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range 25 {
				if _, err := s.CDRs(ctx, 5); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cs, err := s.CDRs(ctx, 1000)
	if err != nil || len(cs) != 100 {
		t.Fatalf("CDRs = %d, %v; want 100", len(cs), err)
	}
}

func TestMapErr(t *testing.T) {
	if err := mapErr(sql.ErrNoRows); !errors.Is(err, ErrNotFound) {
		t.Errorf("mapErr(ErrNoRows) = %v", err)
	}
	other := errors.New("disk on fire")
	if err := mapErr(other); err != other {
		t.Errorf("mapErr(other) = %v", err)
	}
}
