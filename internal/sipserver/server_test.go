package sipserver

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func startTest(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Addr: "127.0.0.1:0", Transports: []string{"udp", "tcp"}, UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s.Handle(sip.INVITE, func(req *sip.Request, tx sip.ServerTransaction) { panic("boom") })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// exchange sends a raw request over UDP and returns the first final response line and message.
func exchange(t *testing.T, s *Server, method string) string {
	t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", s.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := strings.Join([]string{
		method + " sip:probe@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK" + fmt.Sprint(time.Now().UnixNano()),
		"From: <sip:t@127.0.0.1>;tag=1",
		"To: <sip:probe@127.0.0.1>",
		"Call-ID: " + fmt.Sprint(time.Now().UnixNano()),
		"CSeq: 1 " + method,
		"Contact: <sip:t@" + local + ">",
		"Max-Forwards: 70",
		"Content-Length: 0", "", ""}, "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%s: no response: %v", method, err)
		}
		if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 1") {
			return string(buf[:n])
		}
	}
}

func TestResponses(t *testing.T) {
	s := startTest(t)
	tests := []struct {
		method string
		status string
		header string
	}{
		{"OPTIONS", "SIP/2.0 200", "Allow: INVITE, OPTIONS"},
		{"PUBLISH", "SIP/2.0 405", "Allow: INVITE, OPTIONS"},
		{"FOOBAR", "SIP/2.0 405", "Allow:"},
		{"INVITE", "SIP/2.0 500", ""}, // the handler panics: answered, process alive
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			got := exchange(t, s, tt.method)
			if !strings.HasPrefix(got, tt.status) {
				t.Fatalf("%s answered %q, want %s", tt.method, strings.SplitN(got, "\r\n", 2)[0], tt.status)
			}
			if tt.header != "" && !strings.Contains(got, tt.header) {
				t.Fatalf("%s response lacks %q:\n%s", tt.method, tt.header, got)
			}
		})
	}
	// Still serving after the panic.
	if got := exchange(t, s, "OPTIONS"); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("after panic: %q", got)
	}
}

func TestStartFailsOnTakenPort(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s, err := New(Config{Addr: taken.LocalAddr().String(), Transports: []string{"udp"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "listen udp") {
		t.Fatalf("Start on a taken port: %v, want a listen error", err)
	}
}
