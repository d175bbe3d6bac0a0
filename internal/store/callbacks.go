package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Callback statuses.
const (
	CallbackWaiting   = "waiting"   // in its queue (or being dialled)
	CallbackConnected = "connected" // an agent and the customer talked
	CallbackFailed    = "failed"    // given up: not reached after the attempts, or its queue is gone
)

// Callback is a courtesy callback a queued caller asked for (SPEC O3): it
// keeps the caller's place in the queue; when an agent is free the agent
// is rung, then the customer dialled.
type Callback struct {
	ID          string // the call ID of the call that asked
	Queue       string
	Number      string // dialled back
	Name        string
	DID         string    // the number they called, presented when dialling them through a trunk
	RequestedAt time.Time // when they entered the queue: their place
	Attempts    int       // times the customer was dialled and not reached
	Status      string
	Reason      string // why it failed
	UpdatedAt   time.Time
}

// InsertCallback stores a new callback request.
func (s *Store) InsertCallback(ctx context.Context, c Callback) error {
	if c.ID == "" || c.Queue == "" || c.Number == "" {
		return fmt.Errorf("insert callback: id, queue and number are required: %w", ErrInvalid)
	}
	if c.Status == "" {
		c.Status = CallbackWaiting
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.RequestedAt
	}
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO callbacks (id, queue, number, name, did, requested_at, attempts, status, reason, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Queue, c.Number, c.Name, c.DID, millis(c.RequestedAt), c.Attempts, c.Status, c.Reason, millis(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert callback %s: %w", c.ID, mapErr(err))
	}
	return nil
}

// UpdateCallback records an attempt's outcome: the attempts so far, the
// status and why; ErrNotFound when there is no such callback.
func (s *Store) UpdateCallback(ctx context.Context, id string, attempts int, status, reason string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE callbacks SET attempts = ?, status = ?, reason = ?, updated_at = ? WHERE id = ?`,
		attempts, status, reason, millis(at), id)
	if err != nil {
		return fmt.Errorf("update callback %s: %w", id, mapErr(err))
	}
	if err := affectedOne(res); err != nil {
		return fmt.Errorf("update callback %s: %w", id, err)
	}
	return nil
}

// CallbackFilter narrows Callbacks; zero fields match everything.
type CallbackFilter struct {
	Queues []string // nil: every queue; empty: none
	Status string
	Limit  int // 1–1000; default 100
}

const callbackColumns = `id, queue, number, name, did, requested_at, attempts, status, reason, updated_at`

// Callbacks lists callbacks in the order they keep in their queues
// (oldest request first).
func (s *Store) Callbacks(ctx context.Context, f CallbackFilter) ([]Callback, error) {
	if f.Queues != nil && len(f.Queues) == 0 {
		return nil, nil
	}
	q := `SELECT ` + callbackColumns + ` FROM callbacks WHERE 1=1`
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
	q += ` ORDER BY requested_at, id LIMIT ?`
	args = append(args, limit)
	return queryList(ctx, s.r, "callbacks", q, args, scanCallback)
}

// CallbackByID returns one callback or ErrNotFound.
func (s *Store) CallbackByID(ctx context.Context, id string) (Callback, error) {
	c, err := scanCallback(s.r.QueryRowContext(ctx, `SELECT `+callbackColumns+` FROM callbacks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Callback{}, fmt.Errorf("callback %s: %w", id, ErrNotFound)
	}
	return c, err
}

func scanCallback(row rowScanner) (Callback, error) {
	var c Callback
	var requested, updated sql.NullInt64
	if err := row.Scan(&c.ID, &c.Queue, &c.Number, &c.Name, &c.DID, &requested, &c.Attempts, &c.Status,
		&c.Reason, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
		return c, fmt.Errorf("scan callback: %w", err)
	}
	c.RequestedAt, c.UpdatedAt = fromMillis(requested), fromMillis(updated)
	return c, nil
}
