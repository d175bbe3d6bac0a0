package call

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// A phone transfers with REFER (RFC 3515): blind with a plain Refer-To,
// attended with Refer-To carrying Replaces (RFC 3891) that names the
// phone's other dialog with us. We accept with 202 and report progress as
// NOTIFY with a message/sipfrag body (RFC 3420) until the final status.

// referTarget is what a Refer-To names.
type referTarget struct {
	user     string
	replaces *replacesID
}

type replacesID struct{ callID, toTag, fromTag string }

// parseReferTo reads a Refer-To value: name-addr or addr-spec, with an
// optional ?Replaces= header (URL-encoded).
func parseReferTo(v string) (referTarget, error) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return referTarget{}, errors.New("unterminated <")
		}
		v = v[i+1 : i+j]
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i] // addr-spec: parameters belong to the header
	}
	uriPart, headers, _ := strings.Cut(v, "?")
	var u sip.Uri
	if err := sip.ParseUri(uriPart, &u); err != nil {
		return referTarget{}, fmt.Errorf("refer-to uri: %w", err)
	}
	if u.User == "" {
		return referTarget{}, errors.New("refer-to has no user part")
	}
	t := referTarget{user: u.User}
	for _, h := range strings.Split(headers, "&") {
		name, val, ok := strings.Cut(h, "=")
		if !ok || !strings.EqualFold(name, "Replaces") {
			continue
		}
		dec, err := url.QueryUnescape(val)
		if err != nil {
			return referTarget{}, fmt.Errorf("replaces: %w", err)
		}
		parts := strings.Split(dec, ";")
		r := &replacesID{callID: strings.TrimSpace(parts[0])}
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			switch strings.ToLower(k) {
			case "to-tag":
				r.toTag = v
			case "from-tag":
				r.fromTag = v
			}
		}
		if r.callID == "" || r.toTag == "" || r.fromTag == "" {
			return referTarget{}, errors.New("replaces needs call-id, to-tag and from-tag")
		}
		t.replaces = r
	}
	return t, nil
}

func (m *Manager) handleRefer(req *sip.Request, tx sip.ServerTransaction) {
	l := m.dialogOf(req)
	if l == nil {
		m.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	h := req.GetHeader("Refer-To")
	if h == nil {
		m.respond(tx, req, sip.StatusBadRequest, "Missing Refer-To")
		return
	}
	t, err := parseReferTo(h.Value())
	if err != nil {
		m.respond(tx, req, sip.StatusBadRequest, "Bad Refer-To", sip.NewHeader("Warning", `399 switchboard "`+strings.ReplaceAll(err.Error(), `"`, "'")+`"`))
		return
	}
	c := l.call()
	if l.ext == "" {
		// Only our own phones transfer; a carrier's REFER would make us
		// place calls on its behalf.
		m.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return
	}
	var other *leg
	if t.replaces != nil {
		if other = m.dialogByReplaces(t.replaces); other == nil || other == l {
			m.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Replaced Dialog Does Not Exist")
			return
		}
	}
	m.respond(tx, req, sip.StatusAccepted, "Accepted")
	n := &referNotifier{l: l}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if other != nil {
		err = c.attendedFromPhone(l, other)
		if err == nil {
			n.notify(200, "OK")
		}
	} else {
		err = c.blindTransfer(ctx, l, t.user, n.notify)
	}
	if err != nil {
		c.log.Info("transfer from phone refused", "leg", l.id, "target", t.user, "error", err)
		code, reason := sip.StatusForbidden, "Forbidden"
		var re *routeError
		if errors.As(err, &re) {
			code, reason = re.code, re.reason
		}
		n.notify(code, reason)
		return
	}
	go m.awaitTransferorBye(l)
}

// awaitTransferorBye gives the transferring phone time to hang up its
// leg itself (RFC 5589 §6.1) and ends the leg if it does not.
func (m *Manager) awaitTransferorBye(l *leg) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		m.mu.RLock()
		still := m.dialogs[l.dialogID] == l
		m.mu.RUnlock()
		if !still {
			return
		}
	}
	l.call().releaseLeg(l, true)
}

// dialogByReplaces finds our leg of the dialog a Replaces names. The tags
// are taken in either order: RFC 3891 names them from the recipient's
// view, and some phones get that backwards.
func (m *Manager) dialogByReplaces(r *replacesID) *leg {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if l := m.dialogs[sip.DialogIDMake(r.callID, r.toTag, r.fromTag)]; l != nil {
		return l
	}
	return m.dialogs[sip.DialogIDMake(r.callID, r.fromTag, r.toTag)]
}

// attendedFromPhone completes a phone's attended transfer: l (this call)
// and other (the phone's consultation call) are both the phone's legs; the
// parties facing them are connected in this call and the phone's two legs
// leave (the phone hangs them up after the final NOTIFY).
func (c *Call) attendedFromPhone(l, other *leg) error {
	oc := other.call()
	if oc == c {
		return fmt.Errorf("attended transfer within one call: %w", ErrBadParty)
	}
	// The target: the party facing the phone in the other call.
	oc.mu.Lock()
	target := oc.otherPrimaryLocked(other)
	if target == nil || target.gone || oc.consult != nil || oc.conf != nil || oc.transfer != nil {
		oc.mu.Unlock()
		return fmt.Errorf("attended transfer from %s: %w", oc.id, ErrBusyOperation)
	}
	oc.teardownMediaLocked()
	target.ep.StopMusic()
	if target == oc.a {
		oc.a = nil
	} else {
		oc.b = nil
	}
	other.gone = true
	if other == oc.a {
		oc.a = nil
	} else {
		oc.b = nil
	}
	oc.mu.Unlock()
	oc.end(endInfo{by: "system", code: 200, disposition: store.DispositionAnswered, reason: "attended transfer into " + c.id})

	c.mu.Lock()
	if c.ended || l.gone || (l != c.a && l != c.b) || c.consult != nil || c.conf != nil || c.transfer != nil {
		c.mu.Unlock()
		c.releaseLeg(target, true)
		return fmt.Errorf("attended transfer into %s: %w", c.id, ErrBusyOperation)
	}
	target.owner.Store(c)
	c.replacePrimaryLocked(l, target)
	for _, p := range c.partiesLocked() {
		p.onHold = false
	}
	c.applyOrLog()
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("attended transfer from phone completed", "to", target.label, "consult_call", oc.id)
	c.m.publish(events.TransferCompleted, c, info)
	go c.m.awaitTransferorBye(other)
	return nil
}

// referNotifier sends the NOTIFYs of a REFER's implicit subscription.
type referNotifier struct {
	l    *leg
	done bool
}

func (n *referNotifier) notify(code int, reason string) {
	if n.done {
		return
	}
	final := code >= 200
	n.done = final
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	body := fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if err := n.l.request(ctx, sip.NOTIFY, []byte(body),
		sip.NewHeader("Event", "refer"),
		sip.NewHeader("Subscription-State", state),
		sip.NewHeader("Content-Type", "message/sipfrag;version=2.0")); err != nil {
		n.l.call().log.Debug("refer notify failed", "code", code, "error", err)
	}
}

// request sends an in-dialog request on the leg and waits for the final
// response.
func (l *leg) request(ctx context.Context, method sip.RequestMethod, body []byte, hdrs ...sip.Header) error {
	var (
		res *sip.Response
		err error
	)
	switch {
	case l.server != nil:
		req := sip.NewRequest(method, l.server.InviteRequest.Contact().Address)
		for _, h := range hdrs {
			req.AppendHeader(h)
		}
		req.SetBody(body)
		res, err = l.server.Do(ctx, req)
	case l.client != nil:
		target := l.client.InviteRequest.Recipient
		if ct := l.client.InviteResponse.Contact(); ct != nil {
			target = ct.Address
		}
		req := sip.NewRequest(method, target)
		for _, h := range hdrs {
			req.AppendHeader(h)
		}
		req.SetBody(body)
		res, err = l.client.Do(ctx, req)
	default:
		return errors.New("leg has no dialog")
	}
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return fmt.Errorf("%s: %d %s", method, res.StatusCode, res.Reason)
	}
	return nil
}
