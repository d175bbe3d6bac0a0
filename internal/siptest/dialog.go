package siptest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Dial calls target and returns once the call is answered and ACKed.
// target is a user ("1002", sent to sip:1002@Server) or a full sip: URI;
// extra headers are added to the INVITE. A final failure response is
// returned as a *StatusError; cancelling ctx while the call rings sends
// CANCEL (RFC 3261 §9.1) and returns ctx's error.
func (p *Phone) Dial(ctx context.Context, target string, headers ...sip.Header) (*Call, error) {
	c, err := p.Invite(ctx, target, headers...)
	if err != nil {
		return nil, err
	}
	select {
	case <-c.settled:
	case <-ctx.Done():
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Hangup(hctx)
		return nil, fmt.Errorf("siptest: dial %s: %w", target, ctx.Err())
	}
	if err := c.WaitAnswer(context.Background()); err != nil {
		return nil, err
	}
	return c, nil
}

// Invite sends an INVITE to target (see Dial) and returns at once with the
// call ringing, for tests that act while it rings: WaitAnswer, Answered,
// or Hangup (which then sends CANCEL).
func (p *Phone) Invite(ctx context.Context, target string, headers ...sip.Header) (*Call, error) {
	return p.InviteFrom(ctx, p.cfg.User, p.cfg.DisplayName, target, headers...)
}

// InviteFrom is Invite with another caller in the From header (user part
// and display name), e.g. a carrier's phone placing calls for many
// customers, each with their own number. Digest credentials, if asked
// for, are still Config.User's.
func (p *Phone) InviteFrom(ctx context.Context, user, displayName, target string, headers ...sip.Header) (*Call, error) {
	uri, err := p.targetURI(target)
	if err != nil {
		return nil, err
	}
	c, err := p.newCall(true)
	if err != nil {
		return nil, err
	}
	c.callID = newCallID()
	c.localTag = sip.GenerateTagN(16)
	c.mu.Lock()
	c.sending = true // from the first remote SDP on, early media included
	offer, _ := c.makeSDP(nil)
	body := c.setLocal(offer)
	c.mu.Unlock()

	req := sip.NewRequest(sip.INVITE, uri)
	aor := p.aor()
	aor.User = user
	from := &sip.FromHeader{DisplayName: displayName, Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", c.localTag)
	callID := sip.CallIDHeader(c.callID)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}})
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(p.contact.Clone())
	req.AppendHeader(sip.NewHeader("Allow", allowHeader))
	req.AppendHeader(sip.NewHeader("User-Agent", userAgent))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	for _, h := range headers {
		req.AppendHeader(h)
	}
	req.SetBody(body)
	p.setLaddr(req)
	c.invite = req.Clone() // sipgo mutates req (Via, auth, CSeq) later

	sess, err := p.dua.WriteInvite(ctx, req)
	if err != nil {
		c.cancel()
		c.media.close()
		return nil, fmt.Errorf("siptest: INVITE %s: %w", uri.String(), err)
	}
	c.csess = sess
	ringCtx, ringCancel := context.WithCancel(context.Background())
	c.ringCancel = ringCancel
	if err := c.start(sess.Context()); err != nil {
		ringCancel()
		c.end(err)
		return nil, fmt.Errorf("siptest: INVITE %s: %w", uri.String(), err)
	}
	if !p.goFn(func() { c.waitAnswer(ringCtx) }) {
		ringCancel()
		c.end(ErrPhoneClosed)
		return nil, ErrPhoneClosed
	}
	return c, nil
}

func (c *Call) waitAnswer(ringCtx context.Context) {
	defer c.settle()
	defer c.ringCancel()
	sess := c.csess
	err := sess.WaitAnswer(ringCtx, sipgo.AnswerOptions{
		// sipgo re-sends the INVITE with credentials on 401/407, with a
		// new CSeq and the same Call-ID (RFC 3261 §22.2).
		Username: c.p.cfg.User,
		Password: c.p.cfg.Password,
		OnResponse: func(res *sip.Response) error {
			// Early media (RFC 3960): a 18x with SDP already names the
			// peer's RTP address, e.g. for ringback from Switchboard.
			if res.IsProvisional() && res.StatusCode > 100 && len(res.Body()) > 0 {
				if err := c.applyRemote(res.Body()); err != nil {
					c.log.Warn("siptest: bad SDP in provisional response", "error", err)
				}
			}
			return nil
		},
	})
	if err != nil {
		if res := sess.InviteResponse; res != nil && res.IsSuccess() {
			// A 200 crossed our CANCEL (RFC 3261 §9.1): the callee has a
			// confirmed-to-be dialog, which we must ACK and then BYE.
			c.ackAndBye()
		}
		if se := asStatusError(err); se != nil {
			err = se
		}
		c.mu.Lock()
		local := c.hangingUp
		c.mu.Unlock()
		if local && errors.Is(err, context.Canceled) {
			err = ErrHangupLocal // our own CANCEL
		}
		c.dialErr = fmt.Errorf("siptest: INVITE %s: %w", c.invite.Recipient.String(), err)
		c.end(c.dialErr)
		return
	}
	res := sess.InviteResponse
	c.mu.Lock()
	c.rtag, _ = res.To().Params.Get("tag")
	c.mu.Unlock()
	if len(res.Body()) > 0 {
		if err := c.applyRemote(res.Body()); err != nil {
			c.log.Warn("siptest: bad SDP in 200", "error", err)
		}
	}
	// RFC 3261 §13.2.2.4: the UAC core ACKs a 2xx itself, outside the
	// INVITE transaction (sipgo re-sends it on 2xx retransmissions).
	if err := sess.Ack(context.Background()); err != nil {
		c.dialErr = fmt.Errorf("siptest: ACK: %w", err)
		c.end(c.dialErr)
		return
	}
	c.markAnswered()
}

func (c *Call) ackAndBye() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.csess.Ack(ctx); err != nil {
		c.log.Debug("siptest: ACK of late 200 failed", "error", err)
		return
	}
	bye := sip.NewRequest(sip.BYE, c.remoteTarget())
	c.p.setLaddr(bye)
	if err := c.csess.WriteBye(ctx, bye); err != nil {
		c.log.Debug("siptest: BYE of late 200 failed", "error", err)
	}
}

func asStatusError(err error) *StatusError {
	var dr *sipgo.ErrDialogResponse
	if errors.As(err, &dr) {
		return &StatusError{Code: dr.Res.StatusCode, Reason: dr.Res.Reason}
	}
	var dv sipgo.ErrDialogResponse
	if errors.As(err, &dv) {
		return &StatusError{Code: dv.Res.StatusCode, Reason: dv.Res.Reason}
	}
	return nil
}

// acceptInvite handles a dialog-creating INVITE. It runs in sipgo's
// handler goroutine and must not return before the final response is
// sent: sipgo terminates unanswered server transactions when it returns.
func (p *Phone) acceptInvite(req *sip.Request, tx sip.ServerTransaction) {
	sess, err := p.dua.ReadInvite(req, tx)
	if err != nil {
		p.log.Debug("siptest: bad INVITE", "error", err)
		p.respond(tx, req, 400)
		return
	}
	c, err := p.newCall(false)
	if err != nil {
		p.log.Error("siptest: new call", "error", err)
		_ = sess.Respond(500, reasonPhrase(500), nil)
		return
	}
	c.ssess = sess
	c.invite = req
	c.callID = req.CallID().Value()
	c.localTag, _ = sess.InviteRequest.To().Params.Get("tag")
	c.rtag, _ = req.From().Params.Get("tag")
	if body := req.Body(); len(body) > 0 {
		offer, err := ParseSDP(body)
		var answer *SDP
		if err == nil {
			answer, err = c.makeSDP(offer)
		}
		if err != nil {
			// An offer we cannot accept gets 488 (RFC 3261 §21.4.26).
			c.cancel()
			c.media.close()
			_ = sess.Respond(488, reasonPhrase(488), nil, sip.NewHeader("Warning", `399 siptest "`+err.Error()+`"`))
			return
		}
		c.mu.Lock()
		c.remoteSDP = offer
		c.setLocal(answer)
		c.mu.Unlock()
	}
	if err := c.start(sess.Context()); err != nil {
		_ = sess.Respond(503, reasonPhrase(503), nil)
		c.end(err)
		return
	}
	if err := sess.Respond(180, reasonPhrase(180), nil); err != nil {
		c.end(fmt.Errorf("siptest: 180: %w", err))
		return
	}
	select {
	case p.incoming <- c:
	default:
		c.log.Warn("siptest: Incoming() is full; call keeps ringing undelivered")
	}
	p.mu.Lock()
	auto, delay := p.autoOn, p.autoDelay
	p.mu.Unlock()
	if requestsAutoAnswer(req) {
		// The PBX asks the phone to answer by itself (a console's
		// "answer"), as desk phones do for Call-Info answer-after=0.
		auto, delay = true, 0
	}
	if auto {
		p.goFn(func() {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-c.done:
				return
			}
			ctx, cancel := context.WithTimeout(c.ctx, 64*sip.T1)
			defer cancel()
			if err := c.Answer(ctx); err != nil {
				c.log.Debug("siptest: auto-answer failed", "error", err)
			}
		})
	}
	select {
	case <-c.settled:
	case <-p.ctx.Done():
	}
}

// Answer accepts an inbound call with 200 and our SDP and waits for the
// ACK. If the INVITE had no SDP, the 200 carries our offer and the ACK's
// SDP is the answer (RFC 3261 §13.2.1).
func (c *Call) Answer(ctx context.Context) error {
	if c.outbound {
		return errors.New("siptest: answer: call is outbound")
	}
	body, err := c.startMedia(stateAnswering)
	if err != nil {
		return fmt.Errorf("siptest: answer: %w", err)
	}

	errc := make(chan error, 1)
	started := c.p.goFn(func() {
		// RespondSDP retransmits the 200 until the ACK (RFC 3261
		// §13.3.1.4), so it blocks; ctx only bounds our wait for it.
		err := c.ssess.RespondSDP(body)
		if err != nil {
			c.end(fmt.Errorf("siptest: answer: %w", err))
		} else {
			c.markAnswered()
		}
		c.settle()
		errc <- err
	})
	if !started {
		return ErrPhoneClosed
	}
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("siptest: answer: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("siptest: answer: %w", ctx.Err())
	}
}

// startMedia moves a ringing inbound call to state, starts sending audio and
// returns our SDP: the answer to the caller's offer, or our offer when the
// INVITE had none.
func (c *Call) startMedia(state callState) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateRinging {
		return nil, errors.New("call is not ringing")
	}
	c.state = state
	c.sending = true
	if c.localSDP != nil {
		c.updateMedia()
		return c.localSDP.Bytes(), nil
	}
	offer, _ := c.makeSDP(nil)
	return c.setLocal(offer), nil
}

// Progress sends 183 Session Progress with our SDP and starts sending
// audio before the answer (early media: announcements, ringback).
func (c *Call) Progress() error {
	if c.outbound {
		return errors.New("siptest: progress: call is outbound")
	}
	body, err := c.startMedia(stateRinging)
	if err != nil {
		return fmt.Errorf("siptest: progress: %w", err)
	}
	ct := sip.ContentTypeHeader("application/sdp")
	if err := c.ssess.Respond(183, "Session Progress", body, &ct); err != nil {
		return fmt.Errorf("siptest: 183: %w", err)
	}
	return nil
}

// Reject declines a ringing inbound call with code (4xx-6xx, e.g. 486) and
// waits for the caller's ACK.
func (c *Call) Reject(code int) error {
	if c.outbound {
		return errors.New("siptest: reject: call is outbound")
	}
	if code < 300 || code > 699 {
		return fmt.Errorf("siptest: reject: %d is not a failure code", code)
	}
	c.mu.Lock()
	if c.state != stateRinging {
		c.mu.Unlock()
		return errors.New("siptest: reject: call is not ringing")
	}
	c.state = stateAnswering
	c.hangingUp = true
	c.mu.Unlock()
	err := c.ssess.Respond(code, reasonPhrase(code), nil)
	c.end(fmt.Errorf("%w: rejected with %d", ErrHangupLocal, code))
	if err != nil {
		return fmt.Errorf("siptest: reject %d: %w", code, err)
	}
	return nil
}

func (c *Call) onBye(req *sip.Request, tx sip.ServerTransaction) {
	var err error
	if c.csess != nil {
		err = c.csess.ReadBye(req, tx)
	} else {
		err = c.ssess.ReadBye(req, tx)
	}
	if err != nil {
		c.log.Debug("siptest: BYE handling", "error", err)
	}
	c.end(ErrHangupRemote)
}

func (c *Call) onAck(req *sip.Request, tx sip.ServerTransaction) {
	seq := req.CSeq().SeqNo
	c.mu.Lock()
	ch := c.ackWaiters[seq]
	delete(c.ackWaiters, seq)
	c.mu.Unlock()
	if ch != nil {
		ch <- req
		return
	}
	if c.ssess == nil {
		return
	}
	if body := req.Body(); len(body) > 0 {
		// Late offer: the ACK carries the answer to the offer in our 200.
		if err := c.applyRemote(body); err != nil {
			c.log.Warn("siptest: bad SDP in ACK", "error", err)
		}
	}
	if err := c.ssess.ReadAck(req, tx); err != nil {
		c.log.Debug("siptest: ACK not for the initial INVITE", "error", err)
	}
}

// requestsAutoAnswer reports whether an INVITE asks to be answered at once:
// Call-Info with answer-after=0 (the form Polycom, Yealink, Snom and
// baresip understand).
func requestsAutoAnswer(req *sip.Request) bool {
	for _, h := range req.GetHeaders("Call-Info") {
		if strings.Contains(strings.ReplaceAll(strings.ToLower(h.Value()), " ", ""), "answer-after=0") {
			return true
		}
	}
	return false
}
