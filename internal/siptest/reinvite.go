package siptest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Hold puts the call on hold from our side: a re-INVITE offering
// a=sendonly (RFC 3264 §8.4). We keep sending (the far end hears our tone,
// as it would hear music on hold) while the far end, answering recvonly,
// stops sending to us.
func (c *Call) Hold(ctx context.Context) error { return c.reinvite(ctx, true) }

// Resume takes the call off hold: a re-INVITE offering a=sendrecv.
func (c *Call) Resume(ctx context.Context) error { return c.reinvite(ctx, false) }

// Reinvite sends a re-INVITE with our current SDP (a session refresh or a
// way to make the far end re-send its media description).
func (c *Call) Reinvite(ctx context.Context) error {
	c.mu.Lock()
	hold := c.localHold
	c.mu.Unlock()
	return c.reinvite(ctx, hold)
}

// reinvite runs one offer/answer exchange in the dialog. sipgo has no
// re-INVITE helper, so the request is built here and sent through the
// dialog session, which fills From/To/Call-ID, the next CSeq and the route
// set (RFC 3261 §14.1).
func (c *Call) reinvite(ctx context.Context, hold bool) error {
	c.mu.Lock()
	c.waitAckPending(ctx.Done())
	if c.state != stateActive {
		c.mu.Unlock()
		return errors.New("siptest: re-INVITE: call is not established")
	}
	if c.reinviting {
		c.mu.Unlock()
		return errors.New("siptest: re-INVITE: another offer/answer exchange is in progress")
	}
	c.reinviting = true
	prevHold, prevLocal := c.localHold, c.localSDP
	c.localHold = hold
	offer, _ := c.makeSDP(nil)
	body := c.setLocal(offer)
	c.mu.Unlock()

	ok := false
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.reinviting = false
		if !ok && prevLocal != nil {
			// A failed re-INVITE leaves the session as it was (RFC 3261
			// §14.1); keep the version number moving forward though.
			restored := *prevLocal
			restored.Version = offer.Version
			c.localHold, c.localSDP = prevHold, &restored
			c.updateMedia()
		}
	}()

	req := sip.NewRequest(sip.INVITE, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Allow", allowHeader))
	req.AppendHeader(sip.NewHeader("User-Agent", userAgent))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	c.p.setLaddr(req)
	tx, err := c.dialogTx(ctx, req, nil)
	if err != nil {
		return fmt.Errorf("siptest: re-INVITE: %w", err)
	}
	defer tx.Terminate()

	var res *sip.Response
	for res == nil {
		select {
		case r := <-tx.Responses():
			if !r.IsProvisional() {
				res = r
			}
		case <-tx.Done():
			return fmt.Errorf("siptest: re-INVITE: transaction ended: %w", tx.Err())
		case <-ctx.Done():
			return fmt.Errorf("siptest: re-INVITE: %w", ctx.Err())
		case <-c.done:
			return ErrCallEnded
		}
	}
	if !res.IsSuccess() {
		// 491 means glare (RFC 3261 §14.1): the caller may retry later.
		return fmt.Errorf("siptest: re-INVITE: %w", &StatusError{Code: res.StatusCode, Reason: res.Reason})
	}
	ok = true

	// RFC 3261 §13.2.2.4: a 2xx to INVITE is ACKed end to end, outside the
	// transaction, with the INVITE's CSeq number.
	if err := c.writeAck(req); err != nil {
		return fmt.Errorf("siptest: ACK re-INVITE: %w", err)
	}
	if len(res.Body()) == 0 {
		return errors.New("siptest: re-INVITE: 200 without SDP answer")
	}
	if err := c.applyRemote(res.Body()); err != nil {
		return fmt.Errorf("siptest: re-INVITE answer: %w", err)
	}
	return nil
}

// onReinvite answers a re-INVITE from the far end (e.g. Switchboard
// re-anchoring media or putting us on hold): 200 with our answer, new
// remote RTP address, then wait for the ACK.
func (c *Call) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	seq := req.CSeq().SeqNo
	c.mu.Lock()
	if c.state == stateAnswering {
		// The peer sends a re-INVITE only after ACKing our 200, so the
		// ACK is in flight or being processed: wait for it rather than
		// bounce the request.
		c.mu.Unlock()
		select {
		case <-c.answered:
		case <-c.done:
		case <-time.After(2 * time.Second):
		}
		c.mu.Lock()
	}
	c.waitAckPending(nil)
	switch {
	case c.state != stateActive:
		c.mu.Unlock()
		// RFC 3261 §14.2: a re-INVITE while the initial INVITE is still
		// pending gets 500 with Retry-After.
		c.p.respond(tx, req, 500, sip.NewHeader("Retry-After", "1"))
		return
	case c.reinviting:
		c.mu.Unlock()
		c.p.respond(tx, req, 491) // glare, RFC 3261 §14.2
		return
	}
	var (
		offer, local *SDP
		err          error
	)
	if len(req.Body()) > 0 {
		offer, err = ParseSDP(req.Body())
		if err == nil {
			local, err = c.makeSDP(offer)
		}
	} else {
		// Offerless re-INVITE: our 200 makes the offer, the ACK answers.
		local, err = c.makeSDP(nil)
	}
	if err != nil {
		c.mu.Unlock()
		// The old session stays in place (RFC 3264 §6: rejecting an offer).
		c.p.respond(tx, req, 488, sip.NewHeader("Warning", `399 siptest "`+err.Error()+`"`))
		return
	}
	if offer != nil {
		c.remoteSDP = offer
	}
	body := c.setLocal(local)
	c.reinviting = true
	ackCh := make(chan *sip.Request, 1)
	c.ackWaiters[seq] = ackCh
	acked := make(chan struct{})
	c.ackPending = acked
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reinviting = false
		delete(c.ackWaiters, seq)
		if c.ackPending == acked {
			c.ackPending = nil
		}
		c.mu.Unlock()
		close(acked)
	}()

	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(c.p.contact.Clone())
	if err := tx.Respond(res); err != nil {
		c.log.Debug("siptest: 200 to re-INVITE failed", "error", err)
		return
	}
	// RFC 3261 §13.3.1.4: the UAS core retransmits a 2xx, T1 doubling up
	// to T2, until the ACK arrives; after 64*T1 it gives up.
	interval := sip.T1
	retx := time.NewTimer(interval)
	defer retx.Stop()
	giveUp := time.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	for {
		select {
		case ack := <-ackCh:
			if body := ack.Body(); len(body) > 0 {
				if err := c.applyRemote(body); err != nil {
					c.log.Warn("siptest: bad SDP in ACK", "error", err)
				}
			}
			return
		case <-retx.C:
			if err := tx.Respond(res); err != nil {
				return
			}
			interval = min(2*interval, sip.T2)
			retx.Reset(interval)
		case <-giveUp.C:
			c.log.Warn("siptest: no ACK for 200 to re-INVITE")
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// waitAckPending waits, c.mu held (it is released meanwhile), while the
// ACK for our 2xx to the peer's last re-INVITE is still due. The exchange
// is complete once the 2xx is sent, and the peer ACKs before it sends
// anything new: a re-INVITE right after its ACK (hold, then resume) would
// otherwise find us "in progress" and get 491. Bounded by stop, the call's
// end and 2 s, after which the caller's own checks apply.
func (c *Call) waitAckPending(stop <-chan struct{}) {
	ch := c.ackPending
	if ch == nil {
		return
	}
	c.mu.Unlock()
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-ch:
	case <-stop:
	case <-c.done:
	case <-t.C:
	}
	c.mu.Lock()
}
