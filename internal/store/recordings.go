package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Recording is one stored call recording (a WAV file in the data dir).
type Recording struct {
	ID        string
	CallID    string
	Path      string
	StartedAt time.Time
	EndedAt   time.Time
	Duration  time.Duration
	Bytes     int64
	StartedBy string   // who started it: a username, or "policy" for automatic recording
	Parties   []string // extensions that were on the call while it was recorded
}

// InsertRecording stores r.
func (s *Store) InsertRecording(ctx context.Context, r Recording) error {
	if r.ID == "" || r.CallID == "" || r.Path == "" {
		return fmt.Errorf("insert recording: id, call id and path are required")
	}
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO recordings (id, call_id, path, started_at, ended_at, duration_ms, bytes, started_by, parties)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.CallID, r.Path, millis(r.StartedAt), millis(r.EndedAt), r.Duration.Milliseconds(), r.Bytes,
		r.StartedBy, strings.Join(r.Parties, ","))
	if err != nil {
		return fmt.Errorf("insert recording %s: %w", r.ID, mapErr(err))
	}
	return nil
}

// RecordingFilter narrows Recordings; zero fields match everything.
type RecordingFilter struct {
	CallID    string
	Extension string // only recordings with this extension among the parties
	Limit     int
}

// Recordings lists recordings, newest first.
func (s *Store) Recordings(ctx context.Context, f RecordingFilter) ([]Recording, error) {
	q := `SELECT id, call_id, path, started_at, ended_at, duration_ms, bytes, started_by, parties FROM recordings WHERE 1=1`
	var args []any
	if f.CallID != "" {
		q += ` AND call_id = ?`
		args = append(args, f.CallID)
	}
	if f.Extension != "" {
		q += ` AND (',' || parties || ',') LIKE ?`
		args = append(args, "%,"+f.Extension+",%")
	}
	limit := listLimit(f.Limit)
	q += ` ORDER BY started_at DESC LIMIT ?`
	args = append(args, limit)
	return queryList(ctx, s.r, "recordings", q, args, scanRecording)
}

// RecordingByID returns one recording or ErrNotFound.
func (s *Store) RecordingByID(ctx context.Context, id string) (Recording, error) {
	row := s.r.QueryRowContext(ctx, `SELECT id, call_id, path, started_at, ended_at, duration_ms, bytes, started_by, parties
		FROM recordings WHERE id = ?`, id)
	r, err := scanRecording(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Recording{}, fmt.Errorf("recording %s: %w", id, ErrNotFound)
	}
	return r, err
}

// rowScanner is *sql.Row or *sql.Rows: one scan function serves the
// single-row lookup and the list.
type rowScanner interface{ Scan(dest ...any) error }

// listLimit bounds a list query: 1–1000 rows, 100 when not given.
func listLimit(n int) int {
	if n <= 0 || n > 1000 {
		return 100
	}
	return n
}

// queryList runs a list query on the read pool and scans every row; what
// names the list in errors.
func queryList[T any](ctx context.Context, db *sql.DB, what, q string, args []any, scan func(rowScanner) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

func scanRecording(row rowScanner) (Recording, error) {
	var r Recording
	var started, ended sql.NullInt64
	var durMS int64
	var parties string
	if err := row.Scan(&r.ID, &r.CallID, &r.Path, &started, &ended, &durMS, &r.Bytes, &r.StartedBy, &parties); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
		return r, fmt.Errorf("scan recording: %w", err)
	}
	r.StartedAt, r.EndedAt = fromMillis(started), fromMillis(ended)
	r.Duration = time.Duration(durMS) * time.Millisecond
	if parties != "" {
		r.Parties = strings.Split(parties, ",")
	}
	return r, nil
}

// RecordingIDsByCall maps each of callIDs that has recordings to their IDs
// (oldest first), so a page of CDRs links its recordings in one query.
func (s *Store) RecordingIDsByCall(ctx context.Context, callIDs []string) (map[string][]string, error) {
	out := make(map[string][]string)
	for len(callIDs) > 0 {
		n := min(len(callIDs), 500) // well under SQLite's parameter limit
		batch := callIDs[:n]
		callIDs = callIDs[n:]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		q := `SELECT call_id, id FROM recordings WHERE call_id IN (?` + strings.Repeat(",?", len(batch)-1) + `) ORDER BY started_at`
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("recordings of calls: %w", err)
		}
		for rows.Next() {
			var callID, id string
			if err := rows.Scan(&callID, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("recordings of calls: %w", err)
			}
			out[callID] = append(out[callID], id)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("recordings of calls: %w", err)
		}
	}
	return out, nil
}
