package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
)

// wsConn is one WebSocket connection: a reader goroutine that parses
// frames and a writer (the handler's goroutine) that owns the socket's
// write side, the bus subscription and all other state, so nothing here
// needs a lock. The reader hands the writer what it read over in; both
// end when either does.
type wsConn struct {
	hub  *wsHub
	cfg  wsConfig
	p    auth.Principal
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	log  *slog.Logger

	in         chan wsInbound // reader → writer
	readerDone chan struct{}  // closed when the reader returns
	stop       chan struct{}  // closed when the writer returns

	// Writer state.
	sub         *events.Subscription
	topics      []wsTopic
	pending     []events.Event // visible events not yet written
	seqs        []uint64
	encs        [][]byte
	buf         []byte
	lastFlush   time.Time
	flushTimer  *time.Timer
	timerArmed  bool
	resubs      []time.Time // fresh snapshots given for slowness, last minute
	closeReason string
}

// wsInbound is one thing the reader passes to the writer.
type wsInbound struct {
	msg    wsClientMsg
	err    *wsProtocolError // answer with an error message
	ping   []byte           // answer a ping frame with this pong payload
	isPing bool
	close  *wsCloseReq // send a close frame and end
}

type wsCloseReq struct {
	code   ws.StatusCode
	reason string
}

// errWSClosed ends the writer after a close frame.
var errWSClosed = errors.New("websocket closed")

func newWSConn(h *wsHub, conn net.Conn, br *bufio.Reader, p auth.Principal) *wsConn {
	if br == nil {
		br = bufio.NewReaderSize(conn, 4096)
	}
	c := &wsConn{hub: h, cfg: h.cfg, p: p, conn: conn, br: br, bw: bufio.NewWriterSize(conn, 4096),
		log:        h.s.log.With("user", p.User.Username, "remote", conn.RemoteAddr().String()),
		in:         make(chan wsInbound, 4),
		readerDone: make(chan struct{}),
		stop:       make(chan struct{}),
		flushTimer: time.NewTimer(time.Hour),
	}
	c.flushTimer.Stop()
	return c
}

// run serves the connection until it closes, then releases everything:
// when run returns, both goroutines have ended and the subscription is
// closed.
func (c *wsConn) run() {
	go c.readLoop()
	err := c.writeLoop()
	if c.closeReason == "" && err != nil {
		c.closeReason = err.Error()
	}
	close(c.stop)
	c.conn.Close()
	<-c.readerDone
	if c.sub != nil {
		c.sub.Close()
		c.sub = nil
	}
	c.flushTimer.Stop()
}

// readLoop reads frames until an error or a close. Every frame, a pong
// included, proves the peer alive for another IdleTimeout.
func (c *wsConn) readLoop() {
	defer func() {
		// The writer may be blocked on a peer that reads nothing: give it
		// a second to finish (a close frame at most), not WriteTimeout.
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		close(c.readerDone)
	}()
	var (
		msg        []byte
		op         ws.OpCode
		fragmented bool
	)
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout))
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.send(wsInbound{close: &wsCloseReq{ws.StatusGoingAway, "idle timeout"}})
			}
			return
		}
		// RFC 6455 §5.1: a client masks every frame; §5.2: no extension
		// was negotiated, so RSV bits must be 0; §5.5: control frames are
		// short and not fragmented.
		var protoErr string
		switch {
		case h.Rsv != 0:
			protoErr = "reserved bits set"
		case !h.Masked:
			protoErr = "client frames must be masked"
		case h.OpCode.IsReserved():
			protoErr = "reserved opcode"
		case h.OpCode.IsControl() && (!h.Fin || h.Length > 125):
			protoErr = "invalid control frame"
		case h.OpCode == ws.OpContinuation && !fragmented:
			protoErr = "continuation without a started message"
		case h.OpCode.IsData() && fragmented:
			protoErr = "new message inside a fragmented one"
		}
		if protoErr != "" {
			c.send(wsInbound{close: &wsCloseReq{ws.StatusProtocolError, protoErr}})
			return
		}
		if !h.OpCode.IsControl() && h.Length > c.cfg.MaxMessage-int64(len(msg)) {
			c.send(wsInbound{close: &wsCloseReq{ws.StatusMessageTooBig, "message over 64 KiB"}})
			return
		}
		start := len(msg)
		msg = slices.Grow(msg, int(h.Length))[:start+int(h.Length)]
		if _, err := io.ReadFull(c.br, msg[start:]); err != nil {
			return
		}
		ws.Cipher(msg[start:], h.Mask, 0)
		if h.OpCode.IsControl() {
			payload := slices.Clone(msg[start:])
			msg = msg[:start]
			switch h.OpCode {
			case ws.OpPing:
				if !c.send(wsInbound{isPing: true, ping: payload}) {
					return
				}
			case ws.OpClose:
				// RFC 6455 §5.5.1: answer a close with a close, echoing
				// the status code.
				code, reason := ws.ParseCloseFrameData(payload)
				if code.Empty() {
					code = ws.StatusNormalClosure
				}
				c.send(wsInbound{close: &wsCloseReq{code, reason}})
				return
			}
			continue
		}
		if h.OpCode != ws.OpContinuation {
			op = h.OpCode
		}
		if !h.Fin {
			fragmented = true
			continue
		}
		fragmented = false
		var in wsInbound
		if op == ws.OpBinary {
			in.err = &wsProtocolError{"invalid_message", "messages are JSON text frames"}
		} else {
			in.msg, in.err = parseClientMsg(msg)
		}
		if !c.send(in) {
			return
		}
		if cap(msg) > 4096 {
			msg = nil // do not keep a large buffer for a quiet connection
		} else {
			msg = msg[:0]
		}
	}
}

// send hands in to the writer; false when the writer has ended.
func (c *wsConn) send(in wsInbound) bool {
	select {
	case c.in <- in:
		return true
	case <-c.stop:
		return false
	}
}

func (c *wsConn) writeLoop() error {
	ping := time.NewTicker(c.cfg.PingEvery)
	defer ping.Stop()
	for {
		var (
			subC    <-chan events.Event
			subDone <-chan struct{}
		)
		if c.sub != nil {
			subC, subDone = c.sub.C(), c.sub.Done()
			if c.timerArmed {
				// A flush is due within FlushEvery: leave events in the
				// bounded queue until then rather than wake for each
				// (with a thousand clients, wake-ups are the cost).
				subC = nil
			}
		}
		var err error
		select {
		case in := <-c.in:
			err = c.handle(in)
		case e := <-subC:
			err = c.onEvent(e)
		case <-subDone:
			err = c.onCutOff()
		case <-c.flushTimer.C:
			c.timerArmed = false
			c.drain()
			err = c.flushPending()
		case <-ping.C:
			err = c.writeFrame(ws.OpPing, nil)
		case <-c.readerDone:
			// The reader may have left a close request behind.
			select {
			case in := <-c.in:
				return c.handle(in)
			default:
				return errors.New("connection closed by peer")
			}
		}
		if err != nil {
			return err
		}
	}
}

func (c *wsConn) handle(in wsInbound) error {
	switch {
	case in.close != nil:
		return c.writeClose(in.close.code, in.close.reason)
	case in.isPing:
		return c.writeFrame(ws.OpPong, in.ping)
	case in.err != nil:
		return c.writeJSON(wsErrorMsg{Type: "error", Code: in.err.Code, Message: in.err.Message})
	case in.msg.Type == "ping":
		return c.writeText(wsPongMsg)
	case in.msg.Type == "subscribe":
		return c.subscribe(in.msg.topics, in.msg.ResumeFrom)
	}
	return nil
}

// subscribe replaces the connection's subscription: a resume from the
// bus history when asked and possible, else a snapshot.
func (c *wsConn) subscribe(topics []wsTopic, resumeFrom *uint64) error {
	c.dropSubscription()
	c.topics = topics
	if resumeFrom == nil || *resumeFrom == 0 {
		return c.snapshot("")
	}
	bus := c.hub.s.bus
	from := *resumeFrom
	if from > bus.Seq() {
		// A sequence number this server never issued: it restarted.
		return c.snapshot("resume_unknown")
	}
	sub, err := bus.Subscribe(from, c.cfg.Queue)
	if errors.Is(err, events.ErrTooOld) {
		return c.snapshot("resume_too_old")
	}
	if err != nil {
		return err
	}
	c.sub = sub
	return c.writeJSON(wsResumedMsg{Type: "resumed", From: from, Topics: c.topicNames()})
}

// snapshot subscribes from the current sequence number N, then sends the
// calls the principal may see as of (at least) N. Events after N follow;
// one already reflected in the snapshot carries the same full state, so
// applying it again changes nothing.
func (c *wsConn) snapshot(reason string) error {
	bus := c.hub.s.bus
	var (
		n   uint64
		sub *events.Subscription
		err error
	)
	for range 3 {
		// Subscribe(n) queues any event published between Seq and
		// Subscribe, so nothing after n is lost.
		n = bus.Seq()
		if sub, err = bus.Subscribe(n, c.cfg.Queue); !errors.Is(err, events.ErrTooOld) {
			break
		}
	}
	if err != nil {
		return err
	}
	c.sub = sub
	calls := []call.Info{}
	for _, ci := range c.hub.s.calls.Calls() {
		if c.hub.s.visible(c.p, events.Event{Data: ci}) && c.callInTopics(ci) {
			calls = append(calls, ci)
		}
	}
	slices.SortFunc(calls, func(a, b call.Info) int { return a.StartedAt.Compare(b.StartedAt) })
	return c.writeJSON(wsSnapshotMsg{Type: "snapshot", Seq: n, Reason: reason, Topics: c.topicNames(), Calls: calls})
}

func (c *wsConn) callInTopics(ci call.Info) bool {
	for _, t := range c.topics {
		if t.matchesCall(ci) {
			return true
		}
	}
	return false
}

func (c *wsConn) topicNames() []string {
	out := make([]string, len(c.topics))
	for i, t := range c.topics {
		out[i] = t.String()
	}
	return out
}

func (c *wsConn) dropSubscription() {
	if c.sub != nil {
		c.sub.Close()
		c.sub = nil
	}
	clear(c.pending)
	c.pending = c.pending[:0]
}

// onCutOff handles the bus ending the subscription because the client
// fell a whole queue behind (a slow consumer): a fresh snapshot a few
// times a minute, then 1008.
func (c *wsConn) onCutOff() error {
	cause := c.sub.Err()
	c.dropSubscription()
	now := time.Now()
	c.resubs = slices.DeleteFunc(c.resubs, func(t time.Time) bool { return now.Sub(t) > time.Minute })
	if len(c.resubs) >= c.cfg.ResubscribesPerMinute {
		c.closeReason = "too slow"
		return c.writeClose(ws.StatusPolicyViolation, "too slow")
	}
	c.resubs = append(c.resubs, now)
	c.log.Info("websocket client too slow: fresh snapshot", "cause", cause)
	return c.snapshot("too_slow")
}

// onEvent takes e and whatever else is already queued, then writes them
// now if the connection was idle, else within FlushEvery.
func (c *wsConn) onEvent(e events.Event) error {
	c.take(e)
	c.drain()
	if len(c.pending) == 0 {
		return nil
	}
	wait := c.cfg.FlushEvery - time.Since(c.lastFlush)
	if len(c.pending) >= c.cfg.MaxBatch || wait <= 0 {
		return c.flushPending()
	}
	if !c.timerArmed {
		c.flushTimer.Reset(wait)
		c.timerArmed = true
	}
	return nil
}

// drain takes what is queued, up to a batch.
func (c *wsConn) drain() {
	if c.sub == nil {
		return
	}
	subC := c.sub.C()
	for len(c.pending) < c.cfg.MaxBatch {
		select {
		case e := <-subC:
			c.take(e)
		default:
			return
		}
	}
}

func (c *wsConn) take(e events.Event) {
	if !anyTopic(c.topics, e, c.callInfo) || !c.hub.s.visible(c.p, e) {
		return
	}
	c.pending = append(c.pending, e)
}

func (c *wsConn) callInfo(id string) (call.Info, bool) {
	ca, err := c.hub.s.calls.Get(id)
	if err != nil {
		return call.Info{}, false
	}
	return ca.Info(), true
}

// flushPending writes the pending events as one message.
func (c *wsConn) flushPending() error {
	if len(c.pending) == 0 {
		return nil
	}
	c.seqs, c.encs = c.seqs[:0], c.encs[:0]
	for _, e := range c.pending {
		c.seqs = append(c.seqs, e.Seq)
		c.encs = append(c.encs, c.hub.encode(e))
	}
	clear(c.pending)
	c.pending = c.pending[:0]
	c.buf = appendEventsMsg(c.buf[:0], c.seqs, c.encs)
	clear(c.encs)
	err := c.writeText(c.buf)
	if cap(c.buf) > 256<<10 {
		c.buf = nil
	}
	return err
}

func (c *wsConn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.writeText(b)
}

// writeText writes one text message after any pending events, keeping the
// order in which things happened.
func (c *wsConn) writeText(b []byte) error {
	if len(c.pending) > 0 {
		if err := c.flushPending(); err != nil {
			return err
		}
	}
	return c.writeFrame(ws.OpText, b)
}

// writeFrame writes one unmasked frame (RFC 6455 §5.1: a server never
// masks) within WriteTimeout.
func (c *wsConn) writeFrame(op ws.OpCode, p []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	if err := ws.WriteHeader(c.bw, ws.Header{Fin: true, OpCode: op, Length: int64(len(p))}); err != nil {
		return err
	}
	if _, err := c.bw.Write(p); err != nil {
		return err
	}
	if op == ws.OpText {
		c.lastFlush = time.Now()
	}
	return c.bw.Flush()
}

// writeClose sends a close frame and ends the connection (RFC 6455 §7.1.2:
// the server closes the TCP connection first).
func (c *wsConn) writeClose(code ws.StatusCode, reason string) error {
	if c.closeReason == "" {
		c.closeReason = reason
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = ws.WriteFrame(c.bw, ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
	_ = c.bw.Flush()
	return errWSClosed
}
