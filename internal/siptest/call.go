package siptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Reasons a call ended, returned by Call.Err (possibly wrapped).
var (
	ErrHangupLocal  = errors.New("siptest: call hung up locally")
	ErrHangupRemote = errors.New("siptest: call hung up by remote")
	ErrCanceled     = errors.New("siptest: call canceled before answer")
	ErrPhoneClosed  = errors.New("siptest: phone closed")
	ErrCallEnded    = errors.New("siptest: call has ended")
)

type callState int

const (
	stateRinging   callState = iota // INVITE sent or received, no final response
	stateAnswering                  // inbound: 200 sent, waiting for ACK
	stateActive                     // dialog confirmed
	stateEnded
)

// Party is one end of a call as named in the INVITE's From or To header.
type Party struct {
	DisplayName string
	User        string
	Host        string
	URI         string
}

// Call is one SIP dialog with its RTP stream, inbound or outbound.
type Call struct {
	p        *Phone
	log      *slog.Logger
	outbound bool
	callID   string
	localTag string
	invite   *sip.Request // initial INVITE as sent or received; read-only
	csess    *sipgo.DialogClientSession
	ssess    *sipgo.DialogServerSession
	media    *media

	ctx    context.Context // cancelled when the call ends
	cancel context.CancelFunc
	done   chan struct{}

	answered   chan struct{}
	answerOnce sync.Once
	// settled closes when the INVITE has its final outcome: answered,
	// rejected, cancelled or ended. dialErr (outbound) is set before.
	settled    chan struct{}
	settleOnce sync.Once
	dialErr    error
	ringCancel context.CancelFunc // outbound: cancels the INVITE

	endOnce sync.Once

	mu         sync.Mutex
	state      callState
	endErr     error
	rtag       string
	localSDP   *SDP
	remoteSDP  *SDP
	sessID     uint64
	sdpVersion uint64
	localHold  bool
	sending    bool // we may start sending once the remote address is known
	hangingUp  bool
	reinviting bool
	ackWaiters map[uint32]chan *sip.Request
	// ackPending is closed once the ACK for the 2xx we sent to the peer's
	// re-INVITE has arrived (or we gave up on it); nil when none is due.
	ackPending chan struct{}
	transfers  []*Transfer // REFERs whose subscription is still open

	// dialogSem serialises building and sending our in-dialog requests
	// (BYE, re-INVITE, REFER) so that CSeq numbers, which sipgo takes from
	// the dialog as it builds each request, go out in order (RFC 3261
	// §12.2.1.1). It is held while a request is built and sent, not while
	// its response is awaited (BYE excepted: nothing follows a BYE).
	dialogSem chan struct{}
}

func (p *Phone) newCall(outbound bool) (*Call, error) {
	m, err := newMedia(p.ip, p.cfg.ToneHz, p.cfg.ToneLevel)
	if err != nil {
		return nil, err
	}
	c := &Call{
		p:          p,
		outbound:   outbound,
		media:      m,
		done:       make(chan struct{}),
		answered:   make(chan struct{}),
		settled:    make(chan struct{}),
		sessID:     uint64(time.Now().UnixNano()) & math.MaxInt64,
		ackWaiters: map[uint32]chan *sip.Request{},
		dialogSem:  make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// start publishes the call and starts its goroutines. dialogCtx is the
// sipgo dialog's context, done when the dialog ends (BYE, CANCEL, ...).
func (c *Call) start(dialogCtx context.Context) error {
	c.log = c.p.log.With("call", c.callID)
	if err := c.p.addCall(c); err != nil {
		return err
	}
	ok := c.p.goFn(func() { c.media.sendLoop(c.ctx) }) &&
		c.p.goFn(c.media.recvLoop) &&
		c.p.goFn(func() { c.monitor(dialogCtx) })
	if !ok {
		return ErrPhoneClosed
	}
	return nil
}

func (c *Call) monitor(dialogCtx context.Context) {
	select {
	case <-dialogCtx.Done():
	case <-c.ctx.Done():
		return
	}
	c.mu.Lock()
	local, st := c.hangingUp, c.state
	c.mu.Unlock()
	switch {
	case local:
		c.end(ErrHangupLocal)
	case st == stateRinging && !c.outbound:
		c.end(ErrCanceled) // CANCEL received (RFC 3261 §9.2)
	default:
		c.end(ErrHangupRemote)
	}
}

// end tears the call down locally; idempotent. cause becomes Err().
func (c *Call) end(cause error) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.state = stateEnded
		c.endErr = cause
		transfers := c.transfers
		c.transfers = nil
		c.mu.Unlock()
		for _, t := range transfers {
			t.finish(fmt.Errorf("siptest: transfer: no final NOTIFY before the call ended: %w: %w", ErrCallEnded, cause))
		}
		c.cancel()
		c.media.close()
		c.p.removeCall(c)
		c.settle()
		close(c.done)
		if c.log != nil {
			c.log.Debug("siptest: call ended", "cause", cause)
		}
	})
}

func (c *Call) settle() { c.settleOnce.Do(func() { close(c.settled) }) }

func (c *Call) markAnswered() {
	c.mu.Lock()
	if c.state != stateEnded {
		c.state = stateActive
	}
	c.mu.Unlock()
	c.answerOnce.Do(func() { close(c.answered) })
}

// ID returns the SIP Call-ID.
func (c *Call) ID() string { return c.callID }

// Outbound reports whether this phone placed the call.
func (c *Call) Outbound() bool { return c.outbound }

// Done is closed when the call ends, whoever ended it.
func (c *Call) Done() <-chan struct{} { return c.done }

// Answered is closed once the call is established.
func (c *Call) Answered() <-chan struct{} { return c.answered }

// Err returns nil while the call is alive, then why it ended: ErrHangupLocal,
// ErrHangupRemote, ErrCanceled, ErrPhoneClosed or a *StatusError (wrapped).
func (c *Call) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endErr
}

// WaitAnswer waits until the INVITE has a final outcome and returns nil if
// the call was answered, otherwise the failure (a *StatusError for a
// rejected outbound call).
func (c *Call) WaitAnswer(ctx context.Context) error {
	select {
	case <-c.settled:
	case <-ctx.Done():
		return fmt.Errorf("siptest: wait answer: %w", ctx.Err())
	}
	select {
	case <-c.answered:
		return nil
	default:
	}
	if c.dialErr != nil {
		return c.dialErr
	}
	if err := c.Err(); err != nil {
		return err
	}
	return errors.New("siptest: call not answered")
}

// From returns the INVITE's From party (the caller).
func (c *Call) From() Party {
	if h := c.invite.From(); h != nil {
		return Party{DisplayName: h.DisplayName, User: h.Address.User, Host: h.Address.Host, URI: h.Address.String()}
	}
	return Party{}
}

// To returns the INVITE's To party (the called party as dialled).
func (c *Call) To() Party {
	if h := c.invite.To(); h != nil {
		return Party{DisplayName: h.DisplayName, User: h.Address.User, Host: h.Address.Host, URI: h.Address.String()}
	}
	return Party{}
}

// RequestURI returns the INVITE's Request-URI.
func (c *Call) RequestURI() string { return c.invite.Recipient.String() }

// Header returns the first value of the named header of the initial
// INVITE ("" if absent), e.g. "P-Asserted-Identity" for caller-ID tests.
func (c *Call) Header(name string) string {
	if h := c.invite.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// Headers returns all values of the named header of the initial INVITE.
func (c *Call) Headers(name string) []string {
	var out []string
	for _, h := range c.invite.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

// LocalSDP returns our current session description ("" before there is one).
func (c *Call) LocalSDP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.localSDP == nil {
		return ""
	}
	return c.localSDP.String()
}

// RemoteSDP returns the far end's current session description.
func (c *Call) RemoteSDP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remoteSDP == nil {
		return ""
	}
	return c.remoteSDP.String()
}

// Remote returns the parsed remote description, nil before there is one.
// It is replaced, never modified, on renegotiation; treat it as read-only.
func (c *Call) Remote() *SDP {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteSDP
}

// LocalRTPAddr returns our RTP socket address.
func (c *Call) LocalRTPAddr() string { return c.media.conn.LocalAddr().String() }

// RTPSource returns the address the last RTP packet came from.
func (c *Call) RTPSource() string {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return c.media.lastSource
}

// SetTone changes the frequency this call sends (0 = silence).
func (c *Call) SetTone(hz float64) { c.media.tone.Store(math.Float64bits(hz)) }

// ReceivedAudio returns a copy of the most recently received audio, up to
// last long (at most 5 s), decoded to 8 kHz PCM in arrival order.
func (c *Call) ReceivedAudio(last time.Duration) []int16 {
	return c.media.recent(int(last.Seconds() * sampleRate))
}

// PacketsReceived counts RTP packets received (audio and events).
func (c *Call) PacketsReceived() int {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return c.media.packets
}

// ReceivedDTMF returns the digits received so far, RFC 4733 events and SIP
// INFO alike, in order.
func (c *Call) ReceivedDTMF() string {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return string(c.media.digits)
}

// WaitDTMF polls until the received digits contain want.
func (c *Call) WaitDTMF(ctx context.Context, want string) error {
	return poll(ctx, func() bool { return strings.Contains(c.ReceivedDTMF(), want) },
		func() error { return fmt.Errorf("siptest: DTMF %q not received (got %q)", want, c.ReceivedDTMF()) })
}

// WaitTone polls until a full window of audio has been received and
// Hears(freq) holds for the last window of it. Audio from before a change
// (hold, transfer) stays in the buffer, so wait or sleep past it first.
func (c *Call) WaitTone(ctx context.Context, freq float64, window time.Duration) error {
	need := int(window.Seconds() * sampleRate)
	return poll(ctx, func() bool {
		s := c.ReceivedAudio(window)
		return len(s) >= need && Hears(s, sampleRate, freq)
	},
		func() error {
			f, r := DominantTone(c.ReceivedAudio(window), sampleRate, []float64{freq})
			return fmt.Errorf("siptest: %.0f Hz not heard (power ratio %.2f at %.0f Hz)", freq, r, f)
		})
}

func poll(ctx context.Context, cond func() bool, fail func() error) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return errors.Join(fail(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// SendDTMF sends one digit (0-9, *, #, A-D) as RFC 4733 telephone-events:
// 100 ms of packets with growing duration, then the three end packets
// with the same timestamp (RFC 4733 §2.5.1.4). It returns when the last
// packet is sent.
func (c *Call) SendDTMF(digit byte) error {
	code, ok := dtmfCode(digit)
	if !ok {
		return fmt.Errorf("siptest: invalid DTMF digit %q", digit)
	}
	job := dtmfJob{code: code, done: make(chan error, 1)}
	select {
	case c.media.dtmfCh <- job:
	case <-c.done:
		return ErrCallEnded
	}
	select {
	case err := <-job.done:
		return err
	case <-c.done:
		return ErrCallEnded
	}
}

// SendDigits sends each digit of s with SendDTMF.
func (c *Call) SendDigits(s string) error {
	for i := 0; i < len(s); i++ {
		if err := c.SendDTMF(s[i]); err != nil {
			return err
		}
	}
	return nil
}

// Hangup ends the call: BYE when established (RFC 3261 §15), CANCEL while
// an outbound call rings (§9.1), 603 Decline while an inbound one rings.
// It is a no-op on an ended call.
func (c *Call) Hangup(ctx context.Context) error {
	c.mu.Lock()
	st := c.state
	if st != stateEnded {
		c.hangingUp = true
	}
	c.mu.Unlock()
	switch {
	case st == stateEnded:
		return nil
	case st == stateRinging && c.outbound:
		c.ringCancel() // waitAnswer sends the CANCEL
		select {
		case <-c.settled:
		case <-ctx.Done():
			return fmt.Errorf("siptest: cancel: %w", ctx.Err())
		}
		select {
		case <-c.answered:
			// Answered before the CANCEL could go out: hang up properly.
			return c.Hangup(ctx)
		default:
		}
		// If a 200 crossed our CANCEL, waitAnswer already sent ACK and BYE.
		c.end(ErrHangupLocal)
		return nil
	case st == stateRinging:
		return c.Reject(603)
	}
	bye := sip.NewRequest(sip.BYE, c.remoteTarget())
	bye.AppendHeader(sip.NewHeader("User-Agent", userAgent))
	c.p.setLaddr(bye)
	// The BYE takes the next CSeq after any REFER or re-INVITE already
	// sent; the lock is kept until its response since nothing follows it.
	err := c.lockDialog(ctx)
	if err == nil {
		if c.csess != nil {
			err = c.csess.WriteBye(ctx, bye)
		} else {
			err = c.ssess.WriteBye(ctx, bye)
		}
		c.unlockDialog()
	}
	c.end(ErrHangupLocal)
	if err != nil {
		return fmt.Errorf("siptest: BYE: %w", err)
	}
	return nil
}

// remoteTarget is where in-dialog requests go: the peer's Contact (RFC 3261
// §12.1.1, §12.1.2).
func (c *Call) remoteTarget() sip.Uri {
	if c.csess != nil {
		if res := c.csess.InviteResponse; res != nil {
			if ct := res.Contact(); ct != nil {
				return *ct.Address.Clone()
			}
		}
		return *c.invite.Recipient.Clone()
	}
	if ct := c.ssess.InviteRequest.Contact(); ct != nil {
		return *ct.Address.Clone()
	}
	return sip.Uri{}
}

func (c *Call) remoteTag() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rtag
}

// makeSDP builds our description: an offer when offer is nil, else the
// answer to it (RFC 3264 §6). c.mu must be held.
func (c *Call) makeSDP(offer *SDP) (*SDP, error) {
	s := &SDP{
		Addr:   c.p.ip.String(),
		Port:   c.media.port,
		RTPMap: map[uint8]string{},
		FMTP:   map[uint8]string{},
		Ptime:  20,
	}
	codecPT := uint8(ptPCMU)
	if c.p.codec == "PCMA" {
		codecPT = ptPCMA
	}
	tePT, haveTE := uint8(ptTelephoneEvent), !c.p.cfg.NoDTMF
	if offer == nil {
		s.Direction = offerDirection(c.localHold)
	} else {
		pt, ok := offer.PayloadType(c.p.codec)
		if !ok || offer.Port == 0 {
			return nil, fmt.Errorf("siptest: offer lacks %s", c.p.codec)
		}
		codecPT = pt
		if haveTE {
			tePT, haveTE = offer.PayloadType("telephone-event")
		}
		s.Direction = answerDirection(offer.Direction, c.localHold)
	}
	s.Formats = append(s.Formats, codecPT)
	s.RTPMap[codecPT] = c.p.codec + "/8000"
	if haveTE {
		s.Formats = append(s.Formats, tePT)
		s.RTPMap[tePT] = "telephone-event/8000"
		s.FMTP[tePT] = "0-16"
	}
	return s, nil
}

// setLocal makes s our current description and returns its bytes. The
// o= version only increases when the description changes (RFC 3264 §8).
// c.mu must be held.
func (c *Call) setLocal(s *SDP) []byte {
	s.SessionID = c.sessID
	if prev := c.localSDP; prev != nil {
		s.Version = prev.Version
		if !bytes.Equal(prev.Bytes(), s.Bytes()) {
			s.Version++
		}
	}
	c.localSDP = s
	te := int32(-1)
	if pt, ok := s.PayloadType("telephone-event"); ok {
		te = int32(pt)
	}
	c.media.localTE.Store(te)
	c.updateMedia()
	return s.Bytes()
}

// StopRTP stops sending RTP for good without any signalling, as a phone
// that crashed or lost its network would.
func (c *Call) StopRTP() {
	c.mu.Lock()
	c.sending = false
	c.updateMedia()
	c.mu.Unlock()
}

// updateMedia recomputes where and whether to send. We send while our own
// direction allows it and the peer wants to receive: a sendonly hold from
// our side keeps sending (RFC 3264 §8.4), a hold from theirs stops us.
// c.mu must be held.
func (c *Call) updateMedia() {
	l, r := c.localSDP, c.remoteSDP
	mp := &mediaParams{tePT: -1, codec: c.p.codec}
	if l != nil && r != nil {
		if pt, ok := r.PayloadType(c.p.codec); ok {
			mp.pt = pt
			mp.dst = resolveRTP(r.Addr, r.Port)
			mp.send = c.sending && mp.dst != nil && r.Receives() &&
				(l.Direction == DirSendRecv || l.Direction == DirSendOnly)
		}
		if pt, ok := r.PayloadType("telephone-event"); ok && !c.p.cfg.NoDTMF {
			mp.tePT = int(pt)
		}
	}
	c.media.params.Store(mp)
}

func resolveRTP(host string, port int) *net.UDPAddr {
	if ip := net.ParseIP(host); ip != nil {
		return &net.UDPAddr{IP: ip, Port: port}
	}
	a, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return nil
	}
	return a
}

// applyRemote records the peer's description and retargets RTP.
func (c *Call) applyRemote(body []byte) error {
	s, err := ParseSDP(body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.remoteSDP = s
	c.updateMedia()
	c.mu.Unlock()
	return nil
}

// LocalDirection returns the direction in our current SDP.
func (c *Call) LocalDirection() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.localSDP == nil {
		return ""
	}
	return c.localSDP.Direction
}

// RemoteDirection returns the direction in the peer's current SDP.
func (c *Call) RemoteDirection() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remoteSDP == nil {
		return ""
	}
	return c.remoteSDP.Direction
}
