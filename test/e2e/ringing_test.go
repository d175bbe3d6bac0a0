package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// Declining and redirecting a ringing call from the console
// (POST /api/calls/{id}/reject and /redirect, internal/api/ringing.go).

// TestRejectDirectCall: a call ringing at the user's phone, declined from
// the console, ends with 486 Busy Here for the caller (CDR busy).
func TestRejectDirectCall(t *testing.T) {
	s := startServer(t, serverOpts{})
	p1 := phone(t, s, "1001", customerHz, "udp")
	p2 := phone(t, s, "1002", agentHz, "udp")
	dialErr := make(chan error, 1)
	go func() {
		_, err := p1.Dial(ctxFor(t, 20*time.Second), "1002")
		dialErr <- err
	}()
	ringing := incoming(t, p2, "1002 ringing")
	id := waitCallState(t, s, "ringing", "")
	if code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/reject", ""); code != 403 {
		t.Fatalf("reject by someone the call does not ring for: %d %v, want 403", code, body)
	}
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/reject", ""); code != 200 {
		t.Fatalf("reject: %d %v", code, body)
	}
	select {
	case <-ringing.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the declined call still rings at 1002")
	}
	var se *siptest.StatusError
	select {
	case err := <-dialErr:
		if !errors.As(err, &se) || se.Code != 486 {
			t.Fatalf("the caller got %v, want 486 Busy Here", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the caller got no final answer")
	}
	eventually(t, 5*time.Second, func() error {
		for _, c := range s.cdrs(t) {
			if c.CallID == id {
				if c.Disposition != "busy" || c.SIPCode != 486 {
					return fmt.Errorf("CDR %+v, want busy 486", c)
				}
				return nil
			}
		}
		return fmt.Errorf("no CDR for %s", id)
	})
}

// TestRejectQueueOffer: an agent declining a queue offer from the console
// is not RONA'd; the caller stays in the queue and is offered again.
func TestRejectQueueOffer(t *testing.T) {
	s := startServer(t, serverOpts{})
	if code, body := s.as(t, "1001", "PUT", "/api/queues/8000/members/1001", `{"state":"paused"}`); code != 200 {
		t.Fatalf("pause 1001: %d %v", code, body)
	}
	ap := phone(t, s, "1002", agentHz, "udp")
	cp := phone(t, s, "1009", customerHz, "udp")
	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	offer := incoming(t, ap, "offer")
	id := waitCallState(t, s, "queued", "")
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/reject", ""); code != 200 {
		t.Fatalf("reject the offer: %d %v", code, body)
	}
	select {
	case <-offer.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the declined offer still rings")
	}
	eventually(t, 5*time.Second, func() error {
		_, me := s.as(t, "1002", "GET", "/api/me/agent", "")
		if me["state"] == "rona" || me["status"] != "available" {
			return fmt.Errorf("1002 is %v/%v, want available and not rona", me["status"], me["state"])
		}
		return nil
	})
	if got := waitCallState(t, s, "queued", ""); got != id {
		t.Fatalf("queued call %s, want %s", got, id)
	}
	hearsMusic(t, cust, "caller back in the queue")
	// After the busy pause the agent is offered the call again and takes it.
	ap.AutoAnswer(50 * time.Millisecond)
	agent := incoming(t, ap, "offer again")
	hearsOnly(t, cust, "customer", agentHz)
	hearsOnly(t, agent, "agent", customerHz)
}

// TestRedirectRingingCallByOperator: the operator (1009) sends a call
// ringing at 1002 on to 1003 (the phonebook's transfer); an agent may not
// redirect a call that is not theirs.
func TestRedirectRingingCallByOperator(t *testing.T) {
	s := startServer(t, serverOpts{})
	p1 := phone(t, s, "1001", customerHz, "udp")
	p2 := phone(t, s, "1002", 700, "udp")
	p3 := phone(t, s, "1003", agentHz, "udp")
	p3.AutoAnswer(50 * time.Millisecond)
	done := make(chan *siptest.Call, 1)
	go func() {
		c, _ := p1.Dial(ctxFor(t, 20*time.Second), "1002")
		done <- c
	}()
	first := incoming(t, p2, "1002 ringing")
	id := waitCallState(t, s, "ringing", "")
	if code, body := s.as(t, "1004", "POST", "/api/calls/"+id+"/redirect", `{"target":"1003"}`); code != 403 {
		t.Fatalf("redirect by an agent the call does not ring for: %d %v, want 403", code, body)
	}
	if code, body := s.as(t, "1009", "POST", "/api/calls/"+id+"/redirect", `{"target":"1003"}`); code != 202 {
		t.Fatalf("redirect by the operator: %d %v", code, body)
	}
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("1002 still rings after the redirect")
	}
	answered := incoming(t, p3, "1003")
	cust := <-done
	if cust == nil {
		t.Fatal("the caller was not answered")
	}
	hearsOnly(t, cust, "caller", agentHz)
	hearsOnly(t, answered, "1003", customerHz)
	if code, body := s.as(t, "1009", "POST", "/api/calls/"+id+"/redirect", `{"target":"1004"}`); code != 409 {
		t.Fatalf("redirect of an answered call: %d %v, want 409", code, body)
	}
}
