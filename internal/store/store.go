// Package store persists Switchboard's configuration and call detail records
// in SQLite (modernc.org/sqlite, no cgo), with versioned migrations.
//
// # Representation
//
// Times are stored as INTEGER milliseconds since the Unix epoch (UTC): they
// sort and compare as numbers, which RFC 3339 text with a variable number of
// fractional digits does not, and CDR queries order by them. A zero
// time.Time is stored as NULL and read back as the zero time. Every time
// returned by the store is in UTC and truncated to the millisecond.
//
// Lists (a trunk's inbound CIDRs) are stored as JSON text.
//
// # Concurrency
//
// SQLite allows one writer at a time; in WAL mode readers do not block it
// nor it them. The Store therefore keeps two pools on the same file: a
// single-connection writer, so writes queue in Go instead of spinning in
// SQLite's busy handler, and a small read-only pool for queries. A Store is
// safe for concurrent use.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique key is already taken.
var ErrConflict = errors.New("already exists")

// ErrInvalid is returned when a value is rejected before it reaches the
// database (an unknown role, a malformed CIDR, a non-E.164 DID, …), so the
// API layer can answer 400 rather than 500.
var ErrInvalid = errors.New("invalid")

// ErrInUse is returned when a row cannot be deleted because another one
// still refers to it (a DID routed to an extension, queue or trunk), so
// deleting it would silently break routing.
var ErrInUse = errors.New("in use")

// memoryPath is SQLite's name for a private in-memory database.
const memoryPath = ":memory:"

// Store is the SQLite database.
type Store struct {
	// w is the only connection that writes (MaxOpenConns 1).
	w *sql.DB
	// r serves queries; it is w itself for an in-memory database, where
	// every connection would otherwise see its own empty database.
	r *sql.DB
	// extByNumber is prepared once: the registrar and the router look an
	// extension up on every REGISTER and INVITE, and compiling the SQL each
	// time was a tenth of the CPU of a REGISTER.
	extByNumber *sql.Stmt
}

// Open opens (creating if needed) the database file at path and applies
// pending migrations. Use ":memory:"-like paths only in tests.
//
// The directory holding path must exist: creating it is the caller's job
// (it owns the data directory and its permissions). path must not contain
// '?', which SQLite would read as the start of connection parameters.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open store: empty path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open store %q: path must not contain '?'", path)
	}
	if path != memoryPath {
		dir := filepath.Dir(path)
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("open store %q: directory %q: %w", path, dir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("open store %q: %q is not a directory", path, dir)
		}
	}

	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	// Connections are never recycled by age: each reconnect would rerun the
	// pragmas for nothing, and an in-memory database would be lost.
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: w, r: w}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	if path == memoryPath {
		return s, s.prepare(ctx)
	}

	// Readers open after the migrations so they never see a half-built schema.
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %q: readers: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open store %q: readers: %w", path, err)
	}
	s.r = r
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	return s, nil
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	s.extByNumber, err = s.r.PrepareContext(ctx, `SELECT `+extensionColumns+` FROM extensions WHERE number = ?`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return nil
}

// dsn builds the modernc.org/sqlite data source name. The pragmas run on
// every new connection, since most of them are per connection.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)") // wait for another process's lock instead of failing
	q.Add("_pragma", "foreign_keys(1)")    // off by default in SQLite
	q.Add("_pragma", "journal_mode(WAL)")  // readers and the writer do not block each other
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		// A reader that tried to write would bypass the single-writer pool.
		q.Add("_pragma", "query_only(1)")
	} else {
		// BEGIN IMMEDIATE takes the write lock at the start of a transaction,
		// so a second process's writer waits on busy_timeout rather than
		// failing with SQLITE_BUSY when a read lock cannot be upgraded.
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Close closes the database.
func (s *Store) Close() error {
	if s.extByNumber != nil {
		_ = s.extByNumber.Close()
	}
	var rerr error
	if s.r != s.w {
		rerr = s.r.Close()
	}
	return errors.Join(rerr, s.w.Close())
}

// IsEmpty reports whether no extension, trunk or user exists yet (a fresh data dir).
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	var found bool
	err := s.r.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM extensions) OR
		EXISTS (SELECT 1 FROM trunks) OR
		EXISTS (SELECT 1 FROM users)`).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("check store is empty: %w", err)
	}
	return !found, nil
}

// withTx runs fn in a write transaction, committing if it returns nil.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error from fn is the one worth reporting
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// mapErr turns SQLite constraint errors into the package's sentinels so
// callers can test with errors.Is; the caller wraps the result with the
// operation and key. Other errors pass through unchanged.
func mapErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return ErrConflict
	case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
		// The triggers in the schema only guard the shared number space
		// of extensions and queues; keep their message, it names the clash.
		return fmt.Errorf("%w: %s", ErrConflict, triggerMessage(se))
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("referenced row: %w", ErrNotFound)
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return err
}

// triggerMessage extracts the RAISE() text from a trigger error, whose
// message the driver decorates with the code.
func triggerMessage(se *sqlite.Error) string {
	msg := se.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if i := strings.LastIndex(msg, " ("); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// millis converts a time to the stored form; the zero time becomes NULL.
func millis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMillis is the inverse of millis.
func fromMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// nullID stores an optional reference: 0 means none.
func nullID(id int64) sql.NullInt64 {
	return sql.NullInt64{Int64: id, Valid: id != 0}
}
