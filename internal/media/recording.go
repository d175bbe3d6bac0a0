package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// Recording file layout: a 44-byte canonical RIFF/WAVE header, then
// interleaved little-endian 16-bit samples, left then right.
const (
	wavHeaderLen  = 44
	recChannels   = 2
	recFrameBytes = frameSamples * recChannels * 2 // one 20 ms stereo frame

	// recQueue is how many frames may wait for the disk: one second. The
	// mix clock never waits for a recording; when the writer is this far
	// behind, frames are dropped (EngineStats.RecordingDrops) and written
	// as silence, so the file keeps its timeline.
	recQueue = 50

	// recMaxData keeps the data chunk within RIFF's 32-bit sizes: about 37
	// hours. Audio beyond it is not written.
	recMaxData = (0xffffffff - wavHeaderLen) / recFrameBytes * recFrameBytes

	// recMaxGap bounds the silence written for one gap in the ticks (a
	// suspended process): one minute.
	recMaxGap = 60 * 50
)

// RecordingInfo describes a finished recording.
type RecordingInfo struct {
	Path     string
	Duration time.Duration // audio in the file, paused spans included
	Bytes    int64         // size of the file, header included
}

// Recording writes a stereo 8 kHz 16-bit PCM WAV file from a mixer: the
// left channel is the mix of the left speakers (by convention the
// customer), the right channel the mix of the right speakers (the agent
// side). Every mixer tick adds one 20 ms frame, so the file's timeline is
// the call's: silence while paused, while nobody in a channel speaks, and
// for frames dropped because the disk was too slow.
//
// The mix clock hands frames to a writer goroutine through a bounded
// queue; it never waits for the disk.
type Recording struct {
	mx     *Mixer
	path   string
	paused atomic.Bool

	// Guarded by Mixer.mu.
	left, right []*mixMember

	frames chan recFrame     // clock → writer
	free   chan *recFrameBuf // writer → clock; recQueue buffers in all
	done   chan struct{}     // closed when the writer has finished the file

	stopOnce sync.Once
	info     RecordingInfo // set by the writer before done
	err      error
}

type recFrameBuf [recFrameBytes]byte

type recFrame struct {
	tick uint64 // the mixer tick it was captured at
	buf  *recFrameBuf
}

// Record starts recording into a new file at path, created with mode
// 0600 (recordings are personal data); an existing file is an error, a
// recording is never overwritten. Every endpoint of left and right must
// be a member (ErrNotInMixer). The first frame is the next tick's.
func (mx *Mixer) Record(path string, left, right []*Endpoint) (*Recording, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	// Placeholder sizes of 0xffffffff ("unknown, read to the end") until
	// Stop patches them, so that a file left behind by a crash still reads
	// to its end in tolerant readers (LoadWAV's parser among them).
	if _, err := f.Write(wavHeader(0xffffffff, 0xffffffff)); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	r := &Recording{
		mx:     mx,
		path:   path,
		frames: make(chan recFrame, recQueue),
		free:   make(chan *recFrameBuf, recQueue),
		done:   make(chan struct{}),
	}
	for range recQueue {
		r.free <- new(recFrameBuf)
	}

	mx.mu.Lock()
	if mx.closed {
		err = ErrMixerClosed
	} else if r.left, err = mx.resolve(left, nil); err == nil {
		r.right, err = mx.resolve(right, nil)
	}
	if err != nil {
		mx.mu.Unlock()
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	next := mx.ticks + 1
	mx.recs = append(mx.recs, r)
	mx.mu.Unlock()

	go r.write(f, next)
	return r, nil
}

// wavHeader is the header of a stereo 8 kHz 16-bit PCM file with the
// given RIFF chunk size (file size - 8) and data chunk size.
func wavHeader(riffLen, dataLen uint32) []byte {
	const rate, bits = 8000, 16
	h := make([]byte, 0, wavHeaderLen)
	le := binary.LittleEndian
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, riffLen)
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 16) // fmt chunk size
	h = le.AppendUint16(h, waveFormatPCM)
	h = le.AppendUint16(h, recChannels)
	h = le.AppendUint32(h, rate)
	h = le.AppendUint32(h, rate*recChannels*bits/8) // byte rate
	h = le.AppendUint16(h, recChannels*bits/8)      // block align
	h = le.AppendUint16(h, bits)
	h = append(h, "data"...)
	h = le.AppendUint32(h, dataLen)
	return h
}

// SetChannels replaces the speakers of each channel (a consult call, a
// conference). Endpoints that are not members are ignored. No effect
// after Stop.
func (r *Recording) SetChannels(left, right []*Endpoint) {
	mx := r.mx
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if !slices.Contains(mx.recs, r) {
		return
	}
	r.left = mx.memberSet(left)
	r.right = mx.memberSet(right)
}

// memberSet maps eps to memberships, skipping non-members and duplicates.
// Mixer.mu held.
func (mx *Mixer) memberSet(eps []*Endpoint) []*mixMember {
	out := make([]*mixMember, 0, len(eps))
	for _, ep := range eps {
		if m := mx.member(ep); m != nil && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// Pause is the privacy shield (a card number being read out): silence is
// recorded instead of the channels until Resume, so the file's timeline
// stays true.
func (r *Recording) Pause() { r.paused.Store(true) }

// Resume ends Pause.
func (r *Recording) Resume() { r.paused.Store(false) }

// Paused reports whether the recording is paused.
func (r *Recording) Paused() bool { return r.paused.Load() }

// Stop ends the recording: it leaves the mixer, the writer drains the
// queue, patches the RIFF sizes, syncs and closes the file. Idempotent:
// later calls return the same result.
func (r *Recording) Stop() (RecordingInfo, error) {
	r.stopOnce.Do(func() {
		mx := r.mx
		mx.mu.Lock()
		mx.recs = slices.DeleteFunc(mx.recs, func(x *Recording) bool { return x == r })
		mx.mu.Unlock()
		// The clock captures only under Mixer.mu and only for recordings in
		// mx.recs, so nothing sends on frames any more.
		close(r.frames)
		<-r.done
	})
	return r.info, r.err
}

// capture mixes this tick's stereo frame and queues it for the writer,
// without blocking. Runs on the clock goroutine with Mixer.mu held.
func (r *Recording) capture(mx *Mixer) {
	var buf *recFrameBuf
	select {
	case buf = <-r.free:
	default: // the writer is a second behind: drop, written as silence
		mx.eng.stats.recDrops.Add(1)
		return
	}
	if r.paused.Load() {
		*buf = recFrameBuf{}
	} else {
		l := mx.sum(&mx.acc, r.left)
		rt := mx.sum(&mx.acc2, r.right)
		interleave(buf, &mx.acc, l, &mx.acc2, rt)
	}
	// Never blocks: there are only recQueue buffers and frames holds as many.
	r.frames <- recFrame{tick: mx.ticks, buf: buf}
}

// interleave writes left and right (silence where inactive) as 16-bit
// little-endian stereo samples.
func interleave(buf *recFrameBuf, left *[frameSamples]int32, lOn bool, right *[frameSamples]int32, rOn bool) {
	for i := range frameSamples {
		var l, r int16
		if lOn {
			l = g711.Saturate(left[i])
		}
		if rOn {
			r = g711.Saturate(right[i])
		}
		binary.LittleEndian.PutUint16(buf[4*i:], uint16(l))
		binary.LittleEndian.PutUint16(buf[4*i+2:], uint16(r))
	}
}

// write is the recording's writer goroutine: it appends the frames it
// receives, filling gaps in the tick numbers with silence, until Stop
// closes the queue; then it finalises the file. next is the tick the
// first frame is expected at.
func (r *Recording) write(f *os.File, next uint64) {
	defer close(r.done)
	w := bufio.NewWriterSize(f, 32<<10)
	var data int64
	var werr error
	var silence recFrameBuf
	put := func(b []byte) {
		if werr != nil || data+int64(len(b)) > recMaxData {
			return // a failed disk keeps draining the queue; the error comes with Stop
		}
		var n int
		n, werr = w.Write(b)
		data += int64(n)
	}
	for fr := range r.frames {
		if fr.tick > next {
			for range min(fr.tick-next, recMaxGap) {
				put(silence[:])
			}
		}
		put(fr.buf[:])
		next = fr.tick + 1
		r.free <- fr.buf
	}
	if werr == nil {
		werr = w.Flush()
	}
	if werr == nil {
		_, werr = f.WriteAt(wavHeader(uint32(data+wavHeaderLen-8), uint32(data)), 0)
	}
	if werr == nil {
		werr = f.Sync()
	}
	werr = errors.Join(werr, f.Close())
	if werr != nil {
		werr = fmt.Errorf("recording %s: %w", r.path, werr)
	}
	r.info = RecordingInfo{
		Path:     r.path,
		Duration: time.Duration(data/(recFrameBytes/frameSamples)) * time.Second / 8000,
		Bytes:    wavHeaderLen + data,
	}
	r.err = werr
}
