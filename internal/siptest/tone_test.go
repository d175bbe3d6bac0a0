package siptest

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media/g711"
)

func mix(signals ...[]int16) []int16 {
	out := make([]int16, len(signals[0]))
	for i := range out {
		var sum int
		for _, s := range signals {
			sum += int(s[i])
		}
		out[i] = int16(max(min(sum, math.MaxInt16), math.MinInt16))
	}
	return out
}

func noise(n int, amplitude float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(r.NormFloat64() * amplitude * 32767)
	}
	return out
}

func TestGoertzelLevel(t *testing.T) {
	tests := []struct {
		name      string
		amplitude float64
		want      float64 // A²/2
	}{
		{"full scale", 1, 0.5},
		{"-10 dBFS", 0.316, 0.316 * 0.316 / 2},
		{"-40 dBFS", 0.01, 0.01 * 0.01 / 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Sine(1000, 8000, 200*time.Millisecond, tc.amplitude)
			got := Goertzel(s, 8000, 1000)
			if math.Abs(got-tc.want)/tc.want > 0.05 {
				t.Fatalf("Goertzel = %g, want %g ±5%%", got, tc.want)
			}
			if off := Goertzel(s, 8000, 1500); off > tc.want*1e-3 {
				t.Fatalf("Goertzel at 1500 Hz = %g, want ~0", off)
			}
		})
	}
	if Goertzel(nil, 8000, 1000) != 0 || Goertzel([]int16{1, 2}, 0, 1000) != 0 {
		t.Fatal("degenerate input should give 0")
	}
}

func TestDominantTone(t *testing.T) {
	const rate = 8000
	dur := 500 * time.Millisecond
	n := int(dur.Seconds() * rate)
	cands := []float64{350, 440, 480, 620, 1000, 1400}
	tests := []struct {
		name     string
		samples  []int16
		wantFreq float64
		minRatio float64
		maxRatio float64
		hears    []float64
		notHears []float64
	}{
		{
			name:     "pure 440",
			samples:  Sine(440, rate, dur, 0.3),
			wantFreq: 440, minRatio: 0.95, maxRatio: 1,
			hears: []float64{440}, notHears: []float64{480, 1000},
		},
		{
			name:     "1000 in noise at +10 dB SNR",
			samples:  mix(Sine(1000, rate, dur, 0.3), noise(n, 0.3/math.Sqrt2/math.Sqrt(10), 1)),
			wantFreq: 1000, minRatio: 0.85, maxRatio: 0.95,
			hears: []float64{1000}, notHears: []float64{440, 1400},
		},
		{
			name:     "two mixed tones 350+440 (dial tone)",
			samples:  mix(Sine(350, rate, dur, 0.2), Sine(440, rate, dur, 0.25)),
			wantFreq: 440, minRatio: 0.55, maxRatio: 0.65, // 0.25² / (0.2²+0.25²) = 0.61
			hears: []float64{350, 440}, notHears: []float64{480, 620},
		},
		{
			name:     "noise only",
			samples:  noise(n, 0.1, 2),
			minRatio: 0, maxRatio: 0.05,
			notHears: cands,
		},
		{
			name:     "silence",
			samples:  make([]int16, n),
			minRatio: 0, maxRatio: 0,
			notHears: cands,
		},
		{
			name:     "faint 440 below -50 dBFS",
			samples:  Sine(440, rate, dur, 0.002),
			wantFreq: 440, minRatio: 0.9, maxRatio: 1,
			notHears: []float64{440},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, r := DominantTone(tc.samples, rate, cands)
			if tc.wantFreq != 0 && f != tc.wantFreq {
				t.Errorf("DominantTone freq = %v, want %v (ratio %.3f)", f, tc.wantFreq, r)
			}
			if r < tc.minRatio || r > tc.maxRatio {
				t.Errorf("DominantTone ratio = %.3f, want in [%.2f, %.2f]", r, tc.minRatio, tc.maxRatio)
			}
			for _, h := range tc.hears {
				if !Hears(tc.samples, rate, h) {
					t.Errorf("Hears(%v) = false, want true", h)
				}
			}
			for _, h := range tc.notHears {
				if Hears(tc.samples, rate, h) {
					t.Errorf("Hears(%v) = true, want false", h)
				}
			}
		})
	}
}

// TestToneSurvivesG711 checks the analysis works on what the phone actually
// receives: G.711-companded audio.
func TestToneSurvivesG711(t *testing.T) {
	s := Sine(1000, 8000, 300*time.Millisecond, 0.316)
	enc := make([]byte, len(s))
	for _, codec := range []string{"PCMU", "PCMA"} {
		dec := make([]int16, len(s))
		if codec == "PCMU" {
			g711.EncodeULaw(enc, s)
			g711.DecodeULaw(dec, enc)
		} else {
			g711.EncodeALaw(enc, s)
			g711.DecodeALaw(dec, enc)
		}
		f, r := DominantTone(dec, 8000, []float64{440, 1000})
		if f != 1000 || r < 0.95 {
			t.Errorf("%s: DominantTone = %v, %.3f; want 1000, >0.95", codec, f, r)
		}
	}
}

func TestWAVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, rate := range []int{8000, 16000, 48000} {
		path := filepath.Join(dir, "tone.wav")
		in := Sine(440, rate, 250*time.Millisecond, 0.5)
		in = append(in, math.MaxInt16, math.MinInt16, 0, -1)
		if err := WriteWAV(path, in, rate); err != nil {
			t.Fatal(err)
		}
		out, gotRate, err := ReadWAV(path)
		if err != nil {
			t.Fatal(err)
		}
		if gotRate != rate || len(out) != len(in) {
			t.Fatalf("rate %d len %d, want %d %d", gotRate, len(out), rate, len(in))
		}
		for i := range in {
			if in[i] != out[i] {
				t.Fatalf("sample %d = %d, want %d", i, out[i], in[i])
			}
		}
	}
	path := filepath.Join(dir, "sine.wav")
	if err := SineWAV(path, 1000, 8000, 100*time.Millisecond, 0.3); err != nil {
		t.Fatal(err)
	}
	s, rate, err := ReadWAV(path)
	if err != nil || rate != 8000 || !Hears(s, rate, 1000) {
		t.Fatalf("SineWAV: err=%v rate=%d hears=%v", err, rate, Hears(s, rate, 1000))
	}
}

// wavBytes builds a WAV file by hand to exercise the reader's chunk walk.
func wavBytes(format, channels, bits uint16, rate uint32, extra []byte, data []byte) []byte {
	le16 := func(v uint16) []byte { return []byte{byte(v), byte(v >> 8)} }
	le32 := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	var fmtc []byte
	fmtc = append(fmtc, le16(format)...)
	fmtc = append(fmtc, le16(channels)...)
	fmtc = append(fmtc, le32(rate)...)
	fmtc = append(fmtc, le32(rate*uint32(channels)*uint32(bits)/8)...)
	fmtc = append(fmtc, le16(channels*bits/8)...)
	fmtc = append(fmtc, le16(bits)...)
	body := []byte("WAVE")
	body = append(body, "fmt "...)
	body = append(body, le32(uint32(len(fmtc)))...)
	body = append(body, fmtc...)
	body = append(body, extra...)
	body = append(body, "data"...)
	body = append(body, le32(uint32(len(data)))...)
	body = append(body, data...)
	out := append([]byte("RIFF"), le32(uint32(len(body)))...)
	return append(out, body...)
}

func TestReadWAVVariants(t *testing.T) {
	dir := t.TempDir()
	// Stereo frames (L, R): (100, 300) and (-100, -300) downmix to 200, -200.
	stereo := []byte{100, 0, 44, 1, 156, 255, 212, 254}
	list := append([]byte("LIST\x03\x00\x00\x00abc"), 0) // odd-sized chunk + pad byte
	tests := []struct {
		name    string
		file    []byte
		want    []int16
		wantErr string
	}{
		{name: "stereo downmix with LIST chunk", file: wavBytes(1, 2, 16, 8000, list, stereo), want: []int16{200, -200}},
		{name: "8-bit", file: wavBytes(1, 1, 8, 8000, nil, []byte{1, 2}), wantErr: "8 bits"},
		{name: "float", file: wavBytes(3, 1, 32, 8000, nil, []byte{0, 0, 0, 0}), wantErr: "audio format 3"},
		{name: "not riff", file: []byte("hello world, not a wav"), wantErr: "not a RIFF"},
		{name: "no data", file: wavBytes(1, 1, 16, 8000, nil, nil)[:36], wantErr: "no data chunk"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".wav")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			got, _, err := ReadWAV(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, _, err := ReadWAV(filepath.Join(dir, "missing.wav")); err == nil {
		t.Fatal("missing file: want error")
	}
}
