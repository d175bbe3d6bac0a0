package siptest

import (
	"math"
	"time"
)

// HearsMinRatio is the share of the total signal power a tone must carry for
// Hears to report it: 20 % leaves room for two or three simultaneous tones
// (a conference) and for G.711 quantisation noise, while a tone that only
// leaks in at a low level (crosstalk, a neighbouring frequency) stays below.
const HearsMinRatio = 0.2

// HearsMinPower is the minimum Goertzel power (see Goertzel) for Hears:
// 5e-6 is the power of a sine at -50 dBFS (0.5·10^(-50/10)). Below that the
// line is considered silent, so that comfort-noise-level residue never
// counts as hearing a tone.
const HearsMinPower = 5e-6

// Goertzel returns the normalised power of the frequency component freq in
// samples: the mean-square level a pure sine of that frequency would have,
// on a scale where full-scale int16 is 1.0. A full-scale sine gives 0.5, a
// -10 dBFS sine 0.05. The block is Hann-windowed (and the window's coherent
// gain of 0.5 compensated) so that strong tones at other frequencies leak
// little into the estimate; the frequency resolution is about
// 2*sampleRate/len(samples) Hz (±20 Hz for 100 ms at 8 kHz).
func Goertzel(samples []int16, sampleRate int, freq float64) float64 {
	n := len(samples)
	if n < 2 || sampleRate <= 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(sampleRate))
	var s1, s2 float64
	step := 2 * math.Pi / float64(n-1)
	for i, x := range samples {
		win := 0.5 - 0.5*math.Cos(step*float64(i))
		s0 := float64(x)/32768*win + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	mag2 := s1*s1 + s2*s2 - coeff*s1*s2 // |X(freq)|²
	// A sine of amplitude A gives |X| ≈ A·N·0.5/2 under a Hann window, and
	// its mean-square level is A²/2, hence 2·|X|²/(N·0.5)².
	p := 8 * mag2 / (float64(n) * float64(n))
	return max(p, 0)
}

// meanSquare is the total normalised signal power on Goertzel's scale.
func meanSquare(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, x := range samples {
		v := float64(x) / 32768
		sum += v * v
	}
	return sum / float64(len(samples))
}

// DominantTone returns the candidate frequency with the most power in
// samples and that power relative to the total signal power (0..1). A pure
// tone gives a ratio near 1, two equal tones about 0.5 each, silence 0.
func DominantTone(samples []int16, sampleRate int, candidates []float64) (freq float64, ratio float64) {
	total := meanSquare(samples)
	best := -1.0
	for _, f := range candidates {
		if p := Goertzel(samples, sampleRate, f); p > best {
			best, freq = p, f
		}
	}
	if total <= 0 || best <= 0 {
		return freq, 0
	}
	return freq, min(best/total, 1)
}

// Hears reports whether freq is clearly present in samples: its Goertzel
// power is at least HearsMinRatio (20 %) of the total signal power and at
// least HearsMinPower (a -50 dBFS sine). Use at least 100 ms of audio; for
// tones closer than ~50 Hz apart (e.g. 440/480 Hz ringback) use 250 ms or
// more so the window's resolution separates them.
func Hears(samples []int16, sampleRate int, freq float64) bool {
	total := meanSquare(samples)
	if total <= 0 {
		return false
	}
	p := Goertzel(samples, sampleRate, freq)
	return p >= HearsMinPower && p/total >= HearsMinRatio
}

// Sine synthesises dur of a sine at freq with the given peak amplitude as a
// fraction of full scale (0..1; 0.316 is -10 dBFS).
func Sine(freq float64, sampleRate int, dur time.Duration, amplitude float64) []int16 {
	n := int(dur.Seconds() * float64(sampleRate))
	out := make([]int16, max(n, 0))
	var g toneGen
	g.set(freq, sampleRate, amplitude)
	g.fill(out)
	return out
}

// SineWAV writes dur of a sine to a mono 16-bit WAV file at path, e.g. as a
// prompt or as baresip's audio source.
func SineWAV(path string, freq float64, sampleRate int, dur time.Duration, amplitude float64) error {
	return WriteWAV(path, Sine(freq, sampleRate, dur, amplitude), sampleRate)
}

// toneGen is a phase-continuous sine oscillator, so consecutive 20 ms RTP
// frames join without clicks (a click would smear energy across the
// spectrum and spoil the receiver's tone analysis).
type toneGen struct {
	phase, step, amp float64
}

func (g *toneGen) set(freq float64, sampleRate int, amplitude float64) {
	g.step = 2 * math.Pi * freq / float64(sampleRate)
	g.amp = math.Max(0, math.Min(amplitude, 1)) * 32767
}

func (g *toneGen) fill(out []int16) {
	if g.step == 0 || g.amp == 0 {
		clear(out)
		return
	}
	for i := range out {
		out[i] = int16(math.Round(g.amp * math.Sin(g.phase)))
		g.phase += g.step
		if g.phase > 2*math.Pi {
			g.phase -= 2 * math.Pi
		}
	}
}
