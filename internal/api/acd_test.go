package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// acdTestEnv is the API on a real store with a running ACD: users admin,
// eva (supervisor of 8000), lisa (supervisor of nothing), reception
// (operator), agents 1001 and 1002 in queue 8000 and 1003 in 8001. Each
// has an API token.
type acdTestEnv struct {
	t      *testing.T
	st     *store.Store
	e      *acd.Engine
	s      *Server
	srv    *httptest.Server
	tokens map[string]string
	ids    map[string]int64
}

func newACDTestEnv(t *testing.T) *acdTestEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := &acdTestEnv{t: t, st: st, tokens: map[string]string{}, ids: map[string]int64{}}
	authn := auth.New(auth.Config{Logger: slog.New(slog.DiscardHandler)}, st)
	users := []struct {
		name string
		role store.Role
		ext  string
	}{
		{"admin", store.RoleAdmin, ""}, {"eva", store.RoleSupervisor, ""}, {"lisa", store.RoleSupervisor, ""},
		{"reception", store.RoleOperator, "1009"},
		{"1001", store.RoleAgent, "1001"}, {"1002", store.RoleAgent, "1002"}, {"1003", store.RoleAgent, "1003"},
	}
	for _, u := range users {
		su, err := st.CreateUser(ctx, store.User{Username: u.name, DisplayName: "User " + u.name, Role: u.role})
		if err != nil {
			t.Fatal(err)
		}
		env.ids[u.name] = su.ID
		if u.ext != "" {
			if _, err := st.CreateExtension(ctx, store.Extension{Number: u.ext, UserID: su.ID, Realm: "r"}); err != nil {
				t.Fatal(err)
			}
		}
		tok, _, err := authn.CreateAPIToken(ctx, su.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		env.tokens[u.name] = tok
	}
	for _, q := range []store.Queue{
		{Number: "8000", Name: "Support", Members: []store.QueueMember{{Extension: "1001"}, {Extension: "1002"}}},
		{Number: "8001", Name: "Sales", Members: []store.QueueMember{{Extension: "1003"}}},
	} {
		if _, err := st.CreateQueue(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	bus := events.New(256)
	env.e = acd.New(acd.Config{Store: st, Events: bus})
	if err := env.e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	env.e.Start()
	t.Cleanup(env.e.Close)
	if _, err := env.e.SetSupervisors(ctx, "8000", []int64{env.ids["eva"]}); err != nil {
		t.Fatal(err)
	}
	env.s = New(st, authn, nil, bus, slog.New(slog.DiscardHandler), Options{Realm: "r", ACD: env.e})
	env.srv = httptest.NewServer(env.s)
	t.Cleanup(env.srv.Close)
	return env
}

// do sends a request as user and returns the status and the JSON body.
func (env *acdTestEnv) do(user, method, path, body string) (int, map[string]any) {
	env.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.srv.URL+path, rd)
	if err != nil {
		env.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env.tokens[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			env.t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// apiCall is one request and what it must answer.
type apiCall struct {
	user, method, path, body string
	status                   int
	code                     string // error code, when status >= 400
}

func (env *acdTestEnv) run(calls []apiCall) {
	env.t.Helper()
	for _, c := range calls {
		status, body := env.do(c.user, c.method, c.path, c.body)
		if status != c.status || c.code != "" && body["code"] != c.code {
			env.t.Errorf("%s %s %s %s: %d %v, want %d %s", c.user, c.method, c.path, c.body, status, body, c.status, c.code)
		}
	}
}

func (env *acdTestEnv) id(user string) string { return fmt.Sprint(env.ids[user]) }

func TestACDAgentStatusAPI(t *testing.T) {
	env := newACDTestEnv(t)
	status, me := env.do("1001", "GET", "/api/me/agent", "")
	if status != 200 || me["status"] != "available" || me["state"] != "idle" || me["presence"] != "available" {
		t.Fatalf("GET /api/me/agent: %d %v", status, me)
	}
	if _, ok := me["seconds_in_state"]; !ok {
		t.Error("no timer in the agent state")
	}
	env.run([]apiCall{
		{"admin", "GET", "/api/me/agent", "", 404, "not_an_agent"},
		{"1001", "PUT", "/api/me/agent", `{"status":"break"}`, 200, ""},
		{"1001", "PUT", "/api/me/agent", `{"status":"sleeping"}`, 400, "invalid_status"},
		{"1001", "PUT", "/api/me/agent", `{"status":"available","reason_code":"lunch"}`, 400, "invalid_reason_code"},
		{"1001", "PUT", "/api/me/agent", `{"status":"break","extra":1}`, 400, "invalid_json"},
		// Reason codes: admins write, everyone reads.
		{"1001", "POST", "/api/reason-codes", `{"code":"lunch","kind":"break"}`, 403, "forbidden"},
		{"admin", "POST", "/api/reason-codes", `{"code":"lunch","label":"Lunch","kind":"break"}`, 201, ""},
		{"admin", "POST", "/api/reason-codes", `{"code":"lunch","kind":"break"}`, 409, "reason_code_exists"},
		{"admin", "POST", "/api/reason-codes", `{"code":"nap","kind":"sleep"}`, 400, "invalid_kind"},
		{"admin", "POST", "/api/reason-codes", `{"code":"","kind":"break"}`, 400, "invalid_code"},
		{"admin", "POST", "/api/reason-codes", `{"code":"email","kind":"offline"}`, 201, ""},
		{"1001", "GET", "/api/reason-codes", "", 200, ""},
		{"1001", "PUT", "/api/me/agent", `{"status":"idle"}`, 400, "reason_required"},
		{"1001", "PUT", "/api/me/agent", `{"status":"break","reason_code":"email"}`, 400, "invalid_reason_code"},
		{"1001", "PUT", "/api/me/agent", `{"status":"idle","reason_code":"lunch"}`, 200, ""},
		// Changing another agent: themselves, their queues' supervisor, admins.
		{"1001", "PUT", "/api/agents/" + env.id("1002") + "/status", `{"status":"logged_out"}`, 403, "forbidden"},
		{"lisa", "PUT", "/api/agents/" + env.id("1002") + "/status", `{"status":"logged_out"}`, 403, "forbidden"},
		{"reception", "PUT", "/api/agents/" + env.id("1002") + "/status", `{"status":"logged_out"}`, 403, "forbidden"},
		{"eva", "PUT", "/api/agents/" + env.id("1002") + "/status", `{"status":"offline","reason_code":"email"}`, 200, ""},
		{"eva", "PUT", "/api/agents/" + env.id("1003") + "/status", `{"status":"logged_out"}`, 403, "forbidden"},
		{"admin", "PUT", "/api/agents/" + env.id("1003") + "/status", `{"status":"logged_out"}`, 200, ""},
		{"admin", "PUT", "/api/agents/" + env.id("admin") + "/status", `{"status":"available"}`, 404, "agent_not_found"},
		{"admin", "PUT", "/api/agents/x/status", `{"status":"available"}`, 400, "invalid_id"},
		{"1002", "POST", "/api/me/wrapup", `{}`, 409, "not_in_wrapup"},
		{"admin", "DELETE", "/api/reason-codes/999", "", 404, "reason_code_not_found"},
	})
	_, got := env.do("1002", "GET", "/api/me/agent", "")
	if got["status"] != "offline" || got["reason_code"] != "email" {
		t.Errorf("1002 after eva's change: %v", got)
	}

	// Who sees whom.
	names := func(user string) []string {
		_, body := env.do(user, "GET", "/api/agents", "")
		var out []string
		for _, a := range body["agents"].([]any) {
			out = append(out, a.(map[string]any)["username"].(string))
		}
		slices.Sort(out)
		return out
	}
	for user, want := range map[string][]string{
		"admin":     {"1001", "1002", "1003", "reception"},
		"reception": {"1001", "1002", "1003", "reception"},
		"eva":       {"1001", "1002"},
		"lisa":      nil,
		"1001":      {"1001", "1002"},
		"1003":      {"1003"},
	} {
		if got := names(user); !slices.Equal(got, want) {
			t.Errorf("%s sees %v, want %v", user, got, want)
		}
	}
	env.run([]apiCall{
		{"1001", "GET", "/api/agents/" + env.id("1002"), "", 200, ""},
		{"1001", "GET", "/api/agents/" + env.id("1003"), "", 403, "forbidden"},
		{"1001", "GET", "/api/agents/" + env.id("1001") + "/history", "", 200, ""},
		{"1001", "GET", "/api/agents/" + env.id("1002") + "/history", "", 403, "forbidden"},
		{"eva", "GET", "/api/agents/" + env.id("1001") + "/history?limit=0", "", 400, "invalid_limit"},
		{"eva", "GET", "/api/agents/" + env.id("1001") + "/history?since=yesterday", "", 400, "invalid_since"},
	})
	_, h := env.do("eva", "GET", "/api/agents/"+env.id("1001")+"/history", "")
	rows, _ := h["history"].([]any)
	var tos []string
	for _, r := range rows {
		m := r.(map[string]any)
		tos = append(tos, fmt.Sprint(m["from"], ">", m["to"], ":", m["reason_code"]))
	}
	if want := []string{"available>break:<nil>", "break>break:lunch"}; !slices.Equal(tos, want) {
		t.Errorf("1001's history %v, want %v", tos, want)
	}
}

func TestACDQueueAPI(t *testing.T) {
	env := newACDTestEnv(t)
	base := "/api/queues/8000"
	env.run([]apiCall{
		// Membership: own state yes, own penalty no, others only as supervisor.
		{"1001", "PUT", base + "/members/1001", `{"state":"paused"}`, 200, ""},
		{"1001", "PUT", base + "/members/1001", `{"penalty":3}`, 403, "forbidden"},
		{"1001", "PUT", base + "/members/1002", `{"state":"paused"}`, 403, "forbidden"},
		{"1001", "PUT", base + "/members/1001", `{"state":"asleep"}`, 400, "invalid_state"},
		{"1001", "PUT", base + "/members/1001", `{}`, 400, "invalid_request"},
		{"1003", "PUT", base + "/members/1003", `{"state":"logged_in"}`, 404, "member_not_found"},
		{"eva", "PUT", base + "/members/1002", `{"state":"logged_out","penalty":2}`, 200, ""},
		{"eva", "PUT", base + "/members/1002", `{"penalty":101}`, 400, "invalid_penalty"},
		{"eva", "PUT", base + "/members/1003", `{"state":"logged_in"}`, 200, ""}, // added by the supervisor
		{"eva", "PUT", base + "/members/1999", `{"state":"logged_in"}`, 404, "agent_not_found"},
		{"eva", "PUT", "/api/queues/8001/members/1003", `{"state":"paused"}`, 403, "forbidden"},
		{"admin", "PUT", "/api/queues/8001/members/1003", `{"state":"paused"}`, 200, ""},
		{"admin", "PUT", "/api/queues/8999/members/1003", `{"state":"paused"}`, 404, "queue_not_found"},
		// Statistics: members, supervisors, who sees every call.
		{"1001", "GET", base + "/stats", "", 200, ""},
		{"reception", "GET", base + "/stats", "", 200, ""},
		{"lisa", "GET", base + "/stats", "", 200, ""}, // a supervisor sees every call
		{"1003", "GET", "/api/queues/8001/stats", "", 200, ""},
		{"1001", "GET", "/api/queues/8001/stats", "", 403, "forbidden"},
		{"admin", "GET", "/api/queues/8999/stats", "", 404, "queue_not_found"},
		// Wrap-up codes: admins and the queue's supervisors write, members read.
		{"1001", "POST", base + "/wrapup-codes", `{"code":"sale"}`, 403, "forbidden"},
		{"eva", "POST", base + "/wrapup-codes", `{"code":"sale","label":"Sale"}`, 201, ""},
		{"admin", "POST", base + "/wrapup-codes", `{"code":"sale"}`, 409, "wrapup_code_exists"},
		{"admin", "POST", base + "/wrapup-codes", `{"code":"info"}`, 201, ""},
		{"lisa", "POST", base + "/wrapup-codes", `{"code":"x"}`, 403, "forbidden"},
		{"admin", "POST", "/api/queues/8999/wrapup-codes", `{"code":"x"}`, 404, "queue_not_found"},
		{"1001", "GET", base + "/wrapup-codes", "", 200, ""},
		{"1003", "GET", "/api/queues/8001/wrapup-codes", "", 200, ""},
		{"1001", "GET", "/api/queues/8001/wrapup-codes", "", 403, "forbidden"},
		{"admin", "DELETE", base + "/wrapup-codes/999", "", 404, "wrapup_code_not_found"},
		// Supervisors: admins set them; only supervisors may be set.
		{"eva", "GET", base + "/supervisors", "", 200, ""},
		{"lisa", "GET", base + "/supervisors", "", 403, "forbidden"},
		{"eva", "PUT", base + "/supervisors", `{"user_ids":[]}`, 403, "forbidden"},
		{"admin", "PUT", base + "/supervisors", `{"user_ids":[` + env.id("1001") + `]}`, 400, "invalid_user_ids"},
		{"admin", "PUT", base + "/supervisors", `{"user_ids":[4242]}`, 400, "invalid_user_ids"},
		{"admin", "PUT", "/api/queues/8999/supervisors", `{"user_ids":[]}`, 404, "queue_not_found"},
	})
	_, d := env.do("eva", "GET", base+"/stats", "")
	if d["agents_logged_in"] != 1.0 || d["agents_paused"] != 1.0 || d["agents_logged_out"] != 1.0 || len(d["members"].([]any)) != 3 {
		t.Errorf("stats after the membership changes: %v", d)
	}
	_, codes := env.do("1001", "GET", base+"/wrapup-codes", "")
	list := codes["wrapup_codes"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["code"] != "info" {
		t.Fatalf("wrap-up codes %v", codes)
	}
	env.run([]apiCall{
		{"eva", "DELETE", base + "/wrapup-codes/" + fmt.Sprint(list[0].(map[string]any)["id"]), "", 204, ""},
		{"admin", "PUT", base + "/supervisors", `{"user_ids":[` + env.id("lisa") + `]}`, 200, ""},
		// eva no longer supervises 8000.
		{"eva", "PUT", base + "/members/1002", `{"state":"logged_in"}`, 403, "forbidden"},
		{"lisa", "PUT", base + "/members/1002", `{"state":"logged_in"}`, 200, ""},
	})
	if !env.e.Supervises(env.ids["lisa"], "8000") || env.e.Supervises(env.ids["eva"], "8000") {
		t.Error("Supervises does not follow PUT /supervisors")
	}
}

// TestACDWrapupAPI: a queue call through the engine, then the agent picks
// a wrap-up code through the API and it lands on the CDR.
func TestACDWrapupAPI(t *testing.T) {
	env := newACDTestEnv(t)
	env.run([]apiCall{
		{"admin", "PATCH", "/api/queues/8000", `{"strategy":"linear","wrapup_time_s":60,"max_waiting":5,"join_empty":false}`, 200, ""},
		{"admin", "PATCH", "/api/queues/8000", `{"strategy":"random"}`, 400, "unsupported_strategy"},
		{"admin", "PATCH", "/api/queues/8000", `{"ring_time_s":0}`, 400, "invalid_ring_time_s"},
		{"admin", "PATCH", "/api/queues/8000", `{"ring_time_s":"x"}`, 400, "invalid_ring_time_s"},
		{"admin", "POST", "/api/queues/8000/wrapup-codes", `{"code":"sale"}`, 201, ""},
	})
	_, q := env.do("admin", "GET", "/api/queues/8000", "")
	if q["strategy"] != "linear" || q["wrapup_time_s"] != 60.0 || q["join_empty"] != false || q["ring_time_s"] != 20.0 {
		t.Errorf("queue after PATCH: %v", q)
	}
	st, _ := env.e.QueueStats("8000")
	if st.Strategy != "linear" {
		t.Errorf("the ACD did not reload: %s", st.Strategy)
	}
	if err := env.e.Enter(acd.QueueCall{ID: "call-7", Queue: "8000", CallerNumber: "+31205550100"}); err != nil {
		t.Fatal(err)
	}
	env.e.OfferAnswered("call-7", "1001")
	_, me := env.do("1001", "GET", "/api/me/agent", "")
	if me["state"] != "busy" || me["call"].(map[string]any)["id"] != "call-7" {
		t.Fatalf("1001 on the call: %v", me)
	}
	env.e.InteractionEnded("call-7")
	env.run([]apiCall{
		{"1001", "POST", "/api/me/wrapup", `{"code":"nope"}`, 400, "invalid_wrapup_code"},
		{"1001", "POST", "/api/me/wrapup", `{"code":"sale","end":false}`, 200, ""},
	})
	_, me = env.do("1001", "GET", "/api/me/agent", "")
	if me["state"] != "wrap_up" || me["wrapup"].(map[string]any)["code"] != "sale" {
		t.Fatalf("1001 in wrap-up: %v", me)
	}
	env.run([]apiCall{{"1001", "POST", "/api/me/wrapup", `{}`, 200, ""}})
	_, me = env.do("1001", "GET", "/api/me/agent", "")
	if me["state"] != "idle" {
		t.Fatalf("wrap-up not ended: %v", me)
	}
	if _, err := env.st.InsertCDR(context.Background(), store.CDR{CallID: "call-7", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	cdrs, _ := env.st.CDRs(context.Background(), 1)
	if len(cdrs) != 1 || cdrs[0].WrapupCode != "sale" {
		t.Errorf("CDR %+v", cdrs)
	}
	_, d := env.do("admin", "GET", "/api/queues/8000/stats", "")
	if d["answered_last_hour"] != 1.0 || d["entered_last_hour"] != 1.0 {
		t.Errorf("stats %v", d)
	}
}

func TestACDUnavailable(t *testing.T) {
	s := New(nil, nil, nil, nil, slog.New(slog.DiscardHandler), Options{})
	rec := httptest.NewRecorder()
	s.listReasonCodes(rec, httptest.NewRequest("GET", "/api/reason-codes", nil), principal(store.RoleAgent))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "acd_unavailable") {
		t.Errorf("without an ACD: %d %s", rec.Code, rec.Body)
	}
}

// TestACDEventVisibility: without events.view_all, an agent receives its
// own state and memberships and its queues' statistics, nothing else.
func TestACDEventVisibility(t *testing.T) {
	env := newACDTestEnv(t)
	p := auth.Principal{User: store.User{ID: env.ids["1001"], Role: store.RoleAgent}, Extensions: []string{"1001"}}
	own, _ := env.e.AgentByExtension("1001")
	other, _ := env.e.AgentByExtension("1003")
	stats8000, _ := env.e.QueueStats("8000")
	stats8001, _ := env.e.QueueStats("8001")
	for _, c := range []struct {
		name string
		data any
		want bool
	}{
		{"own state", own, true},
		{"another agent's state", other, false},
		{"own membership", own.Queues[0], true},
		{"another's membership", other.Queues[0], false},
		{"own queue's statistics", stats8000, true},
		{"another queue's statistics", stats8001, false},
		{"a queue call", acd.QueueCallView{Queue: "8000"}, false},
	} {
		if got := env.s.visible(p, events.Event{Data: c.data}); got != c.want {
			t.Errorf("%s: visible %v, want %v", c.name, got, c.want)
		}
	}
}
