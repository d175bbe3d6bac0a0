package metrics

import (
	"math"
	"runtime"
	rtmetrics "runtime/metrics"
	"time"
)

// processStart approximates the process start: package initialisation
// runs before main.
var processStart = time.Now()

// registerRuntime adds the Go runtime and process basics. They are read
// from runtime/metrics, which does not stop the world (runtime.ReadMemStats
// does).
func registerRuntime(r *Registry, version string) {
	r.GaugeFunc("switchboard_go_goroutines", "Goroutines that currently exist.",
		runtimeValue("/sched/goroutines:goroutines"))
	r.GaugeFunc("switchboard_go_heap_objects_bytes", "Bytes of heap memory occupied by live objects and dead ones not yet swept.",
		runtimeValue("/memory/classes/heap/objects:bytes"))
	r.GaugeFunc("switchboard_go_memory_bytes", "All memory mapped by the Go runtime (heap, stacks, runtime structures).",
		runtimeValue("/memory/classes/total:bytes"))
	r.CounterFunc("switchboard_go_gc_cycles_total", "Completed garbage collection cycles.",
		runtimeValue("/gc/cycles/total:gc-cycles"))
	r.GaugeFunc("switchboard_process_start_time_seconds", "Start time of the process, in seconds since the Unix epoch.",
		func() float64 { return float64(processStart.UnixNano()) / 1e9 })
	info := r.NewGaugeVec("switchboard_build_info", "Always 1; the labels say which build is running.", "version", "goversion")
	info.With(version, runtime.Version()).Set(1)
}

// runtimeValue returns a reader of one runtime/metrics sample; an unknown
// name (a metric retired by a future Go) reads as NaN.
func runtimeValue(name string) func() float64 {
	return func() float64 {
		s := []rtmetrics.Sample{{Name: name}}
		rtmetrics.Read(s)
		switch s[0].Value.Kind() {
		case rtmetrics.KindUint64:
			return float64(s[0].Value.Uint64())
		case rtmetrics.KindFloat64:
			return s[0].Value.Float64()
		default:
			return math.NaN()
		}
	}
}
