package store

import (
	"context"
	"errors"
	"fmt"
)

// TargetKind is what a DID or dialled number routes to.
type TargetKind string

// Target kinds.
const (
	TargetExtension TargetKind = "extension"
	TargetQueue     TargetKind = "queue"
)

// DID is an inbound E.164 number on a trunk.
type DID struct {
	ID         int64
	Number     string // E.164, "+31201230001"
	TrunkID    int64
	TargetKind TargetKind
	Target     string // extension or queue number
}

// CreateDID inserts d; ErrConflict on a taken number, ErrNotFound when
// TrunkID names no trunk, ErrInvalid when Number is not E.164 ("+" and 8
// to 15 digits) or the target is empty or of an unknown kind. The target
// itself is not checked: routing answers a missing one as unavailable.
func (s *Store) CreateDID(ctx context.Context, d DID) (DID, error) {
	if !isE164(d.Number) {
		return DID{}, fmt.Errorf("create did %q: not E.164: %w", d.Number, ErrInvalid)
	}
	if d.TargetKind != TargetExtension && d.TargetKind != TargetQueue {
		return DID{}, fmt.Errorf("create did %s: target kind %q: %w", d.Number, d.TargetKind, ErrInvalid)
	}
	if d.Target == "" {
		return DID{}, fmt.Errorf("create did %s: empty target: %w", d.Number, ErrInvalid)
	}
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO dids (number, trunk_id, target_kind, target) VALUES (?, ?, ?, ?)`,
		d.Number, d.TrunkID, string(d.TargetKind), d.Target)
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, ErrNotFound) {
			return DID{}, fmt.Errorf("create did %s: trunk %d: %w", d.Number, d.TrunkID, ErrNotFound)
		}
		return DID{}, fmt.Errorf("create did %s: %w", d.Number, err)
	}
	if d.ID, err = res.LastInsertId(); err != nil {
		return DID{}, fmt.Errorf("create did %s: %w", d.Number, err)
	}
	return d, nil
}

// DIDByNumber looks a DID up by its E.164 number.
func (s *Store) DIDByNumber(ctx context.Context, number string) (DID, error) {
	var (
		d    DID
		kind string
	)
	err := s.r.QueryRowContext(ctx,
		`SELECT id, number, trunk_id, target_kind, target FROM dids WHERE number = ?`, number).
		Scan(&d.ID, &d.Number, &d.TrunkID, &kind, &d.Target)
	if err != nil {
		return DID{}, fmt.Errorf("did %s: %w", number, mapErr(err))
	}
	d.TargetKind = TargetKind(kind)
	return d, nil
}

// DIDs lists all DIDs ordered by number.
func (s *Store) DIDs(ctx context.Context) ([]DID, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT id, number, trunk_id, target_kind, target FROM dids ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("list dids: %w", err)
	}
	defer rows.Close()
	var ds []DID
	for rows.Next() {
		var (
			d    DID
			kind string
		)
		if err := rows.Scan(&d.ID, &d.Number, &d.TrunkID, &kind, &d.Target); err != nil {
			return nil, fmt.Errorf("list dids: %w", err)
		}
		d.TargetKind = TargetKind(kind)
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dids: %w", err)
	}
	return ds, nil
}

// isE164 reports whether n is "+" followed by 8 to 15 digits, the first
// not 0. The store checks the shape only; normalising what a user typed is
// the dial plan's job.
func isE164(n string) bool {
	if len(n) < 9 || len(n) > 16 || n[0] != '+' || n[1] == '0' {
		return false
	}
	for i := 1; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

// DeleteDID deletes the DID with the given E.164 number; ErrNotFound when
// there is none.
func (s *Store) DeleteDID(ctx context.Context, number string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM dids WHERE number = ?`, number)
	if err != nil {
		return fmt.Errorf("delete did %s: %w", number, mapErr(err))
	}
	if err := affectedOne(res); err != nil {
		return fmt.Errorf("delete did %s: %w", number, err)
	}
	return nil
}
