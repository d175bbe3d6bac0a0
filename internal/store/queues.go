package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Queue is a call queue; for now it rings all members.
type Queue struct {
	ID       int64
	Number   string // "8000"
	Name     string // "Support"
	Strategy string // "ringall" for now; empty means ringall
	Members  []QueueMember
}

// QueueMember is an extension that answers a queue's calls.
type QueueMember struct {
	Extension string
	Penalty   int
}

// defaultStrategy is the only strategy the ACD has so far.
const defaultStrategy = "ringall"

// CreateQueue inserts q with its members; ErrConflict on a taken number
// (by a queue or an extension), ErrNotFound when a member is not an
// extension, ErrInvalid on an empty number or name or a member listed twice.
// Members are returned in the order QueueByNumber gives them.
func (s *Store) CreateQueue(ctx context.Context, q Queue) (Queue, error) {
	if q.Number == "" || q.Name == "" {
		return Queue{}, fmt.Errorf("create queue %q: number and name are required: %w", q.Number, ErrInvalid)
	}
	if q.Strategy == "" {
		q.Strategy = defaultStrategy
	}
	if err := uniqueMembers(q.Members); err != nil {
		return Queue{}, fmt.Errorf("create queue %s: %w", q.Number, err)
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO queues (number, name, strategy) VALUES (?, ?, ?)`, q.Number, q.Name, q.Strategy)
		if err != nil {
			return mapErr(err)
		}
		if q.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		q.Members, err = insertMembers(ctx, tx, q.ID, q.Members)
		return err
	})
	if err != nil {
		return Queue{}, fmt.Errorf("create queue %s: %w", q.Number, err)
	}
	return q, nil
}

// QueueByNumber looks a queue up with its members (ordered by penalty, extension).
func (s *Store) QueueByNumber(ctx context.Context, number string) (Queue, error) {
	var q Queue
	err := s.r.QueryRowContext(ctx,
		`SELECT id, number, name, strategy FROM queues WHERE number = ?`, number).
		Scan(&q.ID, &q.Number, &q.Name, &q.Strategy)
	if err != nil {
		return Queue{}, fmt.Errorf("queue %s: %w", number, mapErr(err))
	}
	if q.Members, err = queueMembers(ctx, s.r, q.ID); err != nil {
		return Queue{}, fmt.Errorf("queue %s: %w", number, err)
	}
	return q, nil
}

// Queues lists all queues ordered by number, with their members.
func (s *Store) Queues(ctx context.Context) ([]Queue, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, number, name, strategy FROM queues ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	var qs []Queue
	for rows.Next() {
		var q Queue
		if err := rows.Scan(&q.ID, &q.Number, &q.Name, &q.Strategy); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list queues: %w", err)
		}
		qs = append(qs, q)
	}
	// Close before the member queries so the reader connection is free
	// for them.
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	for i := range qs {
		if qs[i].Members, err = queueMembers(ctx, s.r, qs[i].ID); err != nil {
			return nil, fmt.Errorf("list queues: queue %s: %w", qs[i].Number, err)
		}
	}
	return qs, nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queueMembers(ctx context.Context, db querier, queueID int64) ([]QueueMember, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT extension, penalty FROM queue_members WHERE queue_id = ? ORDER BY penalty, extension`, queueID)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	var ms []QueueMember
	for rows.Next() {
		var m QueueMember
		if err := rows.Scan(&m.Extension, &m.Penalty); err != nil {
			return nil, fmt.Errorf("members: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return ms, nil
}

// uniqueMembers returns ErrInvalid when an extension is listed twice.
func uniqueMembers(ms []QueueMember) error {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if seen[m.Extension] {
			return fmt.Errorf("member %s listed twice: %w", m.Extension, ErrInvalid)
		}
		seen[m.Extension] = true
	}
	return nil
}

// insertMembers adds ms to the queue and returns its members as
// QueueByNumber orders them; ErrNotFound names a member that is not an
// extension.
func insertMembers(ctx context.Context, tx *sql.Tx, queueID int64, ms []QueueMember) ([]QueueMember, error) {
	for _, m := range ms {
		// Checked here rather than left to the foreign key, whose error
		// does not say which member is missing.
		var exists bool
		if err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM extensions WHERE number = ?)`, m.Extension).Scan(&exists); err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("member extension %s: %w", m.Extension, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO queue_members (queue_id, extension, penalty) VALUES (?, ?, ?)`,
			queueID, m.Extension, m.Penalty); err != nil {
			return nil, fmt.Errorf("member %s: %w", m.Extension, mapErr(err))
		}
	}
	return queueMembers(ctx, tx, queueID)
}

// UpdateQueue changes the queue with the given number in one transaction:
// fn receives the stored queue with its members and edits it; its name,
// strategy and members (replaced as a whole) are then written back (ID and
// number do not change). An error from fn aborts the update and is
// returned wrapped. ErrNotFound when there is no such queue or a member is
// not an extension, ErrInvalid on an empty name or a member listed twice.
func (s *Store) UpdateQueue(ctx context.Context, number string, fn func(*Queue) error) (Queue, error) {
	var q Queue
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, number, name, strategy FROM queues WHERE number = ?`, number).
			Scan(&q.ID, &q.Number, &q.Name, &q.Strategy)
		if err != nil {
			return mapErr(err)
		}
		if q.Members, err = queueMembers(ctx, tx, q.ID); err != nil {
			return err
		}
		orig := q
		if err := fn(&q); err != nil {
			return err
		}
		q.ID, q.Number = orig.ID, orig.Number
		if q.Name == "" {
			return fmt.Errorf("empty name: %w", ErrInvalid)
		}
		if q.Strategy == "" {
			q.Strategy = defaultStrategy
		}
		if err := uniqueMembers(q.Members); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE queues SET name = ?, strategy = ? WHERE id = ?`,
			q.Name, q.Strategy, q.ID); err != nil {
			return mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM queue_members WHERE queue_id = ?`, q.ID); err != nil {
			return mapErr(err)
		}
		q.Members, err = insertMembers(ctx, tx, q.ID, q.Members)
		return err
	})
	if err != nil {
		return Queue{}, fmt.Errorf("update queue %s: %w", number, err)
	}
	return q, nil
}

// DeleteQueue deletes a queue and its memberships; ErrNotFound when there
// is none, ErrInUse while a DID routes to it.
func (s *Store) DeleteQueue(ctx context.Context, number string) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if err := refusedByDIDs(ctx, tx, `target_kind = 'queue' AND target = ?`, number); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM queues WHERE number = ?`, number)
		if err != nil {
			return mapErr(err)
		}
		return affectedOne(res)
	})
	if err != nil {
		return fmt.Errorf("delete queue %s: %w", number, err)
	}
	return nil
}
