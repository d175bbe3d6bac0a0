package prompts

import (
	"math"
	"testing"
	"time"
)

// TestEveryPromptShipped: each name the call layer uses is embedded,
// decodes as 8 kHz mono 16-bit, is audible and not absurdly long; the
// whole set stays small (it is in the binary).
func TestEveryPromptShipped(t *testing.T) {
	want := []string{Busy, Position, MoreThanTwenty, EWT, Minute, Minutes, MoreThanTenMinutes,
		Press1, Press2, LeaveMessage, Tone, CallbackThanks, Goodbye}
	for n := 1; n <= MaxNumber; n++ {
		want = append(want, Number(n))
	}
	lib, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) != len(want) {
		t.Errorf("%d prompts embedded, want %d: %v", len(lib), len(want), Names())
	}
	total := 0
	for _, name := range want {
		pcm, err := PCM(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		total += 2 * len(pcm)
		d := time.Duration(len(pcm)) * time.Second / 8000
		if d < 200*time.Millisecond || d > 5*time.Second {
			t.Errorf("%s lasts %v", name, d)
		}
		var sum float64
		for _, s := range pcm {
			sum += float64(s) * float64(s)
		}
		if rms := math.Sqrt(sum / float64(len(pcm))); rms < 1000 {
			t.Errorf("%s: rms %.0f, nearly silent", name, rms)
		}
		if lib[name] == nil || lib[name].Duration() < d || lib[name].Duration() >= d+20*time.Millisecond ||
			lib[name].Duration()%(20*time.Millisecond) != 0 {
			t.Errorf("%s: library entry of %v, want %v padded to whole 20 ms frames", name, lib[name].Duration(), d)
		}
	}
	if total > 600<<10 {
		t.Errorf("prompts hold %d KiB of audio: keep the embedded set small", total>>10)
	}
}

func TestNumber(t *testing.T) {
	for n, want := range map[int]string{0: "", -3: "", 1: "n01", 9: "n09", 20: "n20", 21: MoreThanTwenty, 500: MoreThanTwenty} {
		if got := Number(n); got != want {
			t.Errorf("Number(%d) = %q, want %q", n, got, want)
		}
	}
}
