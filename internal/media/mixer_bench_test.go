package media

import (
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// benchWindow is how long the real-time benchmarks (BenchmarkConferenceCapacity,
// BenchmarkCallCPU) measure, whatever b.N: they run in real time.
var benchWindow = flag.Duration("media.window", 3*time.Second, "measurement window of the real-time media benchmarks")

// newDetachedMixer is a mixer on no clock: the benchmark calls tick.
func newDetachedMixer(e *Engine) *Mixer {
	mx := &Mixer{eng: e}
	e.mu.Lock()
	e.mixers[mx] = struct{}{}
	e.mu.Unlock()
	return mx
}

// sinkPhone is a socket that receives and never reads: the kernel drops
// what overflows its small buffer, so nobody spends CPU on the receiving side.
func sinkPhone(tb testing.TB) *phone {
	p := newPhone(tb)
	_ = p.conn.SetReadBuffer(4096)
	return p
}

// fullConference makes every member hear every other member.
func fullConference(tb testing.TB, mx *Mixer, eps []*Endpoint) {
	for _, l := range eps {
		if err := mx.SetHears(l, eps...); err != nil { // itself is skipped
			tb.Fatal(err)
		}
	}
}

// benchMembers adds n endpoints facing one sink to mx and returns them and
// a 20 ms µ-law frame of a tone for their input.
func benchMembers(b *testing.B, e *Engine, mx *Mixer, n int) ([]*Endpoint, []byte) {
	sink := sinkPhone(b)
	eps := make([]*Endpoint, n)
	for i := range eps {
		eps[i] = newTestEndpoint(b, e)
		codec := PCMU
		if i%2 == 1 {
			codec = PCMA // half the listeners get A-law
		}
		eps[i].SetRemote(sink.addr(), codec, 101)
		if err := mx.Add(eps[i]); err != nil {
			b.Fatal(err)
		}
	}
	fullConference(b, mx, eps)
	return eps, ulawFrame(tone(1000, 8000, 0, frameSamples))
}

// BenchmarkMixerFrame is the mixer's arithmetic for one 20 ms tick of a
// full conference (everyone hears everyone else) of n members: each
// member's packet decoded into its jitter buffer (the reader's share),
// every frame popped and summed once, and each listener's "total minus
// me" clamped and encoded in its law. No sockets: sendto is measured by
// BenchmarkMixerTick. ns/member is the per-participant cost per frame.
func BenchmarkMixerFrame(b *testing.B) {
	for i, n := range []int{3, 10, 50} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			lo := 58000 + 200*i
			e := newTestEngine(b, lo, lo+2*n+1)
			mx := newDetachedMixer(e)
			eps, payload := benchMembers(b, e, mx, n)
			ts := uint32(0)
			b.ReportAllocs()
			for b.Loop() {
				for _, ep := range eps {
					ep.member.push(1, ts, payload, kindULaw)
				}
				ts += frameSamples
				mx.mu.Lock()
				mx.gather(1)
				for j, m := range mx.members {
					mx.render(m, j%2 == 1)
				}
				mx.mu.Unlock()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
		})
	}
}

// BenchmarkMixBaseline is the floor BenchmarkMixerFrame is compared with:
// one G.711 frame decoded, summed and encoded by plain loops, nothing else.
func BenchmarkMixBaseline(b *testing.B) {
	in := ulawFrame(tone(1000, 8000, 0, frameSamples))
	var pcm [frameSamples]int16
	var acc [frameSamples]int32
	out := make([]byte, frameSamples)
	for b.Loop() {
		g711.DecodeULaw(pcm[:], in)
		for i := range acc {
			acc[i] += int32(pcm[i])
		}
		g711.EncodeULawSat(out, acc[:])
	}
}

// BenchmarkMixerTick is a whole tick as the clock runs it, sends
// included: n members, each sent its mix over loopback (one sendto each)
// with the RTP header rewrite, plus optionally a recording.
func BenchmarkMixerTick(b *testing.B) {
	for i, bc := range []struct {
		n      int
		record bool
	}{{3, false}, {10, false}, {50, false}, {2, true}} {
		name := fmt.Sprintf("members=%d", bc.n)
		if bc.record {
			name += "/recorded"
		}
		b.Run(name, func(b *testing.B) {
			lo := 58000 + 200*i
			e := newTestEngine(b, lo, lo+2*bc.n+1)
			mx := newDetachedMixer(e)
			eps, payload := benchMembers(b, e, mx, bc.n)
			var rec *Recording
			if bc.record {
				var err error
				rec, err = mx.Record(filepath.Join(b.TempDir(), "b.wav"), eps[:1], eps[1:])
				if err != nil {
					b.Fatal(err)
				}
				defer rec.Stop()
			}
			ts := uint32(0)
			b.ReportAllocs()
			for b.Loop() {
				for _, ep := range eps {
					ep.member.push(1, ts, payload, kindULaw)
				}
				ts += frameSamples
				mx.tick(e.now(), 1)
				if bc.record {
					for len(rec.full) > 0 { // let the writer keep up, as it does in real time
						runtime.Gosched()
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bc.n), "ns/member")
			if st := e.Stats(); st.RecordingDrops > 0 {
				b.ReportMetric(float64(st.RecordingDrops), "rec-drops")
			}
		})
	}
}

// rtpSender sends a 1000 Hz PCMU packet from each phone to its endpoint
// every 20 ms until stop, from one goroutine (like a room of phones).
func rtpSender(phones []*phone, eps []*Endpoint, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	pkt := make([]byte, rtpFixedLen+frameSamples)
	copy(pkt[rtpFixedLen:], ulawFrame(tone(1000, 8000, 0, frameSamples)))
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for k := uint32(0); ; k++ {
		for i, p := range phones {
			putRTPHeader(pkt, false, 0, uint16(k), k*frameSamples, uint32(i+1))
			_, _ = p.conn.WriteToUDPAddrPort(pkt, eps[i].LocalAddr())
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lateProbe is the control for late-tick counts: a goroutine that does
// nothing but wake every 20 ms (absolute due times, like a mix clock) and
// counts wake-ups more than 10 ms late. When the probe is late as often as
// the mixers, the cause is the machine (other processes, the OS scheduler),
// not the mix clock design.
type lateProbe struct {
	stop             chan struct{}
	done             chan struct{}
	ticks, late      int
	maxLate          time.Duration
	over1ms, over5ms int
}

func startLateProbe() *lateProbe {
	p := &lateProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTimer(mixTick)
		due := time.Now().Add(mixTick)
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			late := time.Since(due)
			p.ticks++
			p.maxLate = max(p.maxLate, late)
			if late > mixLateAfter {
				p.late++
			}
			if late > time.Millisecond {
				p.over1ms++
			}
			if late > 5*time.Millisecond {
				p.over5ms++
			}
			due = due.Add(mixTick)
			t.Reset(time.Until(due))
		}
	}()
	return p
}

// report stops the probe and reports its figures.
func (p *lateProbe) report(b *testing.B) {
	close(p.stop)
	<-p.done
	b.ReportMetric(100*float64(p.late)/float64(max(p.ticks, 1)), "probe-late-%")
	b.ReportMetric(float64(p.maxLate.Microseconds())/1000, "probe-max-ms")
	b.ReportMetric(100*float64(p.over1ms)/float64(max(p.ticks, 1)), "probe>1ms-%")
}

// BenchmarkConferenceCapacity runs 50 rooms of 10 members (full
// conference, real UDP on loopback, each phone sending 50 packets/s) for
// -media.window (3 s) and reports the share of mixer ticks that started
// more than 10 ms late, per clock policy. cpu-% is the whole process
// (phones sending included) as a share of one core.
//
//	go test -run XXX -bench BenchmarkConferenceCapacity ./internal/media
func BenchmarkConferenceCapacity(b *testing.B) {
	for _, pc := range []struct {
		name   string
		policy clockPolicy
	}{{"sharded", clockSharded}, {"shared", clockShared}, {"per-mixer", clockPerMixer}} {
		b.Run(pc.name, func(b *testing.B) {
			const rooms, size = 50, 10
			e := newTestEngine(b, 58000, 59999)
			e.clockPolicy = pc.policy
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range rooms {
				mx, err := e.NewMixer()
				if err != nil {
					b.Fatal(err)
				}
				phones := make([]*phone, size)
				eps := make([]*Endpoint, size)
				for i := range size {
					phones[i] = sinkPhone(b)
					eps[i] = newTestEndpoint(b, e)
					eps[i].SetRemote(phones[i].addr(), PCMU, 101)
					if err := mx.Add(eps[i]); err != nil {
						b.Fatal(err)
					}
				}
				fullConference(b, mx, eps)
				wg.Add(1)
				go rtpSender(phones, eps, stop, &wg)
			}
			defer func() { close(stop); wg.Wait() }()
			time.Sleep(500 * time.Millisecond) // jitter buffers fill, senders spread out
			s0, c0, t0 := e.Stats(), cpuTime(), time.Now()
			probe := startLateProbe()
			b.ResetTimer()
			time.Sleep(*benchWindow)
			b.StopTimer()
			s1, c1, el := e.Stats(), cpuTime(), time.Since(t0)
			probe.report(b)
			ticks := s1.MixerTicks - s0.MixerTicks
			late := s1.MixerLateTicks - s0.MixerLateTicks
			b.ReportMetric(100*float64(late)/float64(max(ticks, 1)), "late-%")
			b.ReportMetric(float64(ticks), "mixer-ticks")
			b.ReportMetric(float64(s1.MixerFrames-s0.MixerFrames)/el.Seconds(), "frames/s")
			b.ReportMetric(float64(s1.PacketsMixed-s0.PacketsMixed)/el.Seconds(), "in-pkts/s")
			b.ReportMetric(100*float64(c1-c0)/float64(el), "cpu-%")
		})
	}
}

// BenchmarkCallCPU compares the CPU cost of one call (both phones sending
// 50 packets/s) relayed by a Bridge, mixed by a Mixer, mixed and recorded,
// and mixed with a supervisor listening in (a third phone, which sends
// too). The baseline is the phones sending to endpoints that are in no
// bridge or mixer (their readers receive and drop): what the test itself
// costs. The modes run in turn, -media.rounds times, each for -media.window
// with 20 calls; the metrics are the median per mode of the process's CPU
// (the test phones' sends included, the same in every mode but the
// monitored one) per second of call. Interleaving keeps the load from
// other processes on a shared machine from favouring one mode.
func BenchmarkCallCPU(b *testing.B) {
	modes := strings.Split(*benchModes, ",")
	got := make(map[string][]float64)
	for range *benchRounds {
		for _, mode := range modes {
			got[mode] = append(got[mode], callCPU(b, mode))
		}
	}
	for _, mode := range modes {
		v := got[mode]
		slices.Sort(v)
		b.ReportMetric(v[len(v)/2], mode+"-cpu-µs/call-s")
	}
}

var (
	benchRounds = flag.Int("media.rounds", 3, "rounds of BenchmarkCallCPU")
	benchModes  = flag.String("media.modes", "baseline,relayed,mixed,mixed-sharded,recorded,monitored", "modes of BenchmarkCallCPU")
)

// callCPU sets up 20 calls in mode, measures the process's CPU over
// -media.window and tears them down again.
func callCPU(b *testing.B, mode string) float64 {
	const calls = 20
	e, err := NewEngine(EngineConfig{BindAddr: loopback, PortMin: 58000, PortMax: 59999})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if mode == "mixed-sharded" {
		e.clockPolicy = clockSharded
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var recs []*Recording
	var phones []*phone
	var eps []*Endpoint
	dir := b.TempDir()
	for range calls {
		n := 2
		if mode == "monitored" {
			n = 3
		}
		ce := make([]*Endpoint, n)
		for i := range ce {
			p := sinkPhone(b)
			ce[i] = newTestEndpoint(b, e)
			ce[i].SetRemote(p.addr(), PCMU, 101)
			phones = append(phones, p)
			eps = append(eps, ce[i])
		}
		switch mode {
		case "baseline":
			continue
		case "relayed":
			if _, err := e.Connect(ce[0], ce[1]); err != nil {
				b.Fatal(err)
			}
			continue
		}
		mx, err := e.NewMixer()
		if err != nil {
			b.Fatal(err)
		}
		for _, ep := range ce {
			if err := mx.Add(ep); err != nil {
				b.Fatal(err)
			}
		}
		_ = mx.SetHears(ce[0], ce[1])
		_ = mx.SetHears(ce[1], ce[0])
		if n == 3 {
			_ = mx.SetHears(ce[2], ce[0], ce[1]) // the supervisor hears both, nobody hears it
		}
		if mode == "recorded" {
			rec, err := mx.Record(filepath.Join(dir, fmt.Sprintf("%d.wav", len(recs))), ce[:1], ce[1:])
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, rec)
		}
	}
	for i := 0; i < len(phones); i += 10 {
		j := min(i+10, len(phones))
		wg.Add(1)
		go rtpSender(phones[i:j], eps[i:j], stop, &wg)
	}
	time.Sleep(300 * time.Millisecond)
	c0, t0 := cpuTime(), time.Now()
	time.Sleep(*benchWindow)
	c1, el := cpuTime(), time.Since(t0)
	close(stop)
	wg.Wait()
	for _, r := range recs {
		if _, err := r.Stop(); err != nil {
			b.Error(err)
		}
	}
	if st := e.Stats(); st.RecordingDrops > 0 {
		b.Errorf("%s: %d recording frames dropped", mode, st.RecordingDrops)
	}
	for _, p := range phones {
		_ = p.conn.Close()
	}
	return float64((c1 - c0).Microseconds()) / (calls * el.Seconds())
}
