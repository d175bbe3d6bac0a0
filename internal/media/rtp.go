package media

import "encoding/binary"

// rtpHeader holds the fields of an RTP fixed header (RFC 3550 §5.1) that
// the relay reads. It is parsed by hand into a stack value because
// pion/rtp's Unmarshal allocates, and this runs for every packet.
type rtpHeader struct {
	marker     bool
	pt         uint8
	seq        uint16
	ts         uint32
	ssrc       uint32
	payloadOff int // first payload byte
	payloadEnd int // one past the last payload byte (padding excluded)
}

// rtpFixedLen is the size of the RTP fixed header (RFC 3550 §5.1).
const rtpFixedLen = 12

// parseRTP validates b as an RTP packet and fills h. It rejects anything
// that is not version 2, whose CSRC list, extension or padding run past
// the datagram, and RTCP multiplexed on the RTP port (RFC 5761 §4: RTCP
// packet types 200-204 show up as payload types 72-76 with the marker set).
func parseRTP(b []byte, h *rtpHeader) bool {
	if len(b) < rtpFixedLen || b[0]>>6 != 2 {
		return false
	}
	if b[1] >= 200 && b[1] <= 204 {
		return false
	}
	off := rtpFixedLen + 4*int(b[0]&0x0f) // CSRC list
	if off > len(b) {
		return false
	}
	if b[0]&0x10 != 0 { // RFC 3550 §5.3.1 header extension
		if off+4 > len(b) {
			return false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		if off > len(b) {
			return false
		}
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: the last octet counts itself too
		pad := int(b[len(b)-1])
		if pad == 0 || pad > end-off {
			return false
		}
		end -= pad
	}
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7f
	h.seq = binary.BigEndian.Uint16(b[2:])
	h.ts = binary.BigEndian.Uint32(b[4:])
	h.ssrc = binary.BigEndian.Uint32(b[8:])
	h.payloadOff = off
	h.payloadEnd = end
	return true
}

// writeRTPHeader rewrites the fixed header of b in place, leaving the
// version, padding, extension and CSRC bits as they were.
func writeRTPHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) {
	m := pt & 0x7f
	if marker {
		m |= 0x80
	}
	b[1] = m
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}

// putRTPHeader writes a fresh 12-byte version 2 header for packets we
// originate (music on hold).
func putRTPHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) {
	b[0] = 2 << 6
	writeRTPHeader(b, marker, pt, seq, ts, ssrc)
}

// srcKind says where the packets of an output stream currently come from.
type srcKind uint8

const (
	srcNone srcKind = iota
	srcRelay
	srcMusic
	srcMixer
)

// outStream is the RTP stream one remote sees from us. Whatever feeds it
// (the bridged peer, then music on hold, then the peer again, a mixer, or a
// peer that changed SSRC after a re-INVITE), the remote sees one SSRC with
// continuous sequence numbers and timestamps, so its jitter buffer does not
// drop the new source as a stale or foreign stream (RFC 3550 §5.1, §8.2).
type outStream struct {
	ssrc      uint32
	started   bool
	lastSeq   uint16 // highest sequence number sent
	lastTS    uint32 // timestamp of that packet
	lastNanos int64  // engine clock when we last sent

	src     srcKind
	srcSSRC uint32
	seqOff  uint16
	tsOff   uint32
}

// frameSamples is one 20 ms G.711 frame at 8 kHz.
const frameSamples = 160

// rewrite maps an input packet's (ssrc, seq, ts) onto the output stream.
// On a source switch it re-anchors the offsets so that the sequence number
// continues at last+1 and the timestamp advances by the wall-clock time
// since the last packet (at least one frame). switched tells the caller to
// set the marker bit, which RFC 3551 §4.1 uses for the start of a talkspurt:
// receivers resynchronise their playout on it.
func (o *outStream) rewrite(kind srcKind, ssrc uint32, seq uint16, ts uint32, now int64) (oseq uint16, ots uint32, switched bool) {
	if !o.started || kind != o.src || ssrc != o.srcSSRC {
		switched = true
		gap := uint32(frameSamples)
		if o.started {
			if el := (now - o.lastNanos) / 125_000; el > frameSamples { // 8 kHz: 125 µs per sample
				gap = uint32(min(el, 1<<30))
			}
		}
		o.seqOff = o.lastSeq + 1 - seq
		o.tsOff = o.lastTS + gap - ts
		o.src, o.srcSSRC, o.started = kind, ssrc, true
	}
	oseq, ots = seq+o.seqOff, ts+o.tsOff
	if d := int16(oseq - o.lastSeq); d > 0 || switched {
		o.lastSeq, o.lastTS = oseq, ots
	}
	o.lastNanos = now
	return oseq, ots, switched
}
