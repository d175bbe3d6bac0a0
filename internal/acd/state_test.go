package acd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

func TestStateTable(t *testing.T) {
	allowed := map[[2]State]bool{
		{StateIdle, StateOffered}:    true,
		{StateOffered, StateBusy}:    true,
		{StateOffered, StateRONA}:    true,
		{StateOffered, StateIdle}:    true,
		{StateBusy, StateWrapUp}:     true,
		{StateBusy, StateIdle}:       true,
		{StateWrapUp, StateIdle}:     true,
		{StateRONA, StateIdle}:       true,
		{StateUnknown, StateUnknown}: false,
	}
	all := []State{StateUnknown, StateIdle, StateOffered, StateBusy, StateWrapUp, StateRONA}
	for _, from := range all {
		for _, to := range all {
			if got := canMove(from, to); got != allowed[[2]State{from, to}] {
				t.Errorf("%s → %s: allowed %v, want %v", from, to, got, !got)
			}
		}
	}
	// The engine refuses, and does not apply, a move the table forbids.
	ev := newEnv(t, nil, "1001")
	a := ev.e.agents[1001]
	for _, to := range []State{StateBusy, StateWrapUp, StateRONA} {
		if ev.e.setState(a, to, ev.clk.Now()) || a.state != StateIdle {
			t.Errorf("idle → %s applied", to)
		}
	}
}

func TestParseNames(t *testing.T) {
	for _, s := range []Status{StatusAvailable, StatusBreak, StatusOffline, StatusLoggedOut} {
		if got, err := ParseStatus(s.String()); err != nil || got != s {
			t.Errorf("ParseStatus(%s) = %v, %v", s, got, err)
		}
	}
	if got, _ := ParseStatus("idle"); got != StatusBreak {
		t.Errorf("idle = %s, want break", got)
	}
	for _, bad := range []string{"", "unknown", "busy", "Available"} {
		if _, err := ParseStatus(bad); !errors.Is(err, ErrInvalidStatus) {
			t.Errorf("ParseStatus(%q) = %v", bad, err)
		}
	}
	for _, n := range Strategies() {
		if s, err := ParseStrategy(n); err != nil || s.String() != n {
			t.Errorf("ParseStrategy(%s) = %v, %v", n, s, err)
		}
	}
	if s, _ := ParseStrategy(""); s != StrategyRingAll {
		t.Errorf(`"" = %s`, s)
	}
	if _, err := ParseStrategy("random"); !errors.Is(err, ErrInvalidStrategy) {
		t.Errorf("random: %v", err)
	}
	if _, err := ParseMemberState("paused"); err != nil {
		t.Error(err)
	}
	if _, err := ParseMemberState("away"); !errors.Is(err, ErrInvalidMemberState) {
		t.Errorf("away: %v", err)
	}
}

// TestStatusChanges drives every status change an agent may ask for, from
// each system state it can be in, and the refused ones.
func TestStatusChanges(t *testing.T) {
	reasons := []store.ReasonCode{{ID: 1, Code: "lunch", Kind: store.ReasonBreak}, {ID: 2, Code: "email", Kind: store.ReasonOffline}}
	type setup func(ev *env)
	idle := func(ev *env) {}
	ringing := func(ev *env) { ev.mustEnter("c1", "8000"); ev.expectState("1001", StateOffered) }
	busy := func(ev *env) { ringing(ev); ev.e.OfferAnswered("c1", "1001") }
	rona := func(ev *env) { ringing(ev); ev.e.OfferFailed("c1", "1001", FailNoAnswer); ev.e.Abandon("c1") }
	onBreak := func(ev *env) { ev.mustStatus("1001", StatusBreak, "lunch") }
	tests := []struct {
		name       string
		before     setup
		codes      bool // reason codes configured
		to         Status
		reason     string
		wantErr    error
		wantState  State
		wantStatus Status
	}{
		{"available to break", idle, false, StatusBreak, "", nil, StateIdle, StatusBreak},
		{"break with its code", idle, true, StatusBreak, "lunch", nil, StateIdle, StatusBreak},
		{"break needs a code once there are codes", idle, true, StatusBreak, "", ErrReasonRequired, StateIdle, StatusAvailable},
		{"break with an offline code", idle, true, StatusBreak, "email", ErrInvalidReason, StateIdle, StatusAvailable},
		{"break with an unknown code", idle, true, StatusBreak, "nap", ErrInvalidReason, StateIdle, StatusAvailable},
		{"offline with its code", idle, true, StatusOffline, "email", nil, StateIdle, StatusOffline},
		{"offline without codes configured", idle, false, StatusOffline, "", nil, StateIdle, StatusOffline},
		{"available takes no code", onBreak, true, StatusAvailable, "lunch", ErrInvalidReason, StateIdle, StatusBreak},
		{"break to available", onBreak, true, StatusAvailable, "", nil, StateIdle, StatusAvailable},
		{"break to another break code", onBreak, true, StatusBreak, "lunch", nil, StateIdle, StatusBreak},
		{"log out", idle, true, StatusLoggedOut, "", nil, StateIdle, StatusLoggedOut},
		{"log out takes no code", idle, true, StatusLoggedOut, "email", ErrInvalidReason, StateIdle, StatusAvailable},
		{"unknown status", idle, false, StatusUnknown, "", ErrInvalidStatus, StateIdle, StatusAvailable},
		{"out of range status", idle, false, Status(9), "", ErrInvalidStatus, StateIdle, StatusAvailable},
		{"break while busy: the call goes on", busy, false, StatusBreak, "", nil, StateBusy, StatusBreak},
		{"log out while busy", busy, false, StatusLoggedOut, "", nil, StateBusy, StatusLoggedOut},
		{"break while ringing: the offer stops", ringing, false, StatusBreak, "", nil, StateIdle, StatusBreak},
		{"available while ringing: it rings on", ringing, false, StatusAvailable, "", nil, StateOffered, StatusAvailable},
		{"RONA to available", rona, false, StatusAvailable, "", nil, StateIdle, StatusAvailable},
		{"RONA to break", rona, true, StatusBreak, "lunch", nil, StateIdle, StatusBreak},
		{"RONA to break without a code", rona, true, StatusBreak, "", ErrReasonRequired, StateRONA, StatusAvailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEnv(t, []store.Queue{q("8000", "1001")})
			if tt.codes {
				ev.snap.reasonCodes = reasons
				ev.apply()
			} else {
				// onBreak needs the code to exist even so.
				ev.e.mu.Lock()
				ev.e.reasons["lunch"] = reasons[0]
				ev.e.mu.Unlock()
			}
			tt.before(ev)
			ev.calls.take()
			err := ev.status("1001", tt.to, tt.reason)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SetStatus = %v, want %v", err, tt.wantErr)
			}
			ev.expectState("1001", tt.wantState, tt.wantStatus)
			if err := ev.e.checkInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
	ev := newEnv(t, nil, "1001")
	if _, err := ev.e.SetStatus(context.Background(), 4242, StatusBreak, "", 1); !errors.Is(err, ErrUnknownAgent) {
		t.Errorf("unknown agent: %v", err)
	}
}

// TestSystemEventsRefused: the call layer's reports that do not match the
// engine's state change nothing.
func TestSystemEventsRefused(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001", "1002")})
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1001 20s")
	ev.e.OfferAnswered("c1", "1002")       // not offered to 1002
	ev.e.OfferFailed("c1", "1002", "busy") // idem
	ev.e.OfferAnswered("nope", "1001")     // unknown call
	ev.e.OfferAnswered("c1", "1999")       // unknown extension
	ev.e.InteractionEnded("nope")          // unknown call
	ev.e.Abandon("nope")                   // unknown call
	ev.expectState("1001", StateOffered)
	ev.expectState("1002", StateIdle)
	ev.e.OfferAnswered("c1", "1001")
	ev.e.OfferAnswered("c1", "1001") // twice
	ev.e.OfferFailed("c1", "1001", FailNoAnswer)
	ev.expectState("1001", StateBusy)
	if err := ev.enter("c1", "8000"); err != nil {
		// An answered call entering a queue again (a transfer to a queue)
		// ends the interaction first.
		t.Fatalf("re-enter an answered call: %v", err)
	}
	ev.expect("offer c1 1001 20s")
	ev.expectState("1001", StateOffered)
	if err := ev.enter("c1", "8000"); !errors.Is(err, ErrAlreadyQueued) {
		t.Errorf("enter a ringing call again: %v", err)
	}
	if err := ev.enter("c2", "8999"); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("unknown queue: %v", err)
	}
	if _, err := ev.e.EndWrapUp(context.Background(), 1002, "", true); !errors.Is(err, ErrNotInWrapUp) {
		t.Errorf("end wrap-up when not in one: %v", err)
	}
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestCanReceiveTransfer(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 linear", "1001")}, "1002", "1003")
	ev.snap.queues[0].WrapupTime = time.Minute
	ev.apply()
	ev.mustStatus("1002", StatusOffline, "")
	ev.mustEnter("c1", "8000")
	ev.e.OfferAnswered("c1", "1001")
	tests := []struct {
		name  string
		ext   string
		blind bool
		want  error
	}{
		{"busy, attended", "1001", false, nil},
		{"busy, blind", "1001", true, ErrAgentNotAvailable},
		{"offline, attended", "1002", false, nil},
		{"offline, blind", "1002", true, ErrAgentNotAvailable},
		{"available, blind", "1003", true, nil},
		{"not an agent", "2000", true, nil},
	}
	check := func() {
		for _, tt := range tests {
			if err := ev.e.CanReceiveTransfer(tt.ext, tt.blind); !errors.Is(err, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
			}
		}
	}
	check()
	ev.e.InteractionEnded("c1")
	ev.expectState("1001", StateWrapUp)
	tests = append(tests[:0],
		struct {
			name  string
			ext   string
			blind bool
			want  error
		}{"wrap-up, attended", "1001", false, ErrAgentInWrapUp},
		struct {
			name  string
			ext   string
			blind bool
			want  error
		}{"wrap-up, blind", "1001", true, ErrAgentInWrapUp})
	check()
}
