package metrics

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// ContentType is the media type of the Prometheus text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText renders every family in the text exposition format 0.0.4:
// families sorted by name, each with one # HELP and one # TYPE line, then
// its series sorted by label values. Read functions run here, with no lock
// of this package held.
func (r *Registry) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.sorted() {
		writeFamily(bw, f, f.collect())
	}
	return bw.Flush()
}

func writeFamily(w *bufio.Writer, f *family, samples []sample) {
	w.WriteString("# HELP ")
	w.WriteString(f.name)
	w.WriteByte(' ')
	w.WriteString(escapeHelp(f.help))
	w.WriteString("\n# TYPE ")
	w.WriteString(f.name)
	w.WriteByte(' ')
	w.WriteString(f.typ)
	w.WriteByte('\n')
	for _, s := range samples {
		if s.hist == nil {
			writeSample(w, f.name, f.labels, s.values, "", 0, s.value)
			continue
		}
		for i, c := range s.hist.cumulative {
			le := math.Inf(1)
			if i < len(f.buckets) {
				le = f.buckets[i]
			}
			writeSample(w, f.name+"_bucket", f.labels, s.values, "le", le, float64(c))
		}
		writeSample(w, f.name+"_sum", f.labels, s.values, "", 0, s.hist.sum)
		writeSample(w, f.name+"_count", f.labels, s.values, "", 0, float64(s.hist.cumulative[len(s.hist.cumulative)-1]))
	}
}

// writeSample writes `name{l1="v1",…[,le="x"]} value`. extra, when not
// empty, is one more label (a histogram's le) with a numeric value.
func writeSample(w *bufio.Writer, name string, labels, values []string, extra string, extraValue, value float64) {
	w.WriteString(name)
	if len(labels) > 0 || extra != "" {
		w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(l)
			w.WriteString(`="`)
			w.WriteString(escapeLabelValue(values[i]))
			w.WriteByte('"')
		}
		if extra != "" {
			if len(labels) > 0 {
				w.WriteByte(',')
			}
			w.WriteString(extra)
			w.WriteString(`="`)
			w.WriteString(formatFloat(extraValue))
			w.WriteByte('"')
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	w.WriteString(formatFloat(value))
	w.WriteByte('\n')
}

// Escaping per the 0.0.4 format: in HELP text a backslash and a line feed;
// in label values also the double quote.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string       { return helpEscaper.Replace(s) }
func escapeLabelValue(s string) string { return labelEscaper.Replace(s) }

// formatFloat writes a value as Go's ParseFloat reads it back, which is
// what the format asks: integers (the common case, counts) in plain
// digits, others in the shortest exact form, and +Inf, -Inf, NaN.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
