package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestOutboundTrunkDigestAuth: a carrier that challenges (401) gets the
// trunk's credentials, set through the admin API, and the call goes
// through; with a wrong password the carrier refuses and the caller gets
// the failure.
func TestOutboundTrunkDigestAuth(t *testing.T) {
	requireTool(t, "sipp")
	for _, tt := range []struct {
		name     string
		password string
		wantOK   bool
	}{
		{"right password", "trunk-secret-9", true},
		{"wrong password", "not-the-secret", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			uas, carrier := startCarrier(t, "uas_carrier_auth.xml")
			s := startServer(t, serverOpts{carrier: carrier})

			code, body := s.as(t, "admin", "GET", "/api/trunks", "")
			if code != 200 {
				t.Fatalf("GET /api/trunks: %d", code)
			}
			var id string
			for _, tr := range body["trunks"].([]any) {
				if m := tr.(map[string]any); m["name"] == "demo-carrier" {
					id = fmt.Sprint(m["id"])
				}
			}
			patch := fmt.Sprintf(`{"username":"sb-trunk","password":%q}`, tt.password)
			if code, body := s.as(t, "admin", "PATCH", "/api/trunks/"+id, patch); code != 200 || body["has_password"] != true {
				t.Fatalf("set trunk credentials: %d %v", code, body)
			}
			if code, body := s.as(t, "admin", "GET", "/api/trunks/"+id, ""); strings.Contains(fmt.Sprint(body), tt.password) || code != 200 {
				t.Fatalf("trunk password is readable back: %v", body)
			}

			anna := phone(t, s, "1001", 1000, "udp")
			call, err := anna.Dial(ctxFor(t, 15*time.Second), "0612345678")
			if !tt.wantOK {
				if err == nil {
					t.Fatal("call with a wrong trunk password was answered")
				}
				return
			}
			if err != nil {
				t.Fatalf("dial through the authenticating carrier: %v\n%s", err, uas.report())
			}
			completesThroughCarrier(t, call, uas)
		})
	}
}
