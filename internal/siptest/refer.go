package siptest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Transfer is a REFER the far end accepted (RFC 3515) and the implicit
// subscription to its progress: the NOTIFYs (Event: refer, message/sipfrag
// bodies, RFC 3420) that report how the referred call fares.
type Transfer struct {
	referTo string
	done    chan struct{}
	once    sync.Once

	// seq and listed are guarded by the call's mu: seq is the CSeq of the REFER
	// (the last one, after a digest challenge), which a NOTIFY names in its
	// Event id parameter (RFC 3515 §2.4.6).
	seq    uint32
	listed bool

	mu    sync.Mutex
	codes []int
	err   error
}

// ReferTo returns the Refer-To header value the REFER carried.
func (t *Transfer) ReferTo() string { return t.referTo }

// Done is closed once the subscription has ended: a NOTIFY with
// Subscription-State: terminated, or the call's end.
func (t *Transfer) Done() <-chan struct{} { return t.done }

// Progress returns the sipfrag status codes of the NOTIFYs received so
// far, in order (e.g. 100, 180, 200).
func (t *Transfer) Progress() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]int(nil), t.codes...)
}

// Wait waits for the NOTIFY with Subscription-State: terminated and returns
// its sipfrag status code: 200 when the referred call was answered, the
// failure otherwise (e.g. 486). If the subscription ends without a final
// status (the call ended first, or the last NOTIFY held a 1xx) or ctx
// expires, it returns the last code seen (0 if none) and an error.
func (t *Transfer) Wait(ctx context.Context) (int, error) {
	select {
	case <-t.done:
	case <-ctx.Done():
		return t.last(), fmt.Errorf("siptest: transfer: %w", ctx.Err())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastLocked(), t.err
}

func (t *Transfer) last() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastLocked()
}

func (t *Transfer) lastLocked() int {
	if len(t.codes) == 0 {
		return 0
	}
	return t.codes[len(t.codes)-1]
}

// finish ends the subscription; the first call decides Wait's error.
func (t *Transfer) finish(err error) {
	t.once.Do(func() {
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
		close(t.done)
	})
}

// Refer asks the far end to transfer the call to target (blind transfer,
// RFC 5589 §6): a REFER inside the call's dialog with Refer-To:
// <sip:target@Server> (a full sip: URI target is used as is), Referred-By
// with our AOR, and our Contact. Digest challenges are answered as for
// REGISTER. It returns once the REFER has its final response: the Transfer
// for a 2xx (202 Accepted), a *StatusError otherwise.
func (c *Call) Refer(ctx context.Context, target string) (*Transfer, error) {
	uri, err := c.p.targetURI(target)
	if err != nil {
		return nil, fmt.Errorf("siptest: REFER: %w", err)
	}
	return c.refer(ctx, "<"+uri.String()+">")
}

// ReferReplaces completes an attended transfer (RFC 5589 §7): it asks c's
// far end (the transferee) to call other's far end (the target) with an
// INVITE carrying Replaces, so that the new call takes the place of other,
// another established call of this phone. The REFER on c's dialog carries
//
//	Refer-To: <sip:X@Server?Replaces=CALLID%3Bto-tag%3DTT%3Bfrom-tag%3DFT>
//
// with X the user part of other's remote party (To of an outbound call,
// From of an inbound one; without Config.Server, X@ that party's host).
//
// The tags follow RFC 3891 §3: the UA receiving the INVITE with Replaces
// compares to-tag with its own (local) tag and from-tag with its peer's
// (remote) tag. That UA is other's far end (the transfer target, here
// Switchboard's leg to us), so from our side of other's dialog:
// to-tag = other's remote tag, from-tag = other's local tag, whichever side
// sent other's INVITE (RFC 5589 §7.1 example: the transferor's own tag is
// the from-tag). The value is escaped as a URI header (RFC 3261 §19.1.1).
func (c *Call) ReferReplaces(ctx context.Context, other *Call) (*Transfer, error) {
	if other == nil || other == c || other.p != c.p {
		return nil, errors.New("siptest: REFER/Replaces: other must be another call of this phone")
	}
	other.mu.Lock()
	st, remoteTag := other.state, other.rtag
	other.mu.Unlock()
	if st != stateActive {
		return nil, errors.New("siptest: REFER/Replaces: the call to replace is not established")
	}
	addr := other.remoteAddr()
	if addr.User == "" {
		return nil, errors.New("siptest: REFER/Replaces: the call to replace has no remote user")
	}
	uri := sip.Uri{Scheme: addr.Scheme, User: addr.User, Host: addr.Host, Port: addr.Port}
	if c.p.cfg.Server != "" {
		var err error
		if uri, err = c.p.targetURI(addr.User); err != nil {
			return nil, fmt.Errorf("siptest: REFER/Replaces: %w", err)
		}
	}
	uri.Headers = sip.NewParams()
	uri.Headers.Add("Replaces", escapeURIHeader(replacesValue(other.callID, remoteTag, other.localTag)))
	return c.refer(ctx, "<"+uri.String()+">")
}

// replacesValue is the Replaces header value (RFC 3891 §6.1) naming a
// dialog, the tags as seen by the UA that will match it.
func replacesValue(callID, toTag, fromTag string) string {
	return callID + ";to-tag=" + toTag + ";from-tag=" + fromTag
}

// escapeURIHeader %-escapes s for use as a header value in a SIP URI
// (hvalue, RFC 3261 §25.1): everything but alphanumerics and the mark
// characters is escaped, which also covers ';', '=', '@', '?' and '&'.
func escapeURIHeader(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			strings.IndexByte("-_.!~*'()", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[ch>>4])
		b.WriteByte(hexDigits[ch&15])
	}
	return b.String()
}

// remoteAddr is the far end's address as named in the INVITE.
func (c *Call) remoteAddr() sip.Uri {
	if c.outbound {
		if h := c.invite.To(); h != nil {
			return h.Address
		}
	} else if h := c.invite.From(); h != nil {
		return h.Address
	}
	return sip.Uri{}
}

func (c *Call) refer(ctx context.Context, referTo string) (*Transfer, error) {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	if st != stateActive {
		return nil, fmt.Errorf("siptest: REFER: call is not established")
	}
	t := &Transfer{referTo: referTo, done: make(chan struct{})}
	build := func() *sip.Request {
		req := sip.NewRequest(sip.REFER, c.remoteTarget())
		req.AppendHeader(sip.NewHeader("Refer-To", referTo))
		aor := c.p.aor()
		req.AppendHeader(sip.NewHeader("Referred-By", "<"+aor.String()+">"))
		req.AppendHeader(c.p.contact.Clone())
		req.AppendHeader(sip.NewHeader("Allow", allowHeader))
		req.AppendHeader(sip.NewHeader("User-Agent", userAgent))
		req.SetBody(nil)
		c.p.setLaddr(req)
		return req
	}
	// The transfer is listed under the CSeq each REFER will carry before
	// it is sent: a NOTIFY may overtake the 202 (RFC 3515 §2.4.4).
	register := func(seq uint32) {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.seq = seq
		if c.state == stateEnded {
			// end() has run and will not see this transfer.
			t.finish(fmt.Errorf("siptest: transfer: %w", ErrCallEnded))
			return
		}
		if !t.listed {
			t.listed = true
			c.transfers = append(c.transfers, t)
		}
	}
	res, err := c.p.withDigest(ctx, build(),
		func(ctx context.Context, r *sip.Request) (*sip.Response, error) { return c.roundTrip(ctx, r, register) },
		func(*sip.Request) *sip.Request { return build() })
	if err == nil && !res.IsSuccess() {
		err = &StatusError{Code: res.StatusCode, Reason: res.Reason}
	}
	if err != nil {
		c.dropTransfer(t)
		err = fmt.Errorf("siptest: REFER %s: %w", referTo, err)
		t.finish(err)
		return nil, err
	}
	return t, nil
}

func (c *Call) dropTransfer(t *Transfer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.transfers {
		if x == t {
			c.transfers = append(c.transfers[:i:i], c.transfers[i+1:]...)
			return
		}
	}
}

// findTransfer matches a NOTIFY to a REFER: by the Event id parameter,
// the REFER's CSeq (RFC 3515 §2.4.6), or, when the NOTIFY has none (allowed
// for the first REFER of a dialog), the oldest open subscription.
func (c *Call) findTransfer(id string) *Transfer {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.transfers {
		if id == "" || strconv.FormatUint(uint64(t.seq), 10) == id {
			return t
		}
	}
	return nil
}

// onNotify handles an in-dialog NOTIFY (RFC 6665 §4.1.3) for one of our
// REFERs: 200 after recording its sipfrag status, 489 for another event
// package, 481 when no REFER of ours matches, 415/400 for a body that is
// not a sipfrag status line.
func (c *Call) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	ev := req.GetHeader("Event")
	if ev == nil {
		ev = req.GetHeader("o") // compact form (RFC 6665 §8.2.1)
	}
	if ev == nil {
		c.p.respond(tx, req, 400)
		return
	}
	pkg, id := parseEvent(ev.Value())
	if pkg != "refer" {
		c.p.respond(tx, req, 489, sip.NewHeader("Allow-Events", "refer"))
		return
	}
	t := c.findTransfer(id)
	if t == nil {
		c.p.respond(tx, req, 481)
		return
	}
	ct := req.ContentType()
	if ct == nil || mediaType(ct.Value()) != "message/sipfrag" {
		c.p.respond(tx, req, 415, sip.NewHeader("Accept", "message/sipfrag"))
		return
	}
	code, reason, err := parseSipfrag(req.Body())
	if err != nil {
		c.log.Debug("siptest: bad NOTIFY body", "error", err)
		c.p.respond(tx, req, 400)
		return
	}
	ss := req.GetHeader("Subscription-State")
	if ss == nil {
		c.p.respond(tx, req, 400) // mandatory in NOTIFY, RFC 6665 §8.2.3
		return
	}
	state, _, _ := strings.Cut(ss.Value(), ";")
	terminated := strings.EqualFold(strings.TrimSpace(state), "terminated")

	t.mu.Lock()
	t.codes = append(t.codes, code)
	t.mu.Unlock()
	if terminated {
		c.dropTransfer(t)
		if code >= 200 {
			t.finish(nil)
		} else {
			t.finish(fmt.Errorf("siptest: transfer: subscription terminated (%s) at %d %s", ss.Value(), code, reason))
		}
	}
	c.p.respond(tx, req, 200)
}

// parseEvent returns the lower-cased event package of an Event header value
// (RFC 6665 §8.2.1) and its id parameter.
func parseEvent(v string) (pkg, id string) {
	parts := strings.Split(v, ";")
	pkg = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "id") {
			id = strings.TrimSpace(val)
		}
	}
	return pkg, id
}

// mediaType is a Content-Type value's lower-cased type/subtype, parameters
// (e.g. ";version=2.0") dropped.
func mediaType(v string) string {
	t, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(t))
}
