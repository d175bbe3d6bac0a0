// Package siptest is an in-repo test softphone: a real SIP user agent built
// on sipgo that registers, places and answers calls, holds and transfers them
// (REFER, blind or with Replaces, following the NOTIFY progress), streams a
// sine tone (or silence) as G.711 RTP, sends and receives RFC 4733 DTMF, and
// keeps the audio it hears so tests can check who hears whom (Goertzel,
// DominantTone, Hears). It is meant for end-to-end and call-control tests;
// it favours observability and predictable behaviour over completeness.
package siptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// userAgent is sent in User-Agent headers so Switchboard logs show which
// messages came from test phones.
const userAgent = "switchboard-siptest"

// allowHeader lists the methods the phone handles (RFC 3261 §20.5).
// NOTIFY is accepted for the refer subscriptions our REFERs create.
const allowHeader = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY"

// Config configures a Phone.
type Config struct {
	// User is the SIP user (AOR user part, digest username, Contact user).
	User string
	// Password answers 401/407 digest (MD5) challenges; empty disables auth.
	Password string
	// DisplayName goes into From headers (caller ID name).
	DisplayName string
	// Server is Switchboard's host:port. Dial targets without a scheme are
	// sent to sip:target@Server and REGISTER goes there.
	Server string
	// Domain is the AOR host; default is Server's host.
	Domain string
	// Transport is "udp" (default) or "tcp".
	Transport string
	// Listen is the local IP for SIP and RTP, default "127.0.0.1"; ports
	// are ephemeral. It must be a concrete address since it is advertised
	// in Contact and SDP.
	Listen string
	// ToneHz is the sine sent on every call's RTP (0 = silence), at
	// ToneLevel. Calls can change it with Call.SetTone.
	ToneHz float64
	// ToneLevel is the sine's peak as a fraction of full scale; default
	// 0.316 (-10 dBFS).
	ToneLevel float64
	// Codec is "PCMU" (default) or "PCMA". The phone offers and accepts
	// only this codec, so a test can force Switchboard to transcode.
	Codec string
	// NoDTMF stops offering/accepting telephone-event/8000 (RFC 4733).
	NoDTMF bool
	// Logger receives the phone's and sipgo's logs; nil discards them.
	Logger *slog.Logger
}

// StatusError is a SIP final response that made an operation fail. Use
// errors.As(err, &se) with se of type *StatusError, or StatusCode(err).
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("sip: %d %s", e.Code, e.Reason)
}

// StatusCode returns the SIP status code of a *StatusError in err's chain,
// or 0.
func StatusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// Phone is a SIP user agent with one SIP socket and one RTP socket per call.
type Phone struct {
	cfg       Config
	log       *slog.Logger
	transport string // "UDP" or "TCP", as sipgo spells it
	ip        net.IP
	port      int
	domain    string
	codec     string

	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	dua     *sipgo.DialogUA
	contact sip.ContactHeader
	pconn   net.PacketConn
	lis     net.Listener

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	incoming chan *Call

	mu         sync.Mutex
	calls      map[string]*Call // by Call-ID + "|" + local tag
	closing    bool             // no new calls
	stopped    bool             // no new goroutines
	autoOn     bool
	autoDelay  time.Duration
	regCallID  string
	regCSeq    uint32
	closeOnce  sync.Once
	closeError error
}

// New binds the SIP socket and starts serving. ctx only bounds the setup;
// the phone lives until Close.
func New(ctx context.Context, cfg Config) (*Phone, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &Phone{
		cfg:      cfg,
		log:      cfg.Logger,
		calls:    map[string]*Call{},
		incoming: make(chan *Call, 16),
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch strings.ToLower(cfg.Transport) {
	case "", "udp":
		p.transport = "UDP"
	case "tcp":
		p.transport = "TCP"
	default:
		return nil, fmt.Errorf("siptest: unsupported transport %q", cfg.Transport)
	}
	switch strings.ToUpper(cfg.Codec) {
	case "", "PCMU":
		p.codec = "PCMU"
	case "PCMA":
		p.codec = "PCMA"
	default:
		return nil, fmt.Errorf("siptest: unsupported codec %q", cfg.Codec)
	}
	if p.cfg.ToneLevel == 0 {
		p.cfg.ToneLevel = 0.316
	}
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1"
	}
	p.ip = net.ParseIP(listen)
	if p.ip == nil || p.ip.IsUnspecified() {
		return nil, fmt.Errorf("siptest: Listen must be a concrete IP address, got %q", listen)
	}
	p.domain = cfg.Domain
	if p.domain == "" && cfg.Server != "" {
		host, _, err := net.SplitHostPort(cfg.Server)
		if err != nil {
			return nil, fmt.Errorf("siptest: Server %q: %w", cfg.Server, err)
		}
		p.domain = host
	}
	if p.domain == "" {
		p.domain = listen
	}

	// Bind ourselves rather than using ListenAndServe: it reports a taken
	// port only from its goroutine, and we need the ephemeral port for
	// Contact and Via before serving.
	var err error
	bind := net.JoinHostPort(listen, "0")
	if p.transport == "UDP" {
		p.pconn, err = net.ListenPacket("udp", bind)
		if err == nil {
			p.port = p.pconn.LocalAddr().(*net.UDPAddr).Port
		}
	} else {
		p.lis, err = net.Listen("tcp", bind)
		if err == nil {
			p.port = p.lis.Addr().(*net.TCPAddr).Port
		}
	}
	if err != nil {
		return nil, fmt.Errorf("siptest: bind SIP %s: %w", bind, err)
	}

	p.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(userAgent),
		sipgo.WithUserAgentHostname(p.domain),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(p.log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(p.log)),
	)
	if err == nil {
		p.srv, err = sipgo.NewServer(p.ua, sipgo.WithServerLogger(p.log))
	}
	if err == nil {
		// Via sent-by must name our listening socket so responses and
		// in-dialog requests come back to it.
		opts := []sipgo.ClientOption{sipgo.WithClientLogger(p.log),
			sipgo.WithClientHostname(p.ip.String()), sipgo.WithClientPort(p.port)}
		if p.pconn != nil {
			// Requests sipgo builds itself (the ACK to a 2xx, CANCEL) go out
			// of the listening socket too, like ours (setLaddr): no separate
			// client socket whose reader could outlive Close.
			opts = append(opts, sipgo.WithClientConnectionAddr(p.pconn.LocalAddr().String()))
		}
		p.cli, err = sipgo.NewClient(p.ua, opts...)
	}
	if err != nil {
		p.closeSockets()
		return nil, fmt.Errorf("siptest: sipgo setup: %w", err)
	}
	p.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: cfg.User, Host: p.ip.String(), Port: p.port}}
	if p.transport == "TCP" {
		p.contact.Address.UriParams = sip.NewParams()
		p.contact.Address.UriParams.Add("transport", "tcp")
	}
	p.dua = &sipgo.DialogUA{Client: p.cli, ContactHDR: p.contact}
	p.regCallID = newCallID()

	p.srv.OnInvite(p.late(p.onInvite))
	p.srv.OnAck(p.late(p.onAck))
	p.srv.OnBye(p.late(p.onBye))
	p.srv.OnCancel(p.late(p.onCancel))
	p.srv.OnOptions(p.late(p.onOptions))
	p.srv.OnInfo(p.late(p.onInfo))
	p.srv.OnNotify(p.late(p.onNotify))
	p.srv.OnRefer(p.late(p.onRefer))
	p.srv.OnNoRoute(p.late(p.onUnsupported))

	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		var err error
		if p.pconn != nil {
			err = p.srv.ServeUDP(p.pconn)
		} else {
			err = p.srv.ServeTCP(p.lis)
		}
		if err != nil && p.ctx.Err() == nil {
			p.log.Error("siptest: SIP serve stopped", "error", err)
		}
	}()
	if err := p.waitServing(ctx); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

// waitServing waits until sipgo has put our UDP socket into its connection
// pool. ServeUDP does that on its goroutine; a request pinned to the socket
// (setLaddr) before then would make sipgo try to bind the port again.
func (p *Phone) waitServing(ctx context.Context) error {
	if p.pconn == nil {
		return nil
	}
	pool := p.ua.TransportLayer().Pool("udp")
	addr := p.pconn.LocalAddr().String()
	for {
		if c := pool.Get(addr); c != nil {
			_, _ = c.TryClose() // Get took a reference
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("siptest: SIP socket not serving: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// Addr returns the SIP socket address (ip:port).
func (p *Phone) Addr() string { return net.JoinHostPort(p.ip.String(), strconv.Itoa(p.port)) }

// URI returns the phone's Contact URI, e.g. "sip:1001@127.0.0.1:40123";
// another phone can Dial it directly.
func (p *Phone) URI() string { return p.contact.Address.String() }

// Incoming delivers inbound calls. The phone has already sent 180 Ringing;
// Answer or Reject them. In AutoAnswer mode they are still delivered so
// tests can inspect them. The channel holds 16 calls; when it is full a new
// call is not delivered (it keeps ringing). The channel is never closed.
func (p *Phone) Incoming() <-chan *Call { return p.incoming }

// AutoAnswer makes the phone answer every incoming call after delay. A
// negative delay turns auto-answer off.
func (p *Phone) AutoAnswer(delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.autoOn, p.autoDelay = delay >= 0, delay
}

// Calls returns the calls that have not ended yet.
func (p *Phone) Calls() []*Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Call, 0, len(p.calls))
	for _, c := range p.calls {
		out = append(out, c)
	}
	return out
}

// Close hangs up all calls (BYE, CANCEL or 603), then stops the SIP stack
// and waits for every goroutine the phone started.
func (p *Phone) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closing = true
		calls := make([]*Call, 0, len(p.calls))
		for _, c := range p.calls {
			calls = append(calls, c)
		}
		p.mu.Unlock()

		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if err := c.Hangup(ctx); err != nil {
					p.log.Debug("siptest: hangup on close", "call", c.ID(), "error", err)
				}
				c.end(ErrPhoneClosed)
			}()
		}
		hungUp := make(chan struct{})
		go func() {
			wg.Wait()
			close(hungUp)
		}()
		// A rejection waits for the caller's ACK, up to Timer H (32 s) if
		// the caller is gone; don't let that hold Close up.
		select {
		case <-hungUp:
		case <-time.After(3 * time.Second):
		}

		p.cancel()
		p.ua.Close() // terminates transactions, closes client connections
		p.closeSockets()
		<-hungUp // with the transactions gone, stragglers return at once
		// Calls that slipped in while we were hanging up end here.
		for _, c := range p.Calls() {
			c.end(ErrPhoneClosed)
		}
		p.mu.Lock()
		p.stopped = true
		p.mu.Unlock()
		p.wg.Wait()
		// A straggler (a BYE to a phone already gone, a 2xx retransmission)
		// may have sent after ua.Close cleared the pool, and sipgo then
		// opens a new socket with a reader. Now that every goroutine of the
		// phone has stopped, clearing the pool again (idempotent in sipgo)
		// closes those.
		_ = p.ua.TransportLayer().Close()
	})
	return p.closeError
}

// late wraps a request handler for requests that reach it once Close has
// begun tearing the stack down. sipgo hands each request to its own
// goroutine, so one read just before the socket closed may be processed
// after the transport layer was closed; answering it makes sipgo open a new
// socket (with a reader goroutine) that nothing would close. Such a request
// is dropped and the transport layer is cleared again, which closes that
// socket. (The final clear in Close covers stragglers that are not requests.)
func (p *Phone) late(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if p.ctx.Err() != nil {
			_ = p.ua.TransportLayer().Close()
			return
		}
		h(req, tx)
	}
}

func (p *Phone) closeSockets() {
	if p.pconn != nil {
		if err := p.pconn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			p.closeError = errors.Join(p.closeError, err)
		}
	}
	if p.lis != nil {
		if err := p.lis.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			p.closeError = errors.Join(p.closeError, err)
		}
	}
}

// goFn runs f on a goroutine Close waits for; it refuses once Close is
// draining, since WaitGroup.Add must not race with Wait.
func (p *Phone) goFn(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

func callKey(callID, localTag string) string { return callID + "|" + localTag }

func (p *Phone) addCall(c *Call) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return ErrPhoneClosed
	}
	p.calls[callKey(c.callID, c.localTag)] = c
	return nil
}

func (p *Phone) removeCall(c *Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := callKey(c.callID, c.localTag)
	if p.calls[k] == c {
		delete(p.calls, k)
	}
}

// lookup finds the call an in-dialog request belongs to. The dialog is
// identified by Call-ID and tags (RFC 3261 §12); our local tag is the
// request's To tag whichever side created the dialog.
func (p *Phone) lookup(req *sip.Request) *Call {
	cid, to := req.CallID(), req.To()
	if cid == nil || to == nil {
		return nil
	}
	tag, _ := to.Params.Get("tag")
	p.mu.Lock()
	c := p.calls[callKey(cid.Value(), tag)]
	p.mu.Unlock()
	if c == nil {
		return nil
	}
	if from := req.From(); from != nil {
		if rt, _ := from.Params.Get("tag"); c.remoteTag() != "" && rt != c.remoteTag() {
			return nil
		}
	}
	return c
}

// setLaddr pins UDP requests to our listening socket, so the source port
// matches Via and Contact (sipgo would otherwise pick an ephemeral socket
// for dialog requests). TCP reuses or dials connections as it needs.
func (p *Phone) setLaddr(req *sip.Request) {
	req.SetTransport(p.transport)
	if p.transport == "UDP" {
		req.Laddr = sip.Addr{IP: p.ip, Port: p.port, Hostname: p.ip.String()}
	}
}

func (p *Phone) aor() sip.Uri {
	return sip.Uri{Scheme: "sip", User: p.cfg.User, Host: p.domain}
}

// targetURI turns "1002" into sip:1002@Server, and parses full URIs.
func (p *Phone) targetURI(target string) (sip.Uri, error) {
	var u sip.Uri
	if strings.HasPrefix(target, "sip:") || strings.HasPrefix(target, "sips:") {
		if err := sip.ParseUri(target, &u); err != nil {
			return u, fmt.Errorf("siptest: parse target %q: %w", target, err)
		}
		return u, nil
	}
	if p.cfg.Server == "" {
		return u, fmt.Errorf("siptest: target %q needs Config.Server", target)
	}
	if err := sip.ParseUri("sip:"+target+"@"+p.cfg.Server, &u); err != nil {
		return u, fmt.Errorf("siptest: parse target %q: %w", target, err)
	}
	if p.transport == "TCP" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tcp")
	}
	return u, nil
}

func (p *Phone) respond(tx sip.ServerTransaction, req *sip.Request, code int, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		p.log.Debug("siptest: respond failed", "code", code, "method", req.Method, "error", err)
	}
}

// onOptions answers both out-of-dialog OPTIONS (keepalive/qualify probes)
// and in-dialog ones (session liveness) with 200 (RFC 3261 §11.2).
func (p *Phone) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	p.respond(tx, req, 200,
		sip.NewHeader("Allow", allowHeader),
		sip.NewHeader("Accept", "application/sdp"),
		sip.NewHeader("User-Agent", userAgent))
}

// onCancel only sees CANCELs sipgo could not match to an INVITE server
// transaction (matched ones get 200 + 487 from the transaction layer).
func (p *Phone) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	p.respond(tx, req, 481) // RFC 3261 §9.2
}

func (p *Phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := p.lookup(req)
	if c == nil {
		p.respond(tx, req, 481) // RFC 3261 §15.1.2
		return
	}
	c.onBye(req, tx)
}

func (p *Phone) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := p.lookup(req); c != nil {
		c.onAck(req, tx)
	}
}

// onInfo accepts SIP INFO DTMF (application/dtmf-relay, "Signal=5") as an
// alternative to RFC 4733 and records it with the RTP digits.
func (p *Phone) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := p.lookup(req)
	if c == nil {
		p.respond(tx, req, 481)
		return
	}
	if ct := req.ContentType(); ct != nil && strings.Contains(strings.ToLower(ct.Value()), "dtmf-relay") {
		for _, line := range strings.Split(string(req.Body()), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				if v = strings.TrimSpace(v); len(v) == 1 {
					c.media.addDigit(v[0])
				}
			}
		}
	}
	p.respond(tx, req, 200)
}

// onNotify takes in-dialog NOTIFYs reporting the progress of our REFERs.
// One matching no dialog gets 481 (RFC 6665 §4.1.3).
func (p *Phone) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	c := p.lookup(req)
	if c == nil {
		p.respond(tx, req, 481)
		return
	}
	c.onNotify(req, tx)
}

// onRefer refuses transfer requests: the phone only sends REFER (tests
// drive transfers from the phone; Switchboard never asks a phone to
// transfer). RFC 3515 §2.4.2 lets a UA refuse; 405 carries Allow.
func (p *Phone) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	p.respond(tx, req, 405, sip.NewHeader("Allow", allowHeader))
}

// onUnsupported answers methods the phone has no handler for, in or out of
// a dialog (RFC 3261 §8.2.1): 405 with Allow for a method it knows but
// does not support, 501 for one it does not recognise (§21.5.2).
func (p *Phone) onUnsupported(req *sip.Request, tx sip.ServerTransaction) {
	code := 501
	switch req.Method {
	case sip.REGISTER, sip.SUBSCRIBE, sip.MESSAGE, sip.PRACK, sip.UPDATE, sip.PUBLISH:
		code = 405
	}
	p.respond(tx, req, code, sip.NewHeader("Allow", allowHeader))
}

func (p *Phone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		// A To tag marks a request inside an existing dialog (RFC 3261
		// §12.2.2): a re-INVITE.
		c := p.lookup(req)
		if c == nil {
			p.respond(tx, req, 481)
			return
		}
		c.onReinvite(req, tx)
		return
	}
	p.acceptInvite(req, tx)
}

func reasonPhrase(code int) string {
	switch code {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 200:
		return "OK"
	case 202:
		return "Accepted"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 415:
		return "Unsupported Media Type"
	case 480:
		return "Temporarily Unavailable"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 489:
		return "Bad Event"
	case 491:
		return "Request Pending"
	case 500:
		return "Server Internal Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return "Status " + strconv.Itoa(code)
}
