package g711

import (
	"math"
	"testing"
)

func TestRoundTripErrorIsBounded(t *testing.T) {
	codecs := []struct {
		name string
		enc  func(int16) uint8
		dec  func(uint8) int16
	}{
		{"ulaw", LinearToULaw, ULawToLinear},
		{"alaw", LinearToALaw, ALawToLinear},
	}
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			for s := -32768; s <= 32767; s += 7 {
				got := int(c.dec(c.enc(int16(s))))
				// G.711 is logarithmic: the step grows with the magnitude,
				// up to 1024 in the top segment; 1/16 of the value bounds it.
				limit := max(16, int(math.Abs(float64(s)))/15)
				if d := got - s; d > limit || d < -limit {
					t.Fatalf("%s(%d) round trip = %d, error %d > %d", c.name, s, got, d, limit)
				}
				if s > 64 && got <= 0 || s < -64 && got >= 0 {
					t.Fatalf("%s(%d) changed sign: %d", c.name, s, got)
				}
			}
		})
	}
}

func TestKnownCodes(t *testing.T) {
	tests := []struct {
		name string
		got  uint8
		want uint8
	}{
		{"ulaw zero", LinearToULaw(0), 0xFF},
		{"ulaw max", LinearToULaw(32767), 0x80},
		{"ulaw min", LinearToULaw(-32768), 0x00},
		{"alaw zero", LinearToALaw(0), 0xD5},
		{"alaw max", LinearToALaw(32767), 0xAA},
		{"alaw min", LinearToALaw(-32768), 0x2A},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	if ULawToLinear(ULawSilence) != 0 {
		t.Errorf("µ-law silence decodes to %d", ULawToLinear(ULawSilence))
	}
	if d := ALawToLinear(ALawSilence); d > 8 || d < -8 {
		t.Errorf("A-law silence decodes to %d", d)
	}
}

func TestDecodeEncodeAllCodesStable(t *testing.T) {
	for b := 0; b < 256; b++ {
		if got := LinearToULaw(ULawToLinear(uint8(b))); ULawToLinear(got) != ULawToLinear(uint8(b)) {
			t.Errorf("ulaw code %#x not stable: %#x", b, got)
		}
		if got := LinearToALaw(ALawToLinear(uint8(b))); got != uint8(b) {
			t.Errorf("alaw code %#x not stable: %#x", b, got)
		}
	}
}

func BenchmarkEncodeDecodeFrame(b *testing.B) {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(float64(i)/3))
	}
	enc := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		EncodeULaw(enc, pcm)
		DecodeULaw(pcm, enc)
	}
}
