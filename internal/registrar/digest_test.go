package registrar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Credentials
		wantErr bool
	}{
		{
			name: "baresip style",
			in:   `Digest username="1001",realm="switchboard",nonce="abc",uri="sip:127.0.0.1:15060",response="0123456789abcdef0123456789abcdef",algorithm=MD5,qop=auth,nc=00000001,cnonce="xyz"`,
			want: Credentials{Username: "1001", Realm: "switchboard", Nonce: "abc", URI: "sip:127.0.0.1:15060",
				Response: "0123456789abcdef0123456789abcdef", Algorithm: "MD5", QOP: "auth", NC: "00000001", CNonce: "xyz"},
		},
		{
			name: "spaces, no algorithm, no qop",
			in:   `Digest  username = "a" , realm="r", nonce="n", uri="sip:x", response="ABCDEF"`,
			want: Credentials{Username: "a", Realm: "r", Nonce: "n", URI: "sip:x", Response: "abcdef", Algorithm: "MD5"},
		},
		{name: "comma inside quotes", in: `Digest username="a,b", realm="r", nonce="n", uri="sip:x", response="1"`,
			want: Credentials{Username: "a,b", Realm: "r", Nonce: "n", URI: "sip:x", Response: "1", Algorithm: "MD5"}},
		{name: "basic scheme", in: `Basic YWxhZGRpbjpvcGVuc2VzYW1l`, wantErr: true},
		{name: "unterminated quote", in: `Digest username="a, realm="r"`, wantErr: true},
		{name: "missing response", in: `Digest username="a", realm="r", nonce="n", uri="sip:x"`, wantErr: true},
		{name: "garbage after value", in: `Digest username="a" realm="r"`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
		{name: "oversized", in: `Digest username="` + strings.Repeat("a", 5000) + `"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedCredentials) {
					t.Fatalf("err = %v, want ErrMalformedCredentials", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestExpectedResponseRFC2617Vector(t *testing.T) {
	// RFC 2617 §3.5 example.
	c := Credentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "/dir/index.html", QOP: "auth", NC: "00000001", CNonce: "0a4f113b", Algorithm: "MD5"}
	got, err := ExpectedResponse(c, "GET", HA1("Mufasa", "testrealm@host.com", "Circle Of Life"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "6629fae49393a05397450978507c4ef1"; got != want {
		t.Fatalf("response %s, want %s", got, want)
	}
	c.Algorithm = "SHA-512"
	if _, err := ExpectedResponse(c, "GET", "x"); err == nil {
		t.Fatal("unsupported algorithm accepted")
	}
}

func TestNonces(t *testing.T) {
	n := newNonces(time.Minute)
	now := time.Unix(1_000_000, 0)
	n.now = func() time.Time { return now }
	nonce := n.issue()
	if got := n.check(nonce); got != nonceValid {
		t.Fatalf("fresh nonce: %v", got)
	}
	now = now.Add(2 * time.Minute)
	if got := n.check(nonce); got != nonceStale {
		t.Fatalf("old nonce: %v, want stale", got)
	}
	forged := []byte(nonce)
	forged[3] ^= 1
	for _, bad := range []string{string(forged), "", "not-base64!", nonce + "AA"} {
		if got := n.check(bad); got != nonceInvalid {
			t.Errorf("check(%q) = %v, want invalid", bad, got)
		}
	}
	other := newNonces(time.Minute)
	if other.check(nonce) != nonceInvalid {
		t.Error("nonce from another process secret accepted")
	}
}

func TestFailureLimiter(t *testing.T) {
	l := newFailureLimiter(3, time.Minute)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	crossed := 0
	for i := 0; i < 5; i++ {
		if l.fail("10.0.0.1") {
			crossed++
		}
	}
	if crossed != 1 {
		t.Fatalf("crossed reported %d times, want once", crossed)
	}
	if !l.blocked("10.0.0.1") || l.blocked("10.0.0.2") {
		t.Fatal("wrong blocking")
	}
	now = now.Add(2 * time.Minute)
	if l.blocked("10.0.0.1") {
		t.Fatal("still blocked after the window")
	}
	l.fail("10.0.0.3")
	l.succeed("10.0.0.3")
	if len(l.sources) != 0 {
		t.Fatalf("sources not forgotten: %d", len(l.sources))
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(`Digest username="1001",realm="switchboard",nonce="abc",uri="sip:x",response="00",qop=auth,nc=00000001,cnonce="x"`)
	f.Add(`Digest username=a, realm=b, nonce=c, uri=d, response=e`)
	f.Add(`Digest username="`)
	f.Add(`Digest ,,,=,"`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCredentials(s)
		if err != nil {
			return
		}
		if c.Username == "" || c.Nonce == "" || c.Response == "" || c.URI == "" || c.Algorithm == "" {
			t.Fatalf("accepted incomplete credentials %+v from %q", c, s)
		}
		_, _ = ExpectedResponse(c, "REGISTER", "00")
	})
}

func TestSecretsKnownValues(t *testing.T) {
	// Computed independently (printf '1001:switchboard:demo-1001' | md5sum / sha256sum).
	md5Hex, shaHex := Secrets("1001", "switchboard", "demo-1001")
	if md5Hex != "488c4f3b0dc0f6f9f774d2c6566c296d" ||
		shaHex != "3a4cd171c3f59d9fabf3974374d4aea088bfa1a8a994f70b42ab352b46f4804e" {
		t.Fatalf("Secrets = %s, %s", md5Hex, shaHex)
	}
	if HA1("1001", "switchboard", "demo-1001") != md5Hex {
		t.Fatal("HA1 disagrees with Secrets")
	}
}
