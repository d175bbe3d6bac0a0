package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// Follows is a user's follow list (SPEC X2): the users (by ID) and queues
// (by number) whose calls an operator sees and acts on.
type Follows struct {
	Users  []int64  `json:"users"`
	Queues []string `json:"queues"`
}

// MaxFollows bounds each half of a follow list.
const MaxFollows = 500

// FollowScope is what a follow list covers, resolved for permission
// checks: the numbers of the followed users' extensions and the followed
// queues. Empty is false when the user follows anyone, even users who own
// no extension (then the list covers no call, which is not the same as
// following nobody).
type FollowScope struct {
	Empty      bool
	Extensions []string
	Queues     []string
}

// UserFollows returns the follow list of user id, sorted; ErrNotFound when
// the user does not exist.
func (s *Store) UserFollows(ctx context.Context, id int64) (Follows, error) {
	f := Follows{Users: []int64{}, Queues: []string{}}
	var one int
	if err := s.r.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, id).Scan(&one); err != nil {
		return f, fmt.Errorf("follows of user %d: %w", id, mapErr(err))
	}
	rows, err := s.r.QueryContext(ctx, `SELECT followed_id, NULL FROM follows_users WHERE user_id = ?
		UNION ALL SELECT NULL, q.number FROM follows_queues f JOIN queues q ON q.id = f.queue_id WHERE f.user_id = ?`, id, id)
	if err != nil {
		return f, fmt.Errorf("follows of user %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			u sql.NullInt64
			q sql.NullString
		)
		if err := rows.Scan(&u, &q); err != nil {
			return f, fmt.Errorf("follows of user %d: %w", id, err)
		}
		if u.Valid {
			f.Users = append(f.Users, u.Int64)
		} else {
			f.Queues = append(f.Queues, q.String)
		}
	}
	if err := rows.Err(); err != nil {
		return f, fmt.Errorf("follows of user %d: %w", id, err)
	}
	slices.Sort(f.Users)
	slices.Sort(f.Queues)
	return f, nil
}

// SetUserFollows replaces the follow list of user id (duplicates are
// dropped); ErrNotFound when the user, a followed user or a queue does not
// exist, ErrInvalid when a half is longer than MaxFollows or the user
// follows themselves. Whether the list applies (operators) is the caller's
// business.
func (s *Store) SetUserFollows(ctx context.Context, id int64, f Follows) error {
	if len(f.Users) > MaxFollows || len(f.Queues) > MaxFollows {
		return fmt.Errorf("follows of user %d: at most %d users and %d queues: %w", id, MaxFollows, MaxFollows, ErrInvalid)
	}
	if slices.Contains(f.Users, id) {
		return fmt.Errorf("follows of user %d: a user cannot follow themselves: %w", id, ErrInvalid)
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, id).Scan(&one); err != nil {
			return mapErr(err)
		}
		for _, q := range []string{`DELETE FROM follows_users WHERE user_id = ?`, `DELETE FROM follows_queues WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		for _, u := range f.Users {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO follows_users (user_id, followed_id) VALUES (?, ?)`, id, u); err != nil {
				if err = mapErr(err); errors.Is(err, ErrNotFound) {
					return fmt.Errorf("followed user %d: %w", u, ErrNotFound)
				}
				return err
			}
		}
		for _, number := range f.Queues {
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO follows_queues (user_id, queue_id)
				SELECT ?, id FROM queues WHERE number = ?`, id, number)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				var one int
				if err := tx.QueryRowContext(ctx, `SELECT 1 FROM queues WHERE number = ?`, number).Scan(&one); err != nil {
					return fmt.Errorf("followed queue %s: %w", number, mapErr(err))
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set follows of user %d: %w", id, err)
	}
	return nil
}

// UserFollowScope resolves the follow list of user id for permission
// checks, in one query. A user who does not exist follows nobody.
func (s *Store) UserFollowScope(ctx context.Context, id int64) (FollowScope, error) {
	sc := FollowScope{Empty: true}
	rows, err := s.r.QueryContext(ctx, `SELECT e.number, NULL FROM follows_users f LEFT JOIN extensions e ON e.user_id = f.followed_id WHERE f.user_id = ?
		UNION ALL SELECT NULL, q.number FROM follows_queues f JOIN queues q ON q.id = f.queue_id WHERE f.user_id = ?`, id, id)
	if err != nil {
		return sc, fmt.Errorf("follow scope of user %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ext, q sql.NullString
		if err := rows.Scan(&ext, &q); err != nil {
			return sc, fmt.Errorf("follow scope of user %d: %w", id, err)
		}
		sc.Empty = false
		switch {
		case ext.Valid:
			sc.Extensions = append(sc.Extensions, ext.String)
		case q.Valid:
			sc.Queues = append(sc.Queues, q.String)
		}
	}
	if err := rows.Err(); err != nil {
		return sc, fmt.Errorf("follow scope of user %d: %w", id, err)
	}
	return sc, nil
}
