package api

import (
	"net/http"
	"strconv"
)

// SIPSocketServer takes over an authenticated SIP-over-WebSocket upgrade
// for a console user (sipserver.Server.ServeWebSocket, adapted by the app).
type SIPSocketServer func(w http.ResponseWriter, r *http.Request, user string, extensions []string)

// SIPWebSocket guards GET /sip (SIP over WebSocket, RFC 7118, for the
// console's browser phone): only a logged-in user with an extension may
// open one, with the session cookie (or a bearer token, for scripts and
// tests), and a cookie only from our own origin, since browsers send
// cookies on cross-site WebSocket handshakes (cross-site WebSocket
// hijacking). On the socket that login is the credential for the user's
// own extensions (registrar.FlowAuthenticator): no SIP digest follows.
func (s *Server) SIPWebSocket(serve SIPSocketServer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, viaCookie, ok := s.principal(w, r)
		if !ok {
			return
		}
		if viaCookie && !sameOrigin(r) {
			writeError(w, http.StatusForbidden, "cross_origin", "a SIP WebSocket with a session cookie must come from this origin")
			return
		}
		if len(p.Extensions) == 0 {
			writeError(w, http.StatusForbidden, "no_extension", "the user has no extension to register")
			return
		}
		serve(w, r, strconv.FormatInt(p.User.ID, 10), p.Extensions)
	})
}
