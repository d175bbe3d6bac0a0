package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/prompts"
	"github.com/switchboard/switchboard/internal/siptest"
)

// The queue caller experience (SPEC Q5, O3): announcements, leaving a
// message, courtesy callbacks — through the real binary.

// promptTemplate is 200 ms of a shipped prompt (its loudest frame-aligned
// stretch) and where in the prompt it starts.
func promptTemplate(t *testing.T, name string) (tmpl []int16, offset int) {
	t.Helper()
	pcm, err := prompts.PCM(name)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1600
	best := -1.0
	for off := 0; off+n <= len(pcm); off += 160 {
		var e float64
		for _, s := range pcm[off : off+n] {
			e += float64(s) * float64(s)
		}
		if e > best {
			best, tmpl, offset = e, pcm[off:off+n], off
		}
	}
	return tmpl, offset
}

// promptMatch is how closely samples contain the prompt: the best
// normalised cross-correlation of the template with the audio. A prompt
// starts on a 20 ms frame and the phone keeps whole frames, so only
// frame-aligned positions are tried. The prompt played through G.711
// scores above 0.9; music, tones or another prompt stay far below.
func promptMatch(samples, tmpl []int16, offset int) float64 {
	var tt float64
	for _, v := range tmpl {
		tt += float64(v) * float64(v)
	}
	best := 0.0
	for start := offset % 160; start+len(tmpl) <= len(samples); start += 160 {
		var tw, ww float64
		for i, v := range tmpl {
			w := float64(samples[start+i])
			tw += float64(v) * w
			ww += w * w
		}
		if ww > 0 {
			best = max(best, tw/math.Sqrt(tt*ww))
		}
	}
	return best
}

// hearsPrompt waits until c has heard the named prompt, in the last 4.8 s
// of audio (a whole number of frames), within d.
func hearsPrompt(t *testing.T, c *siptest.Call, who, name string, d time.Duration) {
	t.Helper()
	tmpl, off := promptTemplate(t, name)
	eventually(t, d, func() error {
		samples := c.ReceivedAudio(4800 * time.Millisecond)
		if m := promptMatch(samples, tmpl, off); m < 0.9 {
			return fmt.Errorf("%s has not heard %q (best match %.2f of %d samples)", who, name, m, len(samples))
		}
		return nil
	})
}

// queueAlone makes 1002 the only agent of queue 8000, on a break, with
// the queue's caller experience set by settings (JSON fields).
func queueAlone(t *testing.T, s *server, settings string) {
	t.Helper()
	body := `{"strategy":"linear","members":[{"extension":"1002","penalty":0}]`
	if settings != "" {
		body += "," + settings
	}
	if code, b := s.as(t, "admin", "PATCH", "/api/queues/8000", body+"}"); code != 200 {
		t.Fatalf("queue settings: %d %v", code, b)
	}
	if code, b := s.as(t, "1002", "PUT", "/api/me/agent", `{"status":"break","reason_code":"lunch"}`); code != 200 {
		t.Fatalf("1002 on a break: %d %v", code, b)
	}
}

// TestQueueAnnouncements: a caller waiting with nobody available hears
// "all our agents are busy" (checked against the shipped prompt's
// waveform, not just "not music"), then periodically their position.
func TestQueueAnnouncements(t *testing.T) {
	s := startServer(t, serverOpts{})
	queueAlone(t, s, `"announce_interval_s":3,"announce_ewt":false`)
	if code, q := s.as(t, "admin", "GET", "/api/queues/8000", ""); code != 200 || q["announce_interval_s"] != 3.0 ||
		q["announce_position"] != true || q["announce_ewt"] != false || q["offer_voicemail"] != false {
		t.Fatalf("queue: %d %v", code, q)
	}
	cp := phone(t, s, "1009", customerHz, "udp")
	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	waitCallState(t, s, "queued", "")
	hearsPrompt(t, cust, "queued caller", prompts.Busy, 8*time.Second)
	// The detector tells prompts apart: the goodbye was never played.
	tmpl, off := promptTemplate(t, prompts.Goodbye)
	if m := promptMatch(cust.ReceivedAudio(4800*time.Millisecond), tmpl, off); m > 0.6 {
		t.Errorf("the caller seems to hear the goodbye (match %.2f): the detector does not discriminate", m)
	}
	// Every 3 s: "you are caller number one"; music in between.
	hearsPrompt(t, cust, "queued caller", prompts.Position, 12*time.Second)
	hearsPrompt(t, cust, "queued caller", prompts.Number(1), 6*time.Second)
	hearsMusic(t, cust, "queued caller between announcements")
}

// TestQueueVoicemail: a waiting caller presses 1, hears the prompt and
// the tone, speaks (the phone's 500 Hz tone) and presses #; the message
// is listed for the queue's agents and supervisors, and its WAV holds the
// caller's tone.
func TestQueueVoicemail(t *testing.T) {
	s := startServer(t, serverOpts{})
	queueAlone(t, s, `"offer_voicemail":true`)
	cp := phone(t, s, "1009", customerHz, "udp")
	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	id := waitCallState(t, s, "queued", "")
	hearsPrompt(t, cust, "queued caller", prompts.Press1, 12*time.Second)
	if err := cust.SendDigits("1"); err != nil {
		t.Fatal(err)
	}
	hearsPrompt(t, cust, "caller leaving a message", prompts.LeaveMessage, 8*time.Second)
	// The beep: 1 kHz.
	eventually(t, 8*time.Second, func() error {
		if !siptest.Hears(cust.ReceivedAudio(200*time.Millisecond), 8000, 1000) {
			return fmt.Errorf("no beep yet")
		}
		return nil
	})
	// Recording: the phone keeps sending its tone; let it speak a while.
	time.Sleep(2500 * time.Millisecond)
	if err := cust.SendDigits("#"); err != nil {
		t.Fatal(err)
	}
	hearsPrompt(t, cust, "caller after #", prompts.Goodbye, 8*time.Second)
	select {
	case <-cust.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the caller was not hung up after the message")
	}

	var vm map[string]any
	eventually(t, 5*time.Second, func() error {
		code, body := s.as(t, "1002", "GET", "/api/voicemails?queue=8000", "")
		list, _ := body["voicemails"].([]any)
		if code != 200 || len(list) != 1 {
			return fmt.Errorf("voicemails as 1002 (member of 8000): %d %v", code, body)
		}
		vm = list[0].(map[string]any)
		return nil
	})
	if vm["call_id"] != id || vm["caller_number"] != "1009" || vm["status"] != "new" || vm["queue"] != "8000" {
		t.Errorf("voicemail %v", vm)
	}
	if d, _ := vm["duration_ms"].(float64); d < 1500 || d > 120_000 {
		t.Errorf("message of %v ms", vm["duration_ms"])
	}
	vid := vm["id"].(string)
	wav := fetchAs(t, s, "1002", "/api/voicemails/"+vid+"/audio")
	path := filepath.Join(t.TempDir(), "vm.wav")
	if err := os.WriteFile(path, wav, 0o600); err != nil {
		t.Fatal(err)
	}
	pcm, rate, err := siptest.ReadWAV(path)
	if err != nil || rate != 8000 {
		t.Fatalf("the message is no 8 kHz mono WAV: %v (rate %d)", err, rate)
	}
	if len(pcm) < 8000 {
		t.Fatalf("message of %d samples", len(pcm))
	}
	mid := pcm[len(pcm)/4 : 3*len(pcm)/4]
	if !siptest.Hears(mid, 8000, customerHz) || siptest.Hears(mid, 8000, 1000) {
		f, r := siptest.DominantTone(mid, 8000, []float64{customerHz, 1000})
		t.Errorf("the message does not hold the caller's %d Hz alone (dominant %.0f Hz at %.2f)", customerHz, f, r)
	}
	// Who may see it: the supervisor yes; the operator and agents who are
	// no members (1001 left the queue above, 1006 is in Sales) no.
	if code, body := s.as(t, "1010", "GET", "/api/voicemails/"+vid, ""); code != 200 || body["id"] != vid {
		t.Errorf("supervisor: %d %v", code, body)
	}
	if code, body := s.as(t, "1009", "GET", "/api/voicemails", ""); code != 200 || len(body["voicemails"].([]any)) != 0 {
		t.Errorf("operator's list: %d %v", code, body)
	}
	if code, _ := s.as(t, "1009", "GET", "/api/voicemails/"+vid+"/audio", ""); code != 404 {
		t.Errorf("operator fetching the audio: %d, want 404", code)
	}
	if code, _ := s.as(t, "1006", "PATCH", "/api/voicemails/"+vid, `{"status":"handled"}`); code != 404 {
		t.Errorf("agent of another queue marking it: %d, want 404", code)
	}
	if code, body := s.as(t, "1001", "GET", "/api/voicemails", ""); code != 200 || len(body["voicemails"].([]any)) != 0 {
		t.Errorf("former member's list: %d %v", code, body)
	}
	if code, body := s.as(t, "1002", "PATCH", "/api/voicemails/"+vid, `{"status":"done"}`); code != 400 {
		t.Errorf("bad status: %d %v", code, body)
	}
	if code, body := s.as(t, "1002", "PATCH", "/api/voicemails/"+vid, `{"status":"handled"}`); code != 200 ||
		body["status"] != "handled" || body["handled_by"] != "1002" {
		t.Errorf("mark handled: %d %v", code, body)
	}
	if code, body := s.as(t, "admin", "GET", "/api/voicemails?status=new", ""); code != 200 || len(body["voicemails"].([]any)) != 0 {
		t.Errorf("new ones after handling: %d %v", code, body)
	}
	if code, st := s.as(t, "admin", "GET", "/api/queues/8000/stats", ""); code != 200 || st["voicemails_last_hour"] != 1.0 ||
		st["abandoned_last_hour"] != 0.0 {
		t.Errorf("stats: %d voicemails %v abandoned %v", code, st["voicemails_last_hour"], st["abandoned_last_hour"])
	}
}

// requestCallback dials queue 8000 from 1009 (with callbacks offered and
// nobody available), presses 2 and waits until the caller is thanked and
// hung up and the callback waits in the queue. It returns 1009's phone.
func requestCallback(t *testing.T, s *server) *siptest.Phone {
	t.Helper()
	queueAlone(t, s, `"offer_callback":true`)
	cp := phone(t, s, "1009", customerHz, "udp")
	cust, err := cp.Dial(ctxFor(t, 10*time.Second), "8000")
	if err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	waitCallState(t, s, "queued", "")
	hearsPrompt(t, cust, "queued caller", prompts.Press2, 12*time.Second)
	if err := cust.SendDigits("2"); err != nil {
		t.Fatal(err)
	}
	hearsPrompt(t, cust, "caller asking for a callback", prompts.CallbackThanks, 8*time.Second)
	select {
	case <-cust.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the caller was not hung up after asking for a callback")
	}
	eventually(t, 5*time.Second, func() error {
		code, body := s.as(t, "1002", "GET", "/api/callbacks?queue=8000&status=waiting", "")
		if list, _ := body["callbacks"].([]any); code != 200 || len(list) != 1 || list[0].(map[string]any)["number"] != "1009" {
			return fmt.Errorf("waiting callbacks: %d %v", code, body)
		}
		_, st := s.as(t, "1002", "GET", "/api/queues/8000/stats", "")
		if st["callbacks_waiting"] != 1.0 || st["waiting"] != 1.0 {
			return fmt.Errorf("queue stats: callbacks_waiting %v waiting %v", st["callbacks_waiting"], st["waiting"])
		}
		return nil
	})
	return cp
}

// TestQueueCallback: the caller presses 2 and hangs up; when the agent
// becomes available their phone rings first (showing the customer's
// number, "Callback"), then the customer's phone; they hear each other.
func TestQueueCallback(t *testing.T) {
	s := startServer(t, serverOpts{})
	evs := events(t, s)
	cp := requestCallback(t, s)
	cp.AutoAnswer(50 * time.Millisecond)
	ap := phone(t, s, "1002", agentHz, "udp")
	// The agent answers after 2 s: a customer dialled before that would
	// ring while the agent's phone still rings.
	ap.AutoAnswer(2 * time.Second)
	if code, b := s.as(t, "1002", "PUT", "/api/me/agent", `{"status":"available"}`); code != 200 {
		t.Fatalf("1002 available: %d %v", code, b)
	}
	agent := incoming(t, ap, "agent")
	if f := agent.From(); f.User != "1009" || f.DisplayName != "Callback" {
		t.Errorf("the agent's phone shows %q <%s>, want \"Callback\" <1009>", f.DisplayName, f.User)
	}
	cust := incoming(t, cp, "customer called back")
	select {
	case <-agent.Answered():
	case <-time.After(500 * time.Millisecond):
		// The agent's ACK may trail the customer's INVITE by moments; not by the 2 s answer delay.
		t.Error("the customer was dialled before the agent answered")
	}
	if f := cust.From(); f.User != "8000" {
		t.Errorf("the customer's phone shows %q <%s>, want the queue 8000", f.DisplayName, f.User)
	}
	hearsOnly(t, cust, "customer called back", agentHz)
	hearsOnly(t, agent, "agent", customerHz)
	waitEvent(t, evs, "queue_callback_requested")
	waitEvent(t, evs, "callback_dialing")
	waitEvent(t, evs, "queue_callback_connected")
	eventually(t, 5*time.Second, func() error {
		code, body := s.as(t, "admin", "GET", "/api/callbacks?status=connected", "")
		if list, _ := body["callbacks"].([]any); code != 200 || len(list) != 1 {
			return fmt.Errorf("connected callbacks: %d %v", code, body)
		}
		return nil
	})
	if err := cust.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-agent.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the agent was not hung up when the customer left")
	}
	_, st := s.as(t, "admin", "GET", "/api/queues/8000/stats", "")
	if st["callbacks_connected_last_hour"] != 1.0 || st["callbacks_waiting"] != 0.0 {
		t.Errorf("stats: connected %v waiting %v", st["callbacks_connected_last_hour"], st["callbacks_waiting"])
	}
}

// TestQueueCallbackNotReached: the customer rejects the callback: the
// agent is hung up and the callback is back at its place, one attempt
// counted, the agent free again.
func TestQueueCallbackNotReached(t *testing.T) {
	s := startServer(t, serverOpts{})
	evs := events(t, s)
	cp := requestCallback(t, s)
	ap := phone(t, s, "1002", agentHz, "udp")
	ap.AutoAnswer(50 * time.Millisecond)
	if code, b := s.as(t, "1002", "PUT", "/api/me/agent", `{"status":"available"}`); code != 200 {
		t.Fatalf("1002 available: %d %v", code, b)
	}
	agent := incoming(t, ap, "agent")
	cust := incoming(t, cp, "customer called back")
	if err := cust.Reject(486); err != nil {
		t.Fatal(err)
	}
	select {
	case <-agent.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the agent was not hung up when the customer was not reached")
	}
	waitEvent(t, evs, "queue_callback_returned")
	eventually(t, 5*time.Second, func() error {
		code, body := s.as(t, "1002", "GET", "/api/callbacks?queue=8000", "")
		list, _ := body["callbacks"].([]any)
		if code != 200 || len(list) != 1 {
			return fmt.Errorf("callbacks: %d %v", code, body)
		}
		if cb := list[0].(map[string]any); cb["status"] != "waiting" || cb["attempts"] != 1.0 {
			return fmt.Errorf("callback %v, want waiting after 1 attempt", cb)
		}
		_, d := s.as(t, "1002", "GET", "/api/queues/8000/stats", "")
		waiting, _ := d["waiting_calls"].([]any)
		if len(waiting) != 1 {
			return fmt.Errorf("waiting calls %v", d["waiting_calls"])
		}
		if w := waiting[0].(map[string]any); w["callback"] != true || w["attempts"] != 1.0 || w["position"] != 1.0 {
			return fmt.Errorf("waiting call %v", w)
		}
		_, me := s.as(t, "1002", "GET", "/api/me/agent", "")
		if me["state"] != "idle" || me["status"] != "available" {
			return fmt.Errorf("agent %v/%v, want available and idle", me["status"], me["state"])
		}
		return nil
	})
	if strings.Contains(s.Log(), "callback given up") {
		t.Error("the callback was given up after one attempt")
	}
	// A restart keeps the waiting callback, at its place, with its attempt.
	s.restart()
	eventually(t, 5*time.Second, func() error {
		_, d := s.as(t, "admin", "GET", "/api/queues/8000/stats", "")
		waiting, _ := d["waiting_calls"].([]any)
		if len(waiting) != 1 {
			return fmt.Errorf("after restart: waiting calls %v", d["waiting_calls"])
		}
		if w := waiting[0].(map[string]any); w["callback"] != true || w["attempts"] != 1.0 || w["caller_number"] != "1009" {
			return fmt.Errorf("after restart: waiting call %v", w)
		}
		return nil
	})
}
