package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestACDAPI drives the ACD through the real binary: agents change their
// status and membership, a supervisor acts on their queue's agents,
// refusals change nothing, a queue call makes its agent busy and then
// puts them in wrap-up, and statuses, memberships and history survive a
// restart.
func TestACDAPI(t *testing.T) {
	s := startServer(t, serverOpts{})
	userID := func(user string) string {
		_, me := s.as(t, user, "GET", "/api/me", "")
		return jsonID(me["user"].(map[string]any)["id"])
	}
	agent1001 := userID("1001")
	steps := []struct {
		user, method, path, body string
		status                   int
		code                     string
	}{
		{"1001", "GET", "/api/me/agent", "", 200, ""},
		{"admin", "GET", "/api/me/agent", "", 404, "not_an_agent"},
		{"1001", "GET", "/api/reason-codes", "", 200, ""},
		{"1001", "PUT", "/api/me/agent", `{"status":"break"}`, 400, "reason_required"},
		{"1001", "PUT", "/api/me/agent", `{"status":"break","reason_code":"email"}`, 400, "invalid_reason_code"},
		{"1001", "PUT", "/api/me/agent", `{"status":"break","reason_code":"lunch"}`, 200, ""},
		{"1002", "PUT", "/api/agents/" + agent1001 + "/status", `{"status":"available"}`, 403, "forbidden"},
		{"1010", "PUT", "/api/agents/" + agent1001 + "/status", `{"status":"available"}`, 200, ""},
		{"1001", "PUT", "/api/queues/8000/members/1001", `{"state":"paused"}`, 200, ""},
		{"1001", "PUT", "/api/queues/8000/members/1001", `{"penalty":5}`, 403, "forbidden"},
		{"1001", "PUT", "/api/queues/8000/members/1002", `{"state":"paused"}`, 403, "forbidden"},
		{"1006", "GET", "/api/queues/8000/stats", "", 403, "forbidden"},
		{"1001", "POST", "/api/reason-codes", `{"code":"nap","kind":"break"}`, 403, "forbidden"},
		{"1010", "PUT", "/api/queues/8000/supervisors", `{"user_ids":[]}`, 403, "forbidden"},
		{"1001", "POST", "/api/me/wrapup", `{}`, 409, "not_in_wrapup"},
		{"admin", "PATCH", "/api/queues/8000", `{"wrapup_time_s":30}`, 200, ""},
	}
	for _, st := range steps {
		code, body := s.as(t, st.user, st.method, st.path, st.body)
		expectAPI(t, st.user+" "+st.method+" "+st.path+" "+st.body, code, body, st.status, st.code)
	}
	code, stats := s.as(t, "1010", "GET", "/api/queues/8000/stats", "")
	if code != 200 || stats["agents_paused"] != 1.0 || stats["agents_logged_in"] != 4.0 {
		t.Fatalf("stats as the supervisor: %d %v", code, stats)
	}

	// A queue call: 1001 is paused and 1003–1005 have no phone, so 1002
	// takes it; after it, 1002 is in wrap-up until they end it.
	agent := phone(t, s, "1002", 440, "udp")
	agent.AutoAnswer(100 * time.Millisecond)
	caller := phone(t, s, "1009", 1000, "udp")
	call, err := caller.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue 8000: %v", err)
	}
	state := func(user string) map[string]any {
		_, me := s.as(t, user, "GET", "/api/me/agent", "")
		return me
	}
	eventually(t, 10*time.Second, func() error {
		if me := state("1002"); me["state"] != "busy" || me["call"] == nil {
			return fmt.Errorf("1002 is %v/%v", me["state"], me["call"])
		}
		return nil
	})
	if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("hang up: %v", err)
	}
	eventually(t, 5*time.Second, func() error {
		if me := state("1002"); me["state"] != "wrap_up" {
			return fmt.Errorf("1002 is %v", me["state"])
		}
		return nil
	})
	code, body := s.as(t, "1002", "POST", "/api/me/wrapup", `{"code":"bogus"}`)
	expectAPI(t, "a wrap-up code of another queue", code, body, 400, "invalid_wrapup_code")
	code, body = s.as(t, "1002", "POST", "/api/me/wrapup", `{"code":"resolved"}`)
	expectAPI(t, "end the wrap-up", code, body, 200, "")
	if body["state"] != "idle" {
		t.Errorf("after ending the wrap-up: %v", body)
	}
	code, stats = s.as(t, "1010", "GET", "/api/queues/8000/stats", "")
	if code != 200 || stats["answered_last_hour"] != 1.0 || stats["entered_last_hour"] != 1.0 {
		t.Errorf("stats after the call: %d %v", code, stats)
	}

	// What people chose survives a restart.
	s.restart()
	me := state("1001")
	queues, _ := me["queues"].([]any)
	if me["status"] != "available" || me["state"] != "idle" || len(queues) != 1 ||
		queues[0].(map[string]any)["state"] != "paused" {
		t.Errorf("1001 after a restart: %v", me)
	}
	code, body = s.as(t, "1010", "GET", "/api/agents/"+agent1001+"/history", "")
	rows, _ := body["history"].([]any)
	if code != 200 || len(rows) != 2 || rows[0].(map[string]any)["reason_code"] != "lunch" ||
		rows[1].(map[string]any)["to"] != "available" {
		t.Errorf("1001's history after a restart: %d %v", code, body)
	}
}
