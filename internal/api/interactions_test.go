package api

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

func TestInteractions(t *testing.T) {
	env := newACDTestEnv(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	cdrs := []store.CDR{
		// a: 1001 calls 1002. b: a customer in queue 8000, answered by 1002,
		// wrap-up "sale", recorded. c: queue 8001, answered by 1003.
		// d: queue 8000, abandoned. e: the operator's own call.
		{CallID: "a", Direction: "internal", StartedAt: t0, AnsweredAt: t0.Add(2 * time.Second), EndedAt: t0.Add(62 * time.Second),
			From: "1001", To: "1002", Target: "extension:1002", AnsweredBy: "1002", Disposition: store.DispositionAnswered, HangupBy: "caller"},
		{CallID: "b", Direction: "inbound", StartedAt: t0.Add(time.Hour), AnsweredAt: t0.Add(time.Hour + 30*time.Second),
			EndedAt: t0.Add(time.Hour + 90*time.Second), From: "+31612345678", FromName: "=HYPERLINK(1)", To: "+31201230001",
			Target: "queue:8000", AnsweredBy: "1002", Disposition: store.DispositionAnswered, HangupBy: "callee", WrapupCode: "sale"},
		{CallID: "c", Direction: "inbound", StartedAt: t0.Add(2 * time.Hour), AnsweredAt: t0.Add(2*time.Hour + time.Second),
			EndedAt: t0.Add(2*time.Hour + 10*time.Second), From: "+31699999999", To: "+31201230002", Target: "queue:8001",
			AnsweredBy: "1003", Disposition: store.DispositionAnswered},
		{CallID: "d", Direction: "inbound", StartedAt: t0.Add(3 * time.Hour), EndedAt: t0.Add(3*time.Hour + 45*time.Second),
			From: "+31688888888", To: "+31201230001", Target: "queue:8000", Disposition: store.DispositionCancelled, HangupBy: "caller"},
		{CallID: "e", Direction: "internal", StartedAt: t0.Add(4 * time.Hour), EndedAt: t0.Add(4*time.Hour + time.Second),
			From: "1009", To: "1003", Target: "extension:1003", Disposition: store.DispositionNoAnswer},
	}
	if err := env.st.InsertCDRs(ctx, cdrs); err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Recording{
		{ID: "rb", CallID: "b", Path: "/x/rb.wav", StartedAt: t0.Add(time.Hour + 30*time.Second), EndedAt: t0.Add(time.Hour + 90*time.Second),
			Duration: time.Minute, Parties: []string{"1002"}},
	} {
		if err := env.st.InsertRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(user, query string) (int, []string) {
		t.Helper()
		code, body := env.do(user, "GET", "/api/interactions"+query, "")
		if code != 200 {
			return code, []string{body["code"].(string)}
		}
		var out []string
		for _, it := range body["interactions"].([]any) {
			out = append(out, it.(map[string]any)["call_id"].(string))
		}
		return code, out
	}
	user := func(name string) string { return env.id(name) }
	tests := []struct {
		name, user, query string
		status            int
		want              []string // call ids newest first, or the error code
	}{
		{"admin: everything", "admin", "", 200, []string{"e", "d", "c", "b", "a"}},
		{"admin: a user's calls", "admin", "?user=" + user("1002"), 200, []string{"b", "a"}},
		{"admin: a user reached by being dialled", "admin", "?user=" + user("1003"), 200, []string{"e", "c"}},
		{"admin: a queue", "admin", "?queue=8000", 200, []string{"d", "b"}},
		{"admin: a user in a queue", "admin", "?queue=8000&user=" + user("1002"), 200, []string{"b"}},
		{"admin: a window", "admin", "?since=2026-11-20T10:00:00Z&until=2026-11-20T12:00:00Z", 200, []string{"c", "b"}},
		{"admin: limit", "admin", "?limit=2", 200, []string{"e", "d"}},
		{"admin: a user without extensions", "admin", "?user=" + user("lisa"), 200, nil},
		{"supervisor: their queue and own calls", "eva", "", 200, []string{"d", "b"}},
		{"supervisor: a user, within their queues", "eva", "?user=" + user("1002"), 200, []string{"b"}},
		{"supervisor: their queue", "eva", "?queue=8000", 200, []string{"d", "b"}},
		{"supervisor: another queue", "eva", "?queue=8001", 403, []string{"forbidden"}},
		{"supervisor of nothing", "lisa", "", 200, nil},
		{"agent: own calls", "1002", "", 200, []string{"b", "a"}},
		{"agent: own id", "1002", "?user=" + user("1002"), 200, []string{"b", "a"}},
		{"agent: own calls in a queue", "1002", "?queue=8000", 200, []string{"b"}},
		{"agent: another user", "1002", "?user=" + user("1001"), 403, []string{"forbidden"}},
		{"operator: own calls", "reception", "", 200, []string{"e"}},
		{"bad user", "admin", "?user=abc", 400, []string{"invalid_user"}},
		{"negative user", "admin", "?user=-3", 400, []string{"invalid_user"}},
		{"unknown user", "admin", "?user=99999", 404, []string{"user_not_found"}},
		{"bad queue", "admin", "?queue=sales", 400, []string{"invalid_queue"}},
		{"bad since", "admin", "?since=yesterday", 400, []string{"invalid_since"}},
		{"bad until", "admin", "?until=2026-13-01T00:00:00Z", 400, []string{"invalid_until"}},
		{"empty window", "admin", "?since=2026-11-20T10:00:00Z&until=2026-11-20T10:00:00Z", 400, []string{"invalid_until"}},
		{"bad limit", "admin", "?limit=0", 400, []string{"invalid_limit"}},
		{"huge limit", "admin", "?limit=99999999999999999999", 400, []string{"invalid_limit"}},
		{"bad format", "admin", "?format=xml", 400, []string{"invalid_format"}},
	}
	for _, tt := range tests {
		code, got := ids(tt.user, tt.query)
		if code != tt.status || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %d %v, want %d %v", tt.name, code, got, tt.status, tt.want)
		}
	}

	// A row: the recording and the wrap-up code, wait and talk time.
	_, body := env.do("admin", "GET", "/api/interactions?queue=8000&limit=1&since=2026-11-20T09:30:00Z&until=2026-11-20T10:30:00Z", "")
	b := body["interactions"].([]any)[0].(map[string]any)
	recs := b["recordings"].([]any)
	if b["wrapup_code"] != "sale" || b["queue"] != "8000" || b["wait_s"] != 30.0 || b["talk_s"] != 60.0 ||
		len(recs) != 1 || recs[0].(map[string]any)["audio_url"] != "/api/recordings/rb/audio" {
		t.Errorf("interaction b: %v", b)
	}
	// The agent who was not on the recording does not get it.
	_, body = env.do("1001", "GET", "/api/interactions", "")
	for _, it := range body["interactions"].([]any) {
		if m := it.(map[string]any); len(m["recordings"].([]any)) != 0 {
			t.Errorf("1001 sees recordings of %v", m["call_id"])
		}
	}

	// CSV: a header and one row per call, defused.
	req, _ := http.NewRequest("GET", env.srv.URL+"/api/interactions?format=csv&queue=8000", nil)
	req.Header.Set("Authorization", "Bearer "+env.tokens["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s %v\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), err, raw)
	}
	if len(rows) != 3 || rows[0][0] != "call_id" || rows[2][0] != "b" {
		t.Fatalf("CSV rows %v", rows)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	if r := rows[2]; r[col("wrapup_code")] != "sale" || r[col("recordings")] != "rb" || r[col("from_name")] != "'=HYPERLINK(1)" ||
		r[col("from")] != "+31612345678" || r[col("talk_s")] != "60" {
		t.Errorf("CSV row b: %v", r)
	}
}
