package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// This file persists what the ACD (internal/acd) must not lose on a
// restart: reason codes, agents' chosen statuses and their history, queue
// membership state, wrap-up codes, queue supervisors, and the wrap-up code
// of a CDR. The ACD owns the live state and writes here; it reads it all
// back at start.

// Reason code kinds: the status a code explains.
const (
	ReasonBreak   = "break"
	ReasonOffline = "offline"
)

// ReasonCode is an admin-defined reason for a break or for working
// offline (SPEC A2).
type ReasonCode struct {
	ID    int64
	Code  string // unique; what statuses and history refer to
	Label string
	Kind  string // ReasonBreak or ReasonOffline
}

// ReasonCodes lists the reason codes by kind, then code.
func (s *Store) ReasonCodes(ctx context.Context) ([]ReasonCode, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, code, label, kind FROM reason_codes ORDER BY kind, code`)
	if err != nil {
		return nil, fmt.Errorf("list reason codes: %w", err)
	}
	defer rows.Close()
	var out []ReasonCode
	for rows.Next() {
		var rc ReasonCode
		if err := rows.Scan(&rc.ID, &rc.Code, &rc.Label, &rc.Kind); err != nil {
			return nil, fmt.Errorf("list reason codes: %w", err)
		}
		out = append(out, rc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list reason codes: %w", err)
	}
	return out, nil
}

// CreateReasonCode inserts rc and returns it with its ID; ErrConflict on a
// taken code, ErrInvalid on an empty code or an unknown kind.
func (s *Store) CreateReasonCode(ctx context.Context, rc ReasonCode) (ReasonCode, error) {
	if rc.Code == "" || (rc.Kind != ReasonBreak && rc.Kind != ReasonOffline) {
		return ReasonCode{}, fmt.Errorf("create reason code %q (kind %q): %w", rc.Code, rc.Kind, ErrInvalid)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO reason_codes (code, label, kind) VALUES (?, ?, ?)`,
		rc.Code, rc.Label, rc.Kind)
	if err != nil {
		return ReasonCode{}, fmt.Errorf("create reason code %q: %w", rc.Code, mapErr(err))
	}
	if rc.ID, err = res.LastInsertId(); err != nil {
		return ReasonCode{}, fmt.Errorf("create reason code %q: %w", rc.Code, err)
	}
	return rc, nil
}

// DeleteReasonCode deletes a reason code; ErrNotFound when there is none.
// Statuses and history keep the code's text.
func (s *Store) DeleteReasonCode(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM reason_codes WHERE id = ?`, id)
	if err == nil {
		err = affectedOne(res)
	}
	if err != nil {
		return fmt.Errorf("delete reason code %d: %w", id, mapErr(err))
	}
	return nil
}

// WrapupCode is a code an agent may choose at the end of a call from
// Queue (SPEC Q3).
type WrapupCode struct {
	ID    int64
	Queue string // queue number
	Code  string // unique within the queue
	Label string
}

// WrapupCodes lists the wrap-up codes of the queue with the given number,
// or of every queue when it is empty, by queue and code. An unknown queue
// has none.
func (s *Store) WrapupCodes(ctx context.Context, queue string) ([]WrapupCode, error) {
	q := `SELECT w.id, q.number, w.code, w.label FROM queue_wrapup_codes w JOIN queues q ON q.id = w.queue_id`
	var args []any
	if queue != "" {
		q += ` WHERE q.number = ?`
		args = append(args, queue)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY q.number, w.code`, args...)
	if err != nil {
		return nil, fmt.Errorf("list wrap-up codes: %w", err)
	}
	defer rows.Close()
	var out []WrapupCode
	for rows.Next() {
		var w WrapupCode
		if err := rows.Scan(&w.ID, &w.Queue, &w.Code, &w.Label); err != nil {
			return nil, fmt.Errorf("list wrap-up codes: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list wrap-up codes: %w", err)
	}
	return out, nil
}

// CreateWrapupCode inserts w and returns it with its ID; ErrNotFound when
// the queue does not exist, ErrConflict on a code the queue has,
// ErrInvalid on an empty code.
func (s *Store) CreateWrapupCode(ctx context.Context, w WrapupCode) (WrapupCode, error) {
	if w.Code == "" {
		return WrapupCode{}, fmt.Errorf("create wrap-up code for queue %s: empty code: %w", w.Queue, ErrInvalid)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO queue_wrapup_codes (queue_id, code, label)
		SELECT id, ?, ? FROM queues WHERE number = ?`, w.Code, w.Label, w.Queue)
	if err == nil {
		err = affectedOne(res) // no row: no such queue
	}
	if err != nil {
		return WrapupCode{}, fmt.Errorf("create wrap-up code %q for queue %s: %w", w.Code, w.Queue, mapErr(err))
	}
	if w.ID, err = res.LastInsertId(); err != nil {
		return WrapupCode{}, fmt.Errorf("create wrap-up code %q for queue %s: %w", w.Code, w.Queue, err)
	}
	return w, nil
}

// DeleteWrapupCode deletes a queue's wrap-up code; ErrNotFound when the
// queue has no code with that ID.
func (s *Store) DeleteWrapupCode(ctx context.Context, queue string, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM queue_wrapup_codes
		WHERE id = ? AND queue_id = (SELECT id FROM queues WHERE number = ?)`, id, queue)
	if err == nil {
		err = affectedOne(res)
	}
	if err != nil {
		return fmt.Errorf("delete wrap-up code %d of queue %s: %w", id, queue, mapErr(err))
	}
	return nil
}

// QueueSupervisors returns the IDs of the users who supervise each queue,
// by queue number, in ID order. Queues without supervisors are absent.
func (s *Store) QueueSupervisors(ctx context.Context) (map[string][]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT q.number, s.user_id FROM queue_supervisors s
		JOIN queues q ON q.id = s.queue_id ORDER BY q.number, s.user_id`)
	if err != nil {
		return nil, fmt.Errorf("list queue supervisors: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]int64)
	for rows.Next() {
		var (
			q  string
			id int64
		)
		if err := rows.Scan(&q, &id); err != nil {
			return nil, fmt.Errorf("list queue supervisors: %w", err)
		}
		out[q] = append(out[q], id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list queue supervisors: %w", err)
	}
	return out, nil
}

// SetQueueSupervisors replaces the supervisors of a queue; ErrNotFound
// when the queue or one of the users does not exist. Checking the users'
// roles is the caller's business.
func (s *Store) SetQueueSupervisors(ctx context.Context, queue string, userIDs []int64) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var qid int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM queues WHERE number = ?`, queue).Scan(&qid); err != nil {
			return mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM queue_supervisors WHERE queue_id = ?`, qid); err != nil {
			return err
		}
		for _, id := range userIDs {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO queue_supervisors (queue_id, user_id) VALUES (?, ?)`,
				qid, id); err != nil {
				if err = mapErr(err); errors.Is(err, ErrNotFound) {
					return fmt.Errorf("user %d: %w", id, ErrNotFound)
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set supervisors of queue %s: %w", queue, err)
	}
	return nil
}

// AgentStatus is the status an agent chose (SPEC A1): "available",
// "break", "offline" or "logged_out", with a reason code for the two in
// between.
type AgentStatus struct {
	UserID     int64
	Status     string
	ReasonCode string
	ChangedAt  time.Time
	ChangedBy  int64 // 0: the system
}

// AgentStatuses lists every stored agent status by user ID.
func (s *Store) AgentStatuses(ctx context.Context) ([]AgentStatus, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT user_id, status, reason_code, changed_at, changed_by FROM agent_status ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("list agent statuses: %w", err)
	}
	defer rows.Close()
	var out []AgentStatus
	for rows.Next() {
		var (
			a  AgentStatus
			at int64
			by sql.NullInt64
		)
		if err := rows.Scan(&a.UserID, &a.Status, &a.ReasonCode, &at, &by); err != nil {
			return nil, fmt.Errorf("list agent statuses: %w", err)
		}
		a.ChangedAt, a.ChangedBy = time.UnixMilli(at).UTC(), by.Int64
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list agent statuses: %w", err)
	}
	return out, nil
}

// SetAgentStatus stores an agent's status; ErrNotFound when the user does
// not exist, ErrInvalid on an unknown status.
func (s *Store) SetAgentStatus(ctx context.Context, a AgentStatus) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO agent_status (user_id, status, reason_code, changed_at, changed_by)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, reason_code = excluded.reason_code,
			changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
		a.UserID, a.Status, a.ReasonCode, a.ChangedAt.UnixMilli(), nullID(a.ChangedBy))
	if err != nil {
		return fmt.Errorf("set status of agent %d: %w", a.UserID, mapErr(err))
	}
	return nil
}

// AgentStatusChange is one row of an agent's status history: what the
// agent was available for before and after ("available", "break",
// "offline", "logged_out", or "rona", which the system sets).
type AgentStatusChange struct {
	UserID     int64
	At         time.Time
	From, To   string
	ReasonCode string // of To
	ChangedBy  int64  // 0: the system
}

// AddAgentStatusChanges appends history rows in one transaction, with one
// prepared statement: the ACD writes them behind, in batches.
func (s *Store) AddAgentStatusChanges(ctx context.Context, cs []AgentStatusChange) error {
	if len(cs) == 0 {
		return nil
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO agent_status_history
			(user_id, at, from_state, to_state, reason_code, changed_by) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, c := range cs {
			if _, err := stmt.ExecContext(ctx, c.UserID, c.At.UnixMilli(), c.From, c.To, c.ReasonCode,
				nullID(c.ChangedBy)); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %d agent status changes: %w", len(cs), err)
	}
	return nil
}

// AgentStatusHistory returns an agent's status changes at or after since,
// oldest first, at most limit (which must be positive).
func (s *Store) AgentStatusHistory(ctx context.Context, userID int64, since time.Time, limit int) ([]AgentStatusChange, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("agent %d history: limit %d: %w", userID, limit, ErrInvalid)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT at, from_state, to_state, reason_code, changed_by
		FROM agent_status_history WHERE user_id = ? AND at >= ? ORDER BY at, id LIMIT ?`,
		userID, since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("agent %d history: %w", userID, err)
	}
	defer rows.Close()
	var out []AgentStatusChange
	for rows.Next() {
		var (
			c  = AgentStatusChange{UserID: userID}
			at int64
			by sql.NullInt64
		)
		if err := rows.Scan(&at, &c.From, &c.To, &c.ReasonCode, &by); err != nil {
			return nil, fmt.Errorf("agent %d history: %w", userID, err)
		}
		c.At, c.ChangedBy = time.UnixMilli(at).UTC(), by.Int64
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agent %d history: %w", userID, err)
	}
	return out, nil
}

// QueueMembership is an extension's membership of a queue with its state
// (MemberLoggedIn, MemberPaused or MemberLoggedOut).
type QueueMembership struct {
	Queue     string // queue number
	Extension string
	Penalty   int
	State     string
	ChangedAt time.Time // zero: never changed
}

// QueueMemberships lists every membership by queue number, penalty and
// extension (the order of QueueByNumber's members).
func (s *Store) QueueMemberships(ctx context.Context) ([]QueueMembership, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT q.number, m.extension, m.penalty, m.state, m.state_changed_at
		FROM queue_members m JOIN queues q ON q.id = m.queue_id ORDER BY q.number, m.penalty, m.extension`)
	if err != nil {
		return nil, fmt.Errorf("list queue memberships: %w", err)
	}
	defer rows.Close()
	var out []QueueMembership
	for rows.Next() {
		var (
			m  QueueMembership
			at sql.NullInt64
		)
		if err := rows.Scan(&m.Queue, &m.Extension, &m.Penalty, &m.State, &at); err != nil {
			return nil, fmt.Errorf("list queue memberships: %w", err)
		}
		m.ChangedAt = fromMillis(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list queue memberships: %w", err)
	}
	return out, nil
}

// SetQueueMembership stores m, adding the extension to the queue when it
// is not a member yet; ErrNotFound when the queue or extension does not
// exist, ErrInvalid on an unknown state.
func (s *Store) SetQueueMembership(ctx context.Context, m QueueMembership) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO queue_members (queue_id, extension, penalty, state, state_changed_at)
		SELECT id, ?, ?, ?, ? FROM queues WHERE number = ?
		ON CONFLICT (queue_id, extension) DO UPDATE SET penalty = excluded.penalty, state = excluded.state,
			state_changed_at = excluded.state_changed_at`,
		m.Extension, m.Penalty, m.State, millis(m.ChangedAt), m.Queue)
	if err == nil {
		err = affectedOne(res) // no row: no such queue
	}
	if err != nil {
		return fmt.Errorf("set membership of %s in queue %s: %w", m.Extension, m.Queue, mapErr(err))
	}
	return nil
}

// SetCDRWrapupCode records the wrap-up code chosen for call callID on its
// CDR. CDRs are written behind a queue, so when none exists yet the code
// is kept and applied as the CDR is inserted (a trigger). Codes waiting
// more than a day for their CDR are dropped.
func (s *Store) SetCDRWrapupCode(ctx context.Context, callID, code string) error {
	if callID == "" {
		return fmt.Errorf("set wrap-up code: empty call id: %w", ErrInvalid)
	}
	now := time.Now()
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cdrs SET wrapup_code = ? WHERE call_id = ?`, code, callID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n > 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cdr_wrapup_pending (call_id, code, set_at) VALUES (?, ?, ?)
			ON CONFLICT (call_id) DO UPDATE SET code = excluded.code, set_at = excluded.set_at`,
			callID, code, now.UnixMilli()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM cdr_wrapup_pending WHERE set_at < ?`,
			now.Add(-24*time.Hour).UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("set wrap-up code of call %s: %w", callID, mapErr(err))
	}
	return nil
}
