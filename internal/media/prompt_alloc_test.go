//go:build !race

package media

import "testing"

// TestPromptFrameZeroAlloc pins a 20 ms frame of a held endpoint playing
// prompts (and falling back to music) at zero allocations.
func TestPromptFrameZeroAlloc(t *testing.T) {
	e := newTestEngine(t, 41960, 41969)
	ep := newTestEndpoint(t, e)
	p := newPhone(t)
	ep.SetRemote(p.addr(), PCMA, 0)
	ep.PlayPrompts(NewPrompt("a", constPCM(500, 8000)), NewPrompt("b", constPCM(900, 8000)))
	// The clock is running too: stop it from sending while we measure by
	// taking the endpoint off its player list (sendMusic only needs ep.music).
	ep.mu.Lock()
	e.removePlayer(ep)
	ep.mu.Unlock()
	buf := make([]byte, rtpFixedLen+frameSamples)
	now := e.now()
	allocs := testing.AllocsPerRun(200, func() {
		now += int64(musicTick)
		ep.sendMusic(buf, now)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per prompt frame, want 0", allocs)
	}
}
