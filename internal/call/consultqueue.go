package call

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// Consulting a queue (SPEC D4) while the ACD runs the queues: the
// consultation waits in the queue as an entry of its own (ID: the call's
// ID + consultEntrySuffix) until the queue's strategy offers it to an
// available agent, whose phone then rings; the initiator may cancel it
// meanwhile. The agent who answers is busy for the ACD until they leave
// the call (or the call ends), whichever way the consultation went:
// ended, transferred to them, or merged into a conference.

const consultEntrySuffix = "~consult"

// consultQueue puts consultation cs of c into queue r through the ACD.
// Called with the consultation registered (c.consult == cs), unlocked.
func (c *Call) consultQueue(cs *consultState, r route) error {
	cs.acdID = c.id + consultEntrySuffix
	err := c.m.acd.Enter(acd.QueueCall{ID: cs.acdID, Queue: r.target, CallerNumber: cs.by.party.Number,
		CallerName: cs.by.party.Name, Entered: time.Now()})
	if err == nil {
		return nil
	}
	c.mu.Lock()
	if c.consult == cs {
		c.consult = nil
		cs.customer.onHold = false
		c.applyOrLog()
	}
	info := c.infoLocked()
	c.mu.Unlock()
	c.m.publish(events.ConsultEnded, c, info)
	return fmt.Errorf("consult queue %s: %w", r.target, err)
}

// consultOf finds the consultation an ACD entry ID names.
func (m *Manager) consultOf(entryID string) (*Call, bool) {
	id, ok := strings.CutSuffix(entryID, consultEntrySuffix)
	if !ok {
		return nil, false
	}
	c, err := m.Get(id)
	if err != nil {
		return nil, true
	}
	return c, true
}

// offerConsult handles acd.Calls.Offer for a consultation entry; false
// when entryID is not one.
func (m *Manager) offerConsult(entryID string, agent acd.Agent, ringFor time.Duration) bool {
	c, ok := m.consultOf(entryID)
	if !ok || c == nil {
		return ok
	}
	ext := firstExt(agent)
	c.mu.Lock()
	cs := c.consult
	if c.ended || cs == nil || cs.acdID != entryID || cs.leg != nil || cs.offers[ext] != nil {
		c.mu.Unlock()
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &pendingDial{cancel: cancel, target: ext, by: ext}
	if cs.offers == nil {
		cs.offers = make(map[string]*pendingDial)
	}
	cs.offers[ext] = p
	c.mu.Unlock()
	r := route{kind: store.TargetExtension, target: ext, direction: "internal", members: slices.Clone(agent.Extensions)}
	go c.ringConsultOffer(ctx, cs, p, r, ringFor)
	return true
}

func (c *Call) ringConsultOffer(ctx context.Context, cs *consultState, p *pendingDial, r route, ringFor time.Duration) {
	defer p.cancel()
	m := c.m
	l, err := c.dialLeg(ctx, dialSpec{route: r, from: cs.by.party, role: roleConsult, ring: ringFor})
	c.mu.Lock()
	mine := c.consult == cs && cs.offers[p.target] == p
	if mine {
		delete(cs.offers, p.target)
	}
	taken := c.ended || !mine || cs.leg != nil
	c.mu.Unlock()
	switch {
	case err != nil && (errors.Is(err, ErrDialCancelled) || !mine):
		return
	case err != nil:
		m.acd.OfferFailed(cs.acdID, p.target, offerFailure(err))
		return
	case taken:
		c.releaseLeg(l, true)
		if mine {
			m.acd.OfferFailed(cs.acdID, p.target, acd.FailBusy)
		}
		return
	}
	if !m.acd.OfferAnswered(cs.acdID, p.target) {
		c.releaseLeg(l, true) // withdrawn meanwhile (the agent paused)
		return
	}
	c.mu.Lock()
	if c.ended || c.consult != cs || cs.leg != nil {
		// Cancelled after the ACD took the answer: that cancel's report
		// (Abandon) ends the agent's part.
		c.mu.Unlock()
		c.releaseLeg(l, true)
		return
	}
	cs.leg = l
	if c.acdLegs == nil {
		c.acdLegs = make(map[*leg]string)
	}
	c.acdLegs[l] = cs.acdID
	c.others = append(c.others, l)
	cs.customer.onHold = true
	cs.by.onHold = false
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("consultation answered by a queue's agent", "queue", cs.target, "agent", l.label)
	m.publish(events.ConsultAnswered, c, info)
}

// cancelConsultOffer handles acd.Calls.CancelOffer for a consultation
// entry; false when entryID is not one.
func (m *Manager) cancelConsultOffer(entryID string, agent acd.Agent) bool {
	c, ok := m.consultOf(entryID)
	if !ok || c == nil {
		return ok
	}
	c.mu.Lock()
	var p *pendingDial
	if cs := c.consult; cs != nil && cs.acdID == entryID {
		p = cs.offers[firstExt(agent)]
		delete(cs.offers, firstExt(agent))
	}
	c.mu.Unlock()
	if p != nil {
		p.cancel()
	}
	return true
}

// overflowConsult handles acd.Calls.Overflow for a consultation entry: the
// queue gave up (max wait), so the consultation ends and the initiator is
// back with the customer. False when entryID is not one.
func (m *Manager) overflowConsult(entryID string) bool {
	c, ok := m.consultOf(entryID)
	if !ok || c == nil {
		return ok
	}
	c.mu.Lock()
	cs := c.consult
	if cs == nil || cs.acdID != entryID || cs.leg != nil {
		c.mu.Unlock()
		return true
	}
	c.consult = nil
	for _, p := range cs.offers {
		p.cancel()
	}
	cs.customer.onHold = false
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("consulted queue gave up; back to the customer", "queue", cs.target)
	m.publish(events.ConsultEnded, c, info)
	return true
}

// consultEndedLocked tells the ACD, after unlocking, that consultation
// cs is over without its agent joining the call: an entry still waiting
// is withdrawn (Abandon); an answered one needs no word here, its agent's
// leg carries it in acdLegs.
func (c *Call) consultEndedLocked(cs *consultState) func() {
	if cs.acdID == "" || cs.leg != nil {
		return func() {}
	}
	for _, p := range cs.offers {
		p.cancel()
	}
	id := cs.acdID
	return func() { c.m.acd.Abandon(id) }
}

// acdLegLeftLocked: a leg the ACD counts as busy (a queue's agent who
// answered a consultation) left the call; returns the report to run
// unlocked.
func (c *Call) acdLegLeftLocked(l *leg) func() {
	id, ok := c.acdLegs[l]
	if !ok {
		return func() {}
	}
	delete(c.acdLegs, l)
	return func() { c.m.acd.InteractionEnded(id) }
}

// acdLegsEndedLocked reports every remaining one when the call ends.
func (c *Call) acdLegsEndedLocked() func() {
	var ids []string
	for l, id := range c.acdLegs {
		ids = append(ids, id)
		delete(c.acdLegs, l)
	}
	return func() {
		for _, id := range ids {
			c.m.acd.InteractionEnded(id)
		}
	}
}
