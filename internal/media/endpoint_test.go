package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestLatching follows RFC 4961 symmetric RTP: the SDP address until a
// packet arrives, then the packets' source; no hijack by a stranger while
// the source is alive; re-latch after silence or a new SDP address.
func TestLatching(t *testing.T) {
	checkNoLeaks(t)
	e := newTestEngine(t, 41400, 41419)
	a, b := newTestEndpoint(t, e), newTestEndpoint(t, e)
	sdpPhone, pa, pb, stranger := newPhone(t), newPhone(t), newPhone(t), newPhone(t)
	a.SetRemote(sdpPhone.addr(), PCMU, 0)
	b.SetRemote(pb.addr(), PCMU, 0)
	if _, err := e.Connect(a, b); err != nil {
		t.Fatal(err)
	}
	payload := ulawFrame(tone(1000, 8000, 0, 160))

	// Before A sends, replies go to the SDP address.
	pb.sendAudio(b.LocalAddr(), 0, payload)
	sdpPhone.mustRecv("to the SDP address before latching")

	// A sends from another address (a NAT rewrote it): we latch to it.
	pa.sendAudio(a.LocalAddr(), 0, payload)
	pb.mustRecv("A's first packet")
	if got := a.RemoteAddr(); got != pa.addr() {
		t.Fatalf("RemoteAddr = %v, want the latched %v", got, pa.addr())
	}
	pb.sendAudio(b.LocalAddr(), 0, payload)
	pa.mustRecv("to the latched source")
	if n := sdpPhone.drain(30 * time.Millisecond); n != 0 {
		t.Fatalf("SDP address still got %d packets after latching", n)
	}

	// A stranger cannot take over a live stream.
	dropped := e.Stats().PacketsDropped
	stranger.sendAudio(a.LocalAddr(), 0, payload)
	eventually(t, time.Second, func() error {
		if e.Stats().PacketsDropped == dropped {
			return errors.New("stranger's packet not dropped yet")
		}
		return nil
	})
	if n := pb.drain(30 * time.Millisecond); n != 0 {
		t.Fatalf("stranger's packet relayed while A is alive")
	}
	if got := a.RemoteAddr(); got != pa.addr() {
		t.Fatalf("stranger hijacked the stream: RemoteAddr = %v", got)
	}

	// After relatchAfter of silence from A, a new source takes over (a phone
	// whose NAT binding changed).
	time.Sleep(relatchAfter + 100*time.Millisecond)
	stranger.sendAudio(a.LocalAddr(), 0, payload)
	pb.mustRecv("the new source after silence")
	if got := a.RemoteAddr(); got != stranger.addr() {
		t.Fatalf("RemoteAddr = %v, want re-latched %v", got, stranger.addr())
	}

	// A re-INVITE with the same SDP address keeps the latch (hold music
	// must reach the NATed address); a new SDP address drops it.
	a.SetRemote(sdpPhone.addr(), PCMU, 0)
	if got := a.RemoteAddr(); got != stranger.addr() {
		t.Fatalf("same-address SetRemote lost the latch: %v", got)
	}
	newSDP := newPhone(t)
	a.SetRemote(newSDP.addr(), PCMU, 0)
	if got := a.RemoteAddr(); got != newSDP.addr() {
		t.Fatalf("RemoteAddr = %v after SetRemote, want %v", got, newSDP.addr())
	}
	pb.sendAudio(b.LocalAddr(), 0, payload)
	newSDP.mustRecv("to the new SDP address")
	// c=0.0.0.0: send nothing until the peer sends.
	a.SetRemote(netip.MustParseAddrPort("0.0.0.0:5004"), PCMU, 0)
	if got := a.RemoteAddr(); got.IsValid() {
		t.Fatalf("RemoteAddr = %v for a 0.0.0.0 hold, want none", got)
	}
}

// TestMalformedPackets: junk is counted and dropped, and the relay goes on.
func TestMalformedPackets(t *testing.T) {
	checkNoLeaks(t)
	c := newCall(t, 41420, 41439, PCMU, PCMU, 101, 101)
	junk := [][]byte{
		{},
		{0x80},
		[]byte("INVITE sip:bob@example.com SIP/2.0\r\n"),
		append([]byte{0x40, 0}, make([]byte, 20)...),               // RTP version 1
		append([]byte{0x8f, 0}, make([]byte, 10)...),               // 15 CSRCs in 12 bytes
		{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0xff, 0xff},  // extension past the end
		append([]byte{0xa0, 0}, append(make([]byte, 10), 0xff)...), // padding past the end
		append([]byte{0x81, 200, 0, 12}, make([]byte, 48)...),      // RTCP SR multiplexed
		{0x80, 13, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x40},             // comfort noise: not negotiated
		{0x80, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1},               // telephone-event too short
	}
	for _, j := range junk {
		c.pa.sendRaw(c.a.LocalAddr(), j)
	}
	eventually(t, 2*time.Second, func() error {
		if st := c.e.Stats(); st.PacketsIn != uint64(len(junk)) {
			return errors.New("not all junk read yet")
		}
		return nil
	})
	sendTone(c.pa, c.a, 0, 1000, 2)
	recvTone(t, c.pb, 2, 255)
	if n := c.pb.drain(20 * time.Millisecond); n != 0 {
		t.Errorf("%d junk packets relayed", n)
	}
	if st := c.e.Stats(); st.PacketsDropped != uint64(len(junk)) || st.PacketsForwarded != 2 {
		t.Errorf("stats %+v, want %d dropped and 2 forwarded", st, len(junk))
	}
}

func TestPortPool(t *testing.T) {
	t.Run("exhaustion and release", func(t *testing.T) {
		checkNoLeaks(t)
		e := newTestEngine(t, 41440, 41445) // 41440, 41442, 41444
		var eps []*Endpoint
		for range 3 {
			eps = append(eps, newTestEndpoint(t, e))
		}
		for _, ep := range eps {
			if p := ep.LocalAddr().Port(); p%2 != 0 || p < 41440 || p > 41445 {
				t.Errorf("port %d outside the even ports of the range", p)
			}
		}
		if _, err := e.NewEndpoint(); !errors.Is(err, ErrNoPorts) {
			t.Fatalf("4th endpoint: %v, want ErrNoPorts", err)
		}
		freed := eps[1].LocalAddr().Port()
		if err := eps[1].Close(); err != nil {
			t.Fatal(err)
		}
		if err := eps[1].Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		// The port is really free: anyone can bind it.
		l, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, freed)))
		if err != nil {
			t.Fatalf("port %d not released: %v", freed, err)
		}
		_ = l.Close()
		ep, err := e.NewEndpoint()
		if err != nil || ep.LocalAddr().Port() != freed {
			t.Fatalf("after Close: %v, %v; want port %d", ep, err, freed)
		}
		if n := e.Stats().Endpoints; n != 3 {
			t.Errorf("Endpoints = %d, want 3", n)
		}
	})
	t.Run("FIFO reuse", func(t *testing.T) {
		e := newTestEngine(t, 41450, 41457)
		ep := newTestEndpoint(t, e)
		first := ep.LocalAddr().Port()
		_ = ep.Close()
		ep = newTestEndpoint(t, e)
		if ep.LocalAddr().Port() == first {
			t.Fatalf("port %d reused at once; it should go to the back of the queue", first)
		}
	})
	t.Run("skips ports taken by others", func(t *testing.T) {
		taken, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:41460")))
		if err != nil {
			t.Skipf("cannot take 41460 for the test: %v", err)
		}
		defer taken.Close()
		e := newTestEngine(t, 41459, 41463) // odd PortMin: 41460, 41462
		ep := newTestEndpoint(t, e)
		if p := ep.LocalAddr().Port(); p != 41462 {
			t.Fatalf("port %d, want 41462 (41460 is taken)", p)
		}
		if _, err := e.NewEndpoint(); !errors.Is(err, ErrNoPorts) {
			t.Fatalf("got %v, want ErrNoPorts", err)
		}
	})
}

func TestNewEngineConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     EngineConfig
		wantErr string
	}{
		{"no address", EngineConfig{PortMin: 41000, PortMax: 41010}, "BindAddr is not set"},
		{"unspecified", EngineConfig{BindAddr: netip.IPv4Unspecified(), PortMin: 41000, PortMax: 41010}, "unspecified"},
		{"reversed", EngineConfig{BindAddr: loopback, PortMin: 41010, PortMax: 41000}, "port range"},
		{"too high", EngineConfig{BindAddr: loopback, PortMin: 41000, PortMax: 70000}, "port range"},
		{"no even port", EngineConfig{BindAddr: loopback, PortMin: 41001, PortMax: 41001}, "no even port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(tt.cfg)
			if err == nil {
				_ = e.Close()
				t.Fatal("NewEngine accepted a bad config")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %q, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

// TestEngineClose: every goroutine (clock, readers) ends, endpoints are
// closed, and the engine refuses new work.
func TestEngineClose(t *testing.T) {
	checkNoLeaks(t)
	e, err := NewEngine(EngineConfig{BindAddr: loopback, PortMin: 41470, PortMax: 41499})
	if err != nil {
		t.Fatal(err)
	}
	var eps []*Endpoint
	p := newPhone(t)
	for range 6 {
		ep := newTestEndpoint(t, e)
		ep.SetRemote(p.addr(), PCMU, 101)
		eps = append(eps, ep)
	}
	br, err := e.Connect(eps[0], eps[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := br.Hold(eps[0]); err != nil {
		t.Fatal(err)
	}
	eps[2].StartMusic()
	p.mustRecv("music before close")
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := e.Stats().Endpoints; n != 0 {
		t.Errorf("%d endpoints open after Close", n)
	}
	if _, err := e.NewEndpoint(); !errors.Is(err, ErrEngineClosed) {
		t.Errorf("NewEndpoint after Close: %v", err)
	}
	p.drain(30 * time.Millisecond)
	if n := p.drain(60 * time.Millisecond); n != 0 {
		t.Errorf("%d packets after Close", n)
	}
}

func TestIdleCountsFromLastPacket(t *testing.T) {
	e := newTestEngine(t, 41800, 41809)
	a, b := newTestEndpoint(t, e), newTestEndpoint(t, e)
	p := newPhone(t)
	a.SetRemote(p.addr(), PCMU, 0)
	b.SetRemote(newPhone(t).addr(), PCMU, 0)
	if _, err := e.Connect(a, b); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if idle := a.Idle(); idle < 50*time.Millisecond {
		t.Fatalf("Idle before any packet = %s, want ≥ 50ms since SetRemote", idle)
	}
	p.sendAudio(a.LocalAddr(), 0, ulawFrame(tone(1000, 8000, 0, 160)))
	eventually(t, time.Second, func() error {
		if idle := a.Idle(); idle > 40*time.Millisecond {
			return fmt.Errorf("Idle after a packet = %s", idle)
		}
		return nil
	})
}
