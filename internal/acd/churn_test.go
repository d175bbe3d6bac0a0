package acd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// TestChurn applies random arrivals, answers, failures, hang-ups, status
// and membership changes, wrap-up ends and clock jumps, and checks the
// invariants after every step. The seed is printed; rerun one with
// ACD_CHURN_SEED=<seed>.
func TestChurn(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ACD_CHURN_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (ACD_CHURN_SEED=%d to repeat)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	exts := []string{"1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008"}
	strategies := Strategies()
	var qs []store.Queue
	for i := range 4 {
		var members []string
		for _, x := range exts {
			if rng.IntN(2) == 0 {
				members = append(members, fmt.Sprintf("%s:%d", x, rng.IntN(3)))
			}
		}
		sq := q(fmt.Sprintf("80%02d %s", i, strategies[rng.IntN(len(strategies))]), members...)
		sq.WrapupTime = time.Duration(rng.IntN(3)*10) * time.Second
		sq.MaxWaiting = rng.IntN(6)
		sq.MaxWait = time.Duration(rng.IntN(3)*60) * time.Second
		sq.RefuseWhenEmpty = rng.IntN(2) == 0
		qs = append(qs, sq)
	}
	ev := newEnv(t, qs, exts...)
	ev.snap.reasonCodes = []store.ReasonCode{{ID: 1, Code: "lunch", Kind: store.ReasonBreak}}
	ev.apply()
	ctx := context.Background()

	// calls lists the engine's calls in a state, for picking one.
	calls := func(state callState) []*qcall {
		ev.e.mu.Lock()
		defer ev.e.mu.Unlock()
		var out []*qcall
		for _, c := range ev.e.qcalls {
			if c.state == state {
				out = append(out, c)
			}
		}
		// Map order is random; sort so the seed alone decides.
		for i := 1; i < len(out); i++ {
			for j := i; j > 0 && out[j].seq < out[j-1].seq; j-- {
				out[j], out[j-1] = out[j-1], out[j]
			}
		}
		return out
	}
	ringer := func(c *qcall) string {
		ev.e.mu.Lock()
		defer ev.e.mu.Unlock()
		if len(c.ringing) == 0 {
			return ""
		}
		return c.ringing[rng.IntN(len(c.ringing))].info.Extensions[0]
	}
	steps, next := 3000, 0
	counts := map[string]int{}
	for step := range steps {
		op := rng.IntN(100)
		switch {
		case op < 25:
			next++
			err := ev.e.Enter(QueueCall{ID: fmt.Sprint("c", next), Queue: qs[rng.IntN(len(qs))].Number, Priority: rng.IntN(2)})
			counts[fmt.Sprint("enter err=", err != nil)]++
		case op < 45:
			if cs := calls(callOffered); len(cs) > 0 {
				c := cs[rng.IntN(len(cs))]
				if x := ringer(c); x != "" {
					ev.e.OfferAnswered(c.ID, x)
					counts["answer"]++
				}
			}
		case op < 55:
			if cs := calls(callOffered); len(cs) > 0 {
				c := cs[rng.IntN(len(cs))]
				if x := ringer(c); x != "" {
					ev.e.OfferFailed(c.ID, x, []string{FailNoAnswer, FailBusy, FailUnreachable}[rng.IntN(3)])
					counts["fail"]++
				}
			}
		case op < 62:
			all := append(calls(callWaiting), calls(callOffered)...)
			if len(all) > 0 {
				ev.e.Abandon(all[rng.IntN(len(all))].ID)
				counts["abandon"]++
			}
		case op < 75:
			if cs := calls(callAnswered); len(cs) > 0 {
				ev.e.InteractionEnded(cs[rng.IntN(len(cs))].ID)
				counts["end"]++
			}
		case op < 85:
			x := exts[rng.IntN(len(exts))]
			st := Status(1 + rng.IntN(4))
			reason := ""
			if st == StatusBreak {
				reason = "lunch"
			}
			if rng.IntN(3) > 0 {
				st, reason = StatusAvailable, "" // mostly available, so calls flow
			}
			id, _ := strconv.ParseInt(x, 10, 64)
			if _, err := ev.e.SetStatus(ctx, id, st, reason, id); err != nil {
				t.Fatalf("step %d: SetStatus(%s, %s): %v", step, x, st, err)
			}
			counts["status"]++
		case op < 90:
			sq := qs[rng.IntN(len(qs))]
			if len(sq.Members) == 0 {
				continue
			}
			x := sq.Members[rng.IntN(len(sq.Members))].Extension
			st := MemberState(1 + rng.IntN(3))
			if rng.IntN(2) == 0 {
				st = MemberLoggedIn
			}
			if _, err := ev.e.SetMembership(ctx, MembershipChange{Queue: sq.Number, Extension: x, State: st}); err != nil {
				t.Fatalf("step %d: SetMembership: %v", step, err)
			}
			counts["member"]++
		case op < 93:
			id, _ := strconv.ParseInt(exts[rng.IntN(len(exts))], 10, 64)
			_, _ = ev.e.EndWrapUp(ctx, id, "", true)
			counts["end wrap-up"]++
		default:
			ev.clk.Advance(time.Duration(rng.IntN(20_000)) * time.Millisecond)
			counts["clock"]++
		}
		ev.calls.take()
		if err := ev.e.checkInvariants(); err != nil {
			t.Fatalf("seed %d, step %d: %v", seed, step, err)
		}
	}
	t.Logf("operations: %v", counts)
	if counts["answer"] == 0 || counts["fail"] == 0 {
		t.Errorf("the churn did not exercise the engine: %v", counts)
	}
}
