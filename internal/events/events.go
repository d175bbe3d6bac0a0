// Package events carries typed domain events from their owners (calls,
// registrations, agents, queues) to subscribers (the API's streams, metrics,
// tests). Every event gets a sequence number from one counter, so a client
// that reconnects can resume from the last number it saw; a bounded history
// serves the resume, and a bounded queue per subscriber means a slow reader
// is cut off rather than allowed to grow memory.
package events

import (
	"errors"
	"sync"
	"time"
)

// Type names an event as <resource>_<past tense> (docs/DESIGN.md).
type Type string

// Event types published today.
const (
	CallCreated      Type = "call_created"
	CallRinging      Type = "call_ringing"
	CallAnswered     Type = "call_answered"
	CallHeld         Type = "call_held"
	CallResumed      Type = "call_resumed"
	CallEnded        Type = "call_ended"
	CallDataChanged  Type = "call_data_changed" // call-associated data saved (call.DataChanged)
	DTMFReceived     Type = "dtmf_received"
	DeviceRegistered Type = "device_registered"
	DeviceRemoved    Type = "device_unregistered"

	// ACD (internal/acd). Agent events have the resource "agent:<user
	// id>" and an acd.AgentView; queue events "queue:<number>" and an
	// acd.QueueCallView, acd.MembershipView or acd.QueueStats.
	AgentStateChanged      Type = "agent_state_changed"            // status or state changed
	AgentMembershipChanged Type = "agent_queue_membership_changed" // logged in, paused, logged out, penalty
	QueueCallEntered       Type = "queue_call_entered"
	QueueCallOffered       Type = "queue_call_offered"  // ringing one agent (more with ringall)
	QueueCallReturned      Type = "queue_call_returned" // not answered: back at its place
	QueueCallAnswered      Type = "queue_call_answered"
	QueueCallAbandoned     Type = "queue_call_abandoned"  // the caller hung up before an answer
	QueueCallOverflowed    Type = "queue_call_overflowed" // max wait reached: sent to the overflow destination
	QueueStatsUpdated      Type = "queue_stats_updated"
)

// Event is one fact. Data is the full new state of the resource (a value
// type owned by the publisher; subscribers must not modify it).
type Event struct {
	Seq      uint64    `json:"seq"`
	Type     Type      `json:"type"`
	Time     time.Time `json:"time"`
	Resource string    `json:"resource"` // e.g. "call:7f3a…", "extension:1001"
	Data     any       `json:"data"`
}

// ErrSlowSubscriber is the cause given to a subscriber whose queue filled up.
var ErrSlowSubscriber = errors.New("subscriber too slow: events dropped")

// ErrTooOld means a resume sequence is older than the kept history: the
// client needs a fresh snapshot.
var ErrTooOld = errors.New("resume point no longer in history")

// Bus publishes events to subscribers. The zero value is not usable; use New.
type Bus struct {
	mu      sync.Mutex
	seq     uint64
	history []Event // ring of the last len(history) events
	next    int     // ring write position
	filled  bool
	subs    map[*Subscription]struct{}
	now     func() time.Time
}

// New returns a bus that keeps the last historySize events for resume.
func New(historySize int) *Bus {
	if historySize < 1 {
		historySize = 1
	}
	return &Bus{
		history: make([]Event, historySize),
		subs:    make(map[*Subscription]struct{}),
		now:     time.Now,
	}
}

// Publish stamps e with the next sequence number and the time, records it
// and offers it to every subscriber without blocking.
func (b *Bus) Publish(typ Type, resource string, data any) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	e := Event{Seq: b.seq, Type: typ, Time: b.now().UTC(), Resource: resource, Data: data}
	b.history[b.next] = e
	b.next++
	if b.next == len(b.history) {
		b.next, b.filled = 0, true
	}
	for s := range b.subs {
		s.offer(e)
	}
	return e
}

// Seq returns the sequence number of the last published event.
func (b *Bus) Seq() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// Subscribers returns how many subscriptions are open (for metrics).
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Subscribe returns a subscription with a queue of queueSize events. When
// since > 0, events after since still in the history are queued first; if
// some are gone, it returns ErrTooOld (subscribe with since = 0 after taking
// a snapshot instead).
func (b *Bus) Subscribe(since uint64, queueSize int) (*Subscription, error) {
	if queueSize < 1 {
		queueSize = 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &Subscription{bus: b, ch: make(chan Event, queueSize), done: make(chan struct{})}
	if since > 0 && since < b.seq {
		missed := b.sinceLocked(since)
		if missed == nil {
			return nil, ErrTooOld
		}
		if len(missed) > queueSize {
			return nil, ErrTooOld
		}
		for _, e := range missed {
			s.ch <- e
		}
	}
	b.subs[s] = struct{}{}
	return s, nil
}

// sinceLocked returns the events with Seq > since, or nil when the oldest
// needed one has been overwritten.
func (b *Bus) sinceLocked(since uint64) []Event {
	count := b.next
	if b.filled {
		count = len(b.history)
	}
	want := b.seq - since
	if want > uint64(count) {
		return nil
	}
	out := make([]Event, 0, want)
	start := (b.next - int(want) + len(b.history)) % len(b.history)
	for i := 0; i < int(want); i++ {
		out = append(out, b.history[(start+i)%len(b.history)])
	}
	return out
}

// ReadSince appends to dst the events with Seq > since, in order, at most
// max of them, straight from the history: a reader that keeps its own
// cursor needs no subscription queue of its own. It also returns the
// sequence number of the last published event. When the event after
// since is no longer in the history it returns ErrTooOld; a since beyond
// the last event reads nothing.
func (b *Bus) ReadSince(since uint64, dst []Event, max int) ([]Event, uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if since >= b.seq || max <= 0 {
		return dst, b.seq, nil
	}
	count := uint64(b.next)
	if b.filled {
		count = uint64(len(b.history))
	}
	behind := b.seq - since // events after since; the oldest is history[next-behind]
	if behind > count {
		return dst, b.seq, ErrTooOld
	}
	n := min(behind, uint64(max))
	start := b.next - int(behind)
	if start < 0 {
		start += len(b.history)
	}
	for i := 0; i < int(n); i++ {
		j := start + i
		if j >= len(b.history) {
			j -= len(b.history)
		}
		dst = append(dst, b.history[j])
	}
	return dst, b.seq, nil
}

func (b *Bus) remove(s *Subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// Subscription is one subscriber's bounded queue.
type Subscription struct {
	bus   *Bus
	ch    chan Event
	once  sync.Once
	done  chan struct{}
	cause error
}

// C delivers events in sequence order.
func (s *Subscription) C() <-chan Event { return s.ch }

// Done is closed when the subscription ends (Close, or cut off as slow).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err says why the subscription ended: nil after Close, ErrSlowSubscriber
// when it was cut off.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.cause
	default:
		return nil
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.bus.remove(s)
	s.end(nil)
}

func (s *Subscription) end(cause error) {
	s.once.Do(func() {
		s.cause = cause
		close(s.done)
	})
}

// offer is called with the bus lock held; it never blocks.
func (s *Subscription) offer(e Event) {
	select {
	case s.ch <- e:
	default:
		// A subscriber that cannot keep up is cut off (like a NATS slow
		// consumer) rather than holding events in memory without bound.
		delete(s.bus.subs, s)
		s.end(ErrSlowSubscriber)
	}
}
