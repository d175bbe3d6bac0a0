// Package metrics exposes Switchboard's state to Prometheus: a small
// registry of counters, gauges and histograms with labels, rendered in the
// Prometheus text exposition format 0.0.4 (written here, with the standard
// library only), and the Switchboard metric set served at GET /metrics.
//
// # Reading, not counting
//
// Most of what Switchboard measures is already counted by its owner: the
// media engine's packet counters, the registrar's bindings, the call
// manager's active calls, the event bus's sequence number. Those are read
// at scrape time through GaugeFunc and CounterFunc, so the packet path and
// the call path do not change. Where this package must count by itself
// (calls ended, seen on the event bus) it uses Counter, Gauge and
// Histogram, which are atomic and allocate nothing per update
// (BenchmarkCounterInc and friends, run with -benchmem).
//
// # Locks
//
// The registry's and each vector's mutex guard only their own maps. A
// scrape copies what it needs under them and releases them before calling
// any read function, so no lock here is ever held while another package's
// lock is taken: this package adds no edge to the lock order.
//
// # Who may scrape
//
// Metrics reveal operational data (call volume, registered devices,
// uptime). GET /metrics is answered only to clients connecting from a
// loopback address (127.0.0.0/8, ::1) whose request carries no
// Forwarded, X-Forwarded-For or X-Real-IP header: a reverse proxy on the
// same host would otherwise make every outside client look local. Anyone
// else gets 403 {"code":"forbidden"}. Run Prometheus (or an agent that
// forwards to it) on the Switchboard host.
package metrics

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Metric types as written on the # TYPE line.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
)

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Registry holds metric families and renders them. The zero value is not
// usable; use NewRegistry. Registering is for start-up: a bad or duplicate
// name is a programming error and panics, like an invalid regexp in
// regexp.MustCompile.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{families: make(map[string]*family)}
}

// family is one metric name with its HELP, TYPE and label names; collect
// returns its samples at scrape time.
type family struct {
	name    string
	help    string
	typ     string
	labels  []string
	buckets []float64 // histograms only
	collect func() []sample
}

// sample is one child of a family: its label values (in the family's label
// order) and its value, or for a histogram its buckets, sum and count.
type sample struct {
	values []string
	value  float64
	hist   *histSnapshot
}

func (r *Registry) register(f *family) {
	if !nameRE.MatchString(f.name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", f.name))
	}
	seen := map[string]bool{}
	for _, l := range f.labels {
		if !labelRE.MatchString(l) || strings.HasPrefix(l, "__") {
			panic(fmt.Sprintf("metrics: %s: invalid label name %q", f.name, l))
		}
		if f.typ == typeHistogram && l == "le" {
			panic(fmt.Sprintf("metrics: %s: a histogram cannot have the label le", f.name))
		}
		if seen[l] {
			panic(fmt.Sprintf("metrics: %s: duplicate label %q", f.name, l))
		}
		seen[l] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A histogram's series name_bucket, name_sum and name_count must not
	// collide with another family either.
	for _, n := range seriesNames(f) {
		for _, g := range r.families {
			if slices.Contains(seriesNames(g), n) {
				panic(fmt.Sprintf("metrics: %s registered twice", n))
			}
		}
	}
	r.families[f.name] = f
}

func seriesNames(f *family) []string {
	if f.typ == typeHistogram {
		return []string{f.name, f.name + "_bucket", f.name + "_sum", f.name + "_count"}
	}
	return []string{f.name}
}

// sorted returns the families ordered by name, copied under the lock so
// that collecting happens without it.
func (r *Registry) sorted() []*family {
	r.mu.Lock()
	out := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		out = append(out, f)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Counter is a value that only goes up. Updates are atomic and allocate
// nothing.
type Counter struct{ bits atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.Add(1) }

// Add adds v, which must not be negative (a counter that went down would
// read as a restart to Prometheus).
func (c *Counter) Add(v float64) {
	if v < 0 {
		panic("metrics: counter cannot decrease")
	}
	addFloat(&c.bits, v)
}

// Value is the current count.
func (c *Counter) Value() float64 { return math.Float64frombits(c.bits.Load()) }

// Gauge is a value that goes up and down. Updates are atomic and allocate
// nothing.
type Gauge struct{ bits atomic.Uint64 }

// Set sets the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds v (negative to subtract).
func (g *Gauge) Add(v float64) { addFloat(&g.bits, v) }

// Value is the current value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

// addFloat adds v to the float64 stored as bits, by compare-and-swap.
func addFloat(bits *atomic.Uint64, v float64) {
	for {
		old := bits.Load()
		if bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// NewCounter registers a counter without labels. By convention its name
// ends in _total.
func (r *Registry) NewCounter(name, help string) *Counter {
	c := &Counter{}
	r.register(&family{name: name, help: help, typ: typeCounter,
		collect: func() []sample { return []sample{{value: c.Value()}} }})
	return c
}

// NewGauge registers a gauge without labels.
func (r *Registry) NewGauge(name, help string) *Gauge {
	g := &Gauge{}
	r.register(&family{name: name, help: help, typ: typeGauge,
		collect: func() []sample { return []sample{{value: g.Value()}} }})
	return g
}

// CounterFunc registers a counter whose value f reads at scrape time from
// wherever it is already counted. f must never return less than before.
func (r *Registry) CounterFunc(name, help string, f func() float64) {
	r.register(&family{name: name, help: help, typ: typeCounter,
		collect: func() []sample { return []sample{{value: f()}} }})
}

// GaugeFunc registers a gauge whose value f reads at scrape time.
func (r *Registry) GaugeFunc(name, help string, f func() float64) {
	r.register(&family{name: name, help: help, typ: typeGauge,
		collect: func() []sample { return []sample{{value: f()}} }})
}

// LabeledValue is one series of a GaugeVecFunc: label values in the order
// of the family's label names, and the value.
type LabeledValue struct {
	Labels []string
	Value  float64
}

// GaugeVecFunc registers a gauge with labels whose series f reports at
// scrape time, written sorted by label values. Every LabeledValue must have
// one value per label name; one that does not is left out.
func (r *Registry) GaugeVecFunc(name, help string, labels []string, f func() []LabeledValue) {
	r.register(&family{name: name, help: help, typ: typeGauge, labels: labels,
		collect: func() []sample {
			got := f()
			out := make([]sample, 0, len(got))
			for _, lv := range got {
				if len(lv.Labels) != len(labels) {
					continue // a bug in f; dropping the series keeps the output valid
				}
				out = append(out, sample{values: lv.Labels, value: lv.Value})
			}
			sort.Slice(out, func(i, j int) bool { return slices.Compare(out[i].values, out[j].values) < 0 })
			return out
		}})
}

// vec holds the children of a labelled family, created on first use.
type vec[T any] struct {
	name   string
	labels int
	mu     sync.RWMutex
	kids   map[string]*child[T]
	make   func() *T
}

type child[T any] struct {
	values []string
	m      *T
}

// with returns the child for the label values, creating it on first use.
// Look a child up once and keep it where updates are frequent: the lookup
// builds a key, the update on the child allocates nothing.
func (v *vec[T]) with(values []string) *T {
	if len(values) != v.labels {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", v.name, v.labels, len(values)))
	}
	key := strings.Join(values, "\xff")
	v.mu.RLock()
	c := v.kids[key]
	v.mu.RUnlock()
	if c != nil {
		return c.m
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if c = v.kids[key]; c == nil {
		c = &child[T]{values: slices.Clone(values), m: v.make()}
		v.kids[key] = c
	}
	return c.m
}

// children returns the children sorted by label values.
func (v *vec[T]) children() []*child[T] {
	v.mu.RLock()
	out := make([]*child[T], 0, len(v.kids))
	for _, c := range v.kids {
		out = append(out, c)
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return slices.Compare(out[i].values, out[j].values) < 0 })
	return out
}

// CounterVec is a counter with labels.
type CounterVec struct{ v *vec[Counter] }

// With returns the counter for the label values (one per label name).
func (cv *CounterVec) With(values ...string) *Counter { return cv.v.with(values) }

// NewCounterVec registers a counter with labels. A series appears once
// With has been called for its label values.
func (r *Registry) NewCounterVec(name, help string, labels ...string) *CounterVec {
	v := &vec[Counter]{name: name, labels: len(labels), kids: map[string]*child[Counter]{},
		make: func() *Counter { return &Counter{} }}
	r.register(&family{name: name, help: help, typ: typeCounter, labels: labels,
		collect: func() []sample {
			var out []sample
			for _, c := range v.children() {
				out = append(out, sample{values: c.values, value: c.m.Value()})
			}
			return out
		}})
	return &CounterVec{v: v}
}

// GaugeVec is a gauge with labels.
type GaugeVec struct{ v *vec[Gauge] }

// With returns the gauge for the label values (one per label name).
func (gv *GaugeVec) With(values ...string) *Gauge { return gv.v.with(values) }

// NewGaugeVec registers a gauge with labels.
func (r *Registry) NewGaugeVec(name, help string, labels ...string) *GaugeVec {
	v := &vec[Gauge]{name: name, labels: len(labels), kids: map[string]*child[Gauge]{},
		make: func() *Gauge { return &Gauge{} }}
	r.register(&family{name: name, help: help, typ: typeGauge, labels: labels,
		collect: func() []sample {
			var out []sample
			for _, c := range v.children() {
				out = append(out, sample{values: c.values, value: c.m.Value()})
			}
			return out
		}})
	return &GaugeVec{v: v}
}
