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

	// The clock fills blocks of recBlockFrames frames (500 ms, 16 kB) in
	// place and hands each full one to the writer: two writer wake-ups and
	// two write(2)s a second instead of fifty (a wake-up per frame doubled
	// the CPU of a recorded call, BenchmarkCallCPU). recBlocks blocks per
	// recording (64 kB): one filling, the others queued or being written,
	// so the disk may stall for a second or more before anything is lost.
	// The mix clock never waits for a recording; without a free block,
	// frames are dropped (EngineStats.RecordingDrops) and written as
	// silence, so the file keeps its timeline.
	recBlockFrames = 25
	recBlocks      = 4

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
	first  uint64 // the mixer tick of the file's first frame
	paused atomic.Bool

	// Guarded by Mixer.mu.
	left, right []*mixMember
	cur         *recBlock // being filled by the clock

	full chan *recBlock // clock → writer
	free chan *recBlock // writer → clock; recBlocks blocks in all
	done chan struct{}  // closed when the writer has finished the file

	stopOnce sync.Once
	info     RecordingInfo // set by the writer before done
	err      error
}

// recBlock is consecutive frames, the first captured at mixer tick tick.
type recBlock struct {
	tick uint64
	n    int // frames filled
	buf  [recBlockFrames * recFrameBytes]byte
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
		mx:   mx,
		path: path,
		full: make(chan *recBlock, recBlocks),
		free: make(chan *recBlock, recBlocks),
		done: make(chan struct{}),
	}
	for range recBlocks {
		r.free <- new(recBlock)
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
	r.first = mx.ticks + 1
	mx.recs = append(mx.recs, r)
	mx.mu.Unlock()

	go r.write(f, r.first)
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
		r.flush()
		mx.mu.Unlock()
		// The clock captures only under Mixer.mu and only for recordings in
		// mx.recs, so nothing sends on full any more.
		close(r.full)
		<-r.done
	})
	return r.info, r.err
}

// capture mixes this tick's stereo frame into the current block, handing
// the block to the writer when full, without blocking. Runs on the clock
// goroutine with Mixer.mu held.
func (r *Recording) capture(mx *Mixer) {
	if r.cur != nil && mx.ticks != r.cur.tick+uint64(r.cur.n) {
		r.flush() // skipped ticks: the writer fills the gap with silence
	}
	if r.cur == nil {
		select {
		case r.cur = <-r.free:
			r.cur.tick, r.cur.n = mx.ticks, 0
		default: // the writer is behind: drop, written as silence
			mx.eng.stats.recDrops.Add(1)
			return
		}
	}
	frame := (*[recFrameBytes]byte)(r.cur.buf[r.cur.n*recFrameBytes:])
	if r.paused.Load() {
		*frame = [recFrameBytes]byte{}
	} else {
		l := mx.sum(&mx.acc, r.left)
		rt := mx.sum(&mx.acc2, r.right)
		interleave(frame, &mx.acc, l, &mx.acc2, rt)
	}
	if r.cur.n++; r.cur.n == recBlockFrames {
		r.flush()
	}
}

// flush hands the current block, if any, to the writer. It never blocks:
// there are recBlocks blocks and full holds as many. Mixer.mu held.
func (r *Recording) flush() {
	if r.cur == nil {
		return
	}
	if r.cur.n > 0 {
		r.full <- r.cur
	} else {
		r.free <- r.cur
	}
	r.cur = nil
}

// interleave writes left and right (silence where inactive) as 16-bit
// little-endian stereo samples.
func interleave(buf *[recFrameBytes]byte, left *[frameSamples]int32, lOn bool, right *[frameSamples]int32, rOn bool) {
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

// write is the recording's writer goroutine: it appends the blocks it
// receives, filling gaps in the tick numbers with silence, until Stop
// closes the queue; then it finalises the file. next is the tick the
// first frame is expected at.
func (r *Recording) write(f *os.File, next uint64) {
	defer close(r.done)
	w := bufio.NewWriterSize(f, len(recBlock{}.buf)) // a block goes straight through
	var data int64
	var werr error
	var silence [recFrameBytes]byte
	put := func(b []byte) {
		if werr != nil || data+int64(len(b)) > recMaxData {
			return // a failed disk keeps draining the queue; the error comes with Stop
		}
		var n int
		n, werr = w.Write(b)
		data += int64(n)
	}
	for blk := range r.full {
		if blk.tick > next {
			for range min(blk.tick-next, recMaxGap) {
				put(silence[:])
			}
		}
		put(blk.buf[:blk.n*recFrameBytes])
		next = blk.tick + uint64(blk.n)
		r.free <- blk
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
