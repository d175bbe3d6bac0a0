package call

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard/switchboard/internal/events"
)

// ErrBadMode is a monitor mode other than listen, whisper or barge.
var ErrBadMode = errors.New("mode must be listen, whisper or barge")

// ErrAlreadyOnCall: the supervisor's extension is already a party.
var ErrAlreadyOnCall = errors.New("that extension is already on the call")

// Monitor rings the supervisor's extension supExt and, once answered,
// joins it to the call in mode (SPEC S1): listen hears both parties and
// is heard by none, whisper is heard by the agent only, barge by all.
// Who may monitor which call is the API's decision.
func (c *Call) Monitor(ctx context.Context, supExt string, mode MonitorMode) error {
	if !mode.valid() {
		return ErrBadMode
	}
	c.mu.Lock()
	switch {
	case c.ended:
		c.mu.Unlock()
		return ErrCallEnded
	case c.answeredAt.IsZero():
		c.mu.Unlock()
		return ErrNotAnswered
	}
	for _, l := range c.partiesLocked() {
		if l.ext == supExt {
			c.mu.Unlock()
			return fmt.Errorf("monitor %s: %w", c.id, ErrAlreadyOnCall)
		}
	}
	for _, p := range c.monitors {
		if p.by == supExt {
			c.mu.Unlock()
			return fmt.Errorf("monitor %s: %w", c.id, ErrAlreadyOnCall)
		}
	}
	dctx, cancel := context.WithCancel(context.Background())
	p := &pendingDial{cancel: cancel, target: supExt, by: supExt, mode: mode}
	c.monitors = append(c.monitors, p)
	from := Party{Number: c.caller.Number, Name: "Monitor " + c.caller.Number, Kind: c.caller.Kind}
	c.mu.Unlock()
	go c.ringMonitor(dctx, p, from)
	return nil
}

func (c *Call) ringMonitor(ctx context.Context, p *pendingDial, from Party) {
	defer p.cancel()
	l, err := c.dialLeg(ctx, dialSpec{route: extensionRoute(p.target), from: from, role: roleMonitor})
	c.mu.Lock()
	if i := slices.Index(c.monitors, p); i >= 0 {
		c.monitors = slices.Delete(c.monitors, i, i+1)
	}
	if c.ended {
		c.mu.Unlock()
		c.releaseLeg(l, true)
		return
	}
	if err != nil {
		c.mu.Unlock()
		c.log.Info("monitor not answered", "supervisor", p.target, "error", err)
		return
	}
	l.monitor = p.mode
	l.whisperTo = c.agentLocked()
	c.others = append(c.others, l)
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("monitoring started", "supervisor", p.target, "mode", string(p.mode))
	c.m.publish(events.MonitorStarted, c, info)
}

// agentLocked is the party a whisper is for: the one who handles the
// call for the organisation (the initiator of a consultation or
// conference, else the callee when it is an extension).
func (c *Call) agentLocked() *leg {
	switch {
	case c.conf != nil:
		return c.conf.initiator
	case c.consult != nil:
		return c.consult.by
	case c.b != nil && c.b.ext != "":
		return c.b
	case c.a != nil && c.a.ext != "":
		return c.a
	}
	return c.b
}

// monitorLegLocked is the monitoring leg of one of exts.
func (c *Call) monitorLegLocked(exts []string) *leg {
	for _, l := range c.others {
		if l.role == roleMonitor && !l.gone && slices.Contains(exts, l.ext) {
			return l
		}
	}
	return nil
}

// SetMonitorMode switches a supervisor's mode during the call.
func (c *Call) SetMonitorMode(exts []string, mode MonitorMode) error {
	if !mode.valid() {
		return ErrBadMode
	}
	c.mu.Lock()
	l := c.monitorLegLocked(exts)
	if l == nil {
		for _, p := range c.monitors {
			if slices.Contains(exts, p.by) {
				p.mode = mode // still ringing: it joins in the new mode
				c.mu.Unlock()
				return nil
			}
		}
		c.mu.Unlock()
		return fmt.Errorf("monitor mode %s: %w", c.id, ErrNotOnCall)
	}
	l.monitor = mode
	l.whisperTo = c.agentLocked()
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.m.publish(events.MonitorChanged, c, info)
	return nil
}

// StopMonitor hangs up the supervisor's monitoring leg.
func (c *Call) StopMonitor(exts []string) error {
	c.mu.Lock()
	l := c.monitorLegLocked(exts)
	c.mu.Unlock()
	if l == nil {
		return fmt.Errorf("stop monitor %s: %w", c.id, ErrNotOnCall)
	}
	c.leave(l, true)
	return nil
}

// Queue is the queue the call came through, "" if none.
func (c *Call) Queue() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.route.kind == "queue" {
		return c.route.target
	}
	return ""
}
