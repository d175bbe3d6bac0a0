package media

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// call is two phones, each facing an endpoint, with a bridge in between.
type call struct {
	e      *Engine
	a, b   *Endpoint
	pa, pb *phone
	br     *Bridge
}

func newCall(t *testing.T, lo, hi int, codecA, codecB Codec, dtmfA, dtmfB uint8) *call {
	t.Helper()
	c := &call{e: newTestEngine(t, lo, hi)}
	c.a, c.b = newTestEndpoint(t, c.e), newTestEndpoint(t, c.e)
	c.pa, c.pb = newPhone(t), newPhone(t)
	c.pb.ssrc = 0xb0b
	c.a.SetRemote(c.pa.addr(), codecA, dtmfA)
	c.b.SetRemote(c.pb.addr(), codecB, dtmfB)
	br, err := c.e.Connect(c.a, c.b)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	c.br = br
	return c
}

// sendTone sends n 20 ms frames of freq from p to ep's socket, as µ-law or
// A-law by pt, pacing them so the receiver's socket never overflows.
func sendTone(p *phone, ep *Endpoint, pt uint8, freq float64, n int) {
	for i := range n {
		pcm := tone(freq, 8000, i*160, 160)
		payload := make([]byte, 160)
		if pt == PCMA.PayloadType {
			copy(payload, alawFrame(pcm))
		} else {
			copy(payload, ulawFrame(pcm))
		}
		p.sendAudio(ep.LocalAddr(), pt, payload)
		time.Sleep(time.Millisecond)
	}
}

// recvTone receives n packets at p and returns them with their decoded audio.
func recvTone(t *testing.T, p *phone, n int, alawPT uint8) ([]rtp.Packet, []int16) {
	t.Helper()
	var pkts []rtp.Packet
	var pcm []int16
	for range n {
		pkt := p.mustRecv("relayed audio")
		pkts = append(pkts, pkt)
		pcm = append(pcm, decodeFrame(pkt.Payload, pkt.PayloadType, alawPT)...)
	}
	return pkts, pcm
}

func TestRelay(t *testing.T) {
	dyn := Codec{Name: "pcmu", PayloadType: 96, ClockRate: 8000}
	tests := []struct {
		name           string
		codecA, codecB Codec
	}{
		{"PCMU both sides", PCMU, PCMU},
		{"PCMA both sides", PCMA, PCMA},
		{"PT mapping: static PCMU to dynamic 96", PCMU, dyn},
		{"transcoding PCMU to PCMA", PCMU, PCMA},
		{"transcoding PCMA to PCMU", PCMA, PCMU},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			lo := 41000 + 20*i
			c := newCall(t, lo, lo+19, tt.codecA, tt.codecB, 101, 101)
			const frames = 10
			// A → B: a 1000 Hz tone must come out at B as 1000 Hz, in B's codec.
			sendTone(c.pa, c.a, tt.codecA.PayloadType, 1000, frames)
			pkts, pcm := recvTone(t, c.pb, frames, alawPTFor(tt.codecB))
			checkStream(t, "A→B", pkts, tt.codecB.PayloadType)
			if s := toneShare(pcm, 1000); s < 0.9 {
				t.Errorf("A→B: 1000 Hz share %.2f, want ≥ 0.9", s)
			}
			// B → A: 440 Hz.
			sendTone(c.pb, c.b, tt.codecB.PayloadType, 440, frames)
			pkts, pcm = recvTone(t, c.pa, frames, alawPTFor(tt.codecA))
			checkStream(t, "B→A", pkts, tt.codecA.PayloadType)
			if s := toneShare(pcm, 440); s < 0.9 {
				t.Errorf("B→A: 440 Hz share %.2f, want ≥ 0.9", s)
			}
			if s := toneShare(pcm, 1000); s > 0.01 {
				t.Errorf("B→A: A hears itself (1000 Hz share %.2f)", s)
			}
			st := c.e.Stats()
			if st.PacketsForwarded != 2*frames || st.PacketsIn != 2*frames || st.PacketsDropped != 0 {
				t.Errorf("stats %+v, want %d in and forwarded, none dropped", st, 2*frames)
			}
		})
	}
}

// alawPTFor is the payload type that means A-law on a leg with codec c.
func alawPTFor(c Codec) uint8 {
	if codecKind(c) == kindALaw {
		return c.PayloadType
	}
	return 255 // never matches: decode as µ-law
}

// checkStream asserts one SSRC, consecutive sequence numbers and the
// expected payload type.
func checkStream(t *testing.T, what string, pkts []rtp.Packet, pt uint8) {
	t.Helper()
	for i, p := range pkts {
		if p.PayloadType != pt {
			t.Fatalf("%s: packet %d has PT %d, want %d", what, i, p.PayloadType, pt)
		}
		if i == 0 {
			continue
		}
		if p.SSRC != pkts[0].SSRC {
			t.Fatalf("%s: SSRC changed from %#x to %#x", what, pkts[0].SSRC, p.SSRC)
		}
		if p.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Fatalf("%s: seq %d after %d", what, p.SequenceNumber, pkts[i-1].SequenceNumber)
		}
		if p.Timestamp-pkts[i-1].Timestamp != 160 {
			t.Fatalf("%s: timestamp step %d, want 160", what, p.Timestamp-pkts[i-1].Timestamp)
		}
	}
}

// TestHoldResume: on hold, the held side hears music and the other side
// nothing; after resume, relay is back and the held side's stream kept one
// SSRC and gap-free sequence numbers through relay → music → relay.
func TestHoldResume(t *testing.T) {
	checkNoLeaks(t)
	c := newCall(t, 41200, 41219, PCMU, PCMA, 101, 101)

	sendTone(c.pb, c.b, PCMA.PayloadType, 440, 5)
	before, _ := recvTone(t, c.pa, 5, 255)

	if err := c.br.Hold(c.a); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	// While A hears music, B keeps talking (which A must not hear) and A
	// keeps sending (which B must not hear).
	var music []rtp.Packet
	var musicPCM []int16
	deadline := time.Now().Add(3 * time.Second)
	for len(music) < 40 && time.Now().Before(deadline) {
		sendTone(c.pb, c.b, PCMA.PayloadType, 440, 1)
		sendTone(c.pa, c.a, PCMU.PayloadType, 1000, 1)
		for {
			pkt, ok := c.pa.recv(time.Millisecond)
			if !ok {
				break
			}
			music = append(music, pkt)
			musicPCM = append(musicPCM, decodeFrame(pkt.Payload, pkt.PayloadType, 255)...)
		}
		time.Sleep(15 * time.Millisecond)
	}
	if len(music) < 40 {
		t.Fatalf("held side got %d music packets in 3s, want 40", len(music))
	}
	if n := c.pb.drain(50 * time.Millisecond); n != 0 {
		t.Errorf("the other side got %d packets during hold, want silence", n)
	}
	if p := meanPower(musicPCM); p < 1e5 { // about -35 dBFS: clearly not silence
		t.Errorf("music power %.0f, want clearly audible", p)
	}
	for _, f := range []float64{440, 1000} {
		if s := toneShare(musicPCM, f); s > 0.05 {
			t.Errorf("held side hears %v Hz (share %.2f) through the music", f, s)
		}
	}
	if st := c.e.Stats(); st.MusicFrames < 40 {
		t.Errorf("MusicFrames = %d", st.MusicFrames)
	}

	if err := c.br.Resume(); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	music = append(music, drainPackets(c.pa)...) // music sent just before Resume
	sendTone(c.pb, c.b, PCMA.PayloadType, 440, 5)
	after, pcm := recvTone(t, c.pa, 5, 255)
	if s := toneShare(pcm, 440); s < 0.9 {
		t.Errorf("after resume A hears 440 Hz share %.2f", s)
	}
	sendTone(c.pa, c.a, PCMU.PayloadType, 1000, 3)
	got, pcm := recvTone(t, c.pb, 3, PCMA.PayloadType)
	checkStream(t, "A→B after resume", got, PCMA.PayloadType)
	if s := toneShare(pcm, 1000); s < 0.9 {
		t.Errorf("after resume B hears 1000 Hz share %.2f", s)
	}

	// A's whole stream: one SSRC, no gap and no duplicate in seq.
	all := slices.Concat(before, music, after)
	seqs := make([]int, len(all))
	for i, p := range all {
		if p.SSRC != all[0].SSRC {
			t.Fatalf("packet %d: SSRC %#x, want %#x throughout", i, p.SSRC, all[0].SSRC)
		}
		seqs[i] = int(p.SequenceNumber - all[0].SequenceNumber) // unwraps relative to the first
	}
	slices.Sort(seqs)
	for i := range seqs {
		if seqs[i] != i {
			t.Fatalf("sequence numbers not contiguous around hold: %v", seqs)
		}
	}
	// The first music packet and the first relayed one after it carry the
	// marker, so the phone's jitter buffer resyncs.
	if !music[0].Marker || !after[0].Marker {
		t.Errorf("marker on source switch: music %v, relay %v", music[0].Marker, after[0].Marker)
	}
}

func drainPackets(p *phone) []rtp.Packet {
	var out []rtp.Packet
	for {
		pkt, ok := p.recv(30 * time.Millisecond)
		if !ok {
			return out
		}
		out = append(out, pkt)
	}
}

func TestBridgeErrors(t *testing.T) {
	checkNoLeaks(t)
	e := newTestEngine(t, 41300, 41319)
	a, b, c := newTestEndpoint(t, e), newTestEndpoint(t, e), newTestEndpoint(t, e)
	other := newTestEngine(t, 41320, 41329)
	x := newTestEndpoint(t, other)

	br, err := e.Connect(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Connect(a, c); !errors.Is(err, ErrInBridge) {
		t.Errorf("Connect of a bridged endpoint: %v, want ErrInBridge", err)
	}
	if _, err := e.Connect(c, c); err == nil {
		t.Error("Connect(c, c) succeeded")
	}
	if _, err := e.Connect(c, x); err == nil {
		t.Error("Connect across engines succeeded")
	}
	if err := br.Hold(c); !errors.Is(err, ErrNotInBridge) {
		t.Errorf("Hold(outsider): %v, want ErrNotInBridge", err)
	}
	br.Disconnect()
	br.Disconnect() // idempotent
	if err := br.Hold(a); !errors.Is(err, ErrBridgeClosed) {
		t.Errorf("Hold after Disconnect: %v", err)
	}
	if err := br.Resume(); !errors.Is(err, ErrBridgeClosed) {
		t.Errorf("Resume after Disconnect: %v", err)
	}
	// After Disconnect both endpoints are free again.
	if _, err := e.Connect(a, c); err != nil {
		t.Errorf("Connect after Disconnect: %v", err)
	}
	_ = c.Close()
	if _, err := e.Connect(b, c); !errors.Is(err, ErrEndpointClosed) {
		t.Errorf("Connect with a closed endpoint: %v", err)
	}
}

// TestDisconnectStopsRelay: after Disconnect nothing crosses any more.
func TestDisconnectStopsRelay(t *testing.T) {
	checkNoLeaks(t)
	c := newCall(t, 41340, 41359, PCMU, PCMU, 0, 0)
	sendTone(c.pa, c.a, 0, 1000, 2)
	recvTone(t, c.pb, 2, 255)
	c.br.Disconnect()
	sendTone(c.pa, c.a, 0, 1000, 3)
	if n := c.pb.drain(50 * time.Millisecond); n != 0 {
		t.Fatalf("%d packets relayed after Disconnect", n)
	}
}
