package siptest

import (
	"strings"
	"testing"
)

func TestParseSDP(t *testing.T) {
	body := strings.Join([]string{
		"v=0",
		"o=switchboard 42 7 IN IP4 10.0.0.1",
		"s=-",
		"c=IN IP4 10.0.0.1",
		"t=0 0",
		"a=sendonly",
		"m=audio 40000 RTP/AVP 8 0 96",
		"c=IN IP4 10.0.0.2",
		"a=rtpmap:96 telephone-event/8000",
		"a=fmtp:96 0-15",
		"a=ptime:20",
		"m=video 0 RTP/AVP 31",
		"a=recvonly",
		"",
	}, "\r\n")
	s, err := ParseSDP([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "10.0.0.2" || s.Port != 40000 || s.SessionID != 42 || s.Version != 7 {
		t.Errorf("addr/port/origin = %s:%d %d/%d", s.Addr, s.Port, s.SessionID, s.Version)
	}
	if s.Direction != DirSendOnly {
		t.Errorf("direction = %q, want session-level sendonly (video's recvonly must not leak)", s.Direction)
	}
	if codec, pt := s.Codec(); codec != "PCMA" || pt != 8 {
		t.Errorf("codec = %s/%d, want PCMA/8 (first in m= order, static PT)", codec, pt)
	}
	if pt, ok := s.PayloadType("telephone-event"); !ok || pt != 96 || s.FMTP[96] != "0-15" {
		t.Errorf("telephone-event = %d %v %q", pt, ok, s.FMTP[96])
	}
	if !s.Sends() || s.Receives() {
		t.Errorf("sendonly: Sends=%v Receives=%v", s.Sends(), s.Receives())
	}

	for _, bad := range []string{"v=0\r\nc=IN IP4 1.2.3.4\r\n", "v=0\r\nm=audio 1 RTP/AVP 0\r\n", "v=0\r\nm=audio x RTP/AVP 0\r\nc=IN IP4 1.1.1.1\r\n"} {
		if _, err := ParseSDP([]byte(bad)); err == nil {
			t.Errorf("ParseSDP(%q) succeeded, want error", bad)
		}
	}
}

func TestSDPRoundTrip(t *testing.T) {
	in := &SDP{
		SessionID: 1, Version: 2, Addr: "127.0.0.1", Port: 5004,
		Formats:   []uint8{0, 101},
		RTPMap:    map[uint8]string{0: "PCMU/8000", 101: "telephone-event/8000"},
		FMTP:      map[uint8]string{101: "0-16"},
		Direction: DirRecvOnly, Ptime: 20,
	}
	out, err := ParseSDP(in.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != in.String() {
		t.Fatalf("round trip changed the description:\n%s\nvs\n%s", in, out)
	}
}

func TestHoldDirections(t *testing.T) {
	// RFC 3264 §6.1 answers, with and without our own hold.
	tests := []struct {
		offer     string
		localHold bool
		want      string
	}{
		{DirSendRecv, false, DirSendRecv},
		{DirSendOnly, false, DirRecvOnly},
		{DirRecvOnly, false, DirSendOnly},
		{DirInactive, false, DirInactive},
		{DirSendRecv, true, DirSendOnly},
		{DirSendOnly, true, DirInactive},
	}
	for _, tc := range tests {
		if got := answerDirection(tc.offer, tc.localHold); got != tc.want {
			t.Errorf("answerDirection(%s, hold=%v) = %s, want %s", tc.offer, tc.localHold, got, tc.want)
		}
	}
	if offerDirection(true) != DirSendOnly || offerDirection(false) != DirSendRecv {
		t.Error("offerDirection")
	}
}
