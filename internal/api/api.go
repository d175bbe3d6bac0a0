// Package api serves Switchboard's HTTP API. This first cut is the
// operator's minimum for the PBX: live calls with hold/resume/hangup, CDRs,
// registrations and the event stream, for administrators authenticated
// with HTTP Basic against the users table. Sessions, tokens, roles per
// action and the full resource set come with the API issue.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// Store is what the API reads.
type Store interface {
	UserByUsername(ctx context.Context, username string) (store.User, error)
	CDRs(ctx context.Context, limit int) ([]store.CDR, error)
}

// Server is the HTTP handler.
type Server struct {
	mux   *http.ServeMux
	st    Store
	calls *call.Manager
	bus   *events.Bus
	log   *slog.Logger
	auth  *basicAuth
}

// New builds the routes.
func New(st Store, calls *call.Manager, bus *events.Bus, log *slog.Logger) *Server {
	s := &Server{mux: http.NewServeMux(), st: st, calls: calls, bus: bus, log: log.With("component", "api"),
		auth: &basicAuth{st: st, cache: map[[32]byte]cachedUser{}}}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /api/calls", s.admin(s.listCalls))
	s.mux.HandleFunc("POST /api/calls/{id}/hold", s.admin(s.holdCall))
	s.mux.HandleFunc("POST /api/calls/{id}/resume", s.admin(s.resumeCall))
	s.mux.HandleFunc("POST /api/calls/{id}/hangup", s.admin(s.hangupCall))
	s.mux.HandleFunc("GET /api/cdrs", s.admin(s.listCDRs))
	s.mux.HandleFunc("GET /api/events", s.admin(s.streamEvents))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiError is the JSON error body: a stable code and a message.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "active_calls": s.calls.Active()})
}

func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := s.auth.check(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "valid credentials are required")
			return
		}
		if u.Role != store.RoleAdmin {
			writeError(w, http.StatusForbidden, "forbidden", "this action needs the admin role")
			return
		}
		h(w, r)
	}
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"calls": s.calls.Calls()})
}

func (s *Server) callOp(w http.ResponseWriter, r *http.Request, op func(*call.Call) error) {
	c, err := s.calls.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "call_not_found", err.Error())
		return
	}
	if err := op(c); err != nil {
		if errors.Is(err, call.ErrNotAnswered) {
			writeError(w, http.StatusConflict, "call_not_answered", err.Error())
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, c.Info())
}

func (s *Server) holdCall(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Party string `json:"party"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", err.Error())
		return
	}
	s.callOp(w, r, func(c *call.Call) error { return c.Hold(body.Party) })
}

func (s *Server) resumeCall(w http.ResponseWriter, r *http.Request) {
	s.callOp(w, r, func(c *call.Call) error { return c.Resume() })
}

func (s *Server) hangupCall(w http.ResponseWriter, r *http.Request) {
	s.callOp(w, r, func(c *call.Call) error { c.Hangup(); return nil })
}

func (s *Server) listCDRs(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "invalid_limit", "limit must be 1..10000")
			return
		}
		limit = n
	}
	cdrs, err := s.st.CDRs(r.Context(), limit)
	if err != nil {
		s.log.Error("list cdrs", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read CDRs")
		return
	}
	out := make([]cdrView, len(cdrs))
	for i, c := range cdrs {
		out[i] = newCDRView(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cdrs": out})
}

// cdrView is a CDR as the API shows it.
type cdrView struct {
	ID          int64      `json:"id"`
	CallID      string     `json:"call_id"`
	Direction   string     `json:"direction"`
	From        string     `json:"from"`
	FromName    string     `json:"from_name,omitempty"`
	To          string     `json:"to"`
	Target      string     `json:"target"`
	Trunk       string     `json:"trunk,omitempty"`
	AnsweredBy  string     `json:"answered_by,omitempty"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	EndedAt     time.Time  `json:"ended_at"`
	Disposition string     `json:"disposition"`
	SIPCode     int        `json:"sip_code"`
	HangupBy    string     `json:"hangup_by"`
	Reason      string     `json:"reason,omitempty"`
}

func newCDRView(c store.CDR) cdrView {
	v := cdrView{ID: c.ID, CallID: c.CallID, Direction: c.Direction, From: c.From, FromName: c.FromName, To: c.To,
		Target: c.Target, Trunk: c.Trunk, AnsweredBy: c.AnsweredBy, StartedAt: c.StartedAt, EndedAt: c.EndedAt,
		Disposition: string(c.Disposition), SIPCode: c.SIPCode, HangupBy: c.HangupBy, Reason: c.Reason}
	if !c.AnsweredAt.IsZero() {
		t := c.AnsweredAt
		v.AnsweredAt = &t
	}
	return v
}

// streamEvents is a Server-Sent Events stream; a client resumes with
// Last-Event-ID (or ?since=) and is told to take a snapshot when the
// history no longer reaches back that far.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	since := uint64(0)
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("since")
	}
	if v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_since", "since must be a sequence number")
			return
		}
		since = n
	}
	sub, err := s.bus.Subscribe(since, 1024)
	if errors.Is(err, events.ErrTooOld) {
		writeError(w, http.StatusGone, "resume_too_old", "events since that sequence are gone; fetch a snapshot and subscribe without since")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	defer sub.Close()
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	enc := json.NewEncoder(w)
	for {
		select {
		case e := <-sub.C():
			if _, err := w.Write([]byte("id: " + strconv.FormatUint(e.Seq, 10) + "\nevent: " + string(e.Type) + "\ndata: ")); err != nil {
				return
			}
			if err := enc.Encode(e); err != nil { // Encode ends with '\n'
				return
			}
			if _, err := w.Write([]byte("\n")); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-keepalive.C:
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-sub.Done():
			return // cut off as a slow consumer
		case <-r.Context().Done():
			return
		}
	}
}

// basicAuth checks HTTP Basic credentials against bcrypt hashes, caching a
// success for a minute so a polling client does not cost a bcrypt each time.
type basicAuth struct {
	st    Store
	mu    sync.Mutex
	cache map[[32]byte]cachedUser
}

type cachedUser struct {
	user    store.User
	expires time.Time
}

var errBadCredentials = errors.New("bad credentials")

func (a *basicAuth) check(r *http.Request) (store.User, error) {
	name, pass, ok := r.BasicAuth()
	if !ok || len(name) > 128 || len(pass) > 128 {
		return store.User{}, errBadCredentials
	}
	key := sha256.Sum256([]byte(name + "\x00" + pass))
	now := time.Now()
	a.mu.Lock()
	if c, ok := a.cache[key]; ok && now.Before(c.expires) {
		a.mu.Unlock()
		return c.user, nil
	}
	a.mu.Unlock()
	u, err := a.st.UserByUsername(r.Context(), name)
	if err != nil {
		return store.User{}, errBadCredentials
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pass)) != nil {
		return store.User{}, errBadCredentials
	}
	a.mu.Lock()
	if len(a.cache) > 1000 {
		clear(a.cache)
	}
	a.cache[key] = cachedUser{user: u, expires: now.Add(time.Minute)}
	a.mu.Unlock()
	return u, nil
}
