package call

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/webrtc"
)

// role is what a leg is to its call. The caller and the callee are the
// two primary parties; the others join through call control.
type role string

const (
	roleCaller  role = "caller"  // placed the call (the customer on inbound calls)
	roleCallee  role = "callee"  // answered it (or replaced the one who did, by transfer)
	roleConsult role = "consult" // consulted by a party; the other primary party is held meanwhile
	roleMember  role = "member"  // a further conference participant
	roleMonitor role = "monitor" // a supervisor listening, whispering or barging
)

// MonitorMode is how a supervisor takes part in a call.
type MonitorMode string

// Monitor modes: listen hears both and is heard by none, whisper is heard
// by the agent only, barge by everyone.
const (
	MonitorListen  MonitorMode = "listen"
	MonitorWhisper MonitorMode = "whisper"
	MonitorBarge   MonitorMode = "barge"
)

func (m MonitorMode) valid() bool {
	return m == MonitorListen || m == MonitorWhisper || m == MonitorBarge
}

// leg is one SIP dialog of a call with its media endpoint. The caller's leg
// is a UAS dialog (server), the callee's a UAC dialog (client).
type leg struct {
	id       string // stable within the call, for the API
	owner    atomic.Pointer[Call]
	server   *sipgo.DialogServerSession
	client   *sipgo.DialogClientSession
	dialogID string
	ep       *media.Endpoint
	label    string // extension / trunk that this leg reached
	party    Party  // who is on this leg
	ext      string // the extension whose device this is; "" for trunks

	// A browser's leg: rtc terminates its WebRTC media in front of ep
	// (internal/webrtc), wsSource is the SIP WebSocket it is reached over.
	// Both are set before the leg is shared and never change.
	rtc      *webrtc.Session
	wsSource string

	// Guarded by the owning Call's mu: what the leg is in the call and
	// what it hears.
	role      role
	onHold    bool        // hears music and is heard by nobody
	monitor   MonitorMode // for roleMonitor
	whisperTo *leg        // the agent a whispering monitor is heard by
	gone      bool        // left the call (BYE sent or received)

	mu          sync.Mutex
	remote      media.SessionDesc
	codec       media.Codec
	sdpSession  uint64
	sdpVersion  uint64
	holding     bool        // this party put the other on hold
	reinviteAck chan uint32 // CSeq of ACKs to our 2xx of re-INVITEs
}

func newLeg(c *Call, r role, ep *media.Endpoint) *leg {
	l := &leg{id: newID()[:8], role: r, ep: ep, sdpSession: uint64(time.Now().UnixNano() & 0x7fffffffffff),
		sdpVersion: 1, reinviteAck: make(chan uint32, 4)}
	l.owner.Store(c)
	return l
}

// call is the call the leg belongs to now: a leg moves between calls when
// calls are joined into a conference or a transfer connects two calls.
func (l *leg) call() *Call { return l.owner.Load() }

// sdp renders our SDP for this leg: codecs as negotiated, dir as given.
func (l *leg) sdp(codecs []media.Codec, dtmfType uint8, hasDTMF bool, dir media.Direction, bump bool) []byte {
	l.mu.Lock()
	if bump {
		l.sdpVersion++
	}
	p := media.SDPParams{SessionID: l.sdpSession, Version: l.sdpVersion, Addr: l.ep.LocalAddr(),
		Codecs: codecs, DTMFType: dtmfType, HasDTMF: hasDTMF, Direction: dir}
	l.mu.Unlock()
	plain := media.BuildSDP(p)
	if l.rtc == nil {
		return plain
	}
	// A browser reads WebRTC SDP: the session answers for the endpoint.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := l.rtc.Local(ctx, plain)
	if err != nil {
		l.call().log.Warn("webrtc sdp for a browser leg failed", "leg", l.id, "error", err)
		return plain
	}
	return out
}

// closeMedia releases the leg's endpoint and its WebRTC session, if any.
func (l *leg) closeMedia() {
	if l.ep != nil {
		_ = l.ep.Close()
	}
	if l.rtc != nil {
		l.rtc.Close()
	}
}

func (l *leg) readBye(req *sip.Request, tx sip.ServerTransaction) error {
	if l.server != nil {
		return l.server.ReadBye(req, tx)
	}
	return l.client.ReadBye(req, tx)
}

// bye ends this leg's dialog from our side.
func (l *leg) bye() {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var err error
	if l.server != nil {
		err = l.server.Bye(ctx)
	} else if l.client != nil {
		err = l.client.Bye(ctx)
	}
	if err != nil {
		l.call().log.Debug("bye failed", "leg", l.id, "error", err)
	}
}

// ack routes an ACK: the one for the initial 2xx confirms the dialog, the
// others confirm our 2xx to a re-INVITE.
func (l *leg) ack(req *sip.Request, tx sip.ServerTransaction) {
	if l.server != nil {
		if err := l.server.ReadAck(req, tx); err == nil {
			return
		}
	}
	if cs := req.CSeq(); cs != nil {
		select {
		case l.reinviteAck <- cs.SeqNo:
		default:
		}
	}
}

// handleReinvite answers a re-INVITE (hold, resume, media change) locally:
// the other leg needs no renegotiation because the relay absorbs it.
func (l *leg) handleReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := l.call()
	body := req.Body()
	if l.rtc != nil && len(body) > 0 {
		// The browser re-offers WebRTC (hold, resume, ICE restart); the
		// rest of this reads the plain view of it.
		plain, err := l.rtc.Remote(body)
		if err != nil {
			c.log.Info("browser re-INVITE refused", "leg", l.id, "error", err)
			c.m.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
			return
		}
		body = plain
	}
	var offer media.SessionDesc
	if len(body) > 0 {
		var err error
		offer, err = media.ParseSDP(body)
		if err != nil {
			c.m.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
			return
		}
		if _, err := media.Negotiate(offer); err != nil {
			c.m.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
			return
		}
	} else {
		// Offerless re-INVITE: we offer what we have; treat as a refresh.
		offer.Direction = media.DirectionSendRecv
	}
	holding := offer.Direction == media.DirectionSendOnly || offer.Direction == media.DirectionInactive ||
		(offer.Addr.IsValid() && offer.Addr.Addr().IsUnspecified())

	l.mu.Lock()
	codec := l.codec
	if len(body) > 0 {
		l.remote = offer
		if !offer.Addr.Addr().IsUnspecified() && offer.Addr.Port() != 0 {
			l.ep.SetRemote(offer.Addr, codec, offer.DTMFType)
		}
	}
	l.mu.Unlock()

	answerDir := media.DirectionSendRecv
	switch offer.Direction {
	case media.DirectionSendOnly:
		answerDir = media.DirectionRecvOnly
	case media.DirectionInactive:
		answerDir = media.DirectionInactive
	case media.DirectionRecvOnly:
		answerDir = media.DirectionSendOnly
	}
	sdp := l.sdp([]media.Codec{codec}, offer.DTMFType, offer.HasDTMF, answerDir, true)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", sdp)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	contact := c.m.sip.Contact(req.Transport())
	res.AppendHeader(&contact)
	if err := c.m.respond2xx(tx, res, l.reinviteAck, req.CSeq().SeqNo); err != nil {
		c.log.Debug("re-INVITE 2xx not acknowledged", "leg", l.id, "error", err)
	}
	c.partyHolds(l, holding)
}

// respond2xx sends a 2xx to an INVITE and retransmits it until the ACK
// arrives: RFC 3261 §13.3.1.4 (and RFC 6026) make this the UAS core's job.
func (m *Manager) respond2xx(tx sip.ServerTransaction, res *sip.Response, acks <-chan uint32, cseq uint32) error {
	if err := tx.Respond(res); err != nil {
		return fmt.Errorf("respond 2xx: %w", err)
	}
	if sip.IsReliable(res.Transport()) {
		// Over TCP nothing is retransmitted; still wait briefly for the ACK
		// so the next request in this dialog does not overtake it.
		select {
		case <-acks:
		case <-time.After(2 * time.Second):
		}
		return nil
	}
	interval := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	retransmit := time.NewTimer(interval)
	defer retransmit.Stop()
	for {
		select {
		case got := <-acks:
			if got == cseq {
				return nil
			}
		case <-retransmit.C:
			if err := tx.Respond(res); err != nil {
				return fmt.Errorf("retransmit 2xx: %w", err)
			}
			interval = min(2*interval, sip.T2)
			retransmit.Reset(interval)
		case <-deadline.C:
			return fmt.Errorf("no ACK within %s", 64*sip.T1)
		}
	}
}
