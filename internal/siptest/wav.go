package siptest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

const (
	wavFormatPCM        = 1
	wavFormatExtensible = 0xFFFE
)

// ReadWAV reads a 16-bit PCM WAV file (mono, or multi-channel downmixed to
// mono by averaging) and returns its samples and sample rate. Unknown chunks
// (LIST, fact, ...) are skipped; WAVE_FORMAT_EXTENSIBLE with a PCM
// sub-format is accepted since some recorders write it even for mono.
func ReadWAV(path string) (samples []int16, sampleRate int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read wav: %w", err)
	}
	samples, sampleRate, err = parseWAV(data)
	if err != nil {
		return nil, 0, fmt.Errorf("read wav %s: %w", path, err)
	}
	return samples, sampleRate, nil
}

func parseWAV(data []byte) ([]int16, int, error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF/WAVE file")
	}
	var (
		haveFmt    bool
		channels   int
		sampleRate int
		bits       int
	)
	pos := 12
	for pos+8 <= len(data) {
		id := string(data[pos : pos+4])
		size := int(binary.LittleEndian.Uint32(data[pos+4 : pos+8]))
		body := data[pos+8:]
		if size > len(body) {
			if id != "data" {
				return nil, 0, fmt.Errorf("chunk %q truncated (%d of %d bytes)", id, len(body), size)
			}
			// Recorders killed mid-write leave a data size that overshoots
			// the file; use what is there.
			size = len(body)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("fmt chunk too short (%d bytes)", size)
			}
			format := binary.LittleEndian.Uint16(body[0:2])
			channels = int(binary.LittleEndian.Uint16(body[2:4]))
			sampleRate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits = int(binary.LittleEndian.Uint16(body[14:16]))
			if format == wavFormatExtensible && size >= 26 {
				format = binary.LittleEndian.Uint16(body[24:26]) // sub-format GUID's first two bytes
			}
			if format != wavFormatPCM {
				return nil, 0, fmt.Errorf("unsupported audio format %d (want PCM)", format)
			}
			if bits != 16 {
				return nil, 0, fmt.Errorf("unsupported %d bits per sample (want 16)", bits)
			}
			if channels < 1 {
				return nil, 0, fmt.Errorf("invalid channel count %d", channels)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, errors.New("data chunk before fmt chunk")
			}
			frames := size / (2 * channels)
			out := make([]int16, frames)
			for i := range out {
				var sum int
				for ch := 0; ch < channels; ch++ {
					off := (i*channels + ch) * 2
					sum += int(int16(binary.LittleEndian.Uint16(body[off:])))
				}
				out[i] = int16(sum / channels)
			}
			return out, sampleRate, nil
		}
		pos += 8 + size + size&1 // chunks are padded to even sizes
	}
	if !haveFmt {
		return nil, 0, errors.New("no fmt chunk")
	}
	return nil, 0, errors.New("no data chunk")
}

// WriteWAV writes samples as a mono 16-bit PCM WAV file.
func WriteWAV(path string, samples []int16, sampleRate int) error {
	if sampleRate <= 0 {
		return fmt.Errorf("write wav %s: invalid sample rate %d", path, sampleRate)
	}
	dataLen := 2 * len(samples)
	var b bytes.Buffer
	b.Grow(44 + dataLen)
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + dataLen))
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	le(uint32(16))
	le(uint16(wavFormatPCM))
	le(uint16(1)) // channels
	le(uint32(sampleRate))
	le(uint32(sampleRate * 2)) // byte rate
	le(uint16(2))              // block align
	le(uint16(16))             // bits per sample
	b.WriteString("data")
	le(uint32(dataLen))
	le(samples)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	return nil
}
