package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Voicemail statuses: new until someone of the queue marks it handled.
const (
	VoicemailNew     = "new"
	VoicemailHandled = "handled"
)

// Voicemail is a message a queued caller left (SPEC Q5, M3): a WAV file in
// the data dir and who it is for.
type Voicemail struct {
	ID           string
	Queue        string // the queue's number
	CallID       string // the call it was left on (its CDR)
	CallerNumber string
	CallerName   string
	Path         string
	Duration     time.Duration
	Bytes        int64
	CreatedAt    time.Time
	Status       string // VoicemailNew | VoicemailHandled
	HandledBy    string // username who last set the status; "" while new
	HandledAt    time.Time
}

// InsertVoicemail stores v (status new unless given).
func (s *Store) InsertVoicemail(ctx context.Context, v Voicemail) error {
	if v.ID == "" || v.Queue == "" || v.CallID == "" || v.Path == "" {
		return fmt.Errorf("insert voicemail: id, queue, call id and path are required: %w", ErrInvalid)
	}
	if v.Status == "" {
		v.Status = VoicemailNew
	}
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO voicemails (id, queue, call_id, caller_number, caller_name, path, duration_ms, bytes,
			created_at, status, handled_by, handled_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.Queue, v.CallID, v.CallerNumber, v.CallerName, v.Path, v.Duration.Milliseconds(), v.Bytes,
		millis(v.CreatedAt), v.Status, v.HandledBy, millis(v.HandledAt))
	if err != nil {
		return fmt.Errorf("insert voicemail %s: %w", v.ID, mapErr(err))
	}
	return nil
}

// VoicemailFilter narrows Voicemails; zero fields match everything.
type VoicemailFilter struct {
	// Queues: only messages of these queues; nil means every queue, an
	// empty non-nil slice none.
	Queues []string
	Status string
	Limit  int // 1–1000; default 100
}

const voicemailColumns = `id, queue, call_id, caller_number, caller_name, path, duration_ms, bytes,
	created_at, status, handled_by, handled_at`

// Voicemails lists messages, newest first.
func (s *Store) Voicemails(ctx context.Context, f VoicemailFilter) ([]Voicemail, error) {
	if f.Queues != nil && len(f.Queues) == 0 {
		return nil, nil
	}
	q := `SELECT ` + voicemailColumns + ` FROM voicemails WHERE 1=1`
	var args []any
	if f.Queues != nil {
		q += ` AND queue IN (?` + strings.Repeat(`, ?`, len(f.Queues)-1) + `)`
		for _, n := range f.Queues {
			args = append(args, n)
		}
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	limit := listLimit(f.Limit)
	q += ` ORDER BY created_at DESC, id LIMIT ?`
	args = append(args, limit)
	return queryList(ctx, s.r, "voicemails", q, args, scanVoicemail)
}

// VoicemailByID returns one message or ErrNotFound.
func (s *Store) VoicemailByID(ctx context.Context, id string) (Voicemail, error) {
	v, err := scanVoicemail(s.r.QueryRowContext(ctx, `SELECT `+voicemailColumns+` FROM voicemails WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Voicemail{}, fmt.Errorf("voicemail %s: %w", id, ErrNotFound)
	}
	return v, err
}

// SetVoicemailStatus marks a message new or handled, by username at at,
// and returns it; ErrNotFound, or ErrInvalid for another status.
func (s *Store) SetVoicemailStatus(ctx context.Context, id, status, by string, at time.Time) (Voicemail, error) {
	if status != VoicemailNew && status != VoicemailHandled {
		return Voicemail{}, fmt.Errorf("voicemail %s: status %q: %w", id, status, ErrInvalid)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE voicemails SET status = ?, handled_by = ?, handled_at = ? WHERE id = ?`,
		status, by, millis(at), id)
	if err != nil {
		return Voicemail{}, fmt.Errorf("voicemail %s: %w", id, mapErr(err))
	}
	if err := affectedOne(res); err != nil {
		return Voicemail{}, fmt.Errorf("voicemail %s: %w", id, err)
	}
	// Read back from the writer: the reader may not see the change yet.
	v, err := scanVoicemail(s.w.QueryRowContext(ctx, `SELECT `+voicemailColumns+` FROM voicemails WHERE id = ?`, id))
	if err != nil {
		return Voicemail{}, fmt.Errorf("voicemail %s: %w", id, mapErr(err))
	}
	return v, nil
}

func scanVoicemail(row rowScanner) (Voicemail, error) {
	var v Voicemail
	var created, handled sql.NullInt64
	var durMS int64
	if err := row.Scan(&v.ID, &v.Queue, &v.CallID, &v.CallerNumber, &v.CallerName, &v.Path, &durMS, &v.Bytes,
		&created, &v.Status, &v.HandledBy, &handled); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return v, err
		}
		return v, fmt.Errorf("scan voicemail: %w", err)
	}
	v.Duration = time.Duration(durMS) * time.Millisecond
	v.CreatedAt, v.HandledAt = fromMillis(created), fromMillis(handled)
	return v, nil
}
