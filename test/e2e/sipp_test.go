package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// consecutiveFreePorts returns a port p such that p … p+n-1 are all free on UDP and
// TCP on 127.0.0.1, for peers that bind neighbours of the port they are
// given (sipp's RTP echo on -mp and -mp+2, baresip's SIP/TLS on +1).
func consecutiveFreePorts(t *testing.T, n int) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		p := freePort(t)
		if p+n-1 > 65535 {
			continue
		}
		ok := true
		for q := p + 1; q < p+n && ok; q++ {
			ok = portFree(q)
		}
		if ok {
			return p
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

func portFree(port int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// sippRun is one sipp process logging into its own directory.
type sippRun struct {
	dir  string
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	code int
}

// lockedBuffer lets a failure report read sipp's screen while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSipp starts sipp bounded by d (on top of whatever -timeout the
// caller passes). Every run gets explicit control and media ports (the
// defaults, 8888 and 6000, are shared with anything else on the machine)
// and keeps its unexpected and traced messages for the failure report.
func startSipp(t *testing.T, d time.Duration, remote string, args ...string) *sippRun {
	t.Helper()
	requireTool(t, "sipp")
	r := &sippRun{dir: t.TempDir(), done: make(chan struct{}), code: -1}
	full := []string{}
	if remote != "" {
		full = append(full, remote)
	}
	full = append(full, args...)
	full = append(full, "-nostdin",
		"-cp", strconv.Itoa(freePort(t)),
		"-mp", strconv.Itoa(consecutiveFreePorts(t, 4)),
		"-trace_err", "-error_file", filepath.Join(r.dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(r.dir, "messages.log"))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	r.cmd = exec.CommandContext(ctx, "sipp", full...)
	r.cmd.Dir = r.dir
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	r.cmd.WaitDelay = 2 * time.Second
	if err := r.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp: %v", err)
	}
	go func() {
		defer close(r.done)
		defer cancel()
		err := r.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			r.code = 0
		case errors.As(err, &ee):
			r.code = ee.ExitCode()
		}
	}()
	t.Cleanup(func() {
		cancel() // kills sipp if it is still running
		<-r.done
	})
	return r
}

// wait returns sipp's exit code: 0 means every call followed the scenario.
func (r *sippRun) wait() int {
	<-r.done
	return r.code
}

// report is what a failure message needs: sipp's screen, its unexpected
// messages and the end of its message trace.
func (r *sippRun) report() string {
	errs, _ := os.ReadFile(filepath.Join(r.dir, "errors.log"))
	status := "still running"
	select {
	case <-r.done:
		status = "exit " + strconv.Itoa(r.code)
	default:
	}
	return fmt.Sprintf("sipp %v: %s\n--- output:\n%s\n--- errors.log:\n%s\n--- messages.log (tail):\n%s",
		r.cmd.Args[1:], status, tail(r.out.String(), 40), errs, tail(r.messages(), 80))
}

func (r *sippRun) messages() string {
	msgs, _ := os.ReadFile(filepath.Join(r.dir, "messages.log"))
	return string(msgs)
}

func runSipp(t *testing.T, d time.Duration, remote string, args ...string) *sippRun {
	t.Helper()
	r := startSipp(t, d, remote, args...)
	r.wait()
	return r
}

func sippScenario(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitSippBound waits until r (or anything) has bound the UDP port.
func waitSippBound(t *testing.T, port int, r *sippRun) {
	t.Helper()
	eventually(t, 5*time.Second, func() error {
		select {
		case <-r.done:
			t.Fatalf("sipp exited early:\n%s", r.report())
		default:
		}
		if portFree(port) {
			return fmt.Errorf("port %d not bound yet", port)
		}
		return nil
	})
}

func TestSippCallsDID(t *testing.T) {
	requireTool(t, "sipp")
	for _, tt := range []struct{ transport, sippMode string }{{"udp", "u1"}, {"tcp", "t1"}} {
		t.Run(tt.transport, func(t *testing.T) {
			s := startServer(t, serverOpts{})
			bob := phone(t, s, "1002", 440, tt.transport)
			bob.AutoAnswer(100 * time.Millisecond)

			const calls = 5
			r := runSipp(t, 40*time.Second, s.SIPAddr(), "-sn", "uac", "-s", "+31201231002",
				"-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)), "-t", tt.sippMode,
				"-m", strconv.Itoa(calls), "-r", "5", "-d", "1000", "-timeout", "30s")
			if r.code != 0 {
				t.Fatalf("not every sipp call succeeded:\n%s", r.report())
			}
			eventually(t, 5*time.Second, func() error {
				n := 0
				for _, c := range s.cdrs(t) {
					if c.Direction == "inbound" && c.AnsweredBy == "1002" && c.Disposition == "answered" && c.HangupBy == "caller" {
						n++
					}
				}
				if n != calls {
					return fmt.Errorf("%d answered inbound CDRs, want %d: %+v", n, calls, s.cdrs(t))
				}
				return nil
			})
		})
	}
}

func TestSippFromUnknownSourceRefused(t *testing.T) {
	requireTool(t, "sipp")
	s := startServer(t, serverOpts{})
	bob := phone(t, s, "1002", 440, "udp")
	bob.AutoAnswer(0)
	for _, tt := range []struct{ name, sippMode string }{{"udp", "u1"}, {"tcp", "t1"}} {
		t.Run(tt.name, func(t *testing.T) {
			// All of 127/8 is loopback, so 127.0.0.2 is a real source
			// that is not the demo trunk's 127.0.0.1.
			r := runSipp(t, 20*time.Second, s.SIPAddr(), "-sf", sippScenario(t, "uac_did_refused.xml"),
				"-s", "+31201231002", "-i", "127.0.0.2", "-bind_local", "-p", strconv.Itoa(freePort(t)),
				"-t", tt.sippMode, "-m", "1", "-timeout", "15s")
			if r.code != 0 {
				t.Fatalf("INVITE from 127.0.0.2 to a DID did not get 403:\n%s", r.report())
			}
		})
	}
	n := 0
	for _, line := range strings.Split(s.Log(), "\n") {
		if strings.Contains(line, "invite to a DID from an unknown source refused") && strings.Contains(line, "source=127.0.0.2:") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("server logged %d refusals from 127.0.0.2, want 2", n)
	}
	if calls := bob.Calls(); len(calls) != 0 {
		t.Errorf("bob was rung %d times by refused calls", len(calls))
	}
}

func TestSippNoCommonCodec(t *testing.T) {
	requireTool(t, "sipp")
	s := startServer(t, serverOpts{})
	// Registered and willing: only the codec can make the call fail.
	bob := phone(t, s, "1002", 440, "udp")
	bob.AutoAnswer(0)
	r := runSipp(t, 20*time.Second, s.SIPAddr(), "-sf", sippScenario(t, "uac_no_common_codec.xml"),
		"-s", "+31201231002", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)), "-m", "1", "-timeout", "15s")
	if r.code != 0 {
		t.Fatalf("G.729-only offer did not get 488:\n%s", r.report())
	}
	select {
	case c := <-bob.Incoming():
		t.Errorf("bob was rung (%s) for a call that cannot have media", c.ID())
	default:
	}
}

// startCarrier starts sipp as the demo-carrier's far end running scenario
// (one call, RTP echoed back) and returns it with its address. Its port is
// bound before the server seeds a demo organisation pointing at it.
func startCarrier(t *testing.T, scenario string) (*sippRun, string) {
	t.Helper()
	port := freePort(t)
	uas := startSipp(t, 60*time.Second, "", "-sf", sippScenario(t, scenario),
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-rtp_echo", "-m", "1", "-timeout", "50s")
	waitSippBound(t, port, uas)
	return uas, fmt.Sprintf("127.0.0.1:%d", port)
}

// completesThroughCarrier checks an answered outbound call end to end: the
// caller (sending 1000 Hz) hears its tone echoed across the trunk, hangs
// up, and the carrier gets the BYE with its scenario's checks passed.
func completesThroughCarrier(t *testing.T, call *siptest.Call, uas *sippRun) {
	t.Helper()
	hears(t, call, 1000, "the caller (her tone echoed by the carrier)")
	if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	select {
	case <-uas.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("carrier got no BYE:\n%s", uas.report())
	}
	if uas.code != 0 {
		t.Fatalf("carrier scenario failed (Request-URI, caller ID or credentials wrong?):\n%s", uas.report())
	}
}

func TestSippOutboundThroughTrunk(t *testing.T) {
	requireTool(t, "sipp")
	// The carrier binds its port first so nothing else can take it while
	// the server seeds a fresh demo organisation pointing at it. -rtp_echo
	// sends the caller's own audio back, so the test can hear that media
	// crosses the trunk in both directions.
	uas, carrier := startCarrier(t, "uas_carrier.xml")
	s := startServer(t, serverOpts{carrier: carrier})

	anna := phone(t, s, "1001", 1000, "udp")
	call, err := anna.Dial(ctxFor(t, 10*time.Second), "0612345678")
	if err != nil {
		t.Fatalf("dial 0612345678: %v\n%s", err, uas.report())
	}
	completesThroughCarrier(t, call, uas)

	// The scenario already checked both; this says what was actually sent.
	msgs := uas.messages()
	if m := regexp.MustCompile(`(?m)^INVITE sip:([^@;> ]+)@`).FindStringSubmatch(msgs); m == nil || m[1] != "+31612345678" {
		t.Errorf("carrier's INVITE Request-URI user = %v, want +31612345678", m)
	}
	if m := regexp.MustCompile(`(?mi)^(?:From|f):[^\r\n]*<sip:([^@;>]+)@`).FindStringSubmatch(msgs); m == nil || m[1] != "+31201231001" {
		t.Errorf("carrier's INVITE From user = %v, want 1001's DID +31201231001", m)
	}
	eventually(t, 5*time.Second, func() error {
		for _, c := range s.cdrs(t) {
			if c.Direction == "outbound" && c.Target == "trunk:demo-carrier" && c.Disposition == "answered" {
				return nil
			}
		}
		return fmt.Errorf("no answered outbound CDR via trunk:demo-carrier: %+v", s.cdrs(t))
	})
}

// malformedInput is one malformed thing to throw at the SIP port. payload gets our
// socket's address so Via and Contact are plausible where there are any.
type malformedInput struct {
	name    string
	network string // "udp" or "tcp"
	payload func(server, local string) []byte
}

func junkBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func rawSIPRequest(method, server, local, transport string, headers []string, body []byte, contentLength string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s sip:malformed@%s SIP/2.0\r\n", method, server)
	if transport != "" {
		fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK%x;rport\r\n", transport, local, junkBytes(6))
	}
	fmt.Fprintf(&b, "From: <sip:malformed@%s>;tag=%x\r\nTo: <sip:malformed@%s>\r\n", local, junkBytes(4), server)
	fmt.Fprintf(&b, "Call-ID: %x@malformed\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\nContact: <sip:malformed@%s>\r\n", junkBytes(8), method, local)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if contentLength == "" {
		contentLength = strconv.Itoa(len(body))
	}
	fmt.Fprintf(&b, "Content-Length: %s\r\n\r\n", contentLength)
	b.Write(body)
	return b.Bytes()
}

func malformedInputs() []malformedInput {
	sdpish := func(n int) []byte {
		line := []byte("a=x-filler:0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv\r\n")
		return append([]byte("v=0\r\n"), bytes.Repeat(line, n/len(line))...)
	}
	var out []malformedInput
	for _, network := range []string{"udp", "tcp"} {
		tr := strings.ToUpper(network)
		out = append(out,
			malformedInput{"random garbage", network, func(_, _ string) []byte { return junkBytes(1400) }},
			malformedInput{"truncated INVITE", network, func(srv, local string) []byte {
				full := rawSIPRequest("INVITE", srv, local, tr, []string{"Content-Type: application/sdp"}, sdpish(400), "")
				return full[:len(full)/3]
			}},
			malformedInput{"REGISTER without Via", network, func(srv, local string) []byte {
				return rawSIPRequest("REGISTER", srv, local, "", []string{"Expires: 60"}, nil, "")
			}},
			malformedInput{"Content-Length beyond int64", network, func(srv, local string) []byte {
				return rawSIPRequest("OPTIONS", srv, local, tr, nil, []byte("short"), "99999999999999999999999")
			}},
			malformedInput{"negative Content-Length", network, func(srv, local string) []byte {
				return rawSIPRequest("OPTIONS", srv, local, tr, nil, []byte("short"), "-42")
			}},
			malformedInput{"Content-Length 2 GB, 5 bytes sent", network, func(srv, local string) []byte {
				return rawSIPRequest("INVITE", srv, local, tr, []string{"Content-Type: application/sdp"}, []byte("v=0\r\n"), "2147483647")
			}},
		)
	}
	return append(out,
		// A UDP datagram holds at most 64 KB; TCP carries the full 100 KB.
		malformedInput{"INVITE with a 60 KB body", "udp", func(srv, local string) []byte {
			return rawSIPRequest("INVITE", srv, local, "UDP", []string{"Content-Type: application/sdp"}, sdpish(60_000), "")
		}},
		malformedInput{"INVITE with a 100 KB body", "tcp", func(srv, local string) []byte {
			return rawSIPRequest("INVITE", srv, local, "TCP", []string{"Content-Type: application/sdp"}, sdpish(100_000), "")
		}},
		malformedInput{"2 MB header line", "tcp", func(srv, local string) []byte {
			req := rawSIPRequest("OPTIONS", srv, local, "TCP", nil, nil, "")
			head := req[:bytes.Index(req, []byte("\r\n"))+2]
			return append(append(head, "X-Junk: "...), bytes.Repeat([]byte("a"), 2<<20)...)
		}},
		malformedInput{"2 MB of random bytes", "tcp", func(_, _ string) []byte { return junkBytes(2 << 20) }},
	)
}

// throwMalformed sends one payload on a fresh socket and drains whatever
// comes back for a moment; a reset or an early close is a fine answer to
// junk, so only a failed UDP send is an error here.
func throwMalformed(t *testing.T, server string, j malformedInput) {
	t.Helper()
	conn, err := net.DialTimeout(j.network, server, 2*time.Second)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", j.name, j.network, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(j.payload(server, conn.LocalAddr().String())); err != nil && j.network == "udp" {
		t.Fatalf("%s: write: %v", j.name, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, _ = io.Copy(io.Discard, conn)
}

func TestMalformedSIPDoesNotHurtCalls(t *testing.T) {
	s := startServer(t, serverOpts{})
	anna := phone(t, s, "1001", 1000, "udp")
	bob := phone(t, s, "1002", 440, "udp")
	bob.AutoAnswer(0)
	call, err := anna.Dial(ctxFor(t, 10*time.Second), "1002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	var in *siptest.Call
	select {
	case in = <-bob.Incoming():
	case <-time.After(5 * time.Second):
		t.Fatal("bob got no call")
	}
	hears(t, call, 440, "anna")
	hears(t, in, 1000, "bob")

	for _, j := range malformedInputs() {
		throwMalformed(t, s.SIPAddr(), j)
		select {
		case <-s.exited:
			t.Fatalf("switchboard died after %q over %s", j.name, j.network)
		default:
		}
	}

	// New tones prove the media is still live: audio buffered before the
	// barrage would still contain the old ones.
	call.SetTone(523)
	in.SetTone(659)
	hears(t, call, 659, "anna after the barrage")
	hears(t, in, 523, "bob after the barrage")
	if call.Err() != nil || in.Err() != nil {
		t.Fatalf("call ended during the barrage: %v / %v", call.Err(), in.Err())
	}

	probe, err := siptest.New(ctxFor(t, 5*time.Second), siptest.Config{User: "probe", Server: s.SIPAddr(), Transport: "tcp"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { probe.Close() })
	for _, p := range []struct {
		name  string
		phone *siptest.Phone
	}{{"udp", anna}, {"tcp", probe}} {
		code, err := p.phone.Options(ctxFor(t, 5*time.Second), "sip:"+s.SIPAddr())
		if err != nil || code != 200 {
			t.Errorf("OPTIONS over %s after the barrage: %d %v", p.name, code, err)
		}
	}

	if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	select {
	case <-in.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("bob's leg did not end after anna hung up")
	}
	select {
	case <-s.exited:
		t.Fatal("switchboard exited")
	default:
	}
	if code, err := s.api("GET", "/healthz", nil, nil); err != nil || code != 200 {
		t.Errorf("healthz after the barrage: %d %v", code, err)
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	s := startServer(t, serverOpts{})
	newPhone := func(user, password, listen string) *siptest.Phone {
		t.Helper()
		p, err := siptest.New(ctxFor(t, 5*time.Second), siptest.Config{
			User: user, Password: password, Server: s.SIPAddr(), Listen: listen})
		if err != nil {
			t.Fatalf("phone %s on %s: %v", user, listen, err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	register := func(p *siptest.Phone) error {
		return p.Register(ctxFor(t, 5*time.Second), 60*time.Second)
	}

	// Each source has its own failure budget; 127.0.0.3 and .4 keep the
	// lockout away from the phones on 127.0.0.1.
	var first *siptest.StatusError
	for _, tt := range []struct{ name, user, password, listen string }{
		{"wrong password", "1001", "not-demo-1001", "127.0.0.3"},
		{"unknown user", "1999", "demo-1999", "127.0.0.4"},
	} {
		var se *siptest.StatusError
		if err := register(newPhone(tt.user, tt.password, tt.listen)); !errors.As(err, &se) || se.Code != 401 {
			t.Fatalf("%s: register = %v, want 401", tt.name, err)
		}
		// Unknown users must not be told apart from wrong passwords.
		if first == nil {
			first = se
		} else if *se != *first {
			t.Errorf("%s answered %q, wrong password %q", tt.name, se, first)
		}
	}

	// siptest retries the digest, so a Register is two failures: the
	// default limit of 10 a minute is crossed within six more tries.
	bad := newPhone("1001", "not-demo-1001", "127.0.0.3")
	locked := false
	for i := 0; i < 6 && !locked; i++ {
		switch code := siptest.StatusCode(register(bad)); code {
		case 403:
			locked = true
			t.Logf("403 from register attempt %d", i+2)
		case 401:
		default:
			t.Fatalf("attempt %d: status %d, want 401 until the lockout, then 403", i+2, code)
		}
	}
	if !locked {
		t.Fatal("no 403 after 14 failed authentications from 127.0.0.3")
	}
	if err := register(bad); siptest.StatusCode(err) != 403 {
		t.Errorf("after lockout: %v, want 403", err)
	}
	logged := false
	for _, line := range strings.Split(s.Log(), "\n") {
		if strings.Contains(line, "too many failures") && strings.Contains(line, "source=127.0.0.3") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no %q log line for source 127.0.0.3", "too many failures")
	}
	// The lockout is per source: even the right password is refused there...
	if err := register(newPhone("1001", "demo-1001", "127.0.0.3")); siptest.StatusCode(err) != 403 {
		t.Errorf("right password from the locked-out source: %v, want 403", err)
	}
	// ...while other sources are unaffected.
	phone(t, s, "1001", 0, "udp")
}
