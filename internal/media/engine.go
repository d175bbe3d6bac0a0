// Package media terminates, relays and mixes RTP for calls: UDP endpoints
// from a port pool, symmetric-RTP latching, packet relay between two
// endpoints, conference mixing with per-listener speaker sets, stereo call
// recording, RFC 4733 telephone-event decoding, music on hold, and SDP
// offer/answer.
//
// # Goroutines
//
// An Engine runs one clock goroutine (music on hold, every 20 ms) and one
// reader goroutine per open Endpoint. Relaying happens on the reader of the
// receiving endpoint, which sends out of the peer's socket: no queues, no
// hand-off, no allocation per packet.
//
// A Mixer member's reader decodes its audio into the member's jitter buffer
// instead. Each Mixer has a clock goroutine (mixClock) that ticks every
// 20 ms: it takes a frame from every jitter buffer, mixes per listener,
// sends out of each listener's socket, and queues a stereo frame for each
// Recording. Each Recording has a writer goroutine that does the disk I/O,
// so a slow disk never delays a tick.
//
// # Lock order
//
// Take locks only in this order, and never two Endpoint locks at once:
//
//	Engine.mu → Mixer.mu → Bridge.mu → Endpoint.mu → mixMember.mu → Engine.musicMu → portPool.mu
//
// mixClock.mu is a leaf (its mixer list is copied, then released). A
// Mixer and a Bridge are never locked together: an endpoint's bridge and
// mixer fields are checked under its own lock.
//
// The packet path locks the receiving endpoint, releases it, then locks the
// peer to rewrite the header (or the member's jitter buffer); it never holds
// both, so two readers relaying towards each other cannot deadlock. The
// music clock copies its player list under musicMu, releases it, then locks
// each endpoint in turn. A mix clock holds one Mixer.mu for that mixer's
// whole tick, taking each member's jitter buffer lock, then each member's
// Endpoint.mu, one at a time; so when Mixer.Remove returns, the mixer sends
// nothing more out of the endpoint.
package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrEngineClosed is returned by NewEndpoint, Connect and NewMixer after Engine.Close.
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

	mu          sync.Mutex // guards closed, endpoints, mixers and mixClocks
	closed      bool
	endpoints   map[*Endpoint]struct{}
	mixers      map[*Mixer]struct{}
	mixClocks   []*mixClock
	clockPolicy clockPolicy   // set before the first NewMixer (benchmarks)
	mixGen      atomic.Uint32 // numbers mixer memberships for outStream.rewrite

	musicMu sync.Mutex  // guards players; a leaf below Endpoint.mu
	players []*Endpoint // endpoints playing music on hold

	stop      chan struct{} // closed by Close to stop the clock
	clockDone chan struct{}

	stats engineCounters
}

// engineCounters are shared by all packet goroutines, hence atomic.
type engineCounters struct {
	in, forwarded, dropped, music, dtmf, mixed atomic.Uint64
	lost                                       atomic.Uint64
	mixTicks, mixLate, mixFrames, recDrops     atomic.Uint64
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
		mixers:    make(map[*Mixer]struct{}),
		stop:      make(chan struct{}),
		clockDone: make(chan struct{}),
	}
	go e.runClock()
	return e, nil
}

// now is the engine's monotonic clock in nanoseconds; time.Since reads the
// monotonic clock and does not allocate.
func (e *Engine) now() int64 { return int64(time.Since(e.epoch)) }

// Close stops the engine, closes every mixer (finalising its recordings)
// and every endpoint still open. Idempotent.
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
	mxs := make([]*Mixer, 0, len(e.mixers))
	for mx := range e.mixers {
		mxs = append(mxs, mx)
	}
	e.mu.Unlock()

	for _, mx := range mxs {
		mx.Close()
	}
	e.mu.Lock()
	clocks := e.mixClocks
	e.mixClocks = nil
	e.mu.Unlock()
	for _, c := range clocks {
		c.shutdown()
	}
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

// forgetMixer removes a closed mixer.
func (e *Engine) forgetMixer(mx *Mixer) {
	e.mu.Lock()
	delete(e.mixers, mx)
	e.mu.Unlock()
}

// forgetMixClock removes a stopped per-mixer clock.
func (e *Engine) forgetMixClock(c *mixClock) {
	e.mu.Lock()
	e.mixClocks = slices.DeleteFunc(e.mixClocks, func(x *mixClock) bool { return x == c })
	e.mu.Unlock()
}

// EngineStats are cumulative counters of an engine.
type EngineStats struct {
	Endpoints        int    // currently open
	Mixers           int    // currently open
	PacketsIn        uint64 // RTP packets received
	PacketsForwarded uint64 // RTP packets sent to a peer
	PacketsMixed     uint64 // audio packets taken into a mixer's jitter buffer
	PacketsDropped   uint64 // malformed, unlatched, late or not forwarded
	PacketsLost      uint64 // never arrived: gaps in the senders' sequence numbers
	MusicFrames      uint64 // music-on-hold packets sent
	DTMFEvents       uint64 // RFC 4733 digits decoded (one per event)
	MixerTicks       uint64 // 20 ms ticks summed over mixers
	MixerLateTicks   uint64 // of those, started more than 10 ms late or skipped
	MixerFrames      uint64 // mixed packets sent
	RecordingDrops   uint64 // 20 ms recording frames dropped (disk behind), written as silence
}

// Stats reports counters for metrics and benchmarks. Every datagram read
// counts in PacketsIn and then in exactly one of PacketsForwarded,
// PacketsMixed or PacketsDropped (a digit consumed by OnDTMF with no peer
// counts as dropped, as does a packet too late for a jitter buffer).
func (e *Engine) Stats() EngineStats {
	e.mu.Lock()
	n, nmx := len(e.endpoints), len(e.mixers)
	e.mu.Unlock()
	return EngineStats{
		Endpoints:        n,
		Mixers:           nmx,
		PacketsIn:        e.stats.in.Load(),
		PacketsForwarded: e.stats.forwarded.Load(),
		PacketsMixed:     e.stats.mixed.Load(),
		PacketsLost:      e.stats.lost.Load(),
		PacketsDropped:   e.stats.dropped.Load(),
		MusicFrames:      e.stats.music.Load(),
		DTMFEvents:       e.stats.dtmf.Load(),
		MixerTicks:       e.stats.mixTicks.Load(),
		MixerLateTicks:   e.stats.mixLate.Load(),
		MixerFrames:      e.stats.mixFrames.Load(),
		RecordingDrops:   e.stats.recDrops.Load(),
	}
}
