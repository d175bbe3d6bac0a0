package media

import "github.com/switchboard/switchboard/internal/media/g711"

// Jitter buffer sizes, in 8 kHz samples.
const (
	// jbSize is the ring: 256 ms, a power of two so that an RTP timestamp
	// masked by jbMask is its slot. 4 KiB per mixer member, whatever the input.
	jbSize = 2048
	jbMask = jbSize - 1

	// jbDelay is the playout delay at (re)synchronisation: the first sample
	// of a stream is played two 20 ms frames after the tick that follows its
	// arrival, so a packet may arrive up to about 40 ms late and still be
	// played. Longer packets get one packet time plus a frame (see resync).
	jbDelay = 2 * frameSamples

	// jbMaxPacket is the longest payload taken: 60 ms, the longest ptime
	// G.711 phones use. Longer ones are dropped rather than let one packet
	// fill a quarter of the ring.
	jbMaxPacket = 480

	// jbMaxLead bounds latency creep: when more than this is buffered beyond
	// the playout point (a burst after a network stall, or a sender whose
	// clock runs faster than ours), the oldest audio is skipped to come back
	// to the playout delay.
	jbMaxLead = jbDelay + 6*frameSamples

	// jbMaxLate is how many packets in a row may arrive (partly) behind the
	// playout point before the buffer resynchronises on the stream: one late
	// packet is jitter and is lost, several are a sender whose clock runs
	// slower than ours or that restarted its timestamps.
	jbMaxLate = 3
)

// jitterBuffer turns one member's incoming RTP audio into a steady 20 ms
// frame per mixer tick. It is keyed by RTP timestamp, sample by sample, so
// packets of any ptime (10, 20, 30 ms…) and out-of-order arrivals land in
// their place; sequence numbers are not needed.
//
// Missing audio plays as silence: every slot is zeroed once played, so a
// lost packet simply leaves zeros behind (no repetition or fade: in a
// conference other voices continue over the gap, and a 20 ms hole is less
// audible than a repeated one that tends to buzz).
//
// The buffer resynchronises (clears and re-anchors the playout point on
// the packet) on the first packet, on an SSRC change, on a timestamp that
// does not fit the ring (a jump forwards, or backwards by more than the
// ring), and after jbMaxLate late packets in a row.
//
// Invariant (checked by FuzzJitter): every slot outside [play, end) is zero.
// It is not safe for concurrent use; mixMember.mu guards it.
type jitterBuffer struct {
	synced  bool
	ssrc    uint32
	play    uint32 // RTP timestamp of the next sample the mixer plays
	end     uint32 // one past the newest sample written
	delay   uint32 // playout delay of this stream, in samples
	lateRun int    // packets in a row that arrived behind play

	ring [jbSize]int16
}

// push decodes payload (µ-law or A-law by kind) into the buffer at
// timestamp ts. It reports false when the packet was dropped: empty, too
// long, or entirely late.
func (jb *jitterBuffer) push(ssrc, ts uint32, payload []byte, kind payloadKind) bool {
	n := len(payload)
	if n == 0 || n > jbMaxPacket || (kind != kindULaw && kind != kindALaw) {
		return false
	}
	if !jb.synced || ssrc != jb.ssrc {
		jb.resync(ssrc, ts, n)
	}
	rel := int32(ts - jb.play) // where the packet starts, relative to the playout point
	switch {
	case rel > jbSize-int32(n) || rel < -jbSize:
		// Does not fit the ring: a timestamp jump (new talkspurt after a
		// restart, a re-INVITE to another source) or a long pause.
		jb.resync(ssrc, ts, n)
		rel = int32(ts - jb.play)
	case rel < 0:
		jb.lateRun++
		if jb.lateRun >= jbMaxLate {
			jb.resync(ssrc, ts, n)
			rel = int32(ts - jb.play)
		}
	default:
		jb.lateRun = 0
	}
	skip := 0
	if rel < 0 { // (partly) behind the playout point: keep what is still ahead
		skip = int(-rel)
		if skip >= n {
			return false
		}
	}
	start := ts + uint32(skip)
	jb.decode(int(start&jbMask), payload[skip:], kind)
	if e := ts + uint32(n); !jb.hasData() || int32(e-jb.end) > 0 {
		jb.end = e
	}
	return true
}

// decode writes payload's samples into the ring from slot i on, wrapping.
func (jb *jitterBuffer) decode(i int, payload []byte, kind payloadKind) {
	first := min(len(payload), jbSize-i)
	if kind == kindALaw {
		g711.DecodeALaw(jb.ring[i:i+first], payload[:first])
		g711.DecodeALaw(jb.ring[:len(payload)-first], payload[first:])
		return
	}
	g711.DecodeULaw(jb.ring[i:i+first], payload[:first])
	g711.DecodeULaw(jb.ring[:len(payload)-first], payload[first:])
}

// hasData reports whether any sample at or after the playout point was
// written.
func (jb *jitterBuffer) hasData() bool { return int32(jb.end-jb.play) > 0 }

// resync clears the buffer and anchors the playout point jb.delay samples
// before ts: two frames, or for packets longer than a frame one packet
// plus a frame, so that the next packet has a whole packet time to arrive.
func (jb *jitterBuffer) resync(ssrc, ts uint32, n int) {
	jb.ring = [jbSize]int16{}
	jb.delay = uint32(max(jbDelay, n+frameSamples))
	jb.synced, jb.ssrc, jb.lateRun = true, ssrc, 0
	jb.play = ts - jb.delay
	jb.end = jb.play
}

// pop moves the next frame into dst and reports whether any of it was
// received (false: dst is silence and may be skipped by the mixer).
func (jb *jitterBuffer) pop(dst *[frameSamples]int16) bool {
	if !jb.synced {
		return false
	}
	if lead := int32(jb.end - jb.play); lead > jbMaxLead {
		jb.advance(uint32(lead) - jb.delay)
	}
	if !jb.hasData() {
		*dst = [frameSamples]int16{}
		jb.play += frameSamples
		if int32(jb.end-jb.play) < -jbSize {
			jb.end = jb.play // keep end within int32 reach of play
		}
		return false
	}
	i := int(jb.play & jbMask)
	first := min(frameSamples, jbSize-i)
	copy(dst[:first], jb.ring[i:i+first])
	copy(dst[first:], jb.ring[:frameSamples-first])
	clear(jb.ring[i : i+first])
	clear(jb.ring[:frameSamples-first])
	jb.play += frameSamples
	return true
}

// advance drops n samples at the playout point: the clock skipped ticks,
// or the buffer holds too much.
func (jb *jitterBuffer) advance(n uint32) {
	if !jb.synced || n == 0 {
		return
	}
	if n >= jbSize {
		jb.ring = [jbSize]int16{}
	} else {
		i := int(jb.play & jbMask)
		first := min(int(n), jbSize-i)
		clear(jb.ring[i : i+first])
		clear(jb.ring[:int(n)-first])
	}
	jb.play += n
	if !jb.hasData() {
		jb.end = jb.play
	}
}
