package e2e

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestInteractionHistory: after a direct call (1001 → 1002) and a queue
// call (1009 → queue 8000, answered by 1002, recorded by the admin), the
// history shows each call once, to whom it may, with its recording; and
// downloads as CSV.
func TestInteractionHistory(t *testing.T) {
	s := startServer(t, serverOpts{})
	users := userIDs(t, s)
	out, _ := answeredCall(t, s)
	if err := out.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	cust, _, id := queueCall(t, s)
	if code, body := s.as(t, "admin", "POST", "/api/calls/"+id+"/recording/start", ""); code != 200 {
		t.Fatalf("recording start: %d %v", code, body)
	}
	time.Sleep(500 * time.Millisecond)
	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	list := func(user, query string) (int, []map[string]any) {
		t.Helper()
		code, body := s.as(t, user, "GET", "/api/interactions"+query, "")
		var rows []map[string]any
		if v, ok := body["interactions"].([]any); ok {
			for _, r := range v {
				rows = append(rows, r.(map[string]any))
			}
		}
		return code, rows
	}
	eventually(t, 5*time.Second, func() error {
		if _, rows := list("admin", ""); len(rows) != 2 {
			return fmt.Errorf("%d interactions, want 2", len(rows))
		}
		return nil
	})
	_, rows := list("admin", "?queue=8000")
	if len(rows) != 1 || rows[0]["call_id"] != id || rows[0]["answered_by"] != "1002" || len(rows[0]["recordings"].([]any)) != 1 {
		t.Fatalf("queue 8000: %v", rows)
	}
	for _, tt := range []struct {
		user, query string
		status, n   int
	}{
		{"admin", "", 200, 2},
		{"admin", fmt.Sprintf("?user=%d", users["1002"]), 200, 2},
		{"admin", fmt.Sprintf("?user=%d", users["1001"]), 200, 1},
		{"1002", "", 200, 2},
		{"1001", "", 200, 1},
		{"1003", "", 200, 0},
		{"1010", "", 200, 1}, // supervisor of 8000 and 8001: the queue call
		{"1009", "", 200, 1}, // the operator called the queue
		{"1010", "?queue=8000", 200, 1},
		{"1003", fmt.Sprintf("?user=%d", users["1002"]), 403, 0},
		{"admin", "?user=0", 400, 0},
		{"admin", "?limit=x", 400, 0},
	} {
		if code, rows := list(tt.user, tt.query); code != tt.status || len(rows) != tt.n {
			t.Errorf("%s %s: %d, %d rows; want %d, %d", tt.user, tt.query, code, len(rows), tt.status, tt.n)
		}
	}
	// The recording is the one the queue call links.
	rec := rows[0]["recordings"].([]any)[0].(map[string]any)
	if code, _ := s.as(t, "1002", "GET", "/api/recordings/"+rec["id"].(string), ""); code != 200 {
		t.Errorf("the agent on the call cannot read its recording: %d", code)
	}

	tok, err := s.login("admin", "demo-admin")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+s.HTTPAddr+"/api/interactions?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if resp.StatusCode != 200 || err != nil || len(recs) != 3 || recs[0][0] != "call_id" || recs[1][0] != id {
		t.Fatalf("CSV: %d %v\n%s", resp.StatusCode, err, raw)
	}
}
