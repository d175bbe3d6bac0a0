// Package registrar implements the SIP registrar (RFC 3261 §10): digest
// authentication of extensions against stored HA1 secrets, the location
// service of bindings with expiry (several devices per extension), and
// authentication of other requests (INVITE) from extensions.
package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// Store is what the registrar needs from persistence.
type Store interface {
	ExtensionByNumber(ctx context.Context, number string) (store.Extension, error)
	SaveBindings(ctx context.Context, bs []store.Binding) error
	Bindings(ctx context.Context, now time.Time) ([]store.Binding, error)
}

// Config configures a Registrar.
type Config struct {
	Realm      string
	MinExpires time.Duration
	MaxExpires time.Duration
	NonceTTL   time.Duration
	FailLimit  int
	FailWindow time.Duration
	Logger     *slog.Logger
	Events     *events.Bus // may be nil
}

// Contact is a device registered for an extension.
type Contact struct {
	Extension string
	URI       sip.Uri
	Source    string // host:port the REGISTER came from; requests go there (NAT, TCP flow)
	Transport string
	UserAgent string
	Expires   time.Time
}

// Registrar owns the location service. Bindings live in memory (the hot
// path) and are written behind to the store once a second, so a restart
// keeps registered devices.
type Registrar struct {
	cfg     Config
	st      Store
	log     *slog.Logger
	nonces  *nonces
	limiter *failureLimiter
	now     func() time.Time

	flowAuth FlowAuthenticator // set before SIP starts (flowauth.go)
	onDevice atomic.Pointer[DeviceListener]

	mu       sync.RWMutex
	bindings map[string]map[string]*store.Binding // extension → contact URI → binding
	dirty    map[string]store.Binding             // key ext+"\x00"+uri → latest state (Expires zero = delete)

	stop chan struct{}
	done chan struct{}
}

// New returns a registrar; call Start before use.
func New(cfg Config, st Store) *Registrar {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Registrar{
		cfg:      cfg,
		st:       st,
		log:      cfg.Logger.With("component", "registrar"),
		nonces:   newNonces(cfg.NonceTTL),
		limiter:  newFailureLimiter(cfg.FailLimit, cfg.FailWindow),
		now:      time.Now,
		bindings: make(map[string]map[string]*store.Binding),
		dirty:    make(map[string]store.Binding),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// Start loads the unexpired bindings and starts the write-behind loop.
func (r *Registrar) Start(ctx context.Context) error {
	bs, err := r.st.Bindings(ctx, r.now())
	if err != nil {
		return fmt.Errorf("registrar: load bindings: %w", err)
	}
	r.mu.Lock()
	for i := range bs {
		b := bs[i]
		if b.Transport == "ws" || b.Transport == "wss" {
			// A browser's binding lives on its WebSocket, which died with
			// the previous process: drop it instead of ringing nothing.
			r.dirty[b.Extension+"\x00"+b.ContactURI] = store.Binding{Extension: b.Extension, ContactURI: b.ContactURI}
			continue
		}
		r.bindingsOf(b.Extension)[b.ContactURI] = &b
	}
	r.mu.Unlock()
	go r.loop()
	return nil
}

// Close stops the loop after a final flush.
func (r *Registrar) Close() {
	select {
	case <-r.stop:
		return
	default:
	}
	close(r.stop)
	<-r.done
}

func (r *Registrar) loop() {
	defer close(r.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.expire()
			r.flush()
		case <-r.stop:
			r.flush()
			return
		}
	}
}

func (r *Registrar) bindingsOf(ext string) map[string]*store.Binding {
	m := r.bindings[ext]
	if m == nil {
		m = make(map[string]*store.Binding)
		r.bindings[ext] = m
	}
	return m
}

func (r *Registrar) expire() {
	now := r.now()
	r.mu.Lock()
	var gone []store.Binding
	for ext, m := range r.bindings {
		for uri, b := range m {
			if !b.Expires.After(now) {
				delete(m, uri)
				gone = append(gone, *b)
				r.dirty[ext+"\x00"+uri] = store.Binding{Extension: ext, ContactURI: uri}
			}
		}
		if len(m) == 0 {
			delete(r.bindings, ext)
		}
	}
	r.mu.Unlock()
	for _, b := range gone {
		r.publish(events.DeviceRemoved, b, "expired")
	}
}

func (r *Registrar) flush() {
	r.mu.Lock()
	if len(r.dirty) == 0 {
		r.mu.Unlock()
		return
	}
	batch := make([]store.Binding, 0, len(r.dirty))
	for _, b := range r.dirty {
		batch = append(batch, b)
	}
	clear(r.dirty)
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.st.SaveBindings(ctx, batch); err != nil {
		r.log.Error("saving bindings failed; they stay in memory", "count", len(batch), "error", err)
	}
}

// Lookup returns the live contacts of an extension.
func (r *Registrar) Lookup(ext string) []Contact {
	now := r.now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	m := r.bindings[ext]
	out := make([]Contact, 0, len(m))
	for _, b := range m {
		if !b.Expires.After(now) {
			continue
		}
		var u sip.Uri
		if err := sip.ParseUri(b.ContactURI, &u); err != nil {
			continue
		}
		out = append(out, Contact{Extension: ext, URI: u, Source: b.Source, Transport: b.Transport,
			UserAgent: b.UserAgent, Expires: b.Expires})
	}
	return out
}

// Registered reports how many extensions and devices are registered.
func (r *Registrar) Registered() (extensions, devices int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range r.bindings {
		if len(m) > 0 {
			extensions++
			devices += len(m)
		}
	}
	return extensions, devices
}

// HandleRegister processes a REGISTER (RFC 3261 §10.3).
func (r *Registrar) HandleRegister(req *sip.Request, tx sip.ServerTransaction) {
	ext, ok := r.authenticate(req, tx, "Authorization", sip.StatusUnauthorized, "WWW-Authenticate")
	if !ok {
		return
	}
	to := req.To()
	if to == nil || to.Address.User != ext.Number {
		// RFC 3261 §10.3 step 6: the authenticated user must be allowed to
		// change the bindings of the To address-of-record.
		r.respond(tx, req, sip.StatusForbidden, "Forbidden", nil)
		return
	}
	if err := r.updateBindings(req, tx, ext.Number); err != nil {
		r.log.Debug("register rejected", "extension", ext.Number, "error", err)
	}
}

// errResponded means the request was already answered with an error.
var errResponded = errors.New("responded")

func (r *Registrar) updateBindings(req *sip.Request, tx sip.ServerTransaction, ext string) error {
	defaultExpires := 3600 * time.Second
	if h := req.GetHeader("Expires"); h != nil {
		secs, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			r.respond(tx, req, sip.StatusBadRequest, "Bad Expires", nil)
			return errResponded
		}
		defaultExpires = time.Duration(secs) * time.Second
	}
	type change struct {
		uri     string
		expires time.Duration
	}
	var changes []change
	wildcard := false
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if c.Address.Wildcard || c.Address.Host == "*" {
			wildcard = true
			continue
		}
		exp := defaultExpires
		if v, ok := c.Params.Get("expires"); ok {
			secs, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				r.respond(tx, req, sip.StatusBadRequest, "Bad Contact expires", nil)
				return errResponded
			}
			exp = time.Duration(secs) * time.Second
		}
		if exp != 0 && exp < r.cfg.MinExpires {
			// RFC 3261 §10.3 step 7: too brief gets 423 with Min-Expires.
			res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(r.cfg.MinExpires/time.Second))))
			_ = tx.Respond(res)
			return errResponded
		}
		exp = min(exp, r.cfg.MaxExpires)
		changes = append(changes, change{uri: c.Address.String(), expires: exp})
	}
	if wildcard && (len(changes) > 0 || defaultExpires != 0) {
		// RFC 3261 §10.3 step 6: "*" only with Expires: 0 and alone.
		r.respond(tx, req, sip.StatusBadRequest, "Invalid wildcard Contact", nil)
		return errResponded
	}
	const maxDevices = 10
	now := r.now()
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = h.Value()
	}
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	var cseq uint32
	if h := req.CSeq(); h != nil {
		cseq = h.SeqNo
	}

	var added, removed []store.Binding
	r.mu.Lock()
	m := r.bindingsOf(ext)
	if wildcard {
		for uri, b := range m {
			removed = append(removed, *b)
			r.dirty[ext+"\x00"+uri] = store.Binding{Extension: ext, ContactURI: uri}
			delete(m, uri)
		}
	}
	for _, ch := range changes {
		if ch.expires == 0 {
			if b, ok := m[ch.uri]; ok {
				removed = append(removed, *b)
				delete(m, ch.uri)
				r.dirty[ext+"\x00"+ch.uri] = store.Binding{Extension: ext, ContactURI: ch.uri}
			}
			continue
		}
		b, existed := m[ch.uri]
		if !existed && len(m) >= maxDevices {
			r.mu.Unlock()
			r.respond(tx, req, sip.StatusForbidden, "Too many devices", nil)
			return errResponded
		}
		if !existed {
			b = &store.Binding{Extension: ext, ContactURI: ch.uri}
			m[ch.uri] = b
		}
		b.Source, b.Transport, b.UserAgent = req.Source(), strings.ToLower(req.Transport()), ua
		b.CallID, b.CSeq = callID, cseq
		b.Expires, b.UpdatedAt = now.Add(ch.expires), now
		r.dirty[ext+"\x00"+ch.uri] = *b
		if !existed {
			added = append(added, *b)
		}
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	for uri, b := range m {
		var u sip.Uri
		if err := sip.ParseUri(uri, &u); err != nil {
			continue
		}
		secs := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		c := &sip.ContactHeader{Address: u, Params: sip.NewParams()}
		c.Params.Add("expires", strconv.Itoa(secs))
		res.AppendHeader(c)
	}
	if len(m) == 0 {
		delete(r.bindings, ext)
	}
	r.mu.Unlock()
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	if err := tx.Respond(res); err != nil {
		return fmt.Errorf("register %s: respond: %w", ext, err)
	}
	for _, b := range added {
		r.log.Info("device registered", "extension", ext, "contact", b.ContactURI, "source", b.Source, "user_agent", b.UserAgent)
		r.publish(events.DeviceRegistered, b, "")
	}
	for _, b := range removed {
		r.log.Info("device unregistered", "extension", ext, "contact", b.ContactURI)
		r.publish(events.DeviceRemoved, b, "unregistered")
	}
	return nil
}

// DeviceState is the data of device events.
type DeviceState struct {
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	UserAgent string    `json:"user_agent"`
	Expires   time.Time `json:"expires"`
	Reason    string    `json:"reason,omitempty"`
}

// DeviceListener learns that extension ext gained or lost a device, and
// whether it has any registered now. Called outside the registrar's lock.
type DeviceListener func(ext string, registered bool)

// OnDeviceChange sets the one listener told of every device change (the
// ACD, which offers calls only to agents with a phone): directly, rather
// than by following the event bus for the few events it needs.
func (r *Registrar) OnDeviceChange(f DeviceListener) { r.onDevice.Store(&f) }

func (r *Registrar) publish(t events.Type, b store.Binding, reason string) {
	if f := r.onDevice.Load(); f != nil {
		(*f)(b.Extension, len(r.Lookup(b.Extension)) > 0)
	}
	if r.cfg.Events == nil {
		return
	}
	r.cfg.Events.Publish(t, "extension:"+b.Extension, DeviceState{
		Extension: b.Extension, Contact: b.ContactURI, Source: b.Source, Transport: b.Transport,
		UserAgent: b.UserAgent, Expires: b.Expires, Reason: reason,
	})
}

// Authenticate checks a request other than REGISTER (an INVITE from a
// phone) with Proxy-Authorization (RFC 3261 §22.3). When it fails it has
// already answered the request (407 challenge or 403) and returns false.
func (r *Registrar) Authenticate(req *sip.Request, tx sip.ServerTransaction) (store.Extension, bool) {
	return r.authenticate(req, tx, "Proxy-Authorization", sip.StatusProxyAuthRequired, "Proxy-Authenticate")
}

func (r *Registrar) authenticate(req *sip.Request, tx sip.ServerTransaction, credHeader string, challengeCode int, challengeHeader string) (store.Extension, bool) {
	if ext, ok := r.flowAuthenticated(req); ok {
		return ext, true
	}
	ip := sourceIP(req.Source())
	if r.limiter.blocked(ip) {
		r.respond(tx, req, sip.StatusForbidden, "Forbidden", nil)
		return store.Extension{}, false
	}
	h := req.GetHeader(credHeader)
	if h == nil {
		r.challenge(req, tx, challengeCode, challengeHeader, false)
		return store.Extension{}, false
	}
	creds, err := ParseCredentials(h.Value())
	if err != nil {
		r.fail(ip, "", req, "malformed credentials")
		r.respond(tx, req, sip.StatusBadRequest, "Malformed Authorization", nil)
		return store.Extension{}, false
	}
	if creds.Realm != r.cfg.Realm {
		r.challenge(req, tx, challengeCode, challengeHeader, false)
		return store.Extension{}, false
	}
	switch r.nonces.check(creds.Nonce) {
	case nonceStale:
		r.challenge(req, tx, challengeCode, challengeHeader, true)
		return store.Extension{}, false
	case nonceInvalid:
		r.challenge(req, tx, challengeCode, challengeHeader, false)
		return store.Extension{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ext, err := r.st.ExtensionByNumber(ctx, creds.Username)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			r.log.Error("extension lookup failed", "error", err)
			r.respond(tx, req, sip.StatusInternalServerError, "Server Error", nil)
			return store.Extension{}, false
		}
		// Same answer as a wrong password, so unknown users can't be probed.
		r.fail(ip, creds.Username, req, "unknown user")
		r.challengeOrForbid(req, tx, ip, challengeCode, challengeHeader)
		return store.Extension{}, false
	}
	ha1 := ext.HA1
	if strings.EqualFold(creds.Algorithm, "SHA-256") {
		ha1 = ext.HA1SHA256
	}
	want, err := ExpectedResponse(creds, req.Method.String(), ha1)
	if err != nil || ha1 == "" || want != creds.Response {
		r.fail(ip, creds.Username, req, "wrong password")
		r.challengeOrForbid(req, tx, ip, challengeCode, challengeHeader)
		return store.Extension{}, false
	}
	r.limiter.succeed(ip)
	return ext, true
}

func (r *Registrar) fail(ip, user string, req *sip.Request, why string) {
	if r.limiter.fail(ip) {
		// One line per source and window: enough for fail2ban, not a log flood.
		r.log.Warn("sip auth: too many failures, refusing source", "source", ip, "user", user,
			"method", req.Method.String(), "limit", r.cfg.FailLimit, "window", r.cfg.FailWindow.String(), "last_reason", why)
	}
}

func (r *Registrar) challengeOrForbid(req *sip.Request, tx sip.ServerTransaction, ip string, code int, header string) {
	if r.limiter.blocked(ip) {
		r.respond(tx, req, sip.StatusForbidden, "Forbidden", nil)
		return
	}
	r.challenge(req, tx, code, header, false)
}

func (r *Registrar) challenge(req *sip.Request, tx sip.ServerTransaction, code int, header string, stale bool) {
	reason := "Unauthorized"
	if code == sip.StatusProxyAuthRequired {
		reason = "Proxy Authentication Required"
	}
	v := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"`, r.cfg.Realm, r.nonces.issue())
	if stale {
		v += ", stale=TRUE"
	}
	r.respond(tx, req, code, reason, sip.NewHeader(header, v))
}

func (r *Registrar) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, h sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if h != nil {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		r.log.Debug("respond failed", "code", code, "error", err)
	}
}

func sourceIP(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return host
}
