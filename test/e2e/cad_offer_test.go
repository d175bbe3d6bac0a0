package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestCallDataWhileOffered: the offer card shows the call's variables
// (SPEC D1), so the agent a queue call is being offered to may read its
// call data before answering — but not change it (D2: only once the call
// is accepted); an agent it is not offered to may do neither.
func TestCallDataWhileOffered(t *testing.T) {
	s := startServer(t, serverOpts{})
	code, out := s.as(t, "admin", "POST", "/api/queues/8000/variables", `{"name":"case_no","label":"Case","type":"string","order":1,"editable":true}`)
	expectAPI(t, "create variable", code, out, 201, "")

	caller := phone(t, s, "1009", 1000, "udp")
	phone(t, s, "1001", 440, "udp") // rings, never answers
	call, err := caller.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	defer call.Hangup(ctxFor(t, 5*time.Second))

	var id string
	eventually(t, 5*time.Second, func() error {
		code, out := s.as(t, "1001", "GET", "/api/me/agent", "")
		c, _ := out["call"].(map[string]any)
		if code != 200 || out["state"] != "offered" || c == nil {
			return fmt.Errorf("agent 1001: HTTP %d state %v call %v", code, out["state"], out["call"])
		}
		id, _ = c["id"].(string)
		return nil
	})
	data := "/api/calls/" + id + "/data"
	code, out = s.as(t, "1001", "GET", data, "")
	expectAPI(t, "offered agent reads", code, out, 200, "")
	if out["flow"] != "8000" || len(cadVars(t, out)) != 1 {
		t.Errorf("offered agent reads %v", out)
	}
	for _, tt := range []struct {
		what, user, method, body string
		status                   int
	}{
		{"offered agent saves", "1001", "PUT", `{"version":1,"values":{"case_no":"A1"}}`, 403},
		{"agent not offered reads", "1003", "GET", "", 403},
	} {
		code, out := s.as(t, tt.user, tt.method, data, tt.body)
		expectAPI(t, tt.what, code, out, tt.status, "forbidden")
	}
}
