package e2e

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// Call control with real baresip phones as the parties (issue "Call
// control"): a blind transfer the phone starts itself with REFER, an
// attended transfer and a three-way conference through the API. Each
// baresip plays its own tone; what it heard is read back from its
// recording (sndfile's rec/dump-*-dec.wav) as a sequence of phases — who
// it heard, in what order — so the test sees not only that audio flowed
// but that it came from the right party at each step.

// phaseLen is how long each phase of a call lasts, long enough for a phase to
// stand out in a recording analysed in quarter seconds.
const phaseLen = 2500 * time.Millisecond

// Phase labels for what a recording holds in a stretch of audio.
const (
	phaseMusic = "music"
	phaseQuiet = "quiet"
)

// tonesLabel names the phase in which exactly these call-control tones are heard.
func tonesLabel(hz ...float64) string {
	s := append([]float64(nil), hz...)
	sort.Float64s(s)
	parts := make([]string, len(s))
	for i, f := range s {
		parts[i] = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strings.Join(parts, "+")
}

// classify labels a stretch of audio: the set of call-control tones heard
// in it, music (real energy, none of the tones) or quiet.
func classify(samples []int16, rate int) string {
	var heard []float64
	for _, hz := range allTones {
		if siptest.Hears(samples, rate, hz) {
			heard = append(heard, hz)
		}
	}
	if len(heard) > 0 {
		return tonesLabel(heard...)
	}
	if rmsOf(samples) >= 300 {
		return phaseMusic
	}
	return phaseQuiet
}

// phasesOf splits a recording into quarter-second windows, labels each and
// returns the labels of the runs that last at least a second, adjacent
// equal runs merged and quiet dropped: the phases of the call as heard.
// Shorter runs are the moments a switch falls inside a window.
func phasesOf(samples []int16, rate int) (phases []string, windows []string) {
	win := rate / 4
	for i := 0; i+win <= len(samples); i += win {
		windows = append(windows, classify(samples[i:i+win], rate))
	}
	for i := 0; i < len(windows); {
		j := i
		for j < len(windows) && windows[j] == windows[i] {
			j++
		}
		if j-i >= 4 && windows[i] != phaseQuiet && (len(phases) == 0 || phases[len(phases)-1] != windows[i]) {
			phases = append(phases, windows[i])
		}
		i = j
	}
	return phases, windows
}

// heardPhases checks that b (stopped) heard exactly the phases want, in order.
func heardPhases(t *testing.T, b *baresipPhone, who string, want ...string) {
	t.Helper()
	samples, rate := b.recording()
	got, windows := phasesOf(samples, rate)
	d := time.Duration(len(samples)) * time.Second / time.Duration(rate)
	if strings.Join(got, " → ") != strings.Join(want, " → ") {
		t.Errorf("%s (baresip %s) heard %q over %s, want %q\nper quarter second: %s",
			who, b.ext, got, d, want, strings.Join(windows, " "))
		return
	}
	t.Logf("%s (baresip %s) heard %s over %s", who, b.ext, strings.Join(got, " → "), d)
}

// callInfo is the part of GET /api/calls these tests read.
type callInfo struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Consult *struct {
		State string `json:"state"`
	} `json:"consult"`
	Conference *struct {
		Initiator string `json:"initiator"`
	} `json:"conference"`
	Parties []struct {
		Number string `json:"number"`
	} `json:"parties"`
}

// logHas reports whether one line of the server's log contains every part.
func logHas(s *server, parts ...string) bool {
	for _, line := range strings.Split(s.Log(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// numbers lists the call's parties' numbers, sorted.
func (c callInfo) numbers() string {
	var n []string
	for _, p := range c.Parties {
		n = append(n, p.Number)
	}
	sort.Strings(n)
	return strings.Join(n, " ")
}

// onlyCall waits until there is exactly one call and cond holds for it.
func onlyCall(t *testing.T, s *server, what string, cond func(c callInfo) bool) callInfo {
	t.Helper()
	var got callInfo
	eventually(t, 10*time.Second, func() error {
		var out struct {
			Calls []callInfo `json:"calls"`
		}
		if code, err := s.api("GET", "/api/calls", nil, &out); err != nil || code != 200 {
			return fmt.Errorf("GET /api/calls: %d %v", code, err)
		}
		if len(out.Calls) != 1 {
			return fmt.Errorf("%d calls, want 1 (%s)", len(out.Calls), what)
		}
		if !cond(out.Calls[0]) {
			return fmt.Errorf("call is %+v, want %s", out.Calls[0], what)
		}
		got = out.Calls[0]
		return nil
	})
	return got
}

// noCalls waits until every call has ended.
func noCalls(t *testing.T, s *server) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		var out struct {
			Calls []callInfo `json:"calls"`
		}
		if code, err := s.api("GET", "/api/calls", nil, &out); err != nil || code != 200 {
			return fmt.Errorf("GET /api/calls: %d %v", code, err)
		}
		if len(out.Calls) != 0 {
			return fmt.Errorf("%d calls still up: %+v", len(out.Calls), out.Calls)
		}
		return nil
	})
}

// baresipParty starts an auto-answering baresip for ext sending hz.
func baresipParty(t *testing.T, s *server, ext string, hz float64, rtpPorts string) *baresipPhone {
	t.Helper()
	b := startBaresip(t, s, baresipOpts{ext: ext, toneHz: hz, rtpPorts: rtpPorts, autoAnswer: true})
	waitDeviceRegistered(t, s, ext, "baresip")
	return b
}

// TestBaresipBlindTransferWithREFER: baresip, the agent, transfers the
// customer (the in-repo phone) to 1003 (another baresip) with its own
// "transfer" command — a REFER to the server, which rings 1003, reports
// progress by NOTIFY and connects the customer; baresip then hangs up its
// leg itself.
func TestBaresipBlindTransferWithREFER(t *testing.T) {
	requireTool(t, "baresip")
	s := startServer(t, serverOpts{})
	evs := events(t, s)
	agent := baresipParty(t, s, "1002", agentHz, "47300-47399")
	target := baresipParty(t, s, "1003", consultHz, "47400-47499")
	cp := phone(t, s, "1001", customerHz, "udp")

	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "1002")
	if err != nil {
		t.Fatalf("dial 1002: %v", err)
	}
	agent.waitEvent("CALL_ESTABLISHED", 5*time.Second)
	hearsOnly(t, cust, "customer talking to baresip 1002", agentHz)
	id := waitCallState(t, s, "answered", "")
	time.Sleep(phaseLen)

	// baresip 1.0's command for a blind transfer of the current call is
	// "transfer" (menu's /transfer, key 't'); the target is a SIP URI.
	agent.mustCommand("transfer", fmt.Sprintf("sip:1003@%s", s.SIPAddr()))
	target.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	// After the final NOTIFY (sipfrag 200) baresip ends its leg itself
	// and says why ("Call transfered"); a failed transfer would leave
	// the call up, and the server's own fallback BYE comes only after 30 s.
	if closed := agent.waitEvent("CALL_CLOSED", 10*time.Second); !strings.Contains(strings.ToLower(closed.Param), "transfer") {
		t.Errorf("baresip 1002 closed its call with %q, want it closed as transferred", closed.Param)
	}
	hearsOnly(t, cust, "customer after the transfer", consultHz)
	waitEvent(t, evs, "transfer_completed")
	if !logHas(s, `msg="blind transfer"`, "call_id="+id+" ", "by=1002 target=1003") {
		t.Errorf("the server did not log a blind transfer of %s by 1002 to 1003 (REFER from baresip)", id)
	}
	c := onlyCall(t, s, "the customer with 1003", func(c callInfo) bool {
		return c.ID == id && c.State == "answered" && c.numbers() == "1001 1003"
	})
	t.Logf("after the transfer: %+v", c)
	time.Sleep(phaseLen)

	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("customer hangup: %v", err)
	}
	target.waitEvent("CALL_CLOSED", 5*time.Second)
	noCalls(t, s)
	agent.stop()
	target.stop()
	heardPhases(t, agent, "the transferring agent", tonesLabel(customerHz))
	heardPhases(t, target, "the transfer target", tonesLabel(customerHz))

	eventually(t, 5*time.Second, func() error {
		cdrs := s.cdrs(t)
		if len(cdrs) != 1 || cdrs[0].Disposition != "answered" || cdrs[0].From != "1001" {
			return fmt.Errorf("want one answered CDR from 1001, got %+v", cdrs)
		}
		return nil
	})
}

// agentState returns the ACD's state and call of the agent on ext.
func agentState(t *testing.T, s *server, ext string) (state, callID string) {
	t.Helper()
	var out struct {
		Agents []struct {
			Extensions []string `json:"extensions"`
			State      string   `json:"state"`
			Call       *struct {
				ID string `json:"id"`
			} `json:"call"`
		} `json:"agents"`
	}
	if code, err := s.api("GET", "/api/agents", nil, &out); err != nil || code != 200 {
		t.Fatalf("GET /api/agents: %d %v", code, err)
	}
	for _, a := range out.Agents {
		for _, e := range a.Extensions {
			if e == ext {
				if a.Call != nil {
					callID = a.Call.ID
				}
				return a.State, callID
			}
		}
	}
	t.Fatalf("no agent with extension %s in GET /api/agents", ext)
	return "", ""
}

// TestBaresipAttendedTransferThroughAPI: a customer (baresip 1006) calls
// queue 8000 and reaches agent 1002 (baresip); the agent consults the
// receptionist 1009 (baresip) through the API — the customer hears music
// meanwhile — and completes the transfer: the customer and 1009 phaseLen, the
// agent's leg is hung up and the ACD frees the agent.
func TestBaresipAttendedTransferThroughAPI(t *testing.T) {
	requireTool(t, "baresip")
	s := startServer(t, serverOpts{})
	// Only 1002 can take the queue call: 1001 is paused, 1003–1005 have no phone.
	if code, body := s.as(t, "1001", "PUT", "/api/queues/8000/members/1001", `{"state":"paused"}`); code != 200 {
		t.Fatalf("pause 1001: %d %v", code, body)
	}
	agent := baresipParty(t, s, "1002", agentHz, "47500-47599")
	target := baresipParty(t, s, "1009", consultHz, "47600-47699")
	cust := startBaresip(t, s, baresipOpts{ext: "1006", toneHz: customerHz, rtpPorts: "47700-47799"})
	waitDeviceRegistered(t, s, "1006", "baresip")

	cust.mustCommand("dial", fmt.Sprintf("sip:8000@%s", s.SIPAddr()))
	agent.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	cust.waitEvent("CALL_ESTABLISHED", 5*time.Second)
	c := onlyCall(t, s, "the customer with agent 1002", func(c callInfo) bool {
		return c.State == "answered" && c.numbers() == "1002 1006"
	})
	eventually(t, 5*time.Second, func() error {
		if st, call := agentState(t, s, "1002"); st != "busy" || call != c.ID {
			return fmt.Errorf("agent 1002 is %q on %q, want busy on %s", st, call, c.ID)
		}
		return nil
	})
	time.Sleep(phaseLen)

	if code, body := s.as(t, "1002", "POST", "/api/calls/"+c.ID+"/consult", `{"target":"1009"}`); code != 202 {
		t.Fatalf("consult: %d %v", code, body)
	}
	target.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	onlyCall(t, s, "a consultation talking to 1009", func(c callInfo) bool {
		return c.Consult != nil && c.Consult.State == "talking"
	})
	time.Sleep(phaseLen)

	if code, body := s.as(t, "1002", "POST", "/api/calls/"+c.ID+"/consult/transfer", ""); code != 200 {
		t.Fatalf("complete transfer: %d %v", code, body)
	}
	agent.waitEvent("CALL_CLOSED", 5*time.Second)
	onlyCall(t, s, "the customer with 1009", func(c2 callInfo) bool {
		return c2.ID == c.ID && c2.Consult == nil && c2.numbers() == "1006 1009"
	})
	// The agent left the interaction: free again (no wrap-up in the demo queue).
	eventually(t, 5*time.Second, func() error {
		if st, call := agentState(t, s, "1002"); st != "idle" || call != "" {
			return fmt.Errorf("agent 1002 is %q on %q after transferring away, want idle without a call", st, call)
		}
		return nil
	})
	time.Sleep(phaseLen)

	cust.mustCommand("hangup", "")
	cust.waitEvent("CALL_CLOSED", 5*time.Second)
	target.waitEvent("CALL_CLOSED", 5*time.Second)
	noCalls(t, s)
	for _, b := range []*baresipPhone{cust, agent, target} {
		b.stop()
	}
	heardPhases(t, cust, "the customer", tonesLabel(agentHz), phaseMusic, tonesLabel(consultHz))
	heardPhases(t, agent, "the agent", tonesLabel(customerHz), tonesLabel(consultHz))
	heardPhases(t, target, "the consulted receptionist", tonesLabel(agentHz), tonesLabel(customerHz))

	eventually(t, 5*time.Second, func() error {
		cdrs := s.cdrs(t)
		if len(cdrs) != 1 || cdrs[0].Disposition != "answered" || cdrs[0].From != "1006" || cdrs[0].To != "8000" {
			return fmt.Errorf("want one answered CDR 1006→8000, got %+v", cdrs)
		}
		return nil
	})
}

// TestBaresipConferenceFromConsult: customer 1001, agent 1002 and the
// consulted 1003, all baresip. The agent consults 1003 and turns the
// consultation into a three-way conference through the API; each hears the
// other two. 1003 then hangs up on its phone and the call goes on between
// customer and agent.
func TestBaresipConferenceFromConsult(t *testing.T) {
	requireTool(t, "baresip")
	s := startServer(t, serverOpts{})
	agent := baresipParty(t, s, "1002", agentHz, "47800-47899")
	third := baresipParty(t, s, "1003", consultHz, "47900-47999")
	cust := startBaresip(t, s, baresipOpts{ext: "1001", toneHz: customerHz, rtpPorts: "48000-48099"})
	waitDeviceRegistered(t, s, "1001", "baresip")

	cust.mustCommand("dial", fmt.Sprintf("sip:1002@%s", s.SIPAddr()))
	agent.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	cust.waitEvent("CALL_ESTABLISHED", 5*time.Second)
	id := waitCallState(t, s, "answered", "")
	time.Sleep(phaseLen)

	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult", `{"target":"1003"}`); code != 202 {
		t.Fatalf("consult: %d %v", code, body)
	}
	third.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	onlyCall(t, s, "a consultation talking to 1003", func(c callInfo) bool {
		return c.Consult != nil && c.Consult.State == "talking"
	})
	time.Sleep(phaseLen)

	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/consult/conference", ""); code != 200 {
		t.Fatalf("conference: %d %v", code, body)
	}
	onlyCall(t, s, "a conference of three", func(c callInfo) bool {
		return c.Conference != nil && c.Consult == nil && c.numbers() == "1001 1002 1003"
	})
	time.Sleep(phaseLen)

	// The consulted party hangs up on its phone: the other two go on.
	third.mustCommand("hangup", "")
	third.waitEvent("CALL_CLOSED", 5*time.Second)
	onlyCall(t, s, "customer and agent again", func(c callInfo) bool {
		return c.ID == id && c.Conference == nil && c.numbers() == "1001 1002"
	})
	time.Sleep(phaseLen)

	agent.mustCommand("hangup", "")
	agent.waitEvent("CALL_CLOSED", 5*time.Second)
	cust.waitEvent("CALL_CLOSED", 5*time.Second)
	noCalls(t, s)
	for _, b := range []*baresipPhone{cust, agent, third} {
		b.stop()
	}
	heardPhases(t, cust, "the customer",
		tonesLabel(agentHz), phaseMusic, tonesLabel(agentHz, consultHz), tonesLabel(agentHz))
	heardPhases(t, agent, "the agent",
		tonesLabel(customerHz), tonesLabel(consultHz), tonesLabel(customerHz, consultHz), tonesLabel(customerHz))
	heardPhases(t, third, "the consulted party", tonesLabel(agentHz), tonesLabel(customerHz, agentHz))
}
