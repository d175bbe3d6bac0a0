// Package media terminates and relays RTP for calls: UDP endpoints from a
// port pool, symmetric-RTP latching, packet relay between two endpoints,
// RFC 4733 telephone-event decoding, music on hold, and SDP offer/answer.
//
// # Goroutines
//
// An Engine runs one clock goroutine (music on hold, every 20 ms) and one
// reader goroutine per open Endpoint. Relaying happens on the reader of the
// receiving endpoint, which sends out of the peer's socket: no queues, no
// hand-off, no allocation per packet.
//
// # Lock order
//
// Take locks only in this order, and never two Endpoint locks at once:
//
//	Engine.mu → Bridge.mu → Endpoint.mu → Engine.musicMu → portPool.mu
//
// The packet path locks the receiving endpoint, releases it, then locks the
// peer to rewrite the header; it never holds both, so two readers relaying
// towards each other cannot deadlock. The music clock copies its player
// list under musicMu, releases it, then locks each endpoint in turn.
package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ErrEngineClosed is returned by NewEndpoint and Connect after Engine.Close.
var ErrEngineClosed = errors.New("media engine closed")

// EngineConfig configures the media engine.
type EngineConfig struct {
	BindAddr netip.Addr // address RTP sockets bind to and advertise; must be a specific address, since it goes into SDP
	PortMin  int        // first port of the RTP range (even)
	PortMax  int        // last port of the RTP range
	Hold     []int16    // music on hold, 8 kHz mono linear PCM, looped; nil (or empty) = built-in
	Logger   *slog.Logger
}

// validate checks cfg at start-up so mistakes show as one clear error.
func (cfg EngineConfig) validate() error {
	switch {
	case !cfg.BindAddr.IsValid():
		return errors.New("BindAddr is not set")
	case cfg.BindAddr.IsUnspecified():
		// 0.0.0.0 in c= means "hold" to older peers (RFC 3264 §8.4).
		return fmt.Errorf("BindAddr %s is unspecified; it is advertised in SDP, give a specific address", cfg.BindAddr)
	case cfg.PortMin < 1 || cfg.PortMax > 65535 || cfg.PortMin > cfg.PortMax:
		return fmt.Errorf("RTP port range %d-%d is not within 1-65535 and ordered", cfg.PortMin, cfg.PortMax)
	case cfg.PortMin == cfg.PortMax && cfg.PortMin%2 != 0:
		return fmt.Errorf("RTP port range %d-%d holds no even port", cfg.PortMin, cfg.PortMax)
	}
	return nil
}

// Engine owns the RTP port pool, the music-on-hold clock and all endpoints.
type Engine struct {
	log   *slog.Logger
	addr  netip.Addr
	ports *portPool
	epoch time.Time // origin of now(); its monotonic reading is what counts
	music musicLoop

	mu        sync.Mutex // guards closed and endpoints
	closed    bool
	endpoints map[*Endpoint]struct{}

	musicMu sync.Mutex  // guards players; a leaf below Endpoint.mu
	players []*Endpoint // endpoints playing music on hold

	stop      chan struct{} // closed by Close to stop the clock
	clockDone chan struct{}

	stats engineCounters
}

// engineCounters are shared by all packet goroutines, hence atomic.
type engineCounters struct {
	in, forwarded, dropped, music, dtmf atomic.Uint64
}

// NewEngine validates cfg and starts the engine's clock goroutine.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("media engine config: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hold := cfg.Hold
	if len(hold) == 0 {
		hold = builtinMusic()
	}
	e := &Engine{
		log:       log.With("component", "media"),
		addr:      cfg.BindAddr.WithZone(""),
		ports:     newPortPool(cfg.PortMin, cfg.PortMax),
		epoch:     time.Now(),
		music:     newMusicLoop(hold),
		endpoints: make(map[*Endpoint]struct{}),
		stop:      make(chan struct{}),
		clockDone: make(chan struct{}),
	}
	go e.runClock()
	return e, nil
}

// now is the engine's monotonic clock in nanoseconds; time.Since reads the
// monotonic clock and does not allocate.
func (e *Engine) now() int64 { return int64(time.Since(e.epoch)) }

// Close stops the engine and closes every endpoint still open. Idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	eps := make([]*Endpoint, 0, len(e.endpoints))
	for ep := range e.endpoints {
		eps = append(eps, ep)
	}
	e.mu.Unlock()

	close(e.stop)
	<-e.clockDone
	var errs []error
	for _, ep := range eps {
		if err := ep.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NewEndpoint binds a UDP socket on a free even port of the range.
// It returns ErrNoPorts when the range is exhausted.
func (e *Engine) NewEndpoint() (*Endpoint, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("new rtp endpoint: %w", ErrEngineClosed)
	}
	conn, port, err := e.ports.bind(e.addr)
	if err != nil {
		return nil, fmt.Errorf("new rtp endpoint: %w", err)
	}
	ep := newEndpoint(e, conn, netip.AddrPortFrom(e.addr, uint16(port)))

	e.mu.Lock()
	if e.closed { // Close ran while we were binding
		e.mu.Unlock()
		_ = conn.Close()
		e.ports.put(port)
		return nil, fmt.Errorf("new rtp endpoint: %w", ErrEngineClosed)
	}
	e.endpoints[ep] = struct{}{}
	e.mu.Unlock()

	go ep.readLoop()
	return ep, nil
}

// forget removes a closed endpoint and returns its port to the pool.
func (e *Engine) forget(ep *Endpoint) {
	e.mu.Lock()
	delete(e.endpoints, ep)
	e.mu.Unlock()
	e.ports.put(int(ep.local.Port()))
}

// EngineStats are cumulative counters of an engine.
type EngineStats struct {
	Endpoints        int    // currently open
	PacketsIn        uint64 // RTP packets received
	PacketsForwarded uint64 // RTP packets sent to a peer
	PacketsDropped   uint64 // malformed, unlatched or not forwarded
	MusicFrames      uint64 // music-on-hold packets sent
	DTMFEvents       uint64 // RFC 4733 digits decoded (one per event)
}

// Stats reports counters for metrics and benchmarks. Every datagram read
// counts in PacketsIn and then in exactly one of PacketsForwarded or
// PacketsDropped (a digit consumed by OnDTMF with no peer counts as dropped).
func (e *Engine) Stats() EngineStats {
	e.mu.Lock()
	n := len(e.endpoints)
	e.mu.Unlock()
	return EngineStats{
		Endpoints:        n,
		PacketsIn:        e.stats.in.Load(),
		PacketsForwarded: e.stats.forwarded.Load(),
		PacketsDropped:   e.stats.dropped.Load(),
		MusicFrames:      e.stats.music.Load(),
		DTMFEvents:       e.stats.dtmf.Load(),
	}
}
