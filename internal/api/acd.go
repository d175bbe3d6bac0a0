package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// The ACD's routes (SPEC Q3, Q4, Q6, A1, A2, S2): agents' statuses,
// queue memberships, queue statistics, reason and wrap-up codes, queue
// supervisors. The engine (internal/acd) owns the state; these handlers
// check who may do what and translate.
//
// Who may do what:
//   - an agent: their own status, wrap-up and queue memberships (not the
//     penalty); the statistics and wrap-up codes of their queues; the
//     agents who share a queue with them.
//   - a supervisor (queues.supervise): the same for every agent of the
//     queues they supervise, penalties and new memberships included, and
//     those queues' supervisors list.
//   - an operator (agents.view_all): every agent's state.
//   - an admin: everything; reason codes, wrap-up codes and supervisors
//     are configuration (config.manage).

// registerACD installs the ACD's routes.
func (s *Server) registerACD() {
	s.mux.HandleFunc("GET /api/me/agent", s.authed(s.myAgent))
	s.mux.HandleFunc("PUT /api/me/agent", s.authed(s.setMyAgent))
	s.mux.HandleFunc("POST /api/me/wrapup", s.authed(s.endMyWrapUp))
	s.mux.HandleFunc("GET /api/agents", s.authed(s.listAgents))
	s.mux.HandleFunc("GET /api/agents/{id}", s.authed(s.getAgent))
	s.mux.HandleFunc("PUT /api/agents/{id}/status", s.authed(s.setAgentStatus))
	s.mux.HandleFunc("GET /api/agents/{id}/history", s.authed(s.agentHistory))
	s.mux.HandleFunc("PUT /api/queues/{number}/members/{ext}", s.authed(s.setQueueMember))
	s.mux.HandleFunc("GET /api/queues/{number}/stats", s.authed(s.queueStats))
	s.mux.HandleFunc("GET /api/queues/{number}/wrapup-codes", s.authed(s.listWrapupCodes))
	s.mux.HandleFunc("POST /api/queues/{number}/wrapup-codes", s.authed(s.createWrapupCode))
	s.mux.HandleFunc("DELETE /api/queues/{number}/wrapup-codes/{id}", s.authed(s.deleteWrapupCode))
	s.mux.HandleFunc("GET /api/queues/{number}/supervisors", s.authed(s.listSupervisors))
	s.mux.HandleFunc("PUT /api/queues/{number}/supervisors", s.adminOnly(s.setSupervisors))
	s.mux.HandleFunc("GET /api/reason-codes", s.authed(s.listReasonCodes))
	s.mux.HandleFunc("POST /api/reason-codes", s.adminOnly(s.createReasonCode))
	s.mux.HandleFunc("DELETE /api/reason-codes/{id}", s.adminOnly(s.deleteReasonCode))
}

// engine returns the ACD, or answers 503 acd_unavailable. It is
// Options.ACD; failing that, the queue supervision installed with
// SetQueueSupervision when that is the engine.
func (s *Server) engine(w http.ResponseWriter) (*acd.Engine, bool) {
	e := s.adm.opts.ACD
	if e == nil {
		e, _ = s.supervision.(*acd.Engine)
	}
	if e == nil {
		writeError(w, http.StatusServiceUnavailable, "acd_unavailable", "the ACD is not running")
		return nil, false
	}
	return e, true
}

// acdReload makes the ACD reread the configuration after a queue change;
// a failure is logged (the engine rereads it periodically anyway).
func (s *Server) acdReload(ctx context.Context) {
	e := s.adm.opts.ACD
	if e == nil {
		e, _ = s.supervision.(*acd.Engine)
	}
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.Load(ctx); err != nil {
		s.log.Error("reload the ACD after a queue change", "error", err)
	}
}

// acdError answers an error from the engine with a stable code.
func (s *Server) acdError(w http.ResponseWriter, op string, err error) {
	switch {
	case errors.Is(err, acd.ErrUnknownQueue):
		writeError(w, http.StatusNotFound, "queue_not_found", "no such queue")
	case errors.Is(err, acd.ErrUnknownAgent):
		writeError(w, http.StatusNotFound, "agent_not_found", "no such agent (a user owning an extension)")
	case errors.Is(err, acd.ErrNotMember):
		writeError(w, http.StatusNotFound, "member_not_found", "the extension is not a member of the queue")
	case errors.Is(err, acd.ErrInvalidStatus):
		writeError(w, http.StatusBadRequest, "invalid_status", "status must be available, break (idle), offline or logged_out")
	case errors.Is(err, acd.ErrInvalidMemberState):
		writeError(w, http.StatusBadRequest, "invalid_state", "state must be logged_in, paused or logged_out")
	case errors.Is(err, acd.ErrReasonRequired):
		writeError(w, http.StatusBadRequest, "reason_required", err.Error())
	case errors.Is(err, acd.ErrInvalidReason):
		writeError(w, http.StatusBadRequest, "invalid_reason_code", err.Error())
	case errors.Is(err, acd.ErrNotInWrapUp):
		writeError(w, http.StatusConflict, "not_in_wrapup", "the agent is not in wrap-up and has no queue call to code")
	case errors.Is(err, acd.ErrInvalidWrapupCode):
		writeError(w, http.StatusBadRequest, "invalid_wrapup_code", err.Error())
	case errors.Is(err, acd.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "acd_unavailable", "the ACD is shutting down")
	default:
		s.storeError(w, "acd", op, err)
	}
}

// managesQueue reports whether p may manage queue's agents: an admin, or
// a supervisor of that queue.
func managesQueue(p auth.Principal, e *acd.Engine, queue string) bool {
	return p.Can(auth.AgentsManageAll) || p.Can(auth.QueuesSupervise) && e.Supervises(p.User.ID, queue)
}

// managesAgent reports whether p may change agent v: themselves, an
// admin, or a supervisor of one of the agent's queues.
func managesAgent(p auth.Principal, e *acd.Engine, v acd.AgentView) bool {
	if v.ID == p.User.ID || p.Can(auth.AgentsManageAll) {
		return true
	}
	return slices.ContainsFunc(v.Queues, func(m acd.MembershipView) bool { return managesQueue(p, e, m.Queue) })
}

// seesQueue reports whether p may see queue's statistics and codes: who
// sees every call (admin, supervisor, operator), a supervisor of the
// queue, or one of its members.
func seesQueue(p auth.Principal, e *acd.Engine, queue string) bool {
	if p.Can(auth.CallsViewAll) || managesQueue(p, e, queue) {
		return true
	}
	return slices.Contains(e.AgentQueues(p.User.ID), queue)
}

// seesAgent reports whether p may see agent v: who manages them, who sees
// every agent, and the agents who share a queue with them.
func seesAgent(p auth.Principal, e *acd.Engine, v acd.AgentView) bool {
	if p.Can(auth.AgentsViewAll) || managesAgent(p, e, v) {
		return true
	}
	mine := e.AgentQueues(p.User.ID)
	return slices.ContainsFunc(v.Queues, func(m acd.MembershipView) bool { return slices.Contains(mine, m.Queue) })
}

// acdForbidden answers 403 for an ACD action.
func acdForbidden(w http.ResponseWriter, what string) {
	writeError(w, http.StatusForbidden, "forbidden", what)
}

// reasonCodeView is a reason code in the API.
type reasonCodeView struct {
	ID    int64  `json:"id"`
	Code  string `json:"code"`
	Label string `json:"label"`
	Kind  string `json:"kind"`
}

// wrapupCodeView is a wrap-up code in the API.
type wrapupCodeView struct {
	ID    int64  `json:"id"`
	Queue string `json:"queue"`
	Code  string `json:"code"`
	Label string `json:"label"`
}

func newWrapupCodeView(w store.WrapupCode) wrapupCodeView {
	return wrapupCodeView{ID: w.ID, Queue: w.Queue, Code: w.Code, Label: w.Label}
}
