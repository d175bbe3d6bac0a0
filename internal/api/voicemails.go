package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// Messages left by queued callers and courtesy callbacks (SPEC Q5, O3,
// M3): GET /api/voicemails, GET/PATCH /api/voicemails/{id},
// GET /api/voicemails/{id}/audio, GET /api/callbacks.
//
// Who may: admins every queue's; a supervisor of the queue; the agents
// who are members of it (a message is an interaction they handle).

// VoicemailStore is the store's share in messages and callbacks.
type VoicemailStore interface {
	Voicemails(ctx context.Context, f store.VoicemailFilter) ([]store.Voicemail, error)
	VoicemailByID(ctx context.Context, id string) (store.Voicemail, error)
	SetVoicemailStatus(ctx context.Context, id, status, by string, at time.Time) (store.Voicemail, error)
	Callbacks(ctx context.Context, f store.CallbackFilter) ([]store.Callback, error)
}

var _ VoicemailStore = (*store.Store)(nil)

func (s *Server) registerQueueExperience() {
	s.mux.HandleFunc("GET /api/voicemails", s.authed(s.listVoicemails))
	s.mux.HandleFunc("GET /api/voicemails/{id}", s.authed(s.getVoicemail))
	s.mux.HandleFunc("PATCH /api/voicemails/{id}", s.authed(s.updateVoicemail))
	s.mux.HandleFunc("GET /api/voicemails/{id}/audio", s.authed(s.voicemailAudio))
	s.mux.HandleFunc("GET /api/callbacks", s.authed(s.listCallbacks))
}

// handlesQueue reports whether p may see and handle queue's messages and
// callbacks: an admin, a supervisor of the queue, or a member.
func handlesQueue(p auth.Principal, e *acd.Engine, queue string) bool {
	return managesQueue(p, e, queue) || slices.Contains(e.AgentQueues(p.User.ID), queue)
}

// handledQueues is what p may see of a list filtered by ?queue=: nil for
// every queue (admins), else the queues p handles (possibly none).
func handledQueues(p auth.Principal, e *acd.Engine, queue string) []string {
	switch {
	case queue != "":
		if handlesQueue(p, e, queue) {
			return []string{queue}
		}
		return []string{}
	case p.Can(auth.AgentsManageAll):
		return nil
	}
	qs := e.AgentQueues(p.User.ID)
	if p.Can(auth.QueuesSupervise) {
		qs = append(qs, e.SupervisedQueues(p.User.ID)...)
	}
	slices.Sort(qs)
	return append([]string{}, slices.Compact(qs)...)
}

// listQuery reads ?limit= (1–1000) and ?status=, one of allowed.
func listQuery(w http.ResponseWriter, r *http.Request, allowed ...string) (limit int, status string, ok bool) {
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid_request", "limit must be 1 to 1000")
			return 0, "", false
		}
		limit = n
	}
	status = r.URL.Query().Get("status")
	if status != "" && !slices.Contains(allowed, status) {
		writeError(w, http.StatusBadRequest, "invalid_status", "status must be one of "+joinQuoted(allowed))
		return 0, "", false
	}
	return limit, status, true
}

func joinQuoted(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += strconv.Quote(s)
	}
	return out
}

func (s *Server) listVoicemails(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	limit, status, ok := listQuery(w, r, store.VoicemailNew, store.VoicemailHandled)
	if !ok {
		return
	}
	vs, err := s.st.Voicemails(r.Context(), store.VoicemailFilter{Queues: handledQueues(p, e, r.URL.Query().Get("queue")),
		Status: status, Limit: limit})
	if err != nil {
		s.log.Error("list voicemails", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not list voicemails")
		return
	}
	out := make([]call.VoicemailInfo, 0, len(vs))
	for _, v := range vs {
		out = append(out, call.VoicemailView(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"voicemails": out})
}

// voicemailFor loads the message of the path's id, or answers 404 when
// there is none or p may not see it (the same answer: ids are no oracle).
func (s *Server) voicemailFor(w http.ResponseWriter, r *http.Request, p auth.Principal) (store.Voicemail, bool) {
	e, ok := s.engine(w)
	if !ok {
		return store.Voicemail{}, false
	}
	v, err := s.st.VoicemailByID(r.Context(), r.PathValue("id"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("read voicemail", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read the voicemail")
		return v, false
	}
	if err != nil || !handlesQueue(p, e, v.Queue) {
		writeError(w, http.StatusNotFound, "voicemail_not_found", "no voicemail with that id")
		return v, false
	}
	return v, true
}

func (s *Server) getVoicemail(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if v, ok := s.voicemailFor(w, r, p); ok {
		writeJSON(w, http.StatusOK, call.VoicemailView(v))
	}
}

// updateVoicemail marks a message handled (or new again):
// {"status": "handled"}.
func (s *Server) updateVoicemail(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	v, ok := s.voicemailFor(w, r, p)
	if !ok {
		return
	}
	var body struct {
		Status string `json:"status"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Status != store.VoicemailNew && body.Status != store.VoicemailHandled {
		writeError(w, http.StatusBadRequest, "invalid_status", `status must be "new" or "handled"`)
		return
	}
	v, err := s.st.SetVoicemailStatus(r.Context(), v.ID, body.Status, p.User.Username, time.Now())
	if err != nil {
		s.storeError(w, "voicemail", "update the voicemail", err)
		return
	}
	view := call.VoicemailView(v)
	if s.bus != nil {
		s.bus.Publish(events.VoicemailUpdated, "queue:"+v.Queue, view)
	}
	s.log.Info("voicemail status changed", "voicemail_id", v.ID, "status", v.Status, "by", p.User.Username)
	writeJSON(w, http.StatusOK, view)
}

// voicemailAudio serves the message: mono 8 kHz 16-bit PCM WAV.
func (s *Server) voicemailAudio(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	v, ok := s.voicemailFor(w, r, p)
	if !ok {
		return
	}
	s.serveWAV(w, r, v.Path, "voicemail-"+v.ID+".wav", "voicemail")
}

// callbackJSON is a courtesy callback in the API.
type callbackJSON struct {
	ID          string    `json:"id"`
	Queue       string    `json:"queue"`
	Number      string    `json:"number"`
	Name        string    `json:"name,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	Attempts    int       `json:"attempts"`
	Status      string    `json:"status"` // waiting | connected | failed
	Reason      string    `json:"reason,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// listCallbacks lists callbacks in queue order (oldest request first).
func (s *Server) listCallbacks(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	limit, status, ok := listQuery(w, r, store.CallbackWaiting, store.CallbackConnected, store.CallbackFailed)
	if !ok {
		return
	}
	cs, err := s.st.Callbacks(r.Context(), store.CallbackFilter{Queues: handledQueues(p, e, r.URL.Query().Get("queue")),
		Status: status, Limit: limit})
	if err != nil {
		s.log.Error("list callbacks", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not list callbacks")
		return
	}
	out := make([]callbackJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, callbackJSON{ID: c.ID, Queue: c.Queue, Number: c.Number, Name: c.Name, RequestedAt: c.RequestedAt,
			Attempts: c.Attempts, Status: c.Status, Reason: c.Reason, UpdatedAt: c.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"callbacks": out})
}
