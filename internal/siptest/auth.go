package siptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// maxAuthRounds bounds how often one request is re-sent with credentials: a
// second challenge may legitimately follow a stale nonce (RFC 2617 §3.2.1
// stale=true), a third means the credentials are wrong.
const maxAuthRounds = 2

// Register binds the phone's Contact to its AOR at Config.Server for
// expires (rounded to seconds). Digest challenges (401 WWW-Authenticate,
// 407 Proxy-Authenticate; RFC 3261 §22.2, §22.3) are answered with
// Config.User/Password. A final non-2xx response is returned as a
// *StatusError, so tests can check for 401 or 403.
func (p *Phone) Register(ctx context.Context, expires time.Duration) error {
	return p.register(ctx, expires)
}

// Unregister removes the binding: a REGISTER with Expires: 0 (RFC 3261
// §10.2.2).
func (p *Phone) Unregister(ctx context.Context) error {
	return p.register(ctx, 0)
}

func (p *Phone) register(ctx context.Context, expires time.Duration) error {
	if p.cfg.Server == "" {
		return fmt.Errorf("siptest: register: Config.Server is empty")
	}
	var registrar sip.Uri
	if err := sip.ParseUri("sip:"+p.cfg.Server, &registrar); err != nil {
		return fmt.Errorf("siptest: register: parse server %q: %w", p.cfg.Server, err)
	}
	if p.transport == "TCP" {
		registrar.UriParams = sip.NewParams()
		registrar.UriParams.Add("transport", "tcp")
	}
	secs := uint32(expires.Round(time.Second) / time.Second)

	// RFC 3261 §10.2: the same Call-ID for all registrations of a UA,
	// with CSeq increasing by one each time.
	p.mu.Lock()
	p.regCSeq++
	cseq := p.regCSeq
	callID := sip.CallIDHeader(p.regCallID)
	p.mu.Unlock()

	req := sip.NewRequest(sip.REGISTER, registrar)
	from := &sip.FromHeader{DisplayName: p.cfg.DisplayName, Address: p.aor(), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	exp := sip.ExpiresHeader(secs)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: p.aor()})
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.REGISTER})
	req.AppendHeader(p.contact.Clone())
	req.AppendHeader(&exp)
	req.AppendHeader(sip.NewHeader("User-Agent", userAgent))
	req.SetBody(nil)
	p.setLaddr(req)

	res, err := p.doWithAuth(ctx, req)
	// The digest retries advanced CSeq; continue from there.
	p.mu.Lock()
	if c := req.CSeq(); c != nil && c.SeqNo > p.regCSeq {
		p.regCSeq = c.SeqNo
	}
	p.mu.Unlock()
	aor := p.aor()
	if err != nil {
		return fmt.Errorf("siptest: register %s: %w", aor.String(), err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("siptest: register %s: %w", aor.String(),
			&StatusError{Code: res.StatusCode, Reason: res.Reason})
	}
	return nil
}

// doWithAuth sends a non-INVITE request outside any dialog and answers
// digest challenges. A retry is a new transaction: same Call-ID and From
// tag, CSeq one higher, a new Via branch (RFC 3261 §22.2, §8.1.3.5).
func (p *Phone) doWithAuth(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	return p.withDigest(ctx, req,
		func(ctx context.Context, r *sip.Request) (*sip.Response, error) { return p.cli.Do(ctx, r) },
		func(r *sip.Request) *sip.Request {
			r.RemoveHeader("Via")
			r.CSeq().SeqNo++
			p.setLaddr(r)
			return r
		})
}

// withDigest sends req with send and, while the answer is a 401/407
// challenge and the phone has a password, sends retry(req) with
// credentials for it, at most maxAuthRounds times. It is the one digest
// path for every non-INVITE request: out of dialog (REGISTER, OPTIONS) and
// in dialog (REFER), where retry builds a fresh request so the dialog
// assigns the next CSeq.
func (p *Phone) withDigest(ctx context.Context, req *sip.Request,
	send func(context.Context, *sip.Request) (*sip.Response, error),
	retry func(*sip.Request) *sip.Request) (*sip.Response, error) {
	res, err := send(ctx, req)
	for round := 0; err == nil && round < maxAuthRounds && isChallenge(res) && p.cfg.Password != ""; round++ {
		req = retry(req)
		if err := p.applyDigest(req, res); err != nil {
			return nil, err
		}
		res, err = send(ctx, req)
	}
	return res, err
}

// applyDigest adds the Authorization (401) or Proxy-Authorization (407)
// header answering res's challenge to req. The MD5 computation (RFC 2617
// §3.2.2, qop=auth when offered) is the digest package's, as in sipgo's own
// INVITE authentication.
func (p *Phone) applyDigest(req *sip.Request, res *sip.Response) error {
	chName, authName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chName, authName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(chName)
	if h == nil {
		return fmt.Errorf("siptest: %d without %s", res.StatusCode, chName)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return fmt.Errorf("siptest: parse %s %q: %w", chName, h.Value(), err)
	}
	chal.Algorithm = strings.ToUpper(chal.Algorithm)
	cred, err := digest.Digest(chal, digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.Addr(),
		Username: p.cfg.User,
		Password: p.cfg.Password,
	})
	if err != nil {
		return fmt.Errorf("siptest: digest: %w", err)
	}
	req.RemoveHeader(authName)
	req.AppendHeader(sip.NewHeader(authName, cred.String()))
	return nil
}

func isChallenge(res *sip.Response) bool {
	return (res.StatusCode == 401 && res.GetHeader("WWW-Authenticate") != nil) ||
		(res.StatusCode == 407 && res.GetHeader("Proxy-Authenticate") != nil)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newCallID() string { return randomHex(16) + "@siptest" }

// Options sends an out-of-dialog OPTIONS to target (a user at Server or a
// full URI; RFC 3261 §11) and returns the final status code, answering
// digest challenges like Register does.
func (p *Phone) Options(ctx context.Context, target string) (int, error) {
	uri, err := p.targetURI(target)
	if err != nil {
		return 0, err
	}
	req := sip.NewRequest(sip.OPTIONS, uri)
	from := &sip.FromHeader{DisplayName: p.cfg.DisplayName, Address: p.aor(), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	callID := sip.CallIDHeader(newCallID())
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}})
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	req.AppendHeader(p.contact.Clone())
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	req.AppendHeader(sip.NewHeader("User-Agent", userAgent))
	req.SetBody(nil)
	p.setLaddr(req)
	res, err := p.doWithAuth(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("siptest: OPTIONS %s: %w", uri.String(), err)
	}
	return res.StatusCode, nil
}
