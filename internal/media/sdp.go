package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Direction is an SDP media direction attribute (RFC 3264 §6.1).
type Direction int

// Directions; Unknown is the zero value and means "not stated" (sendrecv).
const (
	DirectionUnknown Direction = iota
	DirectionSendRecv
	DirectionSendOnly
	DirectionRecvOnly
	DirectionInactive
)

// String returns the SDP attribute name ("sendrecv", …) or "unknown".
func (d Direction) String() string {
	switch d {
	case DirectionSendRecv:
		return "sendrecv"
	case DirectionSendOnly:
		return "sendonly"
	case DirectionRecvOnly:
		return "recvonly"
	case DirectionInactive:
		return "inactive"
	default:
		return "unknown"
	}
}

// Reverse returns the direction as seen from the other end, which is also
// the answer to an offer with direction d (RFC 3264 §6.1): sendonly and
// recvonly swap, inactive stays inactive, and sendrecv or Unknown (which
// means sendrecv) give sendrecv. A B2BUA uses it to answer a hold.
func (d Direction) Reverse() Direction {
	switch d {
	case DirectionSendOnly:
		return DirectionRecvOnly
	case DirectionRecvOnly:
		return DirectionSendOnly
	case DirectionInactive:
		return DirectionInactive
	default:
		return DirectionSendRecv
	}
}

// parseDirection maps an attribute key to a Direction; ok is false for
// attributes that are not directions.
func parseDirection(key string) (Direction, bool) {
	switch strings.ToLower(key) {
	case "sendrecv":
		return DirectionSendRecv, true
	case "sendonly":
		return DirectionSendOnly, true
	case "recvonly":
		return DirectionRecvOnly, true
	case "inactive":
		return DirectionInactive, true
	}
	return DirectionUnknown, false
}

// Codec is an RTP audio payload format we can carry.
type Codec struct {
	Name        string // "PCMU" or "PCMA"
	PayloadType uint8  // 0 for PCMU, 8 for PCMA (static)
	ClockRate   int    // 8000
}

// Supported codecs, in our preference order.
var (
	PCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	PCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
)

// ErrNoCommonCodec means an offer had no audio codec we support (SIP 488).
var ErrNoCommonCodec = errors.New("no common codec")

// SessionDesc is the part of an SDP body a B2BUA needs: the first audio stream.
//
// Direction is what the body states (media level over session level) and is
// DirectionUnknown when neither level states one; treat Unknown as sendrecv
// (RFC 3264 §5.1). An old-style hold (c=0.0.0.0, RFC 3264 §8.4) is reported
// as stated, with an unspecified Addr; OnHold covers both forms.
type SessionDesc struct {
	Addr      netip.AddrPort // c= address and m= port; port 0 means the stream is refused
	Codecs    []Codec        // supported audio codecs in the offerer's order (unknown ones dropped)
	DTMFType  uint8          // telephone-event payload type, valid when HasDTMF
	HasDTMF   bool
	Direction Direction
	PTime     int // a=ptime in ms, 0 if absent
}

// OnHold reports whether the peer asks not to receive media: a=sendonly or
// a=inactive, or the RFC 2543 style c=0.0.0.0 that RFC 3264 §8.4 still asks
// answerers to understand.
func (s SessionDesc) OnHold() bool {
	if s.Direction == DirectionSendOnly || s.Direction == DirectionInactive {
		return true
	}
	return s.Addr.Addr().IsValid() && s.Addr.Addr().IsUnspecified()
}

// maxSDPSize bounds the bodies we parse: a two-party audio offer is well
// under 2 KiB, so anything near this is hostile or broken.
const maxSDPSize = 64 << 10

// ParseSDP parses an SDP body (RFC 4566) and returns its first audio stream.
// It never panics on hostile input; errors say what is wrong.
//
// The first audio m= line with an RTP/AVP or RTP/AVPF transport is used
// (SRTP-only streams are skipped, we cannot terminate them). Unparsable
// a=ptime values are ignored rather than failing the whole offer.
func ParseSDP(body []byte) (SessionDesc, error) {
	if len(body) == 0 {
		return SessionDesc{}, errors.New("parse sdp: empty body")
	}
	if len(body) > maxSDPSize {
		return SessionDesc{}, fmt.Errorf("parse sdp: body of %d bytes exceeds %d", len(body), maxSDPSize)
	}
	sd, err := unmarshalSDP(body)
	if err != nil {
		return SessionDesc{}, fmt.Errorf("parse sdp: %w", err)
	}

	var md *sdp.MediaDescription
	sawAudio := false
	for _, m := range sd.MediaDescriptions {
		if !strings.EqualFold(m.MediaName.Media, "audio") {
			continue
		}
		sawAudio = true
		if plainRTP(m.MediaName.Protos) {
			md = m
			break
		}
	}
	if md == nil {
		if sawAudio {
			return SessionDesc{}, errors.New("parse sdp: no audio stream over RTP/AVP (SRTP is not supported)")
		}
		return SessionDesc{}, errors.New("parse sdp: no audio stream")
	}

	var out SessionDesc
	port := md.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return SessionDesc{}, fmt.Errorf("parse sdp: m= port %d out of range", port)
	}

	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	var addr netip.Addr
	switch {
	case ci != nil:
		addr, err = connectionAddr(ci)
		if err != nil {
			return SessionDesc{}, fmt.Errorf("parse sdp: %w", err)
		}
	case port != 0:
		// RFC 4566 §5.7: c= is mandatory at one level or the other.
		return SessionDesc{}, errors.New("parse sdp: no c= line for the audio stream")
	}
	out.Addr = netip.AddrPortFrom(addr, uint16(port))

	// Direction and ptime: media level overrides session level.
	out.Direction = directionOf(sd.Attributes)
	if d := directionOf(md.Attributes); d != DirectionUnknown {
		out.Direction = d
	}
	out.PTime = ptimeOf(sd.Attributes)
	if p := ptimeOf(md.Attributes); p != 0 {
		out.PTime = p
	}

	out.Codecs, out.DTMFType, out.HasDTMF = formatsOf(md)
	return out, nil
}

// unmarshalSDP runs pion's parser. The recover is a last line of defence:
// a parser bug must turn into a 400, not take the SIP server down.
func unmarshalSDP(body []byte) (sd *sdp.SessionDescription, err error) {
	defer func() {
		if r := recover(); r != nil {
			sd, err = nil, fmt.Errorf("malformed body (parser panic: %v)", r)
		}
	}()
	sd = &sdp.SessionDescription{}
	if err := sd.UnmarshalString(string(body)); err != nil {
		return nil, err
	}
	return sd, nil
}

// plainRTP accepts RTP/AVP and RTP/AVPF (RFC 4585; its feedback is optional).
func plainRTP(protos []string) bool {
	return len(protos) == 2 && strings.EqualFold(protos[0], "RTP") &&
		(strings.EqualFold(protos[1], "AVP") || strings.EqualFold(protos[1], "AVPF"))
}

func connectionAddr(ci *sdp.ConnectionInformation) (netip.Addr, error) {
	if !strings.EqualFold(ci.NetworkType, "IN") {
		return netip.Addr{}, fmt.Errorf("c= network type %q is not IN", ci.NetworkType)
	}
	if ci.Address == nil || ci.Address.Address == "" {
		return netip.Addr{}, errors.New("c= line has no address")
	}
	a, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("c= address %q is not an IP literal", ci.Address.Address)
	}
	switch {
	case strings.EqualFold(ci.AddressType, "IP4") && !a.Is4():
		return netip.Addr{}, fmt.Errorf("c= address %q is not IPv4 as its IP4 type says", ci.Address.Address)
	case strings.EqualFold(ci.AddressType, "IP6") && !a.Is6():
		return netip.Addr{}, fmt.Errorf("c= address %q is not IPv6 as its IP6 type says", ci.Address.Address)
	case !strings.EqualFold(ci.AddressType, "IP4") && !strings.EqualFold(ci.AddressType, "IP6"):
		return netip.Addr{}, fmt.Errorf("c= address type %q is not IP4 or IP6", ci.AddressType)
	}
	return a.WithZone(""), nil
}

func directionOf(attrs []sdp.Attribute) Direction {
	d := DirectionUnknown
	for _, a := range attrs {
		if v, ok := parseDirection(a.Key); ok {
			d = v // the last one wins if a broken peer sends several
		}
	}
	return d
}

func ptimeOf(attrs []sdp.Attribute) int {
	for _, a := range attrs {
		if !strings.EqualFold(a.Key, "ptime") {
			continue
		}
		// Some stacks send "20.0"; take the integer part.
		v := strings.TrimSpace(a.Value)
		if i := strings.IndexByte(v, '.'); i >= 0 {
			v = v[:i]
		}
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 1000 {
			return n
		}
	}
	return 0
}

// rtpmap is one parsed a=rtpmap line (RFC 4566 §6).
type rtpmap struct {
	name     string
	clock    int
	channels int
}

// formatsOf walks the m= formats in the offerer's order and keeps the ones
// we can carry, plus the first telephone-event/8000 (RFC 4733 §7.1.1).
func formatsOf(md *sdp.MediaDescription) (codecs []Codec, dtmf uint8, hasDTMF bool) {
	maps := make(map[int]rtpmap)
	for _, a := range md.Attributes {
		if !strings.EqualFold(a.Key, "rtpmap") {
			continue
		}
		pt, m, ok := parseRTPMap(a.Value)
		if ok {
			if _, dup := maps[pt]; !dup {
				maps[pt] = m
			}
		}
	}
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		m, mapped := maps[pt]
		if !mapped {
			// RFC 3551 §6: static types need no rtpmap.
			switch pt {
			case 0:
				codecs = append(codecs, PCMU)
			case 8:
				codecs = append(codecs, PCMA)
			}
			continue
		}
		if m.clock != 8000 || (m.channels != 0 && m.channels != 1) {
			continue
		}
		switch strings.ToUpper(m.name) {
		case "PCMU":
			codecs = append(codecs, Codec{Name: "PCMU", PayloadType: uint8(pt), ClockRate: 8000})
		case "PCMA":
			codecs = append(codecs, Codec{Name: "PCMA", PayloadType: uint8(pt), ClockRate: 8000})
		case "TELEPHONE-EVENT":
			if !hasDTMF {
				dtmf, hasDTMF = uint8(pt), true
			}
		}
	}
	return codecs, dtmf, hasDTMF
}

// parseRTPMap parses "<pt> <name>/<clock>[/<channels>]".
func parseRTPMap(v string) (int, rtpmap, bool) {
	ptStr, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return 0, rtpmap{}, false
	}
	pt, err := strconv.Atoi(ptStr)
	if err != nil || pt < 0 || pt > 127 {
		return 0, rtpmap{}, false
	}
	parts := strings.Split(strings.TrimSpace(rest), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, rtpmap{}, false
	}
	m := rtpmap{name: parts[0]}
	if m.clock, err = strconv.Atoi(parts[1]); err != nil {
		return 0, rtpmap{}, false
	}
	if len(parts) == 3 {
		if m.channels, err = strconv.Atoi(parts[2]); err != nil {
			return 0, rtpmap{}, false
		}
	}
	return pt, m, true
}

// Negotiate returns the codecs of offer that we support, in the offer's order.
// It returns ErrNoCommonCodec when there are none. A codec offered under
// several payload types is kept once, with its first type.
func Negotiate(offer SessionDesc) ([]Codec, error) {
	var out []Codec
	for _, c := range offer.Codecs {
		if !strings.EqualFold(c.Name, PCMU.Name) && !strings.EqualFold(c.Name, PCMA.Name) {
			continue
		}
		dup := false
		for _, o := range out {
			if strings.EqualFold(o.Name, c.Name) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoCommonCodec
	}
	return out, nil
}

// SDPParams describe an SDP body we send.
type SDPParams struct {
	SessionID uint64         // o= sess-id, stable for a leg
	Version   uint64         // o= sess-version, incremented on each new offer/answer that changes
	Addr      netip.AddrPort // our c= address and m= port
	Codecs    []Codec        // in preference order
	DTMFType  uint8          // telephone-event PT offered/answered when HasDTMF
	HasDTMF   bool
	Direction Direction
}

// BuildSDP renders an SDP body (RFC 4566 / RFC 3264), a=ptime:20.
//
// Lines end in CRLF (RFC 4566 §5). The direction is always written, as
// sendrecv when Unknown, so a re-INVITE that resumes a hold is explicit.
// An invalid Addr renders as 0.0.0.0; port 0 refuses the stream
// (RFC 3264 §6).
func BuildSDP(p SDPParams) []byte {
	addr := p.Addr.Addr().WithZone("")
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	ipType := "IP4"
	if addr.Is6() {
		ipType = "IP6"
	}
	dir := p.Direction
	if dir == DirectionUnknown {
		dir = DirectionSendRecv
	}

	b := make([]byte, 0, 256)
	b = append(b, "v=0\r\n"...)
	b = fmt.Appendf(b, "o=- %d %d IN %s %s\r\n", p.SessionID, p.Version, ipType, addr)
	b = append(b, "s=Switchboard\r\n"...)
	b = fmt.Appendf(b, "c=IN %s %s\r\n", ipType, addr)
	b = append(b, "t=0 0\r\n"...)
	b = fmt.Appendf(b, "m=audio %d RTP/AVP", p.Addr.Port())
	for _, c := range p.Codecs {
		b = fmt.Appendf(b, " %d", c.PayloadType)
	}
	if p.HasDTMF {
		b = fmt.Appendf(b, " %d", p.DTMFType)
	}
	b = append(b, "\r\n"...)
	for _, c := range p.Codecs {
		clock := c.ClockRate
		if clock == 0 {
			clock = 8000
		}
		b = fmt.Appendf(b, "a=rtpmap:%d %s/%d\r\n", c.PayloadType, c.Name, clock)
	}
	if p.HasDTMF {
		// RFC 4733 §7.1.1: events 0-15 are DTMF, 16 is flash.
		b = fmt.Appendf(b, "a=rtpmap:%d telephone-event/8000\r\n", p.DTMFType)
		b = fmt.Appendf(b, "a=fmtp:%d 0-16\r\n", p.DTMFType)
	}
	b = append(b, "a=ptime:20\r\n"...)
	b = fmt.Appendf(b, "a=%s\r\n", dir)
	return b
}
