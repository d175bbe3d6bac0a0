package capacity

import (
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

// classic is the textbook example (Call Centre Helper, "Erlang C formula
// made simple"; also in Koole's call-centre notes): 100 calls in 30
// minutes, 180 s handle time, 80 % within 20 s. A = 10 Erlangs.
var classic = Load{CallsPerHour: 200, HandleTime: 180 * time.Second}

func TestPredictClassic(t *testing.T) {
	// The probability of waiting and the service level within 20 s are the
	// published figures for 11–14 agents (rounded as published); the ASA,
	// C·AHT/(N−A), and the 15-agent row are worked by hand from them.
	tests := []struct {
		agents   int
		probWait float64
		sl       float64
		asa      float64 // seconds
	}{
		{11, 0.6821, 0.3898, 122.8},
		{12, 0.4494, 0.6402, 40.4},
		{13, 0.2853, 0.7955, 17.1},
		{14, 0.1741, 0.8884, 7.8},
		{15, 0.1020, 0.9415, 3.7},
	}
	for _, tt := range tests {
		e := Predict(classic, tt.agents, 20*time.Second)
		if !e.Stable || e.Erlangs != 10 {
			t.Fatalf("%d agents: %+v", tt.agents, e)
		}
		if math.Abs(e.ProbWait-tt.probWait) > 0.0005 {
			t.Errorf("%d agents: P(wait) = %.4f, want %.4f", tt.agents, e.ProbWait, tt.probWait)
		}
		if math.Abs(e.ServiceLevel-tt.sl) > 0.0005 {
			t.Errorf("%d agents: SL = %.4f, want %.4f", tt.agents, e.ServiceLevel, tt.sl)
		}
		if math.Abs(e.ASA.Seconds()-tt.asa) > 0.1 {
			t.Errorf("%d agents: ASA = %.2f s, want %.1f", tt.agents, e.ASA.Seconds(), tt.asa)
		}
		if want := 10 / float64(tt.agents); math.Abs(e.Occupancy-want) > 1e-12 {
			t.Errorf("%d agents: occupancy %.4f, want %.4f", tt.agents, e.Occupancy, want)
		}
	}
}

func TestAgentsNeeded(t *testing.T) {
	tests := []struct {
		name string
		load Load
		tgt  Target
		want int
	}{
		{"classic 80/20", classic, Target{ServiceLevel: 0.8, Threshold: 20 * time.Second}, 14},
		{"classic 70/20", classic, Target{ServiceLevel: 0.7, Threshold: 20 * time.Second}, 13},
		{"classic 90/20", classic, Target{ServiceLevel: 0.9, Threshold: 20 * time.Second}, 15},
		{"classic, occupancy at most 70 %", classic, Target{ServiceLevel: 0.8, Threshold: 20 * time.Second, MaxOccupancy: 0.7}, 15},
		{"no target: just stable", classic, Target{Threshold: 20 * time.Second}, 11},
		{"one call an hour", Load{1, 3 * time.Minute}, Target{ServiceLevel: 0.8, Threshold: 20 * time.Second}, 1},
		{"no calls", Load{0, 3 * time.Minute}, Target{ServiceLevel: 0.8, Threshold: 20 * time.Second}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := AgentsNeeded(tt.load, tt.tgt)
			if err != nil {
				t.Fatal(err)
			}
			if e.Agents != tt.want {
				t.Fatalf("agents needed %d, want %d (%+v)", e.Agents, tt.want, e)
			}
			if e.ServiceLevel < tt.tgt.ServiceLevel {
				t.Fatalf("SL %.4f below the target %.2f", e.ServiceLevel, tt.tgt.ServiceLevel)
			}
			if e.Agents > 1 {
				fewer := Predict(tt.load, e.Agents-1, tt.tgt.Threshold)
				if fewer.Stable && fewer.ServiceLevel >= tt.tgt.ServiceLevel &&
					(tt.tgt.MaxOccupancy == 0 || fewer.Occupancy <= tt.tgt.MaxOccupancy) {
					t.Fatalf("%d agents would do: %+v", e.Agents-1, fewer)
				}
			}
		})
	}
}

func TestAgentsNeededUnreachable(t *testing.T) {
	for _, tgt := range []Target{
		{ServiceLevel: 1, Threshold: 20 * time.Second},
		{ServiceLevel: math.NaN(), Threshold: 20 * time.Second},
	} {
		if _, err := AgentsNeeded(classic, tgt); !errors.Is(err, ErrUnreachable) {
			t.Errorf("%+v: err %v, want ErrUnreachable", tgt, err)
		}
	}
	huge := Load{CallsPerHour: 1e9, HandleTime: time.Hour} // 10⁹ Erlangs
	if _, err := AgentsNeeded(huge, Target{ServiceLevel: 0.8, Threshold: 20 * time.Second}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("10⁹ Erlangs: err %v, want ErrUnreachable", err)
	}
}

func TestPredictUnstable(t *testing.T) {
	for _, n := range []int{0, 5, 10} {
		e := Predict(classic, n, 20*time.Second)
		if e.Stable || e.ProbWait != 1 || e.ServiceLevel != 0 || e.ASA != -1 {
			t.Errorf("%d agents for 10 Erlangs: %+v, want unstable", n, e)
		}
	}
	if e := Predict(Load{}, 0, 20*time.Second); !e.Stable || e.ServiceLevel != 1 || e.ProbWait != 0 {
		t.Errorf("no load, no agents: %+v", e)
	}
}

// exactErlangC is the textbook formula in arbitrary precision:
// C = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A)).
func exactErlangC(n int, a float64) float64 {
	const prec = 512
	A := new(big.Float).SetPrec(prec).SetFloat64(a)
	term := new(big.Float).SetPrec(prec).SetInt64(1) // A^k/k!
	sum := new(big.Float).SetPrec(prec)
	for k := 0; k < n; k++ {
		sum.Add(sum, term)
		term.Mul(term, A)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k+1)))
	}
	nf := new(big.Float).SetPrec(prec).SetInt64(int64(n))
	top := new(big.Float).SetPrec(prec).Mul(term, nf)
	top.Quo(top, new(big.Float).SetPrec(prec).Sub(nf, A))
	den := new(big.Float).SetPrec(prec).Add(sum, top)
	c, _ := new(big.Float).Quo(top, den).Float64()
	return c
}

// TestErlangCLargeN compares the recursion with the exact formula where
// the factorials overflow a float64 (N > 170) and where they do not.
func TestErlangCLargeN(t *testing.T) {
	tests := []struct {
		n int
		a float64
	}{{2, 1}, {14, 10}, {50, 45.5}, {171, 160}, {300, 280}, {1000, 975}, {2000, 1950.25}}
	for _, tt := range tests {
		got, want := ErlangC(tt.n, tt.a), exactErlangC(tt.n, tt.a)
		if math.IsNaN(got) || math.Abs(got-want) > 1e-9*max(1, want) {
			t.Errorf("C(%d, %g) = %.12f, exact %.12f", tt.n, tt.a, got, want)
		}
	}
	// Far beyond: still a probability.
	if c := ErlangC(90_000, 89_500); !(c > 0 && c < 1) {
		t.Fatalf("C(90000, 89500) = %v", c)
	}
}

// checkMonotonic holds the model's shape: more agents never make things
// worse, and every figure stays in range.
func checkMonotonic(t *testing.T, l Load, threshold time.Duration, from, to int) {
	t.Helper()
	prev := Predict(l, from, threshold)
	for n := from + 1; n <= to; n++ {
		e := Predict(l, n, threshold)
		switch {
		case e.ProbWait < 0 || e.ProbWait > 1 || e.ServiceLevel < 0 || e.ServiceLevel > 1 || math.IsNaN(e.ServiceLevel):
			t.Fatalf("%+v %d agents: out of range %+v", l, n, e)
		case e.ProbWait > prev.ProbWait+1e-12:
			t.Fatalf("%+v: P(wait) rose from %v (%d agents) to %v (%d)", l, prev.ProbWait, n-1, e.ProbWait, n)
		case e.ServiceLevel < prev.ServiceLevel-1e-12:
			t.Fatalf("%+v: SL fell from %v (%d agents) to %v (%d)", l, prev.ServiceLevel, n-1, e.ServiceLevel, n)
		case prev.Stable && e.ASA > prev.ASA:
			t.Fatalf("%+v: ASA rose from %v (%d agents) to %v (%d)", l, prev.ASA, n-1, e.ASA, n)
		}
		prev = e
	}
}

func TestMonotonicInAgents(t *testing.T) {
	loads := []Load{classic, {30, 5 * time.Minute}, {3600, 4 * time.Minute}, {12, 10 * time.Second}}
	for _, l := range loads {
		a := int(l.Erlangs())
		checkMonotonic(t, l, 20*time.Second, max(0, a-2), a+40)
	}
}

func FuzzPredictMonotonic(f *testing.F) {
	f.Add(200.0, 180.0, 20.0, 11)
	f.Add(1.0, 1.0, 0.0, 1)
	f.Add(5000.0, 300.0, 60.0, 400)
	f.Fuzz(func(t *testing.T, perHour, ahtSec, thresholdSec float64, n int) {
		if !(perHour >= 0 && perHour <= 1e6 && ahtSec >= 0 && ahtSec <= 7200 && thresholdSec >= 0 && thresholdSec <= 3600) || n < 0 || n > 2000 {
			t.Skip()
		}
		l := Load{CallsPerHour: perHour, HandleTime: time.Duration(ahtSec * float64(time.Second))}
		checkMonotonic(t, l, time.Duration(thresholdSec*float64(time.Second)), n, n+5)
		e, err := AgentsNeeded(l, Target{ServiceLevel: 0.8, Threshold: time.Duration(thresholdSec * float64(time.Second))})
		if err != nil {
			if l.Erlangs() < MaxAgents/2 && !errors.Is(err, ErrUnreachable) {
				t.Fatal(err)
			}
			return
		}
		if l.Erlangs() > 0 && (!e.Stable || e.ServiceLevel < 0.8) {
			t.Fatalf("%+v: needed %+v", l, e)
		}
	})
}

func BenchmarkAgentsNeeded(b *testing.B) {
	for _, bb := range []struct {
		name string
		l    Load
	}{
		{"10Erlangs", classic},
		{"1000Erlangs", Load{CallsPerHour: 20_000, HandleTime: 180 * time.Second}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			tgt := Target{ServiceLevel: 0.8, Threshold: 20 * time.Second}
			for b.Loop() {
				if _, err := AgentsNeeded(bb.l, tgt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	for b.Loop() {
		Predict(classic, 14, 20*time.Second)
	}
}
