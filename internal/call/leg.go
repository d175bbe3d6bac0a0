package call

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

// side tells the caller's leg from the callee's.
type side int

const (
	sideCaller side = iota + 1
	sideCallee
)

func (s side) String() string {
	if s == sideCaller {
		return "caller"
	}
	return "callee"
}

// leg is one SIP dialog of a call with its media endpoint. The caller's leg
// is a UAS dialog (server), the callee's a UAC dialog (client).
type leg struct {
	call     *Call
	side     side
	server   *sipgo.DialogServerSession
	client   *sipgo.DialogClientSession
	dialogID string
	ep       *media.Endpoint
	label    string // extension / trunk that this leg reached

	mu          sync.Mutex
	remote      media.SessionDesc
	codec       media.Codec
	sdpSession  uint64
	sdpVersion  uint64
	holding     bool        // this party put the other on hold
	reinviteAck chan uint32 // CSeq of ACKs to our 2xx of re-INVITEs
}

func newLeg(c *Call, s side, ep *media.Endpoint) *leg {
	return &leg{call: c, side: s, ep: ep, sdpSession: uint64(time.Now().UnixNano() & 0x7fffffffffff),
		sdpVersion: 1, reinviteAck: make(chan uint32, 4)}
}

// sdp renders our SDP for this leg: codecs as negotiated, dir as given.
func (l *leg) sdp(codecs []media.Codec, dtmfType uint8, hasDTMF bool, dir media.Direction, bump bool) []byte {
	l.mu.Lock()
	if bump {
		l.sdpVersion++
	}
	p := media.SDPParams{SessionID: l.sdpSession, Version: l.sdpVersion, Addr: l.ep.LocalAddr(),
		Codecs: codecs, DTMFType: dtmfType, HasDTMF: hasDTMF, Direction: dir}
	l.mu.Unlock()
	return media.BuildSDP(p)
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
		l.call.log.Debug("bye failed", "side", l.side.String(), "error", err)
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
	c := l.call
	body := req.Body()
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
		c.log.Debug("re-INVITE 2xx not acknowledged", "side", l.side.String(), "error", err)
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
