package metrics

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
)

type fakeCalls []call.Info

func (f fakeCalls) Active() int        { return len(f) }
func (f fakeCalls) Calls() []call.Info { return f }

type fakeReg struct{ ext, dev int }

func (f fakeReg) Registered() (int, int) { return f.ext, f.dev }

type fakeMedia media.EngineStats

func (f fakeMedia) Stats() media.EngineStats { return media.EngineStats(f) }

type fakeACD struct {
	stats  map[string]acd.QueueStats
	agents []acd.AgentView
}

func (f fakeACD) QueueNumbers() []string {
	out := []string{"gone"} // deleted between the listing and its read
	for n := range f.stats {
		out = append(out, n)
	}
	return out
}

func (f fakeACD) QueueStats(n string) (acd.QueueStats, error) {
	s, ok := f.stats[n]
	if !ok {
		return s, acd.ErrUnknownQueue
	}
	return s, nil
}

func (f fakeACD) Agents() []acd.AgentView { return f.agents }

type fakeWS int

func (f fakeWS) WebSocketClients() int { return int(f) }

func scrape(t *testing.T, x *Exporter) map[string]float64 {
	t.Helper()
	return parseValues(t, render(t, x.Registry()))
}

// eventually polls f until it returns nil or two seconds pass.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExporterReadsSources(t *testing.T) {
	bus := events.New(16)
	x, err := NewExporter(Sources{
		Calls:     fakeCalls{{State: call.StateAnswered}, {State: call.StateAnswered}, {State: call.StateRinging}},
		Registrar: fakeReg{ext: 2, dev: 3},
		Media: fakeMedia{Endpoints: 4, PacketsIn: 100, PacketsForwarded: 90, PacketsDropped: 10,
			MusicFrames: 7, DTMFEvents: 2},
		Events:  bus,
		Version: "1.2.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	bus.Publish(events.CallCreated, "call:a", nil)

	v := scrape(t, x)
	want := map[string]float64{
		"switchboard_calls_active":                     3,
		`switchboard_calls_by_state{state="answered"}`: 2,
		`switchboard_calls_by_state{state="ringing"}`:  1,
		`switchboard_calls_by_state{state="routing"}`:  0,
		`switchboard_calls_by_state{state="held"}`:     0,
		"switchboard_registered_extensions":            2,
		"switchboard_registered_devices":               3,
		"switchboard_rtp_endpoints":                    4,
		"switchboard_rtp_packets_received_total":       100,
		"switchboard_rtp_packets_forwarded_total":      90,
		"switchboard_rtp_packets_dropped_total":        10,
		"switchboard_rtp_music_frames_total":           7,
		"switchboard_dtmf_events_total":                2,
		"switchboard_events_published_total":           1,
		"switchboard_event_subscribers":                1, // the exporter's own
		"switchboard_calls_ended_total":                0,
		"switchboard_call_talk_seconds_count":          0,
	}
	for k, w := range want {
		if got, ok := v[k]; !ok || got != w {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, w)
		}
	}
	if v["switchboard_go_goroutines"] < 1 || v["switchboard_go_heap_objects_bytes"] <= 0 ||
		v["switchboard_go_memory_bytes"] <= 0 || v["switchboard_process_start_time_seconds"] < 1.7e9 {
		t.Errorf("runtime metrics look wrong: %v", v)
	}
	build := false
	for k, val := range v {
		if !strings.HasPrefix(k, "switchboard_") {
			t.Errorf("%s is not prefixed switchboard_", k)
		}
		if strings.HasPrefix(k, `switchboard_build_info{version="1.2.3",goversion="go`) && val == 1 {
			build = true
		}
	}
	if !build {
		t.Errorf("no switchboard_build_info for version 1.2.3")
	}
}

func TestExporterReadsACDAndWebSockets(t *testing.T) {
	agent := func(state, status string) acd.AgentView { return acd.AgentView{State: state, Status: status} }
	x, err := NewExporter(Sources{
		ACD: fakeACD{
			stats: map[string]acd.QueueStats{
				"8000": {Queue: "8000", Waiting: 3, LongestWaitSeconds: 42.5},
				"8001": {Queue: "8001"},
			},
			agents: []acd.AgentView{agent("idle", "available"), agent("busy", "available"), agent("busy", "available"),
				agent("wrap_up", "available"), agent("idle", "break"), agent("idle", "logged_out"), agent("dreaming", "available")},
		},
		WebSockets: fakeWS(17),
		Media:      fakeMedia{Mixers: 2, PacketsMixed: 500, MixerFrames: 480, MixerTicks: 100, MixerLateTicks: 1, RecordingDrops: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.EventLag().Observe(0.004)
	x.EventLag().Observe(0.03)
	x.EventLag().Observe(0.2)
	v := scrape(t, x)
	want := map[string]float64{
		`switchboard_queue_waiting{queue="8000"}`:               3,
		`switchboard_queue_waiting{queue="8001"}`:               0,
		`switchboard_queue_longest_wait_seconds{queue="8000"}`:  42.5,
		`switchboard_agents_by_state{state="idle"}`:             3,
		`switchboard_agents_by_state{state="busy"}`:             2,
		`switchboard_agents_by_state{state="wrap_up"}`:          1,
		`switchboard_agents_by_state{state="offered"}`:          0, // reported at zero
		`switchboard_agents_by_state{state="rona"}`:             0,
		`switchboard_agents_by_state{state="dreaming"}`:         1, // an unexpected state still counts
		`switchboard_agents_by_status{status="available"}`:      5,
		`switchboard_agents_by_status{status="break"}`:          1,
		`switchboard_agents_by_status{status="offline"}`:        0,
		`switchboard_agents_by_status{status="logged_out"}`:     1,
		"switchboard_websocket_clients":                         17,
		`switchboard_event_delivery_seconds_bucket{le="0.005"}`: 1,
		`switchboard_event_delivery_seconds_bucket{le="0.05"}`:  2,
		`switchboard_event_delivery_seconds_bucket{le="+Inf"}`:  3,
		"switchboard_event_delivery_seconds_count":              3,
		"switchboard_rtp_mixers":                                2,
		"switchboard_rtp_packets_mixed_total":                   500,
		"switchboard_rtp_mixer_frames_total":                    480,
		"switchboard_rtp_mixer_ticks_total":                     100,
		"switchboard_rtp_mixer_late_ticks_total":                1,
		"switchboard_recording_frames_dropped_total":            4,
	}
	for k, w := range want {
		if got, ok := v[k]; !ok || got != w {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, w)
		}
	}
	if _, ok := v[`switchboard_queue_waiting{queue="gone"}`]; ok {
		t.Error("a queue that cannot be read is reported")
	}
}

func TestExporterWithoutSourcesHasRuntimeOnly(t *testing.T) {
	x, err := NewExporter(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	x.Close() // nothing to stop, and safe
	v := scrape(t, x)
	if _, ok := v["switchboard_calls_active"]; ok {
		t.Error("calls metrics without a call source")
	}
	if _, ok := v["switchboard_go_goroutines"]; !ok {
		t.Error("no runtime metrics")
	}
	if x.EventLag() != nil {
		t.Error("an event lag histogram without a WebSocket source")
	}
}

func endedCall(talk time.Duration, at time.Time) call.Info {
	i := call.Info{State: call.StateEnded}
	if talk > 0 {
		a := at.Add(-talk)
		i.AnsweredAt = &a
	}
	return i
}

func TestExporterCountsEndedCalls(t *testing.T) {
	bus := events.New(64)
	x, err := NewExporter(Sources{Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	now := time.Now()
	bus.Publish(events.CallEnded, "call:a", endedCall(45*time.Second, now))
	bus.Publish(events.CallEnded, "call:b", endedCall(0, now)) // never answered
	bus.Publish(events.CallAnswered, "call:c", call.Info{})    // not an end
	bus.Publish(events.CallEnded, "call:d", endedCall(2*time.Second, now))
	bus.Publish(events.CallCreated, "call:e", call.Info{})

	eventually(t, func() error {
		v := scrape(t, x)
		if v["switchboard_calls_total"] != 1 {
			return fmt.Errorf("calls created %v, want 1", v["switchboard_calls_total"])
		}
		if v["switchboard_calls_ended_total"] != 3 || v["switchboard_call_talk_seconds_count"] != 2 {
			return fmt.Errorf("ended %v, answered %v; want 3 and 2", v["switchboard_calls_ended_total"],
				v["switchboard_call_talk_seconds_count"])
		}
		if v[`switchboard_call_talk_seconds_bucket{le="5"}`] != 1 || v[`switchboard_call_talk_seconds_bucket{le="30"}`] != 1 ||
			v[`switchboard_call_talk_seconds_bucket{le="60"}`] != 2 {
			return fmt.Errorf("talk-time buckets wrong: %v", v)
		}
		return nil
	})
	if v := scrape(t, x); v["switchboard_events_published_total"] != 5 {
		t.Errorf("events published %v, want 5", v["switchboard_events_published_total"])
	}
}

// rewatch starts a new watcher, on sub, after the exporter's own was
// closed.
func rewatch(x *Exporter, sub *events.Subscription) {
	x.closeOnce = sync.Once{}
	x.start(sub)
}

// A watcher cut off as slow resumes from the history without losing or
// double-counting events.
func TestExporterResumesAfterCutOff(t *testing.T) {
	bus := events.New(64)
	x, err := NewExporter(Sources{Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.Close() // events published below reach only the slow subscription
	slow, _ := bus.Subscribe(0, 2)
	for range 5 {
		bus.Publish(events.CallEnded, "call:x", call.Info{})
	}
	<-slow.Done() // cut off after two queued
	rewatch(x, slow)
	for range 3 {
		bus.Publish(events.CallEnded, "call:x", call.Info{})
	}
	eventually(t, func() error {
		if got := x.ended.Value(); got != 8 {
			return fmt.Errorf("ended %v, want 8", got)
		}
		return nil
	})
	if n := bus.Subscribers(); n != 1 {
		t.Errorf("%d subscribers, want 1 (the resumed watcher)", n)
	}
}

// When the history no longer reaches back, the watcher carries on with
// what it can still see.
func TestExporterContinuesWhenHistoryIsGone(t *testing.T) {
	bus := events.New(4)
	x, err := NewExporter(Sources{Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.Close() // events published below reach only the slow subscription
	slow, _ := bus.Subscribe(0, 2)
	for range 10 {
		bus.Publish(events.CallEnded, "call:x", call.Info{})
	}
	<-slow.Done()
	rewatch(x, slow)
	eventually(t, func() error {
		if bus.Subscribers() != 1 {
			return fmt.Errorf("watcher not resubscribed")
		}
		return nil
	})
	bus.Publish(events.CallEnded, "call:x", call.Info{})
	eventually(t, func() error {
		if got := x.ended.Value(); got != 3 { // two queued before the cut-off, one after
			return fmt.Errorf("ended %v, want 3", got)
		}
		return nil
	})
}
