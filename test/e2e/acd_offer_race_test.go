package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// TestACDAgentAnswersAsOfferIsWithdrawn: an agent's phone answers a queue
// call at the moment the agent pauses (the ACD withdraws the offer). Either
// outcome is fine — the agent got the call, or the call went back to the
// queue and the next agent took it — but the call layer and the ACD must
// agree on it, and an answer the server no longer wants must be hung up
// (RFC 3261 §15: a 2xx that crosses the CANCEL is ACKed, then BYE).
//
// The two requests race, so the test sweeps the pause from 5 ms before to
// 1 ms after the answer, trial after trial (at most 80, ~0.4 s each), and
// reports the first trial of each kind of failure (it stops once it has
// seen two kinds).
func TestACDAgentAnswersAsOfferIsWithdrawn(t *testing.T) {
	s := startServer(t, serverOpts{extra: []string{"--log-level", "info"}})
	api := churnClient{s}
	// Linear: 1001 is always offered first, then 1002.
	if code, body := s.as(t, "admin", "PATCH", "/api/queues/8000", `{"strategy":"linear"}`); code != 200 {
		t.Fatalf("queue settings: %d %v", code, body)
	}
	for _, ext := range []string{"1003", "1004", "1005"} {
		if code, err := api.do(ext, "PUT", "/api/queues/8000/members/"+ext, `{"state":"paused"}`, nil); code != 200 {
			t.Fatal(err)
		}
	}
	first := phone(t, s, "1001", agentHz, "udp") // answers when the test says
	next := phone(t, s, "1002", consultHz, "udp")
	next.AutoAnswer(0)
	cp := phone(t, s, "1009", customerHz, "udp")

	outcomes, failures := map[string]int{}, map[string]int{}
	for trial := 0; trial < 80 && len(failures) < 2; trial++ {
		offset := time.Duration(trial%24-20) * 250 * time.Microsecond // -5 ms … +0.75 ms
		cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
		if err != nil {
			t.Fatalf("trial %d: dial the queue: %v", trial, err)
		}
		offer := incoming(t, first, "1001")
		paused := make(chan error, 1)
		go func() {
			if offset > 0 {
				time.Sleep(offset)
			}
			_, err := api.do("1001", "PUT", "/api/queues/8000/members/1001", `{"state":"paused"}`, nil)
			paused <- err
		}()
		if offset < 0 {
			time.Sleep(-offset)
		}
		go func() { _ = offer.Answer(ctxFor(t, 10*time.Second)) }()
		if err := <-paused; err != nil {
			t.Fatalf("trial %d: pause 1001: %v", trial, err)
		}

		var state string
		deadline := time.Now().Add(3 * time.Second)
		for {
			var agreed bool
			state, agreed = answerRaceOutcome(t, api, offer)
			if agreed {
				break
			}
			if time.Now().After(deadline) {
				kind := raceKind(state)
				if failures[kind] == 0 {
					t.Errorf("trial %d (pause sent %s the answer): %s:\n%s", trial, when(offset), kind, state)
				}
				failures[kind]++
				state = kind
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		outcomes[state]++

		_ = cust.Hangup(ctxFor(t, 5*time.Second))
		for _, c := range append(first.Calls(), next.Calls()...) {
			_ = c.Hangup(ctxFor(t, 5*time.Second))
		}
		if code, err := api.do("1001", "PUT", "/api/queues/8000/members/1001", `{"state":"logged_in"}`, nil); code != 200 {
			t.Fatal(err)
		}
		waitChurnSettled(t, s, api)
	}
	t.Logf("outcomes: %v", outcomes)
}

// answerRaceOutcome says who has the only call in each layer, and whether
// that is one of the two consistent outcomes.
func answerRaceOutcome(t *testing.T, api churnClient, offer *siptest.Call) (string, bool) {
	t.Helper()
	var calls struct {
		Calls []callInfo `json:"calls"`
	}
	if _, err := api.do("admin", "GET", "/api/calls", "", &calls); err != nil {
		t.Fatal(err)
	}
	var d queueDetail
	if _, err := api.do("admin", "GET", "/api/queues/8000/stats", "", &d); err != nil {
		t.Fatal(err)
	}
	legUp := true
	select {
	case <-offer.Done():
		legUp = false
	default:
	}
	presence := map[string]string{}
	for _, m := range d.Members {
		presence[m.Extension] = m.Presence
	}
	desc := fmt.Sprintf("call layer: %+v\nACD: waiting %d, ringing %d, answered %d; 1001 %s, 1002 %s\n1001's phone: leg up %v (%v)",
		calls.Calls, len(d.WaitingCalls), len(d.RingingCalls), len(d.AnsweredCalls), presence["1001"], presence["1002"], legUp, offer.Err())
	if len(calls.Calls) != 1 || len(d.AnsweredCalls) != 1 || len(d.WaitingCalls)+len(d.RingingCalls) != 0 {
		return desc, false
	}
	switch parties := calls.Calls[0].numbers(); {
	case parties == "1001 1009" && presence["1001"] == "busy" && presence["1002"] == "available":
		return "1001 kept the call", true
	case parties == "1002 1009" && presence["1002"] == "busy" && !legUp:
		return "the call went on to 1002", true
	}
	return desc, false
}

func when(offset time.Duration) string {
	if offset < 0 {
		return (-offset).String() + " before"
	}
	return offset.String() + " after"
}

// raceKind names what went wrong in a trial from its description.
func raceKind(desc string) string {
	switch {
	case strings.Contains(desc, "Parties:[{Number:1009} {Number:1001}]") && !strings.Contains(desc, "1001 busy"):
		return "the call layer connected 1001's answer, the ACD did not (it offers the call elsewhere)"
	case strings.Contains(desc, "Parties:[{Number:1009} {Number:1002}]") && strings.Contains(desc, "leg up true"):
		return "1001's answer, no longer wanted, was neither ACKed nor hung up"
	}
	return "the call layer and the ACD disagree"
}
