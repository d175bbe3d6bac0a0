package media

import (
	"errors"
	"fmt"
	"sync"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// Bridge errors; they are wrapped with the operation.
var (
	// ErrBridgeClosed is returned by Hold and Resume after Disconnect.
	ErrBridgeClosed = errors.New("bridge disconnected")
	// ErrInBridge means Connect got an endpoint that is already bridged.
	ErrInBridge = errors.New("endpoint already in a bridge")
	// ErrNotInBridge means Hold got an endpoint that is not one of the bridge's.
	ErrNotInBridge = errors.New("endpoint not in this bridge")
	// ErrEndpointClosed means an operation got an endpoint that was closed.
	ErrEndpointClosed = errors.New("endpoint closed")
)

// Bridge relays RTP between two endpoints: what a receives goes out of b to
// b's remote and vice versa, with payload types mapped to each side's
// negotiated ones and SSRC/sequence/timestamp kept continuous on the way out
// across source switches (relay ↔ music on hold).
//
// The relay itself runs on the endpoints' reader goroutines; the Bridge
// only switches their state, under its own mutex so that Hold, Resume and
// Disconnect apply in order.
type Bridge struct {
	a, b *Endpoint

	mu     sync.Mutex // guards closed and held; taken before Endpoint.mu
	closed bool
	held   *Endpoint // the endpoint hearing music, nil when not on hold
}

// Connect starts relaying between a and b. An endpoint is in at most one
// bridge or mixer (ErrInBridge; ErrInMixer for a mixer member, which also
// matches ErrInBridge).
func (e *Engine) Connect(a, b *Endpoint) (*Bridge, error) {
	switch {
	case a == nil || b == nil:
		return nil, errors.New("connect: nil endpoint")
	case a == b:
		return nil, errors.New("connect: an endpoint cannot be bridged to itself")
	case a.eng != e || b.eng != e:
		return nil, errors.New("connect: endpoint belongs to another engine")
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("connect: %w", ErrEngineClosed)
	}
	br := &Bridge{a: a, b: b}
	br.mu.Lock()
	defer br.mu.Unlock()
	if err := a.attach(br, b); err != nil {
		return nil, fmt.Errorf("connect %s: %w", a.local, err)
	}
	if err := b.attach(br, a); err != nil {
		a.detach(br)
		return nil, fmt.Errorf("connect %s: %w", b.local, err)
	}
	return br, nil
}

// attach makes ep relay to peer as part of br.
func (ep *Endpoint) attach(br *Bridge, peer *Endpoint) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	switch {
	case ep.closed:
		return ErrEndpointClosed
	case ep.bridge != nil:
		return ErrInBridge
	case ep.mixer != nil:
		return ErrInMixer
	}
	ep.bridge, ep.peer, ep.relay = br, peer, true
	return nil
}

// detach undoes attach if ep is still in br.
func (ep *Endpoint) detach(br *Bridge) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.bridge == br {
		ep.bridge, ep.peer, ep.relay = nil, nil, false
	}
}

// setRelay turns relaying towards ep's peer on or off.
func (ep *Endpoint) setRelay(br *Bridge, on bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.bridge == br {
		ep.relay = on
	}
}

// Hold stops relaying in both directions and plays music on hold to held
// (which must be one of the bridge's endpoints). The other side hears silence.
// Holding the other endpoint of a bridge already on hold moves the music.
func (br *Bridge) Hold(held *Endpoint) error {
	br.mu.Lock()
	defer br.mu.Unlock()
	switch {
	case br.closed:
		return fmt.Errorf("hold: %w", ErrBridgeClosed)
	case held != br.a && held != br.b:
		return fmt.Errorf("hold: %w", ErrNotInBridge)
	case br.held == held:
		return nil
	}
	if br.held != nil {
		br.held.StopMusic()
	}
	br.a.setRelay(br, false)
	br.b.setRelay(br, false)
	held.StartMusic()
	br.held = held
	return nil
}

// Resume restores relaying in both directions and stops the music.
func (br *Bridge) Resume() error {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.closed {
		return fmt.Errorf("resume: %w", ErrBridgeClosed)
	}
	if br.held != nil {
		br.held.StopMusic()
		br.held = nil
	}
	br.a.setRelay(br, true)
	br.b.setRelay(br, true)
	return nil
}

// Disconnect stops relaying; the endpoints stay open. Music started by
// Hold stops too. Idempotent.
func (br *Bridge) Disconnect() {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.closed {
		return
	}
	br.closed = true
	if br.held != nil {
		br.held.StopMusic()
		br.held = nil
	}
	br.a.detach(br)
	br.b.detach(br)
}

// µ-law ↔ A-law in one table lookup per byte, built once from the g711
// package (via linear PCM) so both directions agree with its decoders.
var ulawToALaw, alawToULaw [256]byte

func init() {
	for i := range 256 {
		ulawToALaw[i] = g711.LinearToALaw(g711.ULawToLinear(uint8(i)))
		alawToULaw[i] = g711.LinearToULaw(g711.ALawToLinear(uint8(i)))
	}
}

// transcode converts a G.711 payload of kind from to the other law, in
// place: both laws are one byte per sample, so the packet keeps its size.
func transcode(payload []byte, from payloadKind) {
	t := &ulawToALaw
	if from == kindALaw {
		t = &alawToULaw
	}
	for i, c := range payload {
		payload[i] = t[c]
	}
}
