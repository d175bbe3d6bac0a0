// Package auth authenticates people and scripts: username/password login
// with bcrypt, sessions (cookie for the console, bearer for integrations)
// with idle and absolute expiry, per-user API tokens, and rate limits on
// failed logins per user and per source. Secrets are random 256-bit values
// of which only a SHA-256 is stored.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/store"
)

// Store is what authentication reads and writes.
type Store interface {
	UserByUsername(ctx context.Context, username string) (store.User, error)
	UserByID(ctx context.Context, id int64) (store.User, error)
	CreateAuthToken(ctx context.Context, t store.AuthToken) (store.AuthToken, error)
	AuthTokenByHash(ctx context.Context, hash string, now time.Time) (store.AuthToken, error)
	TouchAuthToken(ctx context.Context, id int64, used, expires time.Time) error
	DeleteAuthToken(ctx context.Context, hash string) error
	DeleteExpiredAuthTokens(ctx context.Context, now time.Time) (int64, error)
	ExtensionsOfUser(ctx context.Context, userID int64) ([]store.Extension, error)
	UserFollowScope(ctx context.Context, userID int64) (store.FollowScope, error)
}

// Errors callers map to API responses.
var (
	ErrBadCredentials  = errors.New("wrong username or password")
	ErrRateLimited     = errors.New("too many failed logins; try again later")
	ErrUnauthenticated = errors.New("not authenticated")
)

// Config tunes authentication.
type Config struct {
	// SessionIdle ends a session unused for this long. Default 8h.
	SessionIdle time.Duration
	// SessionMax ends a session this long after login regardless. Default 24h.
	SessionMax time.Duration
	// UserFailures failed logins per username within FailWindow lock that
	// username (from every source) until the window passes. Default 5.
	UserFailures int
	// SourceFailures failed logins per source IP within FailWindow lock that
	// source out. Default 20.
	SourceFailures int
	// FailWindow is the window of both limits. Default 15m.
	FailWindow time.Duration
	Logger     *slog.Logger
}

func (c *Config) defaults() {
	if c.SessionIdle == 0 {
		c.SessionIdle = 8 * time.Hour
	}
	if c.SessionMax == 0 {
		c.SessionMax = 24 * time.Hour
	}
	if c.UserFailures == 0 {
		c.UserFailures = 5
	}
	if c.SourceFailures == 0 {
		c.SourceFailures = 20
	}
	if c.FailWindow == 0 {
		c.FailWindow = 15 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Service is the authentication service.
type Service struct {
	cfg     Config
	st      Store
	log     *slog.Logger
	users   *windowCounter
	sources *windowCounter
	now     func() time.Time
}

// dummyHash is compared against when the user does not exist, so a login
// for an unknown name takes as long as one with a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)
	return h
})

// New returns a Service.
func New(cfg Config, st Store) *Service {
	cfg.defaults()
	return &Service{cfg: cfg, st: st, log: cfg.Logger.With("component", "auth"),
		users: newWindowCounter(cfg.FailWindow), sources: newWindowCounter(cfg.FailWindow),
		now: time.Now}
}

// Principal is who is making a request.
type Principal struct {
	User       store.User
	Extensions []string // numbers of the extensions the user owns
	TokenID    int64
	Kind       store.TokenKind
	// Follows narrows an operator's view of and control over other
	// people's calls to those touching the followed users' extensions or
	// queues (SPEC X2); nil when not narrowed: not an operator, or an
	// operator who follows nobody.
	Follows *store.FollowScope
}

// Session is the result of a login: the secret to hand to the client once.
type Session struct {
	Token     string
	ExpiresAt time.Time
	User      store.User
}

// Login checks a username and password from source (an IP) and opens a
// session. Failures are counted per username and per source; past either
// limit it returns ErrRateLimited without checking the password.
func (s *Service) Login(ctx context.Context, username, password, source string) (Session, error) {
	u, err := s.CheckPassword(ctx, username, password, source)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	token, hashHex, err := newSecret()
	if err != nil {
		return Session{}, err
	}
	exp := now.Add(min(s.cfg.SessionIdle, s.cfg.SessionMax))
	if _, err := s.st.CreateAuthToken(ctx, store.AuthToken{TokenHash: hashHex, UserID: u.ID, Kind: store.TokenSession,
		CreatedAt: now, ExpiresAt: exp}); err != nil {
		return Session{}, fmt.Errorf("login %s: %w", username, err)
	}
	s.log.Info("login", "user", u.Username, "source", source)
	return Session{Token: token, ExpiresAt: exp, User: u}, nil
}

// CheckPassword verifies a user's password under the same failure limits
// as Login (a stolen session must not become a password oracle), without
// opening a session.
func (s *Service) CheckPassword(ctx context.Context, username, password, source string) (store.User, error) {
	if len(username) > 128 || len(password) > 256 {
		return store.User{}, ErrBadCredentials
	}
	now := s.now()
	userKey := strings.ToLower(username)
	if s.users.count(userKey, now) >= s.cfg.UserFailures || s.sources.count(source, now) >= s.cfg.SourceFailures {
		s.log.Warn("login refused: rate limited", "user", username, "source", source)
		return store.User{}, ErrRateLimited
	}
	u, err := s.st.UserByUsername(ctx, username)
	hash := []byte(u.PasswordHash)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return store.User{}, fmt.Errorf("check password: %w", err)
		}
		hash = dummyHash()
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || err != nil {
		s.users.add(userKey, now)
		s.sources.add(source, now)
		s.log.Info("password check failed", "user", username, "source", source)
		return store.User{}, ErrBadCredentials
	}
	s.users.reset(userKey)
	return u, nil
}

// CreateAPIToken issues a named, non-expiring API token for a user; the
// secret is returned once and never stored.
func (s *Service) CreateAPIToken(ctx context.Context, userID int64, name string) (string, store.AuthToken, error) {
	token, hashHex, err := newSecret()
	if err != nil {
		return "", store.AuthToken{}, err
	}
	t, err := s.st.CreateAuthToken(ctx, store.AuthToken{TokenHash: hashHex, UserID: userID, Kind: store.TokenAPI,
		Name: name, CreatedAt: s.now()})
	if err != nil {
		return "", store.AuthToken{}, fmt.Errorf("create api token: %w", err)
	}
	return token, t, nil
}

// Authenticate resolves a session or API token to its user. Sessions slide
// their idle expiry (bounded by the absolute maximum).
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > 128 {
		return Principal{}, ErrUnauthenticated
	}
	now := s.now()
	t, err := s.st.AuthTokenByHash(ctx, hashToken(token), now)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	u, err := s.st.UserByID(ctx, t.UserID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	// Record use at most once a minute: a polling client must not turn
	// every request into a database write.
	if now.Sub(t.LastUsedAt) > time.Minute {
		exp := t.ExpiresAt
		if t.Kind == store.TokenSession {
			exp = minTime(now.Add(s.cfg.SessionIdle), t.CreatedAt.Add(s.cfg.SessionMax))
		}
		if err := s.st.TouchAuthToken(ctx, t.ID, now, exp); err != nil {
			s.log.Warn("touch session failed", "error", err)
		}
	}
	exts, err := s.st.ExtensionsOfUser(ctx, u.ID)
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	p := Principal{User: u, TokenID: t.ID, Kind: t.Kind}
	for _, e := range exts {
		p.Extensions = append(p.Extensions, e.Number)
	}
	if u.Role == store.RoleOperator {
		sc, err := s.st.UserFollowScope(ctx, u.ID)
		if err != nil {
			return Principal{}, fmt.Errorf("authenticate: %w", err)
		}
		if !sc.Empty {
			p.Follows = &sc
		}
	}
	return p, nil
}

// Logout ends the session (or revokes the API token) with this secret.
func (s *Service) Logout(ctx context.Context, token string) error {
	if err := s.st.DeleteAuthToken(ctx, hashToken(token)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrUnauthenticated
		}
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// PurgeExpired deletes expired sessions; call it periodically.
func (s *Service) PurgeExpired(ctx context.Context) {
	if n, err := s.st.DeleteExpiredAuthTokens(ctx, s.now()); err != nil {
		s.log.Warn("purging expired sessions failed", "error", err)
	} else if n > 0 {
		s.log.Debug("expired sessions purged", "count", n)
	}
}

func newSecret() (token, hashHex string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("random token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
