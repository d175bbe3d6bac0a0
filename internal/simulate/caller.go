package simulate

import (
	"context"
	"sync"
	"time"
)

// callerState is where a caller is, as agreed between the caller's
// goroutine and the agent answering it.
type callerState int

const (
	callerWaiting   callerState = iota // no agent yet
	callerClaimed                      // an agent is answering
	callerConnected                    // an agent answered
	callerGone                         // abandoned or failed
)

// caller is one simulated customer call.
type caller struct {
	key     string // ANI sequence part
	queue   Queue
	started time.Time // INVITE sent

	mu           sync.Mutex
	state        callerState
	patienceOver bool          // patience ran out while an agent was answering
	released     chan struct{} // an answer failed after patience ran out
	connected    chan struct{} // closed when an agent answered
}

// claim lets an agent answer the caller, unless the caller has given up.
func (c *caller) claim() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != callerWaiting {
		return false
	}
	c.state = callerClaimed
	return true
}

// answered reports the claiming agent's answer; ok false gives the caller
// back to the queue (or, if their patience ran out meanwhile, lets them
// hang up now). It reports whether the call counts as answered.
func (c *caller) answered(ok bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != callerClaimed {
		return false
	}
	if ok {
		c.state = callerConnected
		close(c.connected)
		return true
	}
	c.state = callerWaiting
	if c.patienceOver {
		select {
		case c.released <- struct{}{}:
		default:
		}
	}
	return false
}

// giveUp moves a waiting caller to gone; with patience false it notes
// that patience ran out while an agent answers. It reports whether the
// caller is gone now.
func (c *caller) giveUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case callerWaiting:
		c.state = callerGone
		return true
	case callerClaimed:
		c.patienceOver = true
	}
	return false
}

func (c *caller) stateNow() callerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (s *Sim) addCaller(c *caller) {
	s.mu.Lock()
	s.callers[c.key] = c
	s.mu.Unlock()
}

func (s *Sim) removeCaller(c *caller) {
	s.mu.Lock()
	if s.callers[c.key] == c {
		delete(s.callers, c.key)
	}
	s.mu.Unlock()
}

// placeCall is one customer: dial the queue's DID, wait for an agent for
// at most patience, then stay on until the agent hangs up. ctx ending
// hangs up at once.
func (s *Sim) placeCall(ctx context.Context, q Queue, patience time.Duration) {
	ani, key := s.nextANI()
	cl := &caller{key: key, queue: q, started: time.Now(),
		released: make(chan struct{}, 1), connected: make(chan struct{})}
	s.addCaller(cl)
	defer s.removeCaller(cl)
	s.tally.with(q.Number, func(t *QueueTally) { t.Offered++ })
	log := s.log.With("queue", q.Number, "caller", ani)

	call, err := s.trunk.InviteFrom(ctx, ani, "", q.DID)
	if err != nil {
		cl.giveUp()
		log.Warn("call not placed", "error", err)
		s.tally.with(q.Number, func(t *QueueTally) { t.Failed++ })
		return
	}
	hangup := func() {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = call.Hangup(hctx)
	}
	abandon := func() {
		wait := time.Since(cl.started)
		hangup()
		s.tally.with(q.Number, func(t *QueueTally) {
			t.Abandoned++
			t.AbandonWaits = append(t.AbandonWaits, wait)
		})
		log.Debug("caller abandoned", "waited", wait)
	}
	patienceT := time.NewTimer(patience)
	defer patienceT.Stop()
	for {
		select {
		case <-call.Done():
			if cl.giveUp() || cl.stateNow() == callerClaimed {
				// Ended by Switchboard before any agent answered (refused,
				// overflowed, or the answer lost a race with the end).
				log.Debug("call ended before an agent answered", "cause", call.Err())
				s.tally.with(q.Number, func(t *QueueTally) { t.Failed++ })
				cl.mu.Lock()
				cl.state = callerGone
				cl.mu.Unlock()
				return
			}
			if cl.stateNow() == callerConnected {
				return
			}
		case <-patienceT.C:
			if cl.giveUp() {
				abandon()
				return
			}
		case <-cl.released:
			if cl.giveUp() {
				abandon()
				return
			}
		case <-cl.connected:
			// The agent ends the call; the caller stays on until then.
			s.connected.Add(1)
			defer s.connected.Add(-1)
			select {
			case <-call.Done():
			case <-ctx.Done():
				hangup()
			}
			return
		case <-ctx.Done():
			// The run is stopping: hang up whatever the state.
			if cl.giveUp() {
				abandon()
				return
			}
			if cl.stateNow() == callerClaimed {
				// An agent is answering: let that settle so the call is
				// counted once, answered or abandoned.
				select {
				case <-cl.connected:
				case <-cl.released:
					if cl.giveUp() {
						abandon()
						return
					}
				case <-time.After(5 * time.Second):
				}
			}
			hangup()
			return
		}
	}
}

// answeredCall records that cl was answered now.
func (s *Sim) answeredCall(cl *caller) {
	wait := time.Since(cl.started)
	s.tally.with(cl.queue.Number, func(t *QueueTally) {
		t.Answered++
		t.Waits = append(t.Waits, wait)
		if wait <= cl.queue.ServiceLevel {
			t.AnsweredInSL++
		}
	})
}
