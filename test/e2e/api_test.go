package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// as makes an API request as user (logging in with the demo password) and
// returns the status and the decoded body.
func (s *server) as(t *testing.T, user, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.HTTPAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		pass := "demo-" + user
		tok, err := s.login(user, pass)
		if err != nil {
			t.Fatalf("login %s: %v", user, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// TestPermissionMatrix: every role × action against a live call
// 1001 → 1002; refused actions get 403 with a stable code and change
// nothing. Operator 1009 is also tried with follow lists (SPEC X2): a
// list that does not cover the call narrows the operator to nothing on
// it; one that covers it, or an empty one, gives the operator's full reach.
// Call-control actions that pass the permission check are sent with
// input that then fails (an invalid target, a call that is not ringing,
// no extension to act from), so that the matrix changes nothing either.
func TestPermissionMatrix(t *testing.T) {
	s := startServer(t, serverOpts{})
	answeredCall(t, s)
	id := waitCallState(t, s, "answered", "")
	users := userIDs(t, s)

	type want struct {
		status int
		code   string // error code when status >= 400
	}
	type row struct {
		name      string
		user      string // "admin"; 1001 agent in the call; 1003 agent not in it; 1009 operator; 1010 supervisor
		follows   string // when not "": PUT as the operator's follow list first
		listCalls int    // calls visible
		hold      int    // status of hold on the caller (then resume when 200)
		hangup    want   // a held call: 409 call_held when allowed, so nothing ends
		transfer  want   // to an invalid target
		consult   want   // to an invalid target
		pickup    want   // the call is answered, not ringing
		monitor   want   // the call is not a queue call
		recording want   // start (then stop when 200)
	}
	var (
		noExt        = want{409, "no_extension"}
		badTarget    = want{400, "invalid_target"}
		notOnCall    = want{403, "not_on_call"}
		notRinging   = want{409, "call_not_ringing"}
		forbidden    = want{403, "forbidden"}
		noRecording  = want{403, "recording_control_not_permitted"}
		held         = want{409, "call_held"}
		followsOf    = func(key string, v ...any) string { b, _ := json.Marshal(map[string]any{key: v}); return string(b) }
		followed1003 = followsOf("users", users["1003"])
	)
	rows := []row{
		{"admin", "admin", "", 1, 200, held, noExt, noExt, noExt, noExt, want{200, ""}},
		{"agent on the call", "1001", "", 1, 200, held, badTarget, badTarget, notRinging, forbidden, noRecording},
		{"agent not on the call", "1003", "", 0, 403, forbidden, notOnCall, notOnCall, notRinging, forbidden, noRecording},
		{"operator", "1009", "", 1, 200, held, notOnCall, notOnCall, notRinging, forbidden, noRecording},
		{"supervisor", "1010", "", 1, 403, forbidden, notOnCall, notOnCall, notRinging, forbidden, noRecording},
		{"operator following another user", "1009", followed1003, 0, 403, forbidden, notOnCall, notOnCall, forbidden, forbidden, noRecording},
		{"operator following a queue the call is not in", "1009", followsOf("queues", "8000"), 0, 403, forbidden, notOnCall, notOnCall, forbidden, forbidden, noRecording},
		{"operator following the caller", "1009", followsOf("users", users["1001"], users["1003"]), 1, 200, held, notOnCall, notOnCall, notRinging, forbidden, noRecording},
		{"operator following the callee's queue and the callee", "1009", `{"users":[` + fmt.Sprint(users["1002"]) + `],"queues":["8000"]}`, 1, 200, held, notOnCall, notOnCall, notRinging, forbidden, noRecording},
		{"operator with an emptied list", "1009", `{"users":[],"queues":[]}`, 1, 200, held, notOnCall, notOnCall, notRinging, forbidden, noRecording},
	}
	check := func(t *testing.T, what string, code int, body map[string]any, w want) {
		t.Helper()
		if code != w.status || w.status >= 400 && body["code"] != w.code {
			t.Errorf("%s: %d %v, want %d %s", what, code, body["code"], w.status, w.code)
		}
		if code == 403 && body["code"] == nil {
			t.Errorf("%s: 403 without a code", what)
		}
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if r.follows != "" {
				if code, body := s.as(t, "admin", "PUT", fmt.Sprintf("/api/users/%d/follows", users["1009"]), r.follows); code != 200 {
					t.Fatalf("set follows %s: %d %v", r.follows, code, body)
				}
			}
			code, body := s.as(t, r.user, "GET", "/api/calls", "")
			if code != 200 {
				t.Fatalf("GET /api/calls: %d", code)
			}
			if n := len(body["calls"].([]any)); n != r.listCalls {
				t.Errorf("sees %d calls, want %d", n, r.listCalls)
			}
			// The WebSocket's org topic shows the same calls.
			ws := dialWS(t, s, r.user, 0)
			if snap := subscribeOrg(t, ws); len(snap.Calls) != r.listCalls {
				t.Errorf("WebSocket snapshot has %d calls, want %d", len(snap.Calls), r.listCalls)
			}
			ws.conn.Close()
			code, body = s.as(t, r.user, "POST", "/api/calls/"+id+"/hold", `{"party":"caller"}`)
			if code != r.hold {
				t.Fatalf("hold: %d %v, want %d", code, body, r.hold)
			}
			if code == 403 {
				if body["code"] != "forbidden" {
					t.Errorf("403 code %v, want forbidden", body["code"])
				}
				waitCallState(t, s, "answered", "") // nothing changed
				// Nor may they hang it up.
				code, body = s.as(t, r.user, "POST", "/api/calls/"+id+"/hangup", "")
				check(t, "hangup", code, body, r.hangup)
			} else {
				waitCallState(t, s, "held", "caller")
				// A held call is refused (resume first): allowed, and nothing ends.
				code, body = s.as(t, r.user, "POST", "/api/calls/"+id+"/hangup", "")
				check(t, "hangup of a held call", code, body, r.hangup)
				if code, _ := s.as(t, r.user, "POST", "/api/calls/"+id+"/resume", ""); code != 200 {
					t.Fatalf("resume: %d", code)
				}
			}
			waitCallState(t, s, "answered", "")
			for _, a := range []struct {
				what, path, body string
				w                want
			}{
				{"transfer", "/transfer", `{"target":"x"}`, r.transfer},
				{"consult", "/consult", `{"target":"x"}`, r.consult},
				{"pickup", "/pickup", "", r.pickup},
				{"monitor", "/monitor", `{"mode":"listen"}`, r.monitor},
				{"recording start", "/recording/start", "", r.recording},
			} {
				code, body := s.as(t, r.user, "POST", "/api/calls/"+id+a.path, a.body)
				check(t, a.what, code, body, a.w)
				if a.what == "recording start" && code == 200 {
					if code, body := s.as(t, r.user, "POST", "/api/calls/"+id+"/recording/stop", ""); code != 200 {
						t.Errorf("recording stop: %d %v", code, body)
					}
				}
				waitCallState(t, s, "answered", "") // the call is where it was
			}
			code, body = s.as(t, r.user, "GET", "/api/cdrs?limit=1", "")
			if code != 200 {
				t.Errorf("GET /api/cdrs: %d %v", code, body)
			}
		})
	}
	for _, path := range []string{"/api/calls", "/api/cdrs", "/api/me", "/api/events", "/api/interactions"} {
		if code, body := s.as(t, "", "GET", path, ""); code != 401 || body["code"] != "unauthenticated" {
			t.Errorf("anonymous GET %s: %d %v", path, code, body)
		}
	}
	for _, path := range []string{"/hangup", "/transfer", "/consult", "/pickup", "/monitor", "/recording/start"} {
		if code, body := s.as(t, "", "POST", "/api/calls/"+id+path, `{"target":"1003"}`); code != 401 || body["code"] != "unauthenticated" {
			t.Errorf("anonymous POST %s: %d %v", path, code, body)
		}
	}
	// Follow lists are the administrator's: nobody else reads or sets them.
	for _, u := range []string{"1001", "1009", "1010"} {
		for _, m := range []string{"GET", "PUT"} {
			if code, body := s.as(t, u, m, fmt.Sprintf("/api/users/%d/follows", users["1009"]), `{}`); code != 403 || body["code"] != "forbidden" {
				t.Errorf("%s %s follows as %s: %d %v", m, "1009", u, code, body)
			}
		}
	}
	waitCallState(t, s, "answered", "")
}

// userIDs maps usernames to user ids (GET /api/users as admin).
func userIDs(t *testing.T, s *server) map[string]int64 {
	t.Helper()
	code, body := s.as(t, "admin", "GET", "/api/users", "")
	if code != 200 {
		t.Fatalf("GET /api/users: %d %v", code, body)
	}
	out := map[string]int64{}
	for _, u := range body["users"].([]any) {
		m := u.(map[string]any)
		out[m["username"].(string)] = int64(m["id"].(float64))
	}
	return out
}

func TestCDRVisibility(t *testing.T) {
	s := startServer(t, serverOpts{})
	out, _ := answeredCall(t, s)
	out.Hangup(ctxFor(t, 5*time.Second))
	eventually(t, 5*time.Second, func() error {
		if n := len(s.cdrs(t)); n != 1 {
			return fmt.Errorf("%d CDRs", n)
		}
		return nil
	})
	for _, tt := range []struct {
		user string
		want int
	}{{"admin", 1}, {"1010", 1}, {"1001", 1}, {"1002", 1}, {"1003", 0}, {"1009", 0}} {
		code, body := s.as(t, tt.user, "GET", "/api/cdrs", "")
		if code != 200 || len(body["cdrs"].([]any)) != tt.want {
			t.Errorf("%s sees %v CDRs (HTTP %d), want %d", tt.user, body["cdrs"], code, tt.want)
		}
	}
}

func TestLoginSessionsAndTokens(t *testing.T) {
	s := startServer(t, serverOpts{})
	post := func(path, body string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", "http://"+s.HTTPAddr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	bad := []struct {
		name, body string
		want       int
	}{
		{"wrong password", `{"username":"1001","password":"nope"}`, 401},
		{"unknown user", `{"username":"nobody","password":"x"}`, 401},
		{"not json", `{`, 400},
		{"unknown field", `{"username":"1001","password":"demo-1001","admin":true}`, 400},
		{"oversized", `{"username":"` + strings.Repeat("a", 70000) + `"}`, 413},
	}
	for _, tt := range bad {
		if resp := post("/api/login", tt.body, nil); resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}

	// The console's session cookie: HTTP-only, SameSite=Strict.
	resp := post("/api/login", `{"username":"1001","password":"demo-1001"}`, nil)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "switchboard_session" {
			cookie = c
		}
	}
	if resp.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d cookie %+v", resp.StatusCode, cookie)
	}
	withCookie := func(method, path, origin string) int {
		req, _ := http.NewRequest(method, "http://"+s.HTTPAddr+path, strings.NewReader(`{"name":"x"}`))
		req.AddCookie(cookie)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := withCookie("GET", "/api/me", ""); code != 200 {
		t.Fatalf("GET /api/me with cookie: %d", code)
	}
	if code := withCookie("POST", "/api/me/tokens", "http://evil.example"); code != 403 {
		t.Fatalf("cross-origin POST with cookie: %d, want 403", code)
	}
	if code := withCookie("POST", "/api/me/tokens", "http://"+s.HTTPAddr); code != 201 {
		t.Fatalf("same-origin POST with cookie: %d, want 201", code)
	}

	// An API token works as a bearer and can be revoked.
	code, body := s.as(t, "1002", "POST", "/api/me/tokens", `{"name":"crm"}`)
	if code != 201 || body["token"] == "" {
		t.Fatalf("create token: %d %v", code, body)
	}
	tok, tokID := body["token"].(string), fmt.Sprint(body["id"])
	get := func(tok string) int {
		req, _ := http.NewRequest("GET", "http://"+s.HTTPAddr+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get(tok) != 200 {
		t.Fatal("API token refused")
	}
	if code, _ := s.as(t, "1003", "DELETE", "/api/me/tokens/"+tokID, ""); code != 404 {
		t.Fatalf("another user deleting the token: %d, want 404", code)
	}
	if code, _ := s.as(t, "1002", "DELETE", "/api/me/tokens/"+tokID, ""); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if get(tok) != 401 {
		t.Fatal("revoked token still works")
	}

	// Logout ends the session.
	sess, _ := s.login("1004", "demo-1004")
	if resp := post("/api/logout", "", map[string]string{"Authorization": "Bearer " + sess}); resp.StatusCode != 204 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if get(sess) != 401 {
		t.Fatal("session alive after logout")
	}

	// Five wrong passwords lock the user (from any source) for a while.
	for i := 0; i < 5; i++ {
		post("/api/login", `{"username":"1005","password":"wrong"}`, nil)
	}
	if resp := post("/api/login", `{"username":"1005","password":"demo-1005"}`, nil); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("locked user: %d, want 429 with Retry-After", resp.StatusCode)
	}
}

func TestCDRFiltersAndCSV(t *testing.T) {
	s := startServer(t, serverOpts{})
	out, _ := answeredCall(t, s)
	out.Hangup(ctxFor(t, 5*time.Second))
	eventually(t, 5*time.Second, func() error {
		if n := len(s.cdrs(t)); n != 1 {
			return fmt.Errorf("%d CDRs", n)
		}
		return nil
	})
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tt := range []struct {
		user, query string
		code, n     int
	}{
		{"admin", "?extension=1002", 200, 1},
		{"admin", "?extension=1003", 200, 0},
		{"admin", "?since=" + past, 200, 1},
		{"admin", "?since=" + future, 200, 0},
		{"admin", "?until=" + past, 200, 0},
		{"admin", "?queue=8000", 200, 0},
		{"admin", "?since=yesterday", 400, 0},
		{"admin", "?format=xml", 400, 0},
		{"1001", "?extension=1001", 200, 1},
		{"1003", "?extension=1001", 403, 0}, // another agent's history
		{"1010", "?extension=1001", 200, 1}, // a supervisor may
	} {
		code, body := s.as(t, tt.user, "GET", "/api/cdrs"+tt.query, "")
		if code != tt.code {
			t.Errorf("%s GET /api/cdrs%s: %d %v, want %d", tt.user, tt.query, code, body, tt.code)
			continue
		}
		if code == 200 && len(body["cdrs"].([]any)) != tt.n {
			t.Errorf("%s GET /api/cdrs%s: %d CDRs, want %d", tt.user, tt.query, len(body["cdrs"].([]any)), tt.n)
		}
	}

	req, _ := http.NewRequest("GET", "http://"+s.HTTPAddr+"/api/cdrs?format=csv", nil)
	if err := s.authorize(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(lines) != 2 {
		t.Fatalf("CSV: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	if !strings.HasPrefix(lines[0], "id,call_id,direction,from,") || !strings.Contains(lines[1], ",1001,") || !strings.Contains(lines[1], ",answered,") {
		t.Fatalf("CSV content:\n%s", raw)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	s := startServer(t, serverOpts{})
	other, err := s.login("1006", "demo-1006") // an older session, e.g. another browser
	if err != nil {
		t.Fatal(err)
	}
	// The session making the change, opened after the other one.
	body, _ := json.Marshal(map[string]string{"username": "1006", "password": "demo-1006"})
	resp, err := http.Post("http://"+s.HTTPAddr+"/api/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	do := func(tok, method, path, body string) int {
		req, _ := http.NewRequest(method, "http://"+s.HTTPAddr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		body string
		want int
	}{
		{`{"current_password":"wrong","new_password":"a-new-secret-1"}`, 403},
		{`{"current_password":"demo-1006","new_password":"short"}`, 400},
		{`{"current_password":"demo-1006"}`, 400},
	} {
		if code := do(sess.Token, "PUT", "/api/me/password", tt.body); code != tt.want {
			t.Errorf("PUT /api/me/password %s: %d, want %d", tt.body, code, tt.want)
		}
	}
	if code := do(other, "GET", "/api/me", ""); code != 200 {
		t.Fatal("a refused change ended the other session")
	}
	if code := do(sess.Token, "PUT", "/api/me/password", `{"current_password":"demo-1006","new_password":"a-new-secret-1"}`); code != 204 {
		t.Fatalf("change: %d", code)
	}
	if do(sess.Token, "GET", "/api/me", "") != 200 {
		t.Error("the session that changed the password was ended")
	}
	if do(other, "GET", "/api/me", "") != 401 {
		t.Error("the other session survived the password change")
	}
	s.tokens = nil
	if _, err := s.login("1006", "demo-1006"); err == nil {
		t.Error("the old password still logs in")
	}
	if _, err := s.login("1006", "a-new-secret-1"); err != nil {
		t.Errorf("the new password does not log in: %v", err)
	}
}

func TestSelfServiceMirrors(t *testing.T) {
	s := startServer(t, serverOpts{})
	answeredCall(t, s)
	for _, tt := range []struct {
		user, path string
		n          int
	}{
		{"admin", "/api/calls", 1},
		{"admin", "/api/me/calls", 0}, // the admin has no extension in the call
		{"1001", "/api/me/calls", 1},
		{"1009", "/api/me/calls", 0}, // the operator sees all calls, but none is theirs
		{"1009", "/api/calls", 1},
	} {
		code, body := s.as(t, tt.user, "GET", tt.path, "")
		if code != 200 || len(body["calls"].([]any)) != tt.n {
			t.Errorf("%s GET %s: %d, %v calls, want %d", tt.user, tt.path, code, body["calls"], tt.n)
		}
	}
	if code, _ := s.as(t, "1001", "GET", "/api/me/cdrs?extension=1002", ""); code != 403 {
		t.Errorf("1001 asking /api/me/cdrs for 1002: %d, want 403", code)
	}
	if code, body := s.as(t, "1001", "GET", "/api/me/cdrs", ""); code != 200 || body["cdrs"] == nil {
		t.Errorf("1001 /api/me/cdrs: %d %v", code, body)
	}
}
