// Package api serves Switchboard's HTTP API: login with sessions (HTTP-only
// cookie for the console, bearer tokens for integrations), per-action
// permissions by role, live calls with hold/resume/hangup, CDRs, and the
// event stream. Every handler answers errors as JSON {code, message} with
// stable codes; a refused action changes nothing.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/presence"
	"github.com/switchboard/switchboard/internal/store"
)

// Store is what the API reads.
type Store interface {
	FindCDRs(ctx context.Context, f store.CDRFilter) ([]store.CDR, error)
	AuthTokens(ctx context.Context, userID int64, kind store.TokenKind) ([]store.AuthToken, error)
	DeleteUserAuthToken(ctx context.Context, userID, id int64) error
	DeleteUserSessions(ctx context.Context, userID, keep int64) (int64, error)
	AdminStore // configuration CRUD: admin.go
	Recordings(ctx context.Context, f store.RecordingFilter) ([]store.Recording, error)
	RecordingByID(ctx context.Context, id string) (store.Recording, error)
	RecordingIDsByCall(ctx context.Context, callIDs []string) (map[string][]string, error)
	RecordingsByCall(ctx context.Context, callIDs []string) (map[string][]store.Recording, error)
	ExtensionsOfUser(ctx context.Context, userID int64) ([]store.Extension, error)
	VoicemailStore // messages and callbacks: voicemails.go
	ConsoleStore   // consoles, favourites, recents: consoles.go
}

// Server is the HTTP handler.
type Server struct {
	mux   *routeMux
	st    Store
	auth  *auth.Service
	calls *call.Manager
	bus   *events.Bus
	log   *slog.Logger
	adm   *adminState // configuration API: admin.go

	supervision QueueSupervision  // who supervises which queue: callcontrol.go
	ws          *wsHub            // the event WebSocket's connections: ws.go
	presence    *presence.Tracker // extensions' presence: directory.go
}

// New builds the routes. opts (at most one) carries the realm and country
// code the configuration API writes extensions and DIDs with.
func New(st Store, authn *auth.Service, calls *call.Manager, bus *events.Bus, log *slog.Logger, opts Options) *Server {
	s := &Server{mux: &routeMux{ServeMux: http.NewServeMux()}, st: st, auth: authn, calls: calls, bus: bus, log: log.With("component", "api")}
	s.adm = newAdminState(opts)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /api/openapi.json", serveOpenAPI)
	s.mux.HandleFunc("POST /api/login", s.login)
	s.mux.HandleFunc("POST /api/logout", s.authed(s.logout))
	s.mux.HandleFunc("GET /api/me", s.authed(s.me))
	s.mux.HandleFunc("GET /api/me/tokens", s.authed(s.listTokens))
	s.mux.HandleFunc("POST /api/me/tokens", s.authed(s.createToken))
	s.mux.HandleFunc("DELETE /api/me/tokens/{id}", s.authed(s.deleteToken))
	s.mux.HandleFunc("PUT /api/me/password", s.authed(s.changePassword))
	s.mux.HandleFunc("GET /api/me/calls", s.authed(s.myCalls))
	s.mux.HandleFunc("GET /api/me/cdrs", s.authed(s.myCDRs))
	s.mux.HandleFunc("GET /api/calls", s.authed(s.listCalls))
	s.mux.HandleFunc("POST /api/calls/{id}/hold", s.authed(s.holdCall))
	s.mux.HandleFunc("POST /api/calls/{id}/resume", s.authed(s.resumeCall))
	s.mux.HandleFunc("POST /api/calls/{id}/hangup", s.authed(s.hangupCall))
	s.registerCallControl()
	s.mux.HandleFunc("GET /api/cdrs", s.authed(s.listCDRs))
	s.mux.HandleFunc("GET /api/interactions", s.authed(s.listInteractions))
	s.mux.HandleFunc("GET /api/events", s.authed(s.streamEvents))
	s.registerWebSocketRoutes()
	s.mux.HandleFunc("GET /api/users", s.adminOnly(s.listUsers))
	s.mux.HandleFunc("POST /api/users", s.adminOnly(s.createUser))
	s.mux.HandleFunc("GET /api/users/{id}", s.adminOnly(s.getUser))
	s.mux.HandleFunc("PATCH /api/users/{id}", s.adminOnly(s.updateUser))
	s.mux.HandleFunc("DELETE /api/users/{id}", s.adminOnly(s.deleteUser))
	s.mux.HandleFunc("GET /api/users/{id}/follows", s.adminOnly(s.getFollows))
	s.mux.HandleFunc("PUT /api/users/{id}/follows", s.adminOnly(s.putFollows))
	s.mux.HandleFunc("GET /api/extensions", s.adminOnly(s.listExtensions))
	s.mux.HandleFunc("POST /api/extensions", s.adminOnly(s.createExtension))
	s.mux.HandleFunc("GET /api/extensions/{number}", s.adminOnly(s.getExtension))
	s.mux.HandleFunc("PATCH /api/extensions/{number}", s.adminOnly(s.updateExtension))
	s.mux.HandleFunc("DELETE /api/extensions/{number}", s.adminOnly(s.deleteExtension))
	s.mux.HandleFunc("GET /api/trunks", s.adminOnly(s.listTrunks))
	s.mux.HandleFunc("POST /api/trunks", s.adminOnly(s.createTrunk))
	s.mux.HandleFunc("GET /api/trunks/{id}", s.adminOnly(s.getTrunk))
	s.mux.HandleFunc("PATCH /api/trunks/{id}", s.adminOnly(s.updateTrunk))
	s.mux.HandleFunc("DELETE /api/trunks/{id}", s.adminOnly(s.deleteTrunk))
	s.mux.HandleFunc("GET /api/dids", s.adminOnly(s.listDIDs))
	s.mux.HandleFunc("POST /api/dids", s.adminOnly(s.createDID))
	s.mux.HandleFunc("GET /api/dids/{number}", s.adminOnly(s.getDID))
	s.mux.HandleFunc("DELETE /api/dids/{number}", s.adminOnly(s.deleteDID))
	s.mux.HandleFunc("GET /api/queues", s.adminOnly(s.listQueues))
	s.mux.HandleFunc("POST /api/queues", s.adminOnly(s.createQueue))
	s.mux.HandleFunc("GET /api/queues/{number}", s.adminOnly(s.getQueue))
	s.mux.HandleFunc("PATCH /api/queues/{number}", s.adminOnly(s.updateQueue))
	s.mux.HandleFunc("DELETE /api/queues/{number}", s.adminOnly(s.deleteQueue))
	s.registerCADRoutes()
	s.registerACD()
	s.registerQueueExperience()
	s.registerReports()
	s.registerConsoles()
	s.registerRinging()
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API route")
	})
	return s
}

// routeMux records the patterns it serves, so a test can hold the OpenAPI
// document to the routes that really exist.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// HandleFunc registers h for pattern and remembers the pattern.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Routes lists the registered "METHOD /path" patterns.
func (s *Server) Routes() []string { return append([]string(nil), s.mux.patterns...) }

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
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body of at most 64 KiB into v, refusing unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds 64 KiB")
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid_json", err.Error())
		return false
	}
	return true
}

func forbidden(w http.ResponseWriter, a auth.Action) {
	writeError(w, http.StatusForbidden, "forbidden", "this needs the permission "+string(a)+" or must concern your own calls")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "active_calls": s.calls.Active(), "time": time.Now().UTC()})
}
