package siptest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SDP directions (RFC 3264 §5.1, §8.4).
const (
	DirSendRecv = "sendrecv"
	DirSendOnly = "sendonly"
	DirRecvOnly = "recvonly"
	DirInactive = "inactive"
)

// Static payload types of the codecs the phone speaks (RFC 3551 §6).
const (
	ptPCMU = 0
	ptPCMA = 8
	// ptTelephoneEvent is the dynamic payload type the phone offers for
	// RFC 4733 events; answers reuse whatever number the offerer picked.
	ptTelephoneEvent = 101
)

// SDP is the subset of an SDP session description (RFC 4566) a softphone
// needs: the connection address and the first audio stream. It is both the
// parser's result and the builder's input, so tests can inspect what was
// negotiated.
type SDP struct {
	SessionID uint64
	Version   uint64
	// Addr is the media connection address; a media-level c= line overrides
	// the session-level one (RFC 4566 §5.7).
	Addr string
	// Port is the audio m= port; 0 means the stream was rejected.
	Port int
	// Formats lists the audio payload types in m= order (preference order).
	Formats []uint8
	// RTPMap maps payload type to "encoding/clock", e.g. "PCMU/8000".
	RTPMap map[uint8]string
	// FMTP maps payload type to its a=fmtp parameters.
	FMTP map[uint8]string
	// Direction is the effective media direction, media level winning over
	// session level; sendrecv when absent (RFC 3264 §5.1).
	Direction string
	Ptime     int
}

// ParseSDP parses an SDP body. Only the first m=audio section is kept; other
// media sections are skipped.
func ParseSDP(body []byte) (*SDP, error) {
	s := &SDP{RTPMap: map[uint8]string{}, FMTP: map[uint8]string{}}
	var sessionAddr, sessionDir, mediaAddr, mediaDir string
	section := "session" // "session", "audio" or "other"
	sawAudio := false
	for _, raw := range strings.Split(string(body), "\n") {
		line := strings.TrimRight(raw, "\r")
		if len(line) < 2 || line[1] != '=' {
			continue
		}
		key, val := line[0], line[2:]
		if key == 'm' {
			if sawAudio || !strings.HasPrefix(val, "audio ") {
				section = "other"
				continue
			}
			if err := s.parseMedia(val); err != nil {
				return nil, err
			}
			section, sawAudio = "audio", true
			continue
		}
		if section == "other" {
			continue
		}
		switch key {
		case 'o':
			f := strings.Fields(val)
			if len(f) >= 3 {
				s.SessionID, _ = strconv.ParseUint(f[1], 10, 64)
				s.Version, _ = strconv.ParseUint(f[2], 10, 64)
			}
		case 'c':
			f := strings.Fields(val)
			if len(f) < 3 {
				return nil, fmt.Errorf("sdp: malformed c= line %q", line)
			}
			// A multicast c= may carry "/ttl"; strip it.
			addr, _, _ := strings.Cut(f[2], "/")
			if section == "audio" {
				mediaAddr = addr
			} else {
				sessionAddr = addr
			}
		case 'a':
			name, arg, _ := strings.Cut(val, ":")
			switch name {
			case DirSendRecv, DirSendOnly, DirRecvOnly, DirInactive:
				if section == "audio" {
					mediaDir = name
				} else {
					sessionDir = name
				}
			case "rtpmap", "fmtp":
				ptStr, rest, _ := strings.Cut(arg, " ")
				pt, err := strconv.ParseUint(ptStr, 10, 7)
				if err != nil || section != "audio" {
					continue
				}
				if name == "rtpmap" {
					s.RTPMap[uint8(pt)] = strings.TrimSpace(rest)
				} else {
					s.FMTP[uint8(pt)] = strings.TrimSpace(rest)
				}
			case "ptime":
				s.Ptime, _ = strconv.Atoi(strings.TrimSpace(arg))
			}
		}
	}
	if !sawAudio {
		return nil, errors.New("sdp: no m=audio section")
	}
	s.Addr = sessionAddr
	if mediaAddr != "" {
		s.Addr = mediaAddr
	}
	if s.Addr == "" {
		return nil, errors.New("sdp: no connection address")
	}
	s.Direction = DirSendRecv
	if sessionDir != "" {
		s.Direction = sessionDir
	}
	if mediaDir != "" {
		s.Direction = mediaDir
	}
	return s, nil
}

func (s *SDP) parseMedia(val string) error {
	f := strings.Fields(val) // audio <port>[/n] <proto> <fmt>...
	if len(f) < 3 {
		return fmt.Errorf("sdp: malformed m= line %q", val)
	}
	portStr, _, _ := strings.Cut(f[1], "/")
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("sdp: bad m= port %q", f[1])
	}
	s.Port = port
	for _, x := range f[3:] {
		pt, err := strconv.ParseUint(x, 10, 7)
		if err != nil {
			return fmt.Errorf("sdp: bad payload type %q", x)
		}
		s.Formats = append(s.Formats, uint8(pt))
	}
	return nil
}

// Encoding returns the encoding name of payload type pt in upper case
// ("PCMU", "TELEPHONE-EVENT"), falling back to the RFC 3551 static
// assignments when there is no rtpmap.
func (s *SDP) Encoding(pt uint8) string {
	if m, ok := s.RTPMap[pt]; ok {
		name, _, _ := strings.Cut(m, "/")
		return strings.ToUpper(name)
	}
	switch pt {
	case ptPCMU:
		return "PCMU"
	case ptPCMA:
		return "PCMA"
	}
	return ""
}

// PayloadType returns the first payload type in the m= line whose encoding
// is enc (case-insensitive).
func (s *SDP) PayloadType(enc string) (uint8, bool) {
	enc = strings.ToUpper(enc)
	for _, pt := range s.Formats {
		if s.Encoding(pt) == enc {
			return pt, true
		}
	}
	return 0, false
}

// Codec returns the first G.711 codec of the stream ("PCMU" or "PCMA") and
// its payload type, or "" if there is none.
func (s *SDP) Codec() (string, uint8) {
	for _, pt := range s.Formats {
		if e := s.Encoding(pt); e == "PCMU" || e == "PCMA" {
			return e, pt
		}
	}
	return "", 0
}

// Sends reports whether the described party will send media.
func (s *SDP) Sends() bool {
	return s.Port != 0 && (s.Direction == DirSendRecv || s.Direction == DirSendOnly)
}

// Receives reports whether the described party wants to receive media.
// A 0.0.0.0 connection address is the RFC 2543 way of saying "hold" and is
// still understood by RFC 3264 §8.4 implementations.
func (s *SDP) Receives() bool {
	return s.Port != 0 && s.Addr != "0.0.0.0" &&
		(s.Direction == DirSendRecv || s.Direction == DirRecvOnly)
}

// Bytes renders the description with CRLF line endings.
func (s *SDP) Bytes() []byte {
	var b bytes.Buffer
	w := func(format string, a ...any) {
		fmt.Fprintf(&b, format, a...)
		b.WriteString("\r\n")
	}
	w("v=0")
	w("o=- %d %d IN IP4 %s", s.SessionID, s.Version, s.Addr)
	w("s=siptest")
	w("c=IN IP4 %s", s.Addr)
	w("t=0 0")
	fmts := make([]string, len(s.Formats))
	for i, pt := range s.Formats {
		fmts[i] = strconv.Itoa(int(pt))
	}
	w("m=audio %d RTP/AVP %s", s.Port, strings.Join(fmts, " "))
	for _, pt := range s.Formats {
		if m, ok := s.RTPMap[pt]; ok {
			w("a=rtpmap:%d %s", pt, m)
		}
		if f, ok := s.FMTP[pt]; ok {
			w("a=fmtp:%d %s", pt, f)
		}
	}
	if s.Ptime > 0 {
		w("a=ptime:%d", s.Ptime)
	}
	dir := s.Direction
	if dir == "" {
		dir = DirSendRecv
	}
	w("a=%s", dir)
	return b.Bytes()
}

// String renders the description (see Bytes).
func (s *SDP) String() string { return string(s.Bytes()) }

// answerDirection picks our direction for an answer to an offer with
// direction offered, given whether we hold the call (RFC 3264 §6.1: a
// sendonly offer is answered recvonly or inactive, recvonly with sendonly or
// inactive, inactive with inactive).
func answerDirection(offered string, localHold bool) string {
	switch offered {
	case DirSendOnly:
		if localHold {
			return DirInactive
		}
		return DirRecvOnly
	case DirRecvOnly:
		return DirSendOnly
	case DirInactive:
		return DirInactive
	}
	if localHold {
		return DirSendOnly
	}
	return DirSendRecv
}

// offerDirection is the direction we offer: RFC 3264 §8.4 puts a stream on
// hold by offering sendonly (we keep sending, e.g. music on hold) and takes
// it off hold with sendrecv.
func offerDirection(localHold bool) string {
	if localHold {
		return DirSendOnly
	}
	return DirSendRecv
}
