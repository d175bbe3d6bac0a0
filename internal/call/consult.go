package call

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// The consultation and conference rules follow the role tables of the
// agent desktop manual (shared/reference/agent-desktop-voice-nl.txt):
//
//   - consulting holds the customer; the initiator alternates between the
//     customer and the consulted party, never both held;
//   - only the initiator ends, transfers or conferences the consultation;
//     the consulted party may only leave, and the call then continues
//     between the initiator and the customer;
//   - the customer leaving, or the initiator hanging up, ends the whole
//     interaction;
//   - in a conference nobody is held; a member may leave; the initiator
//     ending it removes everyone.

// consultState is a consultation in progress. Guarded by Call.mu.
type consultState struct {
	by       *leg // the initiator (agent 1)
	customer *leg // held while consulting
	leg      *leg // the consulted party once answered
	target   string
	cancel   context.CancelFunc
	acdID    string                  // the consultation's entry when it waits in a queue (consultqueue.go)
	offers   map[string]*pendingDial // that entry's offers ringing agents
}

// ConsultInfo shows a consultation.
type ConsultInfo struct {
	By     string `json:"by"`              // party ID of the initiator
	Target string `json:"target"`          // what was dialled
	Party  string `json:"party,omitempty"` // party ID of the consulted party once answered
	State  string `json:"state"`           // ringing | talking (to the consulted party) | held (the consulted party)
}

// confState is a conference. Guarded by Call.mu.
type confState struct {
	initiator *leg
	customer  *leg
}

// ConferenceInfo shows a conference.
type ConferenceInfo struct {
	Initiator string `json:"initiator"` // party ID
}

func (c *Call) consultInfoLocked() *ConsultInfo {
	cs := c.consult
	if cs == nil {
		return nil
	}
	ci := &ConsultInfo{By: cs.by.id, Target: cs.target, State: "ringing"}
	if cs.leg != nil {
		ci.Party = cs.leg.id
		ci.State = "talking"
		if cs.leg.onHold {
			ci.State = "held"
		}
	}
	return ci
}

// actor finds the acting user's leg, or ErrNotOnCall.
func (c *Call) actorLocked(exts []string) (*leg, error) {
	if c.ended {
		return nil, ErrCallEnded
	}
	if c.answeredAt.IsZero() {
		return nil, ErrNotAnswered
	}
	l := c.legOfExtensionLocked(exts)
	if l == nil {
		return nil, ErrNotOnCall
	}
	return l, nil
}

// Consult holds the customer and rings target (an extension, a queue, a
// dial plan entry or an external number) for the party on one of exts.
func (c *Call) Consult(ctx context.Context, exts []string, target string) error {
	c.mu.Lock()
	by, err := c.actorLocked(exts)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("consult %s: %w", c.id, err)
	}
	r, err := c.m.routeFor(ctx, by.ext, target)
	if err == nil {
		err = c.m.checkTransferTarget(r, false)
	}
	if err != nil {
		return fmt.Errorf("consult %s to %s: %w", c.id, target, err)
	}
	c.mu.Lock()
	switch {
	case c.ended:
		err = ErrCallEnded
	case c.consult != nil:
		err = ErrConsultActive
	case c.transfer != nil:
		err = ErrBusyOperation
	case c.conf != nil:
		err = ErrInConference
	case by != c.a && by != c.b:
		err = ErrNotOnCall
	}
	customer := c.otherPrimaryLocked(by)
	if err == nil && (customer == nil || customer.gone) {
		err = ErrNotAnswered
	}
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("consult %s: %w", c.id, err)
	}
	dctx, cancel := context.WithCancel(context.Background())
	cs := &consultState{by: by, customer: customer, target: target, cancel: cancel}
	c.consult = cs
	customer.onHold = true
	by.onHold = false
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("consultation started", "by", by.party.Number, "target", target)
	c.m.publish(events.ConsultStarted, c, info)
	if r.kind == store.TargetQueue && c.m.acd != nil {
		cancel()
		return c.consultQueue(cs, r)
	}
	go c.ringConsult(dctx, cs, r)
	return nil
}

func (c *Call) ringConsult(ctx context.Context, cs *consultState, r route) {
	defer cs.cancel()
	l, err := c.dialLeg(ctx, dialSpec{route: r, from: cs.by.party, role: roleConsult})
	c.mu.Lock()
	if c.ended || c.consult != cs {
		c.mu.Unlock()
		c.releaseLeg(l, true)
		return
	}
	if err != nil {
		// Back to the customer: nobody is left waiting on hold.
		c.consult = nil
		cs.customer.onHold = false
		c.applyOrLog()
		info := c.infoLocked()
		c.mu.Unlock()
		c.log.Info("consultation failed", "target", cs.target, "error", err)
		c.m.publish(events.ConsultEnded, c, info)
		return
	}
	cs.leg = l
	c.others = append(c.others, l)
	cs.customer.onHold = true // the initiator talks to the consulted party now, even if they resumed the customer meanwhile
	cs.by.onHold = false
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("consultation answered", "target", cs.target, "party", l.label)
	c.m.publish(events.ConsultAnswered, c, info)
}

// initiatorLocked checks that the actor started the consultation.
func (c *Call) consultByLocked(exts []string) (*consultState, error) {
	by, err := c.actorLocked(exts)
	if err != nil {
		return nil, err
	}
	if c.consult == nil {
		return nil, ErrNoConsult
	}
	if c.consult.by != by {
		return nil, ErrNotInitiator
	}
	return c.consult, nil
}

// answeredConsultLocked is consultByLocked for actions that need the
// consulted party to have answered.
func (c *Call) answeredConsultLocked(exts []string) (*consultState, error) {
	cs, err := c.consultByLocked(exts)
	if err == nil && cs.leg == nil {
		err = ErrNotAnswered
	}
	return cs, err
}

// replacePrimaryLocked puts l in the primary slot of old (which leaves
// the call): the attended or blind transfer's last step.
func (c *Call) replacePrimaryLocked(old, l *leg) {
	l.role = old.role
	if old == c.a {
		c.a = l
	} else {
		c.b = l
		c.answeredBy = l.label
	}
	old.gone = true
}

// SwapConsult alternates the initiator between the customer and the
// consulted party: the one not talked to is held.
func (c *Call) SwapConsult(exts []string) error {
	c.mu.Lock()
	cs, err := c.answeredConsultLocked(exts)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("swap %s: %w", c.id, err)
	}
	c.mu.Lock()
	to := cs.leg
	if cs.customer.onHold {
		to = cs.customer
	}
	c.mu.Unlock()
	return c.swapTo(to)
}

// swapTo makes the initiator talk to party (customer or consulted), the
// other held.
func (c *Call) swapTo(party *leg) error {
	c.mu.Lock()
	cs := c.consult
	if cs == nil || cs.leg == nil {
		c.mu.Unlock()
		return ErrNoConsult
	}
	other := cs.customer
	if party == cs.customer {
		other = cs.leg
	}
	party.onHold, other.onHold = false, true
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.m.publish(events.ConsultSwapped, c, info)
	return nil
}

// CancelConsult ends the consultation (the consulted party is hung up or
// its ringing cancelled) and returns to the customer.
func (c *Call) CancelConsult(exts []string) error {
	c.mu.Lock()
	cs, err := c.consultByLocked(exts)
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("cancel consult %s: %w", c.id, err)
	}
	c.consult = nil
	cs.cancel()
	waiting := c.consultEndedLocked(cs)
	l := cs.leg
	left := func() {}
	if l != nil {
		l.gone = true
		c.removeOtherLocked(l)
		left = c.acdLegLeftLocked(l)
	}
	cs.customer.onHold = false
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	waiting()
	left()
	c.m.publish(events.ConsultEnded, c, info)
	if l != nil {
		go c.releaseLeg(l, true)
	}
	return nil
}

// CompleteTransfer ends a consultation by connecting the customer to the
// consulted party; the initiator leaves (attended transfer).
func (c *Call) CompleteTransfer(exts []string) error {
	c.mu.Lock()
	cs, err := c.answeredConsultLocked(exts)
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("complete transfer %s: %w", c.id, err)
	}
	by := cs.by
	c.consult = nil
	c.removeOtherLocked(cs.leg)
	c.replacePrimaryLocked(by, cs.leg)
	cs.leg.onHold, cs.customer.onHold = false, false
	c.applyOrLog()
	info := c.infoLocked()
	agentLeft := c.agentLeavesLocked(by)
	c.mu.Unlock()
	agentLeft()
	c.log.Info("attended transfer completed", "by", by.party.Number, "to", cs.leg.label)
	c.m.publish(events.TransferCompleted, c, info)
	go c.releaseLeg(by, true)
	return nil
}

// ConferenceConsult merges the consultation into a three-way conference:
// the customer is taken off hold and everyone hears everyone.
func (c *Call) ConferenceConsult(exts []string) error {
	c.mu.Lock()
	cs, err := c.answeredConsultLocked(exts)
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("conference %s: %w", c.id, err)
	}
	c.consult = nil
	cs.leg.role = roleMember
	c.conf = &confState{initiator: cs.by, customer: cs.customer}
	for _, l := range c.partiesLocked() {
		l.onHold = false
	}
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("conference started", "initiator", cs.by.party.Number)
	c.m.publish(events.ConferenceJoined, c, info)
	return nil
}

// Join merges other calls into this one as a conference (SPEC T7): each
// must be answered and have the acting user on it; the party facing the
// user there becomes a member here and the user's own leg there is hung
// up. Used to build conferences of four or more from held calls.
func (c *Call) Join(exts []string, others []*Call) error {
	c.mu.Lock()
	by, err := c.actorLocked(exts)
	if err == nil && (c.consult != nil || c.transfer != nil) {
		err = ErrBusyOperation
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("join into %s: %w", c.id, err)
	}
	for _, o := range others {
		if o == c {
			return fmt.Errorf("join %s into itself: %w", c.id, ErrBadParty)
		}
		p, mine, err := o.detachForJoin(exts)
		if err != nil {
			return fmt.Errorf("join %s into %s: %w", o.id, c.id, err)
		}
		c.mu.Lock()
		if c.ended {
			c.mu.Unlock()
			c.releaseLeg(p, true)
			return ErrCallEnded
		}
		p.owner.Store(c)
		p.role = roleMember
		p.onHold = false
		c.others = append(c.others, p)
		if c.conf == nil {
			c.conf = &confState{initiator: by, customer: c.otherPrimaryLocked(by)}
		}
		for _, l := range c.partiesLocked() {
			l.onHold = false
		}
		c.applyOrLog()
		info := c.infoLocked()
		c.mu.Unlock()
		c.log.Info("call joined into conference", "joined_call", o.id, "party", p.party.Number)
		c.m.publish(events.ConferenceJoined, c, info)
		go c.releaseLeg(mine, true)
	}
	return nil
}

// detachForJoin takes the party facing the user out of o and ends o
// without hanging that party up; it returns that party and the user's own
// leg in o (to be hung up by the caller).
func (o *Call) detachForJoin(exts []string) (party, mine *leg, err error) {
	o.mu.Lock()
	mine, err = o.actorLocked(exts)
	switch {
	case err != nil:
	case o.consult != nil || o.transfer != nil || o.conf != nil:
		err = ErrBusyOperation
	case mine != o.a && mine != o.b:
		err = ErrNotOnCall
	}
	if err != nil {
		o.mu.Unlock()
		return nil, nil, err
	}
	party = o.otherPrimaryLocked(mine)
	if party == nil || party.gone {
		o.mu.Unlock()
		return nil, nil, ErrNotAnswered
	}
	o.teardownMediaLocked()
	party.ep.StopMusic()
	if party == o.a {
		o.a = nil
	} else {
		o.b = nil
	}
	mine.gone = true
	if mine == o.a {
		o.a = nil
	} else {
		o.b = nil
	}
	o.mu.Unlock()
	o.end(endInfo{by: "system", code: 200, disposition: "answered", reason: "joined into a conference"})
	return party, mine, nil
}

// Leave takes the acting user's leg out of the call. Whether the call
// goes on follows the role rules: a consulted party or a member leaves
// alone; the initiator or the customer leaving ends the interaction.
func (c *Call) Leave(exts []string) error {
	c.mu.Lock()
	l, err := c.actorLocked(exts)
	if err == nil && l.role == roleMonitor {
		err = ErrBadParty
	}
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("leave %s: %w", c.id, err)
	}
	endAll := c.leaveEndsCallLocked(l)
	c.mu.Unlock()
	if endAll {
		c.end(endInfo{by: string(l.role), code: 200, disposition: "answered", reason: "left by " + l.party.Number, skip: nil})
		return nil
	}
	c.leave(l, true)
	return nil
}

// leave removes one party that does not end the call: the consulted party
// (the customer is resumed), a conference member (a conference of two
// becomes a plain call), a monitor.
func (c *Call) leave(l *leg, bye bool) {
	c.mu.Lock()
	if l.gone {
		c.mu.Unlock()
		return
	}
	l.gone = true
	ev := events.ConferenceLeft
	switch {
	case c.consult != nil && l == c.consult.leg:
		c.consult.customer.onHold = false
		c.consult = nil
		ev = events.ConsultEnded
	case l.role == roleMonitor:
		ev = events.MonitorEnded
	}
	c.removeOtherLocked(l)
	if l == c.a {
		c.a = nil
	} else if l == c.b {
		c.b = nil
	}
	if c.conf != nil && len(c.activePartiesLocked()) < 3 {
		c.conf = nil
		c.promoteLocked()
	}
	c.applyOrLog()
	info := c.infoLocked()
	left := c.acdLegLeftLocked(l)
	c.mu.Unlock()
	left()
	c.log.Info("party left", "party", l.party.Number, "role", string(l.role))
	c.m.publish(ev, c, info)
	c.releaseLeg(l, bye)
}

// promoteLocked fills empty primary slots with remaining members, so a
// conference down to two parties is a plain call again.
func (c *Call) promoteLocked() {
	for i := 0; i < len(c.others); {
		l := c.others[i]
		if l.role != roleMember || l.gone {
			i++
			continue
		}
		switch {
		case c.a == nil || c.a.gone:
			c.a, l.role = l, roleCaller
		case c.b == nil || c.b.gone:
			c.b, l.role = l, roleCallee
		default:
			i++
			continue
		}
		c.others = append(c.others[:i], c.others[i+1:]...)
	}
}

func (c *Call) removeOtherLocked(l *leg) {
	for i, o := range c.others {
		if o == l {
			c.others = append(c.others[:i], c.others[i+1:]...)
			return
		}
	}
}

// pendingCancelsLocked collects the cancel functions of dials in progress.
func (c *Call) pendingCancelsLocked() []context.CancelFunc {
	var out []context.CancelFunc
	if c.cancelRing != nil {
		out = append(out, c.cancelRing)
	}
	if c.consult != nil {
		out = append(out, c.consult.cancel)
	}
	if c.transfer != nil {
		out = append(out, c.transfer.cancel)
	}
	for _, p := range c.monitors {
		out = append(out, p.cancel)
	}
	return out
}
