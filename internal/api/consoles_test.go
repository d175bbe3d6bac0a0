package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

func TestConsolesAPI(t *testing.T) {
	env := newACDTestEnv(t)
	layout := `[{"id":"w1","type":"calls","x":0,"y":0,"w":6,"h":4,"config":{"follow":"org"}},{"id":"w2","type":"future_widget","x":6,"y":0,"w":6,"h":4}]`
	code, c := env.do("reception", "POST", "/api/me/consoles", `{"name":"Front desk","layout":`+layout+`}`)
	if code != 201 || c["version"] != float64(1) {
		t.Fatalf("create: %d %v", code, c)
	}
	id := fmt.Sprint(c["id"])
	ws := c["layout"].([]any)
	if len(ws) != 2 || fmt.Sprint(ws[1].(map[string]any)["config"]) != "map[]" {
		t.Errorf("layout read back %v (an unknown type is kept, a missing config is {})", ws)
	}
	path := "/api/me/consoles/" + id
	big := "[" + strings.TrimSuffix(strings.Repeat(`{"id":"x","type":"calls","x":0,"y":0,"w":1,"h":1},`, 51), ",") + "]"
	env.run([]apiCall{
		{"reception", "GET", path, "", 200, ""},
		{"1001", "GET", path, "", 404, "console_not_found"},
		{"1001", "PUT", path, `{"name":"mine","version":1}`, 404, "console_not_found"},
		{"1001", "DELETE", path, "", 404, "console_not_found"},
		{"reception", "PUT", path, `{"name":"x"}`, 400, "invalid_version"},
		{"reception", "PUT", path, `{"name":"","version":1}`, 400, "invalid_name"},
		{"reception", "PUT", path, `{"layout":{},"version":1}`, 400, "invalid_layout"},
		{"reception", "PUT", path, `{"layout":[{"id":"a","type":"calls","x":10,"y":0,"w":4,"h":1}],"version":1}`, 400, "invalid_layout"},
		{"reception", "PUT", path, `{"layout":[{"id":"a","type":"Calls!","x":0,"y":0,"w":4,"h":1}],"version":1}`, 400, "invalid_layout"},
		{"reception", "PUT", path, `{"layout":[{"id":"a","type":"calls","x":0,"y":0,"w":4,"h":1},{"id":"a","type":"queue","x":0,"y":1,"w":4,"h":1}],"version":1}`, 400, "invalid_layout"},
		{"reception", "PUT", path, `{"layout":[{"id":"a","type":"calls","x":0,"y":0,"w":4,"h":1,"config":[1]}],"version":1}`, 400, "invalid_layout"},
		{"reception", "PUT", path, `{"layout":[{"id":"a","type":"calls","x":0,"y":0,"w":4,"h":1,"colour":"red"}],"version":1}`, 400, "invalid_layout"},
		{"reception", "PUT", path, `{"layout":` + big + `,"version":1}`, 400, "invalid_layout"},
		{"reception", "GET", "/api/me/consoles/abc", "", 400, "invalid_id"},
	})
	// Two tabs: the first save wins, the second is told and changes nothing.
	code, saved := env.do("reception", "PUT", path, `{"name":"Desk","layout":[],"version":1}`)
	if code != 200 || saved["version"] != float64(2) || saved["name"] != "Desk" {
		t.Fatalf("first save: %d %v", code, saved)
	}
	code, conflict := env.do("reception", "PUT", path, `{"name":"Other tab","version":1}`)
	if code != 409 || conflict["code"] != "conflict" || conflict["console"].(map[string]any)["name"] != "Desk" {
		t.Fatalf("second save: %d %v", code, conflict)
	}
	code, list := env.do("reception", "GET", "/api/me/consoles", "")
	if cs := list["consoles"].([]any); code != 200 || len(cs) != 1 || cs[0].(map[string]any)["name"] != "Desk" {
		t.Fatalf("list: %d %v", code, list)
	}
	if _, other := env.do("1001", "GET", "/api/me/consoles", ""); len(other["consoles"].([]any)) != 0 {
		t.Errorf("1001 sees %v", other)
	}
	// An admin switches the operator console off for a user.
	env.run([]apiCall{
		{"admin", "PATCH", "/api/users/" + env.id("reception"), `{"profile":{"can_use_console":false}}`, 200, ""},
		{"reception", "GET", "/api/me/consoles", "", 403, "forbidden"},
		{"reception", "POST", "/api/me/consoles", `{"name":"x"}`, 403, "forbidden"},
		{"reception", "GET", "/api/directory", "", 200, ""}, // the directory stays
		{"admin", "PATCH", "/api/users/" + env.id("reception"), `{"profile":{"can_use_console":true}}`, 200, ""},
		{"reception", "DELETE", path, "", 204, ""},
		{"reception", "GET", path, "", 404, "console_not_found"},
	})
	_, me := env.do("reception", "GET", "/api/me", "")
	if perms := fmt.Sprint(me["permissions"]); !strings.Contains(perms, "console") || !strings.Contains(perms, "calls.view_all") || strings.Contains(perms, "admin") {
		t.Errorf("reception's permissions %s", perms)
	}
}

func TestFavouritesAndRecentsAPI(t *testing.T) {
	env := newACDTestEnv(t)
	env.run([]apiCall{
		{"1001", "PUT", "/api/me/favourites", `{"favourites":[{"kind":"group","target":"x"}]}`, 400, "invalid_favourites"},
		{"1001", "PUT", "/api/me/favourites", `{"favourites":[{"kind":"user","target":"bob"}]}`, 400, "invalid_favourites"},
		{"1001", "PUT", "/api/me/favourites", `{"favourites":[{"kind":"queue","target":"80"}]}`, 400, "invalid_favourites"},
		{"1001", "PUT", "/api/me/favourites", `{"favourites":[{"kind":"number","target":"12"}]}`, 400, "invalid_favourites"},
		{"1001", "PUT", "/api/me/favourites", `{"favourites":[{"kind":"queue","target":"8000"},{"kind":"queue","target":"8000"}]}`, 400, "invalid_favourites"},
	})
	code, got := env.do("1001", "PUT", "/api/me/favourites", `{"favourites":[{"kind":"queue","target":"8000","label":"Support"},{"kind":"number","target":"020-123 0001"},{"kind":"user","target":"`+env.id("1002")+`"}]}`)
	if code != 200 {
		t.Fatalf("put: %d %v", code, got)
	}
	_, got = env.do("1001", "GET", "/api/me/favourites", "")
	var fs []store.Favourite
	raw, _ := json.Marshal(got["favourites"])
	_ = json.Unmarshal(raw, &fs)
	b, _ := json.Marshal(fs)
	if want := `[{"kind":"queue","target":"8000","label":"Support"},{"kind":"number","target":"0201230001","label":""},{"kind":"user","target":"` + env.id("1002") + `","label":""}]`; string(b) != want {
		t.Errorf("favourites %s, want %s", b, want)
	}
	if _, other := env.do("1002", "GET", "/api/me/favourites", ""); len(other["favourites"].([]any)) != 0 {
		t.Errorf("1002 sees 1001's favourites: %v", other)
	}
	// Recents are recorded by the call-control handlers on success.
	p := auth.Principal{User: store.User{ID: env.ids["1001"]}}
	for _, target := range []string{"1002", "8000", "+31 20 123 0001", "1002"} {
		env.s.recordRecent(context.Background(), p, "transfer", target)
	}
	_, rs := env.do("1001", "GET", "/api/me/recents", "")
	var kinds []string
	for _, r := range rs["recents"].([]any) {
		m := r.(map[string]any)
		kinds = append(kinds, fmt.Sprint(m["kind"], ":", m["target"]))
	}
	if want := []string{"user:" + env.id("1002"), "number:+31201230001", "queue:8000"}; !slices.Equal(kinds, want) {
		t.Errorf("recents %v, want %v", kinds, want)
	}
}

func TestDirectoryAndDialCheckAPI(t *testing.T) {
	env := newACDTestEnv(t)
	code, d := env.do("1003", "GET", "/api/directory", "")
	if code != 200 {
		t.Fatalf("directory: %d %v", code, d)
	}
	raw, _ := json.Marshal(d)
	for _, secret := range []string{"password", "hash", "ha1", "token", "reason_code"} {
		if strings.Contains(strings.ToLower(string(raw)), secret) {
			t.Errorf("the directory carries %q: %s", secret, raw)
		}
	}
	var found bool
	for _, u := range d["users"].([]any) {
		m := u.(map[string]any)
		if m["username"] != "1001" {
			continue
		}
		found = true
		ext := m["extensions"].([]any)[0].(map[string]any)
		a := m["agent"].(map[string]any)
		if ext["number"] != "1001" || ext["presence"] != "offline" || fmt.Sprint(a["queues"]) != "[8000]" {
			t.Errorf("1001 in the directory: %v", m)
		}
	}
	if !found {
		t.Errorf("1001 not in the directory")
	}
	if qs := d["queues"].([]any); len(qs) != 2 || qs[0].(map[string]any)["number"] != "8000" {
		t.Errorf("queues %v", qs)
	}

	for _, tt := range []struct {
		user, number, kind, normalized string
		allowed                        bool
	}{
		{"1001", "1002", "extension", "1002", true},
		{"1001", " 8000 ", "queue", "8000", true},
		{"1001", "+31 (0)20 123 0001", "external", "+31201230001", true},
		{"1001", "12", "invalid", "", false},
		{"1001", "1+2", "invalid", "", false},
	} {
		code, res := env.do(tt.user, "GET", "/api/dialplan/check?number="+urlEscape(tt.number), "")
		if code != 200 || res["kind"] != tt.kind || res["normalized"] != tt.normalized && !(tt.normalized == "" && res["normalized"] == "") || res["allowed"] != tt.allowed {
			t.Errorf("check %q: %d %v", tt.number, code, res)
		}
	}
	env.run([]apiCall{{"admin", "PATCH", "/api/users/" + env.id("1001"), `{"profile":{"can_outdial":false}}`, 200, ""}})
	_, res := env.do("1001", "GET", "/api/dialplan/check?number=%2B31201230001", "")
	if res["kind"] != "external" || res["allowed"] != false || res["transfer_allowed"] != false || res["error"] == nil {
		t.Errorf("external without outdial: %v", res)
	}
	_, res = env.do("1001", "GET", "/api/dialplan/check?number=1002", "")
	if res["allowed"] != true {
		t.Errorf("internal without outdial: %v", res)
	}

	// /api/me: the agent's queues and their wrap-up codes, the reason codes.
	env.run([]apiCall{{"admin", "POST", "/api/queues/8000/wrapup-codes", `{"code":"sale","label":"Sale"}`, 201, ""}})
	_, me := env.do("1001", "GET", "/api/me", "")
	agent := me["agent"].(map[string]any)
	if agent["is_agent"] != true || len(agent["queues"].([]any)) != 1 {
		t.Errorf("1001's agent: %v", agent)
	}
	if w := me["wrapup_codes"].(map[string]any)["8000"].([]any); len(w) != 1 {
		t.Errorf("wrap-up codes %v", me["wrapup_codes"])
	}
	if perms := fmt.Sprint(me["permissions"]); perms != "[console keypad_dial]" {
		t.Errorf("1001's permissions %s", perms)
	}
	_, me = env.do("eva", "GET", "/api/me", "")
	if fmt.Sprint(me["supervised_queues"]) != "[8000]" || me["role"] != "supervisor" {
		t.Errorf("eva: %v %v", me["supervised_queues"], me["role"])
	}
}

func urlEscape(s string) string {
	return strings.NewReplacer(" ", "%20", "+", "%2B", "(", "%28", ")", "%29").Replace(s)
}
