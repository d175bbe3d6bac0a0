//go:build !race

package media

import (
	"runtime"
	"testing"
)

// TestRelayZeroAlloc pins the steady-state relay path at zero allocations
// per packet, including transcoding. (The race detector allocates on its
// own, hence the build tag.)
func TestRelayZeroAlloc(t *testing.T) {
	for _, c := range []struct {
		codec Codec
		port  int
	}{{PCMU, 41760}, {PCMA, 41780}} {
		a, _, reset := relayFixture(t, c.port, c.codec)
		src := a.sdpAddr
		a.handle(reset(), src) // latch and anchor the output stream first
		seq := byte(1)
		allocs := testing.AllocsPerRun(1000, func() {
			pkt := reset()
			seq++
			pkt[3] = seq
			a.handle(pkt, src)
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per relayed packet, want 0", c.codec.Name, allocs)
		}
	}
}

// TestMixerZeroAlloc pins a steady-state mixer tick at zero allocations:
// the readers' decode into the jitter buffers, the mix, the sends with
// their header rewrite, and a recording's capture.
func TestMixerZeroAlloc(t *testing.T) {
	e := newTestEngine(t, 41860, 41879)
	mx := newDetachedMixer(e)
	sink := sinkPhone(t)
	var eps []*Endpoint
	for i := range 3 {
		ep := newTestEndpoint(t, e)
		ep.SetRemote(sink.addr(), []Codec{PCMU, PCMA}[i%2], 101)
		if err := mx.Add(ep); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	fullConference(t, mx, eps)
	rec, err := mx.Record(t.TempDir()+"/z.wav", eps[:1], eps[1:])
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	payload := ulawFrame(tone(500, 8000, 0, frameSamples))
	ts := uint32(0)
	tick := func() {
		for _, ep := range eps {
			ep.member.push(7, ts, payload, kindULaw)
		}
		ts += frameSamples
		mx.tick(e.now(), 1)
		for len(rec.full) > 0 { // the writer keeps up in real time
			runtime.Gosched()
		}
	}
	for range 5 {
		tick() // anchor the jitter buffers and output streams
	}
	if allocs := testing.AllocsPerRun(200, tick); allocs != 0 {
		t.Errorf("%.1f allocations per mixer tick, want 0", allocs)
	}
}
