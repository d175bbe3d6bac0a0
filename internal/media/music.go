package media

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// musicTick is the music-on-hold packet interval: one 20 ms G.711 frame,
// the ptime we advertise.
const musicTick = 20 * time.Millisecond

// musicLoop is the hold music, encoded once in both laws so the clock only
// copies bytes.
type musicLoop struct {
	ulaw, alaw []byte
}

func newMusicLoop(pcm []int16) musicLoop {
	m := musicLoop{ulaw: make([]byte, len(pcm)), alaw: make([]byte, len(pcm))}
	g711.EncodeULaw(m.ulaw, pcm)
	g711.EncodeALaw(m.alaw, pcm)
	return m
}

// frame fills dst with the loop from sample pos on, wrapping at the end,
// and returns the position after it. Each endpoint keeps its own position,
// so a caller put on hold twice picks up where the music left off.
func (m *musicLoop) frame(dst []byte, pos int, alaw bool) int {
	src := m.ulaw
	if alaw {
		src = m.alaw
	}
	if pos >= len(src) {
		pos = 0
	}
	for len(dst) > 0 {
		n := copy(dst, src[pos:])
		dst = dst[n:]
		pos += n
		if pos == len(src) {
			pos = 0
		}
	}
	return pos
}

// addPlayer registers ep with the clock. Called with ep.mu held.
func (e *Engine) addPlayer(ep *Endpoint) {
	e.musicMu.Lock()
	defer e.musicMu.Unlock()
	if !slices.Contains(e.players, ep) {
		e.players = append(e.players, ep)
	}
}

// removePlayer unregisters ep from the clock. Called with ep.mu held.
func (e *Engine) removePlayer(ep *Endpoint) {
	e.musicMu.Lock()
	defer e.musicMu.Unlock()
	if i := slices.Index(e.players, ep); i >= 0 {
		last := len(e.players) - 1
		e.players[i] = e.players[last]
		e.players[last] = nil
		e.players = e.players[:last]
	}
}

// runClock is the engine's one clock goroutine: every 20 ms it sends the
// next frame of music to each endpoint on hold. One ticker for all calls
// costs one wake-up per tick instead of one per held call.
func (e *Engine) runClock() {
	defer close(e.clockDone)
	t := time.NewTicker(musicTick)
	defer t.Stop()
	buf := make([]byte, rtpFixedLen+frameSamples)
	var list []*Endpoint
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		// Copy the list so that StartMusic/StopMusic (which hold an
		// endpoint's lock, then musicMu) never wait for a send.
		e.musicMu.Lock()
		list = append(list[:0], e.players...)
		e.musicMu.Unlock()
		now := e.now()
		for _, ep := range list {
			if ep.sendMusic(buf, now) {
				e.stats.music.Add(1)
			}
		}
		clear(list) // do not keep closed endpoints reachable
	}
}

// Built-in music: a generated loop, so there is no licence to worry about.
const (
	musicRate    = 8000
	musicChordS  = 2                           // seconds per chord
	musicSamples = 4 * musicChordS * musicRate // C – Am – F – G, 8 s, a whole number of frames
	musicNote    = musicRate / 4               // arpeggio notes of 250 ms
	musicPeak    = 8192                        // -12 dBFS
)

// musicChords are C, Am, F and a G with its D on top, voiced around
// 500-1200 Hz. The notes stay clear of 440±40 Hz and 1000±40 Hz because
// tests tell parties apart by those tones; a B4 or A4 or C6 would leak
// into their detectors.
var musicChords = [4]struct {
	bass  float64
	notes [3]float64
}{
	{130.81, [3]float64{523.25, 659.26, 783.99}},  // C: C3 | C5 E5 G5
	{110.00, [3]float64{523.25, 659.26, 880.00}},  // Am: A2 | C5 E5 A5
	{174.61, [3]float64{523.25, 698.46, 880.00}},  // F: F3 | C5 F5 A5
	{196.00, [3]float64{587.33, 783.99, 1174.66}}, // G: G3 | D5 G5 D6
}

var (
	builtinOnce sync.Once
	builtinPCM  []int16
)

// builtinMusic returns the synthesized loop, computed on first use: a soft
// pad of each chord with a bass note and a plucked arpeggio on top. Every
// envelope starts and ends at zero, so the loop point does not click.
// Callers must not modify the result.
func builtinMusic() []int16 {
	builtinOnce.Do(func() { builtinPCM = synthMusic() })
	return builtinPCM
}

func synthMusic() []int16 {
	const chordLen = musicChordS * musicRate
	// Arpeggio pattern over the chord's three notes: up, down, up.
	pattern := [8]int{0, 1, 2, 1, 0, 1, 2, 1}
	out := make([]float64, musicSamples)
	for c, ch := range musicChords {
		base := c * chordLen
		for i := range chordLen {
			t := float64(i) / musicRate
			// Pad and bass swell in and out with a raised cosine over the chord.
			swell := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(chordLen))
			v := 0.35 * swell * math.Sin(2*math.Pi*ch.bass*t)
			for _, f := range ch.notes {
				v += 0.15 * swell * math.Sin(2*math.Pi*f*t)
			}
			// Plucked note: 10 ms attack, exponential decay, 10 ms release.
			n := i / musicNote
			k := i % musicNote
			f := ch.notes[pattern[n%len(pattern)]]
			tn := float64(k) / musicRate
			env := math.Exp(-tn / 0.12)
			if k < 80 {
				env *= float64(k) / 80
			}
			if r := musicNote - k; r < 80 {
				env *= float64(r) / 80
			}
			v += 0.6 * env * math.Sin(2*math.Pi*f*tn)
			out[base+i] = v
		}
	}
	peak := 0.0
	for _, v := range out {
		peak = max(peak, math.Abs(v))
	}
	pcm := make([]int16, len(out))
	for i, v := range out {
		pcm[i] = int16(math.Round(v / peak * musicPeak))
	}
	return pcm
}
