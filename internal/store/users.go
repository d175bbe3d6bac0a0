package store

import (
	"context"
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
