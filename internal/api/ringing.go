package api

import (
	"errors"
	"net/http"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
)

// Actions on a ringing call from the console (SPEC C3, C5):
//
//   - POST /api/calls/{id}/reject declines a call ringing at the user's
//     extension: a queue offer goes back to the queue with the agent left
//     available (not RONA), a direct call ends with busy for the caller.
//     Hanging up would end the caller's call instead.
//   - POST /api/calls/{id}/redirect {target} sends a ringing call on to a
//     user, queue or number before anyone answers: the user's own ringing
//     call, or — for an operator (calls.control_any) — a call ringing at
//     anyone they follow, which is what the phonebook's "transfer" does.

func (s *Server) registerRinging() {
	s.mux.HandleFunc("POST /api/calls/{id}/reject", s.authed(s.rejectCall))
	s.mux.HandleFunc("POST /api/calls/{id}/redirect", s.authed(s.redirectCall))
}

func (s *Server) rejectCall(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c, ok := s.pathCall(w, r)
	if !ok || !needExtension(w, p) {
		return
	}
	if err := c.Decline(p.Extensions); err != nil {
		ringingError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Info())
}

func (s *Server) redirectCall(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c, ok := s.pathCall(w, r)
	if !ok || !needExtension(w, p) {
		return
	}
	b, ok := decodeTarget(w, r)
	if !ok {
		return
	}
	var err error
	switch info := c.Info(); {
	case info.State != call.StateRinging && info.State != call.StateRouting:
		// Answered (or queued): that is a transfer of a party, not a redirect.
		err = call.ErrNotRinging
	case c.RingsAt(p.Extensions):
		err = c.BlindTransfer(r.Context(), p.Extensions, b.Target)
	case mayOnCall(p, auth.CallsControlAny, info):
		err = c.Redirect(r.Context(), p.Extensions[0], b.Target)
	default:
		forbiddenOnCall(w, p, auth.CallsControlAny)
		return
	}
	if err != nil {
		ringingError(w, err)
		return
	}
	s.recordRecent(r.Context(), p, "transfer", b.Target)
	writeJSON(w, http.StatusAccepted, c.Info())
}

// ringingError is callControlError with the decline's own refusal.
func ringingError(w http.ResponseWriter, err error) {
	if errors.Is(err, call.ErrRingsElsewhere) {
		writeError(w, http.StatusConflict, "rings_elsewhere", err.Error())
		return
	}
	callControlError(w, err)
}
