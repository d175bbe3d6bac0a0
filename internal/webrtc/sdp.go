package webrtc

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/switchboard/switchboard/internal/media"
)

// maxSDPSize bounds what we parse: a browser's audio-only offer is 2–5 KiB
// (ICE candidates, fingerprints, a dozen codecs).
const maxSDPSize = 64 << 10

// ErrNotWebRTC means an SDP body has no DTLS-SRTP audio stream.
var ErrNotWebRTC = errors.New("no WebRTC (UDP/TLS/RTP/SAVPF) audio stream")

// ErrNoPCMU means a WebRTC peer did not offer or accept PCMU, the only
// codec the relay and mixer carry without transcoding.
var ErrNoPCMU = errors.New("WebRTC peer has no PCMU")

// desc is what the gateway needs from a browser's SDP: the first
// DTLS-SRTP audio stream's direction and RFC 4733 payload type.
type desc struct {
	Direction media.Direction
	PCMUType  uint8 // PCMU's payload type (0, static, in practice)
	DTMFType  uint8 // telephone-event/8000 payload type when HasDTMF
	HasDTMF   bool
}

// IsWebRTC reports whether body is an SDP whose first audio stream is
// WebRTC media (RFC 8827: UDP/TLS/RTP/SAVPF with ICE and a DTLS
// fingerprint), which only the gateway can terminate. It is cheap enough to
// call on every INVITE: plain offers are rejected by a substring test
// before any parsing.
func IsWebRTC(body []byte) bool {
	if !bytes.Contains(body, []byte("SAVPF")) {
		return false
	}
	_, err := parseDesc(body)
	return err == nil || errors.Is(err, ErrNoPCMU)
}

// parseDesc parses a WebRTC SDP body. It never panics on hostile input.
func parseDesc(body []byte) (d desc, err error) {
	if len(body) > maxSDPSize {
		return d, fmt.Errorf("sdp body of %d bytes exceeds %d", len(body), maxSDPSize)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return d, fmt.Errorf("parse sdp: %w", err)
	}
	var md *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && savpf(m.MediaName.Protos) {
			md = m
			break
		}
	}
	if md == nil {
		return d, ErrNotWebRTC
	}
	// RFC 8842 §5: a fingerprint is mandatory, session or media level.
	_, mf := md.Attribute("fingerprint")
	_, sf := sd.Attribute("fingerprint")
	if !mf && !sf {
		return d, fmt.Errorf("%w: no a=fingerprint", ErrNotWebRTC)
	}
	d.Direction = media.DirectionSendRecv
	for _, a := range md.Attributes {
		switch a.Key {
		case "sendrecv":
			d.Direction = media.DirectionSendRecv
		case "sendonly":
			d.Direction = media.DirectionSendOnly
		case "recvonly":
			d.Direction = media.DirectionRecvOnly
		case "inactive":
			d.Direction = media.DirectionInactive
		}
	}
	if md.MediaName.Port.Value == 0 {
		d.Direction = media.DirectionInactive // a rejected stream (RFC 3264 §6)
	}
	pcmu := false
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptStr, enc, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		pt, err := strconv.ParseUint(ptStr, 10, 7)
		if err != nil {
			continue
		}
		name, rest, _ := strings.Cut(enc, "/")
		clock, _, _ := strings.Cut(rest, "/")
		switch {
		case strings.EqualFold(name, "PCMU") && clock == "8000" && !pcmu:
			pcmu, d.PCMUType = true, uint8(pt)
		case strings.EqualFold(name, "telephone-event") && clock == "8000" && !d.HasDTMF:
			d.HasDTMF, d.DTMFType = true, uint8(pt)
		}
	}
	if !pcmu {
		// PCMU is static type 0 and may be listed without an rtpmap.
		for _, f := range md.MediaName.Formats {
			if f == "0" {
				pcmu, d.PCMUType = true, 0
			}
		}
	}
	if !pcmu {
		return d, ErrNoPCMU
	}
	return d, nil
}

func savpf(protos []string) bool {
	return len(protos) == 4 && strings.EqualFold(protos[0], "UDP") && strings.EqualFold(protos[1], "TLS") &&
		strings.EqualFold(protos[2], "RTP") && strings.EqualFold(protos[3], "SAVPF")
}

// withDirection rewrites the direction attributes of an SDP body that has
// one audio stream (ours: the gateway offers nothing else) to dir.
func withDirection(body []byte, dir media.Direction) []byte {
	if dir == media.DirectionUnknown {
		return body
	}
	want := []byte("a=" + dir.String() + "\r\n")
	out := make([]byte, 0, len(body)+8)
	for line := range bytes.SplitAfterSeq(body, []byte("\n")) {
		switch string(bytes.TrimRight(line, "\r\n")) {
		case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
			out = append(out, want...)
		default:
			out = append(out, line...)
		}
	}
	return out
}
