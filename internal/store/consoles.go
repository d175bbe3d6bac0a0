package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Console is one of a user's operator consoles (SPEC C1): a name and the
// widget grid as JSON. The API validates the layout; the store keeps it
// as given. Version counts saves, for optimistic concurrency.
type Console struct {
	ID        int64
	UserID    int64
	Name      string
	Layout    string // JSON array of widgets
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MaxConsoles bounds the consoles of one user.
const MaxConsoles = 20

// ErrStale means a change named a version that is no longer the stored
// one: someone else saved first.
var ErrStale = errors.New("changed since it was read")

const consoleColumns = `id, user_id, name, layout, version, created_at, updated_at`

func scanConsole(sc scanner) (Console, error) {
	var (
		c                Console
		created, updated int64
	)
	if err := sc.Scan(&c.ID, &c.UserID, &c.Name, &c.Layout, &c.Version, &created, &updated); err != nil {
		return Console{}, err
	}
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return c, nil
}

// Consoles lists user id's consoles by ID.
func (s *Store) Consoles(ctx context.Context, userID int64) ([]Console, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+consoleColumns+` FROM consoles WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("consoles of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []Console{}
	for rows.Next() {
		c, err := scanConsole(rows)
		if err != nil {
			return nil, fmt.Errorf("consoles of user %d: %w", userID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consoles of user %d: %w", userID, err)
	}
	return out, nil
}

// Console returns the console id of user userID; ErrNotFound when there
// is none or it is someone else's.
func (s *Store) Console(ctx context.Context, userID, id int64) (Console, error) {
	c, err := scanConsole(s.r.QueryRowContext(ctx, `SELECT `+consoleColumns+` FROM consoles WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return Console{}, fmt.Errorf("console %d: %w", id, mapErr(err))
	}
	return c, nil
}

// CreateConsole inserts c (version 1) and returns it; ErrInvalid when the
// user has MaxConsoles already.
func (s *Store) CreateConsole(ctx context.Context, c Console) (Console, error) {
	now := fromMillis(millis(time.Now()))
	c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM consoles WHERE user_id = ?`, c.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxConsoles {
			return fmt.Errorf("at most %d consoles per user: %w", MaxConsoles, ErrInvalid)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO consoles (user_id, name, layout, version, created_at, updated_at)
			VALUES (?, ?, ?, 1, ?, ?)`, c.UserID, c.Name, c.Layout, now.UnixMilli(), now.UnixMilli())
		if err != nil {
			return mapErr(err)
		}
		c.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return Console{}, fmt.Errorf("create console for user %d: %w", c.UserID, err)
	}
	return c, nil
}

// UpdateConsole saves a new name and layout for console c.ID of user
// c.UserID if its stored version is still version, and returns it with
// the next version. ErrNotFound when there is no such console of the
// user, ErrStale when another save came first.
func (s *Store) UpdateConsole(ctx context.Context, c Console, version int64) (Console, error) {
	now := fromMillis(millis(time.Now()))
	var out Console
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanConsole(tx.QueryRowContext(ctx, `SELECT `+consoleColumns+` FROM consoles WHERE id = ? AND user_id = ?`, c.ID, c.UserID))
		if err != nil {
			return mapErr(err)
		}
		if cur.Version != version {
			return ErrStale
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consoles SET name = ?, layout = ?, version = version + 1, updated_at = ? WHERE id = ?`,
			c.Name, c.Layout, now.UnixMilli(), c.ID); err != nil {
			return mapErr(err)
		}
		out = cur
		out.Name, out.Layout, out.Version, out.UpdatedAt = c.Name, c.Layout, cur.Version+1, now
		return nil
	})
	if err != nil {
		return Console{}, fmt.Errorf("update console %d: %w", c.ID, err)
	}
	return out, nil
}

// DeleteConsole deletes console id of user userID; ErrNotFound when there
// is none.
func (s *Store) DeleteConsole(ctx context.Context, userID, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM consoles WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete console %d: %w", id, mapErr(err))
	}
	if err := affectedOne(res); err != nil {
		return fmt.Errorf("delete console %d: %w", id, err)
	}
	return nil
}

// Favourite is one entry of a user's favourites (SPEC C6): a user (by ID),
// a queue (by number) or a number to dial, with the user's own label.
type Favourite struct {
	Kind   string `json:"kind"` // user | queue | number
	Target string `json:"target"`
	Label  string `json:"label"`
}

// Favourite and recent kinds.
const (
	FavouriteUser   = "user"
	FavouriteQueue  = "queue"
	FavouriteNumber = "number"
)

// MaxFavourites bounds a user's favourites.
const MaxFavourites = 100

// Favourites returns user id's favourites in their order.
func (s *Store) Favourites(ctx context.Context, userID int64) ([]Favourite, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, target, label FROM favourites WHERE user_id = ? ORDER BY position`, userID)
	if err != nil {
		return nil, fmt.Errorf("favourites of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []Favourite{}
	for rows.Next() {
		var f Favourite
		if err := rows.Scan(&f.Kind, &f.Target, &f.Label); err != nil {
			return nil, fmt.Errorf("favourites of user %d: %w", userID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("favourites of user %d: %w", userID, err)
	}
	return out, nil
}

// SetFavourites replaces user id's favourites; ErrInvalid for more than
// MaxFavourites or an unknown kind. Whether targets exist is the caller's
// business: a favourite may outlive the user or queue it names.
func (s *Store) SetFavourites(ctx context.Context, userID int64, fs []Favourite) error {
	if len(fs) > MaxFavourites {
		return fmt.Errorf("favourites of user %d: at most %d: %w", userID, MaxFavourites, ErrInvalid)
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM favourites WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for i, f := range fs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO favourites (user_id, position, kind, target, label) VALUES (?, ?, ?, ?, ?)`,
				userID, i, f.Kind, f.Target, f.Label); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("favourites of user %d: %w", userID, err)
	}
	return nil
}

// Recent is a target a user transferred, consulted or called to through
// the API, the last time they did.
type Recent struct {
	Kind   string    `json:"kind"` // user | queue | number
	Target string    `json:"target"`
	Action string    `json:"action"` // transfer | consult | call
	UsedAt time.Time `json:"used_at"`
}

// MaxRecents is how many distinct recent targets a user keeps.
const MaxRecents = 20

// AddRecent records that user r used target (the newest of its kind and
// target), and forgets the oldest past MaxRecents.
func (s *Store) AddRecent(ctx context.Context, userID int64, r Recent) error {
	if r.UsedAt.IsZero() {
		r.UsedAt = time.Now()
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recents (user_id, kind, target, action, used_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id, kind, target) DO UPDATE SET action = excluded.action, used_at = excluded.used_at`,
			userID, r.Kind, r.Target, r.Action, r.UsedAt.UnixMilli()); err != nil {
			return mapErr(err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM recents WHERE user_id = ? AND rowid NOT IN
			(SELECT rowid FROM recents WHERE user_id = ? ORDER BY used_at DESC, rowid DESC LIMIT ?)`, userID, userID, MaxRecents)
		return err
	})
	if err != nil {
		return fmt.Errorf("recent target of user %d: %w", userID, err)
	}
	return nil
}

// Recents returns user id's recent targets, newest first.
func (s *Store) Recents(ctx context.Context, userID int64) ([]Recent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, target, action, used_at FROM recents WHERE user_id = ?
		ORDER BY used_at DESC, rowid DESC LIMIT ?`, userID, MaxRecents)
	if err != nil {
		return nil, fmt.Errorf("recents of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []Recent{}
	for rows.Next() {
		var (
			r  Recent
			at int64
		)
		if err := rows.Scan(&r.Kind, &r.Target, &r.Action, &at); err != nil {
			return nil, fmt.Errorf("recents of user %d: %w", userID, err)
		}
		r.UsedAt = time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recents of user %d: %w", userID, err)
	}
	return out, nil
}
