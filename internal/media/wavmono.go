package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ExtractChannel writes one channel (0: left, 1: right) of a 16-bit
// stereo 8 kHz WAV — a Mixer.Record file — as a mono 8 kHz 16-bit PCM WAV
// at dst, created with mode 0600 (recordings are personal data; an
// existing file is an error). A voicemail records one party, so its
// stereo file is half silence; the mono file is what is kept.
func ExtractChannel(src, dst string, channel int) (RecordingInfo, error) {
	if channel != 0 && channel != 1 {
		return RecordingInfo{}, fmt.Errorf("extract channel %d of %s: want 0 or 1", channel, src)
	}
	f, err := os.Open(src)
	if err != nil {
		return RecordingInfo{}, fmt.Errorf("extract channel: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxWAVBytes+1))
	if err != nil {
		return RecordingInfo{}, fmt.Errorf("extract channel of %s: %w", src, err)
	}
	if len(data) > maxWAVBytes {
		return RecordingInfo{}, fmt.Errorf("extract channel of %s: larger than %d MiB", src, maxWAVBytes>>20)
	}
	pcm, err := stereoChannel(data, channel)
	if err != nil {
		return RecordingInfo{}, fmt.Errorf("extract channel of %s: %w", src, err)
	}
	out := make([]byte, 0, wavHeaderLen+2*len(pcm))
	out = append(out, monoWAVHeader(uint32(2*len(pcm)))...)
	for _, s := range pcm {
		out = binary.LittleEndian.AppendUint16(out, uint16(s))
	}
	g, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return RecordingInfo{}, fmt.Errorf("extract channel: %w", err)
	}
	_, err = g.Write(out)
	if err == nil {
		err = g.Sync()
	}
	if cerr := g.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(dst)
		return RecordingInfo{}, fmt.Errorf("extract channel to %s: %w", dst, err)
	}
	return RecordingInfo{Path: dst, Duration: time.Duration(len(pcm)) * time.Second / 8000, Bytes: int64(len(out))}, nil
}

// stereoChannel returns one channel of a 16-bit stereo 8 kHz RIFF/WAVE image.
func stereoChannel(data []byte, channel int) ([]int16, error) {
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
				return nil, fmt.Errorf("chunk %q runs past the end of the file", id)
			}
			size = len(body) // a recording cut off by a crash keeps 0xffffffff
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if len(body) < 16 || le.Uint16(body[0:]) != waveFormatPCM || le.Uint16(body[2:]) != 2 ||
				le.Uint32(body[4:]) != 8000 || le.Uint16(body[14:]) != 16 {
				return nil, errors.New("not 16-bit stereo 8 kHz PCM")
			}
			sawFmt = true
		case "data":
			if !sawFmt {
				return nil, errors.New("data chunk before fmt chunk")
			}
			pcm := make([]int16, len(body)/4)
			for i := range pcm {
				pcm[i] = int16(le.Uint16(body[4*i+2*channel:]))
			}
			return pcm, nil
		}
		off += 8 + size + size&1
	}
	return nil, errors.New("no data chunk")
}

// monoWAVHeader is the 44-byte header of an 8 kHz mono 16-bit PCM file
// with dataLen bytes of samples.
func monoWAVHeader(dataLen uint32) []byte {
	const rate, bits = 8000, 16
	le := binary.LittleEndian
	h := make([]byte, 0, wavHeaderLen)
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, dataLen+wavHeaderLen-8)
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 16)
	h = le.AppendUint16(h, waveFormatPCM)
	h = le.AppendUint16(h, 1)
	h = le.AppendUint32(h, rate)
	h = le.AppendUint32(h, rate*bits/8)
	h = le.AppendUint16(h, bits/8)
	h = le.AppendUint16(h, bits)
	h = append(h, "data"...)
	h = le.AppendUint32(h, dataLen)
	return h
}
