package media

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// Tests use ports 41000-41999 (each test its own slice) on loopback only.
var loopback = netip.MustParseAddr("127.0.0.1")

func newTestEngine(t testing.TB, lo, hi int) *Engine {
	t.Helper()
	e, err := NewEngine(EngineConfig{BindAddr: loopback, PortMin: lo, PortMax: hi})
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func newTestEndpoint(t testing.TB, e *Engine) *Endpoint {
	t.Helper()
	ep, err := e.NewEndpoint()
	if err != nil {
		t.Fatalf("NewEndpoint: %v", err)
	}
	return ep
}

// phone is a plain UDP socket standing in for a SIP phone's RTP stack.
type phone struct {
	t    testing.TB
	conn *net.UDPConn
	ssrc uint32
	seq  uint16
	ts   uint32
}

func newPhone(t testing.TB) *phone {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatalf("phone listen: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &phone{t: t, conn: c, ssrc: 0x1234_5678, seq: 1000, ts: 50_000}
}

func (p *phone) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// sendRaw sends any bytes (malformed packets included).
func (p *phone) sendRaw(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatalf("phone send: %v", err)
	}
}

// sendPacket sends one RTP packet with explicit header fields.
func (p *phone) sendPacket(to netip.AddrPort, marker bool, pt uint8, seq uint16, ts uint32, payload []byte) {
	p.t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: marker, PayloadType: pt,
		SequenceNumber: seq, Timestamp: ts, SSRC: p.ssrc}, Payload: payload}
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatalf("marshal: %v", err)
	}
	p.sendRaw(to, b)
}

// sendAudio sends one audio frame and advances seq and timestamp.
func (p *phone) sendAudio(to netip.AddrPort, pt uint8, payload []byte) {
	p.t.Helper()
	p.seq++
	p.ts += uint32(len(payload))
	p.sendPacket(to, false, pt, p.seq, p.ts, payload)
}

// recv returns the next RTP packet or false after timeout.
func (p *phone) recv(timeout time.Duration) (rtp.Packet, bool) {
	p.t.Helper()
	buf := make([]byte, 2048)
	if err := p.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		p.t.Fatalf("deadline: %v", err)
	}
	n, _, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return rtp.Packet{}, false
		}
		p.t.Fatalf("phone recv: %v", err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		p.t.Fatalf("phone got a malformed packet: %v", err)
	}
	return pkt, true
}

// mustRecv returns the next packet or fails the test.
func (p *phone) mustRecv(what string) rtp.Packet {
	p.t.Helper()
	pkt, ok := p.recv(2 * time.Second)
	if !ok {
		p.t.Fatalf("%s: no packet within 2s", what)
	}
	return pkt
}

// drain discards packets until none arrives for quiet.
func (p *phone) drain(quiet time.Duration) int {
	n := 0
	for {
		if _, ok := p.recv(quiet); !ok {
			return n
		}
		n++
	}
}

// tone returns n samples of a sine at freq Hz, amplitude amp, starting at
// sample offset start (so consecutive frames join up).
func tone(freq float64, amp float64, start, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(start+i)/8000))
	}
	return s
}

func ulawFrame(pcm []int16) []byte {
	b := make([]byte, len(pcm))
	g711.EncodeULaw(b, pcm)
	return b
}

func alawFrame(pcm []int16) []byte {
	b := make([]byte, len(pcm))
	g711.EncodeALaw(b, pcm)
	return b
}

func decodeFrame(payload []byte, pt uint8, alawPT uint8) []int16 {
	s := make([]int16, len(payload))
	if pt == alawPT {
		g711.DecodeALaw(s, payload)
	} else {
		g711.DecodeULaw(s, payload)
	}
	return s
}

// goertzel returns the power of samples at freq, normalised so that a full
// sine of amplitude A gives about A²/4 whatever the length.
func goertzel(samples []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / 8000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	n := float64(len(samples))
	return p / (n * n)
}

// meanPower is the mean square of samples (a sine of amplitude A gives A²/2).
func meanPower(samples []int16) float64 {
	var sum float64
	for _, x := range samples {
		sum += float64(x) * float64(x)
	}
	return sum / float64(max(len(samples), 1))
}

// toneShare is the fraction of the signal's power found at freq: about 1
// for a pure tone at freq, near 0 when it is absent.
func toneShare(samples []int16, freq float64) float64 {
	mp := meanPower(samples)
	if mp == 0 {
		return 0
	}
	return 2 * goertzel(samples, freq) / mp
}

// eventually polls f until it returns nil or d passes.
func eventually(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkNoLeaks fails the test if goroutines started after the call are
// still running when the test ends.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		eventually(t, 2*time.Second, func() error {
			if n := runtime.NumGoroutine(); n > before {
				return fmt.Errorf("%d goroutines leaked", n-before)
			}
			return nil
		})
	})
}
