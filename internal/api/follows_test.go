package api

import (
	"testing"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/store"
)

func TestFollowsCRUD(t *testing.T) {
	env := newACDTestEnv(t)
	op := "/api/users/" + env.id("reception") + "/follows"
	env.run([]apiCall{
		{"admin", "GET", op, "", 200, ""},
		{"admin", "PUT", op, `{"users":[` + env.id("1003") + `],"queues":["8000"]}`, 200, ""},
		// Refused: not an admin, bad ids, bad types, unknown targets, oversize.
		{"reception", "GET", op, "", 403, "forbidden"},
		{"reception", "PUT", op, `{}`, 403, "forbidden"},
		{"1001", "PUT", op, `{}`, 403, "forbidden"},
		{"admin", "GET", "/api/users/abc/follows", "", 400, "invalid_id"},
		{"admin", "GET", "/api/users/99999/follows", "", 404, "user_not_found"},
		{"admin", "PUT", "/api/users/99999/follows", `{}`, 404, "user_not_found"},
		{"admin", "PUT", op, `{"users":["1003"]}`, 400, "invalid_json"},
		{"admin", "PUT", op, `{"users":[0]}`, 400, "invalid_request"},
		{"admin", "PUT", op, `{"queues":["queue"]}`, 400, "invalid_request"},
		{"admin", "PUT", op, `{"queues":[8000]}`, 400, "invalid_json"},
		{"admin", "PUT", op, `{"users":[99999]}`, 400, "unknown_follow"},
		{"admin", "PUT", op, `{"queues":["8999"]}`, 400, "unknown_follow"},
		{"admin", "PUT", op, `{"users":[` + env.id("reception") + `]}`, 400, "invalid_request"},
		{"admin", "PUT", op, `{"extra":1}`, 400, "invalid_json"},
		{"admin", "PUT", op, `{`, 400, "invalid_json"},
	})
	// Refused changes changed nothing.
	code, body := env.do("admin", "GET", op, "")
	users, _ := body["users"].([]any)
	queues, _ := body["queues"].([]any)
	if code != 200 || len(users) != 1 || users[0] != float64(env.ids["1003"]) || len(queues) != 1 || queues[0] != "8000" {
		t.Fatalf("follows after refused changes: %d %v", code, body)
	}
	// The operator's principal carries the list, resolved to extensions.
	p, err := env.s.auth.Authenticate(t.Context(), env.tokens["reception"])
	if err != nil || p.Follows == nil || !p.FollowsExtension("1003") || !p.FollowsQueue("8000") || p.FollowsExtension("1001") {
		t.Fatalf("operator principal %+v %v", p.Follows, err)
	}
	// Emptied, the list no longer narrows anything.
	env.run([]apiCall{{"admin", "PUT", op, `{"users":[],"queues":[]}`, 200, ""}})
	if p, _ := env.s.auth.Authenticate(t.Context(), env.tokens["reception"]); p.Follows != nil {
		t.Fatalf("empty list still narrows: %+v", p.Follows)
	}
	// Only operators are narrowed.
	agentFollows := "/api/users/" + env.id("1001") + "/follows"
	env.run([]apiCall{{"admin", "PUT", agentFollows, `{"queues":["8001"]}`, 200, ""}})
	if p, _ := env.s.auth.Authenticate(t.Context(), env.tokens["1001"]); p.Follows != nil {
		t.Fatalf("an agent's list narrows: %+v", p.Follows)
	}
}

func TestMayOnCallWithFollows(t *testing.T) {
	followed := &store.FollowScope{Extensions: []string{"1003"}, Queues: []string{"8000"}}
	operator := auth.Principal{User: store.User{Role: store.RoleOperator}, Extensions: []string{"1009"}, Follows: followed}
	allCalls := auth.Principal{User: store.User{Role: store.RoleOperator}, Extensions: []string{"1009"}}
	agent := auth.Principal{User: store.User{Role: store.RoleAgent}, Extensions: []string{"1003"}}
	ext := func(from, to string) call.Info { return testCall("c", from, to) }
	queued := call.Info{ID: "q", From: call.Party{Kind: "external", Number: "+3120"}, Target: "queue:8000"}
	queuedElsewhere := call.Info{ID: "q2", From: call.Party{Kind: "external", Number: "+3120"}, Target: "queue:8001"}
	answeredByFollowed := queuedElsewhere
	answeredByFollowed.AnsweredBy = "1003"
	consulted := ext("1001", "1002")
	consulted.Parties = []call.PartyInfo{{Extension: "1001"}, {Extension: "1002"}, {Extension: "1003", Role: "consult"}}
	cases := []struct {
		name string
		p    auth.Principal
		c    call.Info
		want bool
	}{
		{"operator, not followed", operator, ext("1001", "1002"), false},
		{"operator, followed caller", operator, ext("1003", "1002"), true},
		{"operator, followed callee", operator, ext("1001", "1003"), true},
		{"operator, followed queue", operator, queued, true},
		{"operator, another queue", operator, queuedElsewhere, false},
		{"operator, another queue answered by a followed user", operator, answeredByFollowed, true},
		{"operator, followed user consulted", operator, consulted, true},
		{"operator, own call", operator, ext("1009", "1002"), true},
		{"operator without a list", allCalls, ext("1001", "1002"), true},
		{"agent, own call", agent, ext("1003", "1002"), true},
		{"agent, another's call", agent, ext("1001", "1002"), false},
	}
	for _, tt := range cases {
		for _, a := range []auth.Action{auth.CallsViewAll, auth.CallsControlAny, auth.EventsViewAll} {
			if got := mayOnCall(tt.p, a, tt.c); got != tt.want {
				t.Errorf("%s: %s %v, want %v", tt.name, a, got, tt.want)
			}
		}
	}
}

func TestVisibleWithFollows(t *testing.T) {
	env := newWSTestEnv(t, defaultWSConfig)
	p := auth.Principal{User: store.User{ID: 50, Role: store.RoleOperator}, Extensions: []string{"1009"},
		Follows: &store.FollowScope{Extensions: []string{"1003"}, Queues: []string{"8000"}}}
	cases := []struct {
		name string
		data any
		want bool
	}{
		{"followed call", testCall("a", "1003", "1002"), true},
		{"other call", testCall("b", "1001", "1002"), false},
		{"offer to a followed agent", call.OfferInfo{Call: testCall("b", "1001", "1002"), Agent: "1003"}, true},
		{"offer to another agent", call.OfferInfo{Call: testCall("b", "1001", "1002"), Agent: "1004"}, false},
		{"followed device", registrar.DeviceState{Extension: "1003"}, true},
		{"own device", registrar.DeviceState{Extension: "1009"}, true},
		{"other device", registrar.DeviceState{Extension: "1001"}, false},
		{"followed agent", acd.AgentView{ID: 7, Extensions: []string{"1003"}}, true},
		{"agent of a followed queue", acd.AgentView{ID: 8, Extensions: []string{"1005"}, Queues: []acd.MembershipView{{Queue: "8000"}}}, true},
		{"other agent", acd.AgentView{ID: 9, Extensions: []string{"1006"}}, false},
		{"membership in a followed queue", acd.MembershipView{Queue: "8000", Extension: "1001"}, true},
		{"other membership", acd.MembershipView{Queue: "8001", Extension: "1001"}, false},
		{"followed queue's statistics", acd.QueueStats{Queue: "8000"}, true},
		{"DTMF of a call that is gone", call.DTMF{CallID: "gone"}, false},
	}
	for _, c := range cases {
		if got := env.s.visible(p, events.Event{Data: c.data}); got != c.want {
			t.Errorf("%s: visible %v, want %v", c.name, got, c.want)
		}
	}
	// Without a list the operator sees everything, as events.view_all says.
	p.Follows = nil
	if !env.s.visible(p, events.Event{Data: testCall("b", "1001", "1002")}) {
		t.Error("an operator without a follow list does not see every call")
	}
}

// An operator's WebSocket org topic carries only the followed calls.
func TestWSFollowedCallsOnly(t *testing.T) {
	env := newWSTestEnv(t, defaultWSConfig)
	p := auth.Principal{User: store.User{Username: "reception", Role: store.RoleOperator}, Extensions: []string{"1009"},
		Follows: &store.FollowScope{Extensions: []string{"1003"}}}
	c := env.dial(p)
	c.send(`{"type":"subscribe","topics":["org"]}`)
	if m := c.next(); m.Type != "snapshot" {
		t.Fatalf("%+v", m)
	}
	env.s.bus.Publish(events.CallCreated, "call:other", testCall("other", "1001", "1002"))
	env.s.bus.Publish(events.CallCreated, "call:followed", testCall("followed", "1003", "1002"))
	if e := c.events(1); e[0].Resource != "call:followed" {
		t.Fatalf("operator following 1003 got %+v", e)
	}
}
