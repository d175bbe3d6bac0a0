package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// answeredCall sets up 1001 (1000 Hz) → 1002 (440 Hz), both hearing each other.
func answeredCall(t *testing.T, s *server) (out, in *siptest.Call) {
	t.Helper()
	alice := phone(t, s, "1001", 1000, "udp")
	bob := phone(t, s, "1002", 440, "udp")
	bob.AutoAnswer(100 * time.Millisecond)
	out, err := alice.Dial(ctxFor(t, 10*time.Second), "1002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	select {
	case in = <-bob.Incoming():
	case <-time.After(5 * time.Second):
		t.Fatal("no incoming call")
	}
	hears(t, out, 440, "caller")
	hears(t, in, 1000, "callee")
	return out, in
}

// hearsMusic waits until c hears music on hold: real energy, and none of
// the parties' tones (the built-in music avoids 440 and 1000 Hz).
func hearsMusic(t *testing.T, c *siptest.Call, who string) {
	t.Helper()
	eventually(t, 5*time.Second, func() error {
		samples := c.ReceivedAudio(600 * time.Millisecond)
		if len(samples) < 4000 {
			return fmt.Errorf("only %d samples", len(samples))
		}
		var sum float64
		for _, v := range samples {
			sum += float64(v) * float64(v)
		}
		rms := math.Sqrt(sum / float64(len(samples)))
		if rms < 300 {
			return fmt.Errorf("%s hears near silence (rms %.0f)", who, rms)
		}
		if siptest.Hears(samples, 8000, 440) || siptest.Hears(samples, 8000, 1000) {
			return fmt.Errorf("%s still hears a party's tone, not music", who)
		}
		return nil
	})
}

func TestHoldFromPhonePlaysMusicAndResumeRestoresTones(t *testing.T) {
	s := startServer(t, serverOpts{})
	out, in := answeredCall(t, s)

	// The caller holds: the callee hears music.
	if err := out.Hold(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("hold: %v", err)
	}
	hearsMusic(t, in, "callee")
	waitCallState(t, s, "held", "callee")

	if err := out.Resume(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("resume: %v", err)
	}
	hears(t, in, 1000, "callee after resume")
	hears(t, out, 440, "caller after resume")
	waitCallState(t, s, "answered", "")

	// The callee holds too: now the caller hears music.
	if err := in.Hold(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("callee hold: %v", err)
	}
	hearsMusic(t, out, "caller")
	if err := in.Resume(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("callee resume: %v", err)
	}
	hears(t, out, 440, "caller after callee resume")
}

func TestHoldFromServerSide(t *testing.T) {
	s := startServer(t, serverOpts{})
	out, in := answeredCall(t, s)
	id := waitCallState(t, s, "answered", "")

	code, err := s.api("POST", "/api/calls/"+id+"/hold", strings.NewReader(`{"party":"caller"}`), nil)
	if err != nil || code != 200 {
		t.Fatalf("hold: %d %v", code, err)
	}
	hearsMusic(t, out, "caller")
	waitCallState(t, s, "held", "caller")

	code, err = s.api("POST", "/api/calls/"+id+"/resume", nil, nil)
	if err != nil || code != 200 {
		t.Fatalf("resume: %d %v", code, err)
	}
	hears(t, out, 440, "caller after resume")
	hears(t, in, 1000, "callee after resume")

	tests := []struct {
		name, path, body string
		want             int
	}{
		{"bad party", "/api/calls/" + id + "/hold", `{"party":"nobody"}`, 400},
		{"bad json", "/api/calls/" + id + "/hold", `{`, 400},
		{"unknown call", "/api/calls/nope/hold", `{"party":"caller"}`, 404},
	}
	for _, tt := range tests {
		code, err := s.api("POST", tt.path, strings.NewReader(tt.body), nil)
		if err != nil || code != tt.want {
			t.Errorf("%s: %d %v, want %d", tt.name, code, err, tt.want)
		}
	}
	// Without credentials nothing happens.
	resp, err := http.Post("http://"+s.HTTPAddr+"/api/calls/"+id+"/hangup", "application/json", nil)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous hangup: %v %v", resp, err)
	}
	resp.Body.Close()
	hears(t, out, 440, "caller after refused hangup")

	code, err = s.api("POST", "/api/calls/"+id+"/hangup", nil, nil)
	if err != nil || code != 200 {
		t.Fatalf("hangup: %d %v", code, err)
	}
	for _, c := range []*siptest.Call{out, in} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a leg survived the API hangup")
		}
	}
}

// waitCallState waits until the only call has the state (and held party),
// returning its ID.
func waitCallState(t *testing.T, s *server, state, held string) string {
	t.Helper()
	var id string
	eventually(t, 5*time.Second, func() error {
		var out struct {
			Calls []struct {
				ID    string `json:"id"`
				State string `json:"state"`
				Held  string `json:"held"`
			} `json:"calls"`
		}
		if code, err := s.api("GET", "/api/calls", nil, &out); err != nil || code != 200 {
			return fmt.Errorf("GET /api/calls: %d %v", code, err)
		}
		if len(out.Calls) != 1 {
			return fmt.Errorf("%d calls", len(out.Calls))
		}
		c := out.Calls[0]
		if c.State != state || c.Held != held {
			return fmt.Errorf("call state %q held %q, want %q %q", c.State, c.Held, state, held)
		}
		id = c.ID
		return nil
	})
	return id
}

// apiEvent is one event of /api/events.
type apiEvent struct {
	Seq  uint64          `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// events streams /api/events into a channel until the test ends.
func events(t *testing.T, s *server) <-chan apiEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.HTTPAddr+"/api/events", nil)
	if err := s.authorize(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/events: %v %v", resp, err)
	}
	ch := make(chan apiEvent, 256)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "data: ") {
				continue
			}
			var e apiEvent
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e) == nil {
				select {
				case ch <- e:
				default:
				}
			}
		}
	}()
	return ch
}

func TestDTMFFromPhoneArrivesAsEvent(t *testing.T) {
	s := startServer(t, serverOpts{})
	evs := events(t, s)
	out, in := answeredCall(t, s)
	if err := out.SendDigits("4#"); err != nil {
		t.Fatalf("send dtmf: %v", err)
	}
	var got []string
	deadline := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case e := <-evs:
			if e.Type != "dtmf_received" {
				continue
			}
			var d struct {
				Digit string `json:"digit"`
				Party string `json:"party"`
			}
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			if d.Party != "caller" {
				t.Errorf("dtmf party %q, want caller", d.Party)
			}
			got = append(got, d.Digit)
		case <-deadline:
			t.Fatalf("dtmf events: got %v, want [4 #]", got)
		}
	}
	if strings.Join(got, "") != "4#" {
		t.Fatalf("digits %v, want 4 then #", got)
	}
	// Passed through to the other phone as RFC 4733 too.
	if err := in.WaitDTMF(ctxFor(t, 5*time.Second), "4#"); err != nil {
		t.Fatalf("callee did not receive the digits: %v (got %q)", err, in.ReceivedDTMF())
	}
}

// TestRTPTimeoutEndsCallOfVanishedPhone: a phone that stops sending RTP
// without a BYE (crashed) is hung up after rtp.timeout, with a CDR.
func TestRTPTimeoutEndsCallOfVanishedPhone(t *testing.T) {
	s := startServer(t, serverOpts{env: []string{"SWITCHBOARD_RTP_TIMEOUT=5s"}})
	out, in := answeredCall(t, s)
	in.StopRTP()
	select {
	case <-out.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("call of a silent phone still up after 15s")
	}
	eventually(t, 5*time.Second, func() error {
		for _, c := range s.cdrs(t) {
			if c.HangupBy == "system" && c.Disposition == "answered" {
				return nil
			}
		}
		return fmt.Errorf("no CDR of the timed-out call")
	})
	if !strings.Contains(s.Log(), "no RTP from a phone") {
		t.Error("no log line for the RTP timeout")
	}
}
