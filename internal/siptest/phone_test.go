package siptest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

const (
	toneA = 1000.0 // caller's tone
	toneB = 440.0  // callee's tone
)

var tones = []float64{toneA, toneB}

// newPhone starts a phone closed at test end. SIPTEST_LOG=1 shows its
// (and sipgo's) debug log.
func newPhone(t *testing.T, cfg Config) *Phone {
	t.Helper()
	if os.Getenv("SIPTEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).
			With("phone", cfg.User)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.User, err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close(%s): %v", cfg.User, err)
		}
	})
	return p
}

// nextCall waits for p's next inbound call.
func nextCall(ctx context.Context, t *testing.T, p *Phone) *Call {
	t.Helper()
	select {
	case c := <-p.Incoming():
		return c
	case <-ctx.Done():
		t.Fatalf("no incoming call: %v", ctx.Err())
		return nil
	}
}

// pair is a caller phone A (1001, 1000 Hz) and a callee phone B (1002,
// 440 Hz) talking directly to each other, without registration.
type pair struct {
	a, b   *Phone
	ca, cb *Call
}

func connect(ctx context.Context, t *testing.T, transport, codec string) *pair {
	t.Helper()
	b := newPhone(t, Config{User: "1002", Transport: transport, Codec: codec, ToneHz: toneB})
	a := newPhone(t, Config{User: "1001", DisplayName: "Alice", Transport: transport, Codec: codec,
		ToneHz: toneA, Server: b.Addr()})
	answered := make(chan *Call, 1)
	go func() {
		select {
		case c := <-b.Incoming():
			if err := c.Answer(ctx); err != nil {
				t.Errorf("Answer: %v", err)
			}
			answered <- c
		case <-ctx.Done():
			close(answered)
		}
	}()
	ca, err := a.Dial(ctx, "1002")
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	cb := <-answered
	if cb == nil {
		t.Fatal("callee never saw the call")
	}
	return &pair{a: a, b: b, ca: ca, cb: cb}
}

// assertHears checks c hears want (and not the other test tone) in the
// last 500 ms.
func assertHears(ctx context.Context, t *testing.T, who string, c *Call, want float64) {
	t.Helper()
	if err := c.WaitTone(ctx, want, 500*time.Millisecond); err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	f, r := DominantTone(c.ReceivedAudio(500*time.Millisecond), 8000, tones)
	if f != want || r < 0.8 {
		t.Fatalf("%s: dominant tone %.0f Hz ratio %.2f, want %.0f Hz > 0.8", who, f, r, want)
	}
}

// packetsStopped reports whether c receives (almost) nothing for 300 ms.
func packetsStopped(c *Call) bool {
	time.Sleep(60 * time.Millisecond) // let in-flight packets land
	n := c.PacketsReceived()
	time.Sleep(300 * time.Millisecond)
	return c.PacketsReceived()-n <= 1
}

func waitDone(ctx context.Context, t *testing.T, who string, c *Call) {
	t.Helper()
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatalf("%s: call did not end", who)
	}
}

func TestDirectCallHearEachOther(t *testing.T) {
	tests := []struct{ transport, codec string }{
		{"udp", "PCMU"},
		{"udp", "PCMA"},
		{"tcp", "PCMU"},
	}
	for _, tc := range tests {
		t.Run(tc.transport+"/"+tc.codec, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			p := connect(ctx, t, tc.transport, tc.codec)

			assertHears(ctx, t, "caller", p.ca, toneB)
			assertHears(ctx, t, "callee", p.cb, toneA)

			if from := p.cb.From(); from.User != "1001" || from.DisplayName != "Alice" {
				t.Errorf("callee sees From %+v, want 1001 \"Alice\"", from)
			}
			if to := p.cb.To(); to.User != "1002" {
				t.Errorf("callee sees To %+v", to)
			}
			if ua := p.cb.Header("User-Agent"); ua != userAgent {
				t.Errorf("User-Agent = %q", ua)
			}
			if p.ca.ID() != p.cb.ID() || !p.ca.Outbound() || p.cb.Outbound() {
				t.Error("Call-ID / direction mismatch")
			}
			if r := p.ca.Remote(); r == nil || r.Encoding(r.Formats[0]) != tc.codec {
				t.Errorf("negotiated %v, want %s", r, tc.codec)
			}
			if !strings.Contains(p.ca.LocalSDP(), "telephone-event/8000") {
				t.Errorf("offer lacks telephone-event:\n%s", p.ca.LocalSDP())
			}
			if p.ca.RTPSource() != p.cb.LocalRTPAddr() {
				t.Errorf("caller gets RTP from %s, callee's socket is %s", p.ca.RTPSource(), p.cb.LocalRTPAddr())
			}

			if err := p.ca.Hangup(ctx); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			waitDone(ctx, t, "callee", p.cb)
			waitDone(ctx, t, "caller", p.ca)
			if !errors.Is(p.ca.Err(), ErrHangupLocal) || !errors.Is(p.cb.Err(), ErrHangupRemote) {
				t.Errorf("end causes: caller %v, callee %v", p.ca.Err(), p.cb.Err())
			}
			if len(p.a.Calls()) != 0 || len(p.b.Calls()) != 0 {
				t.Error("ended calls still listed")
			}
		})
	}
}

func TestCalleeHangsUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := connect(ctx, t, "udp", "")
	if err := p.cb.Hangup(ctx); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	waitDone(ctx, t, "caller", p.ca)
	if !errors.Is(p.ca.Err(), ErrHangupRemote) {
		t.Errorf("caller end cause %v", p.ca.Err())
	}
	if err := p.ca.Hangup(ctx); err != nil {
		t.Errorf("Hangup of ended call: %v", err)
	}
}

func TestHoldResume(t *testing.T) {
	for _, holder := range []string{"caller", "callee"} {
		t.Run(holder+" holds", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p := connect(ctx, t, "udp", "")
			h, o := p.ca, p.cb // holder, other
			hTone, oTone := toneA, toneB
			if holder == "callee" {
				h, o, hTone, oTone = p.cb, p.ca, toneB, toneA
			}
			assertHears(ctx, t, "holder", h, oTone)

			if err := h.Hold(ctx); err != nil {
				t.Fatalf("Hold: %v", err)
			}
			// RFC 3264 §8.4: sendonly offer, recvonly answer.
			if h.LocalDirection() != DirSendOnly || h.RemoteDirection() != DirRecvOnly ||
				o.LocalDirection() != DirRecvOnly || o.RemoteDirection() != DirSendOnly {
				t.Fatalf("directions: holder %s/%s other %s/%s", h.LocalDirection(), h.RemoteDirection(),
					o.LocalDirection(), o.RemoteDirection())
			}
			if !packetsStopped(h) {
				t.Error("held party still sends RTP to the holder")
			}
			assertHears(ctx, t, "held party", o, hTone) // sendonly keeps sending

			if err := h.Resume(ctx); err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if h.LocalDirection() != DirSendRecv || o.LocalDirection() != DirSendRecv {
				t.Fatalf("after resume: %s/%s", h.LocalDirection(), o.LocalDirection())
			}
			// Wait for fresh audio to fill the analysis window.
			time.Sleep(600 * time.Millisecond)
			assertHears(ctx, t, "holder after resume", h, oTone)

			if !strings.Contains(h.LocalSDP(), "o=- ") || h.Remote().Version < 1 {
				t.Errorf("SDP versions did not advance: remote o= version %d", h.Remote().Version)
			}
		})
	}
}

func TestDTMF(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p := connect(ctx, t, "udp", "")
	if err := p.ca.SendDigits("123#*0"); err != nil {
		t.Fatalf("SendDigits: %v", err)
	}
	if err := p.cb.WaitDTMF(ctx, "123#*0"); err != nil {
		t.Fatal(err)
	}
	if err := p.cb.SendDTMF('9'); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	if err := p.ca.WaitDTMF(ctx, "9"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // stray end packets must not add digits
	if got := p.cb.ReceivedDTMF(); got != "123#*0" {
		t.Errorf("callee got %q, want exactly 123#*0", got)
	}
	if err := p.ca.SendDTMF('x'); err == nil {
		t.Error("invalid digit accepted")
	}
	// Audio is back after the events.
	assertHears(ctx, t, "callee after DTMF", p.cb, toneA)
}

func TestDTMFNotNegotiated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := newPhone(t, Config{User: "1002", NoDTMF: true})
	b.AutoAnswer(0)
	a := newPhone(t, Config{User: "1001", Server: b.Addr()})
	c, err := a.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendDTMF('1'); err == nil || !strings.Contains(err.Error(), "telephone-event") {
		t.Fatalf("SendDTMF without telephone-event: %v", err)
	}
}

func TestReject(t *testing.T) {
	for _, code := range []int{486, 603} {
		t.Run(reasonPhrase(code), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b := newPhone(t, Config{User: "1002"})
			a := newPhone(t, Config{User: "1001", Server: b.Addr()})
			rejected := make(chan *Call, 1)
			go func() {
				c := <-b.Incoming()
				if err := c.Reject(code); err != nil {
					t.Errorf("Reject: %v", err)
				}
				rejected <- c
			}()
			_, err := a.Dial(ctx, "1002")
			var se *StatusError
			if !errors.As(err, &se) || se.Code != code {
				t.Fatalf("Dial: %v, want StatusError %d", err, code)
			}
			cb := <-rejected
			waitDone(ctx, t, "callee", cb)
			if !errors.Is(cb.Err(), ErrHangupLocal) {
				t.Errorf("callee end cause %v", cb.Err())
			}
		})
	}
}

func TestCancelWhileRinging(t *testing.T) {
	t.Run("Hangup", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b := newPhone(t, Config{User: "1002"})
		a := newPhone(t, Config{User: "1001", Server: b.Addr()})
		ca, err := a.Invite(ctx, "1002")
		if err != nil {
			t.Fatal(err)
		}
		cb := nextCall(ctx, t, b) // ringing: 180 sent
		if err := ca.Hangup(ctx); err != nil {
			t.Fatalf("Hangup (CANCEL): %v", err)
		}
		waitDone(ctx, t, "callee", cb)
		if !errors.Is(cb.Err(), ErrCanceled) {
			t.Errorf("callee end cause %v, want ErrCanceled", cb.Err())
		}
		if err := ca.WaitAnswer(ctx); !errors.Is(err, ErrHangupLocal) {
			t.Errorf("cancelled call: WaitAnswer = %v, want ErrHangupLocal", err)
		}
		if !errors.Is(ca.Err(), ErrHangupLocal) {
			t.Errorf("caller end cause %v, want ErrHangupLocal", ca.Err())
		}
		if err := cb.Answer(ctx); err == nil {
			t.Error("answering a cancelled call succeeded")
		}
	})
	t.Run("Dial context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b := newPhone(t, Config{User: "1002"})
		a := newPhone(t, Config{User: "1001", Server: b.Addr()})
		dialCtx, dialCancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer dialCancel()
		_, err := a.Dial(dialCtx, "1002")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dial: %v, want deadline exceeded", err)
		}
		cb := nextCall(ctx, t, b)
		waitDone(ctx, t, "callee", cb)
		if !errors.Is(cb.Err(), ErrCanceled) {
			t.Errorf("callee end cause %v, want ErrCanceled", cb.Err())
		}
	})
}

func TestCodecMismatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := newPhone(t, Config{User: "1002", Codec: "PCMA"})
	a := newPhone(t, Config{User: "1001", Codec: "PCMU", Server: b.Addr()})
	if _, err := a.Dial(ctx, "1002"); StatusCode(err) != 488 {
		t.Fatalf("Dial: %v, want 488", err)
	}
}

func TestAutoAnswerAndOptions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := newPhone(t, Config{User: "1002", ToneHz: toneB})
	b.AutoAnswer(100 * time.Millisecond)
	a := newPhone(t, Config{User: "1001", Server: b.Addr()})

	if code, err := a.Options(ctx, b.URI()); err != nil || code != 200 {
		t.Fatalf("OPTIONS: %d %v", code, err)
	}
	start := time.Now()
	ca, err := a.Dial(ctx, b.URI()) // full-URI target
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("answered after %v, before the auto-answer delay", d)
	}
	cb := nextCall(ctx, t, b) // still delivered
	if err := cb.WaitAnswer(ctx); err != nil {
		t.Fatalf("callee WaitAnswer: %v", err)
	}
	assertHears(ctx, t, "caller", ca, toneB)
	// A silent phone (ToneHz 0) is heard as silence.
	if Hears(cb.ReceivedAudio(500*time.Millisecond), 8000, toneA) {
		t.Error("callee hears a tone from a silent caller")
	}
}

// settledGoroutines waits until the goroutine count stops changing.
func settledGoroutines() int {
	n, same := runtime.NumGoroutine(), 0
	for same < 5 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	base := settledGoroutines()
	var calls []*Call
	func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		open := func(cfg Config) *Phone {
			p, err := New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		for _, transport := range []string{"udp", "tcp"} {
			b := open(Config{User: "1002", Transport: transport, ToneHz: toneB})
			a := open(Config{User: "1001", Transport: transport, ToneHz: toneA, Server: b.Addr()})
			b.AutoAnswer(0)
			ca, err := a.Dial(ctx, "1002")
			if err != nil {
				t.Fatal(err)
			}
			if err := ca.Hold(ctx); err != nil {
				t.Fatal(err)
			}
			if err := ca.SendDTMF('5'); err != nil {
				t.Fatal(err)
			}
			if _, err := ca.Refer(ctx, "1003"); StatusCode(err) != 405 { // phones refuse REFER
				t.Fatalf("Refer: %v", err)
			}
			b.AutoAnswer(-1)
			ringing, err := a.Invite(ctx, "1002") // left ringing: Close must CANCEL it
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, ca, ringing, nextCall(ctx, t, b), nextCall(ctx, t, b))
			if err := a.Close(); err != nil {
				t.Error(err)
			}
			if err := b.Close(); err != nil {
				t.Error(err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		}
	}()
	for i, c := range calls {
		select {
		case <-c.Done():
		default:
			t.Errorf("call %d still alive after Close", i)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			var sb strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&sb, 1)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), base, sb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
