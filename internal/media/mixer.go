package media

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Mixer errors; they are wrapped with the operation.
var (
	// ErrMixerClosed is returned by Add, SetHears and Record after Close.
	ErrMixerClosed = errors.New("mixer closed")
	// ErrNotInMixer means SetHears or Record got an endpoint that is not a member.
	ErrNotInMixer = errors.New("endpoint not in this mixer")
	// ErrInMixer means Connect or Add got an endpoint that is already in a
	// mixer. It matches ErrInBridge too (errors.Is), so a caller checking
	// "already busy" with ErrInBridge catches both.
	ErrInMixer error = inMixerError{}
)

type inMixerError struct{}

func (inMixerError) Error() string        { return "endpoint already in a mixer" }
func (inMixerError) Is(target error) bool { return target == ErrInBridge }

// Mixer mixes 20 ms frames among its member endpoints, per listener: each
// member hears the sum of its own speaker set (SetHears), never itself.
// That covers a conference (everyone hears everyone else), a supervisor
// listening in (hears both parties, heard by nobody) and whispering (the
// agent hears the supervisor, the customer does not).
//
// Members' reader goroutines decode their audio into the member's jitter
// buffer instead of relaying it; a clock goroutine (see mixClock) calls
// tick every 20 ms, which takes one frame from every jitter buffer, mixes,
// encodes in each listener's law and sends it out of the listener's own
// socket, then hands a stereo frame to each recording.
//
// An endpoint is in at most one Bridge or Mixer. One playing music on hold
// is sent nothing by the mixer (the music clock feeds it) and its audio is
// not mixed.
type Mixer struct {
	eng   *Engine
	clock *mixClock

	mu      sync.Mutex // guards everything below; see the lock order in engine.go
	closed  bool
	members []*mixMember
	recs    []*Recording
	ticks   uint64 // 20 ms ticks since NewMixer, skipped ones included

	// Scratch of tick, reused every 20 ms so that a tick does not allocate.
	needTotal   bool // some listener's plan subtracts from the total
	totalActive bool
	total       [frameSamples]int32 // sum of every member's current frame
	acc, acc2   [frameSamples]int32
	mark        []bool // rebuildPlans scratch
}

// mixMember is one endpoint in a mixer.
type mixMember struct {
	ep *Endpoint

	mu sync.Mutex // guards jb only; a leaf (the reader pushes, the clock pops)
	jb jitterBuffer

	// Guarded by Mixer.mu.
	idx    int          // position in Mixer.members
	hears  []*mixMember // speaker set, never the member itself
	plan   []*mixMember // what tick adds up (or, with minus, subtracts from the total)
	minus  bool
	cur    [frameSamples]int16 // this tick's frame from jb
	active bool                // cur holds received audio (else silence)
	pkt    [rtpFixedLen + frameSamples]byte
}

// push takes one received audio packet into the member's jitter buffer.
// Runs on the endpoint's reader goroutine.
func (m *mixMember) push(ssrc, ts uint32, payload []byte, kind payloadKind) bool {
	m.mu.Lock()
	ok := m.jb.push(ssrc, ts, payload, kind)
	m.mu.Unlock()
	return ok
}

// NewMixer creates an empty mixer on one of the engine's mix clocks.
func (e *Engine) NewMixer() (*Mixer, error) {
	mx := &Mixer{eng: e}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, fmt.Errorf("new mixer: %w", ErrEngineClosed)
	}
	mx.clock = e.pickMixClock()
	e.mixers[mx] = struct{}{}
	e.mu.Unlock()
	mx.clock.add(mx)
	return mx, nil
}

// Add makes ep a member. It hears nobody and nobody hears it until
// SetHears says otherwise; it is sent silence meanwhile, which keeps its
// RTP stream (and the phone's RTP timeout) alive. Adding a member again is
// a no-op.
func (mx *Mixer) Add(ep *Endpoint) error {
	if ep == nil {
		return errors.New("mixer add: nil endpoint")
	}
	if ep.eng != mx.eng {
		return errors.New("mixer add: endpoint belongs to another engine")
	}
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if mx.closed {
		return fmt.Errorf("mixer add %s: %w", ep.local, ErrMixerClosed)
	}
	m := &mixMember{ep: ep}
	if err := ep.joinMixer(mx, m); err != nil {
		if errors.Is(err, errAlreadyMember) {
			return nil
		}
		return fmt.Errorf("mixer add %s: %w", ep.local, err)
	}
	mx.members = append(mx.members, m)
	mx.rebuildPlans()
	return nil
}

// errAlreadyMember tells Add that ep is already in this mixer.
var errAlreadyMember = errors.New("already a member")

// joinMixer marks ep as a member of mx. Mixer.mu held.
func (ep *Endpoint) joinMixer(mx *Mixer, m *mixMember) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	switch {
	case ep.closed:
		return ErrEndpointClosed
	case ep.mixer == mx:
		return errAlreadyMember
	case ep.mixer != nil:
		return ErrInMixer
	case ep.bridge != nil:
		return ErrInBridge
	}
	ep.mixer, ep.member = mx, m
	// A new source for rewrite: the output stream re-anchors its timestamps
	// on the wall clock, and the first mixed packet carries the marker.
	ep.mixGen = ep.eng.mixGen.Add(1)
	return nil
}

// leaveMixer undoes joinMixer if ep is still in mx. Mixer.mu held.
func (ep *Endpoint) leaveMixer(mx *Mixer) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.mixer == mx {
		ep.mixer, ep.member = nil, nil
	}
}

// Remove takes ep out of the mixer, out of every speaker set and every
// recording channel. The endpoint stays open and may then be connected to
// a Bridge or added to another mixer; its output stream keeps its SSRC and
// continues its sequence numbers. Idempotent. When Remove returns, the
// mixer sends nothing more out of ep.
func (mx *Mixer) Remove(ep *Endpoint) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	m := mx.member(ep)
	if m == nil {
		return
	}
	mx.members = slices.Delete(mx.members, m.idx, m.idx+1)
	for _, o := range mx.members {
		o.hears = deleteMember(o.hears, m)
	}
	for _, r := range mx.recs {
		r.left = deleteMember(r.left, m)
		r.right = deleteMember(r.right, m)
	}
	ep.leaveMixer(mx)
	mx.rebuildPlans()
}

func deleteMember(list []*mixMember, m *mixMember) []*mixMember {
	return slices.DeleteFunc(list, func(x *mixMember) bool { return x == m })
}

// member returns ep's membership, nil if it is not a member. Mixer.mu held.
func (mx *Mixer) member(ep *Endpoint) *mixMember {
	for _, m := range mx.members {
		if m.ep == ep {
			return m
		}
	}
	return nil
}

// members maps endpoints to memberships, skipping duplicates and skip
// (a listener never hears itself). Mixer.mu held.
func (mx *Mixer) resolve(eps []*Endpoint, skip *mixMember) ([]*mixMember, error) {
	out := make([]*mixMember, 0, len(eps))
	for _, ep := range eps {
		m := mx.member(ep)
		if m == nil {
			if ep == nil {
				return nil, fmt.Errorf("nil endpoint: %w", ErrNotInMixer)
			}
			return nil, fmt.Errorf("%s: %w", ep.local, ErrNotInMixer)
		}
		if m != skip && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// SetHears replaces listener's speaker set: from the next tick on it hears
// the sum of speakers (listed or not, never itself). Every endpoint must
// be a member (ErrNotInMixer); on error nothing changes. With no speakers
// the listener hears silence.
func (mx *Mixer) SetHears(listener *Endpoint, speakers ...*Endpoint) error {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if mx.closed {
		return fmt.Errorf("set hears: %w", ErrMixerClosed)
	}
	l := mx.member(listener)
	if l == nil {
		return fmt.Errorf("set hears: listener: %w", ErrNotInMixer)
	}
	hears, err := mx.resolve(speakers, l)
	if err != nil {
		return fmt.Errorf("set hears of %s: speaker %w", listener.local, err)
	}
	l.hears = hears
	mx.rebuildPlans()
	return nil
}

// rebuildPlans recomputes every listener's plan after a membership or
// speaker-set change, so that tick does the least work: a listener who
// hears most members (the usual "everyone but me") gets the total of all
// members minus the few it does not hear (itself); one who hears a few
// gets their sum. Either way each speaker's frame is decoded once per tick
// (by its reader, into the jitter buffer), not once per listener.
// Mixer.mu held.
func (mx *Mixer) rebuildPlans() {
	n := len(mx.members)
	if cap(mx.mark) < n {
		mx.mark = make([]bool, n)
	}
	mark := mx.mark[:n]
	mx.needTotal = false
	for i, m := range mx.members {
		m.idx = i
	}
	for _, l := range mx.members {
		clear(mark)
		for _, s := range l.hears {
			mark[s.idx] = true
		}
		if deaf := n - len(l.hears); deaf < len(l.hears) {
			l.minus, l.plan = true, l.plan[:0]
			for i, m := range mx.members {
				if !mark[i] {
					l.plan = append(l.plan, m)
				}
			}
			mx.needTotal = true
		} else {
			l.minus, l.plan = false, append(l.plan[:0], l.hears...)
		}
	}
}

// Len is the number of members.
func (mx *Mixer) Len() int {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	return len(mx.members)
}

// Close removes every member (they stay open) and stops every recording,
// finalising its file. Idempotent.
func (mx *Mixer) Close() {
	mx.mu.Lock()
	if mx.closed {
		mx.mu.Unlock()
		return
	}
	mx.closed = true
	for _, m := range mx.members {
		m.ep.leaveMixer(mx)
	}
	mx.members = nil
	recs := mx.recs
	mx.recs = nil
	mx.mu.Unlock()

	for _, r := range recs {
		if _, err := r.Stop(); err != nil {
			mx.eng.log.Warn("recording stopped with an error", "path", r.path, "err", err)
		}
	}
	if mx.clock != nil { // nil: a test drives tick itself
		mx.clock.remove(mx)
	}
	mx.eng.forgetMixer(mx)
}

// tick produces one 20 ms frame (steps > 1: the clock skipped steps-1
// ticks, whose audio is dropped from the jitter buffers so that they stay
// in step with real time). It returns the number of packets sent. Runs on
// the mixer's clock goroutine; it must not allocate.
func (mx *Mixer) tick(now int64, steps uint64) int {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if mx.closed {
		return 0
	}
	mx.ticks += steps
	mx.gather(steps)
	sent := 0
	for _, m := range mx.members {
		if m.ep.sendMixed(mx, m, now) {
			sent++
		}
	}
	for _, r := range mx.recs {
		r.capture(mx)
	}
	return sent
}

// gather takes this tick's frame out of every member's jitter buffer and
// sums them into the total when some plan needs it. Mixer.mu held.
func (mx *Mixer) gather(steps uint64) {
	if mx.needTotal {
		mx.total = [frameSamples]int32{}
	}
	mx.totalActive = false
	for _, m := range mx.members {
		m.mu.Lock()
		if steps > 1 {
			m.jb.advance(uint32(min(steps-1, jbSize) * frameSamples))
		}
		m.active = m.jb.pop(&m.cur)
		m.mu.Unlock()
		if m.active && mx.needTotal {
			addFrame(&mx.total, &m.cur)
			mx.totalActive = true
		}
	}
}

// render encodes listener m's mix for this tick into its packet's payload,
// in A-law or µ-law. Mixer.mu held (and m.ep.mu, by sendMixed).
func (mx *Mixer) render(m *mixMember, alaw bool) {
	out := m.pkt[rtpFixedLen:]
	if m.minus {
		if !mx.totalActive {
			fillSilence(out, alaw)
			return
		}
		var sub *mixMember // the only active member to subtract, if one
		n := 0
		for _, p := range m.plan {
			if p.active {
				sub = p
				n++
			}
		}
		switch n {
		case 0:
			encodeSat(out, &mx.total, alaw)
		case 1: // the common case: everyone but me
			encodeDiff(out, &mx.total, &sub.cur, alaw)
		default:
			mx.acc = mx.total
			for _, p := range m.plan {
				if p.active {
					subFrame(&mx.acc, &p.cur)
				}
			}
			encodeSat(out, &mx.acc, alaw)
		}
		return
	}
	if !mx.sum(&mx.acc, m.plan) {
		fillSilence(out, alaw)
		return
	}
	encodeSat(out, &mx.acc, alaw)
}

// sum adds up the current frames of the active members of list into acc
// and reports whether any was active. Mixer.mu held.
func (mx *Mixer) sum(acc *[frameSamples]int32, list []*mixMember) bool {
	got := false
	for _, p := range list {
		if !p.active {
			continue
		}
		if !got {
			widenFrame(acc, &p.cur)
			got = true
			continue
		}
		addFrame(acc, &p.cur)
	}
	return got
}

// sendMixed sends this tick's mix to ep's remote, unless ep plays music
// (the music clock feeds it), has no remote yet or no codec we can carry.
// Runs on the clock goroutine with Mixer.mu held.
func (ep *Endpoint) sendMixed(mx *Mixer, m *mixMember, now int64) bool {
	ep.mu.Lock()
	if ep.closed || ep.member != m || ep.music || !ep.dest.IsValid() || ep.kind == kindUnknown {
		ep.mu.Unlock()
		return false
	}
	mx.render(m, ep.kind == kindALaw)
	ep.mixSeq++
	// The mixer's own timestamps count its ticks, so a tick that sent
	// nothing (no remote yet, music) still moves time on.
	seq, ts, switched := ep.out.rewrite(srcMixer, ep.mixGen, ep.mixSeq, uint32(mx.ticks*frameSamples), now)
	putRTPHeader(m.pkt[:], switched, ep.codec.PayloadType, seq, ts, ep.out.ssrc)
	dest, conn := ep.dest, ep.conn
	ep.mu.Unlock()

	_, err := conn.WriteToUDPAddrPort(m.pkt[:], dest)
	return err == nil
}
