package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// stereoWAV is a parsed recording: per-channel audio, frame by frame.
type stereoWAV struct {
	left, right []int16
}

// readStereoWAV checks the header of a finished recording against the file
// and returns its channels.
func readStereoWAV(t *testing.T, path string) stereoWAV {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	switch {
	case len(b) < wavHeaderLen:
		t.Fatalf("%d bytes, shorter than a header", len(b))
	case string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" || string(b[12:16]) != "fmt " || string(b[36:40]) != "data":
		t.Fatalf("not a canonical RIFF/WAVE header: %q", b[:wavHeaderLen])
	case le.Uint32(b[4:]) != uint32(len(b)-8):
		t.Fatalf("RIFF size %d, file of %d bytes", le.Uint32(b[4:]), len(b))
	case le.Uint32(b[40:]) != uint32(len(b)-wavHeaderLen):
		t.Fatalf("data size %d, file of %d bytes", le.Uint32(b[40:]), len(b))
	case le.Uint16(b[20:]) != waveFormatPCM || le.Uint16(b[22:]) != 2 || le.Uint32(b[24:]) != 8000 || le.Uint16(b[34:]) != 16:
		t.Fatalf("fmt chunk %x: want PCM, 2 channels, 8000 Hz, 16 bits", b[20:36])
	case (len(b)-wavHeaderLen)%recFrameBytes != 0:
		t.Fatalf("data of %d bytes is not whole 20 ms frames", len(b)-wavHeaderLen)
	}
	var w stereoWAV
	for i := wavHeaderLen; i+4 <= len(b); i += 4 {
		w.left = append(w.left, int16(le.Uint16(b[i:])))
		w.right = append(w.right, int16(le.Uint16(b[i+2:])))
	}
	return w
}

func silentFrame(s []int16) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

// mixerTicks is mx's tick count.
func mixerTicks(mx *Mixer) uint64 {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	return mx.ticks
}

// waitTicks waits (bounded) until the engine's mixers have ticked n more times.
func waitTicks(t *testing.T, e *Engine, n uint64) {
	t.Helper()
	start := e.Stats().MixerTicks
	eventually(t, 5*time.Second, func() error {
		if got := e.Stats().MixerTicks - start; got < n {
			return fmt.Errorf("%d of %d mixer ticks", got, n)
		}
		return nil
	})
}

// TestRecording: customer A (500 Hz) on the left, agent B (1000 Hz) on the
// right; a paused span is recorded as silence in place; SetChannels swaps
// the sides; the file is a valid stereo WAV, mode 0600; Stop twice is fine.
func TestRecording(t *testing.T) {
	checkNoLeaks(t)
	c := newConference(t, 41820, 41839, memberSpec{codec: PCMU, freq: 500}, memberSpec{codec: PCMA, freq: 1000})
	a, b := c.m[memA], c.m[memB]
	if err := c.mx.SetHears(a.ep, b.ep); err != nil {
		t.Fatal(err)
	}
	if err := c.mx.SetHears(b.ep, a.ep); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "call.wav")
	rec, err := c.mx.Record(path, []*Endpoint{a.ep}, []*Endpoint{b.ep})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if _, err := c.mx.Record(path, nil, nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Record onto an existing file: %v, want fs.ErrExist", err)
	}
	c.talk()
	// Record sound for a while: the phones are sending (under load they
	// may start late), and 15 more ticks have passed.
	eventually(t, 5*time.Second, func() error {
		if n := c.e.Stats().PacketsMixed; n < 2*10 {
			return fmt.Errorf("%d packets mixed", n)
		}
		return nil
	})
	waitTicks(t, c.e, 15)
	rec.Pause()
	if !rec.Paused() {
		t.Fatal("Paused() false after Pause")
	}
	// Every tick after this one captures after Pause; every tick up to the
	// one read before Resume captured before it: those frames are paused.
	pausedFrom := mixerTicks(c.mx) + 1
	waitTicks(t, c.e, 15)
	rec.SetChannels([]*Endpoint{b.ep}, []*Endpoint{a.ep, b.ep, nil}) // swapped; a non-member is ignored
	rec.SetChannels([]*Endpoint{b.ep}, []*Endpoint{a.ep})
	pausedTo := mixerTicks(c.mx)
	rec.Resume()
	waitTicks(t, c.e, 20)
	info, err := rec.Stop()
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if info2, err2 := rec.Stop(); info2 != info || err2 != nil {
		t.Errorf("second Stop: %+v, %v; want %+v, nil", info2, err2, info)
	}
	rec.Pause() // after Stop: harmless
	rec.SetChannels(nil, nil)

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if info.Path != path || info.Bytes != st.Size() {
		t.Errorf("info %+v, file of %d bytes", info, st.Size())
	}
	w := readStereoWAV(t, path)
	if want := time.Duration(len(w.left)) * time.Second / 8000; info.Duration != want || want < time.Second {
		t.Errorf("Duration %v, want %v (≥ 1 s)", info.Duration, want)
	}

	// Frames (one per tick since rec.first): sound, then the paused ones,
	// all digital silence, then sound again. Under load a phone may stall,
	// which leaves silent frames too: sound is checked where there is some.
	nf := len(w.left) / frameSamples
	p0, p1 := int(pausedFrom-rec.first), int(pausedTo-rec.first)+1
	if p1-p0 < 15 || p1 > nf {
		t.Fatalf("paused frames [%d, %d) of %d, want 15 or more within the file", p0, p1, nf)
	}
	for f := p0; f < p1; f++ {
		if !silentFrame(w.left[f*frameSamples:(f+1)*frameSamples]) || !silentFrame(w.right[f*frameSamples:(f+1)*frameSamples]) {
			t.Fatalf("frame %d was recorded while paused [%d, %d)", f, p0, p1)
		}
	}
	// Sound before and after, skipping the frames at the edges (the tick
	// running while Pause and Resume were called).
	first, last := p0-1, p1+1
	span := func(ch []int16, from, to int) []int16 { return ch[from*frameSamples : to*frameSamples] }
	check := func(what string, pcm []int16, hear, not float64) {
		t.Helper()
		// ~1 unless a phone stalled; a whole test run under heavy load has
		// seen 0.26 (silent frames dilute the share). The wrong channel
		// would carry none of it.
		if s := toneShare(pcm, hear); s < 0.2 {
			t.Errorf("%s: %v Hz share %.3f, want ≥ 0.2", what, hear, s)
		}
		if s := toneShare(pcm, not); s > absentShare {
			t.Errorf("%s: %v Hz share %.3f, want none", what, not, s)
		}
	}
	check("left before the pause (customer)", span(w.left, 0, first), 500, 1000)
	check("right before the pause (agent)", span(w.right, 0, first), 1000, 500)
	check("left after SetChannels", span(w.left, last, nf), 1000, 500)
	check("right after SetChannels", span(w.right, last, nf), 500, 1000)
}

// TestRecordingMixerClose: closing the mixer finalises its recordings.
func TestRecordingMixerClose(t *testing.T) {
	checkNoLeaks(t)
	c := newConference(t, 41840, 41859, memberSpec{codec: PCMU, freq: 500})
	path := filepath.Join(t.TempDir(), "r.wav")
	rec, err := c.mx.Record(path, []*Endpoint{c.m[0].ep}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.talk()
	waitTicks(t, c.e, 10)
	c.mx.Close()
	info, err := rec.Stop()
	if err != nil {
		t.Fatalf("Stop after mixer Close: %v", err)
	}
	w := readStereoWAV(t, path)
	if len(w.left) < 10*frameSamples || info.Bytes != int64(wavHeaderLen+4*len(w.left)) {
		t.Fatalf("%d samples, info %+v", len(w.left), info)
	}
	if !silentFrame(w.right) {
		t.Error("right channel with no speakers is not silent")
	}
}

// TestRecordingWriter: gaps in the tick numbers (frames dropped for a slow
// disk, skipped ticks) are written as silence, keeping the timeline.
func TestRecordingWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.wav")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(wavHeader(0xffffffff, 0xffffffff)); err != nil {
		t.Fatal(err)
	}
	r := &Recording{path: path, full: make(chan *recBlock, 4), free: make(chan *recBlock, 4), done: make(chan struct{})}
	go r.write(f, 10)
	block := func(tick uint64, v ...byte) *recBlock {
		b := &recBlock{tick: tick, n: len(v)}
		for i, x := range v {
			for j := range recFrameBytes {
				b.buf[i*recFrameBytes+j] = x
			}
		}
		return b
	}
	r.full <- block(10, 1)
	r.full <- block(13, 2, 3) // 11 and 12 were dropped
	close(r.full)
	<-r.done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := 5 * 20 * time.Millisecond; r.info.Duration != want {
		t.Errorf("Duration %v, want %v", r.info.Duration, want)
	}
	w := readStereoWAV(t, path)
	for i, want := range []int16{0x0101, 0, 0, 0x0202, 0x0303} {
		s := w.left[i*frameSamples : (i+1)*frameSamples]
		if s[0] != want || s[frameSamples-1] != want {
			t.Errorf("frame %d starts with %#x, want %#x", i, s[0], want)
		}
	}
}

// TestRecordingDrops: when the writer has no free block (a stalled disk),
// the clock drops frames without waiting and counts them; the file still
// has one frame per tick, silence where frames were dropped.
func TestRecordingDrops(t *testing.T) {
	e := newTestEngine(t, 41860, 41869)
	mx := newDetachedMixer(e)
	ep := newTestEndpoint(t, e)
	if err := mx.Add(ep); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "d.wav")
	rec, err := mx.Record(path, []*Endpoint{ep}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload := ulawFrame(tone(500, 8000, 0, frameSamples))
	ts := uint32(0)
	tick := func(n int) {
		for range n {
			ep.member.push(1, ts, payload, kindULaw)
			ts += frameSamples
			mx.tick(e.now(), 1)
		}
	}
	tick(30) // one full block, and 5 frames of the next
	var held []*recBlock
	for range recBlocks - 1 { // the clock holds the last one
		held = append(held, <-rec.free)
	}
	tick(20)                        // fills the clock's block: off to the writer
	held = append(held, <-rec.free) // and back: now no block is free
	tick(2 * recBlockFrames)        // dropped
	for _, b := range held {
		rec.free <- b
	}
	tick(10)
	info, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	drops := e.Stats().RecordingDrops
	if drops != 2*recBlockFrames {
		t.Errorf("RecordingDrops = %d, want %d", drops, 2*recBlockFrames)
	}
	const ticks = 30 + 20 + 2*recBlockFrames + 10
	if want := ticks * 20 * time.Millisecond; info.Duration != want {
		t.Errorf("Duration %v, want %v: one frame per tick, dropped ones as silence", info.Duration, want)
	}
	w := readStereoWAV(t, path)
	for f := range ticks {
		s := w.left[f*frameSamples : (f+1)*frameSamples]
		dropped := f >= 50 && f < 50+2*recBlockFrames
		if silentFrame(s) != (dropped || f < 2) { // the first two: jitter delay
			t.Errorf("frame %d: silent %v, dropped %v", f, silentFrame(s), dropped)
		}
	}
}
