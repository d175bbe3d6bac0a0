package call

import "testing"

func TestTransitions(t *testing.T) {
	tests := []struct {
		from, to State
		ok       bool
	}{
		{StateRouting, StateRinging, true},
		{StateRouting, StateAnswered, true},
		{StateRinging, StateAnswered, true},
		{StateAnswered, StateHeld, true},
		{StateHeld, StateAnswered, true},
		{StateAnswered, StateRinging, false},
		{StateEnded, StateAnswered, false},
		{StateEnded, StateEnded, false},
		{StateUnknown, StateRouting, false},
		{StateRinging, StateHeld, false},
	}
	for _, tt := range tests {
		if got := canMove(tt.from, tt.to); got != tt.ok {
			t.Errorf("%v → %v allowed = %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
	if StateHeld.String() != "held" || State(42).String() != "State(42)" {
		t.Errorf("String() wrong: %q %q", StateHeld, State(42))
	}
}
