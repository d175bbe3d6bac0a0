package call

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/prompts"
	"github.com/switchboard/switchboard/internal/store"
)

// Courtesy callbacks (SPEC O3). A waiting caller who presses 2 is thanked
// and hung up, but keeps their place: the ACD keeps the entry
// (Engine.KeepAsCallback) under the ID of the call that asked. When the
// ACD offers it to an agent, the agent's phone rings first, showing the
// customer's number and "Callback"; the call that does this is a new Call
// (the delivery, target the queue). If no agent of the round answers, it
// ends (a no-answer CDR) and the next offer makes another. Once an agent
// answers, the agent hears music while the
// customer's original number is dialled the way the agent would dial it
// (their profile, the outbound trunk for external numbers, the number
// the customer called as caller ID). Customer answers: they talk, and the
// interaction ends as any queue call's. Customer busy or not answering:
// the agent is hung up and the callback goes back to its place, retried
// later; after three attempts it is given up (acd.Config).
//
// Requests are stored (store.Callback), so the waiting ones are put back
// in their queues after a restart (RestoreCallbacks).

// callbackRequest is a callback the ACD holds, as the call layer knows it.
// Its fields are fixed, except under callbackSet.mu: cur.
type callbackRequest struct {
	id        string // the ACD's call ID: the call that asked
	queue     string
	number    string // dialled back
	name      string
	did       string // the number the customer called, shown through a trunk
	requested time.Time

	callerDone chan struct{} // closed when the call that asked has ended
	doneOnce   sync.Once

	cur      *Call // delivering it now (agents ringing, or dialling the customer); nil between attempts
	attempts int   // the customer was dialled and not reached
}

// callerGone notes that the call that asked is over: the customer's phone
// is free to be called.
func (r *callbackRequest) callerGone() { r.doneOnce.Do(func() { close(r.callerDone) }) }

// attemptsSoFar reads r.attempts.
func (r *callbackRequest) attemptsSoFar(m *Manager) int {
	m.callbacks.mu.Lock()
	defer m.callbacks.mu.Unlock()
	return r.attempts
}

// callbackSet is the manager's callbacks by ACD call ID. Lock order:
// callbackSet.mu before Call.mu.
type callbackSet struct {
	mu   sync.Mutex
	reqs map[string]*callbackRequest
}

func (s *callbackSet) get(id string) *callbackRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[id]
}

func (s *callbackSet) put(r *callbackRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reqs == nil {
		s.reqs = make(map[string]*callbackRequest)
	}
	s.reqs[r.id] = r
}

func (s *callbackSet) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.reqs, id)
}

// callbackStore is the store's share in callbacks (store.Store has it).
type callbackStore interface {
	InsertCallback(ctx context.Context, c store.Callback) error
	UpdateCallback(ctx context.Context, id string, attempts int, status, reason string, at time.Time) error
	Callbacks(ctx context.Context, f store.CallbackFilter) ([]store.Callback, error)
}

// callbackNumber is the number a caller is called back on: their
// extension for an internal caller, else the caller ID they came with.
func (c *Call) callbackNumber() string {
	if c.callerExt != "" {
		return c.callerExt
	}
	return c.caller.Number
}

// requestCallback runs in its own goroutine once the caller pressed 2.
func (c *Call) requestCallback(qs *queueState) {
	m := c.m
	c.mu.Lock()
	req := &callbackRequest{id: qs.acdID, queue: qs.queue, number: c.callbackNumber(), name: c.caller.Name,
		did: c.route.did, requested: qs.entered, callerDone: make(chan struct{})}
	qs.requested = req
	ended := c.ended
	c.mu.Unlock()
	if ended {
		return
	}
	// Known before the ACD may offer it, which can happen at once.
	m.callbacks.put(req)
	// In the once that would otherwise tell the ACD the caller hung up, so
	// that a hang-up now cannot abandon the entry just kept.
	var err error
	asked := false
	qs.endedOnce.Do(func() {
		asked = true
		err = m.acd.KeepAsCallback(req.id)
	})
	if !asked || err != nil {
		// The caller hung up first (the ACD was told), or the ACD no longer
		// has the call (its max wait ran out at this very moment).
		m.callbacks.remove(req.id)
		if err != nil {
			c.log.Warn("callback not taken", "error", err)
			c.sayGoodbye("callback not taken: " + err.Error())
		}
		return
	}
	c.log.Info("callback requested", "queue", req.queue, "number", req.number)
	m.storeCallback(func(cs callbackStore, ctx context.Context) error {
		return cs.InsertCallback(ctx, store.Callback{ID: req.id, Queue: req.queue, Number: req.number, Name: req.name,
			DID: req.did, RequestedAt: req.requested, Status: store.CallbackWaiting, UpdatedAt: time.Now()})
	})
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	pb := c.a.ep.PlayPrompts(m.promptSeq(prompts.CallbackThanks)...)
	c.mu.Unlock()
	<-pb.Done()
	c.end(endInfo{by: "system", code: 200, disposition: store.DispositionAnswered, reason: "callback requested"})
}

// storeCallback runs a write of the callbacks table, logging a failure
// (the callback goes on in memory).
func (m *Manager) storeCallback(f func(callbackStore, context.Context) error) {
	cs, ok := m.st.(callbackStore)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f(cs, ctx); err != nil {
		m.log.Error("callback not stored", "error", err)
	}
}

// offerCallback is Offer for a callback: it rings the agent's devices
// from the callback's delivery call. False when callID is no callback.
func (m *Manager) offerCallback(callID string, agent acd.Agent, ringFor time.Duration) bool {
	req := m.callbacks.get(callID)
	if req == nil {
		return false
	}
	ext := firstExt(agent)
	m.callbacks.mu.Lock()
	y := req.cur
	if y != nil && y.Ended() {
		y = nil // ended under us (hung up from the API): a new call
	}
	if y == nil {
		if y = m.newDelivery(req); y == nil {
			m.callbacks.mu.Unlock()
			return true // shutting down
		}
		req.cur = y
	}
	y.mu.Lock()
	qs := y.queue
	if y.ended || y.b != nil || qs.offers[ext] != nil {
		y.mu.Unlock()
		m.callbacks.mu.Unlock()
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &pendingDial{cancel: cancel, target: ext, by: ext}
	qs.offers[ext] = p
	info := y.infoLocked()
	y.mu.Unlock()
	m.callbacks.mu.Unlock()
	m.publish(events.CallOffered, y, OfferInfo{Call: info, Agent: ext})
	r := route{kind: store.TargetExtension, target: ext, direction: "internal", members: slices.Clone(agent.Extensions)}
	go y.ringCallbackOffer(ctx, req, p, r, ringFor)
	return true
}

// newDelivery makes and lists the call that delivers req (nil while
// shutting down). Under callbackSet.mu.
func (m *Manager) newDelivery(req *callbackRequest) *Call {
	kind := "external"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if _, err := m.st.ExtensionByNumber(ctx, req.number); err == nil {
		kind = "extension"
	}
	cancel()
	y := &Call{id: newID(), m: m, caller: Party{Number: req.number, Name: req.name, Kind: kind}, dialled: req.number,
		route:     route{kind: store.TargetQueue, target: req.queue, direction: "outbound"},
		startedAt: time.Now(), state: StateRouting, ringing: make(chan ringControl)}
	y.log = m.log.With("call_id", y.id, "callback", req.id)
	y.queue = &queueState{queue: req.queue, acdID: req.id, entered: req.requested, offers: make(map[string]*pendingDial), cb: req}
	// Hanging it up while agents ring (the API, a shutdown) withdraws the
	// offers; each is then reported as busy, and the last ends the call.
	y.cancelRing = func() {
		y.mu.Lock()
		for _, p := range y.queue.offers {
			p.cancel()
		}
		y.mu.Unlock()
	}
	m.active.Add(1)
	if !m.addCall(y) {
		m.active.Add(-1)
		return nil
	}
	m.publish(events.CallCreated, y, y.Info())
	return y
}

// endUnanswered ends a delivery call whose agents all failed to answer
// (its offers were reported to the ACD one by one): a CDR of a callback
// that rang agents and reached nobody.
func (y *Call) endUnanswered() {
	y.end(endInfo{by: "system", code: sip.StatusTemporarilyUnavailable, disposition: store.DispositionNoAnswer,
		reason: "callback: no agent answered"})
}

// ringCallbackOffer rings one agent for a callback; the first to answer
// makes the delivery a live call and the customer is dialled.
func (y *Call) ringCallbackOffer(ctx context.Context, req *callbackRequest, p *pendingDial, r route, ringFor time.Duration) {
	defer p.cancel()
	m := y.m
	l, err := y.dialLeg(ctx, dialSpec{route: r, from: Party{Number: req.number, Name: "Callback", Kind: y.caller.Kind},
		role: roleCallee, ring: ringFor, onRinging: func() { y.move(StateRinging, events.CallRinging) }})
	m.callbacks.mu.Lock()
	y.mu.Lock()
	qs := y.queue
	mine := qs.offers[p.target] == p
	if mine {
		delete(qs.offers, p.target)
	}
	roundOver := len(qs.offers) == 0 && y.b == nil && !y.ended
	if err != nil {
		if roundOver && req.cur == y {
			req.cur = nil // nobody answered this round: the next offer makes a new call
		}
		y.mu.Unlock()
		m.callbacks.mu.Unlock()
		if mine {
			reason := offerFailure(err)
			if errors.Is(err, ErrDialCancelled) {
				reason = acd.FailBusy // hung up from the API or by a shutdown, not by the agent
			}
			y.log.Info("callback offer not answered", "agent", p.target, "reason", reason, "error", err)
			m.acd.OfferFailed(req.id, p.target, reason)
		}
		if roundOver {
			y.endUnanswered()
		}
		return
	}
	if !mine || y.b != nil || y.ended {
		y.mu.Unlock()
		m.callbacks.mu.Unlock()
		y.releaseLeg(l, true)
		if mine {
			m.acd.OfferFailed(req.id, p.target, acd.FailBusy)
		}
		if roundOver && mine {
			y.endUnanswered()
		}
		return
	}
	qs.answering++
	y.mu.Unlock()
	m.callbacks.mu.Unlock()
	// The ACD has the last word: the offer may have been withdrawn (the
	// agent paused) just as the phone answered.
	taken := m.acd.OfferAnswered(req.id, p.target)
	m.callbacks.mu.Lock()
	y.mu.Lock()
	qs.answering--
	if !taken || y.ended || y.b != nil {
		roundOver = len(qs.offers) == 0 && y.b == nil && !y.ended && qs.answering == 0
		if roundOver && req.cur == y {
			req.cur = nil
		}
		ended := y.ended
		y.mu.Unlock()
		m.callbacks.mu.Unlock()
		y.releaseLeg(l, true)
		switch {
		case !taken:
			y.log.Info("callback answer came after the ACD withdrew the offer; hanging up the agent", "agent", p.target)
			if roundOver {
				y.endUnanswered()
			}
		case ended:
			// Hung up as the ACD took the answer: the agent goes free and
			// the callback back to its place.
			m.callbackNotReached(y, req, false)
		}
		return
	}
	// The agent answered: the delivery is a live call from now on.
	y.b = l
	qs.agentLeg = l
	y.answeredBy, y.codec, y.connected = l.label, l.codec.Name, true
	y.state = StateRinging // the customer's phone is about to ring
	y.cancelRing = nil
	l.onHold = true // music while the customer is dialled
	y.applyOrLog()
	dialCtx, cancel := context.WithCancel(context.Background())
	qs.cbDial = cancel
	info := y.infoLocked()
	y.mu.Unlock()
	m.callbacks.mu.Unlock()
	y.log.Info("callback taken by an agent; dialling the customer", "agent", l.label, "number", req.number)
	m.publish(events.CallbackDialing, y, info)
	y.dialCustomer(dialCtx, req, l)
}

// dialCustomer calls the customer for the agent on leg agent.
func (y *Call) dialCustomer(ctx context.Context, req *callbackRequest, agent *leg) {
	m := y.m
	defer func() {
		y.mu.Lock()
		if y.queue != nil {
			y.queue.cbDial = nil
		}
		y.mu.Unlock()
	}()
	// The customer hears "we will call you back" and is hung up: wait for
	// it, so their phone is free (a few seconds at most).
	select {
	case <-req.callerDone:
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
	}
	r, err := m.routeFor(ctx, agent.ext, req.number)
	if err == nil {
		if r.trunk != nil && req.did != "" {
			r.callerID = req.did
		}
		from := fromForDial(Party{Number: req.queue, Name: "Callback", Kind: "extension"}, r)
		var l *leg
		if l, err = y.dialLeg(ctx, dialSpec{route: r, from: from, role: roleCaller}); err == nil {
			y.customerAnswered(req, l)
			return
		}
	}
	y.mu.Lock()
	if y.ended {
		y.mu.Unlock()
		return // the agent hung up (or the call was ended): reported by end
	}
	y.queue.cbCounted = !errors.Is(err, ErrDialCancelled)
	y.mu.Unlock()
	code, disp := sip.StatusTemporarilyUnavailable, store.DispositionNoAnswer
	var de *DialError
	if errors.As(err, &de) {
		code = de.Code
		if d, _, _ := classify(de.Code); de.Reason != "No Answer" {
			disp = d
		}
	}
	y.log.Info("callback: customer not reached", "number", req.number, "error", err)
	y.end(endInfo{by: "system", code: code, disposition: disp, reason: "callback: customer not reached: " + err.Error()})
}

// customerAnswered connects the customer (leg l) with the agent.
func (y *Call) customerAnswered(req *callbackRequest, l *leg) {
	m := y.m
	y.mu.Lock()
	if y.ended || y.b == nil {
		y.mu.Unlock()
		y.releaseLeg(l, true)
		return
	}
	y.a = l
	y.queue.cbReached = true
	y.answeredAt = time.Now()
	y.b.onHold = false
	y.state = StateAnswered
	y.applyOrLog()
	info := y.infoLocked()
	y.mu.Unlock()
	m.callbacks.remove(req.id)
	y.log.Info("callback connected", "number", req.number, "agent", y.answeredBy)
	m.publish(events.CallAnswered, y, info)
	m.acd.CallbackConnected(req.id)
	m.storeCallback(func(cs callbackStore, ctx context.Context) error {
		return cs.UpdateCallback(ctx, req.id, req.attemptsSoFar(m), store.CallbackConnected, "", time.Now())
	})
}

// callbackNotReached reports a delivery that ended before the customer
// answered (from end, once): the callback goes back to its place or is
// given up.
func (m *Manager) callbackNotReached(y *Call, req *callbackRequest, counted bool) {
	m.callbacks.mu.Lock()
	if req.cur == y {
		req.cur = nil
	}
	m.callbacks.mu.Unlock()
	attempts, gaveUp, err := m.acd.CallbackFailed(req.id, counted)
	if err != nil {
		y.log.Warn("callback outcome not taken by the ACD", "error", err)
		return
	}
	m.callbacks.mu.Lock()
	req.attempts = attempts
	m.callbacks.mu.Unlock()
	status, reason := store.CallbackWaiting, ""
	if gaveUp {
		m.callbacks.remove(req.id)
		status, reason = store.CallbackFailed, "customer not reached"
		y.log.Info("callback given up", "number", req.number, "attempts", attempts)
	} else {
		y.log.Info("callback back in its queue", "number", req.number, "attempts", attempts)
	}
	m.storeCallback(func(cs callbackStore, ctx context.Context) error {
		return cs.UpdateCallback(ctx, req.id, attempts, status, reason, time.Now())
	})
}

// cancelCallbackOffer is CancelOffer for a callback; false when callID is
// no callback.
func (m *Manager) cancelCallbackOffer(callID string, agent acd.Agent) bool {
	req := m.callbacks.get(callID)
	if req == nil {
		return false
	}
	var p *pendingDial
	var over *Call
	m.callbacks.mu.Lock()
	if y := req.cur; y != nil {
		y.mu.Lock()
		ext := firstExt(agent)
		p = y.queue.offers[ext]
		delete(y.queue.offers, ext)
		if p != nil && len(y.queue.offers) == 0 && y.b == nil && !y.ended && y.queue.answering == 0 {
			req.cur, over = nil, y
		}
		y.mu.Unlock()
	}
	m.callbacks.mu.Unlock()
	if p != nil {
		p.cancel()
	}
	if over != nil {
		// CancelOffer must not block: end (a CDR, no SIP) on its own.
		go over.endUnanswered()
	}
	// The call that asked may still be saying thank you: its own offers
	// were withdrawn when the caller pressed 2.
	return true
}

// dropCallback gives a callback up for good (its queue is gone: the ACD's
// Overflow); false when callID is no callback.
func (m *Manager) dropCallback(callID, reason string) bool {
	req := m.callbacks.get(callID)
	if req == nil {
		return false
	}
	m.callbacks.remove(callID)
	m.log.Warn("callback given up", "callback", callID, "queue", req.queue, "reason", reason)
	attempts := req.attemptsSoFar(m)
	m.storeCallback(func(cs callbackStore, ctx context.Context) error {
		return cs.UpdateCallback(ctx, callID, attempts, store.CallbackFailed, reason, time.Now())
	})
	return true
}

// RestoreCallbacks puts the callbacks that were waiting when Switchboard
// stopped back in their queues, in the order they were asked for. Call
// once, after SetDistributor and before traffic.
func (m *Manager) RestoreCallbacks(ctx context.Context) error {
	cs, ok := m.st.(callbackStore)
	if !ok || m.acd == nil {
		return nil
	}
	waiting, err := cs.Callbacks(ctx, store.CallbackFilter{Status: store.CallbackWaiting, Limit: 1000})
	if err != nil {
		return err
	}
	for _, cb := range waiting {
		req := &callbackRequest{id: cb.ID, queue: cb.Queue, number: cb.Number, name: cb.Name, did: cb.DID,
			requested: cb.RequestedAt, callerDone: make(chan struct{}), attempts: cb.Attempts}
		req.callerGone()
		m.callbacks.put(req)
		err := m.acd.EnterCallback(acd.QueueCall{ID: cb.ID, Queue: cb.Queue, CallerNumber: cb.Number, CallerName: cb.Name,
			Entered: cb.RequestedAt}, cb.Attempts, cb.UpdatedAt)
		if err != nil {
			m.callbacks.remove(cb.ID)
			m.log.Warn("callback not restored", "callback", cb.ID, "queue", cb.Queue, "error", err)
			if errors.Is(err, acd.ErrUnknownQueue) {
				if uerr := cs.UpdateCallback(ctx, cb.ID, cb.Attempts, store.CallbackFailed, "its queue is gone", time.Now()); uerr != nil {
					m.log.Error("callback not stored", "error", uerr)
				}
			}
			continue
		}
	}
	if len(waiting) > 0 {
		m.log.Info("callbacks restored", "count", len(waiting))
	}
	return nil
}
