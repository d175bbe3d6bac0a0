package media

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// Prompts are announcements played to one endpoint by the engine clock,
// in the place of music on hold (SPEC Q5): "all our agents are busy",
// "you are caller number three". A sequence is played once, then the
// endpoint falls back to its music, which picks up where it left off.
// Prompts and music share the endpoint's music stream (same source kind,
// sequence numbers and timestamps), so the remote sees one continuous RTP
// stream across music → prompt → music, as it does across relay ↔ music
// (outStream.rewrite).

// Prompt is a recorded announcement, encoded once in both G.711 laws so
// the clock only copies bytes. It is immutable and may be played to any
// number of endpoints at once.
type Prompt struct {
	name       string
	ulaw, alaw []byte
}

// NewPrompt encodes 8 kHz mono linear PCM as a prompt; name is for logs.
func NewPrompt(name string, pcm []int16) *Prompt {
	p := &Prompt{name: name, ulaw: make([]byte, len(pcm)), alaw: make([]byte, len(pcm))}
	g711.EncodeULaw(p.ulaw, pcm)
	g711.EncodeALaw(p.alaw, pcm)
	return p
}

// SilencePrompt is a pause of d (rounded down to whole samples) between
// prompts of a sequence.
func SilencePrompt(d time.Duration) *Prompt {
	return NewPrompt("silence", make([]int16, int(d/(time.Second/8000))))
}

// Name is the prompt's name.
func (p *Prompt) Name() string { return p.name }

// Duration is how long the prompt plays.
func (p *Prompt) Duration() time.Duration {
	return time.Duration(len(p.ulaw)) * time.Second / 8000
}

// DecodeWAV parses an 8 kHz mono 16-bit PCM WAV image held in memory (an
// embedded prompt), with the rules of LoadWAV.
func DecodeWAV(data []byte) ([]int16, error) { return decodeWAV(data) }

// Playback is one sequence given to PlayPrompts.
type Playback struct {
	done     chan struct{}
	finished atomic.Bool
}

// Done is closed when the sequence is over: played to its end, replaced
// by another sequence, or stopped (StopPrompts, StopMusic, Close).
func (pb *Playback) Done() <-chan struct{} { return pb.done }

// Finished reports whether the whole sequence was played (meaningful once
// Done is closed).
func (pb *Playback) Finished() bool { return pb.finished.Load() }

// promptQueue is the sequence an endpoint is playing. Guarded by
// Endpoint.mu.
type promptQueue struct {
	seq []*Prompt
	idx int // prompt playing
	pos int // next sample of seq[idx]
	pb  *Playback
}

// end closes the playback, if any, as finished or not.
func (q *promptQueue) end(finished bool) {
	if q.pb == nil {
		return
	}
	q.pb.finished.Store(finished)
	close(q.pb.done)
	*q = promptQueue{}
}

// fill copies the next samples of the sequence into dst and returns how
// many it wrote; fewer than len(dst) means the sequence ended (and its
// playback is closed). No allocation: it runs for every 20 ms frame.
func (q *promptQueue) fill(dst []byte, alaw bool) int {
	n := 0
	for n < len(dst) && q.idx < len(q.seq) {
		src := q.seq[q.idx].ulaw
		if alaw {
			src = q.seq[q.idx].alaw
		}
		k := copy(dst[n:], src[q.pos:])
		n += k
		q.pos += k
		if q.pos >= len(src) {
			q.idx++
			q.pos = 0
		}
	}
	if q.idx >= len(q.seq) {
		q.end(true)
	}
	return n
}

// PlayPrompts plays seq once to the endpoint's remote, in place of its
// music on hold, then falls back to the music. It replaces whatever a
// bridge or mixer sends the endpoint (as StartMusic does, which it
// implies) and a sequence still playing (whose playback ends unfinished).
// StopMusic or Close cut it short. Prompts are only played while the
// endpoint plays music: the call layer decides that (a held or queued
// party).
func (ep *Endpoint) PlayPrompts(seq ...*Prompt) *Playback {
	pb := &Playback{done: make(chan struct{})}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.prompt.end(false)
	if ep.closed || len(seq) == 0 {
		pb.finished.Store(!ep.closed)
		close(pb.done)
		return pb
	}
	ep.prompt = promptQueue{seq: slices.Clone(seq), pb: pb}
	if !ep.music {
		ep.music = true
		ep.eng.addPlayer(ep) // Endpoint.mu → Engine.musicMu
	}
	return pb
}

// StopPrompts ends the sequence playing, if any (its playback ends
// unfinished); the music goes on.
func (ep *Endpoint) StopPrompts() {
	ep.mu.Lock()
	ep.prompt.end(false)
	ep.mu.Unlock()
}

// holdFrame fills dst (one frame of payload) with what a held endpoint
// hears: the prompts being played, then its music from where it left
// off. ep.mu held; runs on the engine clock goroutine.
func (ep *Endpoint) holdFrame(dst []byte, alaw bool) {
	n := 0
	if ep.prompt.pb != nil {
		n = ep.prompt.fill(dst, alaw)
	}
	if n < len(dst) {
		ep.musicPos = ep.eng.music.frame(dst[n:], ep.musicPos, alaw)
	}
}
