package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Reads for the historical reports (internal/reports): queue calls from
// the CDRs and agents' status history over a time range, streamed to a
// callback so a report over a hundred thousand calls holds one row at a
// time.

// QueueCall is what a report needs of a queue call's CDR.
type QueueCall struct {
	CallID      string
	Queue       string // the number, from target "queue:<number>"
	StartedAt   time.Time
	AnsweredAt  time.Time // when an agent answered; zero if none did
	EndedAt     time.Time // zero if not recorded
	AnsweredBy  string    // the agent's extension
	Disposition Disposition
}

// maxReportKeys bounds the queues or users a report query binds (SQLite
// binds at most 32,766 parameters; nobody has this many).
const maxReportKeys = 1000

// EachQueueCall calls fn for every CDR routed to a queue that started in
// [from, to), oldest first; queues, when not nil, keeps those queues only
// (empty: none). fn's error stops the scan and is returned.
func (s *Store) EachQueueCall(ctx context.Context, from, to time.Time, queues []string, fn func(QueueCall) error) error {
	if len(queues) > maxReportKeys {
		return fmt.Errorf("queue calls: %d queues: %w", len(queues), ErrInvalid)
	}
	if queues != nil && len(queues) == 0 {
		return nil
	}
	// The range on target uses the (target, started_at) index: "queue;"
	// is the first string after every "queue:…".
	where, args := "target >= 'queue:' AND target < 'queue;'", []any{}
	if queues != nil {
		where, args = queuesClause(queues)
	}
	q := `SELECT call_id, target, started_at, answered_at, ended_at, answered_by, disposition FROM cdrs
		WHERE ` + where + ` AND started_at >= ? AND started_at < ? ORDER BY started_at, id`
	rows, err := s.r.QueryContext(ctx, q, append(args, from.UnixMilli(), to.UnixMilli())...)
	if err != nil {
		return fmt.Errorf("queue calls: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c               QueueCall
			target, disp    string
			started         int64
			answered, ended sql.NullInt64
		)
		if err := rows.Scan(&c.CallID, &target, &started, &answered, &ended, &c.AnsweredBy, &disp); err != nil {
			return fmt.Errorf("queue calls: %w", err)
		}
		c.Queue = strings.TrimPrefix(target, "queue:")
		c.StartedAt, c.AnsweredAt, c.EndedAt = time.UnixMilli(started).UTC(), fromMillis(answered), fromMillis(ended)
		c.Disposition = Disposition(disp)
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("queue calls: %w", err)
	}
	return nil
}

// EachAgentCall calls fn for every CDR answered by one of exts (an
// agent's extensions, or several agents') that started in [from, to),
// oldest first; the Queue field is empty for calls not routed to a queue.
func (s *Store) EachAgentCall(ctx context.Context, from, to time.Time, exts []string, fn func(QueueCall) error) error {
	if len(exts) == 0 {
		return nil
	}
	if len(exts) > maxReportKeys {
		return fmt.Errorf("agent calls: %d extensions: %w", len(exts), ErrInvalid)
	}
	args := make([]any, 0, len(exts)+2)
	for _, e := range exts {
		args = append(args, e)
	}
	q := `SELECT call_id, target, started_at, answered_at, ended_at, answered_by, disposition FROM cdrs
		WHERE answered_by IN (?` + strings.Repeat(",?", len(exts)-1) + `) AND started_at >= ? AND started_at < ?
		ORDER BY started_at, id`
	rows, err := s.r.QueryContext(ctx, q, append(args, from.UnixMilli(), to.UnixMilli())...)
	if err != nil {
		return fmt.Errorf("agent calls: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c               QueueCall
			target, disp    string
			started         int64
			answered, ended sql.NullInt64
		)
		if err := rows.Scan(&c.CallID, &target, &started, &answered, &ended, &c.AnsweredBy, &disp); err != nil {
			return fmt.Errorf("agent calls: %w", err)
		}
		if n, ok := strings.CutPrefix(target, "queue:"); ok {
			c.Queue = n
		}
		c.StartedAt, c.AnsweredAt, c.EndedAt = time.UnixMilli(started).UTC(), fromMillis(answered), fromMillis(ended)
		c.Disposition = Disposition(disp)
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("agent calls: %w", err)
	}
	return nil
}

// AgentStatusChangesBetween returns the status history of users in
// [from, to), and for each user their last change before from (what they
// were doing when the range began), ordered by user, then time. A report
// of time per status needs both.
func (s *Store) AgentStatusChangesBetween(ctx context.Context, from, to time.Time, users []int64) ([]AgentStatusChange, error) {
	if len(users) == 0 {
		return nil, nil
	}
	if len(users) > maxReportKeys {
		return nil, fmt.Errorf("agent status changes: %d users: %w", len(users), ErrInvalid)
	}
	marks := "?" + strings.Repeat(",?", len(users)-1)
	ids := make([]any, len(users))
	for i, u := range users {
		ids[i] = u
	}
	q := `SELECT user_id, at, from_state, to_state, reason_code, changed_by, id FROM (
			SELECT id, user_id, at, from_state, to_state, reason_code, changed_by,
				ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY at DESC, id DESC) AS rn
			FROM agent_status_history WHERE at < ? AND user_id IN (` + marks + `))
		WHERE rn = 1
		UNION ALL
		SELECT user_id, at, from_state, to_state, reason_code, changed_by, id FROM agent_status_history
		WHERE at >= ? AND at < ? AND user_id IN (` + marks + `)
		ORDER BY 1, 2, 7`
	args := append(append(append(append([]any{from.UnixMilli()}, ids...), from.UnixMilli()), to.UnixMilli()), ids...)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("agent status changes: %w", err)
	}
	defer rows.Close()
	var out []AgentStatusChange
	for rows.Next() {
		var (
			c      AgentStatusChange
			at, id int64
			by     sql.NullInt64
		)
		if err := rows.Scan(&c.UserID, &at, &c.From, &c.To, &c.ReasonCode, &by, &id); err != nil {
			return nil, fmt.Errorf("agent status changes: %w", err)
		}
		c.At, c.ChangedBy = time.UnixMilli(at).UTC(), by.Int64
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agent status changes: %w", err)
	}
	return out, nil
}
