package metrics

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/registrar"
)

// Calls is what the metrics read from the call manager.
type Calls interface {
	Active() int
	Calls() []call.Info
}

// Registrations is what the metrics read from the registrar.
type Registrations interface {
	Registered() (extensions, devices int)
}

// Media is what the metrics read from the media engine.
type Media interface {
	Stats() media.EngineStats
}

// ACD is what the metrics read from the queue engine, at scrape time.
type ACD interface {
	QueueNumbers() []string
	QueueStats(number string) (acd.QueueStats, error)
	Agents() []acd.AgentView
}

// WebSockets is what the metrics read from the API's event WebSocket.
type WebSockets interface {
	WebSocketClients() int
}

var (
	_ Calls         = (*call.Manager)(nil)
	_ Media         = (*media.Engine)(nil)
	_ ACD           = (*acd.Engine)(nil)
	_ http.Handler  = (*Exporter)(nil)
	_ Registrations = (*registrar.Registrar)(nil)
)

// Sources are the subsystems read at scrape time. A nil source leaves its
// metrics out (tests build only what they need).
type Sources struct {
	Calls     Calls
	Registrar Registrations
	Media     Media
	ACD       ACD
	// WebSockets adds the connected clients and the event delivery lag
	// histogram (observed by the API through Exporter.EventLag).
	WebSockets WebSockets
	Events     *events.Bus
	Version    string // build version, for switchboard_build_info
	Logger     *slog.Logger
}

// liveStates are reported by switchboard_calls_by_state even at zero, so a
// dashboard's series do not come and go.
var liveStates = []call.State{call.StateRouting, call.StateRinging, call.StateAnswered, call.StateHeld}

// talkBuckets are talk-time bounds in seconds: from a wrong number to a
// long support call.
var talkBuckets = []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600}

// agentStates and agentStatuses are reported by switchboard_agents_by_*
// even at zero.
var (
	agentStates   = []string{"idle", "offered", "busy", "wrap_up", "rona"}
	agentStatuses = []string{"available", "break", "offline", "logged_out"}
)

// lagBuckets are event delivery lags in seconds: the WebSocket batches for
// up to 20 ms, so most land below 0.05; the target is p99 < 0.1.
var lagBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// eventQueue is the metrics subscription's queue. The watcher only adds to
// atomics, so it keeps up unless starved; if it is ever cut off it resumes
// from the bus history.
const eventQueue = 1024

// Exporter is Switchboard's metric set and its GET /metrics handler. It
// watches the event bus for what no subsystem counts (calls ended, talk
// time); Close stops the watcher.
type Exporter struct {
	reg     *Registry
	handler http.Handler
	log     *slog.Logger

	ended   *Counter
	created *Counter
	talk    *Histogram
	lag     *Histogram // nil without a WebSockets source

	bus       *events.Bus
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewExporter registers the Switchboard metrics over src and, when there is
// a bus, starts watching it.
func NewExporter(src Sources) (*Exporter, error) {
	log := src.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := NewRegistry()
	x := &Exporter{reg: r, handler: Handler(r), log: log.With("component", "metrics"), bus: src.Events}
	registerRuntime(r, src.Version)

	if c := src.Calls; c != nil {
		r.GaugeFunc("switchboard_calls_active", "Calls in progress (routing, ringing, answered or held).",
			func() float64 { return float64(c.Active()) })
		r.GaugeVecFunc("switchboard_calls_by_state", "Calls in progress by state.", []string{"state"},
			func() []LabeledValue { return callsByState(c.Calls()) })
	}
	if reg := src.Registrar; reg != nil {
		r.GaugeFunc("switchboard_registered_extensions", "Extensions with at least one registered device.",
			func() float64 { e, _ := reg.Registered(); return float64(e) })
		r.GaugeFunc("switchboard_registered_devices", "Registered devices (contact bindings) over all extensions.",
			func() float64 { _, d := reg.Registered(); return float64(d) })
	}
	if m := src.Media; m != nil {
		r.GaugeFunc("switchboard_rtp_endpoints", "Open RTP endpoints (one UDP socket each).",
			func() float64 { return float64(m.Stats().Endpoints) })
		r.CounterFunc("switchboard_rtp_packets_received_total", "RTP packets received.",
			func() float64 { return float64(m.Stats().PacketsIn) })
		r.CounterFunc("switchboard_rtp_packets_forwarded_total", "RTP packets relayed to the other leg.",
			func() float64 { return float64(m.Stats().PacketsForwarded) })
		r.CounterFunc("switchboard_rtp_packets_dropped_total", "RTP packets received and not relayed (malformed, unlatched, no peer).",
			func() float64 { return float64(m.Stats().PacketsDropped) })
		r.CounterFunc("switchboard_rtp_packets_lost_total", "RTP packets that never arrived (gaps in the senders' sequence numbers).",
			func() float64 { return float64(m.Stats().PacketsLost) })
		r.CounterFunc("switchboard_rtp_music_frames_total", "Music-on-hold RTP packets sent.",
			func() float64 { return float64(m.Stats().MusicFrames) })
		r.CounterFunc("switchboard_dtmf_events_total", "RFC 4733 DTMF digits decoded.",
			func() float64 { return float64(m.Stats().DTMFEvents) })
		r.GaugeFunc("switchboard_rtp_mixers", "Open conference mixers.",
			func() float64 { return float64(m.Stats().Mixers) })
		r.CounterFunc("switchboard_rtp_packets_mixed_total", "RTP audio packets taken into a mixer's jitter buffer.",
			func() float64 { return float64(m.Stats().PacketsMixed) })
		r.CounterFunc("switchboard_rtp_mixer_frames_total", "Mixed RTP packets sent.",
			func() float64 { return float64(m.Stats().MixerFrames) })
		r.CounterFunc("switchboard_rtp_mixer_ticks_total", "20 ms mixer ticks, summed over mixers.",
			func() float64 { return float64(m.Stats().MixerTicks) })
		r.CounterFunc("switchboard_rtp_mixer_late_ticks_total", "Mixer ticks started more than 10 ms late or skipped (audio lost to scheduling).",
			func() float64 { return float64(m.Stats().MixerLateTicks) })
		r.CounterFunc("switchboard_recording_frames_dropped_total", "20 ms recording frames dropped because the disk was behind (written as silence).",
			func() float64 { return float64(m.Stats().RecordingDrops) })
	}
	if q := src.ACD; q != nil {
		r.GaugeVecFunc("switchboard_queue_waiting", "Callers waiting in a queue (not answered yet, ringing ones included).", []string{"queue"},
			func() []LabeledValue {
				return queueValues(q, func(s acd.QueueStats) float64 { return float64(s.Waiting) })
			})
		r.GaugeVecFunc("switchboard_queue_longest_wait_seconds", "How long a queue's longest-waiting unanswered caller has waited.", []string{"queue"},
			func() []LabeledValue {
				return queueValues(q, func(s acd.QueueStats) float64 { return s.LongestWaitSeconds })
			})
		r.GaugeVecFunc("switchboard_agents_by_state", "Agents by the state the ACD drives (idle, offered, busy, wrap_up, rona).", []string{"state"},
			func() []LabeledValue {
				return countAgents(q.Agents(), agentStates, func(a acd.AgentView) string { return a.State })
			})
		r.GaugeVecFunc("switchboard_agents_by_status", "Agents by the status they chose (available, break, offline, logged_out).", []string{"status"},
			func() []LabeledValue {
				return countAgents(q.Agents(), agentStatuses, func(a acd.AgentView) string { return a.Status })
			})
	}
	if w := src.WebSockets; w != nil {
		r.GaugeFunc("switchboard_websocket_clients", "Open event WebSocket connections (GET /api/ws).",
			func() float64 { return float64(w.WebSocketClients()) })
		x.lag = r.NewHistogram("switchboard_event_delivery_seconds",
			"Time from an event's publication to its write to a WebSocket client, per delivery.", lagBuckets)
	}
	if b := src.Events; b != nil {
		r.CounterFunc("switchboard_events_published_total", "Events published on the event bus (its sequence number).",
			func() float64 { return float64(b.Seq()) })
		r.GaugeFunc("switchboard_event_subscribers", "Event bus subscribers: SSE streams, one for all event WebSockets while any is open, one for these metrics.",
			func() float64 { return float64(b.Subscribers()) })
		// The call_ended event carries the call's final Info, which has no
		// disposition (that goes to the CDR only), so ended calls are
		// counted without one; the talk-time histogram's _count is the
		// answered ones.
		x.ended = r.NewCounter("switchboard_calls_ended_total", "Calls ended, whatever the outcome.")
		x.created = r.NewCounter("switchboard_calls_total", "Calls created (inbound, internal, outbound, click-to-call, callbacks); rate() gives calls per second.")
		x.talk = r.NewHistogram("switchboard_call_talk_seconds", "Talk time of answered calls, from answer to hang-up.", talkBuckets)
		sub, err := b.Subscribe(0, eventQueue)
		if err != nil {
			return nil, err
		}
		x.start(sub)
	}
	return x, nil
}

// start runs the event watcher on sub until Close.
func (x *Exporter) start(sub *events.Subscription) {
	x.stop, x.done = make(chan struct{}), make(chan struct{})
	go x.watch(sub)
}

// EventLag is the histogram of event delivery lag that the API observes
// (api.Server.SetEventLagObserver); nil without a WebSockets source.
func (x *Exporter) EventLag() *Histogram { return x.lag }

// Registry is the exporter's registry, for adding metrics.
func (x *Exporter) Registry() *Registry { return x.reg }

// ServeHTTP serves GET /metrics to loopback clients.
func (x *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) { x.handler.ServeHTTP(w, r) }

// Close stops watching the event bus. It is safe to call more than once.
func (x *Exporter) Close() {
	if x.stop == nil {
		return
	}
	x.closeOnce.Do(func() { close(x.stop) })
	<-x.done
}

func callsByState(calls []call.Info) []LabeledValue {
	counts := make(map[call.State]int, len(liveStates))
	for _, s := range liveStates {
		counts[s] = 0
	}
	for _, c := range calls {
		counts[c.State]++ // a call caught ending shows as "ended" for one scrape
	}
	out := make([]LabeledValue, 0, len(counts))
	for s, n := range counts {
		out = append(out, LabeledValue{Labels: []string{s.String()}, Value: float64(n)})
	}
	return out
}

// queueValues reads one figure of every queue. A queue deleted between
// the listing and its read is left out.
func queueValues(q ACD, f func(acd.QueueStats) float64) []LabeledValue {
	numbers := q.QueueNumbers()
	out := make([]LabeledValue, 0, len(numbers))
	for _, n := range numbers {
		s, err := q.QueueStats(n)
		if err != nil {
			continue
		}
		out = append(out, LabeledValue{Labels: []string{n}, Value: f(s)})
	}
	return out
}

// countAgents counts agents by key, every one of known reported even at
// zero (and an unexpected value as it comes).
func countAgents(agents []acd.AgentView, known []string, key func(acd.AgentView) string) []LabeledValue {
	out := make([]LabeledValue, len(known))
	for i, k := range known {
		out[i] = LabeledValue{Labels: []string{k}}
	}
	for _, a := range agents {
		k := key(a)
		i := slices.Index(known, k)
		if i < 0 {
			i = slices.IndexFunc(out, func(lv LabeledValue) bool { return lv.Labels[0] == k })
		}
		if i < 0 {
			out = append(out, LabeledValue{Labels: []string{k}})
			i = len(out) - 1
		}
		out[i].Value++
	}
	return out
}

// watch counts the events it is interested in until Close. When the bus
// cuts the subscription off as slow, it resumes after the last event it
// saw, from the bus history.
func (x *Exporter) watch(sub *events.Subscription) {
	defer close(x.done)
	var last uint64
	for {
		select {
		case <-x.stop:
			sub.Close()
			return
		case e := <-sub.C():
			last = e.Seq
			x.observe(e)
		case <-sub.Done():
			for drained := false; !drained; {
				select {
				case e := <-sub.C():
					last = e.Seq
					x.observe(e)
				default:
					drained = true
				}
			}
			next, err := x.bus.Subscribe(last, eventQueue)
			if errors.Is(err, events.ErrTooOld) {
				x.log.Warn("metrics fell behind the event history; some ended calls were not counted",
					"missed_after_seq", last)
				next, err = x.bus.Subscribe(0, eventQueue)
			}
			if err != nil { // cannot happen with since 0; stop counting rather than spin
				x.log.Error("metrics stopped watching events", "error", err)
				<-x.stop
				return
			}
			sub = next
		}
	}
}

func (x *Exporter) observe(e events.Event) {
	if e.Type == events.CallCreated {
		x.created.Inc()
		return
	}
	if e.Type != events.CallEnded {
		return
	}
	x.ended.Inc()
	if info, ok := e.Data.(call.Info); ok && info.AnsweredAt != nil {
		x.talk.Observe(max(0, e.Time.Sub(*info.AnsweredAt).Seconds()))
	}
}
