package call

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webrtc"
)

// Call is the aggregate of one interaction: its parties (SIP legs with
// their media endpoints), how they hear each other (a packet relay for two
// parties, a mixer for more, a recorder, monitors), and its state. It is
// changed only through its methods, under mu.
//
// The caller (a) and the callee (b) are the primary parties. Call control
// adds others: a consulted party, conference members, supervisors. A leg
// may move between calls (joining calls into a conference, completing a
// phone's attended transfer); leg.owner says where it is now.
type Call struct {
	id  string
	m   *Manager
	log *slog.Logger

	caller    Party
	callerExt string // the calling extension, "" for calls from trunks
	dialled   string
	startedAt time.Time

	mu         sync.Mutex
	route      route
	state      State
	a, b       *leg      // primary parties; b is nil while ringing or transferring
	others     []*leg    // consult, conference members, monitors
	answeredAt time.Time // when a person answered (for a queue call: the agent)
	answeredBy string
	connected  bool   // the caller's dialog is established (answered, or queued with music)
	codec      string // the caller leg's codec, for Info
	endOnce    sync.Once
	ended      bool

	media    mediaState
	consult  *consultState
	conf     *confState
	transfer *transferState
	rec      *recordingState
	queue    *queueState     // while the ACD has the call (queue.go)
	acdLegs  map[*leg]string // legs of queue agents the ACD counts busy here, by ACD entry (consultqueue.go)
	monitors []*pendingDial  // supervisors being rung

	cancelRing        context.CancelFunc // stops the fork while ringing
	cancelledBySystem bool
	declined          bool             // the callee declined from the console: the caller hears busy (decline.go)
	ringing           chan ringControl // redirect / pickup of a ringing call, read by setup
	callerRTC         *webrtc.Session  // a browser caller's media until its leg takes it (setup)

	cad cadState // call-associated data (cad.go), under mu
}

// Info is a call as the API and events show it.
type Info struct {
	ID         string          `json:"id"`
	State      State           `json:"state"`
	Direction  string          `json:"direction"`
	From       Party           `json:"from"`
	To         string          `json:"to"`
	DID        string          `json:"did,omitempty"`
	Target     string          `json:"target"`
	AnsweredBy string          `json:"answered_by,omitempty"`
	Held       string          `json:"held,omitempty"` // primary party hearing music: caller | callee
	Codec      string          `json:"codec,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	AnsweredAt *time.Time      `json:"answered_at,omitempty"`
	Parties    []PartyInfo     `json:"parties"`
	Consult    *ConsultInfo    `json:"consult,omitempty"`
	Conference *ConferenceInfo `json:"conference,omitempty"`
	Transfer   *TransferInfo   `json:"transfer,omitempty"`
	Recording  *RecordingInfo  `json:"recording,omitempty"`
	// Ringing lists the agent extensions a queued call is being offered to
	// now (ring all offers to several): they see it ringing for them.
	Ringing []string `json:"ringing,omitempty"`
}

// PartyInfo is one leg of a call.
type PartyInfo struct {
	ID        string      `json:"id"`
	Role      string      `json:"role"` // caller | callee | consult | member | monitor
	Number    string      `json:"number"`
	Name      string      `json:"name,omitempty"`
	Kind      string      `json:"kind"` // extension | external
	Extension string      `json:"extension,omitempty"`
	Held      bool        `json:"held,omitempty"`
	Mode      MonitorMode `json:"mode,omitempty"`
}

// ID is the call's Switchboard identifier.
func (c *Call) ID() string { return c.id }

// Info returns a snapshot.
func (c *Call) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.infoLocked()
}

func (c *Call) infoLocked() Info {
	i := Info{ID: c.id, State: c.state, Direction: c.route.direction, From: c.caller, To: c.dialled,
		DID: c.route.did, Target: c.route.describe(), AnsweredBy: c.answeredBy, StartedAt: c.startedAt,
		Codec: c.codec, Parties: make([]PartyInfo, 0, 2+len(c.others))}
	switch {
	case c.state != StateAnswered && c.state != StateHeld:
		// A queued caller hears music too, but is waiting, not held.
	case c.a != nil && c.a.onHold:
		i.Held = "caller"
	case c.b != nil && c.b.onHold:
		i.Held = "callee"
	}
	if !c.answeredAt.IsZero() {
		t := c.answeredAt
		i.AnsweredAt = &t
	}
	if c.connected {
		for _, l := range c.partiesLocked() {
			i.Parties = append(i.Parties, PartyInfo{ID: l.id, Role: string(l.role), Number: l.party.Number,
				Name: l.party.Name, Kind: l.party.Kind, Extension: l.ext, Held: l.onHold, Mode: l.monitor})
		}
	}
	i.Consult = c.consultInfoLocked()
	if c.conf != nil {
		i.Conference = &ConferenceInfo{Initiator: c.conf.initiator.id}
	}
	if c.transfer != nil {
		i.Transfer = &TransferInfo{Target: c.transfer.target, By: c.transfer.by}
	}
	if c.rec != nil {
		i.Recording = c.rec.info()
	}
	if c.queue != nil && c.b == nil && len(c.queue.offers) > 0 {
		i.Ringing = slices.Sorted(maps.Keys(c.queue.offers))
	}
	return i
}

// partiesLocked lists the legs in the call: primaries first.
func (c *Call) partiesLocked() []*leg {
	out := make([]*leg, 0, 2+len(c.others))
	for _, l := range []*leg{c.a, c.b} {
		if l != nil && !l.gone {
			out = append(out, l)
		}
	}
	for _, l := range c.others {
		if !l.gone {
			out = append(out, l)
		}
	}
	return out
}

// move changes state if the transition is allowed and publishes it.
func (c *Call) move(to State, ev events.Type) bool {
	c.mu.Lock()
	if !canMove(c.state, to) {
		c.mu.Unlock()
		return false
	}
	c.state = to
	info := c.infoLocked()
	c.mu.Unlock()
	c.m.publish(ev, c, info)
	return true
}

// State returns the current state.
func (c *Call) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Errors of call control; the API maps each to a status and a stable code.
var (
	// ErrNotAnswered: a media operation on a call not yet answered.
	ErrNotAnswered = errors.New("call is not answered")
	// ErrBadParty: a party that is neither "caller", "callee" nor a party ID of the call.
	ErrBadParty = errors.New("party must be caller, callee or a party id of the call")
	// ErrNotOnCall: the acting user has no device on the call.
	ErrNotOnCall = errors.New("you are not on this call")
	// ErrInConference: hold is not possible inside a conference.
	ErrInConference = errors.New("not possible in a conference")
	// ErrConsultActive: a consultation is already in progress.
	ErrConsultActive = errors.New("a consultation is already in progress")
	// ErrNoConsult: the operation needs a consultation in progress.
	ErrNoConsult = errors.New("no consultation in progress")
	// ErrBusyOperation: another transfer is in progress.
	ErrBusyOperation = errors.New("a transfer is already in progress")
	// ErrHeld: a held call cannot be ended from the console; resume it first.
	ErrHeld = errors.New("the call is on hold; resume it before ending it")
	// ErrNotRinging: pickup of a call that is no longer ringing.
	ErrNotRinging = errors.New("the call is not ringing")
	// ErrNotInitiator: only the party who started the consultation or conference may do this.
	ErrNotInitiator = errors.New("only the party who started the consultation or conference may do this")
	// ErrCallEnded: the call ended meanwhile.
	ErrCallEnded = errors.New("the call has ended")
)

// Hold puts a party on hold from the server side: the party ("caller",
// "callee" or a party ID) hears music and nobody hears it. No re-INVITE is
// needed because the media is ours. Inside a conference nobody can be held.
func (c *Call) Hold(party string) error {
	c.mu.Lock()
	l, err := c.partyLocked(party)
	if err == nil {
		err = c.holdLocked(l, true)
	}
	info := c.infoLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.m.publish(events.CallHeld, c, info)
	c.log.Info("call hold changed", "held", l.id)
	return nil
}

// Resume takes every primary party off hold (a consultation keeps its
// own rule: resuming the customer holds the consulted party; see Swap).
func (c *Call) Resume() error {
	c.mu.Lock()
	if c.state != StateAnswered && c.state != StateHeld {
		c.mu.Unlock()
		return ErrNotAnswered
	}
	if c.consult != nil && c.consult.leg != nil {
		// Never both held: resuming the customer holds the consulted party.
		c.mu.Unlock()
		return c.swapTo(c.consult.customer)
	}
	changed := false
	for _, l := range c.partiesLocked() {
		if l.onHold {
			l.onHold = false
			changed = true
		}
	}
	var err error
	if changed {
		err = c.applyMediaLocked()
	}
	info := c.infoLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if changed {
		c.m.publish(events.CallResumed, c, info)
		c.log.Info("call resumed")
	}
	return nil
}

// holdLocked sets one party's hold. Two-party calls keep the rule that
// only one primary is held at a time.
func (c *Call) holdLocked(l *leg, on bool) error {
	if c.state != StateAnswered && c.state != StateHeld {
		return ErrNotAnswered
	}
	if c.conf != nil {
		return ErrInConference
	}
	if l.role == roleMonitor {
		return ErrBadParty
	}
	if l.onHold == on {
		return nil
	}
	if on {
		for _, o := range c.partiesLocked() {
			if o != l && o.role != roleMonitor {
				o.onHold = false // never both held
			}
		}
	}
	l.onHold = on
	return c.applyMediaLocked()
}

// partyLocked resolves "caller", "callee" or a party ID.
func (c *Call) partyLocked(party string) (*leg, error) {
	switch party {
	case "caller":
		if c.a != nil && !c.a.gone {
			return c.a, nil
		}
	case "callee":
		if c.b != nil && !c.b.gone {
			return c.b, nil
		}
	default:
		for _, l := range c.partiesLocked() {
			if l.id == party {
				return l, nil
			}
		}
	}
	if c.answeredAt.IsZero() {
		return nil, ErrNotAnswered
	}
	return nil, ErrBadParty
}

// partyHolds applies a phone's hold (re-INVITE sendonly/inactive) or
// resume: the other primary party hears music while l holds. In a
// conference or consultation the phone's hold is only acknowledged.
func (c *Call) partyHolds(l *leg, holding bool) {
	l.mu.Lock()
	changed := l.holding != holding
	l.holding = holding
	l.mu.Unlock()
	if !changed {
		return
	}
	c.mu.Lock()
	var other *leg
	switch {
	case c.conf != nil || c.consult != nil || l.role == roleMonitor:
	case l == c.a:
		other = c.b
	case l == c.b:
		other = c.a
	}
	if other == nil || other.gone {
		c.mu.Unlock()
		return
	}
	err := c.holdLocked(other, holding)
	info := c.infoLocked()
	c.mu.Unlock()
	if err != nil {
		c.log.Debug("hold from phone not applied", "leg", l.id, "error", err)
		return
	}
	if holding {
		c.m.publish(events.CallHeld, c, info)
	} else {
		c.m.publish(events.CallResumed, c, info)
	}
}

// silentLeg returns a leg of an answered call that has sent no RTP for
// longer than timeout while not holding (a holding phone may send nothing).
func (c *Call) silentLeg(timeout time.Duration) *leg {
	c.mu.Lock()
	answered := c.state == StateAnswered || c.state == StateHeld
	legs := c.partiesLocked()
	c.mu.Unlock()
	if !answered {
		return nil
	}
	for _, l := range legs {
		l.mu.Lock()
		holding := l.holding
		l.mu.Unlock()
		if !holding && l.ep.Idle() > timeout {
			return l
		}
	}
	return nil
}

// Hangup ends the call from the server side.
func (c *Call) Hangup() { c.hangup("system", "hangup requested") }

// HangupAsUser ends the call for a console user: a held call is refused
// (the operator console rule: a call on hold is resumed, not dropped),
// unless force is set by someone allowed to clear any call.
func (c *Call) HangupAsUser(force bool) error {
	c.mu.Lock()
	held := c.state == StateHeld
	c.mu.Unlock()
	if held && !force {
		return ErrHeld
	}
	c.Hangup()
	return nil
}

// hangupFrom handles a BYE from leg l: depending on who l is in the
// interaction it leaves alone or ends the call for everyone (the rules of
// the consultation and conference role tables).
func (c *Call) hangupFrom(l *leg) {
	c.mu.Lock()
	if l.gone || l.call() != c {
		c.mu.Unlock()
		c.releaseLeg(l, false)
		return
	}
	endAll := c.leaveEndsCallLocked(l)
	c.mu.Unlock()
	if !endAll {
		c.leave(l, false)
		return
	}
	by := string(l.role)
	if l.role != roleCaller && l.role != roleCallee {
		by = l.label
	}
	c.end(endInfo{by: by, code: 200, disposition: store.DispositionAnswered, reason: "Normal Clearing", skip: l})
}

// leaveEndsCallLocked reports whether l leaving ends the interaction: in
// a two-party call always; with a consultation or conference when l
// started it or is the customer; a consulted party, a member or a monitor
// just leaves.
func (c *Call) leaveEndsCallLocked(l *leg) bool {
	if l.role == roleMonitor {
		return false
	}
	switch {
	case c.consult != nil:
		return l == c.consult.by || l == c.consult.customer
	case c.conf != nil:
		return l == c.conf.initiator || l == c.conf.customer
	case c.transfer != nil:
		return l == c.transfer.keep
	}
	if l.role == roleMember {
		return len(c.activePartiesLocked()) <= 2
	}
	return true
}

// activePartiesLocked are the parties that are not monitors.
func (c *Call) activePartiesLocked() []*leg {
	var out []*leg
	for _, l := range c.partiesLocked() {
		if l.role != roleMonitor {
			out = append(out, l)
		}
	}
	return out
}

func (c *Call) hangup(by, reason string) {
	c.mu.Lock()
	connected := c.connected
	c.mu.Unlock()
	if !connected {
		// Still ringing: the setup goroutine owns the legs; cancelling is its job.
		c.cancelSetup()
		return
	}
	c.end(endInfo{by: by, code: 200, disposition: store.DispositionAnswered, reason: reason})
}

type endInfo struct {
	by          string
	code        int
	disposition store.Disposition
	reason      string
	skip        *leg // the leg that already ended (sent BYE)
}

// end tears the call down once: BYE to the legs still up, dials in
// progress cancelled, media released, recording finished, CDR written,
// call_ended published.
func (c *Call) end(e endInfo) {
	c.endOnce.Do(func() {
		defer c.m.live.Done()
		c.awaitAnswerDecisions()
		c.mu.Lock()
		c.state = StateEnded
		c.ended = true
		legs := c.partiesLocked()
		for _, l := range legs {
			l.gone = true
		}
		cancels := c.pendingCancelsLocked()
		queueLeft := c.queueLeftLocked()
		acdEnded := c.acdLegsEndedLocked()
		consultWaiting := func() {}
		if c.consult != nil {
			consultWaiting = c.consultEndedLocked(c.consult)
		}
		recs := c.stopRecordingLocked()
		c.teardownMediaLocked()
		info := c.infoLocked()
		answeredAt, answeredBy, connected := c.answeredAt, c.answeredBy, c.connected
		if e.disposition == store.DispositionAnswered && answeredAt.IsZero() && c.queue != nil {
			// The queue answered; no agent did before the caller left.
			e.disposition = store.DispositionAbandoned
		}
		r := c.route
		c.mu.Unlock()

		for _, cancel := range cancels {
			cancel()
		}
		queueLeft()
		acdEnded()
		consultWaiting()
		// BYE the legs still up, in parallel when there are several, so
		// the common case (one side hung up) costs no goroutine.
		var up []*leg
		for _, l := range legs {
			if l != e.skip && connected {
				up = append(up, l)
			}
		}
		var wg sync.WaitGroup
		for i, l := range up {
			if i == len(up)-1 {
				l.bye()
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.bye()
			}()
		}
		wg.Wait()
		c.mu.Lock()
		all := append([]*leg{c.a, c.b}, c.others...)
		c.mu.Unlock()
		for _, l := range all {
			if l != nil && l.call() == c {
				l.closeMedia()
			}
		}
		if c.callerRTC != nil { // setup ended before the caller's leg existed
			c.callerRTC.Close()
		}
		c.m.removeCall(c)
		c.m.active.Add(-1)
		for _, ri := range recs {
			c.m.saveRecording(c, ri)
		}
		c.m.publish(events.CallEnded, c, info)
		c.m.cdrs.write(store.CDR{
			CallID: c.id, Direction: r.direction, From: c.caller.Number, FromName: c.caller.Name,
			To: c.dialled, Target: r.describe(), Trunk: trunkName(r), AnsweredBy: answeredBy,
			StartedAt: c.startedAt, AnsweredAt: answeredAt, EndedAt: time.Now(),
			Disposition: e.disposition, SIPCode: e.code, HangupBy: e.by, Reason: e.reason,
		})
		c.log.Info("call ended", "disposition", string(e.disposition), "code", e.code, "hangup_by", e.by,
			"duration", time.Since(c.startedAt).Round(time.Millisecond).String())
	})
}

func trunkName(r route) string {
	if r.trunk != nil {
		return r.trunk.Name
	}
	return ""
}

// Ended reports whether the call is over.
func (c *Call) Ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// legOfExtension returns the call's party on one of exts (the acting
// user's devices), preferring primaries; nil if none.
func (c *Call) legOfExtension(exts []string) *leg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.legOfExtensionLocked(exts)
}

func (c *Call) legOfExtensionLocked(exts []string) *leg {
	if !c.connected {
		return nil // legs are still being set up by the setup goroutine
	}
	for _, l := range c.partiesLocked() {
		if l.role == roleMonitor || l.ext == "" {
			continue
		}
		for _, e := range exts {
			if l.ext == e {
				return l
			}
		}
	}
	return nil
}

// otherPrimaryLocked is the primary party facing l, or nil.
func (c *Call) otherPrimaryLocked(l *leg) *leg {
	switch l {
	case c.a:
		return c.b
	case c.b:
		return c.a
	}
	return nil
}

// media errors are logged rather than returned where the change was
// already decided (a party left): the remaining parties keep what they had.
func (c *Call) applyOrLog() {
	if err := c.applyMediaLocked(); err != nil {
		c.log.Error("media reconfiguration failed", "error", err)
	}
}
