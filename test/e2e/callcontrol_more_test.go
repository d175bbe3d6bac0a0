package e2e

import (
	"bytes"
	binenc "encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

func TestPickupFromAPIAndRefusals(t *testing.T) {
	s := startServer(t, serverOpts{})
	p1 := phone(t, s, "1001", customerHz, "udp")
	p2 := phone(t, s, "1002", agentHz, "udp") // rings, never answers
	p3 := phone(t, s, "1003", consultHz, "udp")
	p3.AutoAnswer(50 * time.Millisecond)
	_ = p2
	done := make(chan *siptest.Call, 1)
	go func() {
		c, err := p1.Dial(ctxFor(t, 20*time.Second), "1002")
		if err != nil {
			t.Errorf("dial: %v", err)
		}
		done <- c
	}()
	ringing := incoming(t, p2, "1002 ringing")
	id := waitCallState(t, s, "ringing", "")

	code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/pickup", "")
	if code != 202 {
		t.Fatalf("pickup: %d %v", code, body)
	}
	picker := incoming(t, p3, "picker")
	cust := <-done
	if cust == nil {
		t.FailNow()
	}
	select {
	case <-ringing.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("1002 still rings after the pickup")
	}
	hearsOnly(t, cust, "caller after pickup", consultHz)
	hearsOnly(t, picker, "picker", customerHz)

	// The call no longer rings: a second pickup is refused.
	if code, body := s.as(t, "1004", "POST", "/api/calls/"+id+"/pickup", ""); code != 409 || body["code"] != "call_not_ringing" {
		t.Fatalf("pickup of an answered call: %d %v, want 409 call_not_ringing", code, body)
	}
	// A held call cannot be ended from the console.
	if code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/hold", `{"party":"caller"}`); code != 200 {
		t.Fatalf("hold: %d %v", code, body)
	}
	if code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/hangup", ""); code != 409 || body["code"] != "call_held" {
		t.Fatalf("hangup of a held call: %d %v, want 409 call_held", code, body)
	}
	if code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/resume", ""); code != 200 {
		t.Fatalf("resume: %d %v", code, body)
	}
	if code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/hangup", ""); code != 200 {
		t.Fatalf("hangup after resume: %d %v", code, body)
	}
	select {
	case <-cust.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("caller not hung up")
	}
}

func TestPickupWithFeatureCode(t *testing.T) {
	s := startServer(t, serverOpts{})
	p1 := phone(t, s, "1001", customerHz, "udp")
	p2 := phone(t, s, "1002", agentHz, "udp")
	p3 := phone(t, s, "1003", consultHz, "udp")
	done := make(chan *siptest.Call, 1)
	go func() {
		c, _ := p1.Dial(ctxFor(t, 20*time.Second), "1002")
		done <- c
	}()
	incoming(t, p2, "1002 ringing")
	waitCallState(t, s, "ringing", "")
	picker, err := p3.Dial(ctxFor(t, 10*time.Second), "**1002")
	if err != nil {
		t.Fatalf("dial **1002: %v", err)
	}
	cust := <-done
	if cust == nil {
		t.Fatal("the caller's call was not answered")
	}
	hearsOnly(t, cust, "caller after pickup", consultHz)
	hearsOnly(t, picker, "picker", customerHz)

	// Nothing rings at 1004: 404.
	if _, err := p3.Dial(ctxFor(t, 5*time.Second), "**1004"); err == nil {
		t.Fatal("pickup with nothing ringing succeeded")
	} else if se := (*siptest.StatusError)(nil); !errors.As(err, &se) || se.Code != 404 {
		t.Fatalf("pickup with nothing ringing: %v, want 404", err)
	}
}

func TestOriginateRingsOwnPhoneFirst(t *testing.T) {
	s := startServer(t, serverOpts{})
	p1 := phone(t, s, "1001", agentHz, "udp")
	p2 := phone(t, s, "1002", customerHz, "udp")
	p1.AutoAnswer(50 * time.Millisecond)
	p2.AutoAnswer(50 * time.Millisecond)
	code, body := s.as(t, "1001", "POST", "/api/calls", `{"target":"1002"}`)
	if code != 201 {
		t.Fatalf("originate: %d %v", code, body)
	}
	own := incoming(t, p1, "the user's own phone")
	if got := own.From().User; got != "1002" {
		t.Errorf("the user's phone shows %q, want the target 1002", got)
	}
	target := incoming(t, p2, "target")
	if got := target.From().User; got != "1001" {
		t.Errorf("the target sees %q, want the user's extension 1001", got)
	}
	hearsOnly(t, own, "user", customerHz)
	hearsOnly(t, target, "target", agentHz)

	// An unknown target is refused before anything rings.
	if code, body := s.as(t, "1001", "POST", "/api/calls", `{"target":"1999"}`); code != 404 {
		t.Fatalf("originate to an unknown number: %d %v, want 404", code, body)
	}
	// ANI must be one the profile allows.
	if code, body := s.as(t, "1001", "POST", "/api/calls", `{"target":"+31612345678","ani":"+31201111111"}`); code != 403 || body["code"] != "ani_not_permitted" {
		t.Fatalf("originate with a foreign ANI: %d %v, want 403 ani_not_permitted", code, body)
	}
}

func TestBlindTransferFromPhoneWithRefer(t *testing.T) {
	s := startServer(t, serverOpts{})
	cust, agent, third, _ := threeParties(t, s)
	tr, err := agent.Refer(ctxFor(t, 5*time.Second), "1003")
	if err != nil {
		t.Fatalf("REFER: %v", err)
	}
	target := incoming(t, third, "transfer target")
	code, err := tr.Wait(ctxFor(t, 10*time.Second))
	if err != nil || code != 200 {
		t.Fatalf("transfer outcome: %d %v (progress %v)", code, err, tr.Progress())
	}
	if err := agent.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Logf("transferor hangup: %v", err)
	}
	hearsOnly(t, cust, "customer after REFER", consultHz)
	hearsOnly(t, target, "target after REFER", customerHz)
}

func TestAttendedTransferFromPhoneWithReplaces(t *testing.T) {
	s := startServer(t, serverOpts{})
	cust, agent, agentPhone, third, _ := threePartiesPhones(t, s)
	// The agent holds the customer and calls 1003 from the same phone.
	if err := agent.Hold(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("hold: %v", err)
	}
	hearsMusic(t, cust, "held customer")
	consult, err := agentPhone.Dial(ctxFor(t, 10*time.Second), "1003")
	if err != nil {
		t.Fatalf("consult call: %v", err)
	}
	target := incoming(t, third, "consulted")
	hearsOnly(t, consult, "agent on the consultation", consultHz)
	tr, err := agent.ReferReplaces(ctxFor(t, 5*time.Second), consult)
	if err != nil {
		t.Fatalf("REFER with Replaces: %v", err)
	}
	if code, err := tr.Wait(ctxFor(t, 10*time.Second)); err != nil || code != 200 {
		t.Fatalf("attended transfer outcome: %d %v", code, err)
	}
	hearsOnly(t, cust, "customer after attended transfer", consultHz)
	hearsOnly(t, target, "target after attended transfer", customerHz)
	for who, c := range map[string]*siptest.Call{"first": agent, "second": consult} {
		_ = c.Hangup(ctxFor(t, 5*time.Second))
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("agent's %s leg still up", who)
		}
	}
	hearsOnly(t, cust, "customer after the agent hung up", consultHz)
}

func TestRecordingWithPrivacyPause(t *testing.T) {
	s := startServer(t, serverOpts{})
	cust, agent, _, id := threeParties(t, s)
	_ = cust
	_ = agent
	// Agents without the profile's recording permission may not control it.
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/recording/start", ""); code != 403 || body["code"] != "recording_control_not_permitted" {
		t.Fatalf("start by an agent without permission: %d %v", code, body)
	}
	if code, body := s.as(t, "admin", "POST", "/api/calls/"+id+"/recording/start", ""); code != 200 {
		t.Fatalf("start: %d %v", code, body)
	}
	// The parties still hear each other through the mixer.
	hearsOnly(t, cust, "customer while recorded", agentHz)
	hearsOnly(t, agent, "agent while recorded", customerHz)
	time.Sleep(1500 * time.Millisecond) // recorded audio before the pause
	if code, body := s.as(t, "admin", "POST", "/api/calls/"+id+"/recording/pause", `{"auto_resume_s":2}`); code != 200 {
		t.Fatalf("pause: %d %v", code, body)
	}
	time.Sleep(1500 * time.Millisecond) // paused span, shorter than the auto-resume
	if code, body := s.as(t, "admin", "POST", "/api/calls/"+id+"/recording/resume", ""); code != 200 {
		t.Fatalf("resume: %d %v", code, body)
	}
	time.Sleep(1500 * time.Millisecond)
	if code, body := s.as(t, "admin", "POST", "/api/calls/"+id+"/recording/stop", ""); code != 200 {
		t.Fatalf("stop: %d %v", code, body)
	}
	// Back on the relay, still hearing each other.
	hearsOnly(t, cust, "customer after recording", agentHz)

	var list struct {
		Recordings []struct {
			ID       string   `json:"id"`
			AudioURL string   `json:"audio_url"`
			Parties  []string `json:"parties"`
		} `json:"recordings"`
	}
	if code, err := s.api("GET", "/api/recordings?call_id="+id, nil, &list); err != nil || code != 200 || len(list.Recordings) != 1 {
		t.Fatalf("list recordings: %d %v %+v", code, err, list)
	}
	rec := list.Recordings[0]
	// Someone who was not on the call cannot see or fetch it.
	if code, _ := s.as(t, "1004", "GET", rec.AudioURL, ""); code != 404 {
		t.Fatalf("recording fetched by 1004: %d, want 404", code)
	}
	wav := fetchAs(t, s, "1002", rec.AudioURL)
	left, right := stereoPCM(t, wav)
	if len(left) < 8000*4 {
		t.Fatalf("recording holds %d samples per channel, want over 4 s", len(left))
	}
	// Spans: [0.2 s, 1.2 s) recorded, the paused span in the middle, the end recorded.
	sec := func(ch []int16, from, to float64) []int16 { return ch[int(from*8000):int(to*8000)] }
	if !siptest.Hears(sec(left, 0.3, 1.2), 8000, customerHz) || !siptest.Hears(sec(right, 0.3, 1.2), 8000, agentHz) {
		t.Errorf("before the pause: left should hold the customer (%d Hz), right the agent (%d Hz)", customerHz, agentHz)
	}
	if siptest.Hears(sec(left, 0.3, 1.2), 8000, agentHz) {
		t.Errorf("the agent leaks into the customer's channel")
	}
	// The call's CDR links the recording.
	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		for _, c := range s.cdrs(t) {
			if c.CallID == id && len(c.Recordings) == 1 && c.Recordings[0] == rec.ID {
				return nil
			}
		}
		return fmt.Errorf("no CDR of call %s linking recording %s", id, rec.ID)
	})
	mid := len(left) / 2
	if rmsOf(left[mid-1600:mid+1600]) > 50 || rmsOf(right[mid-1600:mid+1600]) > 50 {
		t.Errorf("the paused span is not silent (rms %.0f / %.0f)", rmsOf(left[mid-1600:mid+1600]), rmsOf(right[mid-1600:mid+1600]))
	}
	end := len(left)
	if !siptest.Hears(left[end-8000:end-800], 8000, customerHz) {
		t.Errorf("after resume the customer is not recorded")
	}
}

func fetchAs(t *testing.T, s *server, user, path string) []byte {
	t.Helper()
	tok, err := s.login(user, "demo-"+user)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+s.HTTPAddr+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s as %s: %d %s", path, user, resp.StatusCode, b)
	}
	return b
}

// stereoPCM splits a 16-bit stereo WAV into its channels.
func stereoPCM(t *testing.T, wav []byte) (left, right []int16) {
	t.Helper()
	if len(wav) < 44 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Fatalf("not a WAV file (%d bytes)", len(wav))
	}
	pos := 12
	var channels, bits uint16
	var rate uint32
	for pos+8 <= len(wav) {
		id := string(wav[pos : pos+4])
		size := int(binenc.LittleEndian.Uint32(wav[pos+4 : pos+8]))
		body := wav[pos+8:]
		switch id {
		case "fmt ":
			channels = binenc.LittleEndian.Uint16(body[2:4])
			rate = binenc.LittleEndian.Uint32(body[4:8])
			bits = binenc.LittleEndian.Uint16(body[14:16])
		case "data":
			if channels != 2 || rate != 8000 || bits != 16 {
				t.Fatalf("WAV is %d ch, %d Hz, %d bit; want stereo 8 kHz 16-bit", channels, rate, bits)
			}
			if size > len(body) {
				size = len(body)
			}
			r := bytes.NewReader(body[:size])
			for {
				var frame [2]int16
				if err := binenc.Read(r, binenc.LittleEndian, &frame); err != nil {
					return left, right
				}
				left = append(left, frame[0])
				right = append(right, frame[1])
			}
		}
		pos += 8 + size + size%2
	}
	t.Fatal("WAV without data chunk")
	return nil, nil
}

func rmsOf(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	if len(s) == 0 {
		return 0
	}
	return math.Sqrt(sum / float64(len(s)))
}

func TestRecordingPolicyAndAdminAutoResume(t *testing.T) {
	s := startServer(t, serverOpts{env: []string{"SWITCHBOARD_RECORDING_EXTENSIONS=1002", "SWITCHBOARD_RECORDING_AUTO_RESUME=1s"}})
	evs := events(t, s)
	cust, agent, _, id := threeParties(t, s)
	// 1002 is under the recording policy: the call is recorded from the answer.
	waitEvent(t, evs, "recording_started")
	hearsOnly(t, cust, "customer while recorded", agentHz)
	hearsOnly(t, agent, "agent while recorded", customerHz)
	// A pause asked for 60 s ends after the administrator's 1 s.
	if code, body := s.as(t, "admin", "POST", "/api/calls/"+id+"/recording/pause", `{"auto_resume_s":60}`); code != 200 {
		t.Fatalf("pause: %d %v", code, body)
	}
	waitEvent(t, evs, "recording_paused")
	waitEvent(t, evs, "recording_resumed")
	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		var list struct {
			Recordings []struct {
				StartedBy string `json:"started_by"`
			} `json:"recordings"`
		}
		if code, err := s.api("GET", "/api/recordings?call_id="+id, nil, &list); err != nil || code != 200 {
			return fmt.Errorf("list: %d %v", code, err)
		}
		if len(list.Recordings) != 1 || list.Recordings[0].StartedBy != "policy" {
			return fmt.Errorf("recordings %+v, want one started by policy", list.Recordings)
		}
		return nil
	})
}

// TestAnswerFromConsole: a call ringing at the user's phone is answered
// from the console; the phone is asked to answer by itself (Call-Info
// answer-after=0).
func TestAnswerFromConsole(t *testing.T) {
	s := startServer(t, serverOpts{})
	p1 := phone(t, s, "1001", customerHz, "udp")
	p2 := phone(t, s, "1002", agentHz, "udp") // rings; its user answers from the console
	done := make(chan *siptest.Call, 1)
	go func() {
		c, _ := p1.Dial(ctxFor(t, 20*time.Second), "1002")
		done <- c
	}()
	first := incoming(t, p2, "1002 ringing")
	id := waitCallState(t, s, "ringing", "")
	if code, body := s.as(t, "1003", "POST", "/api/calls/"+id+"/answer", ""); code != 403 {
		t.Fatalf("answer by someone the call does not ring for: %d %v, want 403", code, body)
	}
	if code, body := s.as(t, "1002", "POST", "/api/calls/"+id+"/answer", ""); code != 200 {
		t.Fatalf("answer: %d %v", code, body)
	}
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first ringing was not cancelled")
	}
	answered := incoming(t, p2, "1002 asked to answer")
	if got := answered.Header("Call-Info"); !strings.Contains(got, "answer-after=0") {
		t.Errorf("Call-Info %q, want answer-after=0", got)
	}
	cust := <-done
	if cust == nil {
		t.Fatal("the caller's call was not answered")
	}
	hearsOnly(t, cust, "caller", agentHz)
	hearsOnly(t, answered, "answered from the console", customerHz)
}
