package call

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webrtc"
)

// Browsers as phones (SPEC C5): a leg whose device speaks WebRTC keeps a
// plain media.Endpoint like any other, and a webrtc.Session in front of
// it translates SDP at the SIP boundary (internal/webrtc). Four places see
// a browser's SDP: its INVITE (acceptWebRTC), our INVITE to it
// (offerWebRTC in fork), its responses (plainResponse) and its re-INVITEs
// (leg.handleReinvite); leg.sdp renders our side for it.

// ReasonConnectionLost is the CDR reason of a call ended because the SIP
// WebSocket of one of its browser legs closed.
const ReasonConnectionLost = "connection_lost"

// SetWebRTC lets the manager terminate browsers' WebRTC media; without it
// WebRTC offers get 488. Call before traffic.
func (m *Manager) SetWebRTC(g *webrtc.Gateway) { m.rtc = g }

// acceptWebRTC turns a browser's WebRTC offer into the plain offer the
// rest of the INVITE handling reads. A plain offer passes untouched (nil
// session). When it fails it has answered 488 and returns false.
func (m *Manager) acceptWebRTC(req *sip.Request, tx sip.ServerTransaction) (*webrtc.Session, bool) {
	if !webrtc.IsWebRTC(req.Body()) {
		return nil, true
	}
	if m.rtc == nil {
		m.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", sip.NewHeader("Warning", `399 switchboard "WebRTC media is not enabled"`))
		return nil, false
	}
	s, plain, err := m.rtc.Accept(req.Body())
	if err != nil {
		m.log.Info("webrtc offer refused", "source", req.Source(), "error", err)
		warn := `399 switchboard "WebRTC offer unusable"`
		if errors.Is(err, webrtc.ErrNoPCMU) {
			warn = `304 switchboard "PCMU required"`
		}
		m.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", sip.NewHeader("Warning", warn))
		return nil, false
	}
	req.SetBody(plain)
	return s, true
}

// offerWebRTC makes the offer for one fork: a WebRTC offer, in a session
// of its own, when the device is a browser on a SIP WebSocket; the plain
// offer otherwise.
func (m *Manager) offerWebRTC(ctx context.Context, d destination, plain []byte) (*webrtc.Session, []byte, error) {
	if d.wsSource() == "" || m.rtc == nil {
		return nil, plain, nil
	}
	s, offer, err := m.rtc.Offer(ctx, plain)
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc offer: %w", err)
	}
	return s, offer, nil
}

// plainResponse replaces a browser's WebRTC answer in res (183 or 200) by
// its plain view, which is what the call layer parses. A body that is not
// WebRTC (already translated, or none) is left alone.
func plainResponse(s *webrtc.Session, res *sip.Response) {
	body := res.Body()
	if len(body) == 0 || !webrtc.IsWebRTC(body) {
		return
	}
	plain, err := s.Remote(body)
	if err != nil {
		res.SetBody(nil) // unusable: the call layer refuses an answer without SDP
		return
	}
	res.SetBody(plain)
}

// wsSource is where a destination on a SIP WebSocket is reached ("" for
// other transports).
func (d destination) wsSource() string {
	if strings.EqualFold(d.transport, "ws") || strings.EqualFold(d.transport, "wss") {
		return d.addr
	}
	return ""
}

// ConnectionLost ends, at once, what ran over a SIP WebSocket that closed:
// each call with a leg on it loses that leg as if it had sent BYE, and the
// CDR says connection_lost. Ringing INVITEs to it fail by themselves (the
// transaction layer terminates transactions on a closed connection).
func (m *Manager) ConnectionLost(source string) {
	m.mu.RLock()
	calls := make([]*Call, 0, len(m.calls))
	for _, c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.RUnlock()
	for _, c := range calls {
		c.mu.Lock()
		var lost []*leg
		for _, l := range c.partiesLocked() {
			if l.wsSource == source {
				lost = append(lost, l)
			}
		}
		c.mu.Unlock()
		for _, l := range lost {
			c.log.Warn("browser connection lost: its leg leaves the call", "leg", l.id, "source", source)
			c.lostLeg(l)
		}
	}
}

// lostLeg is hangupFrom for a leg whose connection vanished: no BYE can
// reach it, and the CDR reason is connection_lost.
func (c *Call) lostLeg(l *leg) {
	c.mu.Lock()
	if l.gone || l.call() != c {
		c.mu.Unlock()
		return
	}
	connected := c.connected
	endAll := c.leaveEndsCallLocked(l)
	c.mu.Unlock()
	if !connected {
		c.hangup("system", ReasonConnectionLost) // a browser caller vanished while ringing
		return
	}
	if !endAll {
		c.leave(l, false)
		return
	}
	by := string(l.role)
	if l.role != roleCaller && l.role != roleCallee {
		by = l.label
	}
	c.end(endInfo{by: by, code: 200, disposition: store.DispositionAnswered, reason: ReasonConnectionLost, skip: l})
}
