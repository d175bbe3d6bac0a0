package media

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// jbSim drives a jitter buffer as the reader and the mix clock would, and
// collects what the clock plays.
type jbSim struct {
	t   *testing.T
	jb  jitterBuffer
	out []int16
}

// push sends n µ-law samples of value b at ts from ssrc.
func (s *jbSim) push(ssrc, ts uint32, n int, b byte) bool {
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = b
	}
	ok := s.jb.push(ssrc, ts, payload, kindULaw)
	s.check()
	return ok
}

func (s *jbSim) pop() bool {
	var f [frameSamples]int16
	ok := s.jb.pop(&f)
	s.out = append(s.out, f[:]...)
	s.check()
	return ok
}

func (s *jbSim) check() {
	s.t.Helper()
	if err := jitterInvariant(&s.jb); err != nil {
		s.t.Fatal(err)
	}
}

// jitterInvariant: nothing buffered beyond the ring, and every slot
// outside [play, end) is zero.
func jitterInvariant(jb *jitterBuffer) error {
	lead := int32(jb.end - jb.play)
	if lead > jbSize {
		return fmt.Errorf("%d samples buffered, ring holds %d", lead, jbSize)
	}
	for i := range int32(jbSize) {
		slot := (jb.play + uint32(i)) & jbMask
		if i >= lead && jb.ring[slot] != 0 {
			return fmt.Errorf("slot %d (play+%d) holds %d outside [play, end) (lead %d)", slot, i, jb.ring[slot], lead)
		}
	}
	return nil
}

// level is n samples of what µ-law byte b decodes to.
func level(b byte, n int) []int16 {
	return slices.Repeat([]int16{g711.ULawToLinear(b)}, n)
}

func silence(n int) []int16 { return make([]int16, n) }

// frameByte gives frame k a distinct, non-silent µ-law value.
func frameByte(k int) byte { return byte(0x10 + k%0x60) }

func TestJitterBuffer(t *testing.T) {
	const ssrc = 0xfeed
	// Each scenario interleaves packet arrivals and clock ticks; want is
	// what the clock plays.
	tests := []struct {
		name string
		ts0  uint32
		run  func(s *jbSim, ts0 uint32)
		want func() []int16
	}{
		{
			name: "in order: two frames of delay, then every frame",
			ts0:  50_000,
			run: func(s *jbSim, ts0 uint32) {
				for k := range 6 {
					s.push(ssrc, ts0+uint32(k*160), 160, frameByte(k))
					s.pop()
				}
			},
			want: func() []int16 {
				w := silence(320)
				for k := range 4 {
					w = append(w, level(frameByte(k), 160)...)
				}
				return w
			},
		},
		{
			name: "reordered pairs play in order",
			ts0:  50_000,
			run: func(s *jbSim, ts0 uint32) {
				order := []int{0, 2, 1, 4, 3, 5}
				for _, k := range order {
					s.push(ssrc, ts0+uint32(k*160), 160, frameByte(k))
					s.pop()
				}
			},
			want: func() []int16 {
				w := silence(320)
				for k := range 4 {
					w = append(w, level(frameByte(k), 160)...)
				}
				return w
			},
		},
		{
			name: "a lost frame plays as silence",
			ts0:  50_000,
			run: func(s *jbSim, ts0 uint32) {
				for k := range 6 {
					if k != 2 {
						s.push(ssrc, ts0+uint32(k*160), 160, frameByte(k))
					}
					s.pop()
				}
			},
			want: func() []int16 {
				w := silence(320)
				w = append(w, level(frameByte(0), 160)...)
				w = append(w, level(frameByte(1), 160)...)
				w = append(w, silence(160)...)
				w = append(w, level(frameByte(3), 160)...)
				return w
			},
		},
		{
			name: "timestamps wrap around 2^32",
			ts0:  0xffff_ff00,
			run: func(s *jbSim, ts0 uint32) {
				for k := range 6 {
					s.push(ssrc, ts0+uint32(k*160), 160, frameByte(k))
					s.pop()
				}
			},
			want: func() []int16 {
				w := silence(320)
				for k := range 4 {
					w = append(w, level(frameByte(k), 160)...)
				}
				return w
			},
		},
		{
			name: "30 ms packets play sample-continuous after 50 ms",
			ts0:  7,
			run: func(s *jbSim, ts0 uint32) {
				// Every 10 ms: a packet at t%30 == 0, a tick at t%20 == 10.
				k := 0
				for ms := 0; ms < 300; ms += 10 {
					if ms%30 == 0 {
						s.push(ssrc, ts0+uint32(k*240), 240, frameByte(k))
						k++
					}
					if ms%20 == 10 {
						s.pop()
					}
				}
			},
			want: func() []int16 {
				w := silence(400) // max(2 frames, one packet + a frame)
				for k := 0; len(w) < 15*160; k++ {
					w = append(w, level(frameByte(k), 240)...)
				}
				return w[:15*160]
			},
		},
		{
			name: "a duplicate changes nothing",
			ts0:  1000,
			run: func(s *jbSim, ts0 uint32) {
				for k := range 5 {
					s.push(ssrc, ts0+uint32(k*160), 160, frameByte(k))
					s.push(ssrc, ts0+uint32(k*160), 160, frameByte(k))
					s.pop()
				}
			},
			want: func() []int16 {
				w := silence(320)
				for k := range 3 {
					w = append(w, level(frameByte(k), 160)...)
				}
				return w
			},
		},
		{
			name: "a new SSRC resyncs with the playout delay",
			ts0:  1000,
			run: func(s *jbSim, ts0 uint32) {
				for k := range 3 {
					s.push(ssrc, ts0+uint32(k*160), 160, frameByte(k))
					s.pop()
				}
				for k := range 3 {
					s.push(ssrc+1, 900_000+uint32(k*160), 160, frameByte(10+k))
					s.pop()
				}
			},
			want: func() []int16 {
				w := silence(320)
				w = append(w, level(frameByte(0), 160)...)
				w = append(w, silence(320)...) // frames 1 and 2 of the old stream are dropped
				w = append(w, level(frameByte(10), 160)...)
				return w
			},
		},
		{
			name: "a timestamp jump resyncs",
			ts0:  1000,
			run: func(s *jbSim, ts0 uint32) {
				for k := range 3 {
					s.push(ssrc, ts0+uint32(k*160), 160, frameByte(k))
					s.pop()
				}
				for k := range 3 {
					s.push(ssrc, ts0+1_000_000+uint32(k*160), 160, frameByte(10+k))
					s.pop()
				}
			},
			want: func() []int16 {
				w := silence(320)
				w = append(w, level(frameByte(0), 160)...)
				w = append(w, silence(320)...)
				w = append(w, level(frameByte(10), 160)...)
				return w
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &jbSim{t: t}
			tt.run(s, tt.ts0)
			if want := tt.want(); !slices.Equal(s.out, want) {
				t.Fatalf("played %s\nwant   %s", summarize(s.out), summarize(want))
			}
		})
	}
}

// summarize shows a played stream as runs of equal samples.
func summarize(pcm []int16) string {
	out := ""
	for i := 0; i < len(pcm); {
		j := i
		for j < len(pcm) && pcm[j] == pcm[i] {
			j++
		}
		out += fmt.Sprintf("%d×%d ", j-i, pcm[i])
		i = j
	}
	return out
}

// TestJitterLate: a packet that arrives after its playout is dropped; one
// that straddles the playout point keeps its later part; a run of late
// packets (a sender slower than our clock) resyncs instead of going silent.
func TestJitterLate(t *testing.T) {
	const ssrc = 1
	s := &jbSim{t: t}
	s.push(ssrc, 0, 160, frameByte(0))
	for range 5 {
		s.pop() // plays [−320, 480): frame 0, then silence past it
	}
	if s.push(ssrc, 160, 160, frameByte(1)) {
		t.Fatal("a packet behind the playout point was taken")
	}
	// play is at 480: a packet at 400 keeps its last 80 samples.
	if !s.push(ssrc, 400, 160, frameByte(2)) {
		t.Fatal("a packet straddling the playout point was dropped")
	}
	s.out = nil
	s.pop()
	if want := append(level(frameByte(2), 80), silence(80)...); !slices.Equal(s.out, want) {
		t.Fatalf("played %s, want %s", summarize(s.out), summarize(want))
	}
	// Those were two late packets in a row; the third resyncs on itself.
	if !s.push(ssrc, 0, 160, frameByte(3)) {
		t.Fatal("the third late packet in a row did not resync the buffer")
	}
	s.out = nil
	s.pop()
	s.pop()
	s.pop()
	if want := append(silence(320), level(frameByte(3), 160)...); !slices.Equal(s.out, want) {
		t.Fatalf("after resync played %s, want %s", summarize(s.out), summarize(want))
	}
}

// TestJitterBoundedLead: a sender faster than the clock (or a burst after a
// stall) does not grow the delay without bound: the buffer skips ahead.
func TestJitterBoundedLead(t *testing.T) {
	s := &jbSim{t: t}
	ts := uint32(0)
	maxLead := int32(0)
	for range 200 {
		// Two packets per tick: twice real time.
		s.push(9, ts, 160, frameByte(int(ts/160)))
		s.push(9, ts+160, 160, frameByte(int(ts/160)+1))
		ts += 320
		s.pop()
		maxLead = max(maxLead, int32(s.jb.end-s.jb.play))
	}
	if maxLead > jbMaxLead+2*frameSamples {
		t.Fatalf("buffered up to %d samples, want ≤ %d", maxLead, jbMaxLead+2*frameSamples)
	}
	for i, v := range s.out[len(s.out)-160*50:] {
		if v == 0 {
			t.Fatalf("sample %d of the last second is silent: the buffer starved", i)
		}
	}
}

// TestJitterALawAndAdvance: A-law decodes as A-law; advance (skipped
// clock ticks) drops audio and keeps the rest in place.
func TestJitterALawAndAdvance(t *testing.T) {
	var jb jitterBuffer
	payload := alawFrame(tone(500, 8000, 0, 480))
	if !jb.push(3, 1000, payload, kindALaw) {
		t.Fatal("push refused")
	}
	if jb.delay != 480+160 {
		t.Fatalf("delay for 60 ms packets = %d, want a packet and a frame", jb.delay)
	}
	jb.advance(jb.delay + 160) // skip the delay and the first frame
	var f [frameSamples]int16
	if !jb.pop(&f) {
		t.Fatal("pop after advance: no data")
	}
	want := make([]int16, 160)
	g711.DecodeALaw(want, payload[160:320])
	if !slices.Equal(f[:], want) {
		t.Fatal("frame after advance is not the packet's second 20 ms in A-law")
	}
	if err := jitterInvariant(&jb); err != nil {
		t.Fatal(err)
	}
	if jb.push(3, 2000, make([]byte, jbMaxPacket+1), kindULaw) || jb.push(3, 2000, nil, kindULaw) || jb.push(3, 2000, payload, kindDTMF) {
		t.Fatal("an oversized, empty or non-audio payload was taken")
	}
}

// FuzzJitter feeds datagrams through the reader's parse and the jitter
// buffer, interleaved with clock ticks and skips, and checks the buffer's
// invariant after every step. Input: [ctrl][len][datagram]…; ctrl's low two
// bits are ticks to run after the datagram, bit 2 asks for a skip of
// ctrl>>3 frames.
func FuzzJitter(f *testing.F) {
	pkt := func(ssrc uint32, seq uint16, ts uint32, pt byte, n int) []byte {
		b := make([]byte, rtpFixedLen+n)
		putRTPHeader(b, false, pt, seq, ts, ssrc)
		for i := rtpFixedLen; i < len(b); i++ {
			b[i] = byte(i)
		}
		return b
	}
	seed := func(pkts ...[]byte) []byte {
		var out []byte
		for i, p := range pkts {
			out = append(out, byte(1+i%2), byte(len(p)))
			out = append(out, p...)
		}
		return out
	}
	f.Add(seed(pkt(1, 1, 0, 0, 160), pkt(1, 2, 160, 0, 160), pkt(1, 3, 320, 0, 160)))
	f.Add(seed(pkt(1, 1, 0, 8, 160), pkt(1, 3, 320, 8, 160), pkt(1, 2, 160, 8, 160)))
	f.Add(seed(pkt(1, 1, 0, 0, 240), pkt(2, 9, 1<<31, 0, 240), pkt(2, 10, 1<<31+240, 0, 80)))
	f.Add(seed(pkt(1, 1, 0xffffff00, 0, 160), pkt(1, 2, 0xffffffa0, 0, 160), pkt(1, 3, 0x40, 0, 160)))
	f.Add([]byte{0x0c, 0x00, 0xff, 0x05, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var jb jitterBuffer
		var frame [frameSamples]int16
		for len(data) >= 2 {
			ctrl, n := data[0], int(data[1])
			data = data[2:]
			n = min(n, len(data))
			dgram := data[:n]
			data = data[n:]
			var h rtpHeader
			if parseRTP(dgram, &h) {
				kind := kindULaw
				if h.pt == PCMA.PayloadType {
					kind = kindALaw
				}
				jb.push(h.ssrc, h.ts, dgram[h.payloadOff:h.payloadEnd], kind)
				if err := jitterInvariant(&jb); err != nil {
					t.Fatalf("after push ts=%d len=%d: %v", h.ts, h.payloadEnd-h.payloadOff, err)
				}
			}
			if ctrl&4 != 0 {
				jb.advance(uint32(ctrl>>3) * frameSamples)
			}
			for range ctrl & 3 {
				jb.pop(&frame)
			}
			if err := jitterInvariant(&jb); err != nil {
				t.Fatalf("after ticks: %v", err)
			}
		}
	})
}

// TestWAVHeader pins the recording header layout.
func TestWAVHeader(t *testing.T) {
	h := wavHeader(36+640, 640)
	if len(h) != wavHeaderLen {
		t.Fatalf("header of %d bytes", len(h))
	}
	le := binary.LittleEndian
	if string(h[0:4]) != "RIFF" || string(h[8:16]) != "WAVEfmt " || string(h[36:40]) != "data" {
		t.Fatalf("header %q", h)
	}
	if le.Uint16(h[22:]) != 2 || le.Uint32(h[24:]) != 8000 || le.Uint32(h[28:]) != 32000 || le.Uint16(h[32:]) != 4 || le.Uint16(h[34:]) != 16 {
		t.Fatalf("fmt chunk %x", h[20:36])
	}
}
