package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// wsClient is a WebSocket client of GET /api/ws.
type wsClient struct {
	t    *testing.T
	conn net.Conn
	r    io.Reader
	wmu  sync.Mutex
}

type wsEvent struct {
	Seq      uint64          `json:"seq"`
	Type     string          `json:"type"`
	Time     time.Time       `json:"time"`
	Resource string          `json:"resource"`
	Data     json.RawMessage `json:"data"`
}

type wsMsg struct {
	Type      string            `json:"type"`
	Seq       uint64            `json:"seq"`
	Reason    string            `json:"reason"`
	Code      string            `json:"code"`
	Calls     []json.RawMessage `json:"calls"`
	Event     *wsEvent          `json:"event"`
	Events    []wsEvent         `json:"events"`
	CloseCode ws.StatusCode     `json:"-"`
}

// dialWS connects as user (bearer token) with rcvbuf as the socket's
// receive buffer when not 0.
func dialWS(t *testing.T, s *server, user string, rcvbuf int) *wsClient {
	t.Helper()
	tok, err := s.login(user, "demo-"+user)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Authorization": {"Bearer " + tok}}
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(h), Timeout: 5 * time.Second}
	if rcvbuf > 0 {
		d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				err := rc.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
				})
				if err != nil {
					return err
				}
				return serr
			}}
			return nd.DialContext(ctx, network, addr)
		}
	}
	conn, br, _, err := d.Dial(context.Background(), "ws://"+s.HTTPAddr+"/api/ws")
	if err != nil {
		t.Fatalf("dial /api/ws as %s: %v", user, err)
	}
	c := &wsClient{t: t, conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *wsClient) send(v string) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(c.conn, []byte(v)); err != nil {
		c.t.Fatalf("ws send: %v", err)
	}
}

// next reads the next message within d, answering pings; a close frame
// is returned as type "close", a read error as an error.
func (c *wsClient) next(d time.Duration) (wsMsg, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	for {
		f, err := ws.ReadFrame(c.r)
		if err != nil {
			return wsMsg{}, err
		}
		switch f.Header.OpCode {
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(f.Payload)
			return wsMsg{Type: "close", CloseCode: code, Reason: reason}, nil
		case ws.OpPing:
			c.wmu.Lock()
			_ = wsutil.WriteClientMessage(c.conn, ws.OpPong, f.Payload)
			c.wmu.Unlock()
		case ws.OpText:
			var m wsMsg
			if err := json.Unmarshal(f.Payload, &m); err != nil {
				return m, fmt.Errorf("bad message %s: %w", f.Payload, err)
			}
			return m, nil
		}
	}
}

func (c *wsClient) mustNext(d time.Duration) wsMsg {
	c.t.Helper()
	m, err := c.next(d)
	if err != nil {
		c.t.Fatalf("ws read: %v", err)
	}
	return m
}

// eventsOf flattens an event or a batch.
func (m wsMsg) eventsOf() []wsEvent {
	switch m.Type {
	case "event":
		return []wsEvent{*m.Event}
	case "events":
		return m.Events
	}
	return nil
}

// collect reads events until stop returns true for one of them.
func (c *wsClient) collect(d time.Duration, stop func(wsEvent) bool) []wsEvent {
	c.t.Helper()
	deadline := time.Now().Add(d)
	var out []wsEvent
	for {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("ws read after %d events: %v", len(out), err)
		}
		if m.Type != "event" && m.Type != "events" {
			c.t.Fatalf("got %+v while waiting for events", m)
		}
		for _, e := range m.eventsOf() {
			out = append(out, e)
			if stop(e) {
				return out
			}
		}
	}
}

func subscribeOrg(t *testing.T, c *wsClient) wsMsg {
	t.Helper()
	c.send(`{"type":"subscribe","topics":["org"]}`)
	m := c.mustNext(5 * time.Second)
	if m.Type != "snapshot" {
		t.Fatalf("first message %+v, want a snapshot", m)
	}
	return m
}

func increasing(t *testing.T, evs []wsEvent, after uint64) {
	t.Helper()
	for _, e := range evs {
		if e.Seq <= after {
			t.Fatalf("event %s seq %d after %d: not increasing", e.Type, e.Seq, after)
		}
		after = e.Seq
	}
}

// TestWSSnapshotThenCallEvents: a subscriber sees a call's life in order.
func TestWSSnapshotThenCallEvents(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dialWS(t, s, "admin", 0)
	snap := subscribeOrg(t, c)
	if len(snap.Calls) != 0 {
		t.Fatalf("snapshot has %d calls, want none", len(snap.Calls))
	}
	answeredCall(t, s)
	evs := c.collect(10*time.Second, func(e wsEvent) bool { return e.Type == "call_answered" })
	increasing(t, evs, snap.Seq)
	var order []string
	for _, e := range evs {
		if strings.HasPrefix(e.Type, "call_") {
			order = append(order, e.Type)
		}
	}
	if strings.Join(order, ",") != "call_created,call_ringing,call_answered" {
		t.Fatalf("call events %v, want created, ringing, answered", order)
	}
	// A second subscriber's snapshot holds the live call.
	c2 := dialWS(t, s, "admin", 0)
	if snap2 := subscribeOrg(t, c2); len(snap2.Calls) != 1 || snap2.Seq < evs[len(evs)-1].Seq {
		t.Fatalf("second snapshot: %d calls at seq %d", len(snap2.Calls), snap2.Seq)
	}
	c.send(`{"type":"ping"}`)
	for {
		// Queue statistics may still arrive (batched): anything else is wrong.
		m := c.mustNext(5 * time.Second)
		if m.Type == "pong" {
			break
		}
		evs := m.Events
		if m.Event != nil {
			evs = append(evs, *m.Event)
		}
		if len(evs) == 0 || slices.ContainsFunc(evs, func(e wsEvent) bool { return e.Type != "queue_stats_updated" }) {
			t.Fatalf("ping answered with %+v", m)
		}
	}
	c.send(`{"type":"bogus"}`)
	if m := c.mustNext(5 * time.Second); m.Type != "error" || m.Code != "unknown_type" {
		t.Fatalf("bogus message answered with %+v", m)
	}
}

// holdResume holds and resumes call id n times through the API.
func holdResume(t *testing.T, s *server, id string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if code, body := s.as(t, "admin", "POST", "/api/calls/"+id+"/hold", `{"party":"caller"}`); code != 200 {
			t.Fatalf("hold: %d %v", code, body)
		}
		if code, body := s.as(t, "admin", "POST", "/api/calls/"+id+"/resume", ""); code != 200 {
			t.Fatalf("resume: %d %v", code, body)
		}
	}
}

// TestWSResumeGetsExactlyTheMissedEvents: disconnect, miss events,
// reconnect with resume_from: no loss, no duplicate.
func TestWSResumeGetsExactlyTheMissedEvents(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dialWS(t, s, "admin", 0)
	snap := subscribeOrg(t, c)
	answeredCall(t, s)
	evs := c.collect(10*time.Second, func(e wsEvent) bool { return e.Type == "call_answered" })
	increasing(t, evs, snap.Seq)
	last := evs[len(evs)-1].Seq
	c.conn.Close()

	id := waitCallState(t, s, "answered", "")
	holdResume(t, s, id, 5)

	c = dialWS(t, s, "admin", 0)
	c.send(`{"type":"subscribe","topics":["org"],"resume_from":` + strconv.FormatUint(last, 10) + `}`)
	if m := c.mustNext(5 * time.Second); m.Type != "resumed" {
		t.Fatalf("%+v, want resumed", m)
	}
	// The events after last in order, the ten holds and resumes among
	// them. Queue statistics interleave (the agents' states change with the
	// hold); presence changes are not on "org".
	n := 0
	missed := c.collect(5*time.Second, func(e wsEvent) bool {
		if strings.HasPrefix(e.Type, "call_") {
			n++
		}
		return n == 10
	})
	var callEvents []wsEvent
	increasing(t, missed, last)
	for _, e := range missed {
		if strings.HasPrefix(e.Type, "call_") {
			callEvents = append(callEvents, e)
		}
	}
	for i, e := range callEvents {
		want := "call_held"
		if i%2 == 1 {
			want = "call_resumed"
		}
		if e.Type != want {
			t.Fatalf("missed call event %d: %s, want %s", i, e.Type, want)
		}
	}
	// Nothing more of the call: no duplicate, and the stream continues live.
	c.send(`{"type":"ping"}`)
	for {
		m := c.mustNext(2 * time.Second)
		if m.Type == "pong" {
			break
		}
		evs := m.Events
		if m.Event != nil {
			evs = append(evs, *m.Event)
		}
		if len(evs) == 0 || slices.ContainsFunc(evs, func(e wsEvent) bool { return strings.HasPrefix(e.Type, "call_") }) {
			t.Fatalf("after the missed events got %+v, want only a pong", m)
		}
	}
	holdResume(t, s, id, 1)
	live := c.collect(5*time.Second, func(e wsEvent) bool { return e.Type == "call_resumed" })
	var liveCalls []wsEvent
	for _, e := range live {
		if strings.HasPrefix(e.Type, "call_") {
			liveCalls = append(liveCalls, e)
		}
	}
	if len(liveCalls) != 2 || liveCalls[0].Type != "call_held" || liveCalls[0].Seq <= callEvents[len(callEvents)-1].Seq {
		t.Fatalf("live events %+v, want call_held then call_resumed after seq %d", live, callEvents[len(callEvents)-1].Seq)
	}
}

// TestWSPermissions: an agent sees none of other people's calls; no
// token, no socket; a cookie from another origin cannot open one.
func TestWSPermissions(t *testing.T) {
	s := startServer(t, serverOpts{})
	admin := dialWS(t, s, "admin", 0)
	subscribeOrg(t, admin)
	agent := dialWS(t, s, "1003", 0)
	subscribeOrg(t, agent)
	answeredCall(t, s) // 1001 → 1002
	admin.collect(10*time.Second, func(e wsEvent) bool { return e.Type == "call_answered" })
	time.Sleep(300 * time.Millisecond) // let anything queued for the agent arrive
	agent.send(`{"type":"ping"}`)
	for {
		m := agent.mustNext(5 * time.Second)
		if m.Type == "pong" {
			break
		}
		// The agent sees its own queue's statistics and colleagues' states
		// (their queue mates), never the call itself.
		evs := m.Events
		if m.Event != nil {
			evs = append(evs, *m.Event)
		}
		if len(evs) > 0 && !slices.ContainsFunc(evs, func(e wsEvent) bool {
			return e.Type != "queue_stats_updated" && e.Type != "agent_state_changed"
		}) {
			continue
		}
		t.Fatalf("agent 1003 received %+v about a call between 1001 and 1002", m)
	}

	upgrade := func(h http.Header) (int, map[string]any) {
		req, _ := http.NewRequest("GET", "http://"+s.HTTPAddr+"/api/ws", nil)
		req.Header = h
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		conn, err := net.Dial("tcp", s.HTTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if err := req.Write(conn); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if resp.StatusCode != http.StatusSwitchingProtocols {
			_ = json.NewDecoder(resp.Body).Decode(&body)
		}
		return resp.StatusCode, body
	}
	if code, body := upgrade(http.Header{}); code != 401 || body["code"] != "unauthenticated" {
		t.Errorf("anonymous upgrade: %d %v, want 401 unauthenticated", code, body)
	}
	tok, err := s.login("admin", "demo-admin")
	if err != nil {
		t.Fatal(err)
	}
	cookie := "switchboard_session=" + tok
	if code, body := upgrade(http.Header{"Cookie": {cookie}, "Origin": {"https://evil.example"}}); code != 403 || body["code"] != "cross_origin" {
		t.Errorf("cross-origin cookie upgrade: %d %v, want 403 cross_origin", code, body)
	}
	if code, _ := upgrade(http.Header{"Cookie": {cookie}, "Origin": {"http://" + s.HTTPAddr}}); code != http.StatusSwitchingProtocols {
		t.Errorf("same-origin cookie upgrade: %d, want 101", code)
	}
	var se ws.StatusError
	_, _, _, err = ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), "ws://"+s.HTTPAddr+"/api/ws")
	if !errors.As(err, &se) || int(se) != 401 {
		t.Errorf("anonymous dial: %v, want status 401", err)
	}
}

// TestWSShutdownSendsGoingAway: when the server stops, a connected client
// gets a close frame 1001 (going away), not a dropped TCP connection.
func TestWSShutdownSendsGoingAway(t *testing.T) {
	s := startServer(t, serverOpts{})
	clients := []*wsClient{dialWS(t, s, "admin", 0), dialWS(t, s, "1001", 0)}
	for _, c := range clients {
		subscribeOrg(t, c)
	}
	idle := dialWS(t, s, "1002", 0) // connected, never subscribed
	clients = append(clients, idle)
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		for {
			m, err := c.next(10 * time.Second)
			if err != nil {
				t.Fatalf("client %d: %v before a close frame", i, err)
			}
			if m.Type == "close" {
				if m.CloseCode != ws.StatusGoingAway {
					t.Fatalf("client %d: close %d %q, want 1001", i, m.CloseCode, m.Reason)
				}
				break
			}
		}
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not exit")
	}
}
