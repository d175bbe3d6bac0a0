package metrics

import "testing"

// The updates that may sit on a hot path allocate nothing.
func TestUpdatesDoNotAllocate(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounter("a_total", "")
	g := r.NewGauge("b", "")
	h := r.NewHistogram("c_seconds", "", []float64{0.01, 0.1, 1})
	child := r.NewCounterVec("d_total", "", "k").With("x")
	tests := []struct {
		name string
		f    func()
	}{
		{"Counter.Inc", c.Inc},
		{"Counter.Add", func() { c.Add(2.5) }},
		{"Gauge.Set", func() { g.Set(3) }},
		{"Gauge.Add", func() { g.Add(-1) }},
		{"Histogram.Observe", func() { h.Observe(0.05) }},
		{"CounterVec child Inc", child.Inc},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, n)
		}
	}
}

func BenchmarkCounterInc(b *testing.B) {
	c := NewRegistry().NewCounter("a_total", "")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkCounterIncParallel(b *testing.B) {
	c := NewRegistry().NewCounter("a_total", "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func BenchmarkGaugeSet(b *testing.B) {
	g := NewRegistry().NewGauge("a", "")
	b.ReportAllocs()
	for b.Loop() {
		g.Set(1)
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	h := NewRegistry().NewHistogram("a_seconds", "", talkBuckets)
	b.ReportAllocs()
	for b.Loop() {
		h.Observe(42)
	}
}

func BenchmarkCounterVecChildInc(b *testing.B) {
	c := NewRegistry().NewCounterVec("a_total", "", "k").With("x")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}
