package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxWAVBytes bounds a hold-music file: 32 MiB is over half an hour of
// 8 kHz 16-bit audio, far more than a loop needs, and keeps a wrong path
// (a huge file) from eating memory.
const maxWAVBytes = 32 << 20

// LoadWAV reads hold music for EngineConfig.Hold from an 8 kHz mono 16-bit
// PCM WAV file (RIFF, format 1 or WAVE_FORMAT_EXTENSIBLE with a PCM
// sub-format). Other formats are rejected with the format found, so the
// operator knows what to convert (e.g. `sox in.wav -r 8000 -c 1 -b 16 out.wav`).
func LoadWAV(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load wav: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxWAVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load wav %s: %w", path, err)
	}
	if len(data) > maxWAVBytes {
		return nil, fmt.Errorf("load wav %s: larger than %d MiB", path, maxWAVBytes>>20)
	}
	pcm, err := decodeWAV(data)
	if err != nil {
		return nil, fmt.Errorf("load wav %s: %w", path, err)
	}
	return pcm, nil
}

// decodeWAV parses a RIFF/WAVE image, walking its chunks: fmt must come
// before data; other chunks (LIST, fact, …) are skipped.
func decodeWAV(data []byte) ([]int16, error) {
	if len(data) < 12 || !bytes.Equal(data[0:4], []byte("RIFF")) || !bytes.Equal(data[8:12], []byte("WAVE")) {
		return nil, errors.New("not a RIFF/WAVE file")
	}
	le := binary.LittleEndian
	sawFmt := false
	for off := 12; off+8 <= len(data); {
		id := string(data[off : off+4])
		size := int(le.Uint32(data[off+4:]))
		body := data[off+8:]
		if size > len(body) {
			if id != "data" {
				return nil, fmt.Errorf("chunk %q of %d bytes runs past the end of the file", id, size)
			}
			size = len(body) // streamed files may leave the size unset
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if err := checkWAVFormat(body); err != nil {
				return nil, err
			}
			sawFmt = true
		case "data":
			if !sawFmt {
				return nil, errors.New("data chunk before fmt chunk")
			}
			if len(body) < 2 {
				return nil, errors.New("no audio samples")
			}
			pcm := make([]int16, len(body)/2)
			for i := range pcm {
				pcm[i] = int16(le.Uint16(body[2*i:]))
			}
			return pcm, nil
		}
		off += 8 + size + size&1 // chunks are padded to even sizes
	}
	if !sawFmt {
		return nil, errors.New("no fmt chunk")
	}
	return nil, errors.New("no data chunk")
}

// waveFormatExtensible is WAVE_FORMAT_EXTENSIBLE; its sub-format GUID
// starts with the real format tag.
const (
	waveFormatPCM        = 1
	waveFormatExtensible = 0xfffe
)

func checkWAVFormat(b []byte) error {
	if len(b) < 16 {
		return fmt.Errorf("fmt chunk of %d bytes is too short", len(b))
	}
	le := binary.LittleEndian
	format := le.Uint16(b[0:])
	channels := le.Uint16(b[2:])
	rate := le.Uint32(b[4:])
	bits := le.Uint16(b[14:])
	if format == waveFormatExtensible && len(b) >= 26 {
		format = le.Uint16(b[24:])
	}
	switch {
	case format != waveFormatPCM:
		return fmt.Errorf("format tag %#x is not linear PCM (1)", format)
	case channels != 1:
		return fmt.Errorf("%d channels, want mono", channels)
	case rate != 8000:
		return fmt.Errorf("sample rate %d Hz, want 8000", rate)
	case bits != 16:
		return fmt.Errorf("%d bits per sample, want 16", bits)
	}
	return nil
}
