package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// ErrTooManyCalls: the configured call limit is reached.
var ErrTooManyCalls = errors.New("too many calls")

// Originate places a call for a user (click-to-call, SPEC T9): the user's
// own extension ext rings first, showing the target; when it answers the
// target is dialled, showing ext (or, through the trunk, ani when given,
// else the extension's DID). ext's profile applies to the target as if
// the phone had dialled it. The returned call is ringing the user.
func (m *Manager) Originate(ctx context.Context, ext, target, ani string) (*Call, error) {
	e, err := m.st.ExtensionByNumber(ctx, ext)
	if err != nil {
		return nil, fmt.Errorf("originate from %s: %w", ext, err)
	}
	r, err := m.routeFor(ctx, ext, target)
	if err != nil {
		return nil, fmt.Errorf("originate %s → %s: %w", ext, target, err)
	}
	if ani != "" && r.trunk != nil {
		r.callerID = ani
	}
	if n := m.active.Add(1); m.cfg.MaxCalls > 0 && n > int64(m.cfg.MaxCalls) {
		m.active.Add(-1)
		return nil, ErrTooManyCalls
	}
	c := &Call{id: newID(), m: m, caller: Party{Number: ext, Name: e.DisplayName, Kind: "extension"}, callerExt: ext,
		dialled: target, route: r, startedAt: time.Now(), state: StateRouting, ringing: make(chan ringControl)}
	c.log = m.log.With("call_id", c.id)
	if !m.addCall(c) {
		m.active.Add(-1)
		return nil, fmt.Errorf("originate: %w", ErrCallEnded)
	}
	ringCtx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cancelRing = cancel
	c.mu.Unlock()
	m.publish(events.CallCreated, c, c.Info())
	go c.originate(ringCtx, r, target)
	return c, nil
}

func (c *Call) originate(ctx context.Context, r route, target string) {
	own := c.caller
	a, err := c.dialLeg(ctx, dialSpec{route: extensionRoute(own.Number), from: Party{Number: target, Name: "Call to " + target},
		role: roleCaller, onRinging: func() { c.move(StateRinging, events.CallRinging) }})
	if err != nil {
		c.originateFailed("caller", err)
		return
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		c.releaseLeg(a, true)
		return
	}
	c.a = a
	c.mu.Unlock()
	from := own
	if r.trunk != nil {
		from = Party{Number: r.callerID, Kind: "extension"}
	}
	b, err := c.dialLeg(ctx, dialSpec{route: r, from: from, role: roleCallee})
	if err != nil {
		c.mu.Lock()
		c.a = nil
		c.mu.Unlock()
		go c.releaseLeg(a, true)
		c.originateFailed("callee", err)
		return
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		c.releaseLeg(b, true)
		return
	}
	c.b = b
	c.answeredAt, c.answeredBy, c.codec, c.connected = time.Now(), b.label, a.codec.Name, true
	err = c.applyMediaLocked()
	c.mu.Unlock()
	if err != nil {
		c.log.Error("originate: media failed", "error", err)
		c.end(endInfo{by: "system", code: sip.StatusServiceUnavailable, disposition: store.DispositionFailed, reason: err.Error()})
		return
	}
	c.move(StateAnswered, events.CallAnswered)
	c.log.Info("originated call answered", "from", own.Number, "to", target, "answered_by", b.label)
	c.applyRecordPolicy()
}

// originateFailed ends a click-to-call whose first (the user's device) or
// second leg was not answered.
func (c *Call) originateFailed(which string, err error) {
	code, reason := sip.StatusTemporarilyUnavailable, err.Error()
	var de *DialError
	if errors.As(err, &de) {
		code, reason = de.Code, de.Reason
	}
	disp, _, _ := classify(code)
	if de != nil && de.Reason == "No Answer" {
		disp = store.DispositionNoAnswer
	}
	by := "callee"
	if errors.Is(err, ErrDialCancelled) {
		disp, by, reason = store.DispositionCancelled, "system", "cancelled"
	}
	c.log.Info("originate failed", "leg", which, "error", err)
	c.m.publish(events.OriginateFailed, c, OriginateFailure{CallID: c.id, Leg: which, Code: code, Reason: reason})
	c.end(endInfo{by: by, code: code, disposition: disp, reason: which + ": " + reason})
}

// OriginateFailure is the data of an originate_failed event.
type OriginateFailure struct {
	CallID string `json:"call_id"`
	Leg    string `json:"leg"` // caller (the user's own device) | callee (the target)
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}
