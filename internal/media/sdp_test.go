package media

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// crlf turns a readable multi-line literal into an SDP body.
func crlf(s string) []byte {
	s = strings.TrimLeft(s, "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// Real-world offers (trimmed of nothing that matters to parsing).
var (
	sdpBaresip = crlf(`
v=0
o=- 1193478430 2418276483 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 31000 RTP/AVP 0 8 101
b=AS:64
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=rtcp-rsize
a=ssrc:1855186342 cname:d0a8c6c4-f0ba-45c8-bb6c-0c0f7e9b5f0c
a=ptime:20
`)
	sdpSipp = crlf(`
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 16000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`)
	sdpLinphone = crlf(`
v=0
o=alice 2169 3384 IN IP4 192.168.1.10
s=Talk
c=IN IP4 192.168.1.10
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
a=record:off
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96
a=rtpmap:96 VP8/90000
`)
	sdpIPv6 = crlf(`
v=0
o=- 3862 3862 IN IP6 2001:db8::10
s=call
c=IN IP6 2001:db8::10
t=0 0
m=audio 40000 RTP/AVP 8 0 101
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:30
a=sendonly
`)
	sdpOldHold = crlf(`
v=0
o=- 1 2 IN IP4 10.0.0.7
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 5004 RTP/AVP 0 101
a=rtpmap:101 telephone-event/8000
`)
)

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want SessionDesc
	}{
		{"baresip", sdpBaresip, SessionDesc{
			Addr:   netip.MustParseAddrPort("127.0.0.1:31000"),
			Codecs: []Codec{PCMU, PCMA}, DTMFType: 101, HasDTMF: true,
			Direction: DirectionSendRecv, PTime: 20,
		}},
		{"sipp", sdpSipp, SessionDesc{
			Addr:   netip.MustParseAddrPort("127.0.0.1:16000"),
			Codecs: []Codec{PCMU},
		}},
		{"linphone: opus and speex dropped, telephone-event/8000 picked", sdpLinphone, SessionDesc{
			Addr:   netip.MustParseAddrPort("192.168.1.10:7078"),
			Codecs: []Codec{PCMU, PCMA}, DTMFType: 100, HasDTMF: true,
		}},
		{"ipv6 sendonly", sdpIPv6, SessionDesc{
			Addr:   netip.MustParseAddrPort("[2001:db8::10]:40000"),
			Codecs: []Codec{PCMA, PCMU}, DTMFType: 101, HasDTMF: true,
			Direction: DirectionSendOnly, PTime: 30,
		}},
		{"old-style hold 0.0.0.0", sdpOldHold, SessionDesc{
			Addr:   netip.MustParseAddrPort("0.0.0.0:5004"),
			Codecs: []Codec{PCMU}, DTMFType: 101, HasDTMF: true,
		}},
		{"dynamic PT, lower-case name, LF line ends", []byte(
			"v=0\no=- 1 1 IN IP4 10.1.1.1\ns=-\nt=0 0\nm=audio 6000 RTP/AVP 96 97\nc=IN IP4 10.1.1.2\n" +
				"a=rtpmap:96 pcmu/8000\na=rtpmap:97 PCMA/16000\n"), SessionDesc{
			Addr:   netip.MustParseAddrPort("10.1.1.2:6000"),
			Codecs: []Codec{{Name: "PCMU", PayloadType: 96, ClockRate: 8000}},
		}},
		{"media c= and direction override session", crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
a=recvonly
m=audio 7000 RTP/AVP 8
c=IN IP4 10.0.0.2
a=inactive
`), SessionDesc{
			Addr:   netip.MustParseAddrPort("10.0.0.2:7000"),
			Codecs: []Codec{PCMA}, Direction: DirectionInactive,
		}},
		{"session-level direction", crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
a=recvonly
m=audio 7000 RTP/AVP 0
`), SessionDesc{
			Addr:   netip.MustParseAddrPort("10.0.0.1:7000"),
			Codecs: []Codec{PCMU}, Direction: DirectionRecvOnly,
		}},
		{"refused stream, port 0", crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 0 RTP/AVP 0
`), SessionDesc{
			Addr:   netip.MustParseAddrPort("10.0.0.1:0"),
			Codecs: []Codec{PCMU},
		}},
		{"video first, SRTP audio skipped for RTP/AVP audio", crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=video 9000 RTP/AVP 96
a=rtpmap:96 H264/90000
m=audio 9002 RTP/SAVP 0
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
m=audio 9004 RTP/AVP 8 0
`), SessionDesc{
			Addr:   netip.MustParseAddrPort("10.0.0.1:9004"),
			Codecs: []Codec{PCMA, PCMU},
		}},
		{"no supported codec is not a parse error", crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 7000 RTP/AVP 18 9
a=rtpmap:18 G729/8000
a=rtpmap:9 G722/8000
`), SessionDesc{
			Addr: netip.MustParseAddrPort("10.0.0.1:7000"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSDP(tt.body)
			if err != nil {
				t.Fatalf("ParseSDP: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSDPErrors(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
	tests := []struct {
		name, body, wantErr string
	}{
		{"empty", "", "empty"},
		{"garbage", "hello world\x00\xff", "parse sdp"},
		{"only video", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=video 9000 RTP/AVP 96\r\n", "no audio stream"},
		{"no media at all", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\n", "no audio stream"},
		{"missing c=", head + "t=0 0\r\nm=audio 7000 RTP/AVP 0\r\n", "no c= line"},
		{"hostname in c=", head + "c=IN IP4 pbx.example.com\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n", "not an IP literal"},
		{"IP4 type with IPv6 address", head + "c=IN IP4 2001:db8::1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n", "not IPv4"},
		{"SRTP only", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/SAVP 0\r\n", "SRTP"},
		{"oversized", strings.Repeat("a", maxSDPSize+1), "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSDP([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	dyn := Codec{Name: "PCMU", PayloadType: 96, ClockRate: 8000}
	tests := []struct {
		name    string
		offer   []Codec
		want    []Codec
		wantErr error
	}{
		{"keeps offer order", []Codec{PCMA, PCMU}, []Codec{PCMA, PCMU}, nil},
		{"first PT of a codec wins", []Codec{dyn, PCMU, PCMA}, []Codec{dyn, PCMA}, nil},
		{"drops unknown", []Codec{{Name: "G729", PayloadType: 18, ClockRate: 8000}, PCMU}, []Codec{PCMU}, nil},
		{"none", nil, nil, ErrNoCommonCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Negotiate(SessionDesc{Codecs: tt.offer})
			if !errors.Is(err, tt.wantErr) || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestBuildSDP(t *testing.T) {
	got := string(BuildSDP(SDPParams{
		SessionID: 42, Version: 7,
		Addr:   netip.MustParseAddrPort("192.0.2.5:41000"),
		Codecs: []Codec{PCMU, PCMA}, DTMFType: 101, HasDTMF: true,
	}))
	want := "v=0\r\n" +
		"o=- 42 7 IN IP4 192.0.2.5\r\n" +
		"s=Switchboard\r\n" +
		"c=IN IP4 192.0.2.5\r\n" +
		"t=0 0\r\n" +
		"m=audio 41000 RTP/AVP 0 8 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestBuildParseRoundTrip checks that what we send, we (and so any
// RFC 4566 parser) read back the same.
func TestBuildParseRoundTrip(t *testing.T) {
	tests := []SDPParams{
		{SessionID: 1, Version: 1, Addr: netip.MustParseAddrPort("10.0.0.1:41002"), Codecs: []Codec{PCMU}, Direction: DirectionSendRecv},
		{SessionID: 2, Version: 9, Addr: netip.MustParseAddrPort("[2001:db8::2]:41004"), Codecs: []Codec{PCMA, PCMU},
			DTMFType: 96, HasDTMF: true, Direction: DirectionSendOnly},
		{SessionID: 3, Version: 3, Addr: netip.MustParseAddrPort("10.0.0.1:41006"), Codecs: []Codec{PCMU}, Direction: DirectionInactive},
		{SessionID: 4, Version: 4, Addr: netip.MustParseAddrPort("10.0.0.1:41008"), Codecs: []Codec{PCMU}, Direction: DirectionRecvOnly},
	}
	for _, p := range tests {
		t.Run(p.Direction.String(), func(t *testing.T) {
			sd, err := ParseSDP(BuildSDP(p))
			if err != nil {
				t.Fatalf("ParseSDP(BuildSDP): %v", err)
			}
			want := SessionDesc{Addr: p.Addr, Codecs: p.Codecs, DTMFType: p.DTMFType, HasDTMF: p.HasDTMF,
				Direction: p.Direction, PTime: 20}
			if !reflect.DeepEqual(sd, want) {
				t.Fatalf("got %+v\nwant %+v", sd, want)
			}
		})
	}
	// Unknown is written as sendrecv.
	sd, err := ParseSDP(BuildSDP(SDPParams{Addr: netip.MustParseAddrPort("10.0.0.1:41010"), Codecs: []Codec{PCMU}}))
	if err != nil || sd.Direction != DirectionSendRecv {
		t.Fatalf("Unknown direction rendered as %v (%v), want sendrecv", sd.Direction, err)
	}
}

func TestDirection(t *testing.T) {
	tests := []struct {
		d       Direction
		str     string
		reverse Direction
	}{
		{DirectionUnknown, "unknown", DirectionSendRecv},
		{DirectionSendRecv, "sendrecv", DirectionSendRecv},
		{DirectionSendOnly, "sendonly", DirectionRecvOnly},
		{DirectionRecvOnly, "recvonly", DirectionSendOnly},
		{DirectionInactive, "inactive", DirectionInactive},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.str {
			t.Errorf("%d.String() = %q, want %q", int(tt.d), got, tt.str)
		}
		if got := tt.d.Reverse(); got != tt.reverse {
			t.Errorf("%v.Reverse() = %v, want %v", tt.d, got, tt.reverse)
		}
	}
}

func TestOnHold(t *testing.T) {
	tests := []struct {
		body []byte
		want bool
	}{
		{sdpBaresip, false},
		{sdpIPv6, true},    // sendonly
		{sdpOldHold, true}, // c=0.0.0.0
		{sdpSipp, false},
	}
	for i, tt := range tests {
		sd, err := ParseSDP(tt.body)
		if err != nil {
			t.Fatal(err)
		}
		if sd.OnHold() != tt.want {
			t.Errorf("case %d: OnHold = %v, want %v", i, sd.OnHold(), tt.want)
		}
	}
}

// FuzzParseSDP: ParseSDP must never panic, and what it accepts must be
// self-consistent. Run with: go test -fuzz FuzzParseSDP ./internal/media/
func FuzzParseSDP(f *testing.F) {
	for _, b := range [][]byte{sdpBaresip, sdpSipp, sdpLinphone, sdpIPv6, sdpOldHold,
		BuildSDP(SDPParams{Addr: netip.MustParseAddrPort("10.0.0.1:41000"), Codecs: []Codec{PCMU, PCMA}, HasDTMF: true, DTMFType: 101}),
		[]byte("v=0\r\n"), []byte("")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sd, err := ParseSDP(body)
		if err != nil {
			return
		}
		for _, c := range sd.Codecs {
			if c.Name != "PCMU" && c.Name != "PCMA" || c.ClockRate != 8000 || c.PayloadType > 127 {
				t.Fatalf("accepted unsupported codec %+v", c)
			}
		}
		if sd.Addr.Port() != 0 && !sd.Addr.Addr().IsValid() {
			t.Fatalf("port %d with no address", sd.Addr.Port())
		}
		if sd.HasDTMF && sd.DTMFType > 127 {
			t.Fatalf("DTMF PT %d", sd.DTMFType)
		}
	})
}
