package metrics

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync/atomic"
)

// Histogram counts observations into buckets by upper bound. Observe is
// atomic and allocates nothing.
//
// A scrape reads the buckets one after another while observations may
// land, so _sum can be one observation ahead of or behind the buckets;
// _count is always the +Inf bucket, as the format requires.
type Histogram struct {
	bounds []float64       // sorted upper bounds, without +Inf
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Uint64   // float64 bits
}

// histSnapshot is a histogram read at scrape time, with cumulative counts.
type histSnapshot struct {
	cumulative []uint64 // one per bound, then +Inf
	sum        float64
}

func newHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	// The first bucket whose upper bound is >= v ("le" is inclusive);
	// NaN lands in +Inf.
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i].Add(1)
	addFloat(&h.sum, v)
}

func (h *Histogram) snapshot() *histSnapshot {
	s := &histSnapshot{cumulative: make([]uint64, len(h.counts)), sum: math.Float64frombits(h.sum.Load())}
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
		s.cumulative[i] = total
	}
	return s
}

// checkBuckets validates and copies upper bounds: at least one, finite,
// strictly increasing (+Inf is always added).
func checkBuckets(name string, buckets []float64) []float64 {
	if len(buckets) == 0 {
		panic(fmt.Sprintf("metrics: %s: a histogram needs at least one bucket", name))
	}
	for i, b := range buckets {
		if math.IsNaN(b) || math.IsInf(b, 0) {
			panic(fmt.Sprintf("metrics: %s: bucket bound %v must be finite", name, b))
		}
		if i > 0 && b <= buckets[i-1] {
			panic(fmt.Sprintf("metrics: %s: bucket bounds must increase", name))
		}
	}
	return slices.Clone(buckets)
}

// NewHistogram registers a histogram without labels, with the given upper
// bounds (increasing; +Inf is added).
func (r *Registry) NewHistogram(name, help string, buckets []float64) *Histogram {
	b := checkBuckets(name, buckets)
	h := newHistogram(b)
	r.register(&family{name: name, help: help, typ: typeHistogram, buckets: b,
		collect: func() []sample { return []sample{{hist: h.snapshot()}} }})
	return h
}

// HistogramVec is a histogram with labels.
type HistogramVec struct{ v *vec[Histogram] }

// With returns the histogram for the label values (one per label name).
func (hv *HistogramVec) With(values ...string) *Histogram { return hv.v.with(values) }

// NewHistogramVec registers a histogram with labels.
func (r *Registry) NewHistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	b := checkBuckets(name, buckets)
	v := &vec[Histogram]{name: name, labels: len(labels), kids: map[string]*child[Histogram]{},
		make: func() *Histogram { return newHistogram(b) }}
	r.register(&family{name: name, help: help, typ: typeHistogram, labels: labels, buckets: b,
		collect: func() []sample {
			var out []sample
			for _, c := range v.children() {
				out = append(out, sample{values: c.values, hist: c.m.snapshot()})
			}
			return out
		}})
	return &HistogramVec{v: v}
}
