package call

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// transferState is a blind transfer in progress: the transferor has left,
// the kept party hears music while the target rings. Guarded by Call.mu.
type transferState struct {
	by     string // the transferor's number
	keep   *leg
	slot   role // the primary slot the target will take
	target string
	cancel context.CancelFunc
}

// TransferInfo shows a blind transfer in progress.
type TransferInfo struct {
	Target string `json:"target"`
	By     string `json:"by"`
}

// TransferProgress receives the outcome of a transfer for the transferor
// (a phone's REFER subscription): a SIP status code and reason, final
// when the code is ≥ 200.
type TransferProgress func(code int, reason string)

// BlindTransfer sends the call to target on behalf of the party on one of
// exts (the acting user's devices). A ringing call is redirected; an
// answered one loses the transferor at once while the other party hears
// music until the target answers. If the target does not answer, the call
// rings back at the transferor's extension (recall); if that fails too,
// it ends.
func (c *Call) BlindTransfer(ctx context.Context, exts []string, target string) error {
	c.mu.Lock()
	answered := !c.answeredAt.IsZero()
	by := c.legOfExtensionLocked(exts)
	ringingAtMe := false
	for _, e := range exts {
		for _, mem := range c.route.members {
			ringingAtMe = ringingAtMe || mem == e
		}
	}
	c.mu.Unlock()
	if !answered {
		if !ringingAtMe {
			return fmt.Errorf("transfer %s: %w", c.id, ErrNotOnCall)
		}
		return c.Redirect(ctx, exts[0], target)
	}
	if by == nil {
		return fmt.Errorf("transfer %s: %w", c.id, ErrNotOnCall)
	}
	return c.blindTransfer(ctx, by, target, nil)
}

// blindTransfer implements BlindTransfer for an answered call; progress
// (when not nil) is told how the target answers, and the transferor's leg
// is then left to the phone to end (REFER), else it is ended here.
func (c *Call) blindTransfer(ctx context.Context, by *leg, target string, progress TransferProgress) error {
	r, err := c.m.routeFor(ctx, by.ext, target)
	if err == nil {
		err = c.m.checkTransferTarget(r, true)
	}
	if err != nil {
		return fmt.Errorf("transfer %s to %s: %w", c.id, target, err)
	}
	if r.kind == store.TargetQueue && c.m.acd != nil {
		return c.requeue(ctx, by, r, progress)
	}
	c.mu.Lock()
	keep, err := c.transferableLocked(by)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	dctx, cancel := context.WithCancel(context.Background())
	ts := &transferState{by: by.party.Number, keep: keep, slot: by.role, target: target, cancel: cancel}
	c.transfer = ts
	by.gone = true
	if by == c.a {
		c.a = nil
	} else {
		c.b = nil
	}
	keep.onHold = true // music while the target rings
	c.applyOrLog()
	info := c.infoLocked()
	agentLeft := c.agentLeavesLocked(by)
	c.mu.Unlock()
	agentLeft()

	c.enterFlow(ctx, r)
	c.log.Info("blind transfer", "by", by.party.Number, "target", target)
	c.m.publish(events.CallTransferred, c, info)
	if progress == nil {
		go c.releaseLeg(by, true)
	}
	go c.completeBlind(dctx, ts, r, by, progress)
	return nil
}

// transferableLocked checks that by may hand the call on now (no other
// transfer, consultation or conference; by a primary party) and returns
// the party who stays.
func (c *Call) transferableLocked(by *leg) (keep *leg, err error) {
	switch {
	case c.ended:
		return nil, ErrCallEnded
	case c.transfer != nil:
		return nil, ErrBusyOperation
	case c.consult != nil:
		return nil, ErrConsultActive
	case c.conf != nil:
		return nil, ErrInConference
	case by != c.a && by != c.b:
		return nil, ErrNotOnCall
	}
	keep = c.otherPrimaryLocked(by)
	if keep == nil || keep.gone {
		return nil, ErrNotAnswered
	}
	return keep, nil
}

// completeBlind rings the transfer target and connects it, or recalls the
// transferor, or ends the call.
func (c *Call) completeBlind(ctx context.Context, ts *transferState, r route, by *leg, progress TransferProgress) {
	defer ts.cancel()
	if progress != nil {
		progress(100, "Trying")
	}
	l, err := c.dialLeg(ctx, dialSpec{route: r, from: fromForDial(ts.keep.party, r), role: ts.slot})
	if progress != nil {
		code, reason := 200, "OK"
		var de *DialError
		switch {
		case err == nil:
		case errors.As(err, &de):
			code, reason = de.Code, de.Reason
		default:
			code, reason = 503, "Service Unavailable"
		}
		progress(code, reason)
	}
	if err != nil && !errors.Is(err, ErrDialCancelled) && by.ext != "" {
		c.log.Info("transfer target did not answer; recalling the transferor", "target", ts.target, "error", err)
		c.m.publish(events.TransferFailed, c, c.Info())
		l, err = c.dialLeg(ctx, dialSpec{route: extensionRoute(by.ext), from: ts.keep.party, role: ts.slot})
	}
	c.mu.Lock()
	if c.ended || c.transfer != ts {
		c.mu.Unlock()
		c.releaseLeg(l, true)
		return
	}
	c.transfer = nil
	if err != nil {
		c.mu.Unlock()
		c.log.Info("transfer failed", "target", ts.target, "error", err)
		c.end(endInfo{by: "system", code: 200, disposition: store.DispositionAnswered, reason: "transfer failed: " + err.Error()})
		return
	}
	l.role = ts.slot
	if ts.slot == roleCaller {
		c.a = l
	} else {
		c.b = l
		c.answeredBy = l.label
	}
	ts.keep.onHold = false
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("transfer completed", "target", ts.target, "answered_by", l.label)
	c.m.publish(events.TransferCompleted, c, info)
}
