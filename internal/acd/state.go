package acd

import (
	"fmt"
	"slices"
)

// Status is what an agent chooses (SPEC A1): whether they take queue
// calls. It is one of two things kept per agent, as FreeSWITCH's
// mod_callcenter keeps "status" apart from "state": the other, State, is
// what the system drives.
type Status int

// Statuses. Any status may follow any other; Break and Offline carry a
// reason code (SPEC A2).
const (
	StatusUnknown   Status = iota
	StatusAvailable        // takes queue calls
	StatusBreak            // logged in but not working ("Idle", "Ta rast"); a break reason code
	StatusOffline          // working offline: only direct and transferred calls; an offline reason code
	StatusLoggedOut        // takes no calls from the ACD
)

var statusNames = []string{"unknown", "available", "break", "offline", "logged_out"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return statusNames[s]
}

// ParseStatus is the inverse of String; "idle" is accepted for break (the
// agent desktop's name for it). Unknown names are ErrInvalidStatus.
func ParseStatus(s string) (Status, error) {
	if s == "idle" {
		return StatusBreak, nil
	}
	if i := slices.Index(statusNames, s); i > 0 {
		return Status(i), nil
	}
	return StatusUnknown, fmt.Errorf("status %q: %w", s, ErrInvalidStatus)
}

// reasonKind is the kind of reason code a status takes ("" for none).
func (s Status) reasonKind() string {
	switch s {
	case StatusBreak:
		return "break"
	case StatusOffline:
		return "offline"
	}
	return ""
}

// State is what the system drives for an agent: idle, being offered a
// queue call, busy with one, in wrap-up after one, or RONA after not
// answering one (SPEC A1, Q2, Q3).
type State int

// States.
const (
	StateUnknown State = iota
	StateIdle          // no queue call
	StateOffered       // a queue call rings the agent's devices
	StateBusy          // on a queue call
	StateWrapUp        // after-call work; no offers until it ends
	StateRONA          // redirected on no answer: no offers until the agent chooses a status again
)

var stateNames = []string{"unknown", "idle", "offered", "busy", "wrap_up", "rona"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// stateMoves is the transition table of State. Everything else is refused
// (ErrBadTransition) rather than applied.
//
//	idle ──offer──▶ offered ──answer──▶ busy ──end──▶ wrap_up ──timer/end──▶ idle
//	                   │ no answer ▶ rona ──agent chooses a status──▶ idle
//	                   └ cancelled, busy ▶ idle        busy ──end, no wrap-up──▶ idle
var stateMoves = map[State][]State{
	StateIdle:    {StateOffered},
	StateOffered: {StateBusy, StateRONA, StateIdle},
	StateBusy:    {StateWrapUp, StateIdle},
	StateWrapUp:  {StateIdle},
	StateRONA:    {StateIdle},
}

// canMove reports whether the table allows from → to.
func canMove(from, to State) bool { return slices.Contains(stateMoves[from], to) }

// MemberState is an agent's state in one queue (SPEC Q4), changed by the
// agent or a supervisor of the queue.
type MemberState int

// Member states.
const (
	MemberUnknown   MemberState = iota
	MemberLoggedIn              // gets the queue's calls when Available and idle
	MemberPaused                // stays a member, gets none of its calls
	MemberLoggedOut             // gets none of its calls
)

var memberNames = []string{"unknown", "logged_in", "paused", "logged_out"}

func (s MemberState) String() string {
	if s < 0 || int(s) >= len(memberNames) {
		return fmt.Sprintf("MemberState(%d)", int(s))
	}
	return memberNames[s]
}

// ParseMemberState is the inverse of String; unknown names are
// ErrInvalidMemberState.
func ParseMemberState(s string) (MemberState, error) {
	if i := slices.Index(memberNames, s); i > 0 {
		return MemberState(i), nil
	}
	return MemberUnknown, fmt.Errorf("member state %q: %w", s, ErrInvalidMemberState)
}

// Strategy is how a queue chooses among its eligible agents (SPEC Q1).
// With every strategy the lowest penalty goes first: an agent with a
// higher penalty is offered a call only while no eligible agent with a
// lower one is idle.
type Strategy int

// Strategies.
const (
	StrategyUnknown     Strategy = iota
	StrategyRingAll              // every eligible agent of the lowest penalty rings; the first to answer takes it
	StrategyLongestIdle          // the agent idle longest (since their last queue call or becoming available)
	StrategyRoundRobin           // the next member after the one offered last, in member order
	StrategyFewestCalls          // the agent who answered fewest of this queue's calls since start; ties: longest idle
	StrategyLinear               // always the first eligible member in order (penalty, then extension)
)

var strategyNames = []string{"unknown", "ringall", "longest_idle", "round_robin", "fewest_calls", "linear"}

func (s Strategy) String() string {
	if s < 0 || int(s) >= len(strategyNames) {
		return fmt.Sprintf("Strategy(%d)", int(s))
	}
	return strategyNames[s]
}

// ParseStrategy is the inverse of String ("" is ringall, the store's
// default); unknown names are ErrInvalidStrategy.
func ParseStrategy(s string) (Strategy, error) {
	if s == "" {
		return StrategyRingAll, nil
	}
	if i := slices.Index(strategyNames, s); i > 0 {
		return Strategy(i), nil
	}
	return StrategyUnknown, fmt.Errorf("strategy %q: %w", s, ErrInvalidStrategy)
}

// Strategies lists the strategy names a queue may be given.
func Strategies() []string { return slices.Clone(strategyNames[1:]) }

// callState is where a queue call is.
type callState int

const (
	callUnknown  callState = iota
	callWaiting            // in the queue, in order
	callOffered            // ringing one agent (several with ringall)
	callAnswered           // an agent took it
)

var callStateNames = []string{"unknown", "waiting", "ringing", "answered"}

func (s callState) String() string {
	if s < 0 || int(s) >= len(callStateNames) {
		return fmt.Sprintf("callState(%d)", int(s))
	}
	return callStateNames[s]
}
