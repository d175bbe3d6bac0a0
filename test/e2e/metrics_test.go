package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMetricsDuringAndAfterACall scrapes /metrics from 127.0.0.1 around an
// answered call, checking the text against the exposition format each time.
func TestMetricsDuringAndAfterACall(t *testing.T) {
	s := startServer(t, serverOpts{})
	before := scrapeMetrics(t, s)
	if got := before.value(t, "switchboard_calls_active"); got != 0 {
		t.Fatalf("calls_active %v before any call", got)
	}
	for fam := range before.types {
		if !strings.HasPrefix(fam, "switchboard_") {
			t.Errorf("metric %s is not prefixed switchboard_", fam)
		}
	}
	ended := before.value(t, "switchboard_calls_ended_total")
	answered := before.value(t, "switchboard_call_talk_seconds_count")

	out, in := answeredCall(t, s)
	var during metricsPage
	eventually(t, 5*time.Second, func() error {
		during = scrapeMetrics(t, s)
		return during.expect(map[string]float64{
			"switchboard_calls_active":                     1,
			`switchboard_calls_by_state{state="answered"}`: 1,
			`switchboard_calls_by_state{state="ringing"}`:  0,
		})
	})
	before.monotonic(t, during)
	if d := during.value(t, "switchboard_registered_devices"); d < 2 {
		t.Errorf("registered_devices %v, want >= 2", d)
	}
	if e := during.value(t, "switchboard_registered_extensions"); e < 2 {
		t.Errorf("registered_extensions %v, want >= 2", e)
	}
	if n := during.value(t, "switchboard_rtp_endpoints"); n < 2 {
		t.Errorf("rtp_endpoints %v during a call, want >= 2", n)
	}
	if n := during.value(t, "switchboard_events_published_total"); n < 3 {
		t.Errorf("events_published_total %v after a call was created, rang and answered", n)
	}
	if n := during.value(t, "switchboard_event_subscribers"); n < 1 {
		t.Errorf("event_subscribers %v, want the metrics' own at least", n)
	}
	// Audio flows both ways at 50 packets/s: the relay count must move.
	fwd := during.value(t, "switchboard_rtp_packets_forwarded_total")
	var later metricsPage
	eventually(t, 5*time.Second, func() error {
		later = scrapeMetrics(t, s)
		if got := later.value(t, "switchboard_rtp_packets_forwarded_total"); got <= fwd {
			return fmt.Errorf("packets forwarded %v, not above %v", got, fwd)
		}
		return nil
	})
	during.monotonic(t, later)
	if later.value(t, "switchboard_rtp_packets_received_total") < later.value(t, "switchboard_rtp_packets_forwarded_total") {
		t.Error("more packets forwarded than received")
	}

	if err := out.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	select {
	case <-in.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("callee leg survived the hangup")
	}
	var after metricsPage
	eventually(t, 5*time.Second, func() error {
		after = scrapeMetrics(t, s)
		return after.expect(map[string]float64{
			"switchboard_calls_active":                     0,
			`switchboard_calls_by_state{state="answered"}`: 0,
			"switchboard_calls_ended_total":                ended + 1,
			"switchboard_call_talk_seconds_count":          answered + 1,
			"switchboard_rtp_endpoints":                    0,
		})
	})
	later.monotonic(t, after)
}

// TestMetricsRefusedThroughAProxy: a request relayed by a proxy on the same
// host arrives from loopback but is not a local client.
func TestMetricsRefusedThroughAProxy(t *testing.T) {
	s := startServer(t, serverOpts{})
	tests := []struct {
		name, method, header string
		want                 int
		code                 string
	}{
		{"forwarded", "GET", "X-Forwarded-For", 403, "forbidden"},
		{"post", "POST", "", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "http://"+s.HTTPAddr+"/metrics", nil)
		if tt.header != "" {
			req.Header.Set(tt.header, "203.0.113.7")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Code string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.want || err != nil || body.Code != tt.code {
			t.Errorf("%s: %d %q %v, want %d %q", tt.name, resp.StatusCode, body.Code, err, tt.want, tt.code)
		}
	}
	// The API behind the same listener is untouched.
	if code, err := s.api("GET", "/api/calls", nil, nil); err != nil || code != 200 {
		t.Errorf("GET /api/calls beside /metrics: %d %v", code, err)
	}
}

// metricsPage is one scrape: each series ("name{labels}" as written) and
// the type of each family.
type metricsPage struct {
	series map[string]float64
	types  map[string]string
}

func (p metricsPage) value(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := p.series[series]
	if !ok {
		t.Fatalf("no series %s in the scrape", series)
	}
	return v
}

func (p metricsPage) expect(want map[string]float64) error {
	for k, w := range want {
		if got, ok := p.series[k]; !ok || got != w {
			return fmt.Errorf("%s = %v (present %v), want %v", k, got, ok, w)
		}
	}
	return nil
}

// monotonic checks that no counter series went down from p to next.
func (p metricsPage) monotonic(t *testing.T, next metricsPage) {
	t.Helper()
	for k, v := range p.series {
		name, _, _ := strings.Cut(k, "{")
		fam := familyOf(name, p.types)
		if p.types[fam] != "counter" && p.types[fam] != "histogram" {
			continue
		}
		if name == fam+"_sum" {
			continue // a sum may go down with negative observations (not ours, but allowed)
		}
		if n, ok := next.series[k]; ok && n < v {
			t.Errorf("counter %s went down: %v → %v", k, v, n)
		}
	}
}

// scrapeMetrics GETs /metrics from 127.0.0.1 and parses it, failing the
// test on any line that is not valid text exposition format 0.0.4.
func scrapeMetrics(t *testing.T, s *server) metricsPage {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTPAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v %s", resp.StatusCode, err, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q", ct)
	}
	p, err := parseExposition(string(body))
	if err != nil {
		t.Fatalf("/metrics is not valid exposition format: %v\n%s", err, body)
	}
	return p
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	// name, then optional {labels}, then value, then optional timestamp.
	sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?[0-9]+)?$`)
	// one label pair at the start of the rest: name="value with \\ \" \n escapes"
	labelPairRE = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"`)
	helpTextRE  = regexp.MustCompile(`^(?:[^\\\n]|\\[\\n])*$`)
)

// parseExposition is a small, strict reader of the text format: HELP and
// TYPE at most once per family and before its samples, each family's
// samples in one group, valid names, labels and escapes, float values,
// histogram buckets with le, and no series twice.
func parseExposition(text string) (metricsPage, error) {
	p := metricsPage{series: map[string]float64{}, types: map[string]string{}}
	if text == "" || !strings.HasSuffix(text, "\n") {
		return p, fmt.Errorf("empty or not ending in a line feed")
	}
	help := map[string]bool{}
	sampled := map[string]bool{} // families with samples so far
	done := map[string]bool{}    // families whose group has ended
	current := ""
	enter := func(fam string) error {
		if fam == current {
			return nil
		}
		if done[fam] {
			return fmt.Errorf("family %s appears in two groups", fam)
		}
		if current != "" {
			done[current] = true
		}
		current = fam
		return nil
	}
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		where := fmt.Sprintf("line %d %q", n+1, line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "# HELP "), strings.HasPrefix(line, "# TYPE "):
			f := strings.SplitN(line, " ", 4)
			if len(f) < 3 || !metricNameRE.MatchString(f[2]) {
				return p, fmt.Errorf("%s: bad metric name", where)
			}
			name, rest := f[2], ""
			if len(f) == 4 {
				rest = f[3]
			}
			if sampled[name] {
				return p, fmt.Errorf("%s: HELP/TYPE after the family's samples", where)
			}
			if err := enter(name); err != nil {
				return p, fmt.Errorf("%s: %v", where, err)
			}
			if f[1] == "HELP" {
				if help[name] {
					return p, fmt.Errorf("%s: second HELP", where)
				}
				if !helpTextRE.MatchString(rest) {
					return p, fmt.Errorf("%s: bad escape in HELP", where)
				}
				help[name] = true
				continue
			}
			if _, ok := p.types[name]; ok {
				return p, fmt.Errorf("%s: second TYPE", where)
			}
			switch rest {
			case "counter", "gauge", "histogram", "summary", "untyped":
				p.types[name] = rest
			default:
				return p, fmt.Errorf("%s: unknown type %q", where, rest)
			}
		case strings.HasPrefix(line, "#"):
			continue // a comment
		default:
			m := sampleRE.FindStringSubmatch(line)
			if m == nil {
				return p, fmt.Errorf("%s: not a sample", where)
			}
			name, labels, value := m[1], m[3], m[4]
			v, err := strconv.ParseFloat(value, 64) // also reads +Inf, -Inf, NaN
			if err != nil {
				return p, fmt.Errorf("%s: bad value", where)
			}
			seen := map[string]bool{}
			hasLE := false
			for rest := labels; rest != ""; {
				lm := labelPairRE.FindStringSubmatch(rest)
				if lm == nil {
					return p, fmt.Errorf("%s: bad label pair at %q", where, rest)
				}
				if seen[lm[1]] {
					return p, fmt.Errorf("%s: label %s twice", where, lm[1])
				}
				seen[lm[1]] = true
				if lm[1] == "le" {
					hasLE = true
					if _, err := strconv.ParseFloat(lm[2], 64); err != nil {
						return p, fmt.Errorf("%s: le %q is not a float", where, lm[2])
					}
				}
				rest = strings.TrimPrefix(rest[len(lm[0]):], ",")
			}
			fam := familyOf(name, p.types)
			if err := enter(fam); err != nil {
				return p, fmt.Errorf("%s: %v", where, err)
			}
			if p.types[fam] == "histogram" && strings.HasSuffix(name, "_bucket") != hasLE {
				return p, fmt.Errorf("%s: le belongs on histogram buckets only", where)
			}
			key := name
			if m[2] != "" {
				key += m[2]
			}
			if _, dup := p.series[key]; dup {
				return p, fmt.Errorf("%s: series twice", where)
			}
			p.series[key] = v
			sampled[fam] = true
		}
	}
	return p, nil
}

// familyOf maps a sample name to its family: a histogram's _bucket, _sum
// and _count (and a summary's _sum, _count) belong to the base name.
func familyOf(name string, types map[string]string) string {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if t := types[base]; t == "histogram" || (t == "summary" && suf != "_bucket") {
				return base
			}
		}
	}
	return name
}

// TestMetricsQueueAgentsWebSockets: a caller waiting in queue 8000 while
// an agent's phone rings shows in the queue and agent metrics; a
// WebSocket client shows, and the events it receives are in the delivery
// lag histogram.
func TestMetricsQueueAgentsWebSockets(t *testing.T) {
	s := startServer(t, serverOpts{})
	before := scrapeMetrics(t, s)
	if err := before.expect(map[string]float64{
		`switchboard_queue_waiting{queue="8000"}`:        0,
		`switchboard_queue_waiting{queue="8001"}`:        0,
		"switchboard_websocket_clients":                  0,
		`switchboard_agents_by_state{state="offered"}`:   0,
		`switchboard_agents_by_status{status="offline"}`: 0,
	}); err != nil {
		t.Fatal(err)
	}
	calls := before.value(t, "switchboard_calls_total")
	c := dialWS(t, s, "admin", 0)
	subscribeOrg(t, c)

	lazy := phone(t, s, "1001", 700, "udp") // rings, never answers
	cp := phone(t, s, "1009", customerHz, "udp")
	if _, err := cp.Dial(ctxFor(t, 10*time.Second), "8000"); err != nil {
		t.Fatalf("dial queue: %v", err)
	}
	incoming(t, lazy, "offer")
	var during metricsPage
	eventually(t, 5*time.Second, func() error {
		during = scrapeMetrics(t, s)
		if err := during.expect(map[string]float64{
			`switchboard_queue_waiting{queue="8000"}`:      1,
			`switchboard_queue_waiting{queue="8001"}`:      0,
			`switchboard_agents_by_state{state="offered"}`: 1,
			"switchboard_websocket_clients":                1,
		}); err != nil {
			return err
		}
		if n := during.value(t, "switchboard_calls_total"); n != calls+1 {
			return fmt.Errorf("calls_total %v, want %v", n, calls+1)
		}
		if n := during.value(t, "switchboard_event_delivery_seconds_count"); n < 1 {
			return fmt.Errorf("event delivery lag count %v with a subscribed client and a call", n)
		}
		return nil
	})
	before.monotonic(t, during)
	if w := during.value(t, `switchboard_queue_longest_wait_seconds{queue="8000"}`); w < 0 || w > 30 {
		t.Errorf("longest wait %v s", w)
	}
	if n := during.value(t, `switchboard_event_delivery_seconds_bucket{le="0.1"}`); n < 1 {
		t.Errorf("no delivery within 100 ms (%v)", n)
	}
	c.conn.Close()
	eventually(t, 5*time.Second, func() error {
		return scrapeMetrics(t, s).expect(map[string]float64{"switchboard_websocket_clients": 0})
	})
}
