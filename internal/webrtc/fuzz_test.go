package webrtc

import (
	"testing"

	"github.com/switchboard/switchboard/internal/media"
)

const chromeOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=candidate:1 1 udp 2122260223 192.0.2.10 54321 typ host generation 0\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:126 telephone-event/8000\r\n"

func TestParseDesc(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		want    desc
		wantErr bool
		webrtc  bool
	}{
		{"chrome", chromeOffer, desc{Direction: media.DirectionSendRecv, PCMUType: 0, DTMFType: 126, HasDTMF: true}, false, true},
		{"hold", replaceDirection(chromeOffer, "sendonly"), desc{Direction: media.DirectionSendOnly, DTMFType: 126, HasDTMF: true}, false, true},
		{"plain rtp", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", desc{}, true, false},
		{"no fingerprint", replaceLine(chromeOffer, "a=fingerprint:", ""), desc{}, true, false},
		{"no pcmu", replaceLine(replaceLine(chromeOffer, "a=rtpmap:0 ", ""), "m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF 111 8 126\r\n"), desc{}, true, true},
		{"garbage", "SAVPF\x00\xff", desc{}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDesc([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if IsWebRTC([]byte(tc.body)) != tc.webrtc {
				t.Fatalf("IsWebRTC = %v", !tc.webrtc)
			}
		})
	}
}

// replaceLine replaces every line starting with prefix by repl ("" drops it).
func replaceLine(sdp, prefix, repl string) string {
	out := ""
	for _, l := range splitLines(sdp) {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			out += repl
			continue
		}
		out += l
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i < len(s) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// FuzzParseDesc: hostile SDP from a browser socket never panics, and what
// parses keeps its invariants.
func FuzzParseDesc(f *testing.F) {
	f.Add([]byte(chromeOffer))
	f.Add([]byte(replaceDirection(chromeOffer, "inactive")))
	f.Add([]byte("v=0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=fingerprint:x\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parseDesc(body)
		if err == nil && (d.Direction == media.DirectionUnknown || d.PCMUType > 127 || d.DTMFType > 127) {
			t.Fatalf("parsed %+v", d)
		}
		_ = IsWebRTC(body)
		out := withDirection(body, media.DirectionRecvOnly)
		if len(out) < len(body)-len("a=sendrecv\r\n")*len(body) {
			t.Fatal("withDirection lost data")
		}
	})
}
