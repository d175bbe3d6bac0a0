package media

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func TestExtractChannel(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "stereo.wav")
	// 3 frames of left = i, right = -i, with the "unknown size" header a
	// recording cut short leaves behind.
	data := wavHeader(0xffffffff, 0xffffffff)
	for i := range 480 {
		data = binary.LittleEndian.AppendUint16(data, uint16(int16(i)))
		data = binary.LittleEndian.AppendUint16(data, uint16(int16(-i)))
	}
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for ch, sign := range []int{1, -1} {
		dst := filepath.Join(dir, "mono"+string(rune('0'+ch))+".wav")
		info, err := ExtractChannel(src, dst, ch)
		if err != nil {
			t.Fatal(err)
		}
		if info.Duration.Milliseconds() != 60 || info.Bytes != 44+960 {
			t.Errorf("channel %d: %+v", ch, info)
		}
		pcm, err := LoadWAV(dst) // mono 8 kHz 16-bit, or it fails
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range pcm {
			if int(s) != sign*i {
				t.Fatalf("channel %d sample %d = %d", ch, i, s)
			}
		}
		if st, _ := os.Stat(dst); st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v", st.Mode())
		}
		if _, err := ExtractChannel(src, dst, ch); err == nil {
			t.Error("an existing file was overwritten")
		}
	}
	if _, err := ExtractChannel(src, filepath.Join(dir, "x.wav"), 2); err == nil {
		t.Error("channel 2 accepted")
	}
	mono := filepath.Join(dir, "mono0.wav")
	if _, err := ExtractChannel(mono, filepath.Join(dir, "y.wav"), 0); err == nil {
		t.Error("a mono file accepted as stereo")
	}
}
