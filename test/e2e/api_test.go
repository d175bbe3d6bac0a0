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
// 1001 → 1002; refused actions get 403 with a stable code and change nothing.
func TestPermissionMatrix(t *testing.T) {
	s := startServer(t, serverOpts{})
	answeredCall(t, s)
	id := waitCallState(t, s, "answered", "")

	type row struct {
		user       string // "" = anonymous; "admin"; 1001 agent in the call; 1003 agent not in it; 1009 operator; 1010 supervisor
		listCalls  int    // calls visible
		hold       int    // status of hold on the caller
		seesAllCDR bool
	}
	rows := []row{
		{"admin", 1, 200, true},
		{"1001", 1, 200, false},
		{"1003", 0, 403, false},
		{"1009", 1, 200, false},
		{"1010", 1, 403, true},
	}
	for _, r := range rows {
		t.Run("user "+r.user, func(t *testing.T) {
			code, body := s.as(t, r.user, "GET", "/api/calls", "")
			if code != 200 {
				t.Fatalf("GET /api/calls: %d", code)
			}
			if n := len(body["calls"].([]any)); n != r.listCalls {
				t.Errorf("sees %d calls, want %d", n, r.listCalls)
			}
			code, body = s.as(t, r.user, "POST", "/api/calls/"+id+"/hold", `{"party":"caller"}`)
			if code != r.hold {
				t.Fatalf("hold: %d %v, want %d", code, body, r.hold)
			}
			if code == 403 {
				if body["code"] != "forbidden" {
					t.Errorf("403 code %v, want forbidden", body["code"])
				}
				waitCallState(t, s, "answered", "") // nothing changed
			} else {
				waitCallState(t, s, "held", "caller")
				if code, _ := s.as(t, r.user, "POST", "/api/calls/"+id+"/resume", ""); code != 200 {
					t.Fatalf("resume: %d", code)
				}
				waitCallState(t, s, "answered", "")
			}
		})
	}
	for _, path := range []string{"/api/calls", "/api/cdrs", "/api/me", "/api/events"} {
		if code, body := s.as(t, "", "GET", path, ""); code != 401 || body["code"] != "unauthenticated" {
			t.Errorf("anonymous GET %s: %d %v", path, code, body)
		}
	}
	if code, _ := s.as(t, "", "POST", "/api/calls/"+id+"/hangup", ""); code != 401 {
		t.Errorf("anonymous hangup: %d", code)
	}
	waitCallState(t, s, "answered", "")
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
