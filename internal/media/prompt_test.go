package media

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// constPCM is n samples of one level, so a frame tells which prompt (or
// which music frame) it came from.
func constPCM(level int16, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = level
	}
	return s
}

func TestPromptQueueFill(t *testing.T) {
	a := NewPrompt("a", constPCM(1000, 100)) // shorter than a frame
	b := NewPrompt("b", constPCM(2000, 300))
	pb := &Playback{done: make(chan struct{})}
	q := promptQueue{seq: []*Prompt{a, b}, pb: pb}
	dst := make([]byte, frameSamples)

	if n := q.fill(dst, false); n != frameSamples {
		t.Fatalf("first frame: %d samples, want %d", n, frameSamples)
	}
	if got := g711.ULawToLinear(dst[99]); got < 900 || got > 1100 {
		t.Errorf("sample 99 = %d, want prompt a (1000)", got)
	}
	if got := g711.ULawToLinear(dst[100]); got < 1900 || got > 2100 {
		t.Errorf("sample 100 = %d, want prompt b (2000)", got)
	}
	if n := q.fill(dst, true); n != frameSamples {
		t.Fatalf("second frame: %d samples", n)
	}
	if got := g711.ALawToLinear(dst[0]); got < 1900 || got > 2100 {
		t.Errorf("A-law sample = %d, want prompt b (2000)", got)
	}
	select {
	case <-pb.Done():
		t.Fatal("playback done with 80 samples left")
	default:
	}
	// 400 samples in all: the third frame has 80, then the sequence ends.
	if n := q.fill(dst, false); n != 80 {
		t.Fatalf("third frame: %d samples, want 80", n)
	}
	select {
	case <-pb.Done():
	default:
		t.Fatal("playback not done at the end of the sequence")
	}
	if !pb.Finished() {
		t.Error("a sequence played to its end is not Finished")
	}
	if q.pb != nil || q.fill(dst, false) != 0 {
		t.Error("the queue still plays after its end")
	}
}

func TestSilencePromptAndDuration(t *testing.T) {
	p := SilencePrompt(300 * time.Millisecond)
	if p.Duration() != 300*time.Millisecond || len(p.ulaw) != 2400 {
		t.Fatalf("silence of %v (%d samples), want 300ms", p.Duration(), len(p.ulaw))
	}
	if g711.ULawToLinear(p.ulaw[0]) != 0 {
		t.Error("silence is not silent")
	}
}

// TestPromptsOverRTP plays two prompts to an endpoint holding music: the
// phone gets the prompts, then the music where it left off, in one RTP
// stream (one SSRC, consecutive sequence numbers, timestamps 160 apart).
func TestPromptsOverRTP(t *testing.T) {
	checkNoLeaks(t)
	var loop []int16
	for k := range 5 {
		loop = append(loop, constPCM(int16(1000*(k+1)), frameSamples)...)
	}
	e, err := NewEngine(EngineConfig{BindAddr: loopback, PortMin: 41940, PortMax: 41949, Hold: loop})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	ep := newTestEndpoint(t, e)
	p := newPhone(t)
	ep.SetRemote(p.addr(), PCMU, 0)

	type frame struct {
		level  int
		seq    uint16
		ts     uint32
		ssrc   uint32
		marker bool
	}
	next := func() frame {
		pkt := p.mustRecv("hold audio")
		v := int(g711.ULawToLinear(pkt.Payload[frameSamples/2]))
		return frame{level: (v + 500) / 1000 * 1000, seq: pkt.SequenceNumber, ts: pkt.Timestamp, ssrc: pkt.SSRC, marker: pkt.Marker}
	}
	ep.StartMusic()
	var got []frame
	got = append(got, next(), next()) // music 1000, 2000
	// Prompts of two frames (7000) and one frame (8000), one after the other.
	pb := ep.PlayPrompts(NewPrompt("x", constPCM(7000, 2*frameSamples)), NewPrompt("y", constPCM(8000, frameSamples)))
	for len(got) < 12 {
		got = append(got, next())
	}
	select {
	case <-pb.Done():
	case <-time.After(time.Second):
		t.Fatal("playback not done after the sequence")
	}
	if !pb.Finished() {
		t.Error("playback not finished")
	}
	ep.StopMusic()

	var levels []int
	for i, f := range got {
		levels = append(levels, f.level)
		if i == 0 {
			continue
		}
		prev := got[i-1]
		if f.ssrc != prev.ssrc || f.seq != prev.seq+1 || f.ts != prev.ts+frameSamples {
			t.Errorf("frame %d: ssrc %x seq %d ts %d after ssrc %x seq %d ts %d: stream not continuous",
				i, f.ssrc, f.seq, f.ts, prev.ssrc, prev.seq, prev.ts)
		}
		if f.marker {
			t.Errorf("frame %d: marker set inside one stream", i)
		}
	}
	// Find the prompts: 7000, 7000, 8000, then the music resumes with the
	// frame after the last one played before them.
	i := 0
	for i < len(levels) && levels[i] != 7000 {
		i++
	}
	if i+3 >= len(levels) || levels[i+1] != 7000 || levels[i+2] != 8000 {
		t.Fatalf("levels %v: want the prompts 7000 7000 8000 in a row", levels)
	}
	if before, after := levels[i-1], levels[i+3]; after != before%5000+1000 {
		t.Errorf("levels %v: music resumed at %d after %d, want the next frame", levels, after, before)
	}
}

func TestPromptsCutShort(t *testing.T) {
	checkNoLeaks(t)
	e := newTestEngine(t, 41950, 41959)
	ep := newTestEndpoint(t, e)
	p := newPhone(t)
	ep.SetRemote(p.addr(), PCMU, 0)
	long := NewPrompt("long", constPCM(3000, 8000*10))

	// PlayPrompts starts the music by itself; StopMusic ends the prompts.
	pb := ep.PlayPrompts(long)
	p.mustRecv("prompt")
	ep.StopMusic()
	<-pb.Done()
	if pb.Finished() {
		t.Error("a prompt cut by StopMusic reports Finished")
	}
	// A new sequence replaces one playing; StopPrompts leaves the music on.
	first := ep.PlayPrompts(long)
	second := ep.PlayPrompts(long)
	<-first.Done()
	if first.Finished() {
		t.Error("a replaced sequence reports Finished")
	}
	ep.StopPrompts()
	<-second.Done()
	// Drop what was sent before: the music goes on streaming, so wait a
	// bounded while rather than for a quiet gap that never comes.
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
		if _, ok := p.recv(40 * time.Millisecond); !ok {
			break
		}
	}
	if _, ok := p.recv(200 * time.Millisecond); !ok {
		t.Error("no music after StopPrompts")
	}
	third := ep.PlayPrompts(long)
	_ = ep.Close()
	<-third.Done()
	if third.Finished() {
		t.Error("a sequence cut by Close reports Finished")
	}
	if done := ep.PlayPrompts(long); done.Finished() {
		t.Error("PlayPrompts on a closed endpoint reports Finished")
	}
}
