package api

import (
	"encoding/json"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/presence"
	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/store"
)

func TestParseClientMsg(t *testing.T) {
	cases := []struct {
		in, code string
		topics   int
		resume   uint64
	}{
		{in: `{"type":"ping"}`},
		{in: `{"type":"subscribe","topics":["org"]}`, topics: 1},
		{in: `{"type":"subscribe","topics":["call:ab12","extension:1001","queue:600"],"resume_from":42}`, topics: 3, resume: 42},
		{in: `{"type":"subscribe","topics":[]}`, code: "invalid_topic"},
		{in: `{"type":"subscribe","topics":["room:1"]}`, code: "invalid_topic"},
		{in: `{"type":"subscribe","topics":["call:"]}`, code: "invalid_topic"},
		{in: `{"type":"subscribe","topics":["extension:10 01"]}`, code: "invalid_topic"},
		{in: `{"type":"subscribe","topics":["org"],"resume_from":-1}`, code: "invalid_json"},
		{in: `{"type":"subscribe","topics":["org"],"extra":1}`, code: "invalid_json"},
		{in: `{"type":"dance"}`, code: "unknown_type"},
		{in: `{}`, code: "invalid_message"},
		{in: `not json`, code: "invalid_json"},
		{in: `{"type":"ping"}{"type":"ping"}`, code: "invalid_json"},
		{in: `{"type":"subscribe","topics":[` + strings.Repeat(`"org",`, wsMaxTopics) + `"org"]}`, code: "invalid_topic"},
	}
	for _, c := range cases {
		m, err := parseClientMsg([]byte(c.in))
		switch {
		case c.code != "" && (err == nil || err.Code != c.code):
			t.Errorf("%s: error %v, want code %s", c.in, err, c.code)
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.code == "":
			if len(m.topics) != c.topics {
				t.Errorf("%s: %d topics, want %d", c.in, len(m.topics), c.topics)
			}
			if c.resume != 0 && (m.ResumeFrom == nil || *m.ResumeFrom != c.resume) {
				t.Errorf("%s: resume_from %v, want %d", c.in, m.ResumeFrom, c.resume)
			}
		}
	}
}

func TestTopicMatching(t *testing.T) {
	ext := call.Info{ID: "c1", From: call.Party{Kind: "extension", Number: "1001"}, Target: "extension:1002"}
	queued := call.Info{ID: "c2", From: call.Party{Kind: "external", Number: "+15550100"}, Target: "queue:600", AnsweredBy: "1003"}
	calls := map[string]call.Info{"c1": ext, "c2": queued}
	lookup := func(id string) (call.Info, bool) { c, ok := calls[id]; return c, ok }
	ev := func(resource string, data any) events.Event { return events.Event{Resource: resource, Data: data} }
	cases := []struct {
		topic string
		e     events.Event
		want  bool
	}{
		{"org", ev("call:c1", ext), true},
		{"call:c1", ev("call:c1", ext), true},
		{"call:c1", ev("call:c2", queued), false},
		{"call:c1", ev("call:c1", call.DTMF{CallID: "c1"}), true},
		{"extension:1001", ev("call:c1", ext), true}, // caller
		{"extension:1002", ev("call:c1", ext), true}, // callee
		{"extension:1003", ev("call:c1", ext), false},
		{"extension:1003", ev("call:c2", queued), true}, // answered by
		{"extension:1002", ev("call:c1", call.DTMF{CallID: "c1"}), true},
		{"extension:1002", ev("call:gone", call.DTMF{CallID: "gone"}), false},
		{"extension:1001", ev("extension:1001", registrar.DeviceState{Extension: "1001"}), true},
		{"extension:1001", ev("extension:1002", registrar.DeviceState{Extension: "1002"}), false},
		{"queue:600", ev("call:c2", queued), true},
		{"queue:600", ev("call:c1", ext), false},
		{"queue:600", ev("extension:600", registrar.DeviceState{Extension: "600"}), false},
		// ACD events: an agent's state on their extensions and queues, queue events on their queue.
		{"extension:1003", ev("agent:7", acd.AgentView{ID: 7, Extensions: []string{"1003"}}), true},
		{"extension:1004", ev("agent:7", acd.AgentView{ID: 7, Extensions: []string{"1003"}}), false},
		{"queue:600", ev("agent:7", acd.AgentView{ID: 7, Queues: []acd.MembershipView{{Queue: "600"}}}), true},
		{"queue:601", ev("agent:7", acd.AgentView{ID: 7, Queues: []acd.MembershipView{{Queue: "600"}}}), false},
		{"extension:1003", ev("queue:600", acd.MembershipView{Queue: "600", Extension: "1003"}), true},
		{"queue:600", ev("queue:600", acd.MembershipView{Queue: "600", Extension: "1003"}), true},
		{"queue:600", ev("queue:600", acd.QueueStats{Queue: "600"}), true},
		{"queue:601", ev("queue:600", acd.QueueCallView{Queue: "600"}), false},
		{"extension:600", ev("queue:600", acd.QueueStats{Queue: "600"}), false},
		// Presence: the presence topic takes every presence_changed and nothing else.
		{"presence", events.Event{Type: presence.Changed, Resource: "extension:1001", Data: presence.View{Extension: "1001"}}, true},
		{"presence", ev("call:c1", ext), false},
		{"presence", ev("extension:1001", registrar.DeviceState{Extension: "1001"}), false},
		{"extension:1001", events.Event{Type: presence.Changed, Resource: "extension:1001", Data: presence.View{Extension: "1001"}}, true},
		// "org" keeps to calls, agents and queues: presence is asked for by topic.
		{"org", events.Event{Type: presence.Changed, Resource: "extension:1001", Data: presence.View{Extension: "1001"}}, false},
	}
	for _, c := range cases {
		tp, err := parseTopic(c.topic)
		if err != nil {
			t.Fatalf("%s: %v", c.topic, err)
		}
		if tp.String() != c.topic {
			t.Errorf("topic %q prints as %q", c.topic, tp.String())
		}
		if got := tp.matches(c.e, lookup); got != c.want {
			t.Errorf("%s matches %s %T: %v, want %v", c.topic, c.e.Resource, c.e.Data, got, c.want)
		}
	}
}

func TestFlushInterval(t *testing.T) {
	h := newWSHub(&Server{}, defaultWSConfig)
	for _, tt := range []struct {
		clients int64
		want    time.Duration
	}{
		{0, 20 * time.Millisecond}, {1, 20 * time.Millisecond}, {400, 20 * time.Millisecond},
		{600, 30 * time.Millisecond}, {800, 40 * time.Millisecond}, {1000, 50 * time.Millisecond}, {5000, 50 * time.Millisecond},
	} {
		h.clients.Store(tt.clients)
		if got := h.flushInterval(); got != tt.want {
			t.Errorf("%d clients: interval %s, want %s", tt.clients, got, tt.want)
		}
	}
}

func TestAppendEventsMsg(t *testing.T) {
	one := appendEventsMsg(nil, []uint64{7}, [][]byte{[]byte(`{"seq":7}`)})
	two := appendEventsMsg(nil, []uint64{7, 9}, [][]byte{[]byte(`{"seq":7}`), []byte(`{"seq":9}`)})
	if string(one) != `{"type":"event","seq":7,"event":{"seq":7}}` {
		t.Errorf("one: %s", one)
	}
	if string(two) != `{"type":"events","events":[{"seq":7},{"seq":9}]}` {
		t.Errorf("two: %s", two)
	}
}

// wsTestEnv is a Server with a real bus and call manager, and connections
// over net.Pipe: a pipe has no buffer, so a client that stops reading
// blocks the server's writer at once.
type wsTestEnv struct {
	t   *testing.T
	s   *Server
	hub *wsHub
}

func newWSTestEnv(t *testing.T, cfg wsConfig) *wsTestEnv {
	bus := events.New(64)
	s := &Server{bus: bus, log: slog.New(slog.DiscardHandler), calls: call.New(call.Config{Logger: slog.New(slog.DiscardHandler)}, nil, nil, nil, nil, bus)}
	return &wsTestEnv{t: t, s: s, hub: newWSHub(s, cfg)}
}

func principal(role store.Role, exts ...string) auth.Principal {
	return auth.Principal{User: store.User{Username: string(role), Role: role}, Extensions: exts}
}

type wsTestClient struct {
	t    *testing.T
	conn net.Conn
	done chan struct{}
}

func (env *wsTestEnv) dial(p auth.Principal) *wsTestClient {
	cli, srv := net.Pipe()
	c := &wsTestClient{t: env.t, conn: cli, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		newWSConn(env.hub, srv, nil, p).run()
	}()
	env.t.Cleanup(func() { cli.Close(); <-c.done })
	return c
}

func (c *wsTestClient) send(v string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if err := wsutil.WriteClientText(c.conn, []byte(v)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

type wsTestMsg struct {
	Type    string         `json:"type"`
	Seq     uint64         `json:"seq"`
	Code    string         `json:"code"`
	Reason  string         `json:"reason"`
	Calls   []call.Info    `json:"calls"`
	Event   *events.Event  `json:"event"`
	Events  []events.Event `json:"events"`
	closeCd ws.StatusCode
}

// next reads one message; a close frame comes back as type "close".
func (c *wsTestClient) next() wsTestMsg {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	var b []byte
	for b == nil {
		f, err := ws.ReadFrame(c.conn)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		switch f.Header.OpCode {
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(f.Payload)
			return wsTestMsg{Type: "close", closeCd: code, Reason: reason}
		case ws.OpPing:
			go func() { _ = wsutil.WriteClientMessage(c.conn, ws.OpPong, f.Payload) }()
		case ws.OpText:
			if !f.Header.Fin || f.Header.Masked {
				c.t.Fatalf("server frame fin=%v masked=%v", f.Header.Fin, f.Header.Masked)
			}
			b = f.Payload
		}
	}
	var m wsTestMsg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("bad message %s: %v", b, err)
	}
	return m
}

// events reads until it has n events, flattening batches.
func (c *wsTestClient) events(n int) []events.Event {
	c.t.Helper()
	var out []events.Event
	for len(out) < n {
		m := c.next()
		switch m.Type {
		case "event":
			if m.Event.Seq != m.Seq {
				c.t.Fatalf("event seq %d in envelope %d", m.Event.Seq, m.Seq)
			}
			out = append(out, *m.Event)
		case "events":
			out = append(out, m.Events...)
		default:
			c.t.Fatalf("got %+v while waiting for events", m)
		}
	}
	return out
}

func testCall(id, from, to string) call.Info {
	return call.Info{ID: id, State: call.StateAnswered, From: call.Party{Kind: "extension", Number: from}, Target: "extension:" + to}
}

func TestWSSnapshotThenEventsInOrder(t *testing.T) {
	env := newWSTestEnv(t, defaultWSConfig)
	c := env.dial(principal(store.RoleAdmin))
	env.s.bus.Publish(events.CallCreated, "call:old", testCall("old", "1001", "1002")) // before: not sent
	c.send(`{"type":"subscribe","topics":["org"]}`)
	snap := c.next()
	if snap.Type != "snapshot" || snap.Seq != 1 || snap.Calls == nil {
		t.Fatalf("first message %+v, want a snapshot at seq 1", snap)
	}
	for i := 0; i < 50; i++ {
		env.s.bus.Publish(events.CallHeld, "call:c1", testCall("c1", "1001", "1002"))
	}
	got := c.events(50)
	for i, e := range got {
		if e.Seq != uint64(i+2) {
			t.Fatalf("event %d has seq %d, want %d", i, e.Seq, i+2)
		}
	}
	// Ping and errors keep the connection up.
	c.send(`{"type":"ping"}`)
	if m := c.next(); m.Type != "pong" {
		t.Fatalf("ping answered with %+v", m)
	}
	c.send(`{"type":"subscribe","topics":["nope"]}`)
	if m := c.next(); m.Type != "error" || m.Code != "invalid_topic" {
		t.Fatalf("bad topic answered with %+v", m)
	}
	c.send(`{`)
	if m := c.next(); m.Type != "error" || m.Code != "invalid_json" {
		t.Fatalf("bad JSON answered with %+v", m)
	}
	env.s.bus.Publish(events.CallEnded, "call:c1", testCall("c1", "1001", "1002"))
	if e := c.events(1); e[0].Type != events.CallEnded {
		t.Fatalf("after errors got %+v", e)
	}
}

func TestWSVisibilityAndTopics(t *testing.T) {
	env := newWSTestEnv(t, defaultWSConfig)
	agent := env.dial(principal(store.RoleAgent, "1003"))
	agent.send(`{"type":"subscribe","topics":["org"]}`)
	if m := agent.next(); m.Type != "snapshot" {
		t.Fatalf("%+v", m)
	}
	byCall := env.dial(principal(store.RoleAdmin))
	byCall.send(`{"type":"subscribe","topics":["call:mine"]}`)
	if m := byCall.next(); m.Type != "snapshot" {
		t.Fatalf("%+v", m)
	}
	env.s.bus.Publish(events.CallCreated, "call:other", testCall("other", "1001", "1002"))
	env.s.bus.Publish(events.CallCreated, "call:mine", testCall("mine", "1003", "1002"))
	if e := agent.events(1); e[0].Resource != "call:mine" {
		t.Fatalf("agent 1003 got %+v, want only its own call", e)
	}
	if e := byCall.events(1); e[0].Resource != "call:mine" {
		t.Fatalf("call:mine subscriber got %+v", e)
	}
}

func TestWSResume(t *testing.T) {
	env := newWSTestEnv(t, defaultWSConfig)
	for i := 0; i < 10; i++ {
		env.s.bus.Publish(events.CallHeld, "call:c1", testCall("c1", "1001", "1002"))
	}
	c := env.dial(principal(store.RoleAdmin))
	c.send(`{"type":"subscribe","topics":["org"],"resume_from":4}`)
	if m := c.next(); m.Type != "resumed" {
		t.Fatalf("%+v, want resumed", m)
	}
	got := c.events(6)
	if got[0].Seq != 5 || got[5].Seq != 10 {
		t.Fatalf("resumed with %d..%d, want 5..10", got[0].Seq, got[5].Seq)
	}
	for i := 0; i < 100; i++ { // beyond the history of 64
		env.s.bus.Publish(events.CallHeld, "call:c1", testCall("c1", "1001", "1002"))
	}
	old := env.dial(principal(store.RoleAdmin))
	old.send(`{"type":"subscribe","topics":["org"],"resume_from":4}`)
	if m := old.next(); m.Type != "snapshot" || m.Reason != "resume_too_old" || m.Seq != 110 {
		t.Fatalf("%+v, want a resume_too_old snapshot at 110", m)
	}
	future := env.dial(principal(store.RoleAdmin))
	future.send(`{"type":"subscribe","topics":["org"],"resume_from":999}`)
	if m := future.next(); m.Type != "snapshot" || m.Reason != "resume_unknown" {
		t.Fatalf("%+v, want a resume_unknown snapshot", m)
	}
}

func TestWSSlowClientGetsSnapshotThenTooSlow(t *testing.T) {
	cfg := defaultWSConfig
	cfg.Queue = 8
	cfg.ResubscribesPerMinute = 1
	env := newWSTestEnv(t, cfg)
	c := env.dial(principal(store.RoleAdmin))
	c.send(`{"type":"subscribe","topics":["org"]}`)
	c.next()
	flood := func() {
		// The writer blocks on the first message (the pipe has no
		// buffer); meanwhile the client falls more than 8 events behind.
		env.s.bus.Publish(events.CallHeld, "call:c1", testCall("c1", "1001", "1002"))
		time.Sleep(50 * time.Millisecond) // the writer is blocked on that one
		for i := 0; i < 39; i++ {
			env.s.bus.Publish(events.CallHeld, "call:c1", testCall("c1", "1001", "1002"))
		}
	}
	flood()
	var m wsTestMsg
	for m = c.next(); m.Type == "event" || m.Type == "events"; m = c.next() {
	}
	if m.Type != "snapshot" || m.Reason != "too_slow" {
		t.Fatalf("%+v, want a too_slow snapshot", m)
	}
	flood()
	for m = c.next(); m.Type == "event" || m.Type == "events"; m = c.next() {
	}
	if m.Type != "close" || m.closeCd != ws.StatusPolicyViolation || m.Reason != "too slow" {
		t.Fatalf("%+v, want close 1008 too slow", m)
	}
}

func TestWSMessageTooBigCloses1009(t *testing.T) {
	env := newWSTestEnv(t, defaultWSConfig)
	c := env.dial(principal(store.RoleAdmin))
	go func() { _ = wsutil.WriteClientText(c.conn, make([]byte, 65<<10)) }()
	if m := c.next(); m.Type != "close" || m.closeCd != ws.StatusMessageTooBig {
		t.Fatalf("%+v, want close 1009", m)
	}
}

func TestWSUnmaskedFrameCloses1002(t *testing.T) {
	env := newWSTestEnv(t, defaultWSConfig)
	c := env.dial(principal(store.RoleAdmin))
	go func() { _ = ws.WriteFrame(c.conn, ws.NewTextFrame([]byte(`{"type":"ping"}`))) }()
	if m := c.next(); m.Type != "close" || m.closeCd != ws.StatusProtocolError {
		t.Fatalf("%+v, want close 1002", m)
	}
}

func TestWSIdleAndPing(t *testing.T) {
	cfg := defaultWSConfig
	cfg.PingEvery = 20 * time.Millisecond
	cfg.IdleTimeout = 300 * time.Millisecond
	env := newWSTestEnv(t, cfg)
	c := env.dial(principal(store.RoleAdmin))
	// A silent client is answered pings (ReadServerText answers them with
	// pongs, keeping it alive) until it stops reading; then it is closed.
	_ = c.conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if _, err := wsutil.ReadServerText(c.conn); err == nil {
		t.Fatal("a message arrived unasked")
	}
	select {
	case <-c.done:
		t.Fatal("closed while answering pings")
	default:
	}
	start := time.Now()
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		t.Fatal("a silent connection was not closed")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("closed after %s", d)
	}
}

// TestWSNoGoroutineLeak: every connection's reader and writer end with it,
// however it ends.
func TestWSNoGoroutineLeak(t *testing.T) {
	env := newWSTestEnv(t, defaultWSConfig)
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		cli, srv := net.Pipe()
		done := make(chan struct{})
		go func() { defer close(done); newWSConn(env.hub, srv, nil, principal(store.RoleAdmin)).run() }()
		c := &wsTestClient{t: t, conn: cli, done: done}
		c.send(`{"type":"subscribe","topics":["org"]}`)
		c.next()
		env.s.bus.Publish(events.CallHeld, "call:c1", testCall("c1", "1001", "1002"))
		switch i % 3 {
		case 0: // the client drops the connection
			cli.Close()
		case 1: // the client closes properly
			_ = wsutil.WriteClientMessage(cli, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))
			go func() { _, _ = wsutil.ReadServerText(cli) }()
		case 2: // the client sends garbage framing
			_, _ = cli.Write([]byte{0x8f, 0x00})
			go func() { _, _ = wsutil.ReadServerText(cli) }()
		}
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("connection %d did not end", i)
		}
		cli.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	if n := env.s.bus.Subscribers(); n != 0 {
		t.Errorf("%d bus subscriptions left open", n)
	}
}
