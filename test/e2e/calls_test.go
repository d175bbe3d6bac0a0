package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// phone registers a test softphone as ext on s.
func phone(t *testing.T, s *server, ext string, toneHz float64, transport string) *siptest.Phone {
	t.Helper()
	p, err := siptest.New(ctxFor(t, 5*time.Second), siptest.Config{
		User: ext, Password: "demo-" + ext, Server: s.SIPAddr(), Transport: transport, ToneHz: toneHz,
	})
	if err != nil {
		t.Fatalf("phone %s: %v", ext, err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Register(ctxFor(t, 5*time.Second), 300*time.Second); err != nil {
		t.Fatalf("register %s: %v", ext, err)
	}
	return p
}

// hears waits until call c hears hz clearly.
func hears(t *testing.T, c *siptest.Call, hz float64, who string) {
	t.Helper()
	if err := c.WaitTone(ctxFor(t, 5*time.Second), hz, 400*time.Millisecond); err != nil {
		samples := c.ReceivedAudio(400 * time.Millisecond)
		f, ratio := siptest.DominantTone(samples, 8000, []float64{440, 1000, 523, 659, 784})
		t.Fatalf("%s does not hear %.0f Hz: %v (dominant %.0f Hz at %.2f, %d packets)", who, hz, err, f, ratio, c.PacketsReceived())
	}
}

func TestExtensionToExtensionWithAudio(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t, serverOpts{})
			alice := phone(t, s, "1001", 1000, transport)
			bob := phone(t, s, "1002", 440, transport)
			bob.AutoAnswer(200 * time.Millisecond)

			call, err := alice.Dial(ctxFor(t, 10*time.Second), "1002")
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			var in *siptest.Call
			select {
			case in = <-bob.Incoming():
			case <-time.After(5 * time.Second):
				t.Fatal("bob got no call")
			}
			if got := in.From().User; got != "1001" {
				t.Errorf("caller ID at bob = %q, want 1001", got)
			}
			hears(t, call, 440, "alice")
			hears(t, in, 1000, "bob")

			if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
				t.Fatalf("hangup: %v", err)
			}
			select {
			case <-in.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("bob's leg did not end after alice hung up")
			}
			eventually(t, 5*time.Second, func() error {
				for _, c := range s.cdrs(t) {
					if c.From == "1001" && c.To == "1002" && c.Disposition == "answered" && c.HangupBy == "caller" && c.AnsweredBy == "1002" {
						return nil
					}
				}
				return fmt.Errorf("no answered CDR 1001→1002 yet: %+v", s.cdrs(t))
			})
		})
	}
}

func TestCallFailuresMapToResponsesAndCDRs(t *testing.T) {
	s := startServer(t, serverOpts{extra: []string{}})
	alice := phone(t, s, "1001", 1000, "udp")
	busy := phone(t, s, "1003", 440, "udp")
	go func() {
		for c := range busy.Incoming() {
			_ = c.Reject(486)
		}
	}()
	tests := []struct {
		name, dial string
		code       int
		disp       string
	}{
		{"busy", "1003", 486, "busy"},
		{"nobody registered", "1004", 480, "unavailable"},
		{"unknown number", "1999", 404, ""},
		{"invalid dial string", "12", 484, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alice.Dial(ctxFor(t, 10*time.Second), tt.dial)
			var se *siptest.StatusError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("dial %s: %v, want status %d", tt.dial, err, tt.code)
			}
			if tt.disp == "" {
				return
			}
			eventually(t, 5*time.Second, func() error {
				for _, c := range s.cdrs(t) {
					if c.To == tt.dial && c.Disposition == tt.disp && c.SIPCode == tt.code {
						return nil
					}
				}
				return fmt.Errorf("no %s CDR for %s", tt.disp, tt.dial)
			})
		})
	}
}
