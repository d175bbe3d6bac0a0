package call

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// DialError is a new leg that was not answered: the best final response
// of its fork (RFC 3261 §16.7), or 480 when nobody answered in time.
type DialError struct {
	Code   int
	Reason string
}

func (e *DialError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Reason) }

// ErrDialCancelled is returned when a dial was called off (consultation
// cancelled, call ended).
var ErrDialCancelled = errors.New("dial cancelled")

// dialSpec describes a leg that call control adds to a call.
type dialSpec struct {
	route     route
	from      Party // what the called party's phone shows
	role      role
	ring      time.Duration // 0: the manager's ring timeout
	onRinging func()
}

// pendingDial is a leg being rung for a call; cancel stops it.
type pendingDial struct {
	cancel context.CancelFunc
	target string
	by     string // extension of who asked
	mode   MonitorMode

	// For queue offers, under the Call's mu: the current ringing attempt,
	// and whether to ring again asking the phone to answer by itself (the
	// agent answered from the console).
	attempt context.CancelFunc
	redial  bool
	// declined: the agent declined from the console (decline.go); the
	// ACD hears "busy", not RONA.
	declined bool
}

// ourCodecs are offered on legs we originate: both G.711 laws, since the
// relay transcodes and the mixer decodes either.
var ourCodecs = []media.Codec{media.PCMU, media.PCMA}

// dialLeg rings every destination of spec.route for a new leg of c and
// returns the first to answer, with its media endpoint pointed at the
// answer. The leg is not yet in the call's parties: the caller of dialLeg
// decides where it goes, under c.mu, or releases it if the call moved on.
func (c *Call) dialLeg(ctx context.Context, spec dialSpec) (*leg, error) {
	m := c.m
	dests := m.destinations(spec.route, "")
	if len(dests) == 0 {
		return nil, &DialError{Code: sip.StatusTemporarilyUnavailable, Reason: "Nobody Registered"}
	}
	ep, err := m.media.NewEndpoint()
	if err != nil {
		return nil, fmt.Errorf("dial %s: media endpoint: %w", spec.route.describe(), err)
	}
	l := newLeg(c, spec.role, ep)
	offer := l.sdp(ourCodecs, 101, true, media.DirectionSendRecv, false)
	ring := spec.ring
	if ring <= 0 {
		ring = m.cfg.RingTimeout
	}
	ringCtx, cancel := context.WithTimeout(ctx, ring)
	defer cancel()

	results := make(chan forkResult, len(dests))
	cancels := make([]context.CancelFunc, len(dests))
	var ringing sync.Once
	for i, d := range dests {
		fctx, fcancel := context.WithCancel(ringCtx)
		cancels[i] = fcancel
		go c.fork(fctx, d, spec.from, offer, results, func(res *sip.Response) {
			if res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress {
				if spec.onRinging != nil {
					ringing.Do(spec.onRinging)
				}
			}
		})
	}
	var winner *forkResult
	var failures []forkResult
	pending := len(dests)
	for pending > 0 && winner == nil {
		r := <-results
		pending--
		if r.err == nil {
			winner = &r
		} else {
			failures = append(failures, r)
		}
	}
	for _, fc := range cancels {
		fc()
	}
	if pending > 0 {
		go c.drainForks(results, pending)
	}
	if winner == nil {
		_ = ep.Close()
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, ErrDialCancelled
		case errors.Is(ringCtx.Err(), context.DeadlineExceeded):
			return nil, &DialError{Code: sip.StatusTemporarilyUnavailable, Reason: "No Answer"}
		}
		code, reason := bestFailure(failures)
		return nil, &DialError{Code: code, Reason: reason}
	}
	ackCtx, ackCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ackCancel()
	if err := winner.dialog.Ack(ackCtx); err != nil {
		c.log.Warn("ack to new leg failed", "error", err)
	}
	sd, err := media.ParseSDP(winner.dialog.InviteResponse.Body())
	if err == nil && len(sd.Codecs) == 0 {
		err = media.ErrNoCommonCodec
	}
	l.client, l.dialogID, l.label = winner.dialog, winner.dialog.ID, winner.dest.label
	l.rtc, l.wsSource = winner.rtc, winner.dest.wsSource()
	l.party = m.answeringParty(ctx, spec.route, winner.dest)
	if winner.dest.trunk == nil {
		l.ext = winner.dest.label
	}
	if err != nil {
		c.log.Warn("new leg answered with unusable SDP; hanging up", "leg", l.label, "error", err)
		l.bye()
		l.closeMedia()
		return nil, &DialError{Code: sip.StatusNotAcceptableHere, Reason: "Not Acceptable Here"}
	}
	l.codec, l.remote = sd.Codecs[0], sd
	ep.SetRemote(sd.Addr, sd.Codecs[0], sd.DTMFType)
	ep.OnDTMF(c.dtmfHandler(l))
	m.addDialog(l)
	return l, nil
}

// releaseLeg ends a leg that is no longer (or never was) a party: BYE if
// asked, media closed, dialog forgotten. Safe to call more than once.
func (c *Call) releaseLeg(l *leg, bye bool) {
	if l == nil {
		return
	}
	if bye {
		l.bye()
	}
	l.closeMedia()
	c.m.forgetDialog(l)
}

// routeFor resolves a target dialled on behalf of extension ext (whose
// profile applies, e.g. to external numbers).
func (m *Manager) routeFor(ctx context.Context, ext, target string) (route, error) {
	m.mu.RLock()
	rt := m.routes
	m.mu.RUnlock()
	return m.routeFromExtension(ctx, &rt, store.Extension{Number: ext}, target)
}

// extensionRoute rings one extension's devices.
func extensionRoute(ext string) route {
	return route{kind: store.TargetExtension, target: ext, direction: "internal", members: []string{ext}}
}

// fromForDial is what a new leg's phone shows as the caller: the party
// the call is about, with the outbound caller ID rule for trunks.
func fromForDial(p Party, r route) Party {
	if r.trunk != nil && r.callerID != "" {
		return Party{Number: r.callerID, Kind: p.Kind}
	}
	return p
}

// waitAnswerOpts is shared by the fork for all destinations.
func answerOptions(d destination, onResponse func(*sip.Response)) sipgo.AnswerOptions {
	opts := sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		onResponse(res)
		return nil
	}}
	if d.trunk != nil && d.trunk.Password != "" {
		opts.Username, opts.Password = d.trunk.Username, d.trunk.Password
	}
	return opts
}
