package sipserver

import (
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// WebSocketExtensions tells whether req came over one of our SIP
// WebSockets and, if so, the extensions of the console user who opened it.
// The upgrade was authenticated by the console session (api.SIPWebSocket),
// so the registrar takes the socket's login as the credential for those
// extensions (registrar.FlowAuthenticator) instead of a SIP digest the
// browser could not answer: the console never learns SIP passwords.
func (s *Server) WebSocketExtensions(req *sip.Request) ([]string, bool) {
	if !strings.EqualFold(req.Transport(), "ws") && !strings.EqualFold(req.Transport(), "wss") {
		return nil, false
	}
	s.mu.Lock()
	sess := s.wsConns[req.Source()]
	s.mu.Unlock()
	if sess == nil {
		return nil, false
	}
	return slices.Clone(sess.owner.Extensions), true
}
