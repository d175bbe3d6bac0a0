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
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q += ` ORDER BY started_at DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	defer rows.Close()
	var out []Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	return out, nil
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

type rowScanner interface{ Scan(dest ...any) error }

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
