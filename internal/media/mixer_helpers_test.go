package media

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Mixer tests use ports 41100-41299, 41520-41549 and 41820-41879; the
// mixer benchmarks (which run one at a time) use 58000-59999.

// talker is a phone that sends a continuous tone to its endpoint in real
// time (one packet per ptime) from its own goroutine, like a caller
// speaking, and receives what the mixer sends it.
type talker struct {
	*phone
	ep    *Endpoint
	codec Codec
	freq  float64
	amp   float64
	ptime int // samples per packet: 160 (20 ms) or 240 (30 ms)
}

// conference is an engine, a mixer and its talking members.
type conference struct {
	t    *testing.T
	e    *Engine
	mx   *Mixer
	m    []*talker
	stop chan struct{}
	wg   sync.WaitGroup
}

// memberSpec describes one member: its codec, tone and packet size.
type memberSpec struct {
	codec Codec
	freq  float64
	amp   float64 // 0: 8000 (about -12 dBFS)
	ptime int     // 0: 160 samples
}

// newConference adds one endpoint per spec to a new mixer, each facing a
// phone; nobody hears anybody yet and nobody talks until talk.
func newConference(t *testing.T, lo, hi int, specs ...memberSpec) *conference {
	t.Helper()
	c := &conference{t: t, e: newTestEngine(t, lo, hi), stop: make(chan struct{})}
	mx, err := c.e.NewMixer()
	if err != nil {
		t.Fatalf("NewMixer: %v", err)
	}
	c.mx = mx
	for i, s := range specs {
		tk := &talker{phone: newPhone(t), ep: newTestEndpoint(t, c.e), codec: s.codec, freq: s.freq, amp: s.amp, ptime: s.ptime}
		tk.ssrc = 0x100 + uint32(i)
		if tk.amp == 0 {
			tk.amp = 8000
		}
		if tk.ptime == 0 {
			tk.ptime = frameSamples
		}
		tk.ep.SetRemote(tk.addr(), s.codec, 101)
		if err := mx.Add(tk.ep); err != nil {
			t.Fatalf("Add member %d: %v", i, err)
		}
		c.m = append(c.m, tk)
	}
	t.Cleanup(c.quiet)
	return c
}

// talk starts every member's sender goroutine.
func (c *conference) talk() {
	for _, tk := range c.m {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			tk.talk(c.stop)
		}()
	}
}

// quiet stops the senders. Idempotent.
func (c *conference) quiet() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.wg.Wait()
}

// talk sends the tone until stop, one packet per ptime, with continuous
// phase, sequence numbers and timestamps. Send errors (the endpoint was
// closed by the test) are ignored.
func (tk *talker) talk(stop <-chan struct{}) {
	tick := time.NewTicker(time.Duration(tk.ptime) * time.Second / 8000)
	defer tick.Stop()
	pkt := make([]byte, rtpFixedLen+tk.ptime)
	seq, ts := uint16(tk.ssrc), uint32(tk.ssrc)*1000
	for i := 0; ; i++ {
		pcm := tone(tk.freq, tk.amp, i*tk.ptime, tk.ptime)
		if tk.codec.Name == PCMA.Name {
			copy(pkt[rtpFixedLen:], alawFrame(pcm))
		} else {
			copy(pkt[rtpFixedLen:], ulawFrame(pcm))
		}
		putRTPHeader(pkt, i == 0, tk.codec.PayloadType, seq, ts, tk.ssrc)
		_, _ = tk.conn.WriteToUDPAddrPort(pkt, tk.ep.LocalAddr())
		seq++
		ts += uint32(tk.ptime)
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// listen discards what is queued and what arrives in the next 120 ms (a
// change of speakers reaching the jitter buffers' output), then returns the next n packets the member receives and their
// decoded audio. Bounded: each packet must come within 2 s.
func (tk *talker) listen(t *testing.T, n int) ([]rtp.Packet, []int16) {
	t.Helper()
	end := time.Now().Add(120 * time.Millisecond)
	for time.Now().Before(end) {
		tk.recv(10 * time.Millisecond)
	}
	return tk.collect(t, n)
}

// listenAll is listen for every member at once: one 120 ms wait, then n
// packets from each (the others' packets queue in their sockets meanwhile).
func (c *conference) listenAll(t *testing.T, n int) ([][]rtp.Packet, [][]int16) {
	t.Helper()
	end := time.Now().Add(120 * time.Millisecond)
	for time.Now().Before(end) {
		for _, tk := range c.m {
			for {
				if _, ok := tk.recv(time.Millisecond); !ok {
					break
				}
			}
		}
	}
	pkts := make([][]rtp.Packet, len(c.m))
	pcm := make([][]int16, len(c.m))
	for i, tk := range c.m {
		pkts[i], pcm[i] = tk.collect(t, n)
	}
	return pkts, pcm
}

// collect returns the next n packets and their decoded audio.
func (tk *talker) collect(t *testing.T, n int) ([]rtp.Packet, []int16) {
	t.Helper()
	var pkts []rtp.Packet
	var pcm []int16
	alawPT := alawPTFor(tk.codec)
	for range n {
		p := tk.mustRecv("mixed audio")
		pkts = append(pkts, p)
		pcm = append(pcm, decodeFrame(p.Payload, p.PayloadType, alawPT)...)
	}
	return pkts, pcm
}

// Thresholds for "hears" on toneShare: two or three equal tones get about
// a half or a third of the power each; an absent one (G.711 noise, the
// edges of a lost frame) stays far below 2 %.
const (
	hearsShare  = 0.2
	absentShare = 0.02
)

// checkHears asserts that pcm contains exactly the tones of the members
// listed in hears, out of all of c's members.
func (c *conference) checkHears(t *testing.T, who string, pcm []int16, hears ...int) {
	t.Helper()
	for i, tk := range c.m {
		s := toneShare(pcm, tk.freq)
		want := false
		for _, h := range hears {
			want = want || h == i
		}
		switch {
		case want && s < hearsShare:
			t.Errorf("%s should hear member %d (%v Hz): share %.3f", who, i, tk.freq, s)
		case !want && s > absentShare:
			t.Errorf("%s should not hear member %d (%v Hz): share %.3f", who, i, tk.freq, s)
		}
	}
}

// checkMixedStream: one SSRC, consecutive sequence numbers, timestamps
// moving on by whole frames (a skipped tick under load moves two), and the
// listener's payload type.
func checkMixedStream(pkts []rtp.Packet, pt uint8) error {
	for i, p := range pkts {
		if p.PayloadType != pt {
			return fmt.Errorf("packet %d: PT %d, want %d", i, p.PayloadType, pt)
		}
		if len(p.Payload) != frameSamples {
			return fmt.Errorf("packet %d: %d bytes of payload", i, len(p.Payload))
		}
		if i == 0 {
			continue
		}
		q := pkts[i-1]
		if p.SSRC != q.SSRC {
			return fmt.Errorf("packet %d: SSRC %#x after %#x", i, p.SSRC, q.SSRC)
		}
		if p.SequenceNumber != q.SequenceNumber+1 {
			return fmt.Errorf("packet %d: seq %d after %d", i, p.SequenceNumber, q.SequenceNumber)
		}
		if d := p.Timestamp - q.Timestamp; d == 0 || d%frameSamples != 0 || d > 50*frameSamples {
			return fmt.Errorf("packet %d: timestamp step %d", i, d)
		}
	}
	return nil
}
