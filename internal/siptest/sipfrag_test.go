package siptest

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseSipfrag(t *testing.T) {
	tests := []struct {
		body       string
		code       int
		reason     string
		wantErrMsg string // "" for success
	}{
		{body: "SIP/2.0 200 OK\r\n", code: 200, reason: "OK"},
		{body: "SIP/2.0 100 Trying", code: 100, reason: "Trying"},
		{body: "SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n", code: 486, reason: "Busy Here"},
		{body: "SIP/2.0 180 Ringing\nContact: <sip:x@y>\n", code: 180, reason: "Ringing"},
		{body: "sip/2.0 603 Decline\r\n", code: 603, reason: "Decline"},
		{body: "SIP/2.0 200\r\n", code: 200, reason: ""},
		{body: "SIP/2.0 200 \r\n", code: 200, reason: ""},
		{body: "SIP/2.0 503 Service  Unavailable \r\n", code: 503, reason: "Service  Unavailable "},
		{body: "", wantErrMsg: "no SIP/2.0 status line"},
		{body: "INVITE sip:x@y SIP/2.0\r\n", wantErrMsg: "no SIP/2.0 status line"},
		{body: "SIP/1.0 200 OK\r\n", wantErrMsg: "no SIP/2.0 status line"},
		{body: " SIP/2.0 200 OK\r\n", wantErrMsg: "no SIP/2.0 status line"},
		{body: "SIP/2.0 20 OK\r\n", wantErrMsg: "bad status code"},
		{body: "SIP/2.0 2000 OK\r\n", wantErrMsg: "bad status code"},
		{body: "SIP/2.0 2x0 OK\r\n", wantErrMsg: "bad status code"},
		{body: "SIP/2.0 099 Low\r\n", wantErrMsg: "out of range"},
		{body: "SIP/2.0 700 High\r\n", wantErrMsg: "out of range"},
		{body: "SIP/2.0\r\n", wantErrMsg: "no SIP/2.0 status line"},
		{body: "SIP/2.0 ", wantErrMsg: "no status code"},
		{body: "SIP/2.0 200 O\rK\r\n", wantErrMsg: "CR in reason"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.body), func(t *testing.T) {
			code, reason, err := parseSipfrag([]byte(tc.body))
			if tc.wantErrMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrMsg) {
					t.Fatalf("parseSipfrag = %d %q %v, want error %q", code, reason, err, tc.wantErrMsg)
				}
				return
			}
			if err != nil || code != tc.code || reason != tc.reason {
				t.Fatalf("parseSipfrag = %d %q %v, want %d %q", code, reason, err, tc.code, tc.reason)
			}
		})
	}
}

// FuzzParseSipfrag: any input either fails or yields a valid code and a
// one-line reason that format back to an equivalent status line.
func FuzzParseSipfrag(f *testing.F) {
	for _, s := range []string{"SIP/2.0 200 OK\r\n", "SIP/2.0 100 Trying", "SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n",
		"SIP/2.0 200", "sip/2.0 603 Decline\n", "SIP/2.0 2x0 OK", "", "SIP/2.0 ", "SIP/2.0 999 X\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, reason, err := parseSipfrag(body)
		if err != nil {
			if code != 0 || reason != "" {
				t.Fatalf("error %v with result %d %q", err, code, reason)
			}
			return
		}
		if code < 100 || code > 699 {
			t.Fatalf("code %d out of range from %q", code, body)
		}
		if strings.ContainsAny(reason, "\r\n") {
			t.Fatalf("reason %q spans lines", reason)
		}
		line := fmt.Sprintf("SIP/2.0 %d %s\r\nX: y\r\n", code, reason)
		c2, r2, err := parseSipfrag([]byte(line))
		if err != nil || c2 != code || r2 != reason {
			t.Fatalf("round trip of %q: %d %q %v, want %d %q", line, c2, r2, err, code, reason)
		}
	})
}
