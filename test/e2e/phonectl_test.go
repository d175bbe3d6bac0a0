package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// phoneControl lets a browser test (Node, web/e2e) drive the in-repo SIP
// softphones over a small HTTP API, so the console is tested against real
// SIP calls with real audio:
//
//	POST /phones {"user","password","register","tone","display_name"} → {"id"}
//	POST /phones/{id}/dial {"target","from"}                         → {"call"}
//	GET  /phones/{id}/incoming?timeout_ms=                           → {"call","from"} (next call ringing)
//	POST /calls/{id}/answer | /hangup | /hold | /resume
//	POST /calls/{id}/tone {"hz"}
//	GET  /calls/{id}/wait?for=answered|ended&timeout_ms=             → {}
//	GET  /calls/{id}/hears?hz=&timeout_ms=&window_ms=                → {"hears", "dominant", "ratio"}
//	POST /server/restart                                             → {} (Switchboard stops and starts again)
//
// Errors answer 4xx/5xx with {"error": "..."}. Every wait is bounded.
type phoneControl struct {
	t      *testing.T
	srv    *server
	mu     sync.Mutex
	phones map[string]*siptest.Phone
	calls  map[string]*siptest.Call
	seq    int
	http   *httptest.Server
}

func startPhoneControl(t *testing.T, srv *server) *phoneControl {
	pc := &phoneControl{t: t, srv: srv, phones: map[string]*siptest.Phone{}, calls: map[string]*siptest.Call{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /phones", pc.newPhone)
	mux.HandleFunc("POST /phones/{id}/dial", pc.dial)
	mux.HandleFunc("GET /phones/{id}/incoming", pc.incoming)
	mux.HandleFunc("POST /calls/{id}/{action}", pc.callAction)
	mux.HandleFunc("GET /calls/{id}/wait", pc.wait)
	mux.HandleFunc("GET /calls/{id}/hears", pc.hears)
	mux.HandleFunc("POST /server/restart", func(w http.ResponseWriter, r *http.Request) {
		pc.srv.restart() // same ports and data: consoles reconnect to it
		answerJSON(w, 200, map[string]string{})
	})
	pc.http = httptest.NewServer(mux)
	t.Cleanup(pc.close)
	return pc
}

func (pc *phoneControl) URL() string { return pc.http.URL }

func (pc *phoneControl) close() {
	pc.http.Close()
	pc.mu.Lock()
	phones := pc.phones
	pc.phones = nil
	pc.mu.Unlock()
	for _, p := range phones {
		_ = p.Close()
	}
}

func answerJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, err error) {
	answerJSON(w, status, map[string]string{"error": err.Error()})
}

func timeoutOf(r *http.Request, def time.Duration) time.Duration {
	if ms, err := strconv.Atoi(r.URL.Query().Get("timeout_ms")); err == nil && ms > 0 && ms <= 60000 {
		return time.Duration(ms) * time.Millisecond
	}
	return def
}

func (pc *phoneControl) newPhone(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User        string  `json:"user"`
		Password    string  `json:"password"`
		DisplayName string  `json:"display_name"`
		Register    bool    `json:"register"`
		Tone        float64 `json:"tone"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.User == "" {
		fail(w, 400, fmt.Errorf("want {user, password, register, tone}: %v", err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	p, err := siptest.New(ctx, siptest.Config{User: req.User, Password: req.Password, DisplayName: req.DisplayName,
		Server: pc.srv.SIPAddr(), ToneHz: req.Tone})
	if err != nil {
		fail(w, 500, err)
		return
	}
	if req.Register {
		if err := p.Register(ctx, 5*time.Minute); err != nil {
			_ = p.Close()
			fail(w, 502, fmt.Errorf("register %s: %w", req.User, err))
			return
		}
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.phones == nil {
		_ = p.Close()
		fail(w, 503, errors.New("closing"))
		return
	}
	pc.seq++
	id := fmt.Sprintf("p%d", pc.seq)
	pc.phones[id] = p
	answerJSON(w, 200, map[string]string{"id": id})
}

func (pc *phoneControl) phone(id string) *siptest.Phone {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.phones[id]
}

func (pc *phoneControl) call(id string) *siptest.Call {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.calls[id]
}

func (pc *phoneControl) addCall(c *siptest.Call) string {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.seq++
	id := fmt.Sprintf("c%d", pc.seq)
	pc.calls[id] = c
	return id
}

func (pc *phoneControl) dial(w http.ResponseWriter, r *http.Request) {
	p := pc.phone(r.PathValue("id"))
	if p == nil {
		fail(w, 404, errors.New("no such phone"))
		return
	}
	var req struct {
		Target string `json:"target"`
		From   string `json:"from"`
		Name   string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Target == "" {
		fail(w, 400, fmt.Errorf("want {target}: %v", err))
		return
	}
	// The call outlives this request: it is bounded by the phone's Close.
	var c *siptest.Call
	var err error
	if req.From != "" {
		c, err = p.InviteFrom(context.Background(), req.From, req.Name, req.Target)
	} else {
		c, err = p.Invite(context.Background(), req.Target)
	}
	if err != nil {
		fail(w, 502, err)
		return
	}
	answerJSON(w, 200, map[string]string{"call": pc.addCall(c)})
}

func (pc *phoneControl) incoming(w http.ResponseWriter, r *http.Request) {
	p := pc.phone(r.PathValue("id"))
	if p == nil {
		fail(w, 404, errors.New("no such phone"))
		return
	}
	select {
	case c := <-p.Incoming():
		answerJSON(w, 200, map[string]string{"call": pc.addCall(c), "from": c.From().User})
	case <-time.After(timeoutOf(r, 10*time.Second)):
		fail(w, 408, errors.New("no incoming call"))
	case <-r.Context().Done():
	}
}

func (pc *phoneControl) callAction(w http.ResponseWriter, r *http.Request) {
	c := pc.call(r.PathValue("id"))
	if c == nil {
		fail(w, 404, errors.New("no such call"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var err error
	switch r.PathValue("action") {
	case "answer":
		err = c.Answer(ctx)
	case "hangup":
		err = c.Hangup(ctx)
	case "hold":
		err = c.Hold(ctx)
	case "resume":
		err = c.Resume(ctx)
	case "tone":
		var req struct {
			Hz float64 `json:"hz"`
		}
		if err = json.NewDecoder(r.Body).Decode(&req); err == nil {
			c.SetTone(req.Hz)
		}
	default:
		fail(w, 404, errors.New("unknown action"))
		return
	}
	if err != nil {
		fail(w, 409, err)
		return
	}
	answerJSON(w, 200, map[string]string{})
}

func (pc *phoneControl) wait(w http.ResponseWriter, r *http.Request) {
	c := pc.call(r.PathValue("id"))
	if c == nil {
		fail(w, 404, errors.New("no such call"))
		return
	}
	var ch <-chan struct{}
	switch r.URL.Query().Get("for") {
	case "answered":
		ch = c.Answered()
	case "ended":
		ch = c.Done()
	default:
		fail(w, 400, errors.New("for=answered|ended"))
		return
	}
	select {
	case <-ch:
		answerJSON(w, 200, map[string]string{})
	case <-time.After(timeoutOf(r, 10*time.Second)):
		fail(w, 408, fmt.Errorf("call not %s", r.URL.Query().Get("for")))
	case <-r.Context().Done():
	}
}

// hears waits (up to timeout_ms) until the call's last window of audio holds
// hz; with wait=0 it answers at once whether it does now.
func (pc *phoneControl) hears(w http.ResponseWriter, r *http.Request) {
	c := pc.call(r.PathValue("id"))
	if c == nil {
		fail(w, 404, errors.New("no such call"))
		return
	}
	hz, err := strconv.ParseFloat(r.URL.Query().Get("hz"), 64)
	if err != nil || hz <= 0 {
		fail(w, 400, errors.New("hz"))
		return
	}
	window := 600 * time.Millisecond
	if ms, err := strconv.Atoi(r.URL.Query().Get("window_ms")); err == nil && ms >= 100 && ms <= 5000 {
		window = time.Duration(ms) * time.Millisecond
	}
	deadline := time.Now().Add(timeoutOf(r, 5*time.Second))
	if r.URL.Query().Get("wait") == "0" {
		deadline = time.Now()
	}
	for {
		s := c.ReceivedAudio(window)
		full := len(s) >= int(window.Seconds()*8000)
		if full && siptest.Hears(s, 8000, hz) {
			answerJSON(w, 200, map[string]any{"hears": true})
			return
		}
		if time.Now().After(deadline) {
			f, ratio := siptest.DominantTone(s, 8000, []float64{hz})
			answerJSON(w, 200, map[string]any{"hears": false, "dominant": f, "ratio": ratio, "samples": len(s)})
			return
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
}
