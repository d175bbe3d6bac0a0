package call

import "testing"

func TestParseReferTo(t *testing.T) {
	tests := []struct {
		in       string
		user     string
		replaces *replacesID
		wantErr  bool
	}{
		{in: "<sip:1003@127.0.0.1:5060>", user: "1003"},
		{in: `"Bob" <sip:1003@pbx.example;transport=udp>`, user: "1003"},
		{in: "sip:1003@pbx.example;method=INVITE", user: "1003"},
		{in: "<sip:1003@h?Replaces=abc%40host%3Bto-tag%3D11%3Bfrom-tag%3D22>", user: "1003",
			replaces: &replacesID{callID: "abc@host", toTag: "11", fromTag: "22"}},
		{in: "<sip:1003@h?Replaces=abc%3Bfrom-tag%3D22%3Bto-tag%3D11&Require=replaces>", user: "1003",
			replaces: &replacesID{callID: "abc", toTag: "11", fromTag: "22"}},
		{in: "<sip:1003@h?Replaces=abc%3Bto-tag%3D11>", wantErr: true}, // no from-tag
		{in: "<sip:1003@h", wantErr: true},
		{in: "<sip:@h>", wantErr: true},
		{in: "", wantErr: true},
		{in: "<sip:1003@h?Replaces=%zz>", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseReferTo(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseReferTo(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got.user != tt.user {
			t.Errorf("parseReferTo(%q) user %q, want %q", tt.in, got.user, tt.user)
		}
		switch {
		case tt.replaces == nil && got.replaces != nil:
			t.Errorf("parseReferTo(%q) replaces %+v, want none", tt.in, *got.replaces)
		case tt.replaces != nil && (got.replaces == nil || *got.replaces != *tt.replaces):
			t.Errorf("parseReferTo(%q) replaces %+v, want %+v", tt.in, got.replaces, *tt.replaces)
		}
	}
}

func FuzzParseReferTo(f *testing.F) {
	for _, s := range []string{"<sip:1003@127.0.0.1:5060>", "sip:1@h;x=y",
		"<sip:1003@h?Replaces=abc%3Bto-tag%3D11%3Bfrom-tag%3D22>", `"x" <sips:a@b?A=b&Replaces=c%3Bto-tag%3D1%3Bfrom-tag%3D2>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseReferTo(s)
		if err != nil {
			return
		}
		if got.user == "" {
			t.Fatalf("accepted %q without a user", s)
		}
		if r := got.replaces; r != nil && (r.callID == "" || r.toTag == "" || r.fromTag == "") {
			t.Fatalf("accepted %q with an incomplete Replaces %+v", s, *r)
		}
	})
}
