package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// relatchAfter is how long the latched source must be silent before a
// packet from another address may take over the stream (RFC 4961 symmetric
// RTP). Long enough that a stray or spoofed packet cannot hijack a live
// call, short enough that a phone whose NAT binding changed is heard again
// within a couple of seconds.
const relatchAfter = 1500 * time.Millisecond

// readBufSize holds any datagram a G.711 peer sends (172 bytes at 20 ms)
// with room for large ptimes and header extensions.
const readBufSize = 2048

// payloadKind classifies a received packet by its payload type.
type payloadKind uint8

const (
	kindUnknown payloadKind = iota
	kindULaw                // G.711 µ-law (PCMU)
	kindALaw                // G.711 A-law (PCMA)
	kindDTMF                // RFC 4733 telephone-event
)

// codecKind maps a negotiated codec to its payload kind; kindUnknown means
// a codec we cannot carry.
func codecKind(c Codec) payloadKind {
	switch {
	case strings.EqualFold(c.Name, "PCMU"):
		return kindULaw
	case strings.EqualFold(c.Name, "PCMA"):
		return kindALaw
	}
	return kindUnknown
}

// DTMFHandler is called once per RFC 4733 event (digit '0'-'9','*','#','A'-'D'),
// on the end of the event, with its duration in ms. It runs on the packet
// goroutine: it must not block, and must not call Close on the endpoint
// that reported it (Close waits for that goroutine).
type DTMFHandler func(digit byte, durationMS int)

// Endpoint is one UDP socket facing one SIP leg's media.
type Endpoint struct {
	eng   *Engine
	conn  *net.UDPConn
	local netip.AddrPort
	done  chan struct{} // closed when the reader goroutine returns

	mu     sync.Mutex // guards everything below; see the lock order in engine.go
	closed bool

	// Where we send, RFC 4961: the SDP address until a packet arrives, then
	// the source of the packets we receive.
	sdpAddr  netip.AddrPort
	dest     netip.AddrPort
	latched  bool
	lastRecv int64 // engine clock of the last packet from dest
	armed    int64 // engine clock of the last SetRemote: Idle counts from here at least

	codec    Codec
	kind     payloadKind // codecKind(codec), kindUnknown before SetRemote
	dtmfType uint8       // 0 = none negotiated
	onDTMF   DTMFHandler
	dtmf     dtmfState
	inSeq    seqTracker // for the loss count

	bridge *Bridge
	peer   *Endpoint // the other endpoint of bridge
	relay  bool      // false while the bridge is on hold

	mixer  *Mixer     // the mixer ep is a member of, nil if none
	member *mixMember // ep's membership in mixer
	mixGen uint32     // identifies the membership to out.rewrite
	mixSeq uint16     // sequence number of the mixed packets

	music    bool
	musicPos int // sample index in the engine's loop, kept across holds
	musicSeq uint16
	musicTS  uint32
	prompt   promptQueue // announcements played before the music (prompt.go)

	out outStream // what our remote sees, whatever its source
}

func newEndpoint(e *Engine, conn *net.UDPConn, local netip.AddrPort) *Endpoint {
	ep := &Endpoint{
		eng:   e,
		conn:  conn,
		local: local,
		done:  make(chan struct{}),
	}
	// RFC 3550 §5.1: random initial SSRC, sequence number and timestamp.
	ep.out.ssrc = rand.Uint32()
	ep.out.lastSeq = uint16(rand.Uint32())
	ep.out.lastTS = rand.Uint32()
	return ep
}

// LocalAddr is the address to advertise in SDP.
func (ep *Endpoint) LocalAddr() netip.AddrPort { return ep.local }

// RemoteAddr is where packets currently go: the SDP address, or the latched
// source once packets arrived. It is invalid before SetRemote and latching.
func (ep *Endpoint) RemoteAddr() netip.AddrPort {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.dest
}

// SetRemote sets where to send (from SDP) and what the leg negotiated.
// Symmetric RTP (RFC 4961): once packets arrive, replies go to their source.
// It may be called again on a re-INVITE.
//
// A new SDP address drops the latch (the next packet latches again); the
// same address keeps it, so a NATed phone put on hold by a re-INVITE still
// gets its music at the address it really sends from. An unspecified
// address (c=0.0.0.0, RFC 3264 §8.4) or port 0 means "send nothing" until
// the peer sends. dtmfType 0 means no telephone-event was negotiated (0 is
// PCMU's static type, so it can never be one). A codec other than PCMU or
// PCMA is logged and nothing is sent to this endpoint.
func (ep *Endpoint) SetRemote(addr netip.AddrPort, codec Codec, dtmfType uint8) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap().WithZone(""), addr.Port())
	kind := codecKind(codec)
	if kind == kindUnknown {
		ep.eng.log.Warn("rtp remote codec not supported", "local", ep.local, "codec", codec.Name)
	}
	if dtmfType > 127 {
		dtmfType = 0
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.codec, ep.kind, ep.dtmfType = codec, kind, dtmfType
	ep.armed = ep.eng.now()
	if addr == ep.sdpAddr && ep.latched {
		return
	}
	ep.sdpAddr = addr
	ep.latched = false
	ep.dest = netip.AddrPort{}
	if addr.Addr().IsValid() && !addr.Addr().IsUnspecified() && addr.Port() != 0 {
		ep.dest = addr
	}
}

// Idle is how long no valid packet has arrived, counted at most from the
// last SetRemote; the call layer uses it for its RTP timeout (a phone that
// vanished without BYE).
func (ep *Endpoint) Idle() time.Duration {
	ep.mu.Lock()
	last := max(ep.lastRecv, ep.armed)
	ep.mu.Unlock()
	return time.Duration(ep.eng.now() - last)
}

// OnDTMF sets the handler for decoded telephone events; nil removes it.
func (ep *Endpoint) OnDTMF(h DTMFHandler) {
	ep.mu.Lock()
	ep.onDTMF = h
	ep.mu.Unlock()
}

// StartMusic plays music on hold to this endpoint's remote, replacing whatever
// a bridge or mixer would send it; packets it receives are not relayed or
// mixed meanwhile.
func (ep *Endpoint) StartMusic() {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed || ep.music {
		return
	}
	ep.music = true
	ep.eng.addPlayer(ep) // Endpoint.mu → Engine.musicMu
}

// StopMusic ends StartMusic; relaying (if bridged) or mixing resumes.
func (ep *Endpoint) StopMusic() {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if !ep.music {
		return
	}
	ep.music = false
	ep.prompt.end(false)
	ep.eng.removePlayer(ep)
}

// Close releases the socket and its port. Idempotent. It leaves the bridge
// or mixer the endpoint is in and waits for the reader goroutine to end.
func (ep *Endpoint) Close() error {
	ep.mu.Lock()
	if ep.closed {
		ep.mu.Unlock()
		return nil
	}
	ep.closed = true
	ep.prompt.end(false)
	br, mx := ep.bridge, ep.mixer
	if ep.music {
		ep.music = false
		ep.eng.removePlayer(ep)
	}
	ep.mu.Unlock()

	if br != nil {
		br.Disconnect()
	}
	if mx != nil {
		mx.Remove(ep)
	}
	err := ep.conn.Close() // unblocks the reader with net.ErrClosed
	<-ep.done
	ep.eng.forget(ep)
	if err != nil {
		return fmt.Errorf("close rtp endpoint %s: %w", ep.local, err)
	}
	return nil
}

// readLoop is the endpoint's only reader. It exits when Close closes the
// socket. The buffer is reused for every packet, and relaying rewrites it
// in place.
func (ep *Endpoint) readLoop() {
	defer close(ep.done)
	buf := make([]byte, readBufSize)
	for {
		n, src, err := ep.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			ep.eng.log.Debug("rtp read", "local", ep.local, "err", err)
			time.Sleep(time.Millisecond) // do not spin on a persistent error
			continue
		}
		ep.handle(buf[:n], src)
	}
}

// handle processes one received datagram: validate, latch, decode DTMF,
// and relay to the peer or, in a mixer, decode audio into the member's
// jitter buffer. It runs on the reader goroutine and must not allocate.
func (ep *Endpoint) handle(pkt []byte, src netip.AddrPort) {
	e := ep.eng
	e.stats.in.Add(1)
	var h rtpHeader
	if !parseRTP(pkt, &h) {
		e.stats.dropped.Add(1)
		return
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	now := e.now()

	ep.mu.Lock()
	kind := ep.classify(h.pt)
	if kind == kindDTMF && h.payloadEnd-h.payloadOff < 4 {
		kind = kindUnknown // shorter than an RFC 4733 §2.3 event: malformed
	}
	if ep.closed || kind == kindUnknown || !ep.latch(src, now) {
		ep.mu.Unlock()
		e.stats.dropped.Add(1)
		return
	}
	if lost := ep.inSeq.next(h.ssrc, h.seq); lost > 0 {
		e.stats.lost.Add(uint64(lost))
	}
	var digit byte
	var durMS int
	var handler DTMFHandler
	if kind == kindDTMF {
		digit, durMS = ep.dtmf.update(pkt[h.payloadOff:h.payloadEnd], h.ts)
		handler = ep.onDTMF
	}
	peer, relay := ep.peer, ep.relay && !ep.music
	var mix *mixMember // DTMF is not mixed, nor a caller's audio while on hold
	if kind != kindDTMF && !ep.music {
		mix = ep.member
	}
	ep.mu.Unlock()

	if digit != 0 {
		e.stats.dtmf.Add(1)
		if handler != nil {
			handler(digit, durMS)
		}
	}
	if mix != nil {
		// A Remove between the unlock and here only feeds a jitter buffer
		// that nobody reads any more.
		if mix.push(h.ssrc, h.ts, pkt[h.payloadOff:h.payloadEnd], kind) {
			e.stats.mixed.Add(1)
		} else {
			e.stats.dropped.Add(1)
		}
		return
	}
	if peer == nil || !relay || !peer.forward(ep, pkt, &h, kind, now) {
		e.stats.dropped.Add(1)
		return
	}
	e.stats.forwarded.Add(1)
}

// classify maps a payload type to what it carries for this leg: the
// negotiated telephone-event and codec types, and PCMU/PCMA's static types
// (RFC 3551 §6) which some phones send whatever was negotiated. ep.mu held.
func (ep *Endpoint) classify(pt uint8) payloadKind {
	switch {
	case ep.dtmfType != 0 && pt == ep.dtmfType:
		return kindDTMF
	case ep.kind != kindUnknown && pt == ep.codec.PayloadType:
		return ep.kind
	case pt == PCMU.PayloadType:
		return kindULaw
	case pt == PCMA.PayloadType:
		return kindALaw
	}
	return kindUnknown
}

// latch applies symmetric RTP (RFC 4961 §3): replies go to where packets
// come from, which gets through NATs that rewrite the phone's address. The
// first packet latches; another source may take over only after the
// latched one has been silent for relatchAfter, or after SetRemote with a
// new address. It reports false for packets from a foreign source while the
// latched one is alive: they are dropped. ep.mu held.
func (ep *Endpoint) latch(src netip.AddrPort, now int64) bool {
	if ep.latched && src != ep.dest {
		if now-ep.lastRecv < int64(relatchAfter) {
			return false
		}
		ep.eng.log.Info("rtp source moved, re-latching", "local", ep.local, "from", ep.dest, "to", src)
	}
	if !ep.latched {
		ep.eng.log.Debug("rtp latched", "local", ep.local, "sdp", ep.sdpAddr, "source", src)
	}
	ep.dest, ep.latched, ep.lastRecv = src, true, now
	return true
}

// forward sends a packet that from received out of ep's socket to ep's
// remote, mapped to ep's payload types and output stream. It reports
// whether the packet was sent. Runs on from's reader goroutine.
func (ep *Endpoint) forward(from *Endpoint, pkt []byte, h *rtpHeader, kind payloadKind, now int64) bool {
	ep.mu.Lock()
	if ep.closed || ep.peer != from || !ep.relay || ep.music || !ep.dest.IsValid() || ep.kind == kindUnknown {
		ep.mu.Unlock()
		return false
	}
	pt := ep.codec.PayloadType
	switch {
	case kind == kindDTMF:
		if ep.dtmfType == 0 {
			ep.mu.Unlock()
			return false // the peer cannot take RFC 4733 events
		}
		pt = ep.dtmfType
	case kind != ep.kind:
		transcode(pkt[h.payloadOff:h.payloadEnd], kind)
	}
	seq, ts, switched := ep.out.rewrite(srcRelay, h.ssrc, h.seq, h.ts, now)
	// A new source starts a talkspurt (RFC 3551 §4.1); a DTMF packet's
	// marker means "new event" (RFC 4733 §2.5.1.3), so leave it alone.
	marker := h.marker || (switched && kind != kindDTMF)
	writeRTPHeader(pkt, marker, pt, seq, ts, ep.out.ssrc)
	dest, conn := ep.dest, ep.conn
	ep.mu.Unlock()

	_, err := conn.WriteToUDPAddrPort(pkt, dest)
	return err == nil
}

// sendMusic sends the next 20 ms of the hold loop to ep's remote. buf is
// the clock's scratch packet. Runs on the engine clock goroutine.
func (ep *Endpoint) sendMusic(buf []byte, now int64) bool {
	ep.mu.Lock()
	if ep.closed || !ep.music || !ep.dest.IsValid() || ep.kind == kindUnknown {
		ep.mu.Unlock()
		return false
	}
	ep.holdFrame(buf[rtpFixedLen:rtpFixedLen+frameSamples], ep.kind == kindALaw)
	ep.musicSeq++
	ep.musicTS += frameSamples
	seq, ts, switched := ep.out.rewrite(srcMusic, 0, ep.musicSeq, ep.musicTS, now)
	putRTPHeader(buf, switched, ep.codec.PayloadType, seq, ts, ep.out.ssrc)
	dest, conn := ep.dest, ep.conn
	ep.mu.Unlock()

	_, err := conn.WriteToUDPAddrPort(buf[:rtpFixedLen+frameSamples], dest)
	return err == nil
}

// seqTracker counts packets lost on the way to us from the gaps in a
// stream's sequence numbers (RFC 3550 §A.3, simplified): a jump ahead of
// more than one counts the missing ones; a late or duplicate packet, a new
// SSRC or a jump of more than maxSeqJump (a restart, not loss) counts
// nothing.
type seqTracker struct {
	ssrc uint32
	seq  uint16
	seen bool
}

const maxSeqJump = 3000 // a minute of 20 ms packets

func (t *seqTracker) next(ssrc uint32, seq uint16) int {
	if !t.seen || ssrc != t.ssrc {
		t.ssrc, t.seq, t.seen = ssrc, seq, true
		return 0
	}
	delta := seq - t.seq // modulo 2^16
	if delta == 0 || delta >= 0x8000 {
		return 0 // a duplicate or a late packet
	}
	t.seq = seq
	if delta > maxSeqJump {
		return 0
	}
	return int(delta) - 1
}
