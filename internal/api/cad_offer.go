package api

import (
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
)

// offeredTo reports whether the ACD is offering call c to p right now (it
// rings at their extension). The offer card shows the call's variables
// before the agent answers (SPEC D1), yet the call touches none of the
// agent's extensions until then, so mayOnCall alone would refuse them.
func (s *Server) offeredTo(p auth.Principal, c call.Info) bool {
	e := s.acdEngine()
	if e == nil {
		return false
	}
	a, err := e.Agent(p.User.ID)
	return err == nil && a.Call != nil && a.Call.ID == c.ID
}
