package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// TestAllDevicesRingFirstAnswerWins registers two devices for 1002; both
// ring, the one that answers gets the call, the other is cancelled.
func TestAllDevicesRingFirstAnswerWins(t *testing.T) {
	s := startServer(t, serverOpts{})
	alice := phone(t, s, "1001", 1000, "udp")
	desk := phone(t, s, "1002", 440, "udp")
	soft := phone(t, s, "1002", 440, "tcp")

	call, err := alice.Invite(ctxFor(t, 5*time.Second), "1002")
	if err != nil {
		t.Fatal(err)
	}
	var atDesk, atSoft *siptest.Call
	for atDesk == nil || atSoft == nil {
		select {
		case c := <-desk.Incoming():
			atDesk = c
		case c := <-soft.Incoming():
			atSoft = c
		case <-time.After(5 * time.Second):
			t.Fatalf("not every device rang: desk %v soft %v", atDesk != nil, atSoft != nil)
		}
	}
	if err := atSoft.Answer(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if err := call.WaitAnswer(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("caller not answered: %v", err)
	}
	select {
	case <-atDesk.Done():
		if !errors.Is(atDesk.Err(), siptest.ErrCanceled) {
			t.Errorf("desk phone ended with %v, want cancelled", atDesk.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the other device kept ringing")
	}
	hears(t, call, 440, "caller")
	hears(t, atSoft, 1000, "soft phone")
}

func TestQueueRingsAllMembers(t *testing.T) {
	s := startServer(t, serverOpts{})
	caller := phone(t, s, "1009", 1000, "udp")
	members := map[string]*siptest.Phone{}
	for _, ext := range []string{"1001", "1002", "1003"} {
		members[ext] = phone(t, s, ext, 440, "udp")
	}
	members["1003"].AutoAnswer(300 * time.Millisecond)
	call, err := caller.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	for _, ext := range []string{"1001", "1002"} {
		select {
		case c := <-members[ext].Incoming():
			<-c.Done()
		case <-time.After(5 * time.Second):
			t.Fatalf("member %s did not ring", ext)
		}
	}
	hears(t, call, 440, "caller")
	call.Hangup(ctxFor(t, 5*time.Second))
	eventually(t, 5*time.Second, func() error {
		for _, c := range s.cdrs(t) {
			if c.To == "8000" && c.Target == "queue:8000" && c.AnsweredBy == "1003" && c.Disposition == "answered" {
				return nil
			}
		}
		return fmt.Errorf("no answered queue CDR yet")
	})
}

func TestCallerCancelsAndNoAnswer(t *testing.T) {
	s := startServer(t, serverOpts{env: []string{"SWITCHBOARD_SIP_RING_TIMEOUT=2s"}})
	alice := phone(t, s, "1001", 1000, "udp")
	bob := phone(t, s, "1002", 440, "udp") // never answers

	// Cancelled by the caller while ringing.
	call, err := alice.Invite(ctxFor(t, 5*time.Second), "1002")
	if err != nil {
		t.Fatal(err)
	}
	in := <-bob.Incoming()
	if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	select {
	case <-in.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("callee still rings after the caller cancelled")
	}

	// Nobody answers within the ring timeout. Dial is bounded at 10 s, so a
	// 480 (not a context error) shows the configured 2 s applied, not 30 s.
	_, err = alice.Dial(ctxFor(t, 10*time.Second), "1002")
	if siptest.StatusCode(err) != 480 {
		t.Fatalf("unanswered call: %v, want 480", err)
	}
	eventually(t, 5*time.Second, func() error {
		seen := map[string]bool{}
		for _, c := range s.cdrs(t) {
			seen[c.Disposition] = true
		}
		if !seen["cancelled"] || !seen["no-answer"] {
			return fmt.Errorf("dispositions %v, want cancelled and no-answer", seen)
		}
		return nil
	})
}

// TestRestartKeepsCDRsAndRegistrations stops and starts the binary on the
// same data dir: CDRs and registered devices survive.
func TestRestartKeepsCDRsAndRegistrations(t *testing.T) {
	s := startServer(t, serverOpts{})
	alice := phone(t, s, "1001", 1000, "udp")
	bob := phone(t, s, "1002", 440, "udp")
	bob.AutoAnswer(100 * time.Millisecond)
	call, err := alice.Dial(ctxFor(t, 10*time.Second), "1002")
	if err != nil {
		t.Fatal(err)
	}
	call.Hangup(ctxFor(t, 5*time.Second))
	eventually(t, 5*time.Second, func() error {
		if n := len(s.cdrs(t)); n != 1 {
			return fmt.Errorf("%d CDRs", n)
		}
		return nil
	})
	s.restart()
	if n := len(s.cdrs(t)); n != 1 {
		t.Fatalf("after restart %d CDRs, want 1", n)
	}
	// Bob did not register again, yet is reachable: his binding was kept.
	call, err = alice.Dial(ctxFor(t, 10*time.Second), "1002")
	if err != nil {
		t.Fatalf("call after restart: %v", err)
	}
	hears(t, call, 440, "caller after restart")
	call.Hangup(ctxFor(t, 5*time.Second))
}

// TestEarlyMediaReachesCaller: a callee's 183 audio (an announcement,
// ringback) is relayed to the caller before the answer.
func TestEarlyMediaReachesCaller(t *testing.T) {
	s := startServer(t, serverOpts{})
	alice := phone(t, s, "1001", 1000, "udp")
	bob := phone(t, s, "1002", 440, "udp")
	call, err := alice.Invite(ctxFor(t, 5*time.Second), "1002")
	if err != nil {
		t.Fatal(err)
	}
	in := <-bob.Incoming()
	if err := in.Progress(); err != nil {
		t.Fatalf("183: %v", err)
	}
	hears(t, call, 440, "caller before answer")
	select {
	case <-call.Answered():
		t.Fatal("caller sees the call answered before the callee answered")
	default:
	}
	if err := in.Answer(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := call.WaitAnswer(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	hears(t, call, 440, "caller after answer")
	hears(t, in, 1000, "callee after answer")
}
