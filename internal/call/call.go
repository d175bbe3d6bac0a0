package call

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// Call is the aggregate of one B2BUA call: the caller's leg, the answering
// callee's leg, the media bridge between them, and its state. It is changed
// only through its methods, under mu.
type Call struct {
	id  string
	m   *Manager
	log *slog.Logger

	caller    Party
	dialled   string
	route     route
	startedAt time.Time

	mu         sync.Mutex
	state      State
	a, b       *leg
	bridge     *media.Bridge
	answeredAt time.Time
	answeredBy string
	held       side   // which party hears music, 0 if none
	codec      string // the caller leg's codec, for Info
	endOnce    sync.Once

	cancelRing        context.CancelFunc // stops the fork while ringing
	cancelledBySystem bool

	cad cadState // call-associated data (cad.go), under mu
}

// Info is a call as the API and events show it.
type Info struct {
	ID         string     `json:"id"`
	State      State      `json:"state"`
	Direction  string     `json:"direction"`
	From       Party      `json:"from"`
	To         string     `json:"to"`
	DID        string     `json:"did,omitempty"`
	Target     string     `json:"target"`
	AnsweredBy string     `json:"answered_by,omitempty"`
	Held       string     `json:"held,omitempty"` // party hearing music: caller | callee
	Codec      string     `json:"codec,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
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
		DID: c.route.did, Target: c.route.describe(), AnsweredBy: c.answeredBy, StartedAt: c.startedAt}
	if c.held != 0 {
		i.Held = c.held.String()
	}
	if !c.answeredAt.IsZero() {
		t := c.answeredAt
		i.AnsweredAt = &t
	}
	i.Codec = c.codec
	return i
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

// ErrNotAnswered is returned for media operations on a call not yet answered.
var ErrNotAnswered = errors.New("call is not answered")

// ErrBadParty is returned when a party is neither "caller" nor "callee".
var ErrBadParty = errors.New("party must be caller or callee")

// Hold puts party ("caller" or "callee") on hold from the server side:
// that party hears music, the other silence. No re-INVITE is needed
// because the relay is ours.
func (c *Call) Hold(party string) error {
	var s side
	switch party {
	case "caller":
		s = sideCaller
	case "callee":
		s = sideCallee
	default:
		return ErrBadParty
	}
	return c.setHeld(s)
}

// Resume ends a server-side or phone hold.
func (c *Call) Resume() error { return c.setHeld(0) }

func (c *Call) setHeld(s side) error {
	c.mu.Lock()
	if c.state != StateAnswered && c.state != StateHeld {
		c.mu.Unlock()
		return ErrNotAnswered
	}
	if c.held == s {
		c.mu.Unlock()
		return nil
	}
	var err error
	switch s {
	case 0:
		err = c.bridge.Resume()
		c.state = StateAnswered
	case sideCaller:
		err = c.bridge.Hold(c.a.ep)
		c.state = StateHeld
	case sideCallee:
		err = c.bridge.Hold(c.b.ep)
		c.state = StateHeld
	}
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.held = s
	info := c.infoLocked()
	c.mu.Unlock()
	if s == 0 {
		c.m.publish(events.CallResumed, c, info)
	} else {
		c.m.publish(events.CallHeld, c, info)
	}
	c.log.Info("call hold changed", "held", info.Held)
	return nil
}

// partyHolds applies a phone's hold (re-INVITE sendonly/inactive) or
// resume: the other party hears music while l holds.
func (c *Call) partyHolds(l *leg, holding bool) {
	l.mu.Lock()
	changed := l.holding != holding
	l.holding = holding
	l.mu.Unlock()
	if !changed {
		return
	}
	other := sideCallee
	if l.side == sideCallee {
		other = sideCaller
	}
	var err error
	if holding {
		err = c.setHeld(other)
	} else {
		err = c.setHeld(0)
	}
	if err != nil {
		c.log.Debug("hold from phone not applied", "side", l.side.String(), "error", err)
	}
}

// silentLeg returns a leg of an answered call that has sent no RTP for
// longer than timeout while not holding (a holding phone may send nothing).
func (c *Call) silentLeg(timeout time.Duration) *leg {
	c.mu.Lock()
	answered := c.state == StateAnswered || c.state == StateHeld
	legs := []*leg{c.a, c.b}
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

// hangupFrom ends the call because leg l sent BYE.
func (c *Call) hangupFrom(l *leg) {
	by := "caller"
	if l.side == sideCallee {
		by = "callee"
	}
	c.end(endInfo{by: by, code: 200, disposition: store.DispositionAnswered, reason: "Normal Clearing", skip: l})
}

func (c *Call) hangup(by, reason string) {
	c.mu.Lock()
	answered := !c.answeredAt.IsZero()
	c.mu.Unlock()
	if !answered {
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

// end tears the call down once: BYE to the legs still up, media released,
// CDR written, call_ended published.
func (c *Call) end(e endInfo) {
	c.endOnce.Do(func() {
		defer c.m.live.Done()
		c.mu.Lock()
		c.state = StateEnded
		legs := []*leg{c.a, c.b}
		br := c.bridge
		info := c.infoLocked()
		answeredAt, answeredBy := c.answeredAt, c.answeredBy
		c.mu.Unlock()

		if br != nil {
			br.Disconnect()
		}
		// BYE the legs still up; in parallel only when there are two, so
		// the common case (one side hung up) costs no goroutine.
		var up []*leg
		for _, l := range legs {
			if l != nil && l != e.skip && !answeredAt.IsZero() {
				up = append(up, l)
			}
		}
		switch len(up) {
		case 1:
			up[0].bye()
		case 2:
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				up[1].bye()
			}()
			up[0].bye()
			wg.Wait()
		}
		for _, l := range legs {
			if l != nil && l.ep != nil {
				_ = l.ep.Close()
			}
		}
		c.m.removeCall(c)
		c.m.active.Add(-1)
		c.m.publish(events.CallEnded, c, info)
		c.m.cdrs.write(store.CDR{
			CallID: c.id, Direction: c.route.direction, From: c.caller.Number, FromName: c.caller.Name,
			To: c.dialled, Target: c.route.describe(), Trunk: trunkName(c.route), AnsweredBy: answeredBy,
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
