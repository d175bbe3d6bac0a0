package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/store"
)

// Operator follow lists (SPEC X2): GET/PUT /api/users/{id}/follows
// {"users":[ids],"queues":[numbers]}, admin only. An operator whose list
// is not empty sees and controls only the calls touching a followed
// user's extension or a followed queue (plus their own); an empty list
// keeps the role's reach over every call. The list is read when a request
// authenticates, so a change applies to the next request (and to a
// WebSocket on its next connection).

// callTouches reports whether call c involves an extension ext accepts:
// the caller, the answering party, the dialled extension, or any party
// call control added (consulted, members, monitors).
func callTouches(c call.Info, ext func(string) bool) bool {
	if c.From.Kind == "extension" && ext(c.From.Number) {
		return true
	}
	if c.AnsweredBy != "" && ext(c.AnsweredBy) {
		return true
	}
	if n, ok := strings.CutPrefix(c.Target, "extension:"); ok && ext(n) {
		return true
	}
	return slices.ContainsFunc(c.Parties, func(party call.PartyInfo) bool {
		return party.Extension != "" && ext(party.Extension)
	})
}

// followsCall reports whether c touches a user or queue p follows.
func followsCall(p auth.Principal, c call.Info) bool {
	if p.Follows == nil {
		return false
	}
	if q, ok := strings.CutPrefix(c.Target, "queue:"); ok && p.FollowsQueue(q) {
		return true
	}
	return callTouches(c, p.FollowsExtension)
}

// mayOnCall reports whether p may do a (calls.view_all, calls.control_any,
// events.view_all) on call c: it is p's own call, or p's role grants a —
// for an operator with a follow list, on the followed calls only.
func mayOnCall(p auth.Principal, a auth.Action, c call.Info) bool {
	if ownsCall(p, c) {
		return true
	}
	return p.Can(a) && (p.Follows == nil || followsCall(p, c))
}

// seesCall reports whether p may see c: p may act on it (action a), or
// the ACD is offering it to one of p's extensions — the agent sees the
// offer ringing for them, without the right to act on it yet.
func seesCall(p auth.Principal, a auth.Action, c call.Info) bool {
	return mayOnCall(p, a, c) || slices.ContainsFunc(c.Ringing, p.HasExtension)
}

// forbiddenOnCall answers 403 for a call p may not act on.
func forbiddenOnCall(w http.ResponseWriter, p auth.Principal, a auth.Action) {
	if p.Can(a) && p.Follows != nil {
		writeError(w, http.StatusForbidden, "forbidden", "this call involves none of the users and queues you follow")
		return
	}
	forbidden(w, a)
}

// followsInput is the body of PUT /api/users/{id}/follows.
type followsInput struct {
	Users  []int64  `json:"users"`
	Queues []string `json:"queues"`
}

func (s *Server) getFollows(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	f, err := s.st.UserFollows(r.Context(), id)
	if err != nil {
		s.storeError(w, "user", "read follows", err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) putFollows(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in followsInput
	if !decode(w, r, &in) {
		return
	}
	if len(in.Users) > store.MaxFollows || len(in.Queues) > store.MaxFollows {
		writeError(w, http.StatusBadRequest, "invalid_request", "at most 500 users and 500 queues")
		return
	}
	for _, u := range in.Users {
		if u <= 0 {
			writeError(w, http.StatusBadRequest, "invalid_request", "users are user ids (positive numbers)")
			return
		}
	}
	for _, q := range in.Queues {
		if !shortNumber.MatchString(q) {
			writeError(w, http.StatusBadRequest, "invalid_request", "queues are queue numbers (3 to 6 digits)")
			return
		}
	}
	if _, err := s.st.UserByID(r.Context(), id); err != nil {
		s.storeError(w, "user", "read user", err)
		return
	}
	if err := s.st.SetUserFollows(r.Context(), id, store.Follows{Users: in.Users, Queues: in.Queues}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// The user in the path exists: a followed user or queue does not.
			writeError(w, http.StatusBadRequest, "unknown_follow", err.Error())
			return
		}
		s.storeError(w, "user", "save follows", err)
		return
	}
	f, err := s.st.UserFollows(r.Context(), id)
	if err != nil {
		s.storeError(w, "user", "read follows", err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}
