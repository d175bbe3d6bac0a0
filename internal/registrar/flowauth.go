package registrar

import (
	"context"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/store"
)

// FlowAuthenticator tells which extensions the flow a request arrived on
// is already authenticated for, and whether it is such a flow at all. A
// browser's SIP WebSocket is opened with the console login and belongs to
// that user (sipserver.Server.WebSocketExtensions): the login is the
// credential, and the console does not know the extensions' SIP passwords.
type FlowAuthenticator func(req *sip.Request) (extensions []string, ok bool)

// SetFlowAuthenticator makes requests on authenticated flows skip digest
// authentication for the extensions the flow owns; every other request
// (another extension, any other transport) is still challenged. Call
// before SIP starts.
func (r *Registrar) SetFlowAuthenticator(f FlowAuthenticator) { r.flowAuth = f }

// flowAuthenticated returns the extension a request claims when its flow
// owns it: the To of a REGISTER (the address-of-record it binds), the From
// of anything else (the caller).
func (r *Registrar) flowAuthenticated(req *sip.Request) (store.Extension, bool) {
	if r.flowAuth == nil {
		return store.Extension{}, false
	}
	exts, ok := r.flowAuth(req)
	if !ok {
		return store.Extension{}, false
	}
	var claimed string
	if req.Method == sip.REGISTER {
		if to := req.To(); to != nil {
			claimed = to.Address.User
		}
	} else if from := req.From(); from != nil {
		claimed = from.Address.User
	}
	if claimed == "" || !slices.Contains(exts, claimed) {
		return store.Extension{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ext, err := r.st.ExtensionByNumber(ctx, claimed)
	if err != nil {
		r.log.Debug("flow-authenticated extension not found", "extension", claimed, "error", err)
		return store.Extension{}, false
	}
	return ext, true
}
