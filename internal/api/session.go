package api

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// sessionCookie carries the console's session: HTTP-only (no script can
// read it) and SameSite=Strict (no other site can send it).
const sessionCookie = "switchboard_session"

type handlerWithPrincipal func(http.ResponseWriter, *http.Request, auth.Principal)

// authed resolves the caller from "Authorization: Bearer" or the session
// cookie. A cookie-authenticated request that changes state must come from
// our own origin: SameSite covers browsers that honour it, the Origin check
// the rest (CSRF).
func (s *Server) authed(h handlerWithPrincipal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, viaCookie, ok := s.principal(w, r)
		if !ok {
			return
		}
		if viaCookie && r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			writeError(w, http.StatusForbidden, "cross_origin", "state-changing requests with a session cookie must come from this origin")
			return
		}
		h(w, r, p)
	}
}

// principal authenticates r by bearer token or session cookie. When it
// fails it has answered (401, or 500 if the store failed) and ok is false.
func (s *Server) principal(w http.ResponseWriter, r *http.Request) (p auth.Principal, viaCookie, ok bool) {
	token := bearer(r)
	if token == "" {
		if c, err := r.Cookie(sessionCookie); err == nil {
			token, viaCookie = c.Value, true
		}
	}
	p, err := s.auth.Authenticate(r.Context(), token)
	if err != nil {
		if !errors.Is(err, auth.ErrUnauthenticated) {
			s.log.Error("authenticate", "error", err)
			writeError(w, http.StatusInternalServerError, "internal", "authentication failed")
			return p, viaCookie, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "log in first (POST /api/login) or send a bearer token")
		return p, viaCookie, false
	}
	return p, viaCookie, true
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers send Origin on cross-origin POSTs; its absence means a
		// same-origin navigation or a non-browser client.
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

type userView struct {
	ID          int64      `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Role        store.Role `json:"role"`
}

func newUserView(u store.User) userView {
	return userView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !decode(w, r, &body) {
		return
	}
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	sess, err := s.auth.Login(r.Context(), body.Username, body.Password, source)
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		w.Header().Set("Retry-After", "900")
		writeError(w, http.StatusTooManyRequests, "rate_limited", err.Error())
		return
	case errors.Is(err, auth.ErrBadCredentials):
		writeError(w, http.StatusUnauthorized, "invalid_credentials", err.Error())
		return
	case err != nil:
		s.log.Error("login", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "login failed")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, Expires: sess.ExpiresAt})
	writeJSON(w, http.StatusOK, map[string]any{"token": sess.Token, "expires_at": sess.ExpiresAt, "user": newUserView(sess.User)})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	token := bearer(r)
	if token == "" {
		if c, err := r.Cookie(sessionCookie); err == nil {
			token = c.Value
		}
	}
	if err := s.auth.Logout(r.Context(), token); err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
		s.log.Error("logout", "error", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

type tokenView struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	Token      string    `json:"token,omitempty"` // only in the response that creates it
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	ts, err := s.st.AuthTokens(r.Context(), p.User.ID, store.TokenAPI)
	if err != nil {
		s.log.Error("list tokens", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not list tokens")
		return
	}
	out := make([]tokenView, len(ts))
	for i, t := range ts {
		out[i] = tokenView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Name = strings.TrimSpace(body.Name); body.Name == "" || len(body.Name) > 64 {
		writeError(w, http.StatusBadRequest, "invalid_name", "name must be 1 to 64 characters")
		return
	}
	secret, t, err := s.auth.CreateAPIToken(r.Context(), p.User.ID, body.Name)
	if err != nil {
		s.log.Error("create token", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not create the token")
		return
	}
	writeJSON(w, http.StatusCreated, tokenView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, Token: secret})
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_id", "token id must be a number")
		return
	}
	if err := s.st.DeleteUserAuthToken(r.Context(), p.User.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "token_not_found", "you have no token with that id")
			return
		}
		s.log.Error("delete token", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not delete the token")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// changePassword lets users change their own console password: the current
// one is checked under the login limits, and every other session of the
// user ends (the one making the change stays).
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if !decode(w, r, &body) {
		return
	}
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	if _, err := s.auth.CheckPassword(r.Context(), p.User.Username, body.Current, source); err != nil {
		switch {
		case errors.Is(err, auth.ErrRateLimited):
			w.Header().Set("Retry-After", "900")
			writeError(w, http.StatusTooManyRequests, "rate_limited", err.Error())
		case errors.Is(err, auth.ErrBadCredentials):
			writeError(w, http.StatusForbidden, "wrong_password", "the current password is wrong")
		default:
			s.log.Error("change password", "error", err)
			writeError(w, http.StatusInternalServerError, "internal", "could not check the password")
		}
		return
	}
	hash, fe := hashConsolePassword(body.New)
	if fe != nil {
		fe.field = "new_password"
		writeFieldError(w, fe)
		return
	}
	if _, err := s.st.UpdateUser(r.Context(), p.User.ID, func(u *store.User) error {
		u.PasswordHash = hash
		return nil
	}); err != nil {
		s.log.Error("change password", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not change the password")
		return
	}
	if _, err := s.st.DeleteUserSessions(r.Context(), p.User.ID, p.TokenID); err != nil {
		s.log.Error("ending other sessions", "user_id", p.User.ID, "error", err)
	}
	s.log.Info("password changed", "user", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}
