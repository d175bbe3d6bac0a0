package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// Tones of the call-control tests: who hears whom is told by frequency.
const (
	customerHz   = 500
	agentHz      = 1000
	consultHz    = 1500
	supervisorHz = 2000
)

var allTones = []float64{customerHz, agentHz, consultHz, supervisorHz}

// hearsOnly waits until c hears every tone of want and none of the other
// call-control tones, over the same stretch of audio.
func hearsOnly(t *testing.T, c *siptest.Call, who string, want ...float64) {
	t.Helper()
	eventually(t, 6*time.Second, func() error {
		samples := c.ReceivedAudio(500 * time.Millisecond)
		if len(samples) < 3000 {
			return fmt.Errorf("%s: only %d samples", who, len(samples))
		}
		for _, hz := range allTones {
			wanted := false
			for _, w := range want {
				wanted = wanted || w == hz
			}
			if got := siptest.Hears(samples, 8000, hz); got != wanted {
				f, ratio := siptest.DominantTone(samples, 8000, allTones)
				return fmt.Errorf("%s hears %.0f Hz: %v, want %v (dominant %.0f Hz at %.2f)", who, hz, got, wanted, f, ratio)
			}
		}
		return nil
	})
}

// incoming waits for the next call to p.
func incoming(t *testing.T, p *siptest.Phone, who string) *siptest.Call {
	t.Helper()
	select {
	case c := <-p.Incoming():
		return c
	case <-time.After(8 * time.Second):
		t.Fatalf("%s: no incoming call", who)
		return nil
	}
}

// threeParties registers customer 1001, agent 1002 and 1003 (the party to
// consult or transfer to), all answering automatically, and connects the
// customer to the agent.
func threeParties(t *testing.T, s *server) (cust, agent *siptest.Call, third *siptest.Phone, callID string) {
	t.Helper()
	cust, agent, _, third, callID = threePartiesPhones(t, s)
	return cust, agent, third, callID
}

// threePartiesPhones is threeParties that also returns the agent's phone.
func threePartiesPhones(t *testing.T, s *server) (cust, agent *siptest.Call, agentPhone, third *siptest.Phone, callID string) {
	t.Helper()
	p1 := phone(t, s, "1001", customerHz, "udp")
	p2 := phone(t, s, "1002", agentHz, "udp")
	third = phone(t, s, "1003", consultHz, "udp")
	p2.AutoAnswer(50 * time.Millisecond)
	third.AutoAnswer(50 * time.Millisecond)
	cust, err := p1.Dial(ctxFor(t, 10*time.Second), "1002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	agent = incoming(t, p2, "agent")
	hearsOnly(t, cust, "customer", agentHz)
	hearsOnly(t, agent, "agent", customerHz)
	callID = waitCallState(t, s, "answered", "")
	return cust, agent, p2, third, callID
}

// consult has 1002 consult 1003 on call id and waits until the agent
// talks to the consulted party; it returns the consulted party's call.
func consult(t *testing.T, s *server, id string, agent *siptest.Call, third *siptest.Phone) *siptest.Call {
	t.Helper()
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult", `{"target":"1003"}`); code != 202 {
		t.Fatalf("consult: %d %v", code, body)
	}
	consulted := incoming(t, third, "consulted")
	hearsOnly(t, agent, "agent consulting", consultHz)
	return consulted
}

func TestBlindTransferFromAPI(t *testing.T) {
	s := startServer(t, serverOpts{})
	evs := events(t, s)
	cust, agent, third, id := threeParties(t, s)

	// Someone not on the call may not transfer it.
	if code, body := s.as(t, "1004", "POST", "/api/calls/"+id+"/transfer", `{"target":"1003"}`); code != 403 || body["code"] != "not_on_call" {
		t.Fatalf("transfer by 1004 (not on the call): %d %v, want 403 not_on_call", code, body)
	}
	code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/transfer", `{"target":"1003"}`)
	if code != 202 {
		t.Fatalf("transfer: %d %v", code, body)
	}
	target := incoming(t, third, "transfer target")
	select {
	case <-agent.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the transferor's leg was not hung up")
	}
	hearsOnly(t, cust, "customer after transfer", consultHz)
	hearsOnly(t, target, "target", customerHz)
	waitEvent(t, evs, "transfer_completed")
	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-target.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("target not hung up after the customer left")
	}
}

func TestConsultSwapAndCompleteTransfer(t *testing.T) {
	s := startServer(t, serverOpts{})
	cust, agent, third, id := threeParties(t, s)

	consulted := consult(t, s, id, agent, third)
	hearsMusic(t, cust, "held customer")
	hearsOnly(t, consulted, "consulted", agentHz)

	// Only the initiator controls the consultation.
	if code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/consult/transfer", ""); code != 403 || body["code"] != "not_initiator" {
		t.Fatalf("transfer by the consulted party: %d %v, want 403 not_initiator", code, body)
	}
	// Swap: back to the customer, the consulted party is held (never both).
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/swap", ""); code != 200 {
		t.Fatalf("swap: %d %v", code, body)
	}
	hearsOnly(t, agent, "agent after swap", customerHz)
	hearsOnly(t, cust, "customer after swap", agentHz)
	hearsMusic(t, consulted, "held consulted party")
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/swap", ""); code != 200 {
		t.Fatalf("swap back: %d %v", code, body)
	}
	hearsOnly(t, agent, "agent after second swap", consultHz)

	// Complete: the customer and the consulted party talk; the agent is gone.
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/transfer", ""); code != 200 {
		t.Fatalf("complete transfer: %d %v", code, body)
	}
	select {
	case <-agent.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the initiator's leg was not hung up")
	}
	hearsOnly(t, cust, "customer after transfer", consultHz)
	hearsOnly(t, consulted, "consulted after transfer", customerHz)
}

func TestConsultCancelledReturnsToCustomer(t *testing.T) {
	s := startServer(t, serverOpts{})
	cust, agent, third, id := threeParties(t, s)
	consulted := consult(t, s, id, agent, third)
	// The consulted party leaves: the agent is back with the customer.
	if err := consulted.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	hearsOnly(t, agent, "agent after the consulted party left", customerHz)
	hearsOnly(t, cust, "customer resumed", agentHz)

	// A second consultation, cancelled by the initiator.
	consulted = consult(t, s, id, agent, third)
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/cancel", ""); code != 200 {
		t.Fatalf("cancel consult: %d %v", code, body)
	}
	select {
	case <-consulted.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("consulted party not hung up on cancel")
	}
	hearsOnly(t, agent, "agent after cancel", customerHz)
	hearsOnly(t, cust, "customer after cancel", agentHz)
}

func TestConferenceFromConsult(t *testing.T) {
	s := startServer(t, serverOpts{})
	cust, agent, third, id := threeParties(t, s)
	consulted := consult(t, s, id, agent, third)
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/conference", ""); code != 200 {
		t.Fatalf("conference: %d %v", code, body)
	}
	hearsOnly(t, cust, "customer in conference", agentHz, consultHz)
	hearsOnly(t, agent, "agent in conference", customerHz, consultHz)
	hearsOnly(t, consulted, "consulted in conference", customerHz, agentHz)

	// No hold inside a conference.
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/hold", `{"party":"caller"}`); code != 409 || body["code"] != "in_conference" {
		t.Fatalf("hold in conference: %d %v, want 409 in_conference", code, body)
	}
	// The consulted party leaves: the call goes on between agent and customer.
	if code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/leave", ""); code != 200 {
		t.Fatalf("leave: %d %v", code, body)
	}
	select {
	case <-consulted.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the member who left was not hung up")
	}
	hearsOnly(t, cust, "customer after member left", agentHz)
	hearsOnly(t, agent, "agent after member left", customerHz)
}

func TestConferenceInitiatorEndsItForAll(t *testing.T) {
	s := startServer(t, serverOpts{})
	cust, agent, third, id := threeParties(t, s)
	consulted := consult(t, s, id, agent, third)
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/conference", ""); code != 200 {
		t.Fatalf("conference: %d %v", code, body)
	}
	hearsOnly(t, consulted, "consulted in conference", customerHz, agentHz)
	if err := agent.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	for who, c := range map[string]*siptest.Call{"customer": cust, "member": consulted} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s not removed when the initiator ended the conference", who)
		}
	}
}

// waitEvent waits for an event of type typ on evs and returns its data.
func waitEvent(t *testing.T, evs <-chan apiEvent, typ string) json.RawMessage {
	t.Helper()
	deadline := time.After(8 * time.Second)
	for {
		select {
		case e := <-evs:
			if e.Type == typ {
				return e.Data
			}
		case <-deadline:
			t.Fatalf("no %s event", typ)
			return nil
		}
	}
}

// TestConferenceOfFourFromHeldCalls: the receptionist (1009) calls three
// people one after another, holding each, then joins the held calls into
// the last one (shared/reference/call-control-panel-ru.txt, way 2).
func TestConferenceOfFourFromHeldCalls(t *testing.T) {
	s := startServer(t, serverOpts{})
	op := phone(t, s, "1009", customerHz, "udp")
	tones := map[string]float64{"1001": agentHz, "1002": consultHz, "1003": supervisorHz}
	var ids []string
	var theirs []*siptest.Call
	var mine []*siptest.Call
	for _, ext := range []string{"1001", "1002", "1003"} {
		p := phone(t, s, ext, tones[ext], "udp")
		p.AutoAnswer(50 * time.Millisecond)
		c, err := op.Dial(ctxFor(t, 10*time.Second), ext)
		if err != nil {
			t.Fatalf("dial %s: %v", ext, err)
		}
		other := incoming(t, p, ext)
		hearsOnly(t, c, "receptionist talking to "+ext, tones[ext])
		var calls struct {
			Calls []struct {
				ID    string `json:"id"`
				State string `json:"state"`
				To    string `json:"to"`
			} `json:"calls"`
		}
		if code, err := s.api("GET", "/api/calls", nil, &calls); err != nil || code != 200 {
			t.Fatalf("calls: %d %v", code, err)
		}
		for _, cl := range calls.Calls {
			if cl.To == ext {
				ids = append(ids, cl.ID)
			}
		}
		if ext != "1003" {
			if code, body := s.as(t, "1009", "POST", "/api/calls/"+ids[len(ids)-1]+"/hold", `{"party":"callee"}`); code != 200 {
				t.Fatalf("hold %s: %d %v", ext, code, body)
			}
			hearsMusic(t, other, ext+" on hold")
		}
		theirs = append(theirs, other)
		mine = append(mine, c)
	}
	if len(ids) != 3 {
		t.Fatalf("call ids %v", ids)
	}
	// Joining needs the user on every call.
	if code, body := s.as(t, "1004", "POST", "/api/calls/"+ids[2]+"/join", `{"calls":["`+ids[0]+`"]}`); code != 403 {
		t.Fatalf("join by someone not on the calls: %d %v, want 403", code, body)
	}
	code, body := s.as(t, "1009", "POST", "/api/calls/"+ids[2]+"/join", `{"calls":["`+ids[0]+`","`+ids[1]+`"]}`)
	if code != 200 {
		t.Fatalf("join: %d %v", code, body)
	}
	// The receptionist's own legs of the joined calls are hung up.
	for i := 0; i < 2; i++ {
		select {
		case <-mine[i].Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("the receptionist's leg of joined call %d was not hung up", i)
		}
	}
	hearsOnly(t, mine[2], "receptionist in the conference", agentHz, consultHz, supervisorHz)
	hearsOnly(t, theirs[0], "1001 in the conference", customerHz, consultHz, supervisorHz)
	hearsOnly(t, theirs[1], "1002 in the conference", customerHz, agentHz, supervisorHz)
	hearsOnly(t, theirs[2], "1003 in the conference", customerHz, agentHz, consultHz)

	// Any member may leave; the others go on.
	if err := theirs[0].Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	hearsOnly(t, mine[2], "receptionist after 1001 left", consultHz, supervisorHz)
	hearsOnly(t, theirs[1], "1002 after 1001 left", customerHz, supervisorHz)
}
