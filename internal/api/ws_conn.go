package api

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/presence"
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

	// wake tells the writer to look at what changed: inbound messages,
	// the flags below, the reader's end, the hub's shutdown. One channel
	// rather than a select over several: the writer wakes for every
	// flush of every connection, and a select locks all its channels.
	wake    chan struct{}
	kicked  atomic.Bool // the hub rang: new events in the bus
	pingDue atomic.Bool // the hub's ping tick

	// Writer state.
	subscribed  bool   // a snapshot or resume was sent; events follow
	cursor      uint64 // the last event handled
	topics      []wsTopic
	seesAll     bool           // the principal may see every event: no per-event check
	evs         []events.Event // events read from the bus, reused
	seqs        []uint64
	encs        [][]byte
	times       []time.Time
	buf         []byte      // the frame being written: header room, then payload
	deadline    time.Time   // the write deadline set last
	resubs      []time.Time // fresh snapshots given for slowness, last minute
	closeReason string

	// shown holds the live calls this client has been shown, when it does
	// not see every call: a call that leaves its view (transferred away,
	// a consult it left) is announced once with call_hidden, so the
	// console drops it instead of showing it until the next snapshot.
	shown      map[string]struct{}
	tracksView bool
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
		wake:       make(chan struct{}, 1),
	}
	return c
}

// run serves the connection until it closes, then releases everything:
// when run returns, both goroutines have ended and the subscription is
// closed.
func (c *wsConn) run() {
	if !c.hub.add(c) {
		c.closeReason = "server shutting down"
		_ = c.writeClose(ws.StatusGoingAway, "server shutting down")
		c.conn.Close()
		return
	}
	defer c.hub.remove(c)
	go c.readLoop()
	err := c.writeLoop()
	if c.closeReason == "" && err != nil {
		c.closeReason = err.Error()
	}
	close(c.stop)
	var ne net.Error
	if tc, ok := c.conn.(*net.TCPConn); ok && errors.As(err, &ne) && ne.Timeout() {
		// A peer that accepted nothing for WriteTimeout gets a reset:
		// a graceful close would leave an orphan socket holding the
		// unsent bytes for a minute of window probes, and the peer,
		// should it read again, waiting for data that never comes.
		_ = tc.SetLinger(0)
	}
	c.conn.Close()
	<-c.readerDone
}

// readLoop reads frames until an error or a close. Every frame, a pong
// included, proves the peer alive for another IdleTimeout.
func (c *wsConn) readLoop() {
	defer func() {
		// The writer may be blocked on a peer that reads nothing: give it
		// a second to finish (a close frame at most), not WriteTimeout.
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		close(c.readerDone)
		c.poke()
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
		c.poke()
		return true
	case <-c.stop:
		return false
	}
}

// poke wakes the writer; a wake already pending covers this one.
func (c *wsConn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// ring is the hub's doorbell: new events are in the bus.
func (c *wsConn) ring() {
	if !c.kicked.Swap(true) {
		c.poke()
	}
}

// pingTick asks the writer to ping the client.
func (c *wsConn) pingTick() {
	c.pingDue.Store(true)
	c.poke()
}

func (c *wsConn) writeLoop() error {
	for {
		<-c.wake
		// What the client sent, in order.
		for drained := false; !drained; {
			select {
			case in := <-c.in:
				if err := c.handle(in); err != nil {
					return err
				}
			default:
				drained = true
			}
		}
		select {
		case <-c.readerDone:
			// The reader may have left a close request behind.
			select {
			case in := <-c.in:
				return c.handle(in)
			default:
				return errors.New("connection closed by peer")
			}
		default:
		}
		select {
		case <-c.hub.goingAway:
			c.closeReason = "server shutting down"
			return c.writeClose(ws.StatusGoingAway, "server shutting down")
		default:
		}
		if c.pingDue.Swap(false) {
			if err := c.writeFrame(ws.OpPing, nil); err != nil {
				return err
			}
		}
		if c.kicked.Swap(false) {
			if err := c.catchUp(); err != nil {
				return err
			}
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
	c.subscribed = false
	c.topics = topics
	c.seesAll = c.p.Can(auth.EventsViewAll) && c.p.Follows == nil
	c.tracksView = !(c.seesAll && slices.ContainsFunc(c.topics, func(t wsTopic) bool { return t.kind == topicOrg }))
	if resumeFrom == nil || *resumeFrom == 0 {
		return c.snapshot("")
	}
	if c.tracksView {
		// A call may have left this client's view while it was away, and
		// the replay cannot tell it which: a fresh snapshot can.
		return c.snapshot("resume_view")
	}
	from := *resumeFrom
	_, head, err := c.hub.s.bus.ReadSince(from, nil, 1)
	switch {
	case from > head:
		// A sequence number this server never issued: it restarted.
		return c.snapshot("resume_unknown")
	case errors.Is(err, events.ErrTooOld) || head-from > uint64(c.cfg.Queue):
		return c.snapshot("resume_too_old")
	case err != nil:
		return err
	}
	c.follow(from)
	return c.writeJSON(wsResumedMsg{Type: "resumed", From: from, Topics: c.topicNames()})
}

// follow starts delivering the events after seq, the first at once.
func (c *wsConn) follow(seq uint64) {
	c.subscribed, c.cursor = true, seq
	c.ring()
}

// snapshot takes the current sequence number N, then sends the calls the
// principal may see as of (at least) N. Events after N follow; one
// already reflected in the snapshot carries the same full state, so
// applying it again changes nothing.
func (c *wsConn) snapshot(reason string) error {
	n := c.hub.s.bus.Seq()
	c.follow(n)
	calls := []call.Info{}
	for _, ci := range c.hub.s.calls.Calls() {
		if c.hub.s.visible(c.p, events.Event{Data: ci}) && c.callInTopics(ci) {
			calls = append(calls, ci)
		}
	}
	slices.SortFunc(calls, func(a, b call.Info) int { return a.StartedAt.Compare(b.StartedAt) })
	clear(c.shown)
	if c.tracksView {
		if c.shown == nil {
			c.shown = make(map[string]struct{}, len(calls))
		}
		for _, ci := range calls {
			c.shown[ci.ID] = struct{}{}
		}
	}
	msg := wsSnapshotMsg{Type: "snapshot", Seq: n, Reason: reason, Topics: c.topicNames(), Calls: calls}
	if slices.ContainsFunc(c.topics, func(t wsTopic) bool { return t.kind == topicPresence }) {
		// As of at least n: a change after n follows as an event.
		msg.Presence = []presence.View{}
		if c.hub.s.presence != nil {
			msg.Presence = c.hub.s.presence.Snapshot()
		}
	}
	return c.writeJSON(msg)
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

// onCutOff handles a client that fell more than Queue events behind (a
// slow consumer): a fresh snapshot a few times a minute, then 1008.
func (c *wsConn) onCutOff() error {
	c.subscribed = false
	now := time.Now()
	c.resubs = slices.DeleteFunc(c.resubs, func(t time.Time) bool { return now.Sub(t) > time.Minute })
	if len(c.resubs) >= c.cfg.ResubscribesPerMinute {
		c.closeReason = "too slow"
		return c.writeClose(ws.StatusPolicyViolation, "too slow")
	}
	c.resubs = append(c.resubs, now)
	c.log.Info("websocket client too slow: fresh snapshot", "behind", c.hub.s.bus.Seq()-c.cursor)
	return c.snapshot("too_slow")
}

// catchUp writes the events after the cursor that the client sees, up to
// MaxBatch per frame, until it has written everything published so far.
func (c *wsConn) catchUp() error {
	if !c.subscribed {
		return nil
	}
	for {
		var (
			head uint64
			err  error
		)
		c.evs, head, err = c.hub.s.bus.ReadSince(c.cursor, c.evs[:0], c.cfg.MaxBatch)
		if errors.Is(err, events.ErrTooOld) || head-c.cursor > uint64(c.cfg.Queue) {
			clear(c.evs)
			return c.onCutOff()
		}
		if err != nil {
			return err
		}
		if len(c.evs) == 0 {
			return nil
		}
		full := len(c.evs) == c.cfg.MaxBatch
		c.seqs, c.encs, c.times = c.seqs[:0], c.encs[:0], c.times[:0]
		for _, e := range c.evs {
			if anyTopic(c.topics, e, c.callInfo) && (c.seesAll || c.hub.s.visible(c.p, e)) {
				c.seqs = append(c.seqs, e.Seq)
				c.encs = append(c.encs, c.hub.encode(e))
				c.times = append(c.times, e.Time)
				c.noteShown(e)
			} else if id, ok := c.leavesView(e); ok {
				c.seqs = append(c.seqs, e.Seq)
				c.encs = append(c.encs, hiddenEvent(e, id))
				c.times = append(c.times, e.Time)
			}
		}
		c.cursor = c.evs[len(c.evs)-1].Seq
		clear(c.evs) // the events' data is not kept past this read
		if len(c.seqs) > 0 {
			err = c.writeEvents()
			clear(c.encs)
			if err != nil {
				return err
			}
		}
		if !full {
			return nil
		}
	}
}

// noteShown remembers the calls a client that does not see everything
// has been shown, and forgets the ended ones.
func (c *wsConn) noteShown(e events.Event) {
	if !c.tracksView || !strings.HasPrefix(e.Resource, "call:") {
		return
	}
	id := e.Resource[len("call:"):]
	if e.Type == events.CallEnded {
		delete(c.shown, id)
		return
	}
	if _, ok := c.shown[id]; ok {
		return
	}
	if c.shown == nil {
		c.shown = make(map[string]struct{})
	}
	c.shown[id] = struct{}{}
}

// leavesView reports whether e, not delivered to this client, is about a
// call the client has been shown: the call has left its view.
func (c *wsConn) leavesView(e events.Event) (string, bool) {
	if !c.tracksView || len(c.shown) == 0 || !strings.HasPrefix(e.Resource, "call:") {
		return "", false
	}
	// Only a call's full new state tells that it left the view: an offer
	// to another agent (ring all) leaves this agent's offer standing.
	if _, ok := e.Data.(call.Info); !ok {
		return "", false
	}
	id := e.Resource[len("call:"):]
	if _, ok := c.shown[id]; !ok {
		return "", false
	}
	delete(c.shown, id)
	return id, true
}

// hiddenEvent is the call_hidden event a client gets in place of e: the
// call's ID only, since its new state is no longer the client's to see.
func hiddenEvent(e events.Event, id string) []byte {
	b, _ := json.Marshal(events.Event{Seq: e.Seq, Type: CallHidden, Time: e.Time, Resource: e.Resource,
		Data: map[string]string{"id": id}})
	return b
}

// CallHidden tells a WebSocket client that a call it was shown has left
// its view (it is no longer a party, or the call left its topics).
const CallHidden events.Type = "call_hidden"

func (c *wsConn) callInfo(id string) (call.Info, bool) {
	ca, err := c.hub.s.calls.Get(id)
	if err != nil {
		return call.Info{}, false
	}
	return ca.Info(), true
}

// wsMaxHeader is the longest header of an unmasked server frame.
const wsMaxHeader = 10

// writeEvents writes c.seqs/c.encs as one message in one write: the
// payload is built after room for the header, which is filled in last.
func (c *wsConn) writeEvents() error {
	c.buf = appendEventsMsg(append(c.buf[:0], make([]byte, wsMaxHeader)...), c.seqs, c.encs)
	n := len(c.buf) - wsMaxHeader
	start := wsMaxHeader - putFrameHeader(c.buf[:wsMaxHeader], ws.OpText, n)
	now := time.Now()
	c.setWriteDeadline(now)
	_, err := c.conn.Write(c.buf[start:])
	if c.hub.lag != nil && err == nil {
		for _, t := range c.times {
			c.hub.lag.Observe(max(0, now.Sub(t).Seconds()))
		}
	}
	if cap(c.buf) > 256<<10 {
		c.buf = nil // do not keep a large buffer after a burst
	}
	return err
}

// putFrameHeader writes the header of an unmasked final frame of op with
// a payload of n bytes at the end of dst (RFC 6455 §5.2) and returns its
// length.
func putFrameHeader(dst []byte, op ws.OpCode, n int) int {
	var h []byte
	switch {
	case n < 126:
		h = dst[len(dst)-2:]
		h[1] = byte(n)
	case n <= 0xffff:
		h = dst[len(dst)-4:]
		h[1] = 126
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = dst[len(dst)-10:]
		h[1] = 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	h[0] = 0x80 | byte(op)
	return len(h)
}

// setWriteDeadline bounds the next write to WriteTimeout, moving the
// deadline at most once a second (each move is a timer update), so a
// write is bounded by WriteTimeout less at most a second. Once the reader
// has ended it leaves the short deadline the reader set.
func (c *wsConn) setWriteDeadline(now time.Time) {
	slack := min(time.Second, c.cfg.WriteTimeout/10)
	if !c.deadline.IsZero() && c.deadline.Sub(now) > c.cfg.WriteTimeout-slack {
		return
	}
	select {
	case <-c.readerDone:
		return
	default:
	}
	c.deadline = now.Add(c.cfg.WriteTimeout)
	_ = c.conn.SetWriteDeadline(c.deadline)
}

func (c *wsConn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.writeText(b)
}

func (c *wsConn) writeText(b []byte) error { return c.writeFrame(ws.OpText, b) }

// writeFrame writes one unmasked frame (RFC 6455 §5.1: a server never
// masks) within WriteTimeout.
func (c *wsConn) writeFrame(op ws.OpCode, p []byte) error {
	c.setWriteDeadline(time.Now())
	if err := ws.WriteHeader(c.bw, ws.Header{Fin: true, OpCode: op, Length: int64(len(p))}); err != nil {
		return err
	}
	if _, err := c.bw.Write(p); err != nil {
		return err
	}
	return c.bw.Flush()
}

// writeClose sends a close frame and ends the connection (RFC 6455 §7.1.2:
// the server closes the TCP connection first).
func (c *wsConn) writeClose(code ws.StatusCode, reason string) error {
	if c.closeReason == "" {
		c.closeReason = reason
	}
	c.deadline = time.Time{}
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = ws.WriteFrame(c.bw, ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
	_ = c.bw.Flush()
	return errWSClosed
}
