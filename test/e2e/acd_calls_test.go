package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// queueCall dials queue 8000 from 1009 (the customer, customerHz) with only
// 1002 (agentHz, answering) able to take it: 1001 is paused, 1003–1005
// have no phone. It returns both ends and the call ID.
func queueCall(t *testing.T, s *server) (cust, agent *siptest.Call, id string) {
	t.Helper()
	if code, body := s.as(t, "1001", "PUT", "/api/queues/8000/members/1001", `{"state":"paused"}`); code != 200 {
		t.Fatalf("pause 1001: %d %v", code, body)
	}
	ap := phone(t, s, "1002", agentHz, "udp")
	ap.AutoAnswer(50 * time.Millisecond)
	cp := phone(t, s, "1009", customerHz, "udp")
	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	agent = incoming(t, ap, "agent")
	hearsOnly(t, cust, "customer", agentHz)
	hearsOnly(t, agent, "agent", customerHz)
	id = waitCallState(t, s, "answered", "")
	return cust, agent, id
}

func TestMonitorListenWhisperBarge(t *testing.T) {
	s := startServer(t, serverOpts{})
	cust, agent, id := queueCall(t, s)
	sup := phone(t, s, "1010", supervisorHz, "udp")
	sup.AutoAnswer(50 * time.Millisecond)

	// Only supervisors of the call's queue (and admins) may monitor.
	for _, who := range []string{"1001", "1009"} {
		if code, body := s.as(t, who, "POST", "/api/calls/"+id+"/monitor", `{"mode":"listen"}`); code != 403 {
			t.Fatalf("monitor by %s: %d %v, want 403", who, code, body)
		}
	}
	if code, body := s.as(t, "1010", "POST", "/api/calls/"+id+"/monitor", `{"mode":"shout"}`); code != 400 {
		t.Fatalf("monitor with a bad mode: %d %v, want 400", code, body)
	}
	if code, body := s.as(t, "1010", "POST", "/api/calls/"+id+"/monitor", `{"mode":"listen"}`); code != 202 {
		t.Fatalf("monitor: %d %v", code, body)
	}
	mon := incoming(t, sup, "supervisor")

	// listen: the supervisor hears both, nobody hears the supervisor.
	hearsOnly(t, mon, "supervisor listening", customerHz, agentHz)
	hearsOnly(t, cust, "customer while listened", agentHz)
	hearsOnly(t, agent, "agent while listened", customerHz)

	// whisper: the agent hears the supervisor, the customer does not.
	if code, body := s.as(t, "1010", "PUT", "/api/calls/"+id+"/monitor", `{"mode":"whisper"}`); code != 200 {
		t.Fatalf("whisper: %d %v", code, body)
	}
	hearsOnly(t, agent, "agent while whispered to", customerHz, supervisorHz)
	hearsOnly(t, cust, "customer during whisper", agentHz)
	hearsOnly(t, mon, "supervisor whispering", customerHz, agentHz)

	// barge: everyone hears the supervisor.
	if code, body := s.as(t, "1010", "PUT", "/api/calls/"+id+"/monitor", `{"mode":"barge"}`); code != 200 {
		t.Fatalf("barge: %d %v", code, body)
	}
	hearsOnly(t, cust, "customer during barge", agentHz, supervisorHz)
	hearsOnly(t, agent, "agent during barge", customerHz, supervisorHz)

	// Stop: the supervisor's phone is hung up, the call goes on.
	if code, body := s.as(t, "1010", "DELETE", "/api/calls/"+id+"/monitor", ""); code != 200 {
		t.Fatalf("stop monitor: %d %v", code, body)
	}
	select {
	case <-mon.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the supervisor's leg was not hung up")
	}
	hearsOnly(t, cust, "customer after monitoring", agentHz)
	hearsOnly(t, agent, "agent after monitoring", customerHz)
}

func TestQueueCallWaitsWithMusicAndRONA(t *testing.T) {
	s := startServer(t, serverOpts{})
	// Linear: 1001 first, then 1002; a short ring time so RONA comes quickly.
	if code, body := s.as(t, "admin", "PATCH", "/api/queues/8000", `{"strategy":"linear","ring_time_s":2}`); code != 200 {
		t.Fatalf("queue settings: %d %v", code, body)
	}
	lazy := phone(t, s, "1001", 700, "udp") // rings, never answers
	ap := phone(t, s, "1002", agentHz, "udp")
	ap.AutoAnswer(50 * time.Millisecond)
	cp := phone(t, s, "1009", customerHz, "udp")
	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	// Queued: answered by the queue, the caller hears music.
	waitCallState(t, s, "queued", "")
	hearsMusic(t, cust, "queued caller")
	offer := incoming(t, lazy, "first offer")
	select {
	case <-offer.Done():
	case <-time.After(6 * time.Second):
		t.Fatal("the unanswered offer did not stop after the ring time")
	}
	eventually(t, 5*time.Second, func() error {
		_, me := s.as(t, "1001", "GET", "/api/me/agent", "")
		if me["state"] != "rona" {
			return fmt.Errorf("1001 is %v, want rona", me["state"])
		}
		return nil
	})
	// The next agent in line gets the call.
	agent := incoming(t, ap, "second agent")
	hearsOnly(t, cust, "customer", agentHz)
	hearsOnly(t, agent, "agent", customerHz)
	// RONA lasts until the agent chooses a status again: no new offers.
	if code, body := s.as(t, "1001", "PUT", "/api/me/agent", `{"status":"available"}`); code != 200 {
		t.Fatalf("back to available: %d %v", code, body)
	}
}

func TestTransferToAgentInWrapUpRefused(t *testing.T) {
	s := startServer(t, serverOpts{})
	if code, body := s.as(t, "admin", "PATCH", "/api/queues/8000", `{"wrapup_time_s":60}`); code != 200 {
		t.Fatalf("queue settings: %d %v", code, body)
	}
	cust, _, _ := queueCall(t, s)
	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		_, me := s.as(t, "1002", "GET", "/api/me/agent", "")
		if me["state"] != "wrap_up" {
			return fmt.Errorf("1002 is %v, want wrap_up", me["state"])
		}
		return nil
	})
	// 1003 talks to 1004 and tries to hand the call to 1002, who is in wrap-up.
	p3 := phone(t, s, "1003", customerHz, "udp")
	p4 := phone(t, s, "1004", agentHz, "udp")
	p4.AutoAnswer(50 * time.Millisecond)
	if _, err := p3.Dial(ctxFor(t, 10*time.Second), "1004"); err != nil {
		t.Fatalf("dial: %v", err)
	}
	id := waitCallState(t, s, "answered", "")
	if code, body := s.as(t, "1004", "POST", "/api/calls/"+id+"/transfer", `{"target":"1002"}`); code != 409 || body["code"] != "agent_unavailable" {
		t.Fatalf("blind transfer to an agent in wrap-up: %d %v, want 409 agent_unavailable", code, body)
	}
	if code, body := s.as(t, "1004", "POST", "/api/calls/"+id+"/consult", `{"target":"1002"}`); code != 409 || body["code"] != "agent_unavailable" {
		t.Fatalf("consult to an agent in wrap-up: %d %v, want 409 agent_unavailable", code, body)
	}
}

// TestBlindTransferIntoQueueWaitsForAnAgent: a call transferred to a queue
// waits there like any caller (music) until the ACD has an agent for it.
func TestBlindTransferIntoQueueWaitsForAnAgent(t *testing.T) {
	s := startServer(t, serverOpts{})
	for _, ext := range []string{"1006", "1007", "1008"} {
		if code, body := s.as(t, ext, "PUT", "/api/queues/8001/members/"+ext, `{"state":"paused"}`); code != 200 {
			t.Fatalf("pause %s: %d %v", ext, code, body)
		}
	}
	cust, _, _, id := threeParties(t, s)
	sales := phone(t, s, "1006", supervisorHz, "udp")
	sales.AutoAnswer(50 * time.Millisecond)
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/transfer", `{"target":"8001"}`); code != 202 {
		t.Fatalf("transfer to the queue: %d %v", code, body)
	}
	// Nobody in Sales is available: the customer waits in the queue.
	waitCallState(t, s, "queued", "")
	hearsMusic(t, cust, "customer waiting in Sales")
	if code, body := s.as(t, "1006", "PUT", "/api/queues/8001/members/1006", `{"state":"logged_in"}`); code != 200 {
		t.Fatalf("1006 back: %d %v", code, body)
	}
	agent := incoming(t, sales, "Sales agent")
	hearsOnly(t, cust, "customer after the queue", supervisorHz)
	hearsOnly(t, agent, "Sales agent", customerHz)
	eventually(t, 5*time.Second, func() error {
		_, me := s.as(t, "1006", "GET", "/api/me/agent", "")
		if me["state"] != "busy" {
			return fmt.Errorf("1006 is %v, want busy", me["state"])
		}
		return nil
	})
}

// TestConsultAQueueWaitsForAnAgent: consulting a queue waits for an
// available agent (cancellable), then rings the one the ACD chooses; the
// attended transfer leaves the customer with that agent, who is busy for
// the ACD until the call ends.
func TestConsultAQueueWaitsForAnAgent(t *testing.T) {
	s := startServer(t, serverOpts{})
	for _, ext := range []string{"1006", "1007", "1008"} {
		if code, body := s.as(t, ext, "PUT", "/api/queues/8001/members/"+ext, `{"state":"paused"}`); code != 200 {
			t.Fatalf("pause %s: %d %v", ext, code, body)
		}
	}
	cust, agent, _, id := threeParties(t, s)
	sales := phone(t, s, "1006", supervisorHz, "udp")
	sales.AutoAnswer(50 * time.Millisecond)

	// Nobody available: the consultation waits, the customer is held; cancel it.
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult", `{"target":"8001"}`); code != 202 {
		t.Fatalf("consult the queue: %d %v", code, body)
	}
	hearsMusic(t, cust, "customer while the queue is consulted")
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/cancel", ""); code != 200 {
		t.Fatalf("cancel: %d %v", code, body)
	}
	hearsOnly(t, cust, "customer after the cancel", agentHz)
	hearsOnly(t, agent, "agent after the cancel", customerHz)

	// Again, and an agent becomes available: their phone rings.
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult", `{"target":"8001"}`); code != 202 {
		t.Fatalf("consult the queue again: %d %v", code, body)
	}
	hearsMusic(t, cust, "customer while the queue is consulted again")
	if code, body := s.as(t, "1006", "PUT", "/api/queues/8001/members/1006", `{"state":"logged_in"}`); code != 200 {
		t.Fatalf("1006 back: %d %v", code, body)
	}
	consulted := incoming(t, sales, "the queue's agent")
	hearsOnly(t, agent, "agent consulting the queue's agent", supervisorHz)
	hearsOnly(t, consulted, "the queue's agent", agentHz)
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/transfer", ""); code != 200 {
		t.Fatalf("complete: %d %v", code, body)
	}
	hearsOnly(t, cust, "customer with the queue's agent", supervisorHz)
	state := func() any {
		_, me := s.as(t, "1006", "GET", "/api/me/agent", "")
		return me["state"]
	}
	if st := state(); st != "busy" {
		t.Fatalf("1006 is %v during the call, want busy", st)
	}
	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if st := state(); st == "busy" {
			return fmt.Errorf("1006 still busy after the call ended")
		}
		return nil
	})
}

// TestAnswerQueueOfferFromConsole: an agent answers the queue call ringing
// on their phone from the console.
func TestAnswerQueueOfferFromConsole(t *testing.T) {
	s := startServer(t, serverOpts{})
	if code, body := s.as(t, "1001", "PUT", "/api/queues/8000/members/1001", `{"state":"paused"}`); code != 200 {
		t.Fatalf("pause 1001: %d %v", code, body)
	}
	ap := phone(t, s, "1002", agentHz, "udp") // rings; answered from the console
	cp := phone(t, s, "1009", customerHz, "udp")
	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	first := incoming(t, ap, "offer")
	id := waitCallState(t, s, "queued", "")
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/answer", ""); code != 200 {
		t.Fatalf("answer: %d %v", code, body)
	}
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first ringing of the offer was not cancelled")
	}
	agent := incoming(t, ap, "offer rung to answer by itself")
	hearsOnly(t, cust, "customer", agentHz)
	hearsOnly(t, agent, "agent", customerHz)
	eventually(t, 5*time.Second, func() error {
		_, me := s.as(t, "1002", "GET", "/api/me/agent", "")
		if me["state"] != "busy" {
			return fmt.Errorf("1002 is %v, want busy", me["state"])
		}
		return nil
	})
}
