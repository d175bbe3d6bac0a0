package call

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// PickupPrefix is the feature code of directed pickup (SPEC T5): a phone
// dialling **1002 takes the call ringing at extension 1002.
const PickupPrefix = "**"

// pickup is a phone's INVITE that takes over a ringing call.
type pickup struct {
	req    *sip.Request
	tx     sip.ServerTransaction
	ext    store.Extension // the picker
	offer  media.SessionDesc
	codecs []media.Codec
	done   chan error // nil once the picker's 2xx went out
}

// RingingAt returns the oldest call still ringing at extension ext (not
// answered, ext among the destinations).
func (m *Manager) RingingAt(ext string) (*Call, error) {
	m.mu.RLock()
	var best *Call
	for _, c := range m.calls {
		c.mu.Lock()
		ok := !c.connected && !c.ended && slices.Contains(c.route.members, ext)
		c.mu.Unlock()
		if ok && (best == nil || c.startedAt.Before(best.startedAt)) {
			best = c
		}
	}
	m.mu.RUnlock()
	if best == nil {
		return nil, fmt.Errorf("pickup at %s: %w", ext, ErrNotRinging)
	}
	return best, nil
}

// sendRingControl hands rc to the call's setup goroutine; it fails when the
// call is no longer ringing.
func (c *Call) sendRingControl(rc ringControl) error {
	c.mu.Lock()
	ringing := !c.connected && !c.ended
	c.mu.Unlock()
	if !ringing {
		return ErrNotRinging
	}
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case c.ringing <- rc:
		return nil
	case <-t.C:
		return ErrNotRinging
	}
}

// Redirect sends a ringing call to another target: the destinations
// ringing now are cancelled and the new ones rung (a blind transfer before
// answer, or a pickup from the console to the user's own extension).
// actorExt's profile applies to the target.
func (c *Call) Redirect(ctx context.Context, actorExt, target string) error {
	r, err := c.m.routeFor(ctx, actorExt, target)
	if err != nil {
		return fmt.Errorf("redirect %s to %s: %w", c.id, target, err)
	}
	if err := c.sendRingControl(ringControl{redirect: &r}); err != nil {
		return fmt.Errorf("redirect %s: %w", c.id, err)
	}
	c.enterFlow(ctx, r)
	return nil
}

// AnswerAt answers a call ringing at one of exts from the console: the
// ringing stops and the call rings again at that extension's devices with
// Call-Info answer-after=0, which desk phones and softphones answer by
// themselves. A phone that ignores it just rings again.
func (c *Call) AnswerAt(exts []string) error {
	c.mu.Lock()
	if qs := c.queue; qs != nil && c.b == nil {
		// A queue call offered to the user: ring that offer again.
		for _, e := range exts {
			if p := qs.offers[e]; p != nil && p.attempt != nil {
				p.redial = true
				attempt := p.attempt
				c.mu.Unlock()
				attempt()
				return nil
			}
		}
		c.mu.Unlock()
		return fmt.Errorf("answer %s: %w", c.id, ErrNotRinging)
	}
	ext := ""
	for _, e := range exts {
		if slices.Contains(c.route.members, e) {
			ext = e
			break
		}
	}
	c.mu.Unlock()
	if ext == "" {
		return fmt.Errorf("answer %s: %w", c.id, ErrNotOnCall)
	}
	r := extensionRoute(ext)
	r.autoAnswer = true
	if err := c.sendRingControl(ringControl{redirect: &r}); err != nil {
		return fmt.Errorf("answer %s: %w", c.id, err)
	}
	return nil
}

// PickupTo takes a call ringing elsewhere to extension ext (the console's
// pickup): the call rings at ext only.
func (c *Call) PickupTo(ext string) error {
	r := extensionRoute(ext)
	if err := c.sendRingControl(ringControl{redirect: &r}); err != nil {
		return fmt.Errorf("pickup %s: %w", c.id, err)
	}
	c.m.publish(events.CallPickedUp, c, c.Info())
	return nil
}

// pickupFromPhone handles an INVITE to **<ext>: the picker's own INVITE
// becomes the answering leg of the call ringing at ext.
func (m *Manager) pickupFromPhone(req *sip.Request, tx sip.ServerTransaction, ext store.Extension, target string) {
	offer, codecs, ok := m.readOffer(req, tx)
	if !ok {
		return
	}
	c, err := m.RingingAt(target)
	if err != nil {
		m.log.Info("pickup refused: nothing ringing", "picker", ext.Number, "at", target)
		m.respond(tx, req, sip.StatusNotFound, "Not Found", sip.NewHeader("Warning", `399 switchboard "no call ringing at `+target+`"`))
		return
	}
	p := &pickup{req: req, tx: tx, ext: ext, offer: offer, codecs: codecs, done: make(chan error, 1)}
	if err := c.sendRingControl(ringControl{pick: p}); err != nil {
		m.respond(tx, req, sip.StatusNotFound, "Not Found", sip.NewHeader("Warning", `399 switchboard "the call is no longer ringing"`))
		return
	}
	select {
	case err := <-p.done:
		if err != nil {
			m.log.Info("pickup failed", "picker", ext.Number, "call_id", c.id, "error", err)
		}
	case <-time.After(40 * time.Second):
	}
}

// answerPickup runs in the setup goroutine: the forks are cancelled; the
// picker's INVITE is answered on the prepared callee leg, then the caller.
func (c *Call) answerPickup(dsess *sipgo.DialogServerSession, p *pickup, codecs []media.Codec) {
	m := c.m
	b := c.b
	pd, err := m.dialogUA(p.req.Transport()).ReadInvite(p.req, p.tx)
	if err != nil {
		p.done <- err
		c.respondCaller(dsess, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		c.end(endInfo{by: "system", code: sip.StatusTemporarilyUnavailable, disposition: store.DispositionFailed, reason: "pickup failed"})
		return
	}
	codecB := pickCodec(codecs[0], p.codecs)
	b.server, b.dialogID, b.label, b.ext = pd, pd.ID, p.ext.Number, p.ext.Number
	b.party = Party{Number: p.ext.Number, Name: p.ext.DisplayName, Kind: "extension"}
	b.mu.Lock()
	b.codec, b.remote = codecB, p.offer
	b.mu.Unlock()
	b.ep.SetRemote(p.offer.Addr, codecB, p.offer.DTMFType)
	m.addDialog(b)

	codecA := pickCodec(codecB, codecs)
	a := c.a
	a.mu.Lock()
	a.codec = codecA
	a.mu.Unlock()
	a.ep.SetRemote(a.remote.Addr, codecA, a.remote.DTMFType)
	c.mu.Lock()
	c.route = extensionRoute(p.ext.Number)
	c.route.direction = "internal"
	err = c.applyMediaLocked()
	c.mu.Unlock()
	if err != nil {
		p.done <- err
		_ = pd.Respond(sip.StatusServiceUnavailable, "Service Unavailable", nil)
		c.respondCaller(dsess, sip.StatusServiceUnavailable, "Service Unavailable")
		c.end(endInfo{by: "system", code: sip.StatusServiceUnavailable, disposition: store.DispositionFailed, reason: err.Error()})
		return
	}
	body := b.sdp([]media.Codec{codecB}, p.offer.DTMFType, p.offer.HasDTMF, media.DirectionSendRecv, false)
	res := sip.NewResponseFromRequest(pd.InviteRequest, sip.StatusOK, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow", m.sip.Allow()))
	ackDone := make(chan error, 1)
	go func() { ackDone <- pd.WriteResponse(res) }()
	c.log.Info("call picked up", "picker", p.ext.Number)
	m.publish(events.CallPickedUp, c, c.Info())
	c.answerCaller(dsess, codecA, p.ext.Number)
	err = <-ackDone
	p.done <- err
	if err != nil {
		c.log.Info("picker did not take the answer", "error", err)
		c.hangupFrom(b)
	}
}
