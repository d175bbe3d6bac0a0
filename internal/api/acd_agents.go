package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
)

// Agents: GET/PUT /api/me/agent, POST /api/me/wrapup, GET /api/agents,
// GET /api/agents/{id}, PUT /api/agents/{id}/status,
// GET /api/agents/{id}/history.

// statusBody changes an agent's status.
type statusBody struct {
	Status     string `json:"status"`      // available | break (or idle) | offline | logged_out
	ReasonCode string `json:"reason_code"` // for break and offline
}

// meAgent returns the principal's agent view. A user who was just given
// an extension is found after a reload. Otherwise it has answered.
func (s *Server) meAgent(w http.ResponseWriter, r *http.Request, p auth.Principal, e *acd.Engine) (acd.AgentView, bool) {
	v, err := e.Agent(p.User.ID)
	if errors.Is(err, acd.ErrUnknownAgent) && len(p.Extensions) > 0 {
		s.acdReload(r.Context())
		v, err = e.Agent(p.User.ID)
	}
	if errors.Is(err, acd.ErrUnknownAgent) {
		writeError(w, http.StatusNotFound, "not_an_agent", "you own no extension, so you take no queue calls")
		return v, false
	}
	if err != nil {
		s.acdError(w, "read your agent state", err)
		return v, false
	}
	return v, true
}

func (s *Server) myAgent(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	if v, ok := s.meAgent(w, r, p, e); ok {
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Server) setMyAgent(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	var body statusBody
	if !decodeBody(w, r, &body) {
		return
	}
	if _, ok := s.meAgent(w, r, p, e); !ok {
		return
	}
	s.changeStatus(w, r, p, e, p.User.ID, body)
}

// changeStatus applies body to agent id on behalf of p (already allowed).
func (s *Server) changeStatus(w http.ResponseWriter, r *http.Request, p auth.Principal, e *acd.Engine, id int64, body statusBody) {
	st, err := acd.ParseStatus(body.Status)
	if err != nil {
		s.acdError(w, "change the status", err)
		return
	}
	v, err := e.SetStatus(r.Context(), id, st, body.ReasonCode, p.User.ID)
	if err != nil {
		s.acdError(w, "change the status", err)
		return
	}
	s.log.Info("agent status changed", "agent_id", id, "status", v.Status, "reason_code", v.ReasonCode, "by", p.User.Username)
	writeJSON(w, http.StatusOK, v)
}

// endMyWrapUp ends the principal's wrap-up early and/or records a wrap-up
// code for their (last) queue call.
func (s *Server) endMyWrapUp(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	var body struct {
		Code string `json:"code"`
		End  *bool  `json:"end"` // default true
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if _, ok := s.meAgent(w, r, p, e); !ok {
		return
	}
	end := body.End == nil || *body.End
	v, err := e.EndWrapUp(r.Context(), p.User.ID, body.Code, end)
	if err != nil {
		s.acdError(w, "end the wrap-up", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	all := e.Agents()
	out := all[:0]
	for _, v := range all {
		if seesAgent(p, e, v) {
			out = append(out, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// pathAgent reads the agent in the path; otherwise it has answered.
func (s *Server) pathAgent(w http.ResponseWriter, r *http.Request, e *acd.Engine) (acd.AgentView, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return acd.AgentView{}, false
	}
	v, err := e.Agent(id)
	if err != nil {
		s.acdError(w, "read the agent", err)
		return v, false
	}
	return v, true
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	v, ok := s.pathAgent(w, r, e)
	if !ok {
		return
	}
	if !seesAgent(p, e, v) {
		acdForbidden(w, "you may see yourself, the agents of your queues and of the queues you supervise")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) setAgentStatus(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	var body statusBody
	if !decodeBody(w, r, &body) {
		return
	}
	v, ok := s.pathAgent(w, r, e)
	if !ok {
		return
	}
	if !managesAgent(p, e, v) {
		acdForbidden(w, "you may change your own status and, as a supervisor, that of the agents of your queues")
		return
	}
	s.changeStatus(w, r, p, e, v.ID, body)
}

// historyRow is one change in an agent's status history, with how long
// the new status lasted (until the next change, or until now).
type historyRow struct {
	At         time.Time `json:"at"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	ReasonCode string    `json:"reason_code,omitempty"`
	ChangedBy  int64     `json:"changed_by,omitempty"` // absent: the system (RONA)
	Seconds    int64     `json:"seconds"`
}

// agentHistory lists an agent's status changes since ?since= (RFC 3339,
// default 24 hours ago), at most ?limit= (default and maximum 1,000).
func (s *Server) agentHistory(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	v, ok := s.pathAgent(w, r, e)
	if !ok {
		return
	}
	if !managesAgent(p, e, v) {
		acdForbidden(w, "you may read your own history and, as a supervisor, that of the agents of your queues")
		return
	}
	since := time.Now().Add(-24 * time.Hour)
	if q := r.URL.Query().Get("since"); q != "" {
		t, err := time.Parse(time.RFC3339, q)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_since", "since must be an RFC 3339 time")
			return
		}
		since = t
	}
	limit := 1000
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid_limit", "limit must be 1 to 1000")
			return
		}
		limit = n
	}
	h, err := e.History(r.Context(), v.ID, since, limit)
	if err != nil {
		s.acdError(w, "read the history", err)
		return
	}
	now := time.Now()
	out := make([]historyRow, len(h))
	for i, c := range h {
		end := now
		if i+1 < len(h) {
			end = h[i+1].At
		}
		out[i] = historyRow{At: c.At, From: c.From, To: c.To, ReasonCode: c.ReasonCode, ChangedBy: c.ChangedBy,
			Seconds: int64(end.Sub(c.At) / time.Second)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agent_id": v.ID, "history": out})
}
