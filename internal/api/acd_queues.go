package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// Queues as the ACD runs them: PUT /api/queues/{number}/members/{ext},
// GET /api/queues/{number}/stats, …/wrapup-codes[/{id}],
// …/supervisors.

// setQueueMember logs an agent's extension in or out of a queue, pauses
// it, or changes its penalty. An agent may change the state of their own
// extensions; a supervisor of the queue (or an admin) any member's state
// and penalty, and may add an agent's extension to the queue this way.
func (s *Server) setQueueMember(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	var body struct {
		State   string `json:"state"` // logged_in | paused | logged_out; empty: unchanged
		Penalty *int   `json:"penalty"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	queue, ext := r.PathValue("number"), r.PathValue("ext")
	manager := managesQueue(p, e, queue)
	switch {
	case !manager && !p.HasExtension(ext):
		acdForbidden(w, "you may change your own membership and, as a supervisor, that of the agents of your queues")
		return
	case !manager && body.Penalty != nil:
		acdForbidden(w, "only a supervisor of the queue may change a penalty")
		return
	case body.State == "" && body.Penalty == nil:
		writeError(w, http.StatusBadRequest, "invalid_request", "give a state, a penalty or both")
		return
	case body.Penalty != nil && (*body.Penalty < 0 || *body.Penalty > maxPenalty):
		writeFieldError(w, invalidField("penalty", "must be 0 to "+strconv.Itoa(maxPenalty)))
		return
	}
	ch := acd.MembershipChange{Queue: queue, Extension: ext, Penalty: body.Penalty, Create: manager}
	if body.State != "" {
		st, err := acd.ParseMemberState(body.State)
		if err != nil {
			s.acdError(w, "change the membership", err)
			return
		}
		ch.State = st
	}
	v, err := e.SetMembership(r.Context(), ch)
	if err != nil {
		s.acdError(w, "change the membership", err)
		return
	}
	s.log.Info("queue membership changed", "queue", queue, "extension", ext, "state", v.State, "penalty", v.Penalty, "by", p.User.Username)
	writeJSON(w, http.StatusOK, v)
}

// queueStats answers a queue's live figures with the drill-down lists.
func (s *Server) queueStats(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	number := r.PathValue("number")
	d, err := e.QueueDetail(number)
	if err != nil {
		s.acdError(w, "read the queue statistics", err)
		return
	}
	if !seesQueue(p, e, number) {
		acdForbidden(w, "you may see the queues you are a member of or supervise")
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) listWrapupCodes(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	number := r.PathValue("number")
	codes, err := e.WrapupCodes(number)
	if err != nil {
		s.acdError(w, "list wrap-up codes", err)
		return
	}
	if !seesQueue(p, e, number) {
		acdForbidden(w, "you may see the queues you are a member of or supervise")
		return
	}
	out := make([]wrapupCodeView, len(codes))
	for i, c := range codes {
		out[i] = newWrapupCodeView(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"wrapup_codes": out})
}

// createWrapupCode adds a wrap-up code to a queue (admin or a supervisor
// of the queue).
func (s *Server) createWrapupCode(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	number := r.PathValue("number")
	if !p.Can(auth.ConfigManage) && !managesQueue(p, e, number) {
		acdForbidden(w, "wrap-up codes are set by an admin or a supervisor of the queue")
		return
	}
	var body struct {
		Code  string `json:"code"`
		Label string `json:"label"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if fe := checkCode("code", body.Code); fe != nil {
		writeFieldError(w, fe)
		return
	}
	if fe := checkText("label", body.Label, 0, 64); fe != nil {
		writeFieldError(w, fe)
		return
	}
	c, err := e.CreateWrapupCode(r.Context(), store.WrapupCode{Queue: number, Code: body.Code, Label: body.Label})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			writeError(w, http.StatusConflict, "wrapup_code_exists", "the queue has that code")
			return
		}
		s.acdError(w, "create the wrap-up code", err)
		return
	}
	writeJSON(w, http.StatusCreated, newWrapupCodeView(c))
}

func (s *Server) deleteWrapupCode(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	number := r.PathValue("number")
	if !p.Can(auth.ConfigManage) && !managesQueue(p, e, number) {
		acdForbidden(w, "wrap-up codes are set by an admin or a supervisor of the queue")
		return
	}
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := e.DeleteWrapupCode(r.Context(), number, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "wrapup_code_not_found", "the queue has no wrap-up code with that id")
			return
		}
		s.acdError(w, "delete the wrap-up code", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listSupervisors(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	number := r.PathValue("number")
	if !slices.Contains(e.QueueNumbers(), number) {
		writeError(w, http.StatusNotFound, "queue_not_found", "no such queue")
		return
	}
	if !p.Can(auth.ConfigManage) && !managesQueue(p, e, number) {
		acdForbidden(w, "you may see the supervisors of the queues you supervise")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"queue": number, "user_ids": e.Supervisors(number)})
}

// setSupervisors replaces a queue's supervisors (admin); each must be a
// user with the supervisor role.
func (s *Server) setSupervisors(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	var body struct {
		UserIDs []int64 `json:"user_ids"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if len(body.UserIDs) > 100 {
		writeFieldError(w, invalidField("user_ids", "must be at most 100"))
		return
	}
	for _, id := range body.UserIDs {
		u, err := s.st.UserByID(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			writeFieldError(w, invalidField("user_ids", "include "+strconv.FormatInt(id, 10)+", which is no user"))
			return
		}
		if err != nil {
			s.storeError(w, "user", "read a supervisor", err)
			return
		}
		if u.Role != store.RoleSupervisor {
			writeFieldError(w, invalidField("user_ids", "include "+u.Username+", who is not a supervisor"))
			return
		}
	}
	number := r.PathValue("number")
	ids, err := e.SetSupervisors(r.Context(), number, body.UserIDs)
	if err != nil {
		s.acdError(w, "set the supervisors", err)
		return
	}
	s.log.Info("queue supervisors set", "queue", number, "user_ids", ids, "by", p.User.Username)
	writeJSON(w, http.StatusOK, map[string]any{"queue": number, "user_ids": ids})
}

// checkCode accepts a reason or wrap-up code: 1 to 32 characters, no
// control characters.
func checkCode(field, v string) *fieldError { return checkText(field, v, 1, 32) }
