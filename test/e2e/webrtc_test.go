package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// webrtcServer starts the server with loopback ICE candidates, since the
// "browser" runs on this host.
func webrtcServer(t *testing.T) *server {
	return startServer(t, serverOpts{env: []string{"SWITCHBOARD_WEBRTC_INCLUDE_LOOPBACK=true"}})
}

// browserInCall registers a browser as 1001 (tone 1000 Hz), has a desk
// phone 1002 (500 Hz) call it, answers in the browser and checks two-way
// audio by tone.
func browserInCall(t *testing.T, s *server) (*wsBrowser, *browserCall, *siptest.Call) {
	t.Helper()
	b := dialBrowser(t, s, "1001", 1000)
	if err := b.register(ctxFor(t, 5*time.Second), "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	customer := phone(t, s, "1002", 500, "udp")
	call, err := customer.Invite(ctxFor(t, 10*time.Second), "1001")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := b.waitInvite(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	bc, err := b.answer(ctxFor(t, 10*time.Second), inv)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go b.sendTone(stop)
	if err := call.WaitAnswer(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	hears(t, call, 1000, "the desk phone")
	b.hears(t, 500)
	return b, bc, call
}

// cdrReason returns the newest CDR's hangup_by and reason.
func cdrReason(t *testing.T, s *server) (string, string) {
	t.Helper()
	var out struct {
		CDRs []struct {
			HangupBy string `json:"hangup_by"`
			Reason   string `json:"reason"`
		} `json:"cdrs"`
	}
	var by, reason string
	eventually(t, 5*time.Second, func() error {
		code, err := s.api("GET", "/api/cdrs?limit=10", nil, &out)
		if err != nil || code != 200 || len(out.CDRs) == 0 {
			return fmt.Errorf("cdrs: %d %v (%d)", code, err, len(out.CDRs))
		}
		by, reason = out.CDRs[0].HangupBy, out.CDRs[0].Reason
		return nil
	})
	return by, reason
}

// TestBrowserPhoneAnswersAndHangsUp: a browser registered over SIP over
// WebSocket is rung with a WebRTC offer, answers, both sides hear each
// other through the relay, and the browser's BYE ends the call.
func TestBrowserPhoneAnswersAndHangsUp(t *testing.T) {
	s := webrtcServer(t)
	b, bc, call := browserInCall(t, s)
	if err := b.bye(ctxFor(t, 5*time.Second), bc); err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the desk phone's call did not end after the browser's BYE")
	}
	if by, reason := cdrReason(t, s); by != "callee" || reason != "Normal Clearing" {
		t.Fatalf("CDR hangup_by %q reason %q", by, reason)
	}
}

// TestBrowserConnectionLost: a browser whose socket closes mid-call is
// unregistered at once and its call ends cleanly, the CDR saying why.
func TestBrowserConnectionLost(t *testing.T) {
	s := webrtcServer(t)
	b, _, call := browserInCall(t, s)
	_ = b.conn.Close()
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end when the browser's socket closed")
	}
	if by, reason := cdrReason(t, s); by != "callee" || reason != "connection_lost" {
		t.Fatalf("CDR hangup_by %q reason %q, want callee connection_lost", by, reason)
	}
	// The registration went with the socket: 1001 has no device left.
	other := phone(t, s, "1003", 440, "udp")
	_, err := other.Dial(ctxFor(t, 5*time.Second), "1001")
	if code := siptest.StatusCode(err); code != 480 {
		t.Fatalf("calling 1001 after its browser left: %v (code %d), want 480", err, code)
	}
}

// TestBrowserSocketGuards: /sip needs a login and the "sip" subprotocol,
// and a user may register only their own extension.
func TestBrowserSocketGuards(t *testing.T) {
	s := webrtcServer(t)
	b := dialBrowser(t, s, "1002", 440)
	b.ext = "1001" // 1002's user trying to register 1001, with 1001's password
	err := b.register(ctxFor(t, 5*time.Second), "127.0.0.1")
	if err == nil || !containsCode(err, 403) {
		t.Fatalf("registering another user's extension: %v, want 403", err)
	}
	resp, err := httpGetUpgrade("http://" + s.HTTPAddr + "/sip")
	if err != nil {
		t.Fatal(err)
	}
	if resp != 401 {
		t.Fatalf("/sip without a login: HTTP %d, want 401", resp)
	}
}
