package call

import (
	"fmt"

	"github.com/switchboard/switchboard/internal/media"
)

// mediaState is how the call's parties are connected now: a packet relay
// between exactly two of them, or a mixer. Guarded by Call.mu.
type mediaState struct {
	bridge *media.Bridge
	pair   [2]*leg
	mixer  *media.Mixer
	mixed  map[*leg]bool
}

// applyMediaLocked makes the media match who is in the call and who hears
// whom. It is the single place that decides it:
//
//   - a held party hears music and is heard by nobody;
//   - every other party hears every other non-monitor party, never itself;
//   - a monitor hears the parties; in whisper mode the agent hears it, in
//     barge mode everyone does, in listen mode nobody;
//   - a recording takes the caller (the customer) on the left channel and
//     everyone else who is heard by the customer on the right.
//
// Two talking parties with no monitor and no recording stay on the cheap
// packet relay; anything more moves into a mixer, and back when it is over.
func (c *Call) applyMediaLocked() error {
	if c.ended {
		return nil
	}
	var talking, monitors, held []*leg
	for _, l := range c.partiesLocked() {
		switch {
		case l.role == roleMonitor:
			monitors = append(monitors, l)
		case l.onHold:
			held = append(held, l)
		default:
			talking = append(talking, l)
		}
	}
	for _, l := range held {
		c.detachMediaLocked(l)
		l.ep.StartMusic()
	}
	relay := len(talking) == 2 && len(monitors) == 0 && c.rec == nil
	mix := !relay && (len(talking)+len(monitors) >= 2 || (c.rec != nil && len(talking) > 0))
	var err error
	switch {
	case relay:
		err = c.relayLocked(talking[0], talking[1])
	case mix:
		err = c.mixLocked(talking, monitors)
	default:
		c.closeBridgeLocked()
		c.closeMixerLocked()
	}
	for _, l := range talking {
		l.ep.StopMusic()
	}
	for _, l := range monitors {
		l.ep.StopMusic()
	}
	c.updateStateLocked(len(held) > 0)
	return err
}

// updateStateLocked keeps Answered ↔ Held in step with the parties.
func (c *Call) updateStateLocked(anyHeld bool) {
	switch {
	case c.state == StateAnswered && anyHeld:
		c.state = StateHeld
	case c.state == StateHeld && !anyHeld:
		c.state = StateAnswered
	}
}

func (c *Call) relayLocked(x, y *leg) error {
	ms := &c.media
	if ms.bridge != nil && ((ms.pair[0] == x && ms.pair[1] == y) || (ms.pair[0] == y && ms.pair[1] == x)) {
		return nil
	}
	c.closeBridgeLocked()
	c.closeMixerLocked()
	br, err := c.m.media.Connect(x.ep, y.ep)
	if err != nil {
		return fmt.Errorf("call %s: relay %s-%s: %w", c.id, x.id, y.id, err)
	}
	ms.bridge, ms.pair = br, [2]*leg{x, y}
	return nil
}

func (c *Call) mixLocked(talking, monitors []*leg) error {
	ms := &c.media
	c.closeBridgeLocked()
	if ms.mixer == nil {
		mx, err := c.m.media.NewMixer()
		if err != nil {
			return fmt.Errorf("call %s: mixer: %w", c.id, err)
		}
		ms.mixer, ms.mixed = mx, make(map[*leg]bool)
	}
	want := make(map[*leg]bool, len(talking)+len(monitors))
	for _, l := range talking {
		want[l] = true
	}
	for _, l := range monitors {
		want[l] = true
	}
	for l := range ms.mixed {
		if !want[l] {
			ms.mixer.Remove(l.ep)
			delete(ms.mixed, l)
		}
	}
	for l := range want {
		if !ms.mixed[l] {
			if err := ms.mixer.Add(l.ep); err != nil {
				return fmt.Errorf("call %s: mixer add %s: %w", c.id, l.id, err)
			}
			ms.mixed[l] = true
		}
	}
	eps := func(ls []*leg) []*media.Endpoint {
		out := make([]*media.Endpoint, 0, len(ls))
		for _, l := range ls {
			out = append(out, l.ep)
		}
		return out
	}
	for _, l := range talking {
		speakers := make([]*leg, 0, len(talking)+len(monitors))
		for _, o := range talking {
			if o != l {
				speakers = append(speakers, o)
			}
		}
		for _, s := range monitors {
			if s.monitor == MonitorBarge || (s.monitor == MonitorWhisper && s.whisperTo == l) {
				speakers = append(speakers, s)
			}
		}
		if err := ms.mixer.SetHears(l.ep, eps(speakers)...); err != nil {
			return fmt.Errorf("call %s: hears %s: %w", c.id, l.id, err)
		}
	}
	for _, s := range monitors {
		if err := ms.mixer.SetHears(s.ep, eps(talking)...); err != nil {
			return fmt.Errorf("call %s: monitor hears %s: %w", c.id, s.id, err)
		}
	}
	if c.rec != nil && c.rec.rec != nil {
		c.noteRecordedPartiesLocked()
		left, right := c.recordingChannelsLocked(talking, monitors)
		c.rec.rec.SetChannels(eps(left), eps(right))
	}
	return nil
}

// recordingChannelsLocked: the caller on the left; on the right everyone
// the caller hears (so a whisper is not recorded, a barge is).
func (c *Call) recordingChannelsLocked(talking, monitors []*leg) (left, right []*leg) {
	for _, l := range talking {
		if l == c.a {
			left = append(left, l)
		} else {
			right = append(right, l)
		}
	}
	for _, s := range monitors {
		if s.monitor == MonitorBarge {
			right = append(right, s)
		}
	}
	return left, right
}

// detachMediaLocked takes l out of the bridge or mixer it is in.
func (c *Call) detachMediaLocked(l *leg) {
	ms := &c.media
	if ms.bridge != nil && (ms.pair[0] == l || ms.pair[1] == l) {
		c.closeBridgeLocked()
	}
	if ms.mixer != nil && ms.mixed[l] {
		ms.mixer.Remove(l.ep)
		delete(ms.mixed, l)
	}
}

func (c *Call) closeBridgeLocked() {
	if c.media.bridge != nil {
		c.media.bridge.Disconnect()
		c.media.bridge, c.media.pair = nil, [2]*leg{}
	}
}

func (c *Call) closeMixerLocked() {
	if c.media.mixer != nil {
		c.media.mixer.Close()
		c.media.mixer, c.media.mixed = nil, nil
	}
}

// teardownMediaLocked releases the bridge and mixer (the call ended or a
// leg is leaving for another call). Music stops with the endpoints.
func (c *Call) teardownMediaLocked() {
	c.closeBridgeLocked()
	c.closeMixerLocked()
}
