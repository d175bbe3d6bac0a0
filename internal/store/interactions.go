package store

import (
	"context"
	"fmt"
	"strings"
)

// RecordingsByCall maps each of callIDs that has recordings to them
// (oldest first), so the interaction history shows a page of calls with
// their recordings in one query per 500 calls.
func (s *Store) RecordingsByCall(ctx context.Context, callIDs []string) (map[string][]Recording, error) {
	out := make(map[string][]Recording)
	for len(callIDs) > 0 {
		n := min(len(callIDs), 500) // well under SQLite's parameter limit
		batch := callIDs[:n]
		callIDs = callIDs[n:]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		q := `SELECT id, call_id, path, started_at, ended_at, duration_ms, bytes, started_by, parties
			FROM recordings WHERE call_id IN (?` + strings.Repeat(",?", len(batch)-1) + `) ORDER BY started_at, id`
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("recordings of calls: %w", err)
		}
		for rows.Next() {
			r, err := scanRecording(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("recordings of calls: %w", err)
			}
			out[r.CallID] = append(out[r.CallID], r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("recordings of calls: %w", err)
		}
	}
	return out, nil
}
