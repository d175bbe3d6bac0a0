package media

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// TestBuiltinMusic: audible, around -12 dBFS peak, seamless, and keeping
// out of the 440 Hz and 1000 Hz bands that tests use to tell parties apart.
func TestBuiltinMusic(t *testing.T) {
	pcm := builtinMusic()
	if len(pcm) != musicSamples || len(pcm)%frameSamples != 0 {
		t.Fatalf("loop of %d samples, want %d (whole frames)", len(pcm), musicSamples)
	}
	peak := 0
	for _, s := range pcm {
		peak = max(peak, int(math.Abs(float64(s))))
	}
	if dB := 20 * math.Log10(float64(peak)/32768); dB < -13 || dB > -11 {
		t.Errorf("peak %.1f dBFS, want about -12", dB)
	}
	if first, last := math.Abs(float64(pcm[0])), math.Abs(float64(pcm[len(pcm)-1])); first > 200 || last > 200 {
		t.Errorf("loop ends at %v and %v: it would click", first, last)
	}
	// 200 ms windows, like a tone detector would use.
	const win = 1600
	for off := 0; off+win <= len(pcm); off += win {
		w := pcm[off : off+win]
		if p := meanPower(w); p < 1e5 {
			t.Errorf("window at %d ms nearly silent (power %.0f)", off/8, p)
		}
		for _, f := range []float64{440, 1000} {
			if s := toneShare(w, f); s > 0.02 {
				t.Errorf("window at %d ms: %v Hz share %.3f", off/8, f, s)
			}
		}
	}
	// The strongest component of each window is one of the chord's notes.
	notes := []float64{110, 130.81, 174.61, 196, 523.25, 587.33, 659.26, 698.46, 783.99, 880, 1174.66}
	for off := 0; off+win <= len(pcm); off += win {
		w := pcm[off : off+win]
		best, bestP := 0.0, 0.0
		for f := 50.0; f <= 3000; f += 5 {
			if p := goertzel(w, f); p > bestP {
				best, bestP = f, p
			}
		}
		near := false
		for _, n := range notes {
			near = near || math.Abs(best-n) <= 10
		}
		if !near {
			t.Errorf("window at %d ms peaks at %v Hz, not a chord note", off/8, best)
		}
	}
}

func TestMusicLoopFrame(t *testing.T) {
	pcm := make([]int16, 100) // shorter than a frame: must wrap repeatedly
	for i := range pcm {
		pcm[i] = int16(i * 100)
	}
	m := newMusicLoop(pcm)
	dst := make([]byte, 160)
	pos := m.frame(dst, 90, false)
	if pos != 50 {
		t.Fatalf("pos after a 160-sample frame from 90 = %d, want 50", pos)
	}
	for i, b := range dst {
		want := g711.LinearToULaw(pcm[(90+i)%100])
		if b != want {
			t.Fatalf("sample %d = %#x, want %#x", i, b, want)
		}
	}
}

// TestMusicOnEndpoint: configured music, A-law, one frame per 20 ms, and
// each endpoint resumes at its own position in the loop.
func TestMusicOnEndpoint(t *testing.T) {
	checkNoLeaks(t)
	// Five frames, each a constant level, so frames can be told apart.
	var loop []int16
	for k := range 5 {
		for range frameSamples {
			loop = append(loop, int16(1000*(k+1)))
		}
	}
	e, err := NewEngine(EngineConfig{BindAddr: loopback, PortMin: 41600, PortMax: 41619, Hold: loop})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	ep := newTestEndpoint(t, e)
	p := newPhone(t)
	ep.SetRemote(p.addr(), PCMA, 0)

	level := func() int {
		pkt := p.mustRecv("music")
		if pkt.PayloadType != PCMA.PayloadType || len(pkt.Payload) != frameSamples {
			t.Fatalf("music packet PT %d, %d bytes", pkt.PayloadType, len(pkt.Payload))
		}
		v := int(g711.ALawToLinear(pkt.Payload[80]))
		return int(math.Round(float64(v) / 1000))
	}
	start := time.Now()
	ep.StartMusic()
	var got []int
	for range 3 {
		got = append(got, level())
	}
	ep.StopMusic()
	p.drain(60 * time.Millisecond) // a frame may have been in flight
	if n := p.drain(60 * time.Millisecond); n != 0 {
		t.Fatalf("%d music packets after StopMusic", n)
	}
	ep.StartMusic()
	for range 4 {
		got = append(got, level())
	}
	ep.StopMusic()
	if want := []int{1, 2, 3, 4, 5, 1, 2}; !reflect.DeepEqual(got, want) {
		// A frame sent between StopMusic and the first drain shifts by one.
		if alt := []int{1, 2, 3, 5, 1, 2, 3}; !reflect.DeepEqual(got, alt) {
			t.Fatalf("frames %v, want %v (position kept across holds)", got, want)
		}
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("7 frames in %v: not paced at 20 ms", el)
	}
}

// wavFile renders a RIFF/WAVE image with the given fmt fields and chunks
// placed before the data chunk.
func wavFile(format, channels uint16, rate uint32, bits uint16, extra []byte, samples []int16) []byte {
	le := binary.LittleEndian
	fmtChunk := make([]byte, 16)
	le.PutUint16(fmtChunk[0:], format)
	le.PutUint16(fmtChunk[2:], channels)
	le.PutUint32(fmtChunk[4:], rate)
	le.PutUint32(fmtChunk[8:], rate*uint32(channels)*uint32(bits/8))
	le.PutUint16(fmtChunk[12:], channels*bits/8)
	le.PutUint16(fmtChunk[14:], bits)
	chunk := func(id string, body []byte) []byte {
		b := append([]byte(id), 0, 0, 0, 0)
		le.PutUint32(b[4:], uint32(len(body)))
		b = append(b, body...)
		if len(body)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	data := make([]byte, 2*len(samples))
	for i, s := range samples {
		le.PutUint16(data[2*i:], uint16(s))
	}
	body := append([]byte("WAVE"), chunk("fmt ", fmtChunk)...)
	body = append(body, extra...)
	body = append(body, chunk("data", data)...)
	return append(append([]byte("RIFF"), le.AppendUint32(nil, uint32(len(body)))...), body...)
}

func TestLoadWAV(t *testing.T) {
	samples := []int16{0, 100, -100, 32767, -32768}
	list := append([]byte("LIST"), 3, 0, 0, 0, 'a', 'b', 'c', 0) // odd size, padded
	tests := []struct {
		name    string
		file    []byte
		want    []int16
		wantErr string
	}{
		{"8 kHz mono 16-bit", wavFile(1, 1, 8000, 16, nil, samples), samples, ""},
		{"with a LIST chunk", wavFile(1, 1, 8000, 16, list, samples), samples, ""},
		{"stereo", wavFile(1, 2, 8000, 16, nil, samples), nil, "2 channels"},
		{"16 kHz", wavFile(1, 1, 16000, 16, nil, samples), nil, "16000 Hz"},
		{"8-bit", wavFile(1, 1, 8000, 8, nil, samples), nil, "8 bits"},
		{"µ-law WAV", wavFile(7, 1, 8000, 8, nil, samples), nil, "not linear PCM"},
		{"not RIFF", []byte("ID3\x03 this is an mp3"), nil, "not a RIFF/WAVE"},
		{"no data", wavFile(1, 1, 8000, 16, nil, nil)[:36], nil, "no data chunk"},
		{"truncated chunk", append(wavFile(1, 1, 8000, 16, nil, nil)[:20], 1, 0), nil, "runs past the end"},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, string(rune('a'+i))+".wav")
			if err := os.WriteFile(path, tt.file, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadWAV(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := LoadWAV(filepath.Join(dir, "missing.wav")); err == nil || !strings.Contains(err.Error(), "missing.wav") {
		t.Errorf("missing file: %v", err)
	}
}
