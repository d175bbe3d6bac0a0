package siptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
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
	// The digest retries advanced CSeq inside sipgo; continue from there.
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

// doWithAuth sends a non-INVITE request and answers digest challenges. The
// MD5 computation itself (RFC 2617 §3.2.2, with qop=auth when offered) is
// sipgo's DoDigestAuth, which also bumps CSeq and renews the Via branch as
// a new transaction requires (RFC 3261 §22.2).
func (p *Phone) doWithAuth(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	res, err := p.cli.Do(ctx, req)
	for round := 0; err == nil && round < maxAuthRounds && isChallenge(res) && p.cfg.Password != ""; round++ {
		p.setLaddr(req)
		res, err = p.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.cfg.User, Password: p.cfg.Password})
	}
	return res, err
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
