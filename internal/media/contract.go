// Package media terminates and relays RTP for calls: UDP endpoints from a
// port pool, symmetric-RTP latching, packet relay between two endpoints,
// RFC 4733 telephone-event decoding, music on hold, and SDP offer/answer.
//
// CONTRACT FILE: the exported API below is what internal/call codes against.
// Implementations replace the panics; signatures change only by agreement.
package media

import (
	"errors"
	"log/slog"
	"net/netip"
)

// Direction is an SDP media direction attribute (RFC 3264 §6.1).
type Direction int

// Directions; Unknown is the zero value and means "not stated" (sendrecv).
const (
	DirectionUnknown Direction = iota
	DirectionSendRecv
	DirectionSendOnly
	DirectionRecvOnly
	DirectionInactive
)

// Codec is an RTP audio payload format we can carry.
type Codec struct {
	Name        string // "PCMU" or "PCMA"
	PayloadType uint8  // 0 for PCMU, 8 for PCMA (static)
	ClockRate   int    // 8000
}

// Supported codecs, in our preference order.
var (
	PCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	PCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
)

// ErrNoCommonCodec means an offer had no audio codec we support (SIP 488).
var ErrNoCommonCodec = errors.New("no common codec")

// ErrNoPorts means the RTP port range is exhausted (SIP 503).
var ErrNoPorts = errors.New("rtp port range exhausted")

// SessionDesc is the part of an SDP body a B2BUA needs: the first audio stream.
type SessionDesc struct {
	Addr      netip.AddrPort // c= address and m= port; port 0 means the stream is refused
	Codecs    []Codec        // supported audio codecs in the offerer's order (unknown ones dropped)
	DTMFType  uint8          // telephone-event payload type, valid when HasDTMF
	HasDTMF   bool
	Direction Direction
	PTime     int // a=ptime in ms, 0 if absent
}

// ParseSDP parses an SDP body (RFC 4566) and returns its first audio stream.
// It never panics on hostile input; errors say what is wrong.
func ParseSDP(body []byte) (SessionDesc, error) { panic("unimplemented") }

// Negotiate returns the codecs of offer that we support, in the offer's order.
// It returns ErrNoCommonCodec when there are none.
func Negotiate(offer SessionDesc) ([]Codec, error) { panic("unimplemented") }

// SDPParams describe an SDP body we send.
type SDPParams struct {
	SessionID uint64         // o= sess-id, stable for a leg
	Version   uint64         // o= sess-version, incremented on each new offer/answer that changes
	Addr      netip.AddrPort // our c= address and m= port
	Codecs    []Codec        // in preference order
	DTMFType  uint8          // telephone-event PT offered/answered when HasDTMF
	HasDTMF   bool
	Direction Direction
}

// BuildSDP renders an SDP body (RFC 4566 / RFC 3264), a=ptime:20.
func BuildSDP(p SDPParams) []byte { panic("unimplemented") }

// EngineConfig configures the media engine.
type EngineConfig struct {
	BindAddr netip.Addr // address RTP sockets bind to and advertise
	PortMin  int        // first port of the RTP range (even)
	PortMax  int        // last port of the RTP range
	Hold     []int16    // music on hold, 8 kHz mono linear PCM, looped; nil = built-in
	Logger   *slog.Logger
}

// Engine owns the RTP port pool, the music-on-hold clock and all endpoints.
type Engine struct{}

// NewEngine validates cfg and starts the engine's clock goroutine.
func NewEngine(cfg EngineConfig) (*Engine, error) { panic("unimplemented") }

// Close stops the engine and closes every endpoint still open.
func (e *Engine) Close() error { panic("unimplemented") }

// NewEndpoint binds a UDP socket on a free even port of the range.
// It returns ErrNoPorts when the range is exhausted.
func (e *Engine) NewEndpoint() (*Endpoint, error) { panic("unimplemented") }

// Stats reports counters for metrics and benchmarks.
func (e *Engine) Stats() EngineStats { panic("unimplemented") }

// EngineStats are cumulative counters of an engine.
type EngineStats struct {
	Endpoints        int    // currently open
	PacketsIn        uint64 // RTP packets received
	PacketsForwarded uint64 // RTP packets sent to a peer
	PacketsDropped   uint64 // malformed, unlatched or not forwarded
}

// DTMFHandler is called once per RFC 4733 event (digit '0'-'9','*','#','A'-'D'),
// on the end of the event, with its duration in ms. It runs on the packet
// goroutine: it must not block.
type DTMFHandler func(digit byte, durationMS int)

// Endpoint is one UDP socket facing one SIP leg's media.
type Endpoint struct{}

// LocalAddr is the address to advertise in SDP.
func (ep *Endpoint) LocalAddr() netip.AddrPort { panic("unimplemented") }

// SetRemote sets where to send (from SDP) and what the leg negotiated.
// Symmetric RTP (RFC 4961): once packets arrive, replies go to their source.
// It may be called again on a re-INVITE.
func (ep *Endpoint) SetRemote(addr netip.AddrPort, codec Codec, dtmfType uint8) {
	panic("unimplemented")
}

// OnDTMF sets the handler for decoded telephone events; nil removes it.
func (ep *Endpoint) OnDTMF(h DTMFHandler) { panic("unimplemented") }

// StartMusic plays music on hold to this endpoint's remote, replacing whatever
// a bridge would send it; packets it receives are not relayed meanwhile.
func (ep *Endpoint) StartMusic() { panic("unimplemented") }

// StopMusic ends StartMusic; relaying (if bridged) resumes.
func (ep *Endpoint) StopMusic() { panic("unimplemented") }

// Close releases the socket and its port. Idempotent.
func (ep *Endpoint) Close() error { panic("unimplemented") }

// Bridge relays RTP between two endpoints: what a receives goes out of b to
// b's remote and vice versa, with payload types mapped to each side's
// negotiated ones and SSRC/sequence/timestamp kept continuous on the way out
// across source switches (relay ↔ music on hold).
type Bridge struct{}

// Connect starts relaying between a and b. An endpoint is in at most one bridge.
func (e *Engine) Connect(a, b *Endpoint) (*Bridge, error) { panic("unimplemented") }

// Hold stops relaying in both directions and plays music on hold to held
// (which must be one of the bridge's endpoints). The other side hears silence.
func (br *Bridge) Hold(held *Endpoint) error { panic("unimplemented") }

// Resume restores relaying in both directions and stops the music.
func (br *Bridge) Resume() error { panic("unimplemented") }

// Disconnect stops relaying; the endpoints stay open.
func (br *Bridge) Disconnect() { panic("unimplemented") }
