package sipserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// SIP over WebSocket (RFC 7118) is served on the HTTP listener (GET /sip),
// so a browser's login and TLS cover it. The API authenticates the
// upgrade request and hands it to ServeWebSocket, which takes the
// connection over and passes it to sipgo's own WS transport through a
// listener of our own (wsListener): sipgo then performs the handshake on
// the replayed request, parses the frames and keeps the connection in its
// pool, so requests to a browser go back over the socket it registered on.

// MaxWebSocketsPerUser bounds one console user's SIP sockets: a browser
// needs one per tab; more is a leak or abuse.
const MaxWebSocketsPerUser = 4

// maxWSHeaderBytes bounds the upgrade request we replay to sipgo.
const maxWSHeaderBytes = 16 << 10

// Frames are bounded by sipgo: its WS reader refuses frames above
// sip.ParseMaxMessageLength (64 KiB), the same bound as any SIP message.

// WSOwner is the console user a SIP WebSocket belongs to.
type WSOwner struct {
	User       string
	Extensions []string // the extensions the user may register and call from
}

// wsSession is one accepted SIP WebSocket.
type wsSession struct {
	owner  WSOwner
	source string // remote host:port, what sipgo reports as Source()
}

// wsListener feeds hijacked connections to sipgo's WS transport.
type wsListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func newWSListener() *wsListener {
	return &wsListener{conns: make(chan net.Conn), done: make(chan struct{}),
		addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
}

func (l *wsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *wsListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *wsListener) Addr() net.Addr { return l.addr }

// wsConn is a hijacked connection that first replays the HTTP upgrade
// request (and anything the HTTP server had buffered after it), so sipgo's
// upgrader reads the request as if it had accepted the connection itself.
type wsConn struct {
	net.Conn
	pre     io.Reader
	once    sync.Once
	onClose func()
}

func (c *wsConn) Read(b []byte) (int, error) {
	if c.pre != nil {
		n, err := c.pre.Read(b)
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		c.pre = nil
	}
	return c.Conn.Read(b)
}

func (c *wsConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.onClose)
	return err
}

// OnWebSocketClosed sets what runs when a SIP WebSocket closes (either
// side): the app unregisters its devices and ends its calls. Set before
// Start.
func (s *Server) OnWebSocketClosed(f func(source string)) { s.wsClosed = f }

// ServeWebSocket takes over an authenticated HTTP upgrade request for SIP
// over WebSocket (RFC 7118 §4: subprotocol "sip"). It answers errors
// itself; on success the connection belongs to the SIP stack.
func (s *Server) ServeWebSocket(w http.ResponseWriter, r *http.Request, owner WSOwner) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "SIP over WebSocket needs a WebSocket upgrade", http.StatusUpgradeRequired)
		return
	}
	if !hasToken(r.Header.Values("Sec-WebSocket-Protocol"), "sip") {
		// RFC 7118 §4.1: the client asks for "sip"; anything else is not ours.
		http.Error(w, `the WebSocket subprotocol "sip" is required`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if s.closed || s.wsLn == nil {
		s.mu.Unlock()
		http.Error(w, "SIP is shutting down", http.StatusServiceUnavailable)
		return
	}
	if s.wsPerUser[owner.User] >= MaxWebSocketsPerUser {
		s.mu.Unlock()
		http.Error(w, fmt.Sprintf("at most %d SIP WebSockets per user", MaxWebSocketsPerUser), http.StatusTooManyRequests)
		return
	}
	s.wsPerUser[owner.User]++
	ln := s.wsLn
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		if s.wsPerUser[owner.User]--; s.wsPerUser[owner.User] <= 0 {
			delete(s.wsPerUser, owner.User)
		}
		s.mu.Unlock()
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "GET %s HTTP/1.1\r\nHost: %s\r\n", r.URL.RequestURI(), r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("\r\n")
	if head.Len() > maxWSHeaderBytes {
		release()
		http.Error(w, "upgrade request too large", http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		release()
		http.Error(w, "connection cannot be upgraded", http.StatusInternalServerError)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		release()
		s.log.Debug("sip websocket hijack failed", "error", err)
		return
	}
	var pre io.Reader = &head
	if n := rw.Reader.Buffered(); n > 0 {
		extra, _ := rw.Reader.Peek(n)
		pre = io.MultiReader(&head, bytes.NewReader(bytes.Clone(extra)))
	}
	sess := &wsSession{owner: owner, source: conn.RemoteAddr().String()}
	c := &wsConn{Conn: conn, pre: bufio.NewReader(pre)}
	c.onClose = func() {
		s.mu.Lock()
		if s.wsConns[sess.source] == sess {
			delete(s.wsConns, sess.source)
		}
		s.mu.Unlock()
		release()
		s.log.Info("sip websocket closed", "user", owner.User, "source", sess.source)
		if s.wsClosed != nil {
			s.wsClosed(sess.source)
		}
	}
	s.mu.Lock()
	s.wsConns[sess.source] = sess
	s.mu.Unlock()
	select {
	case ln.conns <- c:
		s.log.Info("sip websocket opened", "user", owner.User, "source", sess.source)
	case <-ln.done:
		_ = c.Close()
	}
}

// wsAllowed applies the socket owner's rights to a request that came over
// a SIP WebSocket: a console user registers and calls from their own
// extensions only, whatever SIP credentials they hold. For those the
// socket's login is the credential (WebSocketExtensions, wsauth.go).
func (s *Server) wsAllowed(method sip.RequestMethod, req *sip.Request) bool {
	if !strings.EqualFold(req.Transport(), "ws") {
		return true
	}
	s.mu.Lock()
	sess := s.wsConns[req.Source()]
	s.mu.Unlock()
	if sess == nil {
		return false
	}
	switch method {
	case sip.REGISTER:
		to := req.To()
		return to != nil && slices.Contains(sess.owner.Extensions, to.Address.User)
	case sip.INVITE:
		if to := req.To(); to != nil {
			if _, inDialog := to.Params.Get("tag"); inDialog {
				return true // the dialog was authorised when it began
			}
		}
		from := req.From()
		return from != nil && slices.Contains(sess.owner.Extensions, from.Address.User)
	}
	return true
}

// WebSockets is how many SIP WebSockets are open.
func (s *Server) WebSockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.wsConns)
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
