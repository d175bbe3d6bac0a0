package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CallJournalEntry is one fact for WriteCallJournal: a call started
// (Started, with what is known at the start) or ended (its CDR).
type CallJournalEntry struct {
	Started bool
	CDR     CDR
}

// WriteCallJournal writes, in order and in one transaction, the calls
// that started (kept in live_calls) and the CDRs of calls that ended
// (their live_calls row removed), so that what a crash leaves in
// live_calls is exactly the calls that were cut off.
func (s *Store) WriteCallJournal(ctx context.Context, entries []CallJournalEntry) error {
	for _, e := range entries {
		if e.CDR.CallID == "" || e.CDR.StartedAt.IsZero() {
			return fmt.Errorf("call journal: call id and start time are required")
		}
		if !e.Started {
			if err := validCDR(e.CDR); err != nil {
				return err
			}
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("call journal: %w", err)
	}
	defer tx.Rollback()
	open, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO live_calls
		(call_id, direction, from_number, from_name, to_number, target, trunk, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("call journal: %w", err)
	}
	defer open.Close()
	ins, err := tx.PrepareContext(ctx, insertCDR)
	if err != nil {
		return fmt.Errorf("call journal: %w", err)
	}
	defer ins.Close()
	del, err := tx.PrepareContext(ctx, `DELETE FROM live_calls WHERE call_id = ?`)
	if err != nil {
		return fmt.Errorf("call journal: %w", err)
	}
	defer del.Close()
	for _, e := range entries {
		c := e.CDR
		if e.Started {
			if _, err := open.ExecContext(ctx, c.CallID, c.Direction, c.From, c.FromName, c.To, c.Target, c.Trunk, millis(c.StartedAt)); err != nil {
				return fmt.Errorf("call journal: start of %s: %w", c.CallID, mapErr(err))
			}
			continue
		}
		if _, err := ins.ExecContext(ctx, cdrArgs(c)...); err != nil {
			return fmt.Errorf("call journal: cdr %s: %w", c.CallID, mapErr(err))
		}
		if _, err := del.ExecContext(ctx, c.CallID); err != nil {
			return fmt.Errorf("call journal: end of %s: %w", c.CallID, mapErr(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("call journal: %w", err)
	}
	return nil
}

// InterruptedReason is the CDR reason of a call cut off by a crash.
const InterruptedReason = "interrupted: Switchboard stopped while the call was in progress"

// RecoverInterruptedCalls turns the calls a crash cut off (rows left in
// live_calls) into CDRs — disposition failed, hung up by the system,
// ended at now since the real end is unknown — and returns how many.
// Run at start-up, before any call.
func (s *Store) RecoverInterruptedCalls(ctx context.Context, now time.Time) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("recover interrupted calls: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT call_id, direction, from_number, from_name, to_number, target, trunk, started_at FROM live_calls`)
	if err != nil {
		return 0, fmt.Errorf("recover interrupted calls: %w", err)
	}
	var cut []CDR
	for rows.Next() {
		var c CDR
		var started sql.NullInt64
		if err := rows.Scan(&c.CallID, &c.Direction, &c.From, &c.FromName, &c.To, &c.Target, &c.Trunk, &started); err != nil {
			rows.Close()
			return 0, fmt.Errorf("recover interrupted calls: %w", err)
		}
		c.StartedAt, c.EndedAt = fromMillis(started), now
		c.Disposition, c.HangupBy, c.Reason = DispositionFailed, "system", InterruptedReason
		cut = append(cut, c)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return 0, fmt.Errorf("recover interrupted calls: %w", err)
	}
	for _, c := range cut {
		if _, err := tx.ExecContext(ctx, insertCDR, cdrArgs(c)...); err != nil {
			return 0, fmt.Errorf("recover interrupted call %s: %w", c.CallID, mapErr(err))
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM live_calls`); err != nil {
		return 0, fmt.Errorf("recover interrupted calls: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("recover interrupted calls: %w", err)
	}
	return len(cut), nil
}
