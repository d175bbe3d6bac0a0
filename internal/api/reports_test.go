package api

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// seedReports writes two hours of queue calls and a status history
// through the store.
func seedReports(t *testing.T, env *acdTestEnv, base time.Time) {
	t.Helper()
	ctx := context.Background()
	call := func(id, queue, ext string, start time.Time, wait time.Duration, disp store.Disposition) store.CDR {
		c := store.CDR{CallID: id, Direction: "inbound", From: "+3120555", To: queue, Target: "queue:" + queue,
			StartedAt: start, EndedAt: start.Add(wait + time.Minute), Disposition: disp}
		if ext != "" {
			c.AnsweredBy, c.AnsweredAt = ext, start.Add(wait)
		}
		return c
	}
	if err := env.st.InsertCDRs(ctx, []store.CDR{
		call("c1", "8000", "1001", base.Add(5*time.Minute), 5*time.Second, store.DispositionAnswered),
		call("c2", "8000", "1002", base.Add(10*time.Minute), 40*time.Second, store.DispositionAnswered),
		call("c3", "8000", "", base.Add(70*time.Minute), 30*time.Second, store.DispositionAbandoned),
		call("c4", "8001", "1003", base.Add(80*time.Minute), 2*time.Second, store.DispositionAnswered),
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.st.AddAgentStatusChanges(ctx, []store.AgentStatusChange{
		{UserID: env.ids["1001"], At: base, From: "logged_out", To: "available"},
		{UserID: env.ids["1001"], At: base.Add(90 * time.Minute), From: "available", To: "break", ReasonCode: "lunch"},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestReportsAPI(t *testing.T) {
	env := newACDTestEnv(t)
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	seedReports(t, env, base)
	rng := "from=2026-03-02T09:00:00Z&to=2026-03-02T11:00:00Z"

	env.run([]apiCall{
		{"1001", "GET", "/api/reports/queues?" + rng, "", 403, "forbidden"},
		{"reception", "GET", "/api/reports/queues?" + rng, "", 403, "forbidden"},
		{"eva", "GET", "/api/reports/queues?queue=8001&" + rng, "", 403, "forbidden"},
		{"eva", "GET", "/api/reports/queues/8001/plot.svg?" + rng, "", 403, "forbidden"},
		{"admin", "GET", "/api/reports/queues?queue=80x&" + rng, "", 400, "invalid_queue"},
		{"admin", "GET", "/api/reports/queues?interval=week&" + rng, "", 400, "invalid_interval"},
		{"admin", "GET", "/api/reports/queues?tz=Mars/Olympus&" + rng, "", 400, "invalid_tz"},
		{"admin", "GET", "/api/reports/queues?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "", 400, "invalid_range"},
		{"admin", "GET", "/api/reports/queues?from=yesterday", "", 400, "invalid_from"},
		{"admin", "GET", "/api/reports/queues?format=xml", "", 400, "invalid_format"},
		{"1001", "GET", "/api/reports/agents?agent=" + env.id("1002") + "&" + rng, "", 403, "forbidden"},
		{"eva", "GET", "/api/reports/agents?agent=" + env.id("1003") + "&" + rng, "", 403, "forbidden"},
		{"admin", "GET", "/api/reports/agents?agent=999999&" + rng, "", 404, "agent_not_found"},
		{"admin", "GET", "/api/reports/agents?agent=x&" + rng, "", 400, "invalid_agent"},
	})

	totals := func(user, path string) map[string]map[string]any {
		t.Helper()
		status, body := env.do(user, "GET", path, "")
		if status != 200 {
			t.Fatalf("%s %s: %d %v", user, path, status, body)
		}
		out := map[string]map[string]any{}
		for _, r := range body["totals"].([]any) {
			m := r.(map[string]any)
			key, _ := m["queue"].(string)
			if _, ok := m["agent_id"]; ok {
				key = m["name"].(string)
			}
			out[key] = m
		}
		return out
	}
	// Admin: both queues; 8000 had 3 calls, one within 20 s.
	q := totals("admin", "/api/reports/queues?"+rng)
	if len(q) != 2 || q["8000"]["offered"] != 3.0 || q["8000"]["answered"] != 2.0 || q["8000"]["abandoned"] != 1.0 ||
		q["8000"]["service_level"] != 33.3 || q["8001"]["offered"] != 1.0 {
		t.Fatalf("admin totals %v", q)
	}
	// The supervisor of 8000 sees 8000 only; a supervisor of nothing, nothing.
	if q := totals("eva", "/api/reports/queues?"+rng); len(q) != 1 || q["8000"] == nil {
		t.Fatalf("eva totals %v", q)
	}
	if q := totals("lisa", "/api/reports/queues?"+rng); len(q) != 0 {
		t.Fatalf("lisa totals %v", q)
	}
	// Agents: an agent sees themselves, eva the agents of 8000.
	if a := totals("1001", "/api/reports/agents?"+rng); len(a) != 1 || a["User 1001"]["answered"] != 1.0 ||
		a["User 1001"]["status_s"].(map[string]any)["available"] != 5400.0 ||
		a["User 1001"]["reason_s"].(map[string]any)["lunch"] != 1800.0 {
		t.Fatalf("1001's own report %v", a)
	}
	if a := totals("eva", "/api/reports/agents?"+rng); len(a) != 2 || a["User 1001"] == nil || a["User 1002"] == nil {
		t.Fatalf("eva's agents %v", a)
	}
	// Admin: every user owning an extension, the operator too.
	if a := totals("admin", "/api/reports/agents?interval=day&"+rng); len(a) != 4 || a["User 1003"]["answered"] != 1.0 {
		t.Fatalf("admin's agents %v", a)
	}

	// CSV by Accept, and the plot.
	get := func(user, path, accept string) *http.Response {
		req, _ := http.NewRequest("GET", env.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+env.tokens[user])
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get("eva", "/api/reports/queues?"+rng, "text/csv")
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(recs) != 3 ||
		recs[1][0] != "8000" || recs[1][3] != "2" || recs[2][5] != "1" {
		t.Fatalf("csv %v %q %v", err, recs, resp.Header)
	}
	resp = get("eva", "/api/reports/queues/8000/plot.svg?"+rng, "")
	svg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" ||
		!strings.Contains(string(svg), "Queue 8000 Support") || !strings.Contains(string(svg), "target 80 %") {
		t.Fatalf("plot %d %v %s", resp.StatusCode, resp.Header, svg)
	}
}

// TestQueueCapacityAPI: the stats carry the capacity estimate with the
// queue's target, which PATCH /api/queues/{number} sets.
func TestQueueCapacityAPI(t *testing.T) {
	env := newACDTestEnv(t)
	env.run([]apiCall{
		{"admin", "PATCH", "/api/queues/8000", `{"service_level_target_pct": 100}`, 400, "invalid_service_level_target_pct"},
		{"admin", "PATCH", "/api/queues/8000", `{"max_occupancy_pct": 101}`, 400, "invalid_max_occupancy_pct"},
		{"admin", "PATCH", "/api/queues/8000", `{"service_level_target_pct": 90, "max_occupancy_pct": 85}`, 200, ""},
	})
	status, q := env.do("admin", "GET", "/api/queues/8000", "")
	if status != 200 || q["service_level_target_pct"] != 90.0 || q["max_occupancy_pct"] != 85.0 {
		t.Fatalf("queue %d %v", status, q)
	}
	status, s := env.do("eva", "GET", "/api/queues/8000/stats", "")
	c, _ := s["capacity"].(map[string]any)
	if status != 200 || c == nil || c["target_service_level"] != 90.0 || c["max_occupancy"] != 85.0 ||
		c["service_level_s"] != 20.0 || c["measured_calls_per_hour"] != 0.0 || c["model_erlangs"] != nil {
		t.Fatalf("stats %d %v", status, s)
	}
}
