package media

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// Members A, B and C talk at 500, 1000 and 1500 Hz: each tone is a whole
// number of cycles per 20 ms frame, so their Goertzel bins are orthogonal.
const (
	memA = iota
	memB
	memC
)

// TestMixerWhoHearsWhom: real phones on loopback send real G.711 RTP and
// each hears, by tone, exactly its speaker set and never itself.
func TestMixerWhoHearsWhom(t *testing.T) {
	pcmaDyn := Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
	pcmuDyn := Codec{Name: "PCMU", PayloadType: 96, ClockRate: 8000}
	tests := []struct {
		name  string
		specs []memberSpec
		hears [3][]int // per listener
	}{
		{
			name:  "conference: each hears the other two",
			specs: []memberSpec{{codec: PCMU, freq: 500}, {codec: PCMU, freq: 1000}, {codec: PCMU, freq: 1500}},
			hears: [3][]int{{memB, memC}, {memA, memC}, {memA, memB}},
		},
		{
			name:  "whisper: B hears A and C, A hears B only, C hears A and B",
			specs: []memberSpec{{codec: PCMU, freq: 500}, {codec: PCMU, freq: 1000}, {codec: PCMU, freq: 1500}},
			hears: [3][]int{{memB}, {memA, memC}, {memA, memB}},
		},
		{
			name:  "listen: C hears A and B, nobody hears C",
			specs: []memberSpec{{codec: PCMU, freq: 500}, {codec: PCMU, freq: 1000}, {codec: PCMU, freq: 1500}},
			hears: [3][]int{{memB}, {memA}, {memA, memB}},
		},
		{
			name: "mixed laws and ptimes: PCMU, PCMA at 30 ms, PCMU as PT 96",
			specs: []memberSpec{{codec: PCMU, freq: 500}, {codec: pcmaDyn, freq: 1000, ptime: 240},
				{codec: pcmuDyn, freq: 1500}},
			hears: [3][]int{{memB, memC}, {memA, memC}, {memA, memB}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			lo := 41100 + 20*i
			c := newConference(t, lo, lo+19, tt.specs...)
			for l, hears := range tt.hears {
				// Listing the listener itself must not make it hear itself.
				speakers := []*Endpoint{c.m[l].ep}
				for _, s := range hears {
					speakers = append(speakers, c.m[s].ep)
				}
				if err := c.mx.SetHears(c.m[l].ep, speakers...); err != nil {
					t.Fatalf("SetHears: %v", err)
				}
			}
			c.talk()
			pkts, pcm := c.listenAll(t, 20)
			for l, tk := range c.m {
				who := fmt.Sprintf("member %d", l)
				if err := checkMixedStream(pkts[l], tk.codec.PayloadType); err != nil {
					t.Errorf("%s: %v", who, err)
				}
				c.checkHears(t, who, pcm[l], tt.hears[l]...)
			}
			c.quiet()
			if st := c.e.Stats(); st.MixerFrames == 0 || st.PacketsMixed == 0 || st.MixerTicks == 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestMixerClamp: two loud inputs in phase sum past int16; the mix clips
// at full scale instead of wrapping around to the opposite sign.
func TestMixerClamp(t *testing.T) {
	t.Run("render", func(t *testing.T) {
		e := newTestEngine(t, 41180, 41189)
		mx, err := e.NewMixer()
		if err != nil {
			t.Fatal(err)
		}
		defer mx.Close()
		a, b, c := newTestEndpoint(t, e), newTestEndpoint(t, e), newTestEndpoint(t, e)
		for _, ep := range []*Endpoint{a, b, c} {
			if err := mx.Add(ep); err != nil {
				t.Fatal(err)
			}
		}
		for _, hears := range [][]*Endpoint{{b, c}, {a, c}, {a, b}} { // plans with and without the total
			if err := mx.SetHears(c, hears...); err != nil {
				t.Fatal(err)
			}
			for _, alaw := range []bool{false, true} {
				// a = b = +20000, c = -20000, alternating sign per sample:
				// c hearing a and b (total minus c) is ±40000, which must clip.
				mx.mu.Lock()
				for i, m := range mx.members {
					m.active = true
					for j := range m.cur {
						m.cur[j] = [3]int16{20000, 20000, -20000}[i] * int16(1-2*(j%2))
					}
				}
				mx.totalActive = true
				mx.total = [frameSamples]int32{}
				for _, m := range mx.members {
					addFrame(&mx.total, &m.cur)
				}
				l := mx.member(c)
				mx.render(l, alaw)
				out := slices.Clone(l.pkt[rtpFixedLen:])
				mx.mu.Unlock()
				pcm := make([]int16, frameSamples)
				if alaw {
					g711.DecodeALaw(pcm, out)
				} else {
					g711.DecodeULaw(pcm, out)
				}
				sum := 0 // what c hears, in units of 20000
				for _, h := range hears {
					if h != c {
						sum += map[*Endpoint]int{a: 1, b: 1}[h]
					}
				}
				for j, v := range pcm {
					got := int(v) * (1 - 2*(j%2))
					switch {
					case sum == 2 && got < 31000:
						t.Fatalf("hears a and b, alaw %v: sample %d = %d, want clipped at full scale", alaw, j, v)
					case sum == 1 && (got < 19000 || got > 21000):
						t.Fatalf("hears one, alaw %v: sample %d = %d, want about ±20000", alaw, j, v)
					}
				}
			}
		}
	})
	t.Run("udp", func(t *testing.T) {
		checkNoLeaks(t)
		c := newConference(t, 41190, 41199,
			memberSpec{codec: PCMU, freq: 500, amp: 30000},
			memberSpec{codec: PCMU, freq: 500, amp: 30000},
			memberSpec{codec: PCMA, freq: 1000}) // symmetric clipping adds odd harmonics only: 1500 Hz, not 1000 Hz
		if err := c.mx.SetHears(c.m[memC].ep, c.m[memA].ep, c.m[memB].ep); err != nil {
			t.Fatal(err)
		}
		c.talk()
		_, pcm := c.m[memC].listen(t, 20)
		// 500 Hz is 10 whole cycles per 20 ms frame, and the jitter buffers
		// play whole packets, so every frame C receives starts at phase 0:
		// sample j should be clip(60000·sin(2πj/16)). Wrapped around instead
		// of clipped, the positive peaks would come out negative (60000 →
		// -5536) and vice versa. Frames that lost a packet under load carry
		// less or nothing, never the opposite sign.
		if s := toneShare(pcm, 500); s < hearsShare {
			t.Errorf("C: 500 Hz share %.2f, want ≥ %v", s, hearsShare)
		}
		if s := toneShare(pcm, 1000); s > absentShare {
			t.Errorf("C hears itself: 1000 Hz share %.3f", s)
		}
		clipped, wrong := 0, 0
		for i, v := range pcm {
			ref := math.Sin(2 * math.Pi * float64(i%frameSamples) / 16)
			switch {
			case ref > 0.9 && v < -1000, ref < -0.9 && v > 1000:
				wrong++
			case ref > 0.9 && v >= 31000, ref < -0.9 && v <= -31000:
				clipped++
			}
		}
		if wrong > 0 {
			t.Errorf("%d peaks of the loud mix have the wrong sign: the sum wrapped around", wrong)
		}
		if clipped < 5*40 { // 40 samples with |ref| > 0.9 per frame
			t.Errorf("%d samples at full scale, want the peaks of at least 5 frames clipped", clipped)
		}
	})
}

// TestMixerRemoveThenConnect: members leave the mixer and are bridged;
// the listener's stream keeps one SSRC and gap-free sequence numbers
// through mixer → relay, with the marker on the switch.
func TestMixerRemoveThenConnect(t *testing.T) {
	checkNoLeaks(t)
	c := newConference(t, 41220, 41239, memberSpec{codec: PCMU, freq: 500}, memberSpec{codec: PCMA, freq: 1000})
	a, b := c.m[memA], c.m[memB]
	if err := c.mx.SetHears(a.ep, b.ep); err != nil {
		t.Fatal(err)
	}
	if err := c.mx.SetHears(b.ep, a.ep); err != nil {
		t.Fatal(err)
	}
	c.talk()
	mixed, pcm := a.listen(t, 10)
	c.checkHears(t, "A in the mixer", pcm, memB)

	c.mx.Remove(a.ep)
	c.mx.Remove(b.ep)
	c.mx.Remove(b.ep) // idempotent
	if n := c.mx.Len(); n != 0 {
		t.Fatalf("Len after removing both = %d", n)
	}
	if _, err := c.e.Connect(a.ep, b.ep); err != nil {
		t.Fatalf("Connect after Remove: %v", err)
	}
	relayed, pcm := a.collect(t, 20)
	c.quiet()
	relayed = append(relayed, drainPackets(a.phone)...)
	c.checkHears(t, "A bridged to B", pcm[len(pcm)-10*frameSamples:], memB)

	all := slices.Concat(mixed, relayed)
	seqs := make([]int, len(all))
	switches := 0
	for i, p := range all {
		if p.SSRC != all[0].SSRC {
			t.Fatalf("packet %d: SSRC %#x, want %#x throughout", i, p.SSRC, all[0].SSRC)
		}
		seqs[i] = int(p.SequenceNumber - all[0].SequenceNumber)
		if p.Marker && i > 0 {
			switches++
		}
	}
	slices.Sort(seqs)
	for i := range seqs {
		if seqs[i] != i {
			t.Fatalf("sequence numbers not contiguous through mixer → relay: %v", seqs)
		}
	}
	if switches != 1 {
		t.Errorf("%d packets with the marker after the first, want 1 (the switch to relay)", switches)
	}
}

// TestMixerEndpointClose: closing a member's endpoint takes it out of
// the mixer; the others carry on.
func TestMixerEndpointClose(t *testing.T) {
	checkNoLeaks(t)
	c := newConference(t, 41240, 41259,
		memberSpec{codec: PCMU, freq: 500}, memberSpec{codec: PCMU, freq: 1000}, memberSpec{codec: PCMU, freq: 1500})
	for l, tk := range c.m {
		var others []*Endpoint
		for s, o := range c.m {
			if s != l {
				others = append(others, o.ep)
			}
		}
		if err := c.mx.SetHears(tk.ep, others...); err != nil {
			t.Fatal(err)
		}
	}
	c.talk()
	_, pcm := c.m[memC].listen(t, 10)
	c.checkHears(t, "C before", pcm, memA, memB)

	if err := c.m[memB].ep.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := c.mx.Len(); n != 2 {
		t.Fatalf("Len after closing a member = %d, want 2", n)
	}
	_, pcm = c.m[memC].listen(t, 15)
	c.checkHears(t, "C after B closed", pcm, memA)
	_, pcm = c.m[memA].listen(t, 10)
	c.checkHears(t, "A after B closed", pcm, memC)
	c.m[memB].drain(30 * time.Millisecond)
	if n := c.m[memB].drain(60 * time.Millisecond); n != 0 {
		t.Errorf("closed member's phone got %d packets", n)
	}
	c.mx.Close()
	c.mx.Close() // idempotent
	if err := c.mx.Add(c.m[memA].ep); !errors.Is(err, ErrMixerClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	// After Close the members are free again.
	if _, err := c.e.Connect(c.m[memA].ep, c.m[memC].ep); err != nil {
		t.Errorf("Connect after mixer Close: %v", err)
	}
}

// TestMixerDTMF: a member's RFC 4733 digits reach OnDTMF and are not
// mixed into what the others hear.
func TestMixerDTMF(t *testing.T) {
	checkNoLeaks(t)
	c := newConference(t, 41260, 41279, memberSpec{codec: PCMU, freq: 500}, memberSpec{codec: PCMU, freq: 1000})
	a, b := c.m[memA], c.m[memB]
	digits := make(chan byte, 4)
	a.ep.OnDTMF(func(d byte, _ int) { digits <- d })
	if err := c.mx.SetHears(b.ep, a.ep); err != nil {
		t.Fatal(err)
	}
	// RFC 4733 §2.5.1.4: the end packet three times, one timestamp.
	for range 3 {
		a.sendPacket(a.ep.LocalAddr(), false, 101, 7, 9000, []byte{5, 0x80 | 10, 0x03, 0x20})
	}
	select {
	case d := <-digits:
		if d != '5' {
			t.Fatalf("digit %q, want '5'", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no digit within 2s")
	}
	pkts, _ := b.collect(t, 10)
	for _, p := range pkts {
		if p.PayloadType != PCMU.PayloadType {
			t.Fatalf("B got PT %d: a DTMF packet went through the mixer", p.PayloadType)
		}
	}
	if st := c.e.Stats(); st.DTMFEvents != 1 || st.PacketsMixed != 0 || st.PacketsDropped != 3 {
		t.Errorf("stats %+v, want 1 digit, 3 packets not mixed", st)
	}
}

// TestMixerMusicTakesPrecedence: a member on hold hears the music clock
// only; its stream stays one SSRC through mixer → music → mixer.
func TestMixerMusicTakesPrecedence(t *testing.T) {
	checkNoLeaks(t)
	c := newConference(t, 41280, 41299, memberSpec{codec: PCMU, freq: 500}, memberSpec{codec: PCMU, freq: 1000})
	a, b := c.m[memA], c.m[memB]
	if err := c.mx.SetHears(a.ep, b.ep); err != nil {
		t.Fatal(err)
	}
	if err := c.mx.SetHears(b.ep, a.ep); err != nil {
		t.Fatal(err)
	}
	c.talk()
	before, _ := a.listen(t, 5)

	a.ep.StartMusic()
	music, pcm := a.listen(t, 25)
	if s := toneShare(pcm, 1000); s > 0.05 {
		t.Errorf("A on hold hears B (1000 Hz share %.2f)", s)
	}
	if p := meanPower(pcm); p < 1e5 {
		t.Errorf("A on hold: music power %.0f, want audible", p)
	}
	_, pcm = b.listen(t, 10)
	if s := toneShare(pcm, 500); s > absentShare {
		t.Errorf("B hears A while A is on hold (500 Hz share %.3f)", s)
	}

	a.ep.StopMusic()
	after, pcm := a.listen(t, 10)
	c.checkHears(t, "A after hold", pcm, memB)
	all := slices.Concat(before, music, after)
	for i, p := range all {
		if p.SSRC != all[0].SSRC {
			t.Fatalf("packet %d: SSRC %#x, want %#x throughout", i, p.SSRC, all[0].SSRC)
		}
	}
	for _, part := range [][]rtp.Packet{music, after} {
		for i := 1; i < len(part); i++ {
			if part[i].SequenceNumber != part[i-1].SequenceNumber+1 {
				t.Fatalf("seq %d after %d: two sources at once?", part[i].SequenceNumber, part[i-1].SequenceNumber)
			}
		}
	}
}

func TestMixerErrors(t *testing.T) {
	checkNoLeaks(t)
	e := newTestEngine(t, 41520, 41539)
	other := newTestEngine(t, 41540, 41549)
	a, b, c, d := newTestEndpoint(t, e), newTestEndpoint(t, e), newTestEndpoint(t, e), newTestEndpoint(t, e)
	x := newTestEndpoint(t, other)
	mx, err := e.NewMixer()
	if err != nil {
		t.Fatal(err)
	}
	mx2, err := e.NewMixer()
	if err != nil {
		t.Fatal(err)
	}
	if err := mx.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := mx.Add(a); err != nil {
		t.Errorf("Add of a member again: %v, want a no-op", err)
	}
	if err := mx.Add(x); err == nil {
		t.Error("Add across engines succeeded")
	}
	if _, err := e.Connect(a, b); !errors.Is(err, ErrInBridge) || !errors.Is(err, ErrInMixer) {
		t.Errorf("Connect of a mixer member: %v, want ErrInMixer (an ErrInBridge)", err)
	}
	if err := mx2.Add(a); !errors.Is(err, ErrInBridge) || !errors.Is(err, ErrInMixer) {
		t.Errorf("Add to a second mixer: %v, want ErrInMixer (an ErrInBridge)", err)
	}
	if _, err := e.Connect(b, c); err != nil {
		t.Fatal(err)
	}
	if err := mx.Add(b); !errors.Is(err, ErrInBridge) || errors.Is(err, ErrInMixer) {
		t.Errorf("Add of a bridged endpoint: %v, want ErrInBridge", err)
	}
	_ = d.Close()
	if err := mx.Add(d); !errors.Is(err, ErrEndpointClosed) {
		t.Errorf("Add of a closed endpoint: %v, want ErrEndpointClosed", err)
	}
	if err := mx.SetHears(a, b); !errors.Is(err, ErrNotInMixer) {
		t.Errorf("SetHears with a non-member speaker: %v, want ErrNotInMixer", err)
	}
	if err := mx.SetHears(b, a); !errors.Is(err, ErrNotInMixer) {
		t.Errorf("SetHears of a non-member listener: %v, want ErrNotInMixer", err)
	}
	if _, err := mx.Record(t.TempDir()+"/x.wav", []*Endpoint{b}, nil); !errors.Is(err, ErrNotInMixer) {
		t.Errorf("Record of a non-member: %v, want ErrNotInMixer", err)
	}
	mx.Remove(b) // not a member: no-op
	if n := mx.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
	mx2.Close()
	if err := mx2.SetHears(a); !errors.Is(err, ErrMixerClosed) {
		t.Errorf("SetHears after Close: %v", err)
	}
	if _, err := mx2.Record(t.TempDir()+"/y.wav", nil, nil); !errors.Is(err, ErrMixerClosed) {
		t.Errorf("Record after Close: %v", err)
	}
	if st := e.Stats(); st.Mixers != 1 {
		t.Errorf("Stats.Mixers = %d, want 1", st.Mixers)
	}
	_ = e.Close()
	if _, err := e.NewMixer(); !errors.Is(err, ErrEngineClosed) {
		t.Errorf("NewMixer after engine Close: %v", err)
	}
	if st := e.Stats(); st.Mixers != 0 {
		t.Errorf("Stats.Mixers after engine Close = %d", st.Mixers)
	}
}
