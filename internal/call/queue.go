package call

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// Distributor is the ACD as the call layer drives it (internal/acd's
// Engine). With one attached, a call to a queue is answered with music and
// waits there; the ACD chooses agents and the call layer rings them
// (Manager implements acd.Calls).
type Distributor interface {
	Enter(call acd.QueueCall) error
	Abandon(callID string)
	// OfferAnswered asks the ACD to take the answer; false means the offer
	// was withdrawn meanwhile and the agent must be hung up.
	OfferAnswered(callID string, agentExt string) bool
	OfferFailed(callID string, agentExt string, reason string)
	InteractionEnded(callID string)
	CanReceiveTransfer(agentExt string, blind bool) error

	// The caller experience (announce.go, voicemail.go, callback.go).
	WaitInfo(callID string) (acd.WaitInfo, error)
	Leave(callID, why string) error
	KeepAsCallback(callID string) error
	EnterCallback(call acd.QueueCall, attempts int, lastAttempt time.Time) error
	CallbackConnected(callID string)
	CallbackFailed(callID string, counted bool) (attempts int, gaveUp bool, err error)
}

var _ Distributor = (*acd.Engine)(nil)

// SetDistributor attaches the ACD; call before handling traffic.
func (m *Manager) SetDistributor(d Distributor) { m.acd = d }

// ErrAgentUnavailable: a transfer to an agent who may not take it now
// (in wrap-up; a blind transfer needs them Available).
var ErrAgentUnavailable = errors.New("the agent cannot take a transfer now")

// queueState is a call's life in a queue. Guarded by Call.mu.
type queueState struct {
	queue     string
	acdID     string                  // the ACD's ID of the call: the call's own, or the callback's (callback.go)
	entered   time.Time               // when the caller reached the queue: their place
	offers    map[string]*pendingDial // agent extension → ringing offer
	agentLeg  *leg                    // the agent who answered
	endedOnce sync.Once               // InteractionEnded / Abandon told once

	// The caller experience (SPEC Q5, O3).
	settings  experience       // what the queue plays and offers (announce.go)
	announcer *time.Timer      // the next periodic announcement
	playing   *media.Playback  // the announcement playing
	left      leftFor          // the caller chose to leave the queue: no more offers
	vm        *voicemailState  // recording a message (voicemail.go)
	requested *callbackRequest // the callback this caller asked for (callback.go)
	cb        *callbackRequest // this call delivers a callback: agent first, then the customer
	cbDial    context.CancelFunc
	answering int  // agents' answers being put to the ACD: the caller's choices wait
	cbCounted bool // the customer was dialled and not reached: the attempt counts
	cbReached bool // the customer answered
}

// enterQueue runs in the setup goroutine for a call routed to a queue
// while an ACD is attached: the ACD accepts or refuses it; accepted, the
// caller is answered with music and waits for an agent.
func (c *Call) enterQueue(dsess *sipgo.DialogServerSession, codecs []media.Codec) {
	m := c.m
	q := c.route.target
	settings := m.experienceOf(q)
	entered := time.Now()
	c.mu.Lock()
	c.queue = &queueState{queue: q, acdID: c.id, entered: entered, offers: make(map[string]*pendingDial), settings: settings}
	c.mu.Unlock()
	// Answer first: an offer may be made (and answered) as soon as Enter
	// returns, and the caller must already hear music.
	a := c.a
	codecA := codecs[0]
	a.mu.Lock()
	a.codec = codecA
	a.mu.Unlock()
	a.ep.SetRemote(a.remote.Addr, codecA, a.remote.DTMFType)
	_ = c.b.ep.Close() // the prepared callee endpoint is not used: agents get legs of their own
	c.mu.Lock()
	c.b = nil
	a.onHold = true // music while waiting
	c.connected = true
	c.codec = codecA.Name
	c.applyOrLog()
	c.mu.Unlock()

	err := m.acd.Enter(acd.QueueCall{ID: c.id, Queue: q, CallerNumber: c.caller.Number, CallerName: c.caller.Name, Entered: entered})
	if err != nil {
		c.mu.Lock()
		c.connected = false
		c.queue = nil
		c.mu.Unlock()
		var re *acd.RefusedError
		if errors.As(err, &re) && re.Overflow != "" {
			c.log.Info("queue refused the call; overflow", "queue", q, "why", re.Reason, "destination", re.Overflow)
			if r, rerr := m.routeFor(context.Background(), "", re.Overflow); rerr == nil {
				c.mu.Lock()
				c.route = r
				c.mu.Unlock()
				c.retryRing(dsess, r, codecs)
				return
			}
		}
		c.log.Info("queue refused the call", "queue", q, "error", err)
		c.respondCaller(dsess, sip.StatusBusyHere, "Busy Here", q850(17, "USER_BUSY"))
		c.end(endInfo{by: "system", code: sip.StatusBusyHere, disposition: store.DispositionBusy, reason: err.Error()})
		return
	}
	body := a.sdp([]media.Codec{codecA}, a.remote.DTMFType, a.remote.HasDTMF, media.DirectionSendRecv, false)
	res := sip.NewResponseFromRequest(dsess.InviteRequest, sip.StatusOK, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow", m.sip.Allow()))
	c.move(StateQueued, events.CallQueued)
	c.log.Info("call queued", "queue", q, "from", c.caller.Number)
	if err := dsess.WriteResponse(res); err != nil {
		c.log.Info("caller did not take the queue's answer", "error", err)
		c.end(endInfo{by: "caller", code: sip.StatusRequestTerminated, disposition: store.DispositionCancelled, reason: "caller left during answer"})
		return
	}
	c.greet()
}

// retryRing rings another route for a call the queue refused (its
// overflow destination), from the setup goroutine.
func (c *Call) retryRing(dsess *sipgo.DialogServerSession, r route, codecs []media.Codec) {
	ep, err := c.m.media.NewEndpoint()
	if err != nil {
		c.respondCaller(dsess, sip.StatusServiceUnavailable, "Service Unavailable")
		c.end(endInfo{by: "system", code: sip.StatusServiceUnavailable, disposition: store.DispositionFailed, reason: err.Error()})
		return
	}
	b := newLeg(c, roleCallee, ep)
	ep.OnDTMF(c.dtmfHandler(b))
	c.mu.Lock()
	c.b = b
	c.a.onHold = false
	c.mu.Unlock()
	dests := c.m.destinations(r, "")
	offerB := b.sdp(codecs, 101, true, media.DirectionSendRecv, false)
	out := c.ringRound(dsess, dests, offerB, func(*sip.Response) {})
	switch {
	case out.winner != nil:
		c.answer(dsess, out.winner, codecs)
	default:
		c.failSetup(dsess, out.failures, out.ringErr, out.callerCancelled)
	}
}

// Offer implements acd.Calls: ring the agent's devices for the queue call.
func (m *Manager) Offer(callID string, agent acd.Agent, ringFor time.Duration) {
	if m.offerCallback(callID, agent, ringFor) || m.offerConsult(callID, agent, ringFor) {
		return
	}
	c, err := m.Get(callID)
	if err != nil {
		return // the call just ended: its Abandon follows, the agent did nothing wrong
	}
	ext := firstExt(agent)
	c.mu.Lock()
	qs := c.queue
	if qs == nil || c.ended || c.b != nil || qs.offers[ext] != nil || qs.left != stayed {
		c.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &pendingDial{cancel: cancel, target: ext, by: ext}
	qs.offers[ext] = p
	info := c.infoLocked()
	c.mu.Unlock()
	m.publish(events.CallOffered, c, OfferInfo{Call: info, Agent: ext})
	r := route{kind: store.TargetExtension, target: ext, direction: "internal", members: slices.Clone(agent.Extensions)}
	go c.ringOffer(ctx, p, r, ringFor)
}

// OfferInfo is the data of a call_offered event.
type OfferInfo struct {
	Call  Info   `json:"call"`
	Agent string `json:"agent"`
}

func firstExt(a acd.Agent) string {
	if len(a.Extensions) > 0 {
		return a.Extensions[0]
	}
	return ""
}

func (c *Call) ringOffer(ctx context.Context, p *pendingDial, r route, ringFor time.Duration) {
	defer p.cancel()
	m := c.m
	var l *leg
	var err error
	for {
		actx, acancel := context.WithCancel(ctx)
		c.mu.Lock()
		p.attempt = acancel
		c.mu.Unlock()
		l, err = c.dialLeg(actx, dialSpec{route: r, from: c.caller, role: roleCallee, ring: ringFor})
		acancel()
		if errors.Is(err, ErrDialCancelled) && ctx.Err() == nil {
			c.mu.Lock()
			again := p.redial
			p.redial = false
			c.mu.Unlock()
			if again { // answered from the console: ring again, answer-after=0
				r.autoAnswer = true
				continue
			}
		}
		break
	}
	c.mu.Lock()
	qs := c.queue
	mine := qs != nil && qs.offers[p.target] == p
	if mine {
		delete(qs.offers, p.target)
	}
	if err != nil {
		declined := p.declined
		c.mu.Unlock()
		if declined && mine {
			c.log.Info("offer declined from the console", "agent", p.target)
			m.acd.OfferFailed(c.id, p.target, acd.FailBusy)
			return
		}
		if errors.Is(err, ErrDialCancelled) || !mine {
			return // withdrawn by the ACD or the call ended: nothing to report
		}
		reason := offerFailure(err)
		c.log.Info("offer not answered", "agent", p.target, "reason", reason, "error", err)
		m.acd.OfferFailed(c.id, p.target, reason)
		return
	}
	if c.ended || !mine || c.b != nil {
		// Another agent was quicker (ring all), or the caller left.
		c.mu.Unlock()
		c.releaseLeg(l, true)
		if mine {
			m.acd.OfferFailed(c.id, p.target, acd.FailBusy)
		}
		return
	}
	qs.answering++ // the caller's digits wait: the ACD may be giving them an agent
	c.mu.Unlock()
	// The ACD has the last word: the offer may have been withdrawn (the
	// agent paused) just as the phone answered. Asked before connecting,
	// so both layers agree on who has the call.
	taken := m.acd.OfferAnswered(c.id, p.target)
	c.mu.Lock()
	qs.answering--
	if !taken {
		c.mu.Unlock()
		c.log.Info("answer came after the ACD withdrew the offer; hanging up the agent", "agent", p.target)
		c.releaseLeg(l, true)
		return
	}
	if c.ended || c.b != nil {
		// The caller left after the ACD took the answer: its Abandon ends
		// the agent's interaction in the ACD.
		c.mu.Unlock()
		c.releaseLeg(l, true)
		return
	}
	c.b = l
	qs.agentLeg = l
	c.stopAnnouncementsLocked()
	c.answeredAt, c.answeredBy = time.Now(), l.label
	c.a.onHold = false
	c.state = StateAnswered
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("queue call answered", "queue", qs.queue, "agent", l.label)
	m.publish(events.CallAnswered, c, info)
	c.applyRecordPolicy()
}

// awaitAnswerDecisions lets an agent's answer that is being put to the
// ACD settle before the call ends: connected, it is this call's agent
// (CDR answered by them, the ACD told the interaction ended); refused,
// it is hung up. Otherwise a caller hanging up in that instant would be
// "abandoned" in the CDR and "answered" in the ACD. The ACD decides in
// microseconds; the wait is bounded anyway.
func (c *Call) awaitAnswerDecisions() {
	deadline := time.Now().Add(2 * time.Second)
	for {
		c.mu.Lock()
		pending := c.queue != nil && c.queue.answering > 0
		c.mu.Unlock()
		if !pending || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// offerFailure maps why an offer's dial failed to what the ACD does with
// the agent: busy skips them a while, no answer and unreachable are RONA.
func offerFailure(err error) string {
	var de *DialError
	if errors.As(err, &de) {
		switch {
		case de.Code == sip.StatusBusyHere || de.Code == 600:
			return acd.FailBusy
		case de.Reason == "Nobody Registered" || de.Code == sip.StatusNotFound || de.Code == sip.StatusServiceUnavailable:
			return acd.FailUnreachable
		}
	}
	return acd.FailNoAnswer
}

// CancelOffer implements acd.Calls: stop ringing an agent.
func (m *Manager) CancelOffer(callID string, agent acd.Agent) {
	if m.cancelCallbackOffer(callID, agent) || m.cancelConsultOffer(callID, agent) {
		return
	}
	c, err := m.Get(callID)
	if err != nil {
		return
	}
	c.mu.Lock()
	var p *pendingDial
	if c.queue != nil {
		p = c.queue.offers[firstExt(agent)]
		delete(c.queue.offers, firstExt(agent))
	}
	c.mu.Unlock()
	if p != nil {
		p.cancel()
	}
}

// Overflow implements acd.Calls: a waiting call leaves its queue for
// destination, or ends when there is none.
func (m *Manager) Overflow(callID, destination string) {
	if m.dropCallback(callID, "its queue is gone") || m.overflowConsult(callID) {
		return
	}
	c, err := m.Get(callID)
	if err != nil {
		return
	}
	c.mu.Lock()
	qs := c.queue
	if qs == nil || c.ended || c.b != nil || qs.left != stayed {
		c.mu.Unlock()
		return
	}
	c.stopAnnouncementsLocked()
	for ext, p := range qs.offers {
		p.cancel()
		delete(qs.offers, ext)
	}
	c.queue = nil // no longer the ACD's: nothing to report when it ends
	c.mu.Unlock()
	if destination == "" {
		c.log.Info("queue wait over, no overflow destination: ending the call", "queue", qs.queue)
		c.end(endInfo{by: "system", code: 200, disposition: store.DispositionNoAnswer, reason: "queue timeout"})
		return
	}
	r, err := m.routeFor(context.Background(), "", destination)
	if err != nil {
		c.log.Warn("overflow destination does not route; ending the call", "destination", destination, "error", err)
		c.end(endInfo{by: "system", code: 200, disposition: store.DispositionNoAnswer, reason: "queue overflow failed"})
		return
	}
	c.log.Info("queue overflow", "queue", qs.queue, "destination", destination)
	go c.ringOverflow(r, destination)
}

func (c *Call) ringOverflow(r route, destination string) {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.route = r
	c.transfer = &transferState{by: "queue", keep: c.a, slot: roleCallee, target: destination, cancel: cancel}
	ts := c.transfer
	info := c.infoLocked()
	c.mu.Unlock()
	c.m.publish(events.CallRedirected, c, info)
	defer cancel()
	l, err := c.dialLeg(ctx, dialSpec{route: r, from: c.caller, role: roleCallee})
	c.mu.Lock()
	if c.ended || c.transfer != ts {
		c.mu.Unlock()
		c.releaseLeg(l, true)
		return
	}
	c.transfer = nil
	if err != nil {
		c.mu.Unlock()
		c.end(endInfo{by: "system", code: 200, disposition: store.DispositionNoAnswer, reason: "overflow not answered: " + err.Error()})
		return
	}
	c.b = l
	c.answeredAt, c.answeredBy = time.Now(), l.label
	c.a.onHold = false
	c.state = StateAnswered
	c.applyOrLog()
	info = c.infoLocked()
	c.mu.Unlock()
	c.m.publish(events.CallAnswered, c, info)
}

// queueLeftLocked tells the ACD, once, that the queue call is over for
// it: abandoned if no agent answered, else the agent's interaction ended
// (the agent goes to wrap-up). Called when the call ends or the agent
// leaves it (transfer); returns the notification to run unlocked.
func (c *Call) queueLeftLocked() func() {
	qs := c.queue
	if qs == nil || c.m.acd == nil {
		return func() {}
	}
	for _, p := range qs.offers {
		p.cancel()
	}
	if qs.cbDial != nil {
		qs.cbDial()
	}
	c.stopAnnouncementsLocked()
	answered := qs.agentLeg != nil
	id := qs.acdID
	vm, requested, cb := qs.vm, qs.requested, qs.cb
	counted, reached := qs.cbCounted, qs.cbReached
	return func() {
		if vm != nil {
			c.finishMessage(vm, "caller hung up", false)
		}
		if requested != nil {
			requested.callerGone()
		}
		qs.endedOnce.Do(func() {
			switch {
			case cb != nil && answered && !reached:
				c.m.callbackNotReached(c, cb, counted)
			case answered:
				c.m.acd.InteractionEnded(id)
			case cb != nil:
				// Only agents were rung, and nobody answered: their offers
				// were reported one by one.
			default:
				c.m.acd.Abandon(id)
			}
		})
	}
}

// agentLeavesLocked: when the agent who answered a queue call transfers
// it away, their part of the interaction is over (they go to wrap-up)
// although the call goes on.
func (c *Call) agentLeavesLocked(l *leg) func() {
	acdLeft := c.acdLegLeftLocked(l) // an agent who came by a consultation of a queue
	if c.queue == nil || c.queue.agentLeg != l {
		return acdLeft
	}
	notify := c.queueLeftLocked()
	c.queue = nil
	return func() {
		notify()
		acdLeft()
	}
}

// checkTransferTarget refuses a transfer to an agent who may not take it.
func (m *Manager) checkTransferTarget(r route, blind bool) error {
	if m.acd == nil || r.kind != store.TargetExtension {
		return nil
	}
	if err := m.acd.CanReceiveTransfer(r.target, blind); err != nil {
		if errors.Is(err, acd.ErrUnknownAgent) {
			return nil // not an agent: an ordinary extension
		}
		return fmt.Errorf("%w: %s", ErrAgentUnavailable, strings.TrimPrefix(err.Error(), "acd: "))
	}
	return nil
}
