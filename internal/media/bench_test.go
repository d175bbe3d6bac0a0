package media

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// relayFixture is a bridged pair whose B side sends to a sink socket; the
// A side is fed directly through handle, as its reader would.
func relayFixture(b testing.TB, lo int, codecB Codec) (*Endpoint, []byte, func() []byte) {
	e := newTestEngine(b, lo, lo+9)
	a, bb := newTestEndpoint(b, e), newTestEndpoint(b, e)
	src, sink := newPhone(b), newPhone(b)
	a.SetRemote(src.addr(), PCMU, 101)
	bb.SetRemote(sink.addr(), codecB, 101)
	if _, err := e.Connect(a, bb); err != nil {
		b.Fatal(err)
	}
	// A 172-byte PCMU packet, as every G.711 phone sends at 20 ms.
	pkt := make([]byte, rtpFixedLen+frameSamples)
	putRTPHeader(pkt, false, 0, 1, 160, 0xabc)
	copy(pkt[rtpFixedLen:], ulawFrame(tone(1000, 8000, 0, 160)))
	orig := append([]byte(nil), pkt...)
	reset := func() []byte { copy(pkt, orig); return pkt }
	return a, pkt, reset
}

// BenchmarkRelayPacket measures the per-packet path of a reader: parse,
// latch check, header rewrite and the sendto(2) towards the peer's remote.
func BenchmarkRelayPacket(b *testing.B) {
	for _, bc := range []struct {
		name  string
		codec Codec
		port  int
	}{{"PCMU-PCMU", PCMU, 41700}, {"PCMU-PCMA", PCMA, 41720}} {
		b.Run(bc.name, func(b *testing.B) {
			a, _, reset := relayFixture(b, bc.port, bc.codec)
			src := a.sdpAddr
			b.ReportAllocs()
			b.SetBytes(rtpFixedLen + frameSamples)
			for i := 0; b.Loop(); i++ {
				pkt := reset()
				pkt[3] = byte(i) // advancing sequence number
				a.handle(pkt, src)
			}
			if st := a.eng.Stats(); st.PacketsForwarded == 0 || st.PacketsDropped != 0 {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}

// BenchmarkRelayLoopback sends real datagrams phone A → endpoint a → endpoint
// b → phone B over loopback, 32 in flight at a time. cpu-ns/pkt is the
// process's user+system CPU per forwarded packet and includes the two test
// phones' own sends and receives, so the relay's share is lower.
func BenchmarkRelayLoopback(b *testing.B) {
	a, pkt, _ := relayFixture(b, 41740, PCMU)
	e := a.eng
	pa := newPhone(b)
	pb := newPhone(b)
	a.SetRemote(pa.addr(), PCMU, 101)
	a.peer.SetRemote(pb.addr(), PCMU, 101)
	buf := make([]byte, 2048)
	const window = 32
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ReportAllocs()
	b.ResetTimer()
	sent, lost := 0, 0
	for sent < b.N {
		n := min(window, b.N-sent)
		for range n {
			if _, err := pa.conn.WriteToUDPAddrPort(pkt, a.LocalAddr()); err != nil {
				b.Fatal(err)
			}
		}
		for range n {
			_ = pb.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, _, err := pb.conn.ReadFromUDPAddrPort(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					lost++
					break
				}
				b.Fatal(err)
			}
		}
		sent += n
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
	if fwd := e.Stats().PacketsForwarded; fwd > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(fwd), "cpu-ns/pkt")
	}
	b.ReportMetric(float64(lost), "lost-windows")
}
