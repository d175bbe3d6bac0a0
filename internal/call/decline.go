package call

import (
	"errors"
	"fmt"
	"slices"
)

// ErrRingsElsewhere refuses a decline of a call that rings at others too
// (a ring group): one member declining does not end it for the rest.
var ErrRingsElsewhere = errors.New("the call rings at other extensions too; let it ring or send it on")

// Decline refuses a call ringing at one of exts from the console (the
// "reject" of an incoming call, SPEC C5), as a phone's 486 would:
//   - a queue offer stops ringing and goes back to the ACD as "busy": the
//     agent stays available and is skipped for a while (not RONA), the
//     caller keeps their place in the queue;
//   - a call ringing only at the user's extensions ends with 486 Busy
//     Here for the caller (CDR disposition busy).
//
// Anything else that rings (a consultation, a callback) is not declined
// here: ErrNotRinging.
func (c *Call) Decline(exts []string) error {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return fmt.Errorf("decline %s: %w", c.id, ErrCallEnded)
	}
	if qs := c.queue; qs != nil && c.b == nil {
		for _, e := range exts {
			if p := qs.offers[e]; p != nil && p.attempt != nil {
				p.declined = true
				attempt := p.attempt
				c.mu.Unlock()
				attempt() // ringOffer reports the decline to the ACD
				return nil
			}
		}
		c.mu.Unlock()
		return fmt.Errorf("decline %s: %w", c.id, ErrNotRinging)
	}
	if c.connected || c.cancelRing == nil {
		c.mu.Unlock()
		return fmt.Errorf("decline %s: %w", c.id, ErrNotRinging)
	}
	mine, others := false, false
	for _, m := range c.route.members {
		if slices.Contains(exts, m) {
			mine = true
		} else {
			others = true
		}
	}
	switch {
	case !mine:
		c.mu.Unlock()
		return fmt.Errorf("decline %s: %w", c.id, ErrNotOnCall)
	case others:
		c.mu.Unlock()
		return fmt.Errorf("decline %s: %w", c.id, ErrRingsElsewhere)
	}
	c.declined = true
	c.mu.Unlock()
	c.log.Info("declined from the console")
	c.cancelSetup() // failSetup answers the caller 486
	return nil
}

// RingsAt reports whether the call rings at one of exts: a call not yet
// answered among whose destinations they are, or a queue offer to them.
func (c *Call) RingsAt(exts []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	if qs := c.queue; qs != nil && c.b == nil {
		return slices.ContainsFunc(exts, func(e string) bool { return qs.offers[e] != nil })
	}
	return !c.connected && slices.ContainsFunc(c.route.members, func(m string) bool { return slices.Contains(exts, m) })
}
