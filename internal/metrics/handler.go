package metrics

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
)

// Handler serves the registry at GET (and HEAD) to loopback clients only;
// see the package documentation for why.
func Handler(r *Registry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "metrics are read with GET")
			return
		}
		if !loopbackClient(req) {
			writeError(w, http.StatusForbidden, "forbidden", "metrics are served to loopback clients only (not through a proxy)")
			return
		}
		// Render fully before answering, so a scrape never gets half a
		// page with a 200.
		var buf bytes.Buffer
		if err := r.WriteText(&buf); err != nil {
			writeError(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if req.Method == http.MethodGet {
			_, _ = w.Write(buf.Bytes())
		}
	})
}

// loopbackClient reports whether the connection comes from a loopback
// address and the request was not relayed by a proxy (which, on the same
// host, would connect from loopback on behalf of anyone).
func loopbackClient(req *http.Request) bool {
	ap, err := netip.ParseAddrPort(req.RemoteAddr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return false
	}
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if _, ok := req.Header[h]; ok {
			return false
		}
	}
	return true
}

// writeError answers {code, message} like the API does.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg})
}
