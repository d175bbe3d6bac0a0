package registrar

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Credentials are the parameters of an Authorization or
// Proxy-Authorization header (RFC 3261 §22.4, RFC 2617 §3.2.2).
type Credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string // "MD5" when absent
	QOP       string
	NC        string
	CNonce    string
	Opaque    string
}

// ErrMalformedCredentials means an Authorization header could not be parsed.
var ErrMalformedCredentials = errors.New("malformed digest credentials")

// maxCredentialsLen bounds what we parse from an unauthenticated peer.
const maxCredentialsLen = 4096

// ParseCredentials parses a Digest Authorization header value.
func ParseCredentials(value string) (Credentials, error) {
	if len(value) > maxCredentialsLen {
		return Credentials{}, fmt.Errorf("%w: %d bytes", ErrMalformedCredentials, len(value))
	}
	v := strings.TrimSpace(value)
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return Credentials{}, fmt.Errorf("%w: scheme is not Digest", ErrMalformedCredentials)
	}
	var c Credentials
	for rest = strings.TrimSpace(rest); rest != ""; {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return Credentials{}, fmt.Errorf("%w: parameter without value", ErrMalformedCredentials)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		after = strings.TrimLeft(after, " \t")
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return Credentials{}, fmt.Errorf("%w: unterminated quoted value", ErrMalformedCredentials)
			}
			val, rest = after[1:1+end], after[2+end:]
		} else {
			end := strings.IndexByte(after, ',')
			if end < 0 {
				end = len(after)
			}
			val, rest = strings.TrimSpace(after[:end]), after[end:]
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" {
			if rest[0] != ',' {
				return Credentials{}, fmt.Errorf("%w: expected ',' after %s", ErrMalformedCredentials, name)
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		switch name {
		case "username":
			c.Username = val
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce = val
		case "uri":
			c.URI = val
		case "response":
			c.Response = strings.ToLower(val)
		case "algorithm":
			c.Algorithm = val
		case "qop":
			c.QOP = val
		case "nc":
			c.NC = val
		case "cnonce":
			c.CNonce = val
		case "opaque":
			c.Opaque = val
		}
	}
	if c.Username == "" || c.Nonce == "" || c.Response == "" || c.URI == "" {
		return Credentials{}, fmt.Errorf("%w: username, nonce, uri and response are required", ErrMalformedCredentials)
	}
	if c.Algorithm == "" {
		c.Algorithm = "MD5"
	}
	return c, nil
}

// ExpectedResponse computes the digest response for ha1 (hex) per RFC 2617
// §3.2.2.1 (qop=auth or none) and RFC 7616 (SHA-256).
func ExpectedResponse(c Credentials, method, ha1 string) (string, error) {
	var newHash func() hash.Hash
	switch strings.ToUpper(c.Algorithm) {
	case "MD5":
		newHash = md5.New
	case "SHA-256":
		newHash = sha256.New
	default:
		return "", fmt.Errorf("unsupported digest algorithm %q", c.Algorithm)
	}
	h := func(parts ...string) string {
		d := newHash()
		d.Write([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(d.Sum(nil))
	}
	ha2 := h(method, c.URI)
	switch c.QOP {
	case "":
		return h(ha1, c.Nonce, ha2), nil
	case "auth":
		return h(ha1, c.Nonce, c.NC, c.CNonce, c.QOP, ha2), nil
	default:
		return "", fmt.Errorf("unsupported qop %q", c.QOP)
	}
}

// HA1 returns hex(MD5(username:realm:password)), the stored digest secret.
func HA1(username, realm, password string) string {
	md5Hex, _ := Secrets(username, realm, password)
	return md5Hex
}

// Secrets returns HA1 = H(username ":" realm ":" password) with MD5
// (RFC 2617 §3.2.2.2) and SHA-256 (RFC 7616 §3.4.2), hex-encoded: what an
// extension stores instead of its SIP password.
func Secrets(username, realm, password string) (md5Hex, sha256Hex string) {
	a1 := username + ":" + realm + ":" + password
	m := md5.Sum([]byte(a1))
	sh := sha256.Sum256([]byte(a1))
	return hex.EncodeToString(m[:]), hex.EncodeToString(sh[:])
}

// nonces issues and checks stateless nonces: a timestamp and a MAC over it
// with a per-process secret, so a REGISTER storm costs no memory and a nonce
// cannot be forged or used past its lifetime.
type nonces struct {
	secret [32]byte
	ttl    time.Duration
	now    func() time.Time
}

func newNonces(ttl time.Duration) *nonces {
	n := &nonces{ttl: ttl, now: time.Now}
	if _, err := rand.Read(n.secret[:]); err != nil {
		panic(fmt.Sprintf("registrar: no randomness for nonces: %v", err))
	}
	return n
}

func (n *nonces) issue() string {
	var buf [8 + 16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(n.now().UnixNano()))
	mac := hmac.New(sha256.New, n.secret[:])
	mac.Write(buf[:8])
	copy(buf[8:], mac.Sum(nil)[:16])
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// nonceState is the result of checking a nonce.
type nonceState int

const (
	nonceInvalid nonceState = iota
	nonceValid
	nonceStale
)

func (n *nonces) check(nonce string) nonceState {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 24 {
		return nonceInvalid
	}
	mac := hmac.New(sha256.New, n.secret[:])
	mac.Write(raw[:8])
	if subtle.ConstantTimeCompare(mac.Sum(nil)[:16], raw[8:]) != 1 {
		return nonceInvalid
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
	if age := n.now().Sub(issued); age < 0 || age > n.ttl {
		// RFC 2617 §3.2.1: stale=TRUE lets the client retry with the new
		// nonce without asking the user for the password again.
		return nonceStale
	}
	return nonceValid
}
