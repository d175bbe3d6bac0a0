package api

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
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
	// Queue is the bus subscription's queue in events: the most a client may
	// fall behind before it is cut off. 1,024 events is seconds of a busy
	// organisation and about 1 MB at worst per connection.
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
	// FlushEvery: events queued while a connection was written to less
	// than this ago wait (at most this long) to go out in one batch.
	FlushEvery time.Duration
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
	MaxBatch:              256,
	MaxMessage:            64 << 10,
	SendBuffer:            64 << 10,
	ResubscribesPerMinute: 3,
}

// registerWebSocketRoutes adds the event WebSocket to the API.
func (s *Server) registerWebSocketRoutes() {
	h := newWSHub(s, defaultWSConfig)
	s.mux.HandleFunc("GET /api/ws", h.serveHTTP)
}

// wsHub is what the connections share: the JSON of each recent event,
// encoded once however many clients receive it.
type wsHub struct {
	s     *Server
	cfg   wsConfig
	slots [wsEncodeSlots]atomic.Pointer[wsEncoded]
}

// wsEncodeSlots covers more events than a subscription may queue, so a
// client that is behind still finds its events encoded.
const wsEncodeSlots = 4096

type wsEncoded struct {
	seq uint64
	b   []byte
}

func newWSHub(s *Server, cfg wsConfig) *wsHub { return &wsHub{s: s, cfg: cfg} }

// encode returns e as JSON, from the shared cache when another connection
// encoded it already. Two connections may both encode an event the first
// time; the result is the same.
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
