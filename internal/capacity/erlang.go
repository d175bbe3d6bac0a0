// Package capacity is the queueing model behind capacity planning: Erlang C
// (M/M/N with infinite patience), which answers how many agents a queue
// needs for its service-level target and what a caller should expect to
// wait with the agents it has.
//
// The model assumes Poisson arrivals, exponential handle times, callers who
// never give up and agents who take the next call at once. Real queues
// break each of these a little (callers abandon, which helps those who stay;
// wrap-up is not exponential), so the figures are an estimate to plan with,
// shown next to the measured ones, never instead of them.
//
// Everything is computed through the Erlang B recursion
//
//	B(0) = 1,  B(n) = A·B(n−1) / (n + A·B(n−1))
//
// which stays within [0, 1] for any N and load, where the textbook form
// A^N/N! overflows a float64 beyond N ≈ 170.
package capacity

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// MaxAgents bounds the searches: no queue has more agents, and it keeps a
// nonsensical load (a wrong unit, a stuck counter) from looping for long.
const MaxAgents = 100_000

// ErrUnreachable is returned when no number of agents up to MaxAgents meets
// the target (a load beyond MaxAgents Erlangs, or a target of 100 %).
var ErrUnreachable = errors.New("capacity: target not reachable")

// Load is the traffic offered to a queue.
type Load struct {
	// CallsPerHour is the arrival rate λ.
	CallsPerHour float64
	// HandleTime is the mean time an agent is kept per call (talk plus
	// wrap-up).
	HandleTime time.Duration
}

// Erlangs is the offered traffic A = λ × AHT: how many agents would be busy
// on average if every call were answered at once.
func (l Load) Erlangs() float64 {
	if l.CallsPerHour <= 0 || l.HandleTime <= 0 {
		return 0
	}
	return l.CallsPerHour * l.HandleTime.Hours()
}

// ErlangB is the probability that a call finds all n servers busy in a loss
// system offered a Erlangs (Erlang's first formula).
func ErlangB(n int, a float64) float64 {
	if a <= 0 {
		if n == 0 {
			return 1
		}
		return 0
	}
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// erlangCFromB turns B(n, a) into C(n, a). n must exceed a.
func erlangCFromB(n int, a, b float64) float64 {
	nf := float64(n)
	return nf * b / (nf - a*(1-b))
}

// ErlangC is the probability that a call has to wait (Erlang's second
// formula) with n agents offered a Erlangs: 1 when n ≤ a, where the queue
// grows without bound.
func ErlangC(n int, a float64) float64 {
	switch {
	case a <= 0:
		return 0
	case float64(n) <= a:
		return 1
	}
	return erlangCFromB(n, a, ErlangB(n, a))
}

// Estimate is what the model predicts for a load and a number of agents.
type Estimate struct {
	Agents int
	// Erlangs is the offered traffic (Load.Erlangs).
	Erlangs float64
	// ProbWait is the probability that a caller waits at all (Erlang C).
	ProbWait float64
	// ServiceLevel is the probability that a caller is answered within the
	// threshold, 0 to 1.
	ServiceLevel float64
	// ASA is the average speed of answer over all callers (those answered
	// at once count as zero): -1 when unstable, the largest Duration when
	// finite but beyond it (N a hair above A).
	ASA time.Duration
	// Occupancy is the share of the agents' time spent on calls, A/N
	// (capped at 1).
	Occupancy float64
	// Stable is false when the agents cannot keep up (N ≤ A): the queue
	// grows until callers give up, and SL and ASA are meaningless.
	Stable bool
}

// Predict returns the model's figures for l served by n agents with a
// service level of "answered within threshold".
func Predict(l Load, n int, threshold time.Duration) Estimate {
	a := l.Erlangs()
	e := Estimate{Agents: n, Erlangs: a}
	if n <= 0 {
		e.ProbWait, e.ASA = 1, -1
		if a == 0 {
			e.ProbWait, e.ASA = 0, 0
			e.ServiceLevel, e.Stable = 1, true
		}
		return e
	}
	e.Occupancy = min(a/float64(n), 1)
	if float64(n) <= a {
		e.ProbWait, e.ASA = 1, -1
		return e
	}
	c := ErlangC(n, a)
	e.Stable, e.ProbWait = true, c
	e.ServiceLevel = serviceLevel(n, a, c, l.HandleTime, threshold)
	if a > 0 {
		// Just above A the wait is finite but beyond what a Duration holds.
		e.ASA = time.Duration(math.MaxInt64)
		if asa := c * float64(l.HandleTime) / (float64(n) - a); asa < float64(math.MaxInt64) {
			e.ASA = time.Duration(asa)
		}
	}
	return e
}

// serviceLevel is P(wait ≤ t) = 1 − C·e^(−(N−A)·t/AHT).
func serviceLevel(n int, a, c float64, aht, t time.Duration) float64 {
	if a <= 0 || aht <= 0 {
		return 1
	}
	return 1 - c*math.Exp(-(float64(n)-a)*t.Seconds()/aht.Seconds())
}

// Target is a queue's service-level goal.
type Target struct {
	// ServiceLevel is the share of callers to answer within Threshold,
	// 0 to 1 (0.8 for the common 80/20).
	ServiceLevel float64
	Threshold    time.Duration
	// MaxOccupancy, when above 0, also requires A/N to stay at or below
	// it (agents kept busy 100 % of the time burn out); 0: no limit.
	MaxOccupancy float64
}

// AgentsNeeded returns the fewest agents that meet t for l, with the
// model's figures for that many. No load needs no agents. ErrUnreachable
// when not even MaxAgents do. The search walks N upwards from ⌊A⌋+1 with
// the Erlang B recursion carried along, so it costs O(N) however large.
func AgentsNeeded(l Load, t Target) (Estimate, error) {
	a := l.Erlangs()
	if a == 0 {
		return Predict(l, 0, t.Threshold), nil
	}
	if t.ServiceLevel < 0 || t.ServiceLevel >= 1 || math.IsNaN(t.ServiceLevel) {
		return Estimate{}, fmt.Errorf("agents needed for %.3g Erlangs: service level %v must be in [0, 1): %w",
			a, t.ServiceLevel, ErrUnreachable)
	}
	b := 1.0
	for n := 1; n <= MaxAgents; n++ {
		b = a * b / (float64(n) + a*b)
		if float64(n) <= a {
			continue
		}
		if t.MaxOccupancy > 0 && a/float64(n) > t.MaxOccupancy {
			continue
		}
		c := erlangCFromB(n, a, b)
		if serviceLevel(n, a, c, l.HandleTime, t.Threshold) >= t.ServiceLevel {
			return Predict(l, n, t.Threshold), nil
		}
	}
	return Estimate{}, fmt.Errorf("agents needed for %.3g Erlangs: more than %d: %w", a, MaxAgents, ErrUnreachable)
}
