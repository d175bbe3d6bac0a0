package siptest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// registrar is a minimal sipgo-based SIP server for tests: it challenges
// REGISTER (and INVITE) with MD5 digest, verifies the credentials itself
// (independently of the client's digest code) and records bindings. An
// authenticated INVITE is answered 486, enough to test the phone's INVITE
// authentication path.
type registrar struct {
	t         *testing.T
	realm     string
	users     map[string]string
	proxyAuth bool // challenge with 407/Proxy-Authenticate instead of 401

	ua   *sipgo.UserAgent
	conn net.PacketConn
	done chan struct{}

	mu       sync.Mutex
	nonce    int
	bindings map[string]string // user -> Contact
	invites  []*sip.Request
}

func newRegistrar(t *testing.T, users map[string]string, proxyAuth bool) *registrar {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &registrar{t: t, realm: "siptest", users: users, proxyAuth: proxyAuth,
		ua: ua, conn: conn, done: make(chan struct{}), bindings: map[string]string{}}
	srv.OnRegister(r.onRegister)
	srv.OnInvite(r.onInvite)
	go func() {
		defer close(r.done)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() {
		_ = ua.Close()
		_ = conn.Close()
		<-r.done
	})
	return r
}

func (r *registrar) addr() string { return r.conn.LocalAddr().String() }

func (r *registrar) binding(user string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bindings[user]
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// authorize checks the request's credentials. It returns 0 when they are
// valid, else the status to send (401/407 with a challenge, or 403).
func (r *registrar) authorize(req *sip.Request, tx sip.ServerTransaction) bool {
	hname, chname, code := "Authorization", "WWW-Authenticate", 401
	if r.proxyAuth {
		hname, chname, code = "Proxy-Authorization", "Proxy-Authenticate", 407
	}
	h := req.GetHeader(hname)
	if h == nil {
		r.mu.Lock()
		r.nonce++
		nonce := fmt.Sprintf("nonce%d", r.nonce)
		r.mu.Unlock()
		res := sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
		res.AppendHeader(sip.NewHeader(chname,
			fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"`, r.realm, nonce)))
		_ = tx.Respond(res)
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	pass, known := r.users[cred.Username]
	if err != nil || !known || cred.Realm != r.realm {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return false
	}
	// RFC 2617 §3.2.2.1 with qop=auth.
	ha1 := md5hex(cred.Username + ":" + r.realm + ":" + pass)
	ha2 := md5hex(string(req.Method) + ":" + cred.URI)
	want := md5hex(strings.Join([]string{ha1, cred.Nonce, fmt.Sprintf("%08x", cred.Nc), cred.Cnonce, cred.QOP, ha2}, ":"))
	if cred.QOP == "" {
		want = md5hex(ha1 + ":" + cred.Nonce + ":" + ha2)
	}
	if cred.Response != want {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return false
	}
	return true
}

func (r *registrar) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	if !r.authorize(req, tx) {
		return
	}
	user := req.To().Address.User
	r.mu.Lock()
	if exp := req.GetHeader("Expires"); exp != nil && exp.Value() == "0" {
		delete(r.bindings, user)
	} else if ct := req.Contact(); ct != nil {
		r.bindings[user] = ct.Address.String()
	}
	r.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if ct := req.Contact(); ct != nil {
		res.AppendHeader(sip.HeaderClone(ct))
	}
	_ = tx.Respond(res)
}

func (r *registrar) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	r.mu.Lock()
	r.invites = append(r.invites, req)
	r.mu.Unlock()
	if !r.authorize(req, tx) {
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
}

func (r *registrar) seenInvites() []*sip.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*sip.Request(nil), r.invites...)
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name      string
		password  string
		proxyAuth bool
		wantCode  int // 0 = success
	}{
		{name: "401 right password", password: "secret"},
		{name: "407 right password", password: "secret", proxyAuth: true},
		{name: "wrong password", password: "guess", wantCode: 403},
		{name: "no password", password: "", wantCode: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reg := newRegistrar(t, map[string]string{"1001": "secret"}, tc.proxyAuth)
			p := newPhone(t, Config{User: "1001", Password: tc.password, Server: reg.addr()})
			err := p.Register(ctx, time.Minute)
			if got := StatusCode(err); got != tc.wantCode {
				t.Fatalf("Register: code %d (err %v), want %d", got, err, tc.wantCode)
			}
			if tc.wantCode != 0 {
				if reg.binding("1001") != "" {
					t.Fatal("binding created despite failed auth")
				}
				return
			}
			if got := reg.binding("1001"); got != p.URI() {
				t.Fatalf("binding = %q, want %q", got, p.URI())
			}
			// A refresh reuses Call-ID and must pass auth again.
			if err := p.Register(ctx, time.Minute); err != nil {
				t.Fatalf("re-register: %v", err)
			}
			if err := p.Unregister(ctx); err != nil {
				t.Fatalf("Unregister: %v", err)
			}
			if got := reg.binding("1001"); got != "" {
				t.Fatalf("binding after Unregister = %q", got)
			}
		})
	}
}

func TestInviteAuthentication(t *testing.T) {
	for _, proxy := range []bool{false, true} {
		t.Run(fmt.Sprintf("proxyAuth=%v", proxy), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reg := newRegistrar(t, map[string]string{"1001": "secret"}, proxy)
			p := newPhone(t, Config{User: "1001", Password: "secret", Server: reg.addr()})
			_, err := p.Dial(ctx, "2000")
			if StatusCode(err) != 486 {
				t.Fatalf("Dial: %v, want 486 after authenticating", err)
			}
			inv := reg.seenInvites()
			if len(inv) != 2 {
				t.Fatalf("server saw %d INVITEs, want 2 (challenge + authenticated)", len(inv))
			}
			if inv[0].CallID().Value() != inv[1].CallID().Value() {
				t.Error("authenticated INVITE must keep the Call-ID")
			}
			if inv[1].CSeq().SeqNo != inv[0].CSeq().SeqNo+1 {
				t.Errorf("CSeq %d -> %d, want +1", inv[0].CSeq().SeqNo, inv[1].CSeq().SeqNo)
			}
		})
	}
}
