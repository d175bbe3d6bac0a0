package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/dialplan"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webrtc"
)

// q850 gives the Reason header (RFC 3326) for a failure, so a caller can
// tell "no answer" from "nobody registered" although both are 480.
func q850(cause int, text string) sip.Header {
	return sip.NewHeader("Reason", fmt.Sprintf(`Q.850;cause=%d;text="%s"`, cause, text))
}

func (m *Manager) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			// RFC 3261 §14.2: a To tag means a re-INVITE within a dialog.
			if l := m.dialogOf(req); l != nil {
				l.handleReinvite(req, tx)
				return
			}
			m.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
			return
		}
	}
	if req.Contact() == nil || req.CSeq() == nil || req.From() == nil {
		m.respond(tx, req, sip.StatusBadRequest, "Missing Contact, CSeq or From")
		return
	}
	if unsupported := requiredExtensions(req); unsupported != "" {
		// RFC 3261 §8.2.2.3: we implement no option tags (100rel, timer …).
		m.respond(tx, req, sip.StatusBadExtension, "Bad Extension", sip.NewHeader("Unsupported", unsupported))
		return
	}
	if n := m.active.Add(1); m.cfg.MaxCalls > 0 && n > int64(m.cfg.MaxCalls) {
		m.active.Add(-1)
		m.respond(tx, req, sip.StatusServiceUnavailable, "Too Many Calls", sip.NewHeader("Retry-After", "5"))
		return
	}
	ended := false
	defer func() {
		if !ended {
			m.active.Add(-1)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.mu.RLock()
	rt := m.routes
	m.mu.RUnlock()

	dialled := req.Recipient.User
	var caller Party
	var callerExt string
	var r route
	var err error
	credentials := req.GetHeader("Proxy-Authorization") != nil
	toDID := m.isDID(&rt, dialled)
	if trunk := rt.trunkFor(req.Source()); trunk != nil && toDID && !credentials {
		// A carrier delivering one of our DIDs. A phone on the same host
		// as the trunk is still told apart: it authenticates.
		from := req.From()
		caller = Party{Number: from.Address.User, Name: from.DisplayName, Kind: "external"}
		r, err = m.routeInbound(ctx, &rt, dialled)
	} else {
		if toDID && !credentials && trunk == nil {
			// A DID is reached through a trunk; anyone else knocking on it
			// without credentials is refused outright (and not challenged).
			m.log.Warn("invite to a DID from an unknown source refused", "source", req.Source(), "dialled", dialled)
			m.respond(tx, req, sip.StatusForbidden, "Forbidden")
			return
		}
		ext, ok := m.reg.Authenticate(req, tx)
		if !ok {
			return
		}
		caller = Party{Number: ext.Number, Name: ext.DisplayName, Kind: "extension"}
		callerExt = ext.Number
		if target, ok := strings.CutPrefix(dialled, PickupPrefix); ok {
			m.pickupFromPhone(req, tx, ext, target)
			return
		}
		r, err = m.routeFromExtension(ctx, &rt, ext, dialled)
	}
	if err != nil {
		var re *routeError
		if errors.As(err, &re) {
			m.log.Info("call refused", "from", caller.Number, "dialled", dialled, "code", re.code, "why", re.err)
			m.refuse(tx, req, caller, dialled, re)
			return
		}
		m.log.Error("routing failed", "dialled", dialled, "error", err)
		m.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		return
	}

	rtc, ok := m.acceptWebRTC(req, tx)
	if !ok {
		return
	}
	offer, codecs, ok := m.readOffer(req, tx)
	if !ok {
		if rtc != nil {
			rtc.Close()
		}
		return
	}

	c := &Call{id: newID(), m: m, caller: caller, callerExt: callerExt, dialled: dialled, route: r,
		startedAt: time.Now(), state: StateRouting, ringing: make(chan ringControl), callerRTC: rtc}
	c.log = m.log.With("call_id", c.id)
	if r.callerID != "" {
		c.caller.Number = r.callerID
	}
	c.initData(ctx)
	ended = true // from here on the call's end() releases the slot
	c.setup(req, tx, offer, codecs)
}

// readOffer parses an INVITE's SDP offer and the codecs we share with it,
// or answers 488 with a Warning saying why: no offer (delayed offer or
// broken SDP) or no common codec.
func (m *Manager) readOffer(req *sip.Request, tx sip.ServerTransaction) (media.SessionDesc, []media.Codec, bool) {
	offer, err := media.ParseSDP(req.Body())
	if err != nil {
		m.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", sip.NewHeader("Warning", `399 switchboard "SDP offer required"`))
		return offer, nil, false
	}
	codecs, err := media.Negotiate(offer)
	if err != nil {
		m.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", sip.NewHeader("Warning", `304 switchboard "No common codec"`))
		return offer, nil, false
	}
	return offer, codecs, true
}

// requiredExtensions lists the option tags of Require headers, which we
// support none of.
func requiredExtensions(req *sip.Request) string {
	var tags []string
	for _, h := range req.GetHeaders("Require") {
		for _, t := range strings.Split(h.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return strings.Join(tags, ", ")
}

// isDID reports whether dialled, normalised to E.164, is one of our DIDs.
func (m *Manager) isDID(rt *routingTable, dialled string) bool {
	n, err := dialplan.E164(dialled, m.cfg.CountryCode)
	if err != nil {
		return false
	}
	_, ok := rt.dids[n]
	return ok
}

// forkResult is the outcome of one INVITE of a fork.
type forkResult struct {
	dest   destination
	dialog *sipgo.DialogClientSession
	rtc    *webrtc.Session // a browser's media, for the winner to keep
	err    error
}

// setup runs in the INVITE's goroutine: it rings the destinations, picks
// the first to answer and answers the caller, or ends the call with the
// best failure (RFC 3261 §16.7 response selection, simplified).
func (c *Call) setup(req *sip.Request, tx sip.ServerTransaction, offer media.SessionDesc, codecs []media.Codec) {
	m := c.m
	fail := func(code int, reason string, disp store.Disposition, hdrs ...sip.Header) {
		m.respond(tx, req, code, reason, hdrs...)
		c.end(endInfo{by: "system", code: code, disposition: disp, reason: reason})
	}
	if !m.addCall(c) {
		m.active.Add(-1)
		m.respond(tx, req, sip.StatusServiceUnavailable, "Shutting Down")
		return
	}
	m.publish(events.CallCreated, c, c.Info())

	viaACD := c.route.kind == store.TargetQueue && m.acd != nil
	dests := m.destinations(c.route, req.Source())
	if len(dests) == 0 && !viaACD {
		c.log.Info("no registered device", "target", c.route.describe())
		fail(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionUnavailable, q850(20, "SUBSCRIBER_ABSENT"))
		return
	}
	epA, err := m.media.NewEndpoint()
	if err != nil {
		c.log.Error("no media endpoint for caller", "error", err)
		fail(sip.StatusServiceUnavailable, "Service Unavailable", store.DispositionFailed)
		return
	}
	epB, err := m.media.NewEndpoint()
	if err != nil {
		_ = epA.Close()
		c.log.Error("no media endpoint for callee", "error", err)
		fail(sip.StatusServiceUnavailable, "Service Unavailable", store.DispositionFailed)
		return
	}
	a := newLeg(c, roleCaller, epA)
	a.rtc, c.callerRTC = c.callerRTC, nil
	if strings.EqualFold(req.Transport(), "ws") {
		a.wsSource = req.Source()
	}
	a.remote = offer
	a.party, a.ext, a.label = c.caller, c.callerExt, c.callerExt
	if c.callerExt != "" {
		a.party.Number = c.callerExt // the device's own number, not the caller ID presented outside
	}
	b := newLeg(c, roleCallee, epB)
	c.mu.Lock()
	c.a, c.b = a, b
	c.mu.Unlock()

	dsess, err := m.dialogUA(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		fail(sip.StatusBadRequest, "Bad Request", store.DispositionFailed)
		return
	}
	a.server, a.dialogID = dsess, dsess.ID
	m.addDialog(a)
	epA.OnDTMF(c.dtmfHandler(a))
	epB.OnDTMF(c.dtmfHandler(b))

	if viaACD {
		c.enterQueue(dsess, codecs)
		return
	}
	// Offer the callee what the caller can do, with RFC 4733 events.
	const ourDTMF = 101
	offerB := b.sdp(codecs, ourDTMF, true, media.DirectionSendRecv, false)
	var provisional, earlyMedia sync.Once
	onResponse := func(res *sip.Response) {
		switch {
		case res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress:
			if res.StatusCode == sip.StatusSessionInProgress && len(res.Body()) > 0 {
				earlyMedia.Do(func() { c.earlyMedia(dsess, res, codecs) })
			}
			provisional.Do(func() {
				if c.move(StateRinging, events.CallRinging) && res.StatusCode == sip.StatusRinging {
					if err := dsess.Respond(sip.StatusRinging, "Ringing", nil); err != nil {
						c.log.Debug("180 to caller failed", "error", err)
					}
				}
			})
		}
	}
	for {
		out := c.ringRound(dsess, dests, offerB, onResponse)
		switch {
		case out.redirect != nil:
			c.mu.Lock()
			c.route = *out.redirect
			info := c.infoLocked()
			c.mu.Unlock()
			c.log.Info("ringing call redirected", "target", out.redirect.describe())
			m.publish(events.CallRedirected, c, info)
			if dests = m.destinations(*out.redirect, ""); len(dests) == 0 {
				c.respondCaller(dsess, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", q850(20, "SUBSCRIBER_ABSENT"))
				c.end(endInfo{by: "system", code: sip.StatusTemporarilyUnavailable, disposition: store.DispositionUnavailable, reason: "redirect target unavailable"})
				return
			}
		case out.pick != nil:
			c.answerPickup(dsess, out.pick, codecs)
			return
		case out.winner != nil:
			c.answer(dsess, out.winner, codecs)
			return
		default:
			c.failSetup(dsess, out.failures, out.ringErr, out.callerCancelled)
			return
		}
	}
}

// ringControl changes a ringing call from outside its setup goroutine:
// redirect it (blind transfer before answer, pickup from the console) or
// hand it a picked-up leg (a phone dialled the pickup code).
type ringControl struct {
	redirect *route
	pick     *pickup
}

// roundOutcome is how one round of ringing ended.
type roundOutcome struct {
	winner          *forkResult
	failures        []forkResult
	ringErr         error
	callerCancelled bool
	redirect        *route
	pick            *pickup
}

// ringRound rings dests until one answers, all fail, the ring time is
// over, the caller gives up, or the call is redirected or picked up.
func (c *Call) ringRound(dsess *sipgo.DialogServerSession, dests []destination, offerB []byte, onResponse func(*sip.Response)) roundOutcome {
	ringCtx, cancelRing := context.WithTimeout(context.Background(), c.m.cfg.RingTimeout)
	defer cancelRing()
	c.mu.Lock()
	c.cancelRing = cancelRing
	c.mu.Unlock()

	results := make(chan forkResult, len(dests))
	forkCtx := make([]context.CancelFunc, len(dests))
	for i, d := range dests {
		fctx, fcancel := context.WithCancel(ringCtx)
		forkCtx[i] = fcancel
		go c.fork(fctx, d, c.caller, offerB, results, onResponse)
	}
	var out roundOutcome
	callerGone := dsess.Context().Done()
	pending := len(dests)
	for pending > 0 && out.winner == nil && out.redirect == nil && out.pick == nil {
		select {
		case r := <-results:
			pending--
			if r.err == nil {
				out.winner = &r
			} else {
				out.failures = append(out.failures, r)
			}
		case <-callerGone:
			callerGone = nil
			out.callerCancelled = true
			cancelRing() // CANCEL every fork (RFC 3261 §9.1)
		case rc := <-c.ringing:
			if out.callerCancelled {
				if rc.pick != nil {
					rc.pick.done <- ErrNotRinging
				}
				continue
			}
			out.redirect, out.pick = rc.redirect, rc.pick
		}
	}
	// Stop the other forks; a late 2xx among them is ACKed and BYEd.
	for _, fc := range forkCtx {
		fc()
	}
	if pending > 0 {
		go c.drainForks(results, pending)
	}
	out.ringErr = ringCtx.Err()
	return out
}

// hangUpStray ACKs and BYEs a dialog that answered after it was cancelled.
func (c *Call) hangUpStray(dlg *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if err := dlg.Ack(ctx); err != nil {
		c.log.Debug("ack to a late answer failed", "error", err)
		return
	}
	if err := dlg.Bye(ctx); err != nil {
		c.log.Debug("bye to a late answer failed", "error", err)
	}
}

// drainForks collects the forks still running after the fork was decided:
// a 2xx that raced the winner is acknowledged and hung up.
func (c *Call) drainForks(results <-chan forkResult, left int) {
	for ; left > 0; left-- {
		r := <-results
		if r.rtc != nil {
			r.rtc.Close()
		}
		if r.err == nil {
			r.dialog.Ack(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = r.dialog.Bye(ctx)
			cancel()
		}
	}
}

// fork sends one INVITE and reports its final outcome.
func (c *Call) fork(ctx context.Context, d destination, from Party, sdp []byte, results chan<- forkResult, onResponse func(*sip.Response)) {
	m := c.m
	req := sip.NewRequest(sip.INVITE, d.uri)
	req.SetTransport(strings.ToUpper(d.transport))
	req.SetDestination(d.addr)
	fromHdr := &sip.FromHeader{DisplayName: from.Name,
		Address: sip.Uri{Scheme: "sip", User: from.Number, Host: m.sip.Host()}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fromHdr)
	toUser := d.uri.User
	if d.trunk == nil {
		toUser = d.label
	}
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: toUser, Host: d.uri.Host, Port: d.uri.Port}})
	contact := m.sip.Contact(d.transport)
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sip.NewHeader("Allow", m.sip.Allow()))
	if d.autoAnswer {
		req.AppendHeader(sip.NewHeader("Call-Info", "<sip:"+m.sip.Host()+">;answer-after=0"))
	}
	rtc, sdp, err := m.offerWebRTC(ctx, d, sdp)
	if err != nil {
		results <- forkResult{dest: d, err: fmt.Errorf("invite %s: %w", d.label, err)}
		return
	}
	req.SetBody(sdp)
	if rtc != nil {
		inner := onResponse
		onResponse = func(res *sip.Response) {
			plainResponse(rtc, res)
			inner(res)
		}
	}

	dlg, err := m.dialogUA(d.transport).WriteInvite(ctx, req)
	if err != nil {
		if rtc != nil {
			rtc.Close()
		}
		results <- forkResult{dest: d, err: fmt.Errorf("invite %s: %w", d.label, err)}
		return
	}
	if err := dlg.WaitAnswer(ctx, answerOptions(d, onResponse)); err != nil {
		if rtc != nil {
			rtc.Close()
		}
		if res := dlg.InviteResponse; res != nil && res.IsSuccess() {
			// A 2xx crossed our CANCEL (RFC 3261 §15): the callee is in a
			// call nobody wants; confirm the dialog, then end it.
			go c.hangUpStray(dlg)
		}
		results <- forkResult{dest: d, dialog: dlg, err: err}
		return
	}
	if rtc != nil && dlg.InviteResponse != nil {
		plainResponse(rtc, dlg.InviteResponse)
	}
	results <- forkResult{dest: d, dialog: dlg, rtc: rtc}
}

// earlyMedia relays the callee's 183 audio (announcements, ringback) to
// the caller before the answer.
func (c *Call) earlyMedia(dsess *sipgo.DialogServerSession, res *sip.Response, codecs []media.Codec) {
	sd, err := media.ParseSDP(res.Body())
	if err != nil || len(sd.Codecs) == 0 {
		return
	}
	codecA, err := c.applyCalleeSDP(sd, codecs)
	if err != nil {
		c.log.Error("early media bridge failed", "error", err)
		return
	}
	a := c.a
	body := a.sdp([]media.Codec{codecA}, a.remote.DTMFType, a.remote.HasDTMF, media.DirectionSendRecv, false)
	r := sip.NewResponseFromRequest(dsess.InviteRequest, sip.StatusSessionInProgress, "Session Progress", body)
	r.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if err := dsess.WriteResponse(r); err != nil {
		c.log.Debug("183 to caller failed", "error", err)
	}
}

// applyCalleeSDP points both legs' media at what the callee's SDP (183 or
// 200) says, picks the caller's codec and bridges them; it returns the
// codec to answer the caller with.
func (c *Call) applyCalleeSDP(sd media.SessionDesc, callerCodecs []media.Codec) (media.Codec, error) {
	a, b := c.a, c.b
	codecA := pickCodec(sd.Codecs[0], callerCodecs)
	b.mu.Lock()
	b.codec, b.remote = sd.Codecs[0], sd
	b.mu.Unlock()
	b.ep.SetRemote(sd.Addr, sd.Codecs[0], sd.DTMFType)
	a.mu.Lock()
	a.codec = codecA
	a.mu.Unlock()
	a.ep.SetRemote(a.remote.Addr, codecA, a.remote.DTMFType)
	c.mu.Lock()
	defer c.mu.Unlock()
	return codecA, c.applyMediaLocked()
}

// pickCodec answers the caller with the callee's codec when the caller
// offered it, so the relay needs no transcoding; otherwise the caller's first.
func pickCodec(callee media.Codec, callerCodecs []media.Codec) media.Codec {
	for _, k := range callerCodecs {
		if k.Name == callee.Name {
			return k
		}
	}
	return callerCodecs[0]
}

func (c *Call) answer(dsess *sipgo.DialogServerSession, w *forkResult, codecs []media.Codec) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.dialog.Ack(ctx); err != nil {
		c.log.Warn("ack to callee failed", "error", err)
	}
	b := c.b
	b.client, b.dialogID, b.label = w.dialog, w.dialog.ID, w.dest.label
	b.rtc, b.wsSource = w.rtc, w.dest.wsSource()
	c.mu.Lock()
	r := c.route
	c.mu.Unlock()
	b.party = c.m.answeringParty(ctx, r, w.dest)
	if w.dest.trunk == nil {
		b.ext = w.dest.label
	}
	c.m.addDialog(b)

	sd, err := media.ParseSDP(w.dialog.InviteResponse.Body())
	if err == nil && len(sd.Codecs) == 0 {
		err = media.ErrNoCommonCodec
	}
	if err != nil {
		c.log.Warn("callee answered with unusable SDP; hanging up", "callee", w.dest.label, "error", err)
		b.bye()
		c.respondCaller(dsess, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		c.end(endInfo{by: "system", code: sip.StatusNotAcceptableHere, disposition: store.DispositionFailed, reason: "callee SDP unusable"})
		return
	}
	codecA, err := c.applyCalleeSDP(sd, codecs)
	if err != nil {
		c.log.Error("bridge failed", "error", err)
		b.bye()
		c.respondCaller(dsess, sip.StatusServiceUnavailable, "Service Unavailable")
		c.end(endInfo{by: "system", code: sip.StatusServiceUnavailable, disposition: store.DispositionFailed, reason: err.Error()})
		return
	}
	c.answerCaller(dsess, codecA, w.dest.label)
}

// answerCaller sends the 2xx to the caller once the callee's leg is up
// and the media is connected.
func (c *Call) answerCaller(dsess *sipgo.DialogServerSession, codecA media.Codec, answeredBy string) {
	a := c.a
	body := a.sdp([]media.Codec{codecA}, a.remote.DTMFType, a.remote.HasDTMF, media.DirectionSendRecv, false)
	res := sip.NewResponseFromRequest(dsess.InviteRequest, sip.StatusOK, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow", c.m.sip.Allow()))

	c.mu.Lock()
	c.answeredAt, c.answeredBy, c.codec, c.connected = time.Now(), answeredBy, codecA.Name, true
	c.mu.Unlock()
	c.move(StateAnswered, events.CallAnswered)
	c.log.Info("call answered", "from", c.caller.Number, "to", c.dialled, "answered_by", answeredBy, "codec", codecA.Name)
	// WriteResponse retransmits the 2xx until the ACK (RFC 3261 §13.3.1.4).
	if err := dsess.WriteResponse(res); err != nil {
		c.log.Info("caller did not take the answer", "error", err)
		c.end(endInfo{by: "caller", code: sip.StatusRequestTerminated, disposition: store.DispositionCancelled, reason: "caller left during answer"})
		return
	}
	c.applyRecordPolicy()
}

// respondCaller sends a final non-2xx to the caller's INVITE.
func (c *Call) respondCaller(dsess *sipgo.DialogServerSession, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(dsess.InviteRequest, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := dsess.WriteResponse(res); err != nil {
		c.log.Debug("final response to caller failed", "code", code, "error", err)
	}
}

// cancelSetup stops ringing (API hangup or shutdown before answer).
func (c *Call) cancelSetup() {
	c.mu.Lock()
	cancel := c.cancelRing
	c.mu.Unlock()
	if cancel != nil {
		c.mu.Lock()
		c.cancelledBySystem = true
		c.mu.Unlock()
		cancel()
	}
}

// failSetup answers the caller with the best failure of the fork.
func (c *Call) failSetup(dsess *sipgo.DialogServerSession, failures []forkResult, ringErr error, callerCancelled bool) {
	if callerCancelled {
		// The transaction layer already answered the CANCEL and sent 487.
		c.end(endInfo{by: "caller", code: sip.StatusRequestTerminated, disposition: store.DispositionCancelled, reason: "Request Terminated"})
		return
	}
	c.mu.Lock()
	bySystem, declined := c.cancelledBySystem, c.declined
	c.mu.Unlock()
	if declined {
		c.respondCaller(dsess, sip.StatusBusyHere, "Busy Here", q850(17, "USER_BUSY"))
		c.end(endInfo{by: "callee", code: sip.StatusBusyHere, disposition: store.DispositionBusy, reason: "declined"})
		return
	}
	if bySystem {
		c.respondCaller(dsess, sip.StatusRequestTerminated, "Request Terminated", q850(16, "NORMAL_CLEARING"))
		c.end(endInfo{by: "system", code: sip.StatusRequestTerminated, disposition: store.DispositionCancelled, reason: "hung up by the system"})
		return
	}
	if errors.Is(ringErr, context.DeadlineExceeded) {
		c.log.Info("no answer", "ring_timeout", c.m.cfg.RingTimeout.String())
		c.respondCaller(dsess, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", q850(19, "NO_ANSWER"))
		c.end(endInfo{by: "system", code: sip.StatusTemporarilyUnavailable, disposition: store.DispositionNoAnswer, reason: "No Answer"})
		return
	}
	code, reason := bestFailure(failures)
	disp, cause, text := classify(code)
	c.log.Info("call failed", "code", code, "reason", reason, "disposition", string(disp))
	c.respondCaller(dsess, code, reason, q850(cause, text))
	c.end(endInfo{by: "callee", code: code, disposition: disp, reason: reason})
}

// bestFailure picks the response to give the caller: a 6xx wins, then busy,
// then the lowest class (RFC 3261 §16.7 step 6, simplified). Forks that got
// no response at all count as 480.
func bestFailure(failures []forkResult) (int, string) {
	best, reason, first := 0, "", true
	rank := func(code int) int {
		switch {
		case code >= 600:
			return 0
		case code == sip.StatusBusyHere:
			return 1
		case code == 0:
			return 9
		default:
			return 2 + code/100
		}
	}
	for _, f := range failures {
		code, why := 0, ""
		var de *sipgo.ErrDialogResponse
		if errors.As(f.err, &de) {
			code, why = de.Res.StatusCode, de.Res.Reason
		}
		if first || rank(code) < rank(best) {
			best, reason, first = code, why, false
		}
	}
	if best == 0 || best == sip.StatusRequestTerminated {
		return sip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
	}
	return best, reason
}

// classify maps a final failure code to the CDR disposition and the Q.850
// cause of RFC 3398 §7.2.4.1.
func classify(code int) (store.Disposition, int, string) {
	switch code {
	case sip.StatusBusyHere, 600:
		return store.DispositionBusy, 17, "USER_BUSY"
	case sip.StatusTemporarilyUnavailable, sip.StatusNotFound, 410, sip.StatusServiceUnavailable, sip.StatusRequestTimeout:
		return store.DispositionUnavailable, 20, "SUBSCRIBER_ABSENT"
	default: // 603 Decline, 403, 488 and the rest
		return store.DispositionRejected, 21, "CALL_REJECTED"
	}
}

// dtmfHandler publishes a telephone event from one leg's media. The leg
// may have moved to another call since, hence l.call().
func (c *Call) dtmfHandler(l *leg) media.DTMFHandler {
	return func(digit byte, durationMS int) {
		owner := l.call()
		owner.mu.Lock() // the role is the call's to change (transfer, conference)
		r := l.role
		owner.mu.Unlock()
		owner.m.publish(events.DTMFReceived, owner, DTMF{CallID: owner.id, Party: string(r), PartyID: l.id, Digit: string(digit), DurationMS: durationMS})
		owner.queueDigit(l, digit) // a waiting caller's choice (announce.go)
	}
}

// DTMF is the data of a dtmf_received event.
type DTMF struct {
	CallID     string `json:"call_id"`
	Party      string `json:"party"` // caller | callee | consult | member | monitor
	PartyID    string `json:"party_id"`
	Digit      string `json:"digit"`
	DurationMS int    `json:"duration_ms"`
}
