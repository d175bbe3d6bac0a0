package media

import (
	"runtime"
	"slices"
	"sync"
	"time"
)

// Mix clock timing.
const (
	mixTick = 20 * time.Millisecond // one G.711 frame, like the music clock

	// mixLateAfter: a mixer tick that starts later than this after its due
	// time counts in EngineStats.MixerLateTicks. Half a frame: beyond it the
	// phones' jitter buffers start to see the clock's own jitter.
	mixLateAfter = 10 * time.Millisecond

	// mixMaxBehind: a clock further behind than this (a stalled process, a
	// suspended VM) skips the missed ticks instead of sending a burst of
	// them; skipped ticks count as late, and the jitter buffers and
	// recordings move on by the same time so they stay in step.
	mixMaxBehind = 3 * mixTick
)

// clockPolicy says how mixers are spread over clock goroutines. Chosen by
// measurement (BenchmarkConferenceCapacity, docs/PERFORMANCE.md): with 50
// rooms of 10, per-mixer clocks had the fewest late ticks for the same CPU.
// The other policies stay for that benchmark to compare.
type clockPolicy uint8

const (
	// clockPerMixer (the default) gives each mixer its own goroutine and
	// timer: a room's tick never waits for another room's sends, and rooms
	// created at different times tick at different phases of the 20 ms
	// period, which spreads the send bursts. It costs one goroutine wake
	// per room per tick.
	clockPerMixer clockPolicy = iota
	// clockSharded runs one clock goroutine per CPU (GOMAXPROCS), each mixer
	// on the clock with the least load: fewer wake-ups, but the rooms of a
	// shard wait for each other's sends.
	clockSharded
	// clockShared runs every mixer on one clock goroutine: the last room of
	// a round starts after every other room's sends, on one core.
	clockShared
)

// mixClock is one clock goroutine: every 20 ms it ticks each of its
// mixers in turn (one mixer under the default policy).
type mixClock struct {
	eng *Engine

	mu     sync.Mutex // guards mixers; a leaf
	mixers []*Mixer

	wake     chan struct{} // a mixer was added: start ticking
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

func newMixClock(e *Engine) *mixClock {
	c := &mixClock{
		eng:  e,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go c.run()
	return c
}

// pickMixClock returns the clock a new mixer runs on, starting one when
// the policy calls for it. Engine.mu held.
func (e *Engine) pickMixClock() *mixClock {
	switch e.clockPolicy {
	case clockPerMixer:
		c := newMixClock(e)
		e.mixClocks = append(e.mixClocks, c)
		return c
	case clockShared:
		if len(e.mixClocks) == 0 {
			e.mixClocks = append(e.mixClocks, newMixClock(e))
		}
		return e.mixClocks[0]
	}
	// clockSharded
	if len(e.mixClocks) < runtime.GOMAXPROCS(0) {
		c := newMixClock(e)
		e.mixClocks = append(e.mixClocks, c)
		return c
	}
	best, load := e.mixClocks[0], -1
	for _, c := range e.mixClocks {
		if n := c.load(); load < 0 || n < load {
			best, load = c, n
		}
	}
	return best
}

// load is what the clock carries: its members, and each mixer counts as
// one so that empty rooms spread too. Engine.mu held; the list is copied
// so that mixClock.mu stays a leaf.
func (c *mixClock) load() int {
	c.mu.Lock()
	list := slices.Clone(c.mixers)
	c.mu.Unlock()
	n := len(list)
	for _, mx := range list {
		n += mx.Len()
	}
	return n
}

func (c *mixClock) add(mx *Mixer) {
	c.mu.Lock()
	c.mixers = append(c.mixers, mx)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// remove takes mx off the clock; a per-mixer clock then stops.
func (c *mixClock) remove(mx *Mixer) {
	c.mu.Lock()
	c.mixers = slices.DeleteFunc(c.mixers, func(x *Mixer) bool { return x == mx })
	c.mu.Unlock()
	if c.eng.clockPolicy == clockPerMixer {
		c.shutdown()
		c.eng.forgetMixClock(c)
	}
}

// shutdown stops the goroutine and waits for it. Idempotent.
func (c *mixClock) shutdown() {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
}

// run is the clock goroutine. It sleeps on a channel while it has no
// mixer, so an engine without conferences has no 20 ms wake-up for them.
// Due times are absolute (due += 20 ms), so the clock does not drift with
// the time each tick takes.
func (c *mixClock) run() {
	defer close(c.done)
	e := c.eng
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var list []*Mixer
	var due int64 // engine clock of the next tick; 0 while idle
	steps := uint64(1)
	for {
		c.mu.Lock()
		list = append(list[:0], c.mixers...)
		c.mu.Unlock()
		if len(list) == 0 {
			due, steps = 0, 1
			select {
			case <-c.stop:
				return
			case <-c.wake:
				continue
			}
		}
		now := e.now()
		if due == 0 {
			due = now + int64(mixTick)
		}
		if d := due - now; d > 0 {
			timer.Reset(time.Duration(d))
			select {
			case <-c.stop:
				timer.Stop()
				return
			case <-c.wake: // one more mixer: wait for the same due time with it
				timer.Stop()
				continue
			case <-timer.C:
			}
		}
		var late, frames uint64
		for _, mx := range list {
			start := e.now()
			if start-due > int64(mixLateAfter) {
				late++
			}
			frames += uint64(mx.tick(start, steps))
		}
		n := uint64(len(list))
		e.stats.mixTicks.Add(n * steps)
		e.stats.mixLate.Add(late + n*(steps-1))
		e.stats.mixFrames.Add(frames)
		clear(list) // do not keep closed mixers reachable

		due += int64(mixTick)
		steps = 1
		if behind := e.now() - due; behind > int64(mixMaxBehind) {
			skip := behind / int64(mixTick)
			due += skip * int64(mixTick)
			steps += uint64(skip)
		}
	}
}
