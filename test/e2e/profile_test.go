package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// userID returns the id of the demo user with the given username.
func userID(t *testing.T, s *server, username string) string {
	t.Helper()
	code, users := s.as(t, "admin", "GET", "/api/users", "")
	u := findItem(users["users"], "username", username)
	if code != 200 || u == nil {
		t.Fatalf("GET /api/users: %d, no %s in %v", code, username, users)
	}
	return jsonID(u["id"])
}

// profileOf returns a JSON object's "profile" re-encoded, for comparing.
func profileOf(t *testing.T, body map[string]any) string {
	t.Helper()
	p, ok := body["profile"].(map[string]any)
	if !ok {
		t.Fatalf("no profile in %v", body)
	}
	js, _ := json.Marshal(p)
	return string(js)
}

// TestUserProfiles: the admin reads and sets users' permission profiles;
// bad input and other roles are refused and change nothing; users see
// their own profile in GET /api/me.
func TestUserProfiles(t *testing.T) {
	s := startServer(t, serverOpts{})
	anna := userID(t, s, "1001")
	path := "/api/users/" + anna
	const defaults = `{"allowed_anis":[],"can_control_recording":false,"can_keypad_dial":true,"can_outdial":true,"can_use_console":true}`

	code, u := s.as(t, "admin", "GET", path, "")
	expectAPI(t, "GET user 1001", code, u, 200, "")
	if got := profileOf(t, u); got != defaults {
		t.Errorf("demo user 1001's profile = %s, want %s", got, defaults)
	}
	code, me := s.as(t, "1001", "GET", "/api/me", "")
	expectAPI(t, "GET /api/me as 1001", code, me, 200, "")
	if got := profileOf(t, me); got != defaults {
		t.Errorf("1001's own profile = %s, want %s", got, defaults)
	}

	// A partial profile changes only what it names; ANIs are normalised
	// with the country code (+31) and deduplicated.
	code, u = s.as(t, "admin", "PATCH", path,
		`{"profile":{"can_outdial":false,"can_control_recording":true,"allowed_anis":["020 123 1001","+31201231001","0031201230001"]}}`)
	expectAPI(t, "PATCH profile", code, u, 200, "")
	const set = `{"allowed_anis":["+31201231001","+31201230001"],"can_control_recording":true,"can_keypad_dial":true,"can_outdial":false,"can_use_console":true}`
	if got := profileOf(t, u); got != set {
		t.Errorf("profile after PATCH = %s, want %s", got, set)
	}
	code, me = s.as(t, "1001", "GET", "/api/me", "")
	if got := profileOf(t, me); code != 200 || got != set {
		t.Errorf("1001's own profile after PATCH = %d %s, want %s", code, got, set)
	}
	// Other fields leave the profile alone.
	code, u = s.as(t, "admin", "PATCH", path, `{"display_name":"Anna dV"}`)
	if got := profileOf(t, u); code != 200 || got != set {
		t.Errorf("profile after a display_name PATCH = %d %s, want %s", code, got, set)
	}

	before := configSnapshot(t, s)
	tooMany := make([]string, 21)
	for i := range tooMany {
		tooMany[i] = strconv.Quote(fmt.Sprintf("+312012310%02d", i))
	}
	for _, tt := range []struct {
		name, user, method, path, body string
		status                         int
		code                           string
	}{
		{"bad ANI", "admin", "PATCH", path, `{"profile":{"allowed_anis":["12"]}}`, 400, "invalid_profile"},
		{"not a number", "admin", "PATCH", path, `{"profile":{"allowed_anis":["call me"]}}`, 400, "invalid_profile"},
		{"21 ANIs", "admin", "PATCH", path, `{"profile":{"allowed_anis":[` + strings.Join(tooMany, ",") + `]}}`, 400, "invalid_profile"},
		{"flag not a boolean", "admin", "PATCH", path, `{"profile":{"can_outdial":"no"}}`, 400, "invalid_profile"},
		{"ANIs not a list", "admin", "PATCH", path, `{"profile":{"allowed_anis":"+31201231001"}}`, 400, "invalid_profile"},
		{"unknown flag", "admin", "PATCH", path, `{"profile":{"can_fly":true}}`, 400, "invalid_json"},
		{"bad ANI on create", "admin", "POST", "/api/users", `{"username":"zed","role":"agent","password":"zed-secret","profile":{"allowed_anis":["x"]}}`, 400, "invalid_profile"},
		{"agent", "1001", "PATCH", path, `{"profile":{"can_outdial":true}}`, 403, "forbidden"},
		{"supervisor", "1010", "PATCH", path, `{"profile":{"can_outdial":true}}`, 403, "forbidden"},
		{"operator creates", "1009", "POST", "/api/users", `{"username":"zed","role":"agent","password":"zed-secret","profile":{"can_outdial":true}}`, 403, "forbidden"},
	} {
		code, body := s.as(t, tt.user, tt.method, tt.path, tt.body)
		expectAPI(t, tt.name, code, body, tt.status, tt.code)
	}
	if after := configSnapshot(t, s); after != before {
		t.Errorf("refused requests changed the configuration:\n%s\nwas\n%s", after, before)
	}

	// Created users get the defaults, or what is given, even all off.
	code, u = s.as(t, "admin", "POST", "/api/users", `{"username":"carol","role":"agent","password":"carol-secret"}`)
	expectAPI(t, "create without profile", code, u, 201, "")
	if got := profileOf(t, u); got != defaults {
		t.Errorf("new user's profile = %s, want %s", got, defaults)
	}
	code, u = s.as(t, "admin", "POST", "/api/users",
		`{"username":"dave","role":"agent","password":"dave-secret","profile":{"can_outdial":false,"can_keypad_dial":false}}`)
	expectAPI(t, "create with everything off", code, u, 201, "")
	const off = `{"allowed_anis":[],"can_control_recording":false,"can_keypad_dial":false,"can_outdial":false,"can_use_console":true}`
	if got := profileOf(t, u); got != off {
		t.Errorf("new user's profile = %s, want %s", got, off)
	}
	code, u = s.as(t, "admin", "GET", "/api/users/"+jsonID(u["id"]), "")
	if got := profileOf(t, u); code != 200 || got != off {
		t.Errorf("stored profile of dave = %d %s, want %s", code, got, off)
	}
	var list struct {
		Users []struct {
			Username string         `json:"username"`
			Profile  map[string]any `json:"profile"`
		} `json:"users"`
	}
	if code, err := s.api("GET", "/api/users", nil, &list); code != 200 || err != nil {
		t.Fatalf("GET /api/users: %d %v", code, err)
	}
	for _, u := range list.Users {
		if u.Username == "1001" && !reflect.DeepEqual(u.Profile["allowed_anis"], []any{"+31201231001", "+31201230001"}) {
			t.Errorf("1001 in the list: %v", u.Profile)
		}
	}
}

// TestSippOutdialProfile: with can_outdial off, 1001's call to an
// external number is refused with 403 before it reaches the carrier and
// leaves a rejected CDR; turned back on, the same call goes through.
func TestSippOutdialProfile(t *testing.T) {
	requireTool(t, "sipp")
	uas, carrier := startCarrier(t, "uas_carrier.xml")
	s := startServer(t, serverOpts{carrier: carrier})
	path := "/api/users/" + userID(t, s, "1001")
	setOutdial := func(on bool) {
		t.Helper()
		code, body := s.as(t, "admin", "PATCH", path, fmt.Sprintf(`{"profile":{"can_outdial":%t}}`, on))
		expectAPI(t, "PATCH can_outdial", code, body, 200, "")
	}

	setOutdial(false)
	anna := phone(t, s, "1001", 1000, "udp")
	_, err := anna.Dial(ctxFor(t, 10*time.Second), "0612345678")
	if siptest.StatusCode(err) != 403 {
		t.Fatalf("1001 without outdial dialling 0612345678: %v, want 403\n%s", err, tail(s.Log(), 30))
	}
	eventually(t, 5*time.Second, func() error {
		for _, c := range s.cdrs(t) {
			if c.To == "0612345678" && c.Disposition == "rejected" && c.SIPCode == 403 && c.Direction == "outbound" {
				return nil
			}
		}
		return fmt.Errorf("no rejected CDR for 0612345678: %+v", s.cdrs(t))
	})
	if !strings.Contains(s.Log(), "outdial refused") {
		t.Errorf("no log line about the refused outdial:\n%s", tail(s.Log(), 30))
	}
	if msgs := uas.messages(); strings.Contains(msgs, "INVITE sip:") {
		t.Fatalf("the carrier saw an INVITE from a user without outdial:\n%s", uas.report())
	}

	setOutdial(true)
	call, err := anna.Dial(ctxFor(t, 10*time.Second), "0612345678")
	if err != nil {
		t.Fatalf("1001 with outdial dialling 0612345678: %v\n%s", err, uas.report())
	}
	completesThroughCarrier(t, call, uas)
	eventually(t, 5*time.Second, func() error {
		for _, c := range s.cdrs(t) {
			if c.Direction == "outbound" && c.Target == "trunk:demo-carrier" && c.Disposition == "answered" {
				return nil
			}
		}
		return fmt.Errorf("no answered outbound CDR via trunk:demo-carrier: %+v", s.cdrs(t))
	})
}
