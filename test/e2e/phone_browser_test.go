package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// The console's browser phone (web/src/phone): the server side of its
// login (an authenticated /sip socket is the credential for its user's own
// extensions) in Go, and the phone itself in Chromium (web/e2e/phone*.test.mjs).

// registerOnce sends one REGISTER for ext over the browser's socket with
// the given Authorization header line (or none) and returns the status.
func (b *wsBrowser) registerOnce(ctx context.Context, ext, auth string) (int, error) {
	host := "127.0.0.1"
	contact := fmt.Sprintf("<sip:%s@%s.invalid;transport=ws>;expires=600", randHex(4), randHex(4))
	msg := fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/WS %s.invalid;branch=z9hG4bK%s\r\nMax-Forwards: 70\r\n"+
		"To: <sip:%s@%s>\r\nFrom: <sip:%s@%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 REGISTER\r\nContact: %s\r\nExpires: 600\r\n%s"+
		"User-Agent: wsBrowser\r\nContent-Length: 0\r\n\r\n",
		host, randHex(4), randHex(8), ext, host, ext, host, randHex(4), randHex(8), contact, auth)
	b.send(msg)
	res, err := b.response(ctx, "REGISTER")
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// TestBrowserSocketLoginIsCredential: on a /sip socket the console login
// is the credential for the user's own extensions — REGISTER without or
// with a wrong digest is accepted at once, not challenged — while another
// user's extension stays refused and a plain UDP REGISTER is still
// challenged.
func TestBrowserSocketLoginIsCredential(t *testing.T) {
	s := webrtcServer(t)
	b := dialBrowser(t, s, "1001", 1000)
	wrong := `Authorization: Digest username="1001", realm="switchboard", nonce="00", uri="sip:127.0.0.1", response="00000000000000000000000000000000"` + "\r\n"
	for _, tc := range []struct {
		name, ext, auth string
		want            int
	}{
		{"own extension, no credentials", "1001", "", 200},
		{"own extension, wrong digest", "1001", wrong, 200},
		{"another user's extension", "1002", "", 403},
	} {
		code, err := b.registerOnce(ctxFor(t, 5*time.Second), tc.ext, tc.auth)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if code != tc.want {
			t.Errorf("%s: REGISTER answered %d, want %d", tc.name, code, tc.want)
		}
	}
	// The browser (no SIP password anywhere) is reachable: a desk phone rings it.
	caller := phone(t, s, "1003", 440, "udp")
	if _, err := caller.Invite(ctxFor(t, 10*time.Second), "1001"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.waitInvite(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Digest stays for everything else: a UDP phone with a wrong password fails.
	p, err := siptest.New(ctxFor(t, 5*time.Second), siptest.Config{User: "1004", Password: "wrong", Server: s.SIPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Register(ctxFor(t, 5*time.Second), time.Minute); err == nil {
		t.Fatal("a UDP REGISTER with a wrong password was accepted")
	}
}

// TestBrowserRegistrationGoneAfterCrash: a browser's registration is
// persisted like any other, but its socket does not survive the process:
// after a crash and a start it is dropped, not kept until it expires.
func TestBrowserRegistrationGoneAfterCrash(t *testing.T) {
	s := webrtcServer(t)
	b := dialBrowser(t, s, "1001", 1000)
	if err := b.register(ctxFor(t, 5*time.Second), "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	devices := func() float64 {
		return scrapeMetrics(t, s).series["switchboard_registered_devices"]
	}
	if n := devices(); n != 1 {
		t.Fatalf("registered devices %v, want 1", n)
	}
	time.Sleep(1500 * time.Millisecond) // bindings are written behind once a second
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	s.cmd = nil
	s.start()
	if n := devices(); n != 0 {
		t.Fatalf("after a crash the browser's registration is still there: %v devices", n)
	}
}

// phoneServer starts Switchboard with loopback ICE candidates (Chromium
// runs on this host) and the phone control service.
func phoneServer(t *testing.T) (*server, *phoneControl) {
	requireChromium(t)
	srv := startServer(t, serverOpts{env: []string{"SWITCHBOARD_WEBRTC_INCLUDE_LOOPBACK=true"}})
	return srv, startPhoneControl(t, srv)
}

// TestConsolePhone: the browser is the phone — a Support call rings the
// browser, which answers with two-way audio, holds, resumes, mutes and
// transfers blind to a desk phone; a call dialled from the browser and
// hung up there; a supervisor's browser whispers (the agent hears, the
// customer does not); a refused microphone is explained.
func TestConsolePhone(t *testing.T) {
	srv, pc := phoneServer(t)
	runConsoleTest(t, "phone.test.mjs", srv, pc)
}

// TestConsolePhoneReconnect: a browser whose SIP socket drops mid-call
// ends the call cleanly (CDR connection_lost) and re-registers by itself.
func TestConsolePhoneReconnect(t *testing.T) {
	srv, pc := phoneServer(t)
	runConsoleTest(t, "phone-reconnect.test.mjs", srv, pc)
}

// TestConsolePhoneCPU measures the server's CPU per browser call for
// docs/PERFORMANCE.md (opt-in: SWITCHBOARD_PHONE_PERF=1, PERF_CALLS=N up to
// 10). The e2e binary is built with -race, which inflates CPU several
// times, so this builds a plain binary for the measurement. Figures go to
// the log; nothing is asserted about them.
func TestConsolePhoneCPU(t *testing.T) {
	if os.Getenv("SWITCHBOARD_PHONE_PERF") == "" {
		t.Skip("opt-in: SWITCHBOARD_PHONE_PERF=1")
	}
	requireChromium(t)
	plain := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command("go", "build", "-o", plain, "../../cmd/switchboard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	raced := binary
	binary = plain
	t.Cleanup(func() { binary = raced })
	srv := startServer(t, serverOpts{env: []string{"SWITCHBOARD_WEBRTC_INCLUDE_LOOPBACK=true"}})
	pc := startPhoneControl(t, srv)
	runConsoleTest(t, "phone-perf.test.mjs", srv, pc,
		"SB_PID="+strconv.Itoa(srv.cmd.Process.Pid), "PERF_CALLS="+os.Getenv("PERF_CALLS"))
}
