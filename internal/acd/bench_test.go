package acd

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// benchCalls is a call layer that answers every offer at once, from
// inside Offer, and measures Enter → Offer for the calls in starts.
type benchCalls struct {
	e      *Engine
	starts sync.Map // call ID → time.Time Enter was called
	mu     sync.Mutex
	lat    []time.Duration
}

func (b *benchCalls) Offer(callID string, a Agent, ringFor time.Duration) {
	if t0, ok := b.starts.LoadAndDelete(callID); ok {
		d := time.Since(t0.(time.Time))
		b.mu.Lock()
		b.lat = append(b.lat, d)
		b.mu.Unlock()
	}
	b.e.OfferAnswered(callID, a.Extensions[0])
}
func (b *benchCalls) CancelOffer(string, Agent) {}
func (b *benchCalls) Overflow(string, string)   {}

// benchEngine is 1,000 agents in 100 queues of 30 members (each agent in
// 3 queues), strategies mixed, on the system clock with an event bus, as
// in production; 700 calls in progress so most agents are busy.
func benchEngine(tb testing.TB) (*Engine, *benchCalls) {
	const agents, queues, perQueue = 1000, 100, 30 // 3,000 memberships
	bus := events.New(4096)
	e := New(Config{Events: bus})
	calls := &benchCalls{e: e}
	e.SetCalls(calls)
	var s snapshot
	for i := range agents {
		x := strconv.Itoa(10000 + i)
		s.users = append(s.users, store.User{ID: int64(10000 + i), Username: x})
		s.extensions = append(s.extensions, store.Extension{Number: x, UserID: int64(10000 + i)})
	}
	strategies := Strategies()
	for qi := range queues {
		n := strconv.Itoa(8000 + qi)
		s.queues = append(s.queues, store.Queue{Number: n, Name: n, Strategy: strategies[qi%len(strategies)],
			RingTime: 20 * time.Second, ServiceLevel: 20 * time.Second})
		for j := range perQueue {
			// 10·qi + 33·j puts every agent in exactly 3 queues.
			x := strconv.Itoa(10000 + (10*qi+33*j)%agents)
			s.memberships = append(s.memberships, store.QueueMembership{Queue: n, Extension: x,
				Penalty: j % 3, State: store.MemberLoggedIn})
		}
	}
	e.mu.Lock()
	e.apply(s)
	e.unlock()
	tb.Cleanup(e.Close)
	for i := range 700 {
		if err := e.Enter(QueueCall{ID: fmt.Sprint("busy-", i), Queue: strconv.Itoa(8000 + i%queues)}); err != nil {
			tb.Fatal(err)
		}
	}
	return e, calls
}

// BenchmarkRouteDecision measures Enter → Offer: a caller enters a queue
// with idle agents, and the engine picks one and tells the call layer
// (which answers at once). Each iteration also ends a call in progress,
// so 700 of the 1,000 agents stay busy. Reports p50/p99/max of Enter →
// Offer. "parallel" enters from every CPU at once (each caller waiting
// for its offer before the next), so the figure includes waiting for the
// engine's lock and for another goroutine running the offer.
func BenchmarkRouteDecision(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		e, calls := benchEngine(b)
		calls.lat = make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			id := "c" + strconv.Itoa(i)
			calls.starts.Store(id, time.Now())
			if err := e.Enter(QueueCall{ID: id, Queue: strconv.Itoa(8000 + i%100)}); err != nil {
				b.Fatal(err)
			}
			if i < 700 {
				e.InteractionEnded("busy-" + strconv.Itoa(i))
			} else {
				e.InteractionEnded("c" + strconv.Itoa(i-700))
			}
		}
		b.StopTimer()
		report(b, calls.lat)
	})
	b.Run("parallel", func(b *testing.B) {
		e, calls := benchEngine(b)
		var seq atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(seq.Add(1))
				id := "p" + strconv.Itoa(i)
				calls.starts.Store(id, time.Now())
				if err := e.Enter(QueueCall{ID: id, Queue: strconv.Itoa(8000 + i%100)}); err != nil {
					b.Error(err)
					return
				}
				// The offer may be run by the other goroutine: wait for
				// it, as the call would, before ending the call.
				for deadline := time.Now().Add(time.Second); ; runtime.Gosched() {
					if _, ok := calls.starts.Load(id); !ok {
						break
					}
					if time.Now().After(deadline) {
						b.Errorf("call %s was not offered within a second", id)
						return
					}
				}
				e.InteractionEnded(id)
			}
		})
		b.StopTimer()
		report(b, calls.lat)
	})
}

// report adds the latency percentiles to the benchmark's figures.
func report(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		b.Fatal("no offer was measured")
	}
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(p(0.5), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-µs")
}
