package metrics

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// render returns the registry's text.
func render(t *testing.T, r *Registry) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestGoldenText(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounter("test_requests_total", "Requests served.")
	c.Add(3)
	g := r.NewGauge("test_temperature_celsius", "Current temperature.")
	g.Set(-2.5)
	cv := r.NewCounterVec("test_calls_total", "Calls by result.", "result", "trunk")
	cv.With("busy", "carrier-1").Inc()
	cv.With("answered", "carrier-1").Add(2)
	cv.With("answered", "carrier-0").Inc()
	r.GaugeFunc("test_up", "Whether it is up.", func() float64 { return 1 })
	r.CounterFunc("test_bytes_total", "Bytes seen.", func() float64 { return 1234567890123 })
	r.GaugeVecFunc("test_by_state", "Things by state.", []string{"state"}, func() []LabeledValue {
		return []LabeledValue{{Labels: []string{"ringing"}, Value: 2}, {Labels: []string{"answered"}, Value: 0},
			{Labels: []string{"too", "many"}, Value: 9}} // the bad one is dropped
	})
	h := r.NewHistogram("test_latency_seconds", "Latency.", []float64{0.1, 0.5, 1})
	for _, v := range []float64{0.05, 0.1, 0.3, 2} {
		h.Observe(v)
	}
	hv := r.NewHistogramVec("test_size_bytes", "Sizes.", []float64{100}, "kind")
	hv.With("b").Observe(50)
	hv.With("a").Observe(150)

	want := `# HELP test_by_state Things by state.
# TYPE test_by_state gauge
test_by_state{state="answered"} 0
test_by_state{state="ringing"} 2
# HELP test_bytes_total Bytes seen.
# TYPE test_bytes_total counter
test_bytes_total 1234567890123
# HELP test_calls_total Calls by result.
# TYPE test_calls_total counter
test_calls_total{result="answered",trunk="carrier-0"} 1
test_calls_total{result="answered",trunk="carrier-1"} 2
test_calls_total{result="busy",trunk="carrier-1"} 1
# HELP test_latency_seconds Latency.
# TYPE test_latency_seconds histogram
test_latency_seconds_bucket{le="0.1"} 2
test_latency_seconds_bucket{le="0.5"} 3
test_latency_seconds_bucket{le="1"} 3
test_latency_seconds_bucket{le="+Inf"} 4
test_latency_seconds_sum 2.45
test_latency_seconds_count 4
# HELP test_requests_total Requests served.
# TYPE test_requests_total counter
test_requests_total 3
# HELP test_size_bytes Sizes.
# TYPE test_size_bytes histogram
test_size_bytes_bucket{kind="a",le="100"} 0
test_size_bytes_bucket{kind="a",le="+Inf"} 1
test_size_bytes_sum{kind="a"} 150
test_size_bytes_count{kind="a"} 1
test_size_bytes_bucket{kind="b",le="100"} 1
test_size_bytes_bucket{kind="b",le="+Inf"} 1
test_size_bytes_sum{kind="b"} 50
test_size_bytes_count{kind="b"} 1
# HELP test_temperature_celsius Current temperature.
# TYPE test_temperature_celsius gauge
test_temperature_celsius -2.5
# HELP test_up Whether it is up.
# TYPE test_up gauge
test_up 1
`
	if got := render(t, r); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestEscaping(t *testing.T) {
	r := NewRegistry()
	cv := r.NewCounterVec("test_total", "Help with a \\ backslash\nand a second line \"quoted\".", "v")
	cv.With("a\\b\"c\nd").Inc()
	want := "# HELP test_total Help with a \\\\ backslash\\nand a second line \"quoted\".\n" +
		"# TYPE test_total counter\n" +
		"test_total{v=\"a\\\\b\\\"c\\nd\"} 1\n"
	if got := render(t, r); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-7, "-7"}, {0.25, "0.25"},
		{1e15, "1e+15"}, {123456789012345, "123456789012345"}, {1.5e-7, "1.5e-07"},
		{math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := formatFloat(tt.in); got != tt.want {
			t.Errorf("formatFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Each family has exactly one HELP and one TYPE line, before its samples,
// however many series it has.
func TestHelpAndTypeOncePerFamily(t *testing.T) {
	r := NewRegistry()
	cv := r.NewCounterVec("test_a_total", "A.", "k")
	for _, k := range []string{"x", "y", "z"} {
		cv.With(k).Inc()
	}
	hv := r.NewHistogramVec("test_b_seconds", "B.", []float64{1, 2}, "k")
	hv.With("x").Observe(1)
	hv.With("y").Observe(3)
	r.NewGauge("test_c", "C.")

	help, typ := map[string]int{}, map[string]int{}
	current := ""
	for _, line := range strings.Split(strings.TrimSuffix(render(t, r), "\n"), "\n") {
		switch f := strings.Fields(line); {
		case strings.HasPrefix(line, "# HELP "):
			help[f[2]]++
		case strings.HasPrefix(line, "# TYPE "):
			typ[f[2]]++
			current = f[2]
		default:
			name, _, _ := strings.Cut(f[0], "{")
			if !strings.HasPrefix(name, current) || current == "" {
				t.Errorf("sample %q outside its family (current %q)", line, current)
			}
		}
	}
	for _, n := range []string{"test_a_total", "test_b_seconds", "test_c"} {
		if help[n] != 1 || typ[n] != 1 {
			t.Errorf("%s: %d HELP and %d TYPE lines, want 1 each", n, help[n], typ[n])
		}
	}
	if len(help) != 3 || len(typ) != 3 {
		t.Errorf("HELP for %v, TYPE for %v: want exactly three families", help, typ)
	}
}

func TestRegisterRejectsBadDefinitions(t *testing.T) {
	tests := []struct {
		name string
		f    func(r *Registry)
	}{
		{"bad name", func(r *Registry) { r.NewCounter("1abc", "") }},
		{"bad name dash", func(r *Registry) { r.NewGauge("a-b", "") }},
		{"bad label", func(r *Registry) { r.NewCounterVec("a_total", "", "a-b") }},
		{"reserved label", func(r *Registry) { r.NewCounterVec("a_total", "", "__x") }},
		{"duplicate label", func(r *Registry) { r.NewGaugeVec("a", "", "x", "x") }},
		{"le on histogram", func(r *Registry) { r.NewHistogramVec("h", "", []float64{1}, "le") }},
		{"no buckets", func(r *Registry) { r.NewHistogram("h", "", nil) }},
		{"unsorted buckets", func(r *Registry) { r.NewHistogram("h", "", []float64{2, 1}) }},
		{"infinite bucket", func(r *Registry) { r.NewHistogram("h", "", []float64{1, math.Inf(1)}) }},
		{"duplicate", func(r *Registry) { r.NewGauge("dup", ""); r.NewCounter("dup", "") }},
		{"histogram series clash", func(r *Registry) { r.NewHistogram("h", "", []float64{1}); r.NewGauge("h_count", "") }},
		{"wrong label count", func(r *Registry) { r.NewCounterVec("a_total", "", "x").With("1", "2") }},
		{"negative counter add", func(r *Registry) { r.NewCounter("a_total", "").Add(-1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.f(NewRegistry())
		})
	}
}

// Counters read by concurrent scrapes never go down, and end exact.
func TestCountersMonotonic(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounter("test_total", "")
	h := r.NewHistogram("test_seconds", "", []float64{0.5})
	const writers, each = 4, 5000
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				c.Inc()
				h.Observe(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	lastC, lastH := -1.0, -1.0
	for scraping := true; scraping; {
		select {
		case <-done:
			scraping = false
		default:
		}
		vals := parseValues(t, render(t, r))
		if vals["test_total"] < lastC || vals["test_seconds_count"] < lastH {
			t.Fatalf("a counter went down: %v after %v/%v", vals, lastC, lastH)
		}
		lastC, lastH = vals["test_total"], vals["test_seconds_count"]
	}
	if c.Value() != writers*each {
		t.Fatalf("counter = %v, want %d", c.Value(), writers*each)
	}
	vals := parseValues(t, render(t, r))
	if vals[`test_seconds_bucket{le="+Inf"}`] != writers*each || vals["test_seconds_sum"] != writers*each {
		t.Fatalf("histogram %v, want %d observations of 1", vals, writers*each)
	}
}

// parseValues maps each series (name with labels, as written) to its value.
func parseValues(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}
