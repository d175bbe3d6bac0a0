package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// expectAPI checks an API answer's status and, when wantCode is set, its
// error code.
func expectAPI(t *testing.T, what string, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || wantCode != "" && body["code"] != wantCode {
		t.Fatalf("%s: HTTP %d %v, want %d %s", what, status, body, wantStatus, wantCode)
	}
}

// configSnapshot is every configuration list as the admin sees it, to
// show that a refused request changed nothing.
func configSnapshot(t *testing.T, s *server) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{"/api/users", "/api/extensions", "/api/trunks", "/api/dids", "/api/queues"} {
		code, body := s.as(t, "admin", "GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %v", path, code, body)
		}
		js, _ := json.Marshal(body)
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.String()
}

// findItem returns the element of list (a JSON array of objects) whose key is value.
func findItem(list any, key string, value any) map[string]any {
	items, _ := list.([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok && fmt.Sprint(m[key]) == fmt.Sprint(value) {
			return m
		}
	}
	return nil
}

// jsonID formats a JSON number as a path segment.
func jsonID(v any) string { return fmt.Sprint(v) }

// rawLogin logs in without the token cache and returns the HTTP status.
func rawLogin(t *testing.T, s *server, user, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := http.Post("http://"+s.HTTPAddr+"/api/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAdminCRUD drives the configuration API as the demo admin: each
// resource's life cycle, the permission table, bad input, and the effect
// on SIP of an extension and a DID created through the API.
func TestAdminCRUD(t *testing.T) {
	s := startServer(t, serverOpts{})
	_, me := s.as(t, "admin", "GET", "/api/me", "")
	adminID := jsonID(me["user"].(map[string]any)["id"])
	_, trunks := s.as(t, "admin", "GET", "/api/trunks", "")
	carrier := findItem(trunks["trunks"], "name", "demo-carrier")
	if carrier == nil {
		t.Fatalf("no demo-carrier trunk: %v", trunks)
	}
	carrierID := jsonID(carrier["id"])

	t.Run("users", func(t *testing.T) {
		code, u := s.as(t, "admin", "POST", "/api/users",
			`{"username":"carol","display_name":"Carol","role":"agent","password":"carol-secret"}`)
		expectAPI(t, "create", code, u, 201, "")
		for _, k := range []string{"password", "password_hash"} {
			if _, ok := u[k]; ok {
				t.Errorf("the created user shows %q: %v", k, u)
			}
		}
		if u["username"] != "carol" || u["role"] != "agent" || u["display_name"] != "Carol" {
			t.Errorf("created %v", u)
		}
		path := "/api/users/" + jsonID(u["id"])
		code, got := s.as(t, "admin", "GET", path, "")
		expectAPI(t, "get", code, got, 200, "")
		if got["username"] != "carol" {
			t.Errorf("GET %s = %v", path, got)
		}
		code, list := s.as(t, "admin", "GET", "/api/users", "")
		expectAPI(t, "list", code, list, 200, "")
		if findItem(list["users"], "username", "carol") == nil || findItem(list["users"], "username", "1001") == nil {
			t.Errorf("list lacks carol or 1001: %v", list)
		}
		if js, _ := json.Marshal(list); strings.Contains(string(js), "$2a$") || strings.Contains(string(js), "password") {
			t.Errorf("the user list shows password hashes: %s", js)
		}
		if code := rawLogin(t, s, "carol", "carol-secret"); code != 200 {
			t.Fatalf("carol cannot log in: %d", code)
		}

		code, got = s.as(t, "admin", "PATCH", path, `{"display_name":"Carol B","role":"supervisor","password":"carol-secret-2"}`)
		expectAPI(t, "update", code, got, 200, "")
		if got["display_name"] != "Carol B" || got["role"] != "supervisor" || got["username"] != "carol" {
			t.Errorf("updated %v", got)
		}
		if rawLogin(t, s, "carol", "carol-secret") != 401 || rawLogin(t, s, "carol", "carol-secret-2") != 200 {
			t.Error("the password change did not take: the old one works or the new one does not")
		}

		code, got = s.as(t, "admin", "DELETE", path, "")
		expectAPI(t, "delete", code, got, 204, "")
		code, got = s.as(t, "admin", "GET", path, "")
		expectAPI(t, "get after delete", code, got, 404, "user_not_found")
		if rawLogin(t, s, "carol", "carol-secret-2") != 401 {
			t.Error("a deleted user can still log in")
		}

		// The admin cannot lock themselves out; they may edit themselves.
		code, got = s.as(t, "admin", "DELETE", "/api/users/"+adminID, "")
		expectAPI(t, "delete self", code, got, 409, "cannot_delete_self")
		code, got = s.as(t, "admin", "PATCH", "/api/users/"+adminID, `{"role":"agent"}`)
		expectAPI(t, "demote self", code, got, 409, "cannot_demote_self")
		code, got = s.as(t, "admin", "PATCH", "/api/users/"+adminID, `{"role":"admin","display_name":"Root"}`)
		expectAPI(t, "edit self", code, got, 200, "")
		if code, me := s.as(t, "admin", "GET", "/api/me", ""); code != 200 || me["user"].(map[string]any)["role"] != "admin" {
			t.Errorf("admin after editing themselves: %d %v", code, me)
		}
	})

	t.Run("extensions", func(t *testing.T) {
		_, users := s.as(t, "admin", "GET", "/api/users", "")
		owner := findItem(users["users"], "username", "1003")
		code, e := s.as(t, "admin", "POST", "/api/extensions", `{"number":"2002","display_name":"Lobby","sip_password":"lobby-secret"}`)
		expectAPI(t, "create", code, e, 201, "")
		if e["number"] != "2002" || e["display_name"] != "Lobby" || e["user_id"] != nil {
			t.Errorf("created %v", e)
		}
		if js, _ := json.Marshal(e); strings.Contains(string(js), "ha1") || strings.Contains(string(js), "secret") {
			t.Errorf("the extension shows its secret: %s", js)
		}
		code, got := s.as(t, "admin", "GET", "/api/extensions/2002", "")
		expectAPI(t, "get", code, got, 200, "")
		code, list := s.as(t, "admin", "GET", "/api/extensions", "")
		expectAPI(t, "list", code, list, 200, "")
		if findItem(list["extensions"], "number", "2002") == nil || findItem(list["extensions"], "number", "1001") == nil {
			t.Errorf("list lacks 2002 or 1001: %v", list)
		}
		code, got = s.as(t, "admin", "PATCH", "/api/extensions/2002",
			fmt.Sprintf(`{"display_name":"Front desk","user_id":%v,"sip_password":"lobby-secret-2"}`, owner["id"]))
		expectAPI(t, "update", code, got, 200, "")
		if got["display_name"] != "Front desk" || jsonID(got["user_id"]) != jsonID(owner["id"]) {
			t.Errorf("updated %v", got)
		}
		// The owner now sees it as theirs.
		if _, me := s.as(t, "1003", "GET", "/api/me", ""); !strings.Contains(fmt.Sprint(me["extensions"]), "2002") {
			t.Errorf("1003's extensions after taking 2002: %v", me["extensions"])
		}
		code, got = s.as(t, "admin", "PATCH", "/api/extensions/2002", `{"user_id":null}`)
		expectAPI(t, "clear owner", code, got, 200, "")
		if got["user_id"] != nil || got["display_name"] != "Front desk" {
			t.Errorf("after clearing the owner: %v", got)
		}
		code, got = s.as(t, "admin", "DELETE", "/api/extensions/2002", "")
		expectAPI(t, "delete", code, got, 204, "")
		code, got = s.as(t, "admin", "GET", "/api/extensions/2002", "")
		expectAPI(t, "get after delete", code, got, 404, "extension_not_found")
	})

	t.Run("trunks", func(t *testing.T) {
		code, tr := s.as(t, "admin", "POST", "/api/trunks", `{"name":"backup","host":"sip.example.net:5060","transport":"tcp",
			"username":"acct","password":"trunk-secret","inbound_cidrs":["203.0.113.7/24","2001:db8::/32"],"outbound":false}`)
		expectAPI(t, "create", code, tr, 201, "")
		if _, ok := tr["password"]; ok || tr["has_password"] != true {
			t.Errorf("the password is not write-only: %v", tr)
		}
		if fmt.Sprint(tr["inbound_cidrs"]) != "[203.0.113.0/24 2001:db8::/32]" || tr["transport"] != "tcp" || tr["username"] != "acct" {
			t.Errorf("created %v", tr)
		}
		path := "/api/trunks/" + jsonID(tr["id"])
		code, got := s.as(t, "admin", "GET", path, "")
		expectAPI(t, "get", code, got, 200, "")
		code, list := s.as(t, "admin", "GET", "/api/trunks", "")
		expectAPI(t, "list", code, list, 200, "")
		if findItem(list["trunks"], "name", "backup") == nil {
			t.Errorf("list lacks backup: %v", list)
		}
		if js, _ := json.Marshal(list); strings.Contains(string(js), "trunk-secret") {
			t.Errorf("the trunk list shows a password: %s", js)
		}
		code, got = s.as(t, "admin", "PATCH", path, `{"host":"[2001:db8::5]:5061","password":"","inbound_cidrs":[]}`)
		expectAPI(t, "update", code, got, 200, "")
		if got["host"] != "[2001:db8::5]:5061" || got["has_password"] != false || fmt.Sprint(got["inbound_cidrs"]) != "[]" ||
			got["name"] != "backup" || got["transport"] != "tcp" {
			t.Errorf("updated %v", got)
		}
		code, got = s.as(t, "admin", "DELETE", path, "")
		expectAPI(t, "delete", code, got, 204, "")
		code, got = s.as(t, "admin", "GET", path, "")
		expectAPI(t, "get after delete", code, got, 404, "trunk_not_found")
		code, got = s.as(t, "admin", "DELETE", "/api/trunks/"+carrierID, "")
		expectAPI(t, "delete a trunk with DIDs", code, got, 409, "trunk_in_use")
	})

	t.Run("dids", func(t *testing.T) {
		code, d := s.as(t, "admin", "POST", "/api/dids",
			`{"number":"+31 20 123 9999","trunk_id":`+carrierID+`,"target_kind":"queue","target":"8000"}`)
		expectAPI(t, "create", code, d, 201, "")
		if d["number"] != "+31201239999" || d["target_kind"] != "queue" || d["target"] != "8000" || jsonID(d["trunk_id"]) != carrierID {
			t.Errorf("created %v", d)
		}
		code, got := s.as(t, "admin", "GET", "/api/dids/+31201239999", "")
		expectAPI(t, "get", code, got, 200, "")
		code, list := s.as(t, "admin", "GET", "/api/dids", "")
		expectAPI(t, "list", code, list, 200, "")
		if findItem(list["dids"], "number", "+31201239999") == nil {
			t.Errorf("list lacks the DID: %v", list)
		}
		// The national form is the same DID.
		code, got = s.as(t, "admin", "POST", "/api/dids",
			`{"number":"020 1239999","trunk_id":`+carrierID+`,"target_kind":"extension","target":"1001"}`)
		expectAPI(t, "duplicate", code, got, 409, "did_exists")
		code, got = s.as(t, "admin", "DELETE", "/api/dids/0201239999", "")
		expectAPI(t, "delete", code, got, 204, "")
		code, got = s.as(t, "admin", "GET", "/api/dids/+31201239999", "")
		expectAPI(t, "get after delete", code, got, 404, "did_not_found")
	})

	t.Run("queues", func(t *testing.T) {
		code, q := s.as(t, "admin", "POST", "/api/queues",
			`{"number":"8100","name":"Billing","strategy":"ringall","members":[{"extension":"1002","penalty":1},{"extension":"1001","penalty":0}]}`)
		expectAPI(t, "create", code, q, 201, "")
		if q["name"] != "Billing" || q["strategy"] != "ringall" || fmt.Sprint(q["members"]) != "[map[extension:1001 penalty:0] map[extension:1002 penalty:1]]" {
			t.Errorf("created %v", q)
		}
		code, got := s.as(t, "admin", "GET", "/api/queues/8100", "")
		expectAPI(t, "get", code, got, 200, "")
		code, list := s.as(t, "admin", "GET", "/api/queues", "")
		expectAPI(t, "list", code, list, 200, "")
		if findItem(list["queues"], "number", "8100") == nil || findItem(list["queues"], "number", "8000") == nil {
			t.Errorf("list lacks 8100 or 8000: %v", list)
		}
		code, got = s.as(t, "admin", "PATCH", "/api/queues/8100", `{"name":"Billing 2","members":[{"extension":"1003"}]}`)
		expectAPI(t, "update", code, got, 200, "")
		if got["name"] != "Billing 2" || fmt.Sprint(got["members"]) != "[map[extension:1003 penalty:0]]" {
			t.Errorf("updated %v", got)
		}
		code, got = s.as(t, "admin", "PATCH", "/api/queues/8100", `{"strategy":"leastrecent"}`)
		expectAPI(t, "other strategy", code, got, 400, "unsupported_strategy")
		code, got = s.as(t, "admin", "DELETE", "/api/queues/8100", "")
		expectAPI(t, "delete", code, got, 204, "")
		code, got = s.as(t, "admin", "GET", "/api/queues/8100", "")
		expectAPI(t, "get after delete", code, got, 404, "queue_not_found")
		code, got = s.as(t, "admin", "DELETE", "/api/queues/8000", "")
		expectAPI(t, "delete a queue a DID routes to", code, got, 409, "queue_in_use")
	})

	t.Run("permissions", func(t *testing.T) {
		_, users := s.as(t, "admin", "GET", "/api/users", "")
		agentID := jsonID(findItem(users["users"], "username", "1002")["id"])
		// Every request would succeed for the admin.
		requests := []struct{ method, path, body string }{
			{"GET", "/api/users", ""},
			{"GET", "/api/users/" + agentID, ""},
			{"POST", "/api/users", `{"username":"mallory","role":"admin","password":"mallory-secret"}`},
			{"PATCH", "/api/users/" + agentID, `{"role":"admin"}`},
			{"DELETE", "/api/users/" + agentID, ""},
			{"GET", "/api/extensions", ""},
			{"GET", "/api/extensions/1001", ""},
			{"POST", "/api/extensions", `{"number":"2009","sip_password":"some-secret"}`},
			{"PATCH", "/api/extensions/1001", `{"sip_password":"taken-over"}`},
			{"DELETE", "/api/extensions/1005", ""},
			{"GET", "/api/trunks", ""},
			{"GET", "/api/trunks/" + carrierID, ""},
			{"POST", "/api/trunks", `{"name":"evil","host":"203.0.113.66:5060","outbound":true}`},
			{"PATCH", "/api/trunks/" + carrierID, `{"inbound_cidrs":["0.0.0.0/0"]}`},
			{"DELETE", "/api/trunks/" + carrierID, ""},
			{"GET", "/api/dids", ""},
			{"GET", "/api/dids/+31201231001", ""},
			{"POST", "/api/dids", `{"number":"+31201238888","trunk_id":` + carrierID + `,"target_kind":"extension","target":"1001"}`},
			{"DELETE", "/api/dids/+31201231001", ""},
			{"GET", "/api/queues", ""},
			{"GET", "/api/queues/8000", ""},
			{"POST", "/api/queues", `{"number":"8200","name":"X"}`},
			{"PATCH", "/api/queues/8000", `{"members":[]}`},
			{"DELETE", "/api/queues/8001", ""},
			// Refused before the body is read: bad JSON is still 403.
			{"POST", "/api/users", `{`},
		}
		before := configSnapshot(t, s)
		for _, who := range []struct {
			user       string
			status     int
			code, role string
		}{
			{"1001", 403, "forbidden", "agent"},
			{"1009", 403, "forbidden", "operator"},
			{"1010", 403, "forbidden", "supervisor"},
			{"", 401, "unauthenticated", "anonymous"},
		} {
			for _, rq := range requests {
				code, body := s.as(t, who.user, rq.method, rq.path, rq.body)
				if code != who.status || body["code"] != who.code {
					t.Errorf("%s %s %s: %d %v, want %d %s", who.role, rq.method, rq.path, code, body, who.status, who.code)
				}
			}
		}
		if after := configSnapshot(t, s); after != before {
			t.Errorf("refused requests changed the configuration:\nbefore %s\nafter  %s", before, after)
		}
		if code := rawLogin(t, s, "mallory", "mallory-secret"); code != 401 {
			t.Errorf("mallory can log in: %d", code)
		}
		for _, rq := range requests {
			if rq.method != "GET" {
				continue
			}
			if code, body := s.as(t, "admin", rq.method, rq.path, ""); code != 200 {
				t.Errorf("admin %s %s: %d %v", rq.method, rq.path, code, body)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		did := func(number, kind, target, trunk string) string {
			return fmt.Sprintf(`{"number":%q,"trunk_id":%s,"target_kind":%q,"target":%q}`, number, trunk, kind, target)
		}
		tests := []struct {
			name, method, path, body string
			status                   int
			code                     string
		}{
			{"user: short password", "POST", "/api/users", `{"username":"x1","role":"agent","password":"short"}`, 400, "invalid_password"},
			{"user: password over bcrypt's 72 bytes", "POST", "/api/users", `{"username":"x1","role":"agent","password":"` + strings.Repeat("p", 73) + `"}`, 400, "invalid_password"},
			{"user: unknown role", "POST", "/api/users", `{"username":"x1","role":"root","password":"long-enough"}`, 400, "invalid_role"},
			{"user: username with a space", "POST", "/api/users", `{"username":"x 1","role":"agent","password":"long-enough"}`, 400, "invalid_username"},
			{"user: username a number", "POST", "/api/users", `{"username":1,"role":"agent","password":"long-enough"}`, 400, "invalid_username"},
			{"user: newline in name", "POST", "/api/users", `{"username":"x1","display_name":"a\nb","role":"agent","password":"long-enough"}`, 400, "invalid_display_name"},
			{"user: taken", "POST", "/api/users", `{"username":"admin","role":"agent","password":"long-enough"}`, 409, "user_exists"},
			{"user: unknown field", "POST", "/api/users", `{"username":"x1","role":"agent","password":"long-enough","admin":true}`, 400, "invalid_json"},
			{"user: not JSON", "POST", "/api/users", `{"username":`, 400, "invalid_json"},
			{"user: empty body", "POST", "/api/users", ``, 400, "invalid_json"},
			{"user: an array", "POST", "/api/users", `[]`, 400, "invalid_json"},
			{"user: trailing data", "POST", "/api/users", `{"username":"x1","role":"agent","password":"long-enough"} {}`, 400, "invalid_json"},
			{"user: oversized", "POST", "/api/users", `{"display_name":"` + strings.Repeat("a", 70000) + `"}`, 413, "body_too_large"},
			{"user: role a number", "PATCH", "/api/users/" + adminID, `{"role":3}`, 400, "invalid_role"},
			{"user: get unknown", "GET", "/api/users/999999", "", 404, "user_not_found"},
			{"user: update unknown", "PATCH", "/api/users/999999", `{"display_name":"x"}`, 404, "user_not_found"},
			{"user: delete unknown", "DELETE", "/api/users/999999", "", 404, "user_not_found"},
			{"user: id not a number", "GET", "/api/users/abc", "", 400, "invalid_id"},

			{"extension: 2 digits", "POST", "/api/extensions", `{"number":"12","sip_password":"long-enough"}`, 400, "invalid_number"},
			{"extension: 7 digits", "POST", "/api/extensions", `{"number":"1234567","sip_password":"long-enough"}`, 400, "invalid_number"},
			{"extension: letters", "POST", "/api/extensions", `{"number":"12a4","sip_password":"long-enough"}`, 400, "invalid_number"},
			{"extension: number a number", "POST", "/api/extensions", `{"number":2005,"sip_password":"long-enough"}`, 400, "invalid_number"},
			{"extension: short password", "POST", "/api/extensions", `{"number":"2005","sip_password":"short"}`, 400, "invalid_sip_password"},
			{"extension: long password", "POST", "/api/extensions", `{"number":"2005","sip_password":"` + strings.Repeat("p", 129) + `"}`, 400, "invalid_sip_password"},
			{"extension: quote in name", "POST", "/api/extensions", `{"number":"2005","display_name":"a\"b","sip_password":"long-enough"}`, 400, "invalid_display_name"},
			{"extension: unknown owner", "POST", "/api/extensions", `{"number":"2005","user_id":999999,"sip_password":"long-enough"}`, 400, "invalid_user_id"},
			{"extension: owner a string", "POST", "/api/extensions", `{"number":"2005","user_id":"1","sip_password":"long-enough"}`, 400, "invalid_user_id"},
			{"extension: taken", "POST", "/api/extensions", `{"number":"1001","sip_password":"long-enough"}`, 409, "extension_exists"},
			{"extension: taken by a queue", "POST", "/api/extensions", `{"number":"8000","sip_password":"long-enough"}`, 409, "extension_exists"},
			{"extension: get unknown", "GET", "/api/extensions/2999", "", 404, "extension_not_found"},
			{"extension: update unknown", "PATCH", "/api/extensions/2999", `{"display_name":"x"}`, 404, "extension_not_found"},
			{"extension: delete unknown", "DELETE", "/api/extensions/2999", "", 404, "extension_not_found"},
			{"extension: delete one a DID routes to", "DELETE", "/api/extensions/1001", "", 409, "extension_in_use"},

			{"trunk: no port", "POST", "/api/trunks", `{"name":"t1","host":"sip.example.net"}`, 400, "invalid_host"},
			{"trunk: port 0", "POST", "/api/trunks", `{"name":"t1","host":"sip.example.net:0"}`, 400, "invalid_host"},
			{"trunk: port too big", "POST", "/api/trunks", `{"name":"t1","host":"sip.example.net:70000"}`, 400, "invalid_host"},
			{"trunk: bad host name", "POST", "/api/trunks", `{"name":"t1","host":"sip_example!:5060"}`, 400, "invalid_host"},
			{"trunk: no host", "POST", "/api/trunks", `{"name":"t1"}`, 400, "invalid_host"},
			{"trunk: no name", "POST", "/api/trunks", `{"host":"h.example:5060"}`, 400, "invalid_name"},
			{"trunk: tls", "POST", "/api/trunks", `{"name":"t1","host":"h.example:5060","transport":"tls"}`, 400, "invalid_transport"},
			{"trunk: bad CIDR", "POST", "/api/trunks", `{"name":"t1","host":"h.example:5060","inbound_cidrs":["10.0.0.1"]}`, 400, "invalid_inbound_cidrs"},
			{"trunk: CIDRs a string", "POST", "/api/trunks", `{"name":"t1","host":"h.example:5060","inbound_cidrs":"10.0.0.0/8"}`, 400, "invalid_inbound_cidrs"},
			{"trunk: outbound a string", "POST", "/api/trunks", `{"name":"t1","host":"h.example:5060","outbound":"yes"}`, 400, "invalid_outbound"},
			{"trunk: taken", "POST", "/api/trunks", `{"name":"demo-carrier","host":"h.example:5060"}`, 409, "trunk_exists"},
			{"trunk: get unknown", "GET", "/api/trunks/999999", "", 404, "trunk_not_found"},
			{"trunk: update unknown", "PATCH", "/api/trunks/999999", `{"outbound":true}`, 404, "trunk_not_found"},
			{"trunk: bad update of a known one", "PATCH", "/api/trunks/" + carrierID, `{"host":"nope"}`, 400, "invalid_host"},
			{"trunk: delete unknown", "DELETE", "/api/trunks/999999", "", 404, "trunk_not_found"},

			{"did: not a number", "POST", "/api/dids", did("call-me", "extension", "1001", carrierID), 400, "invalid_number"},
			{"did: ambiguous national", "POST", "/api/dids", did("12345", "extension", "1001", carrierID), 400, "invalid_number"},
			{"did: unknown trunk", "POST", "/api/dids", did("+31201238888", "extension", "1001", "999999"), 400, "invalid_trunk_id"},
			{"did: trunk a string", "POST", "/api/dids", did("+31201238888", "extension", "1001", `"1"`), 400, "invalid_trunk_id"},
			{"did: unknown kind", "POST", "/api/dids", did("+31201238888", "ivr", "1001", carrierID), 400, "invalid_target_kind"},
			{"did: unknown extension", "POST", "/api/dids", did("+31201238888", "extension", "2999", carrierID), 400, "invalid_target"},
			{"did: unknown queue", "POST", "/api/dids", did("+31201238888", "queue", "8999", carrierID), 400, "invalid_target"},
			{"did: taken", "POST", "/api/dids", did("+31201231001", "extension", "1002", carrierID), 409, "did_exists"},
			{"did: get unknown", "GET", "/api/dids/+31209999999", "", 404, "did_not_found"},
			{"did: delete unknown", "DELETE", "/api/dids/+31209999999", "", 404, "did_not_found"},

			{"queue: 2 digits", "POST", "/api/queues", `{"number":"80","name":"X"}`, 400, "invalid_number"},
			{"queue: no name", "POST", "/api/queues", `{"number":"8200"}`, 400, "invalid_name"},
			{"queue: other strategy", "POST", "/api/queues", `{"number":"8200","name":"X","strategy":"random"}`, 400, "unsupported_strategy"},
			{"queue: unknown member", "POST", "/api/queues", `{"number":"8200","name":"X","members":[{"extension":"2999"}]}`, 400, "invalid_members"},
			{"queue: member twice", "POST", "/api/queues", `{"number":"8200","name":"X","members":[{"extension":"1001"},{"extension":"1001"}]}`, 400, "invalid_members"},
			{"queue: negative penalty", "POST", "/api/queues", `{"number":"8200","name":"X","members":[{"extension":"1001","penalty":-1}]}`, 400, "invalid_members"},
			{"queue: penalty a string", "POST", "/api/queues", `{"number":"8200","name":"X","members":[{"extension":"1001","penalty":"1"}]}`, 400, "invalid_members"},
			{"queue: members a string", "POST", "/api/queues", `{"number":"8200","name":"X","members":"1001"}`, 400, "invalid_members"},
			{"queue: unknown member field", "POST", "/api/queues", `{"number":"8200","name":"X","members":[{"ext":"1001"}]}`, 400, "invalid_json"},
			{"queue: taken", "POST", "/api/queues", `{"number":"8000","name":"X"}`, 409, "queue_exists"},
			{"queue: taken by an extension", "POST", "/api/queues", `{"number":"1001","name":"X"}`, 409, "queue_exists"},
			{"queue: get unknown", "GET", "/api/queues/8999", "", 404, "queue_not_found"},
			{"queue: update unknown", "PATCH", "/api/queues/8999", `{"name":"X"}`, 404, "queue_not_found"},
			{"queue: delete unknown", "DELETE", "/api/queues/8999", "", 404, "queue_not_found"},
		}
		before := configSnapshot(t, s)
		for _, tt := range tests {
			code, body := s.as(t, "admin", tt.method, tt.path, tt.body)
			if code != tt.status || body["code"] != tt.code {
				t.Errorf("%s: %s %s: %d %v, want %d %s", tt.name, tt.method, tt.path, code, body, tt.status, tt.code)
			}
		}
		if after := configSnapshot(t, s); after != before {
			t.Errorf("bad input changed the configuration:\nbefore %s\nafter  %s", before, after)
		}
	})

	t.Run("extension and DID reach SIP", func(t *testing.T) {
		code, e := s.as(t, "admin", "POST", "/api/extensions", `{"number":"2001","display_name":"Desk 2001","sip_password":"demo-2001"}`)
		expectAPI(t, "create 2001", code, e, 201, "")
		desk := phone(t, s, "2001", 440, "udp") // registers with demo-2001
		desk.AutoAnswer(100 * time.Millisecond)
		alice := phone(t, s, "1001", 1000, "udp")
		call, err := alice.Dial(ctxFor(t, 10*time.Second), "2001")
		if err != nil {
			t.Fatalf("1001 dials 2001: %v", err)
		}
		var in *siptest.Call
		select {
		case in = <-desk.Incoming():
		case <-time.After(5 * time.Second):
			t.Fatal("2001 got no call")
		}
		hears(t, call, 440, "1001")
		hears(t, in, 1000, "2001")
		if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatalf("hangup: %v", err)
		}

		// A DID given in national form reaches 2001 from the carrier at once.
		code, d := s.as(t, "admin", "POST", "/api/dids", `{"number":"020 1232001","trunk_id":`+carrierID+`,"target_kind":"extension","target":"2001"}`)
		expectAPI(t, "create the DID", code, d, 201, "")
		if d["number"] != "+31201232001" {
			t.Fatalf("DID stored as %v", d["number"])
		}
		carrierPhone, err := siptest.New(ctxFor(t, 5*time.Second), siptest.Config{User: "+31612345678",
			Server: s.SIPAddr(), Transport: "udp", ToneHz: 1000}) // no password: a trunk does not authenticate
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { carrierPhone.Close() })
		call, err = carrierPhone.Dial(ctxFor(t, 10*time.Second), "+31201232001")
		if err != nil {
			t.Fatalf("the carrier dials the new DID: %v", err)
		}
		select {
		case in = <-desk.Incoming():
		case <-time.After(5 * time.Second):
			t.Fatal("2001 got no call through the DID")
		}
		hears(t, call, 440, "the carrier")
		hears(t, in, 1000, "2001")
		call.Hangup(ctxFor(t, 5*time.Second))
		eventually(t, 5*time.Second, func() error {
			for _, c := range s.cdrs(t) {
				if c.Direction == "inbound" && c.AnsweredBy == "2001" && c.Disposition == "answered" {
					return nil
				}
			}
			return fmt.Errorf("no answered inbound CDR to 2001: %+v", s.cdrs(t))
		})

		code, got := s.as(t, "admin", "DELETE", "/api/extensions/2001", "")
		expectAPI(t, "delete 2001 while the DID routes to it", code, got, 409, "extension_in_use")
		code, got = s.as(t, "admin", "DELETE", "/api/dids/+31201232001", "")
		expectAPI(t, "delete the DID", code, got, 204, "")
		// Routing forgot it: the carrier, who does not authenticate, is
		// now challenged like any unknown caller.
		_, err = carrierPhone.Dial(ctxFor(t, 10*time.Second), "+31201232001")
		var se *siptest.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("the carrier dials the deleted DID: %v, want a SIP error", err)
		}
		select {
		case <-desk.Incoming():
			t.Fatal("2001 rang through a deleted DID")
		case <-time.After(300 * time.Millisecond):
		}
		code, got = s.as(t, "admin", "DELETE", "/api/extensions/2001", "")
		expectAPI(t, "delete 2001", code, got, 204, "")
	})
}
