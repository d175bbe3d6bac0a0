package call

import "fmt"

// State is where a call is in its life. States only move forward, except
// Answered ↔ Held.
type State int

// Call states; Unknown is the zero value and never a live call's state.
const (
	StateUnknown  State = iota
	StateRouting        // INVITE accepted, target being resolved
	StateRinging        // at least one destination alerted (180/183)
	StateQueued         // answered by a queue: the caller hears music until an agent answers
	StateAnswered       // media bridged
	StateHeld           // answered, one party on hold (music to the other)
	StateEnded
)

var stateNames = [...]string{"unknown", "routing", "ringing", "queued", "answered", "held", "ended"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// MarshalText renders the state by name in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// transitions lists the allowed moves; anything else is a bug or an
// out-of-order event, and is rejected rather than applied.
var transitions = map[State][]State{
	StateRouting:  {StateRinging, StateQueued, StateAnswered, StateEnded},
	StateQueued:   {StateAnswered, StateEnded},
	StateRinging:  {StateAnswered, StateEnded},
	StateAnswered: {StateHeld, StateEnded},
	StateHeld:     {StateAnswered, StateEnded},
}

func canMove(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}
