//go:build !race

package media

import "testing"

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
