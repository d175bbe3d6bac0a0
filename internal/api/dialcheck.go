package api

import (
	"errors"
	"net/http"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/dialplan"
	"github.com/switchboard/switchboard/internal/store"
)

// dialCheck is GET /api/dialplan/check?number=: what the server would dial
// for what the user typed (SPEC T12, D3), resolved the way the call
// manager routes a number dialled from the user's extension: cleaned
// (T12), then an extension, a queue, one of the organisation's DIDs
// (which stays inside), or an external number in E.164. allowed says
// whether the user may dial it from the console (keypad dialling, and
// outdial for external numbers); transfer_allowed whether they may
// transfer or consult to it (outdial for external numbers). Nothing is
// dialled.
type dialCheckResult struct {
	Input           string `json:"input"`
	Normalized      string `json:"normalized"`     // what is dialled; "" when invalid
	Kind            string `json:"kind"`           // extension | queue | external | invalid
	Name            string `json:"name,omitempty"` // the extension's or queue's name
	DID             bool   `json:"did,omitempty"`  // reached through one of our DIDs
	Allowed         bool   `json:"allowed"`
	TransferAllowed bool   `json:"transfer_allowed"`
	Error           string `json:"error,omitempty"` // why invalid or not allowed
}

func (s *Server) dialCheck(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	in := r.URL.Query().Get("number")
	if len(in) > 64 {
		writeError(w, http.StatusBadRequest, "invalid_number", "number must be at most 64 characters")
		return
	}
	res := dialCheckResult{Input: in, Kind: "invalid"}
	prof := p.User.Profile
	internal := func(kind, number, name string) {
		res.Kind, res.Normalized, res.Name = kind, number, name
		res.TransferAllowed, res.Allowed = true, prof.CanKeypadDial
		if !res.Allowed {
			res.Error = "your profile does not allow dialling from the console"
		}
	}
	n, err := dialplan.Clean(in)
	if err != nil {
		res.Error = err.Error()
		writeJSON(w, http.StatusOK, res)
		return
	}
	ctx := r.Context()
	if e, err := s.st.ExtensionByNumber(ctx, n); err == nil {
		internal("extension", n, e.DisplayName)
		writeJSON(w, http.StatusOK, res)
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.storeError(w, "extension", "check the number", err)
		return
	}
	if q, err := s.st.QueueByNumber(ctx, n); err == nil {
		internal("queue", n, q.Name)
		writeJSON(w, http.StatusOK, res)
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.storeError(w, "queue", "check the number", err)
		return
	}
	e164, err := dialplan.E164(n, s.adm.opts.CountryCode)
	if err != nil {
		res.Error = "not an extension, queue or external number: " + err.Error()
		writeJSON(w, http.StatusOK, res)
		return
	}
	if d, err := s.st.DIDByNumber(ctx, e164); err == nil {
		internal(string(d.TargetKind), d.Target, "")
		res.DID = true
		writeJSON(w, http.StatusOK, res)
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.storeError(w, "did", "check the number", err)
		return
	}
	res.Kind, res.Normalized = "external", e164
	res.TransferAllowed = prof.CanOutdial
	res.Allowed = prof.CanOutdial && prof.CanKeypadDial
	switch {
	case !prof.CanOutdial:
		res.Error = "your profile does not allow external calls"
	case !prof.CanKeypadDial:
		res.Error = "your profile does not allow dialling from the console"
	}
	writeJSON(w, http.StatusOK, res)
}
