package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// cadVars maps a call data body's variables by name.
func cadVars(t *testing.T, body map[string]any) map[string]map[string]any {
	t.Helper()
	list, ok := body["variables"].([]any)
	if !ok {
		t.Fatalf("no variables in %v", body)
	}
	out := map[string]map[string]any{}
	for _, v := range list {
		m := v.(map[string]any)
		out[m["name"].(string)] = m
	}
	return out
}

// TestCallAssociatedData: an admin defines variables on queue 8000; a call
// from 1009 to the queue, answered by 1001, carries them; the first save
// wins and the second editor gets 409 with the current values; secure
// values are masked for those not handling the call; bad input is 400
// with stable codes; a queue takes at most 30 variables.
func TestCallAssociatedData(t *testing.T) {
	s := startServer(t, serverOpts{})
	const vars = "/api/queues/8000/variables"

	// Definitions (admin only).
	for _, body := range []string{
		`{"name":"customer_id","label":"Customer ID","type":"integer","order":1,"editable":true}`,
		`{"name":"vip","label":"VIP","type":"boolean","order":2,"editable":true}`,
		`{"name":"ssn","label":"SSN","type":"string","order":3,"editable":true,"secure":true}`,
		`{"name":"note","type":"string","order":4}`,
		`{"name":"callback_at","type":"datetime","order":5,"editable":true}`,
		`{"name":"ani","label":"Caller","type":"string","order":0}`,
	} {
		code, out := s.as(t, "admin", "POST", vars, body)
		expectAPI(t, "create "+body, code, out, 201, "")
	}
	code, out := s.as(t, "admin", "PATCH", vars+"/note", `{"label":"Note"}`)
	expectAPI(t, "patch note", code, out, 200, "")
	if out["label"] != "Note" || out["type"] != "string" || out["editable"] != false {
		t.Errorf("patched note: %v", out)
	}
	for _, tt := range []struct {
		what, user, method, path, body string
		status                         int
		code                           string
	}{
		{"duplicate", "admin", "POST", vars, `{"name":"vip","type":"boolean"}`, 409, "variable_exists"},
		{"bad name", "admin", "POST", vars, `{"name":"9lives","type":"string"}`, 400, "invalid_name"},
		{"long name", "admin", "POST", vars, `{"name":"` + strings.Repeat("a", 33) + `","type":"string"}`, 400, "invalid_name"},
		{"bad type", "admin", "POST", vars, `{"name":"amount","type":"money"}`, 400, "invalid_type"},
		{"no type", "admin", "POST", vars, `{"name":"amount"}`, 400, "invalid_type"},
		{"bad order", "admin", "POST", vars, `{"name":"amount","type":"string","order":-1}`, 400, "invalid_order"},
		{"editable not a boolean", "admin", "POST", vars, `{"name":"amount","type":"string","editable":"yes"}`, 400, "invalid_editable"},
		{"no such queue", "admin", "POST", "/api/queues/8999/variables", `{"name":"x","type":"string"}`, 404, "queue_not_found"},
		{"list of no such queue", "admin", "GET", "/api/queues/8999/variables", "", 404, "queue_not_found"},
		{"patch unknown", "admin", "PATCH", vars + "/nope", `{"label":"x"}`, 404, "variable_not_found"},
		{"rename refused", "admin", "PATCH", vars + "/note", `{"name":"remark"}`, 400, "invalid_json"},
		{"delete unknown", "admin", "DELETE", vars + "/nope", "", 404, "variable_not_found"},
		{"agent may not define", "1001", "POST", vars, `{"name":"x","type":"string"}`, 403, "forbidden"},
		{"supervisor may not list", "1010", "GET", vars, "", 403, "forbidden"},
	} {
		code, out := s.as(t, tt.user, tt.method, tt.path, tt.body)
		expectAPI(t, tt.what, code, out, tt.status, tt.code)
	}
	code, out = s.as(t, "admin", "GET", vars, "")
	expectAPI(t, "list", code, out, 200, "")
	var order []string
	for _, v := range out["variables"].([]any) {
		order = append(order, v.(map[string]any)["name"].(string))
	}
	if got := strings.Join(order, ","); got != "ani,customer_id,vip,ssn,note,callback_at" {
		t.Errorf("variables in order %s", got)
	}

	// A call to the queue, answered by 1001.
	ev := events(t, s)
	caller := phone(t, s, "1009", 1000, "udp")
	agent := phone(t, s, "1001", 440, "udp")
	agent.AutoAnswer(100 * time.Millisecond)
	call, err := caller.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	defer call.Hangup(ctxFor(t, 5*time.Second))
	id := waitCallState(t, s, "answered", "")
	data := "/api/calls/" + id + "/data"

	// Both editors read version 1; the routing-set "ani" holds the caller.
	for _, user := range []string{"1001", "admin"} {
		code, out := s.as(t, user, "GET", data, "")
		expectAPI(t, user+" reads", code, out, 200, "")
		if out["version"] != 1.0 || out["flow"] != "8000" {
			t.Errorf("%s reads version %v flow %v, want 1 and 8000", user, out["version"], out["flow"])
		}
		v := cadVars(t, out)
		if len(v) != 6 || v["ani"]["value"] != "1009" || v["customer_id"]["value"] != "" ||
			v["customer_id"]["label"] != "Customer ID" || v["customer_id"]["type"] != "integer" ||
			v["ssn"]["secure"] != true || v["note"]["editable"] != false {
			t.Errorf("%s reads %v", user, out)
		}
	}

	// 1001 saves first and wins.
	code, out = s.as(t, "1001", "PUT", data, `{"version":1,"values":{"customer_id":42,"vip":true,"ssn":"123-45-6789"}}`)
	expectAPI(t, "first save", code, out, 200, "")
	if v := cadVars(t, out); out["version"] != 2.0 || v["customer_id"]["value"] != "42" || v["vip"]["value"] != "true" || v["ssn"]["value"] != "123-45-6789" {
		t.Errorf("first save answered %v", out)
	}
	// The admin saves on top of version 1: refused, told what is current.
	code, out = s.as(t, "admin", "PUT", data, `{"version":1,"values":{"customer_id":"7"}}`)
	expectAPI(t, "second save", code, out, 409, "stale_data")
	cur, _ := out["current"].(map[string]any)
	if cur == nil || cur["version"] != 2.0 {
		t.Fatalf("409 without the current data: %v", out)
	}
	if v := cadVars(t, cur); v["customer_id"]["value"] != "42" || v["ssn"]["value"] != "123-45-6789" {
		t.Errorf("409 current values %v", cur)
	}
	code, out = s.as(t, "admin", "GET", data, "")
	if v := cadVars(t, out); code != 200 || out["version"] != 2.0 || v["customer_id"]["value"] != "42" {
		t.Errorf("the refused save changed something: %v", out)
	}

	// The event carries the save with the secure value masked.
	deadline := time.After(5 * time.Second)
	for found := false; !found; {
		select {
		case e := <-ev:
			if e.Type != "call_data_changed" {
				continue
			}
			var d struct {
				CallID  string            `json:"call_id"`
				Version int               `json:"version"`
				Values  map[string]string `json:"values"`
				Secure  []string          `json:"secure"`
			}
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			if d.CallID != id || d.Version != 2 || d.Values["customer_id"] != "42" || d.Values["ssn"] != "••••" || fmt.Sprint(d.Secure) != "[ssn]" {
				t.Errorf("call_data_changed %+v", d)
			}
			found = true
		case <-deadline:
			t.Fatal("no call_data_changed event")
		}
	}

	// Secure values: the handling agent and the admin see them; the caller
	// (an operator) and a supervisor see them masked.
	for _, tt := range []struct {
		user   string
		masked bool
	}{{"1001", false}, {"admin", false}, {"1009", true}, {"1010", true}} {
		code, out := s.as(t, tt.user, "GET", data, "")
		expectAPI(t, tt.user+" reads", code, out, 200, "")
		ssn := cadVars(t, out)["ssn"]
		want := "123-45-6789"
		if tt.masked {
			want = "••••"
		}
		if ssn["value"] != want || (ssn["masked"] == true) != tt.masked {
			t.Errorf("%s sees ssn %v, want %q", tt.user, ssn, want)
		}
		if cv := cadVars(t, out)["customer_id"]; cv["value"] != "42" {
			t.Errorf("%s sees customer_id %v", tt.user, cv)
		}
	}

	// Who may read and save.
	for _, tt := range []struct {
		what, user, method, body string
		status                   int
		code                     string
	}{
		{"agent not on the call reads", "1003", "GET", "", 403, "forbidden"},
		{"agent not on the call saves", "1003", "PUT", `{"version":2,"values":{"customer_id":"1"}}`, 403, "forbidden"},
		{"supervisor saves", "1010", "PUT", `{"version":2,"values":{"customer_id":"1"}}`, 403, "forbidden"},
		{"operator writes a secure value", "1009", "PUT", `{"version":2,"values":{"ssn":"x"}}`, 403, "forbidden"},
		{"anonymous", "", "GET", "", 401, "unauthenticated"},
	} {
		code, out := s.as(t, tt.user, tt.method, data, tt.body)
		expectAPI(t, tt.what, code, out, tt.status, tt.code)
	}
	// The operator may change what is not secure.
	code, out = s.as(t, "1009", "PUT", data, `{"version":2,"values":{"callback_at":"2025-01-31T14:05:00+01:00"}}`)
	expectAPI(t, "operator saves", code, out, 200, "")
	if out["version"] != 3.0 {
		t.Errorf("operator's save: %v", out)
	}

	// Bad input: 400 with stable codes, nothing changed.
	for _, tt := range []struct {
		what, body string
		status     int
		code       string
	}{
		{"not editable", `{"version":3,"values":{"note":"hi"}}`, 400, "not_editable"},
		{"unknown variable", `{"version":3,"values":{"nope":"x"}}`, 400, "unknown_variable"},
		{"not an integer", `{"version":3,"values":{"customer_id":"4x"}}`, 400, "invalid_value"},
		{"not a boolean", `{"version":3,"values":{"vip":"yes"}}`, 400, "invalid_value"},
		{"not RFC 3339", `{"version":3,"values":{"callback_at":"31-01-2025 14:05"}}`, 400, "invalid_value"},
		{"an object", `{"version":3,"values":{"customer_id":{"a":1}}}`, 400, "invalid_value"},
		{"257 characters", `{"version":3,"values":{"ssn":"` + strings.Repeat("x", 257) + `"}}`, 400, "value_too_long"},
		{"no version", `{"values":{"customer_id":"1"}}`, 400, "invalid_version"},
		{"version not a number", `{"version":"3","values":{}}`, 400, "invalid_version"},
		{"unknown field", `{"version":3,"values":{},"force":true}`, 400, "invalid_json"},
	} {
		code, out := s.as(t, "1001", "PUT", data, tt.body)
		expectAPI(t, tt.what, code, out, tt.status, tt.code)
	}
	code, out = s.as(t, "1001", "PUT", data, `{"version":3,"values":{"ssn":"`+strings.Repeat("é", 256)+`","vip":null}}`)
	expectAPI(t, "256 characters and a cleared boolean", code, out, 200, "")
	if v := cadVars(t, out); out["version"] != 4.0 || v["vip"]["value"] != "" || v["customer_id"]["value"] != "42" {
		t.Errorf("after bad input and one good save: %v", out)
	}
	code, out = s.as(t, "1001", "GET", "/api/calls/nope/data", "")
	expectAPI(t, "unknown call", code, out, 404, "call_not_found")

	// At most 30 definitions per queue: the call shows all 30.
	for i := 6; i < 30; i++ {
		code, out := s.as(t, "admin", "POST", vars, fmt.Sprintf(`{"name":"extra_%d","type":"string","order":%d}`, i, 100+i))
		expectAPI(t, fmt.Sprintf("variable %d", i+1), code, out, 201, "")
	}
	code, out = s.as(t, "admin", "POST", vars, `{"name":"one_too_many","type":"string"}`)
	expectAPI(t, "31st variable", code, out, 400, "too_many_variables")
	code, out = s.as(t, "1001", "GET", data, "")
	if code != 200 || len(out["variables"].([]any)) != 30 {
		t.Errorf("the call shows %d variables, want 30", len(out["variables"].([]any)))
	}
	// A deleted definition is no longer shown.
	code, out = s.as(t, "admin", "DELETE", vars+"/extra_29", "")
	if code != 204 {
		t.Errorf("delete: %d %v", code, out)
	}
	code, out = s.as(t, "1001", "GET", data, "")
	if code != 200 || len(out["variables"].([]any)) != 29 {
		t.Errorf("after a delete the call shows %d variables, want 29", len(out["variables"].([]any)))
	}
}

// TestCallDataCarriedOverOnTransferToQueue: a blind transfer to another
// queue keeps the values of variables with the same name and type, starts
// the others empty and drops what the new queue does not define (D2).
func TestCallDataCarriedOverOnTransferToQueue(t *testing.T) {
	s := startServer(t, serverOpts{})
	for _, d := range []struct{ queue, body string }{
		{"8000", `{"name":"customer_id","type":"integer","editable":true}`},
		{"8000", `{"name":"vip","type":"boolean","editable":true}`},
		{"8000", `{"name":"note","type":"string","editable":true}`},
		{"8001", `{"name":"customer_id","type":"integer","editable":true}`},
		{"8001", `{"name":"vip","type":"string","editable":true}`},
		{"8001", `{"name":"topic","type":"string","editable":true}`},
	} {
		code, out := s.as(t, "admin", "POST", "/api/queues/"+d.queue+"/variables", d.body)
		expectAPI(t, "define "+d.body, code, out, 201, "")
	}
	_, _, id := queueCall(t, s)
	data := "/api/calls/" + id + "/data"
	code, out := s.as(t, "1002", "PUT", data, `{"version":1,"values":{"customer_id":42,"vip":true,"note":"asked for a refund"}}`)
	expectAPI(t, "save", code, out, 200, "")

	sales := phone(t, s, "1006", consultHz, "udp")
	sales.AutoAnswer(50 * time.Millisecond)
	code, out = s.as(t, "1002", "POST", "/api/calls/"+id+"/transfer", `{"target":"8001"}`)
	expectAPI(t, "transfer to 8001", code, out, 202, "")
	incoming(t, sales, "sales agent")
	eventually(t, 5*time.Second, func() error {
		code, out := s.as(t, "admin", "GET", data, "")
		if code != 200 || out["flow"] != "8001" {
			return fmt.Errorf("data %d %v", code, out)
		}
		v := cadVars(t, out)
		if len(v) != 3 || v["customer_id"]["value"] != "42" || v["vip"]["value"] != "" || v["topic"]["value"] != "" {
			return fmt.Errorf("carried over %v", out)
		}
		return nil
	})
}
