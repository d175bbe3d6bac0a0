package webrtc

import (
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
)

// BenchmarkBrowserRoundTrip measures one 20 ms PCMU packet each way
// through a session: the browser (pion) encrypts and sends, the session
// decrypts and forwards it over the shim to the endpoint, the endpoint
// sends one back, the session encrypts it and the browser decrypts it.
// Both peers run in this process, so the figure is the browser's and the
// server's work together: an upper bound on the server's share. A browser
// call is 50 such round trips a second.
func BenchmarkBrowserRoundTrip(b *testing.B) {
	g := testGateway(b)
	br := newBrowser(b)
	s, plain, err := g.Accept(br.offer(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	_ = plain
	ep := endpoint(b)
	ans, err := s.Local(ctx(b), plainSDP(addrOf(ep), 126, media.DirectionSendRecv))
	if err != nil {
		b.Fatal(err)
	}
	br.setAnswer(b, ans)
	buf := make([]byte, 1500)
	// Wait for ICE and DTLS: the first packet through marks the path up.
	// Sequence numbers only grow: SRTP drops replays (RFC 3711 §3.3.2).
	seq := uint16(1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		seq++
		_, _ = br.track.Write(rtpPacket(seq, 0, 0x55))
		_ = ep.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := ep.Read(buf); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("no media path")
		}
	}
	_ = ep.SetReadDeadline(time.Now().Add(time.Minute))
	for len(br.got) > 0 {
		<-br.got
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seq++
		if _, err := br.track.Write(rtpPacket(seq, 0, 0x55)); err != nil {
			b.Fatal(err)
		}
		n, err := ep.Read(buf)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ep.WriteToUDPAddrPort(buf[:n], s.LocalAddr()); err != nil {
			b.Fatal(err)
		}
		select {
		case <-br.got:
		case <-time.After(5 * time.Second):
			b.Fatal("packet lost on the way back")
		}
	}
	b.StopTimer()
	// Process CPU (user+system) per round trip: wall time above includes
	// waiting for the other goroutines to be scheduled.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
