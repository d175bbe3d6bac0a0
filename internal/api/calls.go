package api

import (
	"net/http"
	"slices"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
)

// ownsCall reports whether a call concerns one of the principal's
// extensions: as caller, as the one who answered, or as the target.
func ownsCall(p auth.Principal, c call.Info) bool { return callTouches(c, p.HasExtension) }

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	s.writeCalls(w, p, p.Can(auth.CallsViewAll))
}

// myCalls is the self-service mirror: only the principal's own calls,
// whatever the role (an admin's desk view).
func (s *Server) myCalls(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	s.writeCalls(w, p, false)
}

func (s *Server) writeCalls(w http.ResponseWriter, p auth.Principal, all bool) {
	calls := s.calls.Calls()
	out := calls[:0:0]
	for _, c := range calls {
		// Mine: on it, or offered to me (the offer card).
		if all && mayOnCall(p, auth.CallsViewAll, c) || ownsCall(p, c) || slices.ContainsFunc(c.Ringing, p.HasExtension) {
			out = append(out, c)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}

// callOp runs op on the call in the path if the principal may control it.
func (s *Server) callOp(w http.ResponseWriter, r *http.Request, p auth.Principal, op func(*call.Call) error) {
	c, err := s.calls.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "call_not_found", "no call with that id")
		return
	}
	if !mayOnCall(p, auth.CallsControlAny, c.Info()) {
		forbiddenOnCall(w, p, auth.CallsControlAny)
		return
	}
	if err := op(c); err != nil {
		callControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Info())
}

func (s *Server) holdCall(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Party string `json:"party"`
	}
	if !decode(w, r, &body) {
		return
	}
	s.callOp(w, r, p, func(c *call.Call) error { return c.Hold(body.Party) })
}

func (s *Server) resumeCall(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	s.callOp(w, r, p, func(c *call.Call) error { return c.Resume() })
}

// hangupCall ends a call. A held call is refused (the operator console
// rule: resume it first); ?force=true lets those who may control any call
// clear it anyway.
func (s *Server) hangupCall(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	force := r.URL.Query().Get("force") == "true" && p.Can(auth.CallsControlAny)
	c, err := s.calls.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "call_not_found", "no call with that id")
		return
	}
	info := c.Info()
	if !mayOnCall(p, auth.CallsControlAny, info) {
		forbiddenOnCall(w, p, auth.CallsControlAny)
		return
	}
	if err := c.HangupAsUser(force); err != nil {
		callControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Info())
}
