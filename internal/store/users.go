package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Role is a user's role in the organisation.
type Role string

// Roles.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
	RoleOperator   Role = "operator"
)

// Valid reports whether r is one of the declared roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleSupervisor, RoleAgent, RoleOperator:
		return true
	}
	return false
}

// User is a person who logs in to the console and owns an extension.
type User struct {
	ID           int64
	Username     string
	DisplayName  string
	Role         Role
	PasswordHash string // bcrypt
	CreatedAt    time.Time
}

// CreateUser inserts u and returns it with its ID; ErrConflict on a taken username.
// A zero CreatedAt is set to now.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	if u.Username == "" {
		return User{}, fmt.Errorf("create user: empty username: %w", ErrInvalid)
	}
	if !u.Role.Valid() {
		return User{}, fmt.Errorf("create user %q: role %q: %w", u.Username, u.Role, ErrInvalid)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	u.CreatedAt = fromMillis(millis(u.CreatedAt)) // as it will read back
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.Username, u.DisplayName, string(u.Role), u.PasswordHash, u.CreatedAt.UnixMilli())
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", u.Username, mapErr(err))
	}
	if u.ID, err = res.LastInsertId(); err != nil {
		return User{}, fmt.Errorf("create user %q: %w", u.Username, err)
	}
	return u, nil
}

// UserByUsername looks a user up.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", username, mapErr(err))
	}
	return u, nil
}

// UserByID looks a user up by ID.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return User{}, fmt.Errorf("user %d: %w", id, mapErr(err))
	}
	return u, nil
}

const userColumns = `id, username, display_name, role, password_hash, created_at`

func scanUser(sc scanner) (User, error) {
	var (
		u       User
		role    string
		created int64
	)
	if err := sc.Scan(&u.ID, &u.Username, &u.DisplayName, &role, &u.PasswordHash, &created); err != nil {
		return User{}, err
	}
	u.Role = Role(role)
	u.CreatedAt = time.UnixMilli(created).UTC()
	return u, nil
}

// Users lists all users ordered by ID.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// UpdateUser changes the user with the given ID in one transaction: fn
// receives the stored user and edits it; its display name, role and
// password hash are then written back (ID, username and creation time do
// not change). An error from fn aborts the update and is returned wrapped.
// ErrNotFound when there is no such user, ErrInvalid on an unknown role.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*User) error) (User, error) {
	var u User
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		if err != nil {
			return mapErr(err)
		}
		orig := u
		if err := fn(&u); err != nil {
			return err
		}
		u.ID, u.Username, u.CreatedAt = orig.ID, orig.Username, orig.CreatedAt
		if !u.Role.Valid() {
			return fmt.Errorf("role %q: %w", u.Role, ErrInvalid)
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET display_name = ?, role = ?, password_hash = ? WHERE id = ?`,
			u.DisplayName, string(u.Role), u.PasswordHash, id)
		return mapErr(err)
	})
	if err != nil {
		return User{}, fmt.Errorf("update user %d: %w", id, err)
	}
	return u, nil
}

// DeleteUser deletes a user; ErrNotFound when there is none. The user's
// sessions and API tokens go with it; extensions it owned stay, unowned.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete user %d: %w", id, mapErr(err))
	}
	if err := affectedOne(res); err != nil {
		return fmt.Errorf("delete user %d: %w", id, err)
	}
	return nil
}

// affectedOne returns ErrNotFound when res changed no row.
func affectedOne(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
