package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TokenKind tells a login session from a long-lived API token.
type TokenKind string

// Token kinds.
const (
	TokenSession TokenKind = "session"
	TokenAPI     TokenKind = "api"
)

// AuthToken is a session or API token; the secret itself is never stored,
// only its hash.
type AuthToken struct {
	ID         int64
	TokenHash  string
	UserID     int64
	Kind       TokenKind
	Name       string // API tokens: what the user called it
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time // zero: no expiry (API tokens only)
}

// CreateAuthToken inserts t and returns it with its ID.
func (s *Store) CreateAuthToken(ctx context.Context, t AuthToken) (AuthToken, error) {
	if t.TokenHash == "" || t.UserID == 0 || (t.Kind != TokenSession && t.Kind != TokenAPI) {
		return AuthToken{}, fmt.Errorf("create auth token: %w", ErrInvalid)
	}
	now := time.Now()
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if t.LastUsedAt.IsZero() {
		t.LastUsedAt = t.CreatedAt
	}
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO auth_tokens (token_hash, user_id, kind, name, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.TokenHash, t.UserID, string(t.Kind), t.Name, t.CreatedAt.UnixMilli(), t.LastUsedAt.UnixMilli(), millis(t.ExpiresAt))
	if err != nil {
		return AuthToken{}, fmt.Errorf("create auth token for user %d: %w", t.UserID, mapErr(err))
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return AuthToken{}, fmt.Errorf("create auth token: %w", err)
	}
	return t, nil
}

const authTokenColumns = `id, token_hash, user_id, kind, name, created_at, last_used_at, expires_at`

func scanAuthToken(sc scanner) (AuthToken, error) {
	var (
		t             AuthToken
		kind          string
		created, used int64
		expires       sql.NullInt64
	)
	if err := sc.Scan(&t.ID, &t.TokenHash, &t.UserID, &kind, &t.Name, &created, &used, &expires); err != nil {
		return AuthToken{}, err
	}
	t.Kind = TokenKind(kind)
	t.CreatedAt, t.LastUsedAt = time.UnixMilli(created).UTC(), time.UnixMilli(used).UTC()
	t.ExpiresAt = fromMillis(expires)
	return t, nil
}

// AuthTokenByHash returns the unexpired token with that hash at now.
func (s *Store) AuthTokenByHash(ctx context.Context, hash string, now time.Time) (AuthToken, error) {
	t, err := scanAuthToken(s.r.QueryRowContext(ctx, `SELECT `+authTokenColumns+` FROM auth_tokens
		 WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)`, hash, now.UnixMilli()))
	if err != nil {
		return AuthToken{}, fmt.Errorf("auth token: %w", mapErr(err))
	}
	return t, nil
}

// TouchAuthToken records a use and moves a session's expiry (sliding idle timeout).
func (s *Store) TouchAuthToken(ctx context.Context, id int64, used, expires time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE auth_tokens SET last_used_at = ?, expires_at = ? WHERE id = ?`,
		used.UnixMilli(), millis(expires), id)
	if err != nil {
		return fmt.Errorf("touch auth token %d: %w", id, mapErr(err))
	}
	return nil
}

// DeleteAuthToken removes a token by hash (logout); ErrNotFound if none.
func (s *Store) DeleteAuthToken(ctx context.Context, hash string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM auth_tokens WHERE token_hash = ?`, hash)
	if err != nil {
		return fmt.Errorf("delete auth token: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete auth token: %w", ErrNotFound)
	}
	return nil
}

// DeleteUserAuthToken removes one of a user's tokens by ID; ErrNotFound if
// the user has no such token.
func (s *Store) DeleteUserAuthToken(ctx context.Context, userID, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM auth_tokens WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete auth token %d: %w", id, mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete auth token %d: %w", id, ErrNotFound)
	}
	return nil
}

// AuthTokens lists a user's tokens of a kind, newest first.
func (s *Store) AuthTokens(ctx context.Context, userID int64, kind TokenKind) ([]AuthToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+authTokenColumns+` FROM auth_tokens
		 WHERE user_id = ? AND kind = ? ORDER BY id DESC`, userID, string(kind))
	if err != nil {
		return nil, fmt.Errorf("auth tokens of user %d: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []AuthToken
	for rows.Next() {
		t, err := scanAuthToken(rows)
		if err != nil {
			return nil, fmt.Errorf("auth tokens of user %d: %w", userID, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteExpiredAuthTokens removes tokens expired at now and returns how many.
func (s *Store) DeleteExpiredAuthTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM auth_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired auth tokens: %w", mapErr(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DeleteUserSessions ends a user's login sessions except keep (0 keeps
// none), e.g. after a password change; API tokens are not touched.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, keep int64) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM auth_tokens WHERE user_id = ? AND kind = 'session' AND id != ?`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("end sessions of user %d: %w", userID, mapErr(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}
