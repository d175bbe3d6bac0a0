// Package sipserver owns the SIP user agent: listeners per transport,
// clients that send from those listeners, and the dispatch of requests to
// the registrar and the call manager. OPTIONS is answered here; methods no
// one handles get 405 with Allow (RFC 3261 §8.2.1).
package sipserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Config configures the SIP server.
type Config struct {
	Addr       string   // listen host:port, same port for every transport
	Advertise  string   // IP to put in Via/Contact when Addr binds every interface
	Transports []string // "udp", "tcp"
	UserAgent  string   // Server/User-Agent header value
	Logger     *slog.Logger
}

// Handler answers one method's requests. It owns the transaction until it
// returns; sipgo terminates the transaction afterwards.
type Handler = sipgo.RequestHandler

// Server is the SIP endpoint of Switchboard.
type Server struct {
	cfg      Config
	log      *slog.Logger
	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	clients  map[string]*sipgo.Client // by transport
	host     string
	port     int
	handlers map[sip.RequestMethod]Handler

	mu        sync.Mutex
	listeners []any // net.PacketConn / net.Listener, closed on Close
	wg        sync.WaitGroup
	closed    bool

	// SIP over WebSocket (ws.go), guarded by mu.
	wsLn      *wsListener
	wsConns   map[string]*wsSession // by remote host:port
	wsPerUser map[string]int
	wsClosed  func(source string) // set before Start
}

// New prepares the server; Handle registers handlers; Start binds.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Everything sipgo logs passes the cap (see cappedHandler).
	cfg.Logger = slog.New(newCappedHandler(cfg.Logger.Handler()))
	// sipgo logs some things through its package default (connection
	// bookkeeping); route those through the cap too. It is process-wide,
	// like sipgo's default.
	sip.SetDefaultLogger(cfg.Logger.With("component", "sipgo"))
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sip addr %q: %w", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("sip addr %q: bad port", cfg.Addr)
	}
	adv := cfg.Advertise
	if adv == "" {
		adv = host
	}
	if ip := net.ParseIP(adv); adv == "" || (ip != nil && ip.IsUnspecified()) {
		adv = "127.0.0.1"
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(adv),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(cfg.Logger.With("component", "sip-tx"))),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(cfg.Logger.With("component", "sip-transport"))),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Logger.With("component", "sip-server")))
	if err != nil {
		return nil, fmt.Errorf("sip server: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "sip"), ua: ua, srv: srv,
		clients: map[string]*sipgo.Client{}, host: adv, port: port, handlers: map[sip.RequestMethod]Handler{},
		wsConns: map[string]*wsSession{}, wsPerUser: map[string]int{}}
	srv.OnOptions(s.handleOptions)
	srv.OnNoRoute(s.handleNoRoute)
	return s, nil
}

// Handle registers h for method. Call before Start.
func (s *Server) Handle(method sip.RequestMethod, h Handler) {
	s.handlers[method] = h
	s.srv.OnRequest(method, s.guard(method, h))
}

// guard keeps one bad request from taking the process down: a panic in a
// handler is logged with the method and answered with 500.
func (s *Server) guard(method sip.RequestMethod, h Handler) Handler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("sip handler panic", "method", method.String(), "panic", fmt.Sprint(v))
				if method != sip.ACK && tx != nil {
					_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil))
				}
			}
		}()
		if !s.wsAllowed(method, req) {
			if method != sip.ACK {
				_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Not Your Extension", nil))
			}
			return
		}
		h(req, tx)
	}
}

// Start binds every configured transport and serves until Close. A port
// that cannot be bound is an error here, not a silent failure later.
func (s *Server) Start() error {
	for _, tr := range s.cfg.Transports {
		switch strings.ToLower(tr) {
		case "udp":
			pc, err := net.ListenPacket("udp", s.cfg.Addr)
			if err != nil {
				s.Close()
				return fmt.Errorf("sip listen udp %s: %w", s.cfg.Addr, err)
			}
			s.track(pc)
			// A bigger receive buffer rides out short stalls (GC, a burst of
			// calls) instead of dropping requests that then come back as
			// retransmissions; the kernel caps it at net.core.rmem_max.
			_ = pc.(*net.UDPConn).SetReadBuffer(4 << 20)
			s.port = pc.LocalAddr().(*net.UDPAddr).Port
			c, err := sipgo.NewClient(s.ua, sipgo.WithClientHostname(s.host), sipgo.WithClientPort(s.port),
				sipgo.WithClientConnectionAddr(pc.LocalAddr().String()),
				sipgo.WithClientLogger(s.cfg.Logger.With("component", "sip-client")))
			if err != nil {
				s.Close()
				return fmt.Errorf("sip udp client: %w", err)
			}
			s.clients["udp"] = c
			s.serve("udp", func() error { return s.srv.ServeUDP(pc) })
		case "tcp":
			addr := s.cfg.Addr
			if s.port != 0 {
				// Same port as UDP when the configured port was 0 (tests).
				h, _, _ := net.SplitHostPort(addr)
				addr = net.JoinHostPort(h, strconv.Itoa(s.port))
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				s.Close()
				return fmt.Errorf("sip listen tcp %s: %w", addr, err)
			}
			s.track(l)
			s.port = l.Addr().(*net.TCPAddr).Port
			// Requests to TCP phones reuse the connection they registered on
			// (the transport layer's pool is keyed by the remote address).
			c, err := sipgo.NewClient(s.ua, sipgo.WithClientHostname(s.host), sipgo.WithClientPort(s.port),
				sipgo.WithClientLogger(s.cfg.Logger.With("component", "sip-client")))
			if err != nil {
				s.Close()
				return fmt.Errorf("sip tcp client: %w", err)
			}
			s.clients["tcp"] = c
			s.serve("tcp", func() error { return s.srv.ServeTCP(l) })
		default:
			s.Close()
			return fmt.Errorf("sip transport %q not supported", tr)
		}
	}
	// SIP over WebSocket arrives through the HTTP listener (ws.go).
	ws, err := sipgo.NewClient(s.ua, sipgo.WithClientHostname(s.host), sipgo.WithClientPort(s.port),
		sipgo.WithClientLogger(s.cfg.Logger.With("component", "sip-client")))
	if err != nil {
		s.Close()
		return fmt.Errorf("sip ws client: %w", err)
	}
	s.clients["ws"] = ws
	wl := newWSListener()
	s.mu.Lock()
	s.wsLn = wl
	s.mu.Unlock()
	s.track(wl)
	s.serve("ws", func() error { return s.srv.ServeWS(wl) })
	s.log.Info("sip listening", "addr", s.cfg.Addr, "port", s.port, "transports", s.cfg.Transports, "advertise", s.host)
	return nil
}

func (s *Server) track(l any) {
	s.mu.Lock()
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
}

func (s *Server) serve(name string, f func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := f(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !closed {
				s.log.Error("sip transport stopped", "transport", name, "error", err)
			}
		}
	}()
}

// Close stops the listeners and the user agent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ls := s.listeners
	s.mu.Unlock()
	for _, l := range ls {
		switch l := l.(type) {
		case net.PacketConn:
			_ = l.Close()
		case net.Listener:
			_ = l.Close()
		}
	}
	_ = s.ua.Close()
	s.wg.Wait()
}

// Port is the bound SIP port (useful when configured as 0).
func (s *Server) Port() int { return s.port }

// Host is the advertised host.
func (s *Server) Host() string { return s.host }

// Client returns the client that sends over transport ("udp" if unknown).
func (s *Server) Client(transport string) *sipgo.Client {
	if c, ok := s.clients[strings.ToLower(transport)]; ok {
		return c
	}
	if c, ok := s.clients["udp"]; ok {
		return c
	}
	for _, c := range s.clients {
		return c
	}
	return nil
}

// Contact is our Contact header for dialogs over transport.
func (s *Server) Contact(transport string) sip.ContactHeader {
	u := sip.Uri{Scheme: "sip", Host: s.host, Port: s.port, UriParams: sip.NewParams()}
	if t := strings.ToLower(transport); t != "" && t != "udp" {
		u.UriParams.Add("transport", t)
	}
	return sip.ContactHeader{Address: u}
}

// Allow lists the methods we answer, for Allow headers.
func (s *Server) Allow() string {
	m := []string{"OPTIONS"}
	for k := range s.handlers {
		m = append(m, k.String())
	}
	slices.Sort(m)
	return strings.Join(m, ", ")
}

func (s *Server) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.Allow()))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Accept-Language", "en"))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("options respond failed", "error", err)
	}
}

func (s *Server) handleNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return // ACKs get no response (RFC 3261 §17.1.1.3)
	}
	res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.Allow()))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("405 respond failed", "error", err)
	}
}
