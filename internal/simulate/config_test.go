package simulate

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseDist(t *testing.T) {
	tests := []struct {
		in   string
		want Dist
		bad  bool
	}{
		{in: "30s", want: Fixed(30 * time.Second)},
		{in: "fixed:2s", want: Fixed(2 * time.Second)},
		{in: "exp:1m", want: Exp(time.Minute)},
		{in: "uniform:1s-5s", want: Uniform(time.Second, 5*time.Second)},
		{in: "lognormal:45s,0.5", want: LogNormal(45*time.Second, 0.5)},
		{in: "uniform:5s-1s", bad: true},
		{in: "lognormal:45s", bad: true},
		{in: "lognormal:45s,-1", bad: true},
		{in: "gamma:3s", bad: true},
		{in: "exp:soon", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseDist(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseDist(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDist(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if back, err := ParseDist(got.String()); err != nil || back != got {
			t.Errorf("ParseDist(%q.String() = %q) = %v, %v", tt.in, got.String(), back, err)
		}
	}
}

// TestDistMeans checks each shape's sample mean and bounds over many
// draws from a seeded RNG (no timing involved).
func TestDistMeans(t *testing.T) {
	tests := []struct {
		d        Dist
		mean     time.Duration
		min, max time.Duration
	}{
		{Fixed(3 * time.Second), 3 * time.Second, 3 * time.Second, 3 * time.Second},
		{Exp(10 * time.Second), 10 * time.Second, 0, time.Hour},
		{Uniform(2*time.Second, 4*time.Second), 3 * time.Second, 2 * time.Second, 4 * time.Second},
		{LogNormal(30*time.Second, 0.5), 30 * time.Second, 0, time.Hour},
	}
	for _, tt := range tests {
		r := rand.New(rand.NewPCG(1, 2))
		const n = 20000
		var sum time.Duration
		for range n {
			v := tt.d.Sample(r)
			if v < tt.min || v > tt.max {
				t.Fatalf("%v: sample %s outside [%s, %s]", tt.d, v, tt.min, tt.max)
			}
			sum += v
		}
		got := sum / n
		if diff := got - tt.mean; diff < -tt.mean/40 || diff > tt.mean/40 {
			t.Errorf("%v: mean %s, want %s ± 2.5 %%", tt.d, got, tt.mean)
		}
	}
}

func FuzzParseDist(f *testing.F) {
	for _, s := range []string{"30s", "exp:1m", "uniform:1s-5s", "lognormal:45s,0.5", "x:", ":", "uniform:-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDist(s)
		if err != nil {
			return
		}
		if v := d.Sample(rand.New(rand.NewPCG(1, 1))); v < 0 {
			t.Fatalf("%q: negative sample %s", s, v)
		}
	})
}
