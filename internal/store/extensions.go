package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Extension is a dialable internal number with SIP credentials.
type Extension struct {
	ID          int64
	Number      string // "1001"; also the SIP username
	UserID      int64  // 0 when not owned by a user
	DisplayName string
	// HA1 is MD5(username ":" realm ":" password), the stored digest secret
	// (RFC 2617 §3.2.2.2); HA1SHA256 the same with SHA-256 (RFC 7616).
	HA1       string
	HA1SHA256 string
	Realm     string
}

const extensionColumns = `id, number, user_id, display_name, ha1, ha1_sha256, realm`

// CreateExtension inserts e; ErrConflict on a taken number (by an extension
// or a queue), ErrNotFound when UserID names no user.
func (s *Store) CreateExtension(ctx context.Context, e Extension) (Extension, error) {
	if e.Number == "" {
		return Extension{}, fmt.Errorf("create extension: empty number: %w", ErrInvalid)
	}
	if e.Realm == "" {
		return Extension{}, fmt.Errorf("create extension %s: empty realm: %w", e.Number, ErrInvalid)
	}
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO extensions (number, user_id, display_name, ha1, ha1_sha256, realm) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Number, nullID(e.UserID), e.DisplayName, e.HA1, e.HA1SHA256, e.Realm)
	if err != nil {
		err = mapErr(err)
		if errors.Is(err, ErrNotFound) {
			return Extension{}, fmt.Errorf("create extension %s: user %d: %w", e.Number, e.UserID, ErrNotFound)
		}
		return Extension{}, fmt.Errorf("create extension %s: %w", e.Number, err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return Extension{}, fmt.Errorf("create extension %s: %w", e.Number, err)
	}
	return e, nil
}

// ExtensionByNumber looks an extension up by its number.
func (s *Store) ExtensionByNumber(ctx context.Context, number string) (Extension, error) {
	e, err := scanExtension(s.extByNumber.QueryRowContext(ctx, number))
	if err != nil {
		return Extension{}, fmt.Errorf("extension %s: %w", number, mapErr(err))
	}
	return e, nil
}

// Extensions lists all extensions ordered by number.
func (s *Store) Extensions(ctx context.Context) ([]Extension, error) {
	return s.queryExtensions(ctx, `SELECT `+extensionColumns+` FROM extensions ORDER BY number`)
}

// ExtensionsOfUser lists the extensions a user owns, ordered by number.
func (s *Store) ExtensionsOfUser(ctx context.Context, userID int64) ([]Extension, error) {
	return s.queryExtensions(ctx, `SELECT `+extensionColumns+` FROM extensions WHERE user_id = ? ORDER BY number`, userID)
}

func (s *Store) queryExtensions(ctx context.Context, query string, args ...any) ([]Extension, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list extensions: %w", err)
	}
	defer rows.Close()
	var es []Extension
	for rows.Next() {
		e, err := scanExtension(rows)
		if err != nil {
			return nil, fmt.Errorf("list extensions: %w", err)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list extensions: %w", err)
	}
	return es, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

func scanExtension(sc scanner) (Extension, error) {
	var (
		e      Extension
		userID sql.NullInt64
	)
	err := sc.Scan(&e.ID, &e.Number, &userID, &e.DisplayName, &e.HA1, &e.HA1SHA256, &e.Realm)
	e.UserID = userID.Int64
	return e, err
}

// UpdateExtension changes the extension with the given number in one
// transaction: fn receives the stored extension and edits it; its display
// name, owner and digest secrets (HA1, HA1SHA256, Realm) are then written
// back (ID and number do not change). An error from fn aborts the update
// and is returned wrapped. ErrNotFound when there is no such extension or
// the new UserID names no user, ErrInvalid on an empty realm.
func (s *Store) UpdateExtension(ctx context.Context, number string, fn func(*Extension) error) (Extension, error) {
	var e Extension
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = scanExtension(tx.QueryRowContext(ctx, `SELECT `+extensionColumns+` FROM extensions WHERE number = ?`, number))
		if err != nil {
			return mapErr(err)
		}
		orig := e
		if err := fn(&e); err != nil {
			return err
		}
		e.ID, e.Number = orig.ID, orig.Number
		if e.Realm == "" {
			return fmt.Errorf("empty realm: %w", ErrInvalid)
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE extensions SET user_id = ?, display_name = ?, ha1 = ?, ha1_sha256 = ?, realm = ? WHERE id = ?`,
			nullID(e.UserID), e.DisplayName, e.HA1, e.HA1SHA256, e.Realm, e.ID)
		if err = mapErr(err); errors.Is(err, ErrNotFound) {
			return fmt.Errorf("user %d: %w", e.UserID, ErrNotFound)
		}
		return err
	})
	if err != nil {
		return Extension{}, fmt.Errorf("update extension %s: %w", number, err)
	}
	return e, nil
}

// DeleteExtension deletes an extension and its queue memberships;
// ErrNotFound when there is none, ErrInUse while a DID routes to it.
func (s *Store) DeleteExtension(ctx context.Context, number string) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if err := refusedByDIDs(ctx, tx, `target_kind = 'extension' AND target = ?`, number); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM extensions WHERE number = ?`, number)
		if err != nil {
			return mapErr(err)
		}
		return affectedOne(res)
	})
	if err != nil {
		return fmt.Errorf("delete extension %s: %w", number, err)
	}
	return nil
}

// refusedByDIDs returns ErrInUse, naming the DIDs, when any DID matches
// the condition where (one placeholder, filled with arg).
func refusedByDIDs(ctx context.Context, tx *sql.Tx, where string, arg any) error {
	rows, err := tx.QueryContext(ctx, `SELECT number FROM dids WHERE `+where+` ORDER BY number`, arg)
	if err != nil {
		return fmt.Errorf("dids: %w", err)
	}
	defer rows.Close()
	var numbers []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("dids: %w", err)
		}
		numbers = append(numbers, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dids: %w", err)
	}
	if len(numbers) > 0 {
		return fmt.Errorf("%w by DID %s", ErrInUse, strings.Join(numbers, ", "))
	}
	return nil
}
