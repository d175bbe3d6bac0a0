package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/events"
)

// The event WebSocket (GET /api/ws, RFC 6455): a client subscribes to
// topics, receives a snapshot of the calls it may see, then the events in
// sequence order; on reconnect it resumes from the last sequence number it
// saw. docs/API.md describes the protocol; ws_protocol.go parses it and
// ws_conn.go runs one connection.

// wsConfig holds the per-connection limits. The defaults say why.
type wsConfig struct {
	// Queue is how many events a client may fall behind before it is cut
	// off (given a fresh snapshot); a resume may replay at most this many.
	// 1,024 events is seconds of a busy organisation. What a client has
	// not read stays in the bus's shared history, not per connection.
	Queue int
	// PingEvery: the server pings this often, so proxies keep the
	// connection and a dead peer is noticed.
	PingEvery time.Duration
	// IdleTimeout closes a connection that sent nothing (not even a pong)
	// for this long: three missed pings.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write; a peer that accepts nothing for this
	// long is gone.
	WriteTimeout time.Duration
	// FlushEvery: connections are woken for new events at most this
	// often, so each writes at most one frame per interval with every
	// event that came meanwhile; an event published when the last wake
	// is older than the interval goes out at once, others wait at most
	// the interval.
	FlushEvery time.Duration
	// FrameBudget and MaxFlushEvery stretch that interval with the
	// number of connections: a frame costs a write system call (on
	// loopback the receiver's TCP processing too), the bulk of the
	// fan-out's CPU, so the interval grows to keep the frames at about
	// FrameBudget a second in all, up to MaxFlushEvery. 20,000 frames a
	// second is 400 connections at 20 ms and 1,000 at 50 ms (well under
	// half a core with 120 events a second, docs/PERFORMANCE.md); past
	// 1,000 connections the interval stays at 50 ms and the frames grow
	// with them.
	FrameBudget   int
	MaxFlushEvery time.Duration
	// MaxBatch caps the events in one message.
	MaxBatch int
	// MaxMessage is the largest client message; larger ones close the
	// connection with 1009 (RFC 6455 §7.4.1).
	MaxMessage int64
	// SendBuffer fixes the socket's kernel send buffer (SO_SNDBUF). Left to
	// autotuning it grows to megabytes for a peer that stops reading, a
	// queue outside our bound; 64 KiB is hundreds of events, and a client
	// that is further behind belongs to the subscription queue's policy.
	SendBuffer int
	// ResubscribesPerMinute is how often a slow client is given a fresh
	// snapshot before it is closed with 1008 "too slow".
	ResubscribesPerMinute int
}

var defaultWSConfig = wsConfig{
	Queue:                 1024,
	PingEvery:             20 * time.Second,
	IdleTimeout:           60 * time.Second,
	WriteTimeout:          10 * time.Second,
	FlushEvery:            20 * time.Millisecond,
	FrameBudget:           20000,
	MaxFlushEvery:         50 * time.Millisecond,
	MaxBatch:              256,
	MaxMessage:            64 << 10,
	SendBuffer:            64 << 10,
	ResubscribesPerMinute: 3,
}

// registerWebSocketRoutes adds the event WebSocket to the API.
func (s *Server) registerWebSocketRoutes() {
	s.ws = newWSHub(s, defaultWSConfig)
	s.mux.HandleFunc("GET /api/ws", s.ws.serveHTTP)
}

// WebSocketClients is the number of open event WebSocket connections.
func (s *Server) WebSocketClients() int {
	if s.ws == nil {
		return 0
	}
	return int(s.ws.clients.Load())
}

// LagObserver records how long an event took from publication to its
// write to a client, in seconds (a metrics.Histogram). It is called once
// per delivery and must not allocate.
type LagObserver interface{ Observe(seconds float64) }

// SetEventLagObserver installs the observer of delivery lag; call it
// before serving.
func (s *Server) SetEventLagObserver(o LagObserver) {
	if s.ws != nil {
		s.ws.lag = o
	}
}

// Shutdown closes every event WebSocket with 1001 (going away) and waits,
// until ctx ends, for the connections to finish; new upgrades are refused
// with 503. http.Server.Shutdown does not see hijacked connections, so
// call this first.
func (s *Server) Shutdown(ctx context.Context) {
	if s.ws != nil {
		s.ws.shutdown(ctx)
	}
}

// wsHub is what the connections share.
//
// Fan-out: connections do not each subscribe to the bus. They keep a
// cursor (the last sequence number they handled) and read the events after
// it from the bus history (events.Bus.ReadSince) when the hub's fan-out
// goroutine — the bus's only WebSocket subscriber — rings their doorbell.
// It rings at most once per flush interval (FlushEvery, stretched with
// the connections to keep within FrameBudget): at once when it rang longer
// ago than that, else when the interval has passed since, so every
// connection writes at most one frame per interval carrying all its
// events, and an event waits at most the interval. Each event's JSON is
// encoded once (by the fan-out goroutine, before it rings) and the bytes
// are shared. A
// client that falls more than Queue events behind is given a fresh
// snapshot or closed; what it has not read stays in the bus's bounded
// history, so a slow client costs no memory.
type wsHub struct {
	s     *Server
	cfg   wsConfig
	slots [wsEncodeSlots]atomic.Pointer[wsEncoded]
	lag   LagObserver // nil: not measured

	clients atomic.Int64 // open connections, for metrics

	mu        sync.Mutex
	conns     map[*wsConn]struct{}
	stopFan   chan struct{} // non-nil while the fan-out goroutine runs
	fanDone   chan struct{}
	closing   bool
	goingAway chan struct{} // closed by shutdown
	open      sync.WaitGroup
}

// wsEncodeSlots covers more events than a connection may be behind
// (Queue), so a client that is behind still finds its events encoded,
// and bounds the encoded JSON kept: about 2,048 × 1 KB.
const wsEncodeSlots = 2048

// wsDoorbellQueue is the fan-out goroutine's bus queue. It only encodes
// and rings, so it keeps up; if a flood ever cuts it off it subscribes
// again, and the connections, reading the history, lose nothing.
const wsDoorbellQueue = 1024

type wsEncoded struct {
	seq uint64
	b   []byte
}

func newWSHub(s *Server, cfg wsConfig) *wsHub {
	return &wsHub{s: s, cfg: cfg, conns: make(map[*wsConn]struct{}), goingAway: make(chan struct{})}
}

// encode returns e as JSON, from the shared cache when the fan-out
// goroutine or another connection encoded it already. Two goroutines may
// both encode an event the first time; the result is the same.
func (h *wsHub) encode(e events.Event) []byte {
	slot := &h.slots[e.Seq%wsEncodeSlots]
	if x := slot.Load(); x != nil && x.seq == e.Seq {
		return x.b
	}
	b, err := json.Marshal(e)
	if err != nil {
		h.s.log.Error("encode event", "seq", e.Seq, "type", e.Type, "error", err)
		b = []byte(`{"seq":` + strconv.FormatUint(e.Seq, 10) + `,"type":` + strconv.Quote(string(e.Type)) +
			`,"resource":` + strconv.Quote(e.Resource) + `,"data":null}`)
	}
	slot.Store(&wsEncoded{seq: e.Seq, b: b})
	return b
}

// add registers a connection; the first one starts the fan-out goroutine.
// false once the hub is shutting down.
func (h *wsHub) add(c *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.conns[c] = struct{}{}
	h.open.Add(1)
	h.clients.Add(1)
	if h.stopFan == nil {
		// The doorbell subscription needs no history: connections read
		// the events themselves.
		sub, err := h.s.bus.Subscribe(0, wsDoorbellQueue)
		if err == nil {
			h.stopFan, h.fanDone = make(chan struct{}), make(chan struct{})
			go h.fanOut(sub, h.stopFan, h.fanDone)
		}
	}
	return true
}

// remove unregisters a connection; the last one stops the fan-out
// goroutine and waits for it, so an idle hub holds no goroutine and no
// subscription.
func (h *wsHub) remove(c *wsConn) {
	h.mu.Lock()
	delete(h.conns, c)
	var done chan struct{}
	if len(h.conns) == 0 && h.stopFan != nil {
		close(h.stopFan)
		done = h.fanDone
		h.stopFan, h.fanDone = nil, nil
	}
	h.mu.Unlock()
	if done != nil {
		<-done
	}
	h.clients.Add(-1)
	h.open.Done()
}

// ring wakes every connection to read what was published; a connection
// already woken and not yet reading keeps one pending wake.
func (h *wsHub) ring() {
	h.mu.Lock()
	for c := range h.conns {
		c.ring()
	}
	h.mu.Unlock()
}

// fanOut watches the bus: it encodes each event once and rings the
// connections at most once per FlushEvery. It also tells them when to
// ping their clients.
func (h *wsHub) fanOut(sub *events.Subscription, stop, done chan struct{}) {
	defer close(done)
	defer func() { sub.Close() }()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	ping := time.NewTicker(h.cfg.PingEvery)
	defer ping.Stop()
	var (
		lastRing time.Time
		armed    bool
		dirty    bool
	)
	for {
		select {
		case <-stop:
			return
		case e := <-sub.C():
			h.encode(e)
			for drained := false; !drained; {
				select {
				case e := <-sub.C():
					h.encode(e)
				default:
					drained = true
				}
			}
			dirty = true
			if armed {
				continue
			}
			if wait := h.flushInterval() - time.Since(lastRing); wait > 0 {
				timer.Reset(wait)
				armed = true
				continue
			}
		case <-timer.C:
			armed = false
			if !dirty {
				continue
			}
		case <-ping.C:
			h.mu.Lock()
			for c := range h.conns {
				c.pingTick()
			}
			h.mu.Unlock()
			continue
		case <-sub.Done():
			// Cut off while encoding a flood: connections read from the
			// bus anyway; ring them and carry on with a new doorbell.
			next, err := h.s.bus.Subscribe(0, wsDoorbellQueue)
			if err != nil {
				h.s.log.Error("websocket fan-out stopped", "error", err)
				<-stop
				return
			}
			sub.Close()
			sub = next
		}
		dirty = false
		lastRing = time.Now()
		h.ring()
	}
}

// flushInterval is FlushEvery, stretched so that ringing every connection
// once per interval stays within FrameBudget frames a second, up to
// MaxFlushEvery.
func (h *wsHub) flushInterval() time.Duration {
	d := h.cfg.FlushEvery
	if h.cfg.FrameBudget > 0 {
		d = max(d, min(h.cfg.MaxFlushEvery, time.Duration(h.clients.Load())*time.Second/time.Duration(h.cfg.FrameBudget)))
	}
	return d
}

// shutdown closes every connection with 1001 and waits for them.
func (h *wsHub) shutdown(ctx context.Context) {
	h.mu.Lock()
	if !h.closing {
		h.closing = true
		close(h.goingAway)
		for c := range h.conns {
			c.poke()
		}
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.open.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		h.s.log.Warn("websocket connections still open at shutdown", "count", h.clients.Load())
	}
}

// serveHTTP authenticates like every API route, before the upgrade, so a
// refusal is an ordinary JSON error. A browser cannot put a bearer token
// on a WebSocket, so the console uses its session cookie; and because a
// WebSocket is not bound by the same-origin policy, a cookie-authenticated
// upgrade must carry our own Origin (cross-site WebSocket hijacking).
func (h *wsHub) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	p, viaCookie, ok := s.principal(w, r)
	if !ok {
		return
	}
	if viaCookie && !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross_origin", "a WebSocket authenticated by the session cookie must come from this origin")
		return
	}
	// RFC 6455 §4.2.1: the handshake is a GET with Upgrade: websocket.
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		writeError(w, http.StatusUpgradeRequired, "upgrade_required", "this is a WebSocket endpoint (RFC 6455)")
		return
	}
	h.mu.Lock()
	closing := h.closing
	h.mu.Unlock()
	if closing {
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
		return
	}
	up := ws.HTTPUpgrader{Timeout: h.cfg.WriteTimeout}
	conn, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		// The upgrader has answered the handshake with an error status.
		if conn != nil {
			conn.Close()
		}
		s.log.Debug("websocket handshake refused", "error", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && h.cfg.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(h.cfg.SendBuffer)
	}
	c := newWSConn(h, conn, rw.Reader, p)
	c.log.Debug("websocket connected")
	c.run()
	c.log.Debug("websocket closed", "reason", c.closeReason)
}
