package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/siptest"
)

// presenceOf reads presence_changed events for ext until one says want.
func presenceOf(t *testing.T, c *wsClient, ext, want string) {
	t.Helper()
	var seen []string
	c.collect(10*time.Second, func(e wsEvent) bool {
		if e.Type != "presence_changed" {
			t.Fatalf("presence topic carried %s", e.Type)
		}
		var v struct {
			Extension string `json:"extension"`
			Presence  string `json:"presence"`
		}
		if err := json.Unmarshal(e.Data, &v); err != nil {
			t.Fatal(err)
		}
		if v.Extension != ext {
			return false
		}
		seen = append(seen, v.Presence)
		return v.Presence == want
	})
	t.Logf("%s: %v", ext, seen)
}

// directoryPresence returns ext's presence in GET /api/directory.
func directoryPresence(t *testing.T, s *server, user, ext string) string {
	t.Helper()
	var d struct {
		Users []struct {
			Extensions []struct {
				Number   string `json:"number"`
				Presence string `json:"presence"`
			} `json:"extensions"`
		} `json:"users"`
	}
	code, body := s.as(t, user, "GET", "/api/directory", "")
	raw, _ := json.Marshal(body)
	if code != 200 || json.Unmarshal(raw, &d) != nil {
		t.Fatalf("directory: %d %v", code, body)
	}
	for _, u := range d.Users {
		for _, e := range u.Extensions {
			if e.Number == ext {
				return e.Presence
			}
		}
	}
	t.Fatalf("%s not in the directory", ext)
	return ""
}

// TestPresenceFollowsRealCalls: a test phone registering, being rung,
// answering, hanging up and unregistering moves its extension through
// available, ringing, busy, available and offline on the presence topic,
// which an agent may subscribe to; the directory agrees.
func TestPresenceFollowsRealCalls(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dialWS(t, s, "1003", 0) // an agent: no events.view_all
	c.send(`{"type":"subscribe","topics":["presence"]}`)
	var snap struct {
		Type     string `json:"type"`
		Presence []struct {
			Extension string `json:"extension"`
			Presence  string `json:"presence"`
		} `json:"presence"`
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := readText(c)
	if err != nil || json.Unmarshal(f, &snap) != nil || snap.Type != "snapshot" {
		t.Fatalf("first message %s %v", f, err)
	}
	found := false
	for _, v := range snap.Presence {
		if v.Extension == "1002" {
			found = v.Presence == "offline"
		}
	}
	if !found {
		t.Fatalf("snapshot lacks 1002 offline: %s", f)
	}

	p1 := phone(t, s, "1001", customerHz, "udp")
	p2 := phone(t, s, "1002", agentHz, "udp")
	presenceOf(t, c, "1002", "available")
	if got := directoryPresence(t, s, "1003", "1002"); got != "available" {
		t.Errorf("directory says 1002 is %s", got)
	}

	done := make(chan *siptest.Call, 1)
	go func() {
		call, err := p1.Dial(ctxFor(t, 20*time.Second), "1002")
		if err != nil {
			t.Errorf("dial: %v", err)
		}
		done <- call
	}()
	in := incoming(t, p2, "1002")
	presenceOf(t, c, "1002", "ringing")
	if got := directoryPresence(t, s, "1003", "1002"); got != "ringing" {
		t.Errorf("directory says 1002 is %s while it rings", got)
	}
	if err := in.Answer(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("answer: %v", err)
	}
	presenceOf(t, c, "1002", "busy")
	out := <-done
	if out == nil {
		t.FailNow()
	}
	if err := out.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	presenceOf(t, c, "1002", "available")
	if err := p2.Unregister(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("unregister: %v", err)
	}
	presenceOf(t, c, "1002", "offline")
}

// readText reads the next text frame's payload (wsClient.next decodes
// into wsMsg, which has no presence list).
func readText(c *wsClient) ([]byte, error) {
	for {
		f, err := ws.ReadFrame(c.r)
		if err != nil {
			return nil, err
		}
		if f.Header.OpCode == ws.OpText {
			return f.Payload, nil
		}
	}
}
