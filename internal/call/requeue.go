package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// requeue is a blind transfer to a queue while the ACD runs the queues:
// the transferor leaves, and the other party waits in the queue as any
// caller does — music, announcements, the queue's strategy choosing the
// agent — instead of every member's phone ringing at once. progress (a
// phone's REFER) hears 200 once the call is queued.
func (c *Call) requeue(ctx context.Context, by *leg, r route, progress TransferProgress) error {
	m := c.m
	c.enterFlow(ctx, r) // the data follows the call into the queue's flow
	c.mu.Lock()
	keep, err := c.transferableLocked(by)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	agentLeft := c.agentLeavesLocked(by) // a queue call's agent ends their part (wrap-up)
	by.gone = true
	// The waiting party is the queue's caller: slot a, the agent to come b.
	c.a, c.b = keep, nil
	keep.role = roleCaller
	keep.onHold = true
	entered := time.Now()
	qs := &queueState{queue: r.target, acdID: c.id, entered: entered, offers: make(map[string]*pendingDial),
		settings: m.experienceOf(r.target)}
	c.queue = qs
	c.state = StateQueued
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	agentLeft()
	c.log.Info("blind transfer into a queue", "by", by.party.Number, "queue", r.target)
	m.publish(events.CallTransferred, c, info)
	if progress == nil {
		go c.releaseLeg(by, true)
	}

	err = m.acd.Enter(acd.QueueCall{ID: c.id, Queue: r.target, CallerNumber: keep.party.Number, CallerName: keep.party.Name, Entered: entered})
	if err != nil {
		c.mu.Lock()
		if c.queue == qs {
			c.queue = nil
		}
		c.mu.Unlock()
		if progress != nil {
			progress(486, "Busy Here")
		}
		var re *acd.RefusedError
		if errors.As(err, &re) && re.Overflow != "" {
			if or, rerr := m.routeFor(context.Background(), "", re.Overflow); rerr == nil {
				c.log.Info("queue refused the transferred call; overflow", "queue", r.target, "destination", re.Overflow)
				go c.ringOverflow(or, re.Overflow)
				return nil
			}
		}
		c.log.Info("queue refused the transferred call", "queue", r.target, "error", err)
		c.end(endInfo{by: "system", code: 200, disposition: store.DispositionAnswered, reason: fmt.Sprintf("transfer to queue %s refused: %v", r.target, err)})
		return nil
	}
	if progress != nil {
		progress(200, "OK")
	}
	m.publish(events.CallQueued, c, c.Info())
	c.greet()
	return nil
}
