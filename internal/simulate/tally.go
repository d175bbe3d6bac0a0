package simulate

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// Tally is what the simulator did and saw, per queue.
type Tally struct {
	Seed    uint64
	Started time.Time
	Ended   time.Time // zero while running
	Queues  map[string]QueueTally
	// Breaks counts the breaks agents took, by reason code.
	Breaks map[string]int
	// DirectCalls counts calls agents got that the simulator did not place.
	DirectCalls int
}

// QueueTally counts one queue's calls from the callers' and agents' side.
// Every call placed ends up in exactly one of Answered, Abandoned and
// Failed once Run has returned (while it runs, some are in progress).
type QueueTally struct {
	// Offered is the calls placed to the queue's DID.
	Offered int
	// Answered is the calls a simulated agent answered.
	Answered int
	// AnsweredInSL is the answered calls that waited at most ServiceLevel.
	AnsweredInSL int
	// Abandoned is the callers who hung up, patience run out, before an
	// agent answered.
	Abandoned int
	// Failed is the calls that ended otherwise before an agent answered:
	// refused, overflowed or ended by Switchboard, or an answer that did
	// not complete.
	Failed int
	// RONAs is the offers of this queue's calls that simulated agents let
	// ring out, after which Switchboard had them in RONA.
	RONAs int
	// Waits are the answered calls' waits: INVITE sent → agent answered.
	Waits []time.Duration
	// AbandonWaits are how long abandoning callers waited.
	AbandonWaits []time.Duration
	// HandleTimes are the answered calls' talk times: answer → hang-up.
	HandleTimes []time.Duration
	// WrapupCodes counts the wrap-up codes agents posted.
	WrapupCodes map[string]int
	// ServiceLevel is the threshold AnsweredInSL was counted with.
	ServiceLevel time.Duration
}

// ServiceLevelPct is AnsweredInSL as a share of the calls answered or
// abandoned (0..1), the usual contact-center definition; 0 when none.
func (q QueueTally) ServiceLevelPct() float64 {
	n := q.Answered + q.Abandoned
	if n == 0 {
		return 0
	}
	return float64(q.AnsweredInSL) / float64(n)
}

// MeanWait is the mean of Waits (0 when none).
func (q QueueTally) MeanWait() time.Duration { return mean(q.Waits) }

// MeanHandle is the mean of HandleTimes (0 when none).
func (q QueueTally) MeanHandle() time.Duration { return mean(q.HandleTimes) }

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s / time.Duration(len(ds))
}

// tally is the live, locked Tally.
type tally struct {
	mu sync.Mutex
	t  Tally
	q  map[string]*QueueTally
}

func newTally(seed uint64, queues []Queue) *tally {
	t := &tally{t: Tally{Seed: seed, Breaks: map[string]int{}}, q: map[string]*QueueTally{}}
	for _, q := range queues {
		t.q[q.Number] = &QueueTally{WrapupCodes: map[string]int{}, ServiceLevel: q.ServiceLevel}
	}
	return t
}

// with runs f on queue's tally under the lock (queues not simulated are
// ignored).
func (t *tally) with(queue string, f func(q *QueueTally)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if q := t.q[queue]; q != nil {
		f(q)
	}
}

func (t *tally) do(f func(t *Tally)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.t)
}

func (t *tally) snapshot() Tally {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.t
	out.Breaks = maps.Clone(t.t.Breaks)
	out.Queues = make(map[string]QueueTally, len(t.q))
	for k, q := range t.q {
		c := *q
		c.Waits = slices.Clone(q.Waits)
		c.AbandonWaits = slices.Clone(q.AbandonWaits)
		c.HandleTimes = slices.Clone(q.HandleTimes)
		c.WrapupCodes = maps.Clone(q.WrapupCodes)
		out.Queues[k] = c
	}
	return out
}
