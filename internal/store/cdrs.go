package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Disposition is how a call ended, as recorded in its CDR.
type Disposition string

// Dispositions.
const (
	DispositionAnswered    Disposition = "answered"
	DispositionBusy        Disposition = "busy"        // 486/600
	DispositionNoAnswer    Disposition = "no-answer"   // ring timeout (408/480)
	DispositionUnavailable Disposition = "unavailable" // nothing registered / 404 / 503
	DispositionCancelled   Disposition = "cancelled"   // caller hung up while ringing
	DispositionRejected    Disposition = "rejected"    // 403/488/other 4xx-6xx
	DispositionFailed      Disposition = "failed"      // internal or transport failure
	DispositionAbandoned   Disposition = "abandoned"   // answered by a queue, left before an agent answered
)

// CDR is one call detail record.
type CDR struct {
	ID          int64
	CallID      string // Switchboard's call id
	Direction   string // "internal" | "inbound" | "outbound"
	From        string // caller number (extension or E.164)
	FromName    string
	To          string // dialled number as normalised
	Target      string // what it routed to, e.g. "extension:1001", "queue:8000", "trunk:demo-carrier"
	Trunk       string
	AnsweredBy  string // extension/device that answered, if any
	StartedAt   time.Time
	AnsweredAt  time.Time // zero if never answered
	EndedAt     time.Time
	Disposition Disposition
	SIPCode     int    // final response code to the caller (200 when answered)
	HangupBy    string // "caller" | "callee" | "system"
	Reason      string // free text, e.g. "Busy Here"
	// WrapupCode is the code the agent chose after a queue call (set by
	// SetCDRWrapupCode, possibly after the record was written).
	WrapupCode string
}

// InsertCDR stores c and returns its ID. CallID and StartedAt are required.
// The record is kept as given: a CDR is a fact about a call that happened,
// so an unexpected direction or disposition is stored rather than lost.
func (s *Store) InsertCDR(ctx context.Context, c CDR) (int64, error) {
	if err := validCDR(c); err != nil {
		return 0, err
	}
	res, err := s.w.ExecContext(ctx, insertCDR, cdrArgs(c)...)
	if err != nil {
		return 0, fmt.Errorf("insert cdr %s: %w", c.CallID, mapErr(err))
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert cdr %s: %w", c.CallID, err)
	}
	return id, nil
}

// InsertCDRs stores cs in one transaction: at a thousand calls a second a
// transaction per record would be most of the database's work. An invalid
// record fails the whole batch before anything is written.
func (s *Store) InsertCDRs(ctx context.Context, cs []CDR) error {
	for _, c := range cs {
		if err := validCDR(c); err != nil {
			return err
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert %d cdrs: %w", len(cs), err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertCDR)
	if err != nil {
		return fmt.Errorf("insert %d cdrs: %w", len(cs), err)
	}
	defer stmt.Close()
	for _, c := range cs {
		if _, err := stmt.ExecContext(ctx, cdrArgs(c)...); err != nil {
			return fmt.Errorf("insert cdr %s: %w", c.CallID, mapErr(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert %d cdrs: %w", len(cs), err)
	}
	return nil
}

const insertCDR = `
		INSERT INTO cdrs (call_id, direction, from_number, from_name, to_number, target, trunk, answered_by,
			started_at, answered_at, ended_at, disposition, sip_code, hangup_by, reason, wrapup_code)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func validCDR(c CDR) error {
	if c.CallID == "" || c.StartedAt.IsZero() {
		return fmt.Errorf("insert cdr %q: call id and start time are required: %w", c.CallID, ErrInvalid)
	}
	return nil
}

func cdrArgs(c CDR) []any {
	return []any{c.CallID, c.Direction, c.From, c.FromName, c.To, c.Target, c.Trunk, c.AnsweredBy,
		c.StartedAt.UnixMilli(), millis(c.AnsweredAt), millis(c.EndedAt), string(c.Disposition),
		c.SIPCode, c.HangupBy, c.Reason, c.WrapupCode}
}

// CDRs returns the most recent CDRs, newest first, at most limit; limit
// must be positive.
func (s *Store) CDRs(ctx context.Context, limit int) ([]CDR, error) {
	return s.FindCDRs(ctx, CDRFilter{Limit: limit})
}

// CDRFilter selects CDRs. Zero fields do not filter; Limit is required.
type CDRFilter struct {
	Since, Until time.Time // started_at in [Since, Until)
	Extension    string    // calls the extension made, answered or was dialled on
	Queue        string    // calls routed to the queue
	// Extensions, when not nil, keeps the calls any of them made,
	// answered or was dialled on (a user's extensions); empty keeps none.
	Extensions []string
	// Scope, when not nil, keeps the calls touching one of its extensions
	// or routed to one of its queues (what a principal may see); empty
	// keeps none.
	Scope *CDRScope
	Limit int
}

// CDRScope is a set of extensions and queues (CDRFilter.Scope).
type CDRScope struct {
	Extensions []string
	Queues     []string
}

// extensionsClause matches the calls any of exts made, answered or was
// dialled on; "0" (false) for none.
func extensionsClause(exts []string) (string, []any) {
	if len(exts) == 0 {
		return "0", nil
	}
	marks := "?" + strings.Repeat(",?", len(exts)-1)
	args := make([]any, 0, 3*len(exts))
	for _, e := range exts {
		args = append(args, e)
	}
	for _, e := range exts {
		args = append(args, e)
	}
	for _, e := range exts {
		args = append(args, "extension:"+e)
	}
	return "(from_number IN (" + marks + ") OR answered_by IN (" + marks + ") OR target IN (" + marks + "))", args
}

// queuesClause matches the calls routed to any of queues; "0" for none.
func queuesClause(queues []string) (string, []any) {
	if len(queues) == 0 {
		return "0", nil
	}
	args := make([]any, len(queues))
	for i, q := range queues {
		args[i] = "queue:" + q
	}
	return "target IN (?" + strings.Repeat(",?", len(queues)-1) + ")", args
}

// FindCDRs returns the CDRs matching f, newest first.
func (s *Store) FindCDRs(ctx context.Context, f CDRFilter) ([]CDR, error) {
	if f.Limit <= 0 {
		return nil, fmt.Errorf("list cdrs: limit %d: %w", f.Limit, ErrInvalid)
	}
	var (
		where []string
		args  []any
	)
	if !f.Since.IsZero() {
		where, args = append(where, "started_at >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "started_at < ?"), append(args, f.Until.UnixMilli())
	}
	if f.Extension != "" {
		where = append(where, "(from_number = ? OR answered_by = ? OR target = ?)")
		args = append(args, f.Extension, f.Extension, "extension:"+f.Extension)
	}
	if f.Queue != "" {
		where, args = append(where, "target = ?"), append(args, "queue:"+f.Queue)
	}
	if f.Extensions != nil {
		if len(f.Extensions) > 300 || f.Scope != nil && len(f.Scope.Extensions)+len(f.Scope.Queues) > 300 {
			// SQLite binds at most 32,766 parameters; nobody owns this many.
			return nil, fmt.Errorf("list cdrs: too many extensions or queues: %w", ErrInvalid)
		}
		c, a := extensionsClause(f.Extensions)
		where, args = append(where, c), append(args, a...)
	}
	if f.Scope != nil {
		ce, ae := extensionsClause(f.Scope.Extensions)
		cq, aq := queuesClause(f.Scope.Queues)
		where, args = append(where, "("+ce+" OR "+cq+")"), append(append(args, ae...), aq...)
	}
	q := `SELECT id, call_id, direction, from_number, from_name, to_number, target, trunk, answered_by,
			started_at, answered_at, ended_at, disposition, sip_code, hangup_by, reason, wrapup_code FROM cdrs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY started_at DESC, id DESC LIMIT ?"
	rows, err := s.r.QueryContext(ctx, q, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list cdrs: %w", err)
	}
	defer rows.Close()
	var cs []CDR
	for rows.Next() {
		var (
			c               CDR
			started         int64
			answered, ended sql.NullInt64
			disposition     string
		)
		if err := rows.Scan(&c.ID, &c.CallID, &c.Direction, &c.From, &c.FromName, &c.To, &c.Target,
			&c.Trunk, &c.AnsweredBy, &started, &answered, &ended, &disposition, &c.SIPCode,
			&c.HangupBy, &c.Reason, &c.WrapupCode); err != nil {
			return nil, fmt.Errorf("list cdrs: %w", err)
		}
		c.StartedAt = time.UnixMilli(started).UTC()
		c.AnsweredAt = fromMillis(answered)
		c.EndedAt = fromMillis(ended)
		c.Disposition = Disposition(disposition)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list cdrs: %w", err)
	}
	return cs, nil
}
