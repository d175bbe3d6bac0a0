package siptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// notifySpec is one NOTIFY the test UAS sends after accepting a REFER.
type notifySpec struct {
	code       int
	terminated bool
}

func (n notifySpec) state() string {
	if n.terminated {
		return "terminated;reason=noresource"
	}
	return "active;expires=60"
}

// uasConfig sets how the test UAS treats REFERs.
type uasConfig struct {
	referCode    int          // final response to an (authorised) REFER; 0 means 202
	notifies     []notifySpec // sent in the dialog after a 2xx to REFER
	byeAfter     bool         // then hang up the referring dialog
	auth         *registrar   // challenge REFERs (401 or 407) and check the digest
	holdReinvite bool         // answer a re-INVITE only once a REFER has arrived
}

// uasDialog is one dialog of the test UAS with the phone. ready closes once
// a server dialog's 200 is ACKed; from then on its session may be used
// from any goroutine.
type uasDialog struct {
	srv   *sipgo.DialogServerSession
	cli   *sipgo.DialogClientSession
	ready chan struct{}
}

// tags returns the dialog's tags as the UAS sees them.
func (d *uasDialog) tags() (local, remote string) {
	if d.srv != nil {
		local, _ = d.srv.InviteRequest.To().Params.Get("tag") // ReadInvite added ours
		remote, _ = d.srv.InviteRequest.From().Params.Get("tag")
		return local, remote
	}
	local, _ = d.cli.InviteRequest.From().Params.Get("tag")
	remote, _ = d.cli.InviteResponse.To().Params.Get("tag")
	return local, remote
}

// referUAS is a small sipgo UAS standing in for Switchboard in transfer
// tests: it answers the phone's calls (and places calls to it), answers
// re-INVITEs, accepts or refuses REFERs and reports their progress with
// NOTIFYs, and records every request the phone sends it.
type referUAS struct {
	t    *testing.T
	cfg  uasConfig
	dua  *sipgo.DialogUA
	conn net.PacketConn
	sink *net.UDPConn
	ctx  context.Context

	reinviteSeen, referSeen chan struct{}
	reinviteOnce, referOnce sync.Once

	mu          sync.Mutex
	dialogs     map[string]*uasDialog // by Call-ID
	received    []*sip.Request        // the phone's requests, in arrival order
	notifyCodes []int                 // the phone's answers to our NOTIFYs
	sdpVersion  uint64
	errs        []error // handler failures; handlers may outlive a test, so no t.Errorf there
}

func (u *referUAS) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.errs = append(u.errs, err)
}

// failures lists what went wrong in the UAS's handlers, for failure messages.
func (u *referUAS) failures() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return errors.Join(u.errs...)
}

func newReferUAS(t *testing.T, cfg uasConfig) *referUAS {
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
	cli, err := sipgo.NewClient(ua, sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &referUAS{t: t, cfg: cfg, conn: conn, sink: rtpSink(t), ctx: ctx,
		reinviteSeen: make(chan struct{}), referSeen: make(chan struct{}),
		dialogs: map[string]*uasDialog{}, sdpVersion: 1}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	u.dua = &sipgo.DialogUA{Client: cli,
		ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uas", Host: "127.0.0.1", Port: port}}}
	srv.OnInvite(u.onInvite)
	srv.OnAck(u.onAck)
	srv.OnBye(u.onBye)
	srv.OnRefer(u.onRefer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() {
		cancel()
		_ = ua.Close()
		_ = conn.Close()
		<-done
	})
	return u
}

func (u *referUAS) addr() string { return u.conn.LocalAddr().String() }

func (u *referUAS) record(req *sip.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.received = append(u.received, req.Clone())
}

// requests returns the recorded requests of one dialog with the given
// method ("" for all).
func (u *referUAS) requests(callID string, method sip.RequestMethod) []*sip.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*sip.Request
	for _, r := range u.received {
		if r.CallID().Value() == callID && (method == "" || r.Method == method) {
			out = append(out, r)
		}
	}
	return out
}

func (u *referUAS) phoneNotifyCodes() []int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]int(nil), u.notifyCodes...)
}

// dialog returns the dialog with callID once it is usable.
func (u *referUAS) dialog(callID string) *uasDialog {
	u.mu.Lock()
	d := u.dialogs[callID]
	u.mu.Unlock()
	if d == nil {
		return nil
	}
	select {
	case <-d.ready:
		return d
	case <-u.ctx.Done():
		return nil
	}
}

func (u *referUAS) tags(callID string) (local, remote string) {
	d := u.dialog(callID)
	if d == nil {
		u.t.Fatalf("UAS has no dialog %s", callID)
	}
	return d.tags()
}

func (u *referUAS) nextSDP(offer []byte) []byte {
	dir := DirSendRecv
	if o, err := ParseSDP(offer); err == nil {
		dir = answerDirection(o.Direction, false)
	}
	u.mu.Lock()
	u.sdpVersion++
	v := u.sdpVersion
	u.mu.Unlock()
	s := &SDP{SessionID: 9, Version: v, Addr: "127.0.0.1", Port: u.sink.LocalAddr().(*net.UDPAddr).Port,
		Formats: []uint8{0}, RTPMap: map[uint8]string{0: "PCMU/8000"}, Direction: dir}
	return s.Bytes()
}

func (u *referUAS) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	u.record(req)
	if to := req.To(); to != nil && to.Params.Has("tag") {
		if u.cfg.holdReinvite {
			u.reinviteOnce.Do(func() { close(u.reinviteSeen) })
			select {
			case <-u.referSeen:
			case <-u.ctx.Done():
				return
			}
		}
		res := sip.NewSDPResponseFromRequest(req, u.nextSDP(req.Body()))
		res.AppendHeader(sip.HeaderClone(&u.dua.ContactHDR))
		_ = tx.Respond(res)
		return
	}
	sess, err := u.dua.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	d := &uasDialog{srv: sess, ready: make(chan struct{})}
	u.mu.Lock()
	u.dialogs[req.CallID().Value()] = d
	u.mu.Unlock()
	if err := sess.RespondSDP(u.nextSDP(req.Body())); err == nil {
		close(d.ready)
	}
}

func (u *referUAS) onAck(req *sip.Request, tx sip.ServerTransaction) {
	u.record(req)
	u.mu.Lock()
	d := u.dialogs[req.CallID().Value()]
	u.mu.Unlock()
	if d != nil && d.srv != nil {
		_ = d.srv.ReadAck(req, tx) // an ACK to a re-INVITE is not for the session
	}
}

func (u *referUAS) onBye(req *sip.Request, tx sip.ServerTransaction) {
	u.record(req)
	d := u.dialog(req.CallID().Value())
	switch {
	case d == nil:
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	case d.srv != nil:
		_ = d.srv.ReadBye(req, tx)
	default:
		_ = d.cli.ReadBye(req, tx)
	}
}

func (u *referUAS) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	u.record(req)
	u.referOnce.Do(func() { close(u.referSeen) })
	callID := req.CallID().Value()
	if u.dialog(callID) == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if u.cfg.auth != nil && !u.cfg.auth.authorize(req, tx) {
		return
	}
	code := u.cfg.referCode
	if code == 0 {
		code = 202
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil))
	if code >= 300 {
		return
	}
	event := fmt.Sprintf("refer;id=%d", req.CSeq().SeqNo)
	for _, n := range u.cfg.notifies {
		code, err := u.notify(callID, sipfragBody(n.code),
			sip.NewHeader("Event", event),
			sip.NewHeader("Subscription-State", n.state()),
			sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
		if err != nil {
			u.fail(fmt.Errorf("NOTIFY %d: %w", n.code, err))
			return
		}
		u.mu.Lock()
		u.notifyCodes = append(u.notifyCodes, code)
		u.mu.Unlock()
	}
	if u.cfg.byeAfter {
		if err := u.bye(callID); err != nil {
			u.fail(fmt.Errorf("BYE after transfer: %w", err))
		}
	}
}

func sipfragBody(code int) []byte {
	return []byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reasonPhrase(code)))
}

// notify sends a NOTIFY in the dialog and returns the phone's status code.
func (u *referUAS) notify(callID string, body []byte, hdrs ...sip.Header) (int, error) {
	d := u.dialog(callID)
	if d == nil {
		return 0, fmt.Errorf("no dialog %s", callID)
	}
	ctx, cancel := context.WithTimeout(u.ctx, 10*time.Second)
	defer cancel()
	var res *sip.Response
	var err error
	if d.srv != nil {
		req := sip.NewRequest(sip.NOTIFY, d.srv.InviteRequest.Contact().Address)
		addAll(req, body, hdrs)
		res, err = d.srv.Do(ctx, req)
	} else {
		req := sip.NewRequest(sip.NOTIFY, d.cli.InviteResponse.Contact().Address)
		addAll(req, body, hdrs)
		res, err = d.cli.Do(ctx, req)
	}
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

func addAll(req *sip.Request, body []byte, hdrs []sip.Header) {
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	req.SetBody(body)
}

func (u *referUAS) bye(callID string) error {
	d := u.dialog(callID)
	if d == nil {
		return fmt.Errorf("no dialog %s", callID)
	}
	ctx, cancel := context.WithTimeout(u.ctx, 10*time.Second)
	defer cancel()
	if d.srv != nil {
		return d.srv.Bye(ctx)
	}
	return d.cli.Bye(ctx)
}

// call places a call from user to the phone (which must auto-answer) and
// returns the phone's side of it.
func (u *referUAS) call(ctx context.Context, p *Phone, user string) *Call {
	u.t.Helper()
	var target sip.Uri
	if err := sip.ParseUri(p.URI(), &target); err != nil {
		u.t.Fatal(err)
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	ct := sip.ContentTypeHeader("application/sdp")
	sess, err := u.dua.Invite(ctx, target, u.nextSDP(nil), from, &ct)
	if err != nil {
		u.t.Fatalf("INVITE phone: %v", err)
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		u.t.Fatalf("phone did not answer: %v", err)
	}
	if err := sess.Ack(ctx); err != nil {
		u.t.Fatalf("ACK: %v", err)
	}
	d := &uasDialog{cli: sess, ready: make(chan struct{})}
	close(d.ready)
	u.mu.Lock()
	u.dialogs[sess.InviteRequest.CallID().Value()] = d
	u.mu.Unlock()
	c := nextCall(ctx, u.t, p)
	if err := c.WaitAnswer(ctx); err != nil {
		u.t.Fatalf("phone side: %v", err)
	}
	return c
}

// setUp gives a call between the phone and the UAS: placed by the phone
// (to user) or by the UAS (from user).
func setUp(ctx context.Context, t *testing.T, p *Phone, u *referUAS, inbound bool, user string) *Call {
	t.Helper()
	if inbound {
		return u.call(ctx, p, user)
	}
	c, err := p.Dial(ctx, user)
	if err != nil {
		t.Fatalf("Dial %s: %v", user, err)
	}
	return c
}

func tag(params sip.HeaderParams) string {
	v, _ := params.Get("tag")
	return v
}

// checkCSeqs checks the phone's requests in a dialog used distinct CSeq
// numbers and that each ACK carries the number of an INVITE it sent.
func checkCSeqs(t *testing.T, u *referUAS, callID string) {
	t.Helper()
	seen := map[uint32]sip.RequestMethod{}
	var acks []uint32
	for _, r := range u.requests(callID, "") {
		n := r.CSeq().SeqNo
		if r.Method == sip.ACK {
			acks = append(acks, n)
			continue
		}
		if m, dup := seen[n]; dup {
			t.Errorf("%s and %s share CSeq %d", m, r.Method, n)
		}
		seen[n] = r.Method
		if r.CSeq().MethodName != r.Method {
			t.Errorf("%s with CSeq method %s", r.Method, r.CSeq().MethodName)
		}
	}
	for _, n := range acks {
		if seen[n] != sip.INVITE {
			t.Errorf("ACK with CSeq %d acknowledges no INVITE of the phone's (%v)", n, seen)
		}
	}
}

func TestRefer(t *testing.T) {
	tests := []struct {
		name     string
		inbound  bool // the UAS placed the call
		password string
		cfg      func(t *testing.T) uasConfig
		wantErr  int   // REFER's final failure, 0 for success
		wantWait int   // Wait's sipfrag code
		progress []int // every sipfrag code
		wantRefs int   // REFERs the UAS saw
	}{
		{
			name: "accepted, transfer answered",
			cfg: func(*testing.T) uasConfig {
				return uasConfig{notifies: []notifySpec{{code: 100}, {code: 200, terminated: true}}}
			},
			wantWait: 200, progress: []int{100, 200}, wantRefs: 1,
		},
		{
			name:    "phone is the callee",
			inbound: true,
			cfg: func(*testing.T) uasConfig {
				return uasConfig{notifies: []notifySpec{{code: 100}, {code: 200, terminated: true}}}
			},
			wantWait: 200, progress: []int{100, 200}, wantRefs: 1,
		},
		{
			name: "target busy",
			cfg: func(*testing.T) uasConfig {
				return uasConfig{notifies: []notifySpec{{code: 100}, {code: 180}, {code: 486, terminated: true}}}
			},
			wantWait: 486, progress: []int{100, 180, 486}, wantRefs: 1,
		},
		{
			name:    "refused",
			cfg:     func(*testing.T) uasConfig { return uasConfig{referCode: 403} },
			wantErr: 403, wantRefs: 1,
		},
		{
			name:     "401 challenge",
			password: "secret",
			cfg: func(t *testing.T) uasConfig {
				return uasConfig{auth: &registrar{t: t, realm: "siptest", users: map[string]string{"1001": "secret"}},
					notifies: []notifySpec{{code: 100}, {code: 200, terminated: true}}}
			},
			wantWait: 200, progress: []int{100, 200}, wantRefs: 2,
		},
		{
			name:     "407 challenge, phone is the callee",
			inbound:  true,
			password: "secret",
			cfg: func(t *testing.T) uasConfig {
				return uasConfig{auth: &registrar{t: t, realm: "siptest", users: map[string]string{"1001": "secret"}, proxyAuth: true},
					notifies: []notifySpec{{code: 200, terminated: true}}}
			},
			wantWait: 200, progress: []int{200}, wantRefs: 2,
		},
		{
			name:     "wrong password",
			password: "guess",
			cfg: func(t *testing.T) uasConfig {
				return uasConfig{auth: &registrar{t: t, realm: "siptest", users: map[string]string{"1001": "secret"}}}
			},
			wantErr: 403, wantRefs: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			u := newReferUAS(t, tc.cfg(t))
			p := newPhone(t, Config{User: "1001", Password: tc.password, Server: u.addr(), ToneHz: toneA})
			p.AutoAnswer(0)
			c := setUp(ctx, t, p, u, tc.inbound, "2000")

			tr, err := c.Refer(ctx, "3000")
			if tc.wantErr != 0 {
				var se *StatusError
				if !errors.As(err, &se) || se.Code != tc.wantErr || tr != nil {
					t.Fatalf("Refer = %v, %v; want *StatusError %d", tr, err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("Refer: %v", err)
				}
				code, err := tr.Wait(ctx)
				if err != nil || code != tc.wantWait {
					t.Fatalf("Wait = %d, %v; want %d (UAS: %v)", code, err, tc.wantWait, u.failures())
				}
				if got := tr.Progress(); fmt.Sprint(got) != fmt.Sprint(tc.progress) {
					t.Errorf("Progress = %v, want %v", got, tc.progress)
				}
				for i, code := range u.phoneNotifyCodes() {
					if code != 200 {
						t.Errorf("phone answered NOTIFY %d with %d", i, code)
					}
				}
			}

			refers := u.requests(c.ID(), sip.REFER)
			if len(refers) != tc.wantRefs {
				t.Fatalf("UAS saw %d REFERs, want %d", len(refers), tc.wantRefs)
			}
			last := refers[len(refers)-1]
			wantReferTo := "<sip:3000@" + u.addr() + ">"
			if h := last.GetHeader("Refer-To"); h == nil || h.Value() != wantReferTo {
				t.Errorf("Refer-To = %v, want %s", h, wantReferTo)
			}
			if h := last.GetHeader("Referred-By"); h == nil || !strings.Contains(h.Value(), "sip:1001@") {
				t.Errorf("Referred-By = %v", h)
			}
			if h := last.Contact(); h == nil || h.Address.String() != p.URI() {
				t.Errorf("Contact = %v, want %s", h, p.URI())
			}
			// Dialog identification (RFC 3261 §12.2.1.1): our tag in From,
			// the peer's in To.
			if tag(last.From().Params) != c.localTag || tag(last.To().Params) != c.remoteTag() {
				t.Errorf("REFER tags From %q To %q, dialog local %q remote %q",
					tag(last.From().Params), tag(last.To().Params), c.localTag, c.remoteTag())
			}
			if len(refers) == 2 {
				if refers[1].CSeq().SeqNo != refers[0].CSeq().SeqNo+1 {
					t.Errorf("authenticated REFER CSeq %d after %d", refers[1].CSeq().SeqNo, refers[0].CSeq().SeqNo)
				}
				if refers[1].GetHeader("Authorization") == nil && refers[1].GetHeader("Proxy-Authorization") == nil {
					t.Error("second REFER carries no credentials")
				}
			}

			// The call goes on after the REFER: hold (a re-INVITE with the
			// next CSeq) still works and the tone still flows.
			if err := c.Hold(ctx); err != nil {
				t.Fatalf("Hold after REFER: %v", err)
			}
			if c.LocalDirection() != DirSendOnly || c.RemoteDirection() != DirRecvOnly {
				t.Errorf("after Hold: %s/%s", c.LocalDirection(), c.RemoteDirection())
			}
			if !hearsOn(t, u.sink, toneA) {
				t.Error("no tone from the phone after the REFER")
			}
			if err := c.Hangup(ctx); err != nil {
				t.Fatalf("Hangup after REFER: %v", err)
			}
			if !errors.Is(c.Err(), ErrHangupLocal) {
				t.Errorf("end cause %v", c.Err())
			}
			byes := u.requests(c.ID(), sip.BYE)
			invs := u.requests(c.ID(), sip.INVITE)
			if len(byes) != 1 || len(invs) < 2 && !tc.inbound {
				t.Fatalf("UAS saw %d BYEs, %d INVITEs", len(byes), len(invs))
			}
			reinv := invs[len(invs)-1]
			if reinv.CSeq().SeqNo <= last.CSeq().SeqNo || byes[0].CSeq().SeqNo <= reinv.CSeq().SeqNo {
				t.Errorf("CSeq order REFER %d, re-INVITE %d, BYE %d", last.CSeq().SeqNo, reinv.CSeq().SeqNo, byes[0].CSeq().SeqNo)
			}
			checkCSeqs(t, u, c.ID())
		})
	}
}

// TestReferThenRemoteBye: the far end hangs up once the transfer is done,
// as Switchboard does with the transferor's leg.
func TestReferThenRemoteBye(t *testing.T) {
	for _, inbound := range []bool{false, true} {
		t.Run(fmt.Sprintf("inbound=%v", inbound), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			u := newReferUAS(t, uasConfig{notifies: []notifySpec{{code: 100}, {code: 200, terminated: true}}, byeAfter: true})
			p := newPhone(t, Config{User: "1001", Server: u.addr()})
			p.AutoAnswer(0)
			c := setUp(ctx, t, p, u, inbound, "2000")
			tr, err := c.Refer(ctx, "3000")
			if err != nil {
				t.Fatalf("Refer: %v", err)
			}
			if code, err := tr.Wait(ctx); err != nil || code != 200 {
				t.Fatalf("Wait = %d, %v", code, err)
			}
			waitDone(ctx, t, "phone", c)
			if !errors.Is(c.Err(), ErrHangupRemote) {
				t.Errorf("end cause %v, want ErrHangupRemote", c.Err())
			}
			if len(p.Calls()) != 0 {
				t.Error("call still listed")
			}
		})
	}
}

// TestReferDuringReinvite sends a REFER while a re-INVITE awaits its
// answer: the REFER takes the next CSeq, and the ACK for the re-INVITE must
// still carry the re-INVITE's number (RFC 3261 §13.2.2.4).
func TestReferDuringReinvite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u := newReferUAS(t, uasConfig{holdReinvite: true, notifies: []notifySpec{{code: 200, terminated: true}}})
	p := newPhone(t, Config{User: "1001", Server: u.addr()})
	c := setUp(ctx, t, p, u, false, "2000")

	held := make(chan error, 1)
	go func() { held <- c.Hold(ctx) }()
	select {
	case <-u.reinviteSeen:
	case <-ctx.Done():
		t.Fatal("no re-INVITE")
	}
	tr, err := c.Refer(ctx, "3000")
	if err != nil {
		t.Fatalf("Refer: %v", err)
	}
	if err := <-held; err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if code, err := tr.Wait(ctx); err != nil || code != 200 {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	invs := u.requests(c.ID(), sip.INVITE)
	reinv := invs[len(invs)-1]
	refer := u.requests(c.ID(), sip.REFER)[0]
	if refer.CSeq().SeqNo != reinv.CSeq().SeqNo+1 {
		t.Errorf("REFER CSeq %d, re-INVITE %d", refer.CSeq().SeqNo, reinv.CSeq().SeqNo)
	}
	// The initial INVITE's ACK may come more than once (the UAS resends
	// its 200 under load); the re-INVITE's is the one not numbered 1.
	reACK := func() *sip.Request {
		for _, a := range u.requests(c.ID(), sip.ACK) {
			if a.CSeq().SeqNo != invs[0].CSeq().SeqNo {
				return a
			}
		}
		return nil
	}
	err = poll(ctx, func() bool { return reACK() != nil },
		func() error { return errors.New("no ACK for the re-INVITE") })
	if err != nil {
		t.Fatal(err)
	}
	if ack := reACK(); ack.CSeq().SeqNo != reinv.CSeq().SeqNo {
		t.Errorf("ACK CSeq %d, re-INVITE %d", ack.CSeq().SeqNo, reinv.CSeq().SeqNo)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if bye := u.requests(c.ID(), sip.BYE); len(bye) != 1 || bye[0].CSeq().SeqNo != refer.CSeq().SeqNo+1 {
		t.Errorf("BYE %v after REFER CSeq %d", bye, refer.CSeq().SeqNo)
	}
	checkCSeqs(t, u, c.ID())
}

// parseReplaces decodes the Replaces header of a Refer-To value, as a
// transferee would before sending its INVITE (RFC 3891 §6.1).
func parseReplaces(t *testing.T, referTo string) (uri sip.Uri, callID, toTag, fromTag string) {
	t.Helper()
	raw := strings.TrimSuffix(strings.TrimPrefix(referTo, "<"), ">")
	if err := sip.ParseUri(raw, &uri); err != nil {
		t.Fatalf("Refer-To %q: %v", referTo, err)
	}
	_, hdrs, _ := strings.Cut(raw, "?")
	name, escaped, _ := strings.Cut(hdrs, "=")
	if name != "Replaces" || strings.ContainsAny(escaped, ";=@&?") {
		t.Fatalf("Refer-To %q: want a single, escaped Replaces header", referTo)
	}
	val, err := url.PathUnescape(escaped)
	if err != nil {
		t.Fatalf("Replaces %q: %v", escaped, err)
	}
	parts := strings.Split(val, ";")
	callID = parts[0]
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "to-tag":
			toTag = v
		case "from-tag":
			fromTag = v
		default:
			t.Errorf("Replaces parameter %q", p)
		}
	}
	return uri, callID, toTag, fromTag
}

func TestReferReplaces(t *testing.T) {
	tests := []struct {
		name                    string
		referInbound, otherInbd bool
		wantUser                string
	}{
		{"both placed by the phone", false, false, "2001"},
		{"consultation call received", false, true, "4000"},
		{"transferred call received", true, false, "2001"},
		{"both received", true, true, "4000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			u := newReferUAS(t, uasConfig{notifies: []notifySpec{{code: 100}, {code: 200, terminated: true}}})
			p := newPhone(t, Config{User: "1001", Server: u.addr(), ToneHz: toneA})
			p.AutoAnswer(0)
			c := setUp(ctx, t, p, u, tc.referInbound, "2000")
			userOther := "2001"
			if tc.otherInbd {
				userOther = "4000"
			}
			other := setUp(ctx, t, p, u, tc.otherInbd, userOther)
			if err := other.Hold(ctx); err != nil { // as a phone does before transferring
				t.Fatalf("Hold: %v", err)
			}

			tr, err := c.ReferReplaces(ctx, other)
			if err != nil {
				t.Fatalf("ReferReplaces: %v", err)
			}
			if code, err := tr.Wait(ctx); err != nil || code != 200 {
				t.Fatalf("Wait = %d, %v", code, err)
			}
			refers := u.requests(c.ID(), sip.REFER)
			if len(refers) != 1 || len(u.requests(other.ID(), sip.REFER)) != 0 {
				t.Fatalf("REFERs: %d on the transferred call, want 1 and none on the other", len(refers))
			}
			referTo := refers[0].GetHeader("Refer-To").Value()
			if referTo != tr.ReferTo() {
				t.Errorf("UAS got Refer-To %q, phone sent %q", referTo, tr.ReferTo())
			}
			uri, callID, toTag, fromTag := parseReplaces(t, referTo)
			if uri.User != tc.wantUser || uri.HostPort() != u.addr() {
				t.Errorf("Refer-To %q: want user %s at %s", referTo, tc.wantUser, u.addr())
			}
			// RFC 3891 §3: the UAS receiving the INVITE with Replaces (here
			// the UAS, the far end of other) matches to-tag against its
			// local tag and from-tag against its remote tag.
			local, remote := u.tags(other.ID())
			if callID != other.ID() || toTag != local || fromTag != remote {
				t.Errorf("Replaces %s;to-tag=%s;from-tag=%s, want %s;to-tag=%s;from-tag=%s",
					callID, toTag, fromTag, other.ID(), local, remote)
			}
			if fromTag != other.localTag {
				t.Errorf("from-tag %s is not the phone's tag %s", fromTag, other.localTag)
			}

			for _, call := range []*Call{c, other} {
				if err := call.Hangup(ctx); err != nil {
					t.Fatalf("Hangup: %v", err)
				}
				checkCSeqs(t, u, call.ID())
			}
		})
	}
}

func TestReferReplacesNeedsAnotherLiveCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u := newReferUAS(t, uasConfig{})
	p := newPhone(t, Config{User: "1001", Server: u.addr()})
	q := newPhone(t, Config{User: "1002", Server: u.addr()})
	c := setUp(ctx, t, p, u, false, "2000")
	foreign := setUp(ctx, t, q, u, false, "2001")
	ended := setUp(ctx, t, p, u, false, "2002")
	if err := ended.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	for name, other := range map[string]*Call{"nil": nil, "itself": c, "other phone's": foreign, "ended": ended} {
		if _, err := c.ReferReplaces(ctx, other); err == nil {
			t.Errorf("ReferReplaces(%s call) succeeded", name)
		}
	}
	if n := len(u.requests(c.ID(), sip.REFER)); n != 0 {
		t.Errorf("%d REFERs sent", n)
	}
}

// TestNotifyHandling walks one transfer through NOTIFYs the phone must
// refuse and accept, in order.
func TestNotifyHandling(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u := newReferUAS(t, uasConfig{}) // 202, no NOTIFY: the steps send them
	p := newPhone(t, Config{User: "1001", Server: u.addr()})
	c := setUp(ctx, t, p, u, false, "2000")
	tr, err := c.Refer(ctx, "3000")
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("refer;id=%d", u.requests(c.ID(), sip.REFER)[0].CSeq().SeqNo)
	frag := "message/sipfrag;version=2.0"
	h := sip.NewHeader
	steps := []struct {
		name     string
		body     string
		hdrs     []sip.Header
		want     int
		progress string
	}{
		{"other event package", "SIP/2.0 200 OK\r\n", []sip.Header{h("Event", "dialog"), h("Subscription-State", "active"), h("Content-Type", frag)}, 489, "[]"},
		{"unknown id", "SIP/2.0 200 OK\r\n", []sip.Header{h("Event", "refer;id=1"), h("Subscription-State", "active"), h("Content-Type", frag)}, 481, "[]"},
		{"no Event", "SIP/2.0 200 OK\r\n", []sip.Header{h("Subscription-State", "active"), h("Content-Type", frag)}, 400, "[]"},
		{"not sipfrag", "SIP/2.0 200 OK\r\n", []sip.Header{h("Event", id), h("Subscription-State", "active"), h("Content-Type", "text/plain")}, 415, "[]"},
		{"no status line", "Trying\r\n", []sip.Header{h("Event", id), h("Subscription-State", "active"), h("Content-Type", frag)}, 400, "[]"},
		{"no Subscription-State", "SIP/2.0 100 Trying\r\n", []sip.Header{h("Event", id), h("Content-Type", frag)}, 400, "[]"},
		{"100 without id", "SIP/2.0 100 Trying\r\n", []sip.Header{h("Event", "refer"), h("Subscription-State", "active;expires=60"), h("Content-Type", frag)}, 200, "[100]"},
		{"180 compact Event", "SIP/2.0 180 Ringing\r\nContact: <sip:3000@x>\r\n", []sip.Header{h("o", id), h("Subscription-State", "active"), h("Content-Type", frag)}, 200, "[100 180]"},
		{"200 terminated", "SIP/2.0 200 OK\r\n", []sip.Header{h("Event", id), h("Subscription-State", "terminated;reason=noresource"), h("Content-Type", frag)}, 200, "[100 180 200]"},
		{"after termination", "SIP/2.0 200 OK\r\n", []sip.Header{h("Event", id), h("Subscription-State", "terminated"), h("Content-Type", frag)}, 481, "[100 180 200]"},
	}
	for _, s := range steps {
		code, err := u.notify(c.ID(), []byte(s.body), s.hdrs...)
		if err != nil || code != s.want {
			t.Errorf("%s: NOTIFY answered %d (%v), want %d", s.name, code, err, s.want)
		}
		if got := fmt.Sprint(tr.Progress()); got != s.progress {
			t.Errorf("%s: Progress %s, want %s", s.name, got, s.progress)
		}
	}
	if code, err := tr.Wait(ctx); err != nil || code != 200 {
		t.Fatalf("Wait = %d, %v", code, err)
	}
}

// TestTransferEndsWithCall: a call that ends while its transfer is pending
// ends the subscription too.
func TestTransferEndsWithCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u := newReferUAS(t, uasConfig{notifies: []notifySpec{{code: 100}}, byeAfter: true})
	p := newPhone(t, Config{User: "1001", Server: u.addr()})
	c := setUp(ctx, t, p, u, false, "2000")
	tr, err := c.Refer(ctx, "3000")
	if err != nil {
		t.Fatal(err)
	}
	code, err := tr.Wait(ctx)
	if !errors.Is(err, ErrCallEnded) || !errors.Is(err, ErrHangupRemote) || code != 100 {
		t.Fatalf("Wait = %d, %v; want 100 and ErrCallEnded", code, err)
	}
	if _, err := c.Refer(ctx, "3000"); err == nil {
		t.Error("REFER on an ended call succeeded")
	}
}

// TestPhoneRefusesRefer: phones answer REFER with 405 (and unknown
// methods with 405/501, with Allow), and the call carries on unharmed:
// audio both ways, hold, DTMF, and a BYE from the other side.
func TestPhoneRefusesRefer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := connect(ctx, t, "udp", "")

	_, err := p.ca.Refer(ctx, "1003")
	if StatusCode(err) != 405 {
		t.Fatalf("Refer to a phone: %v, want 405", err)
	}
	if _, err := p.cb.Refer(ctx, "sip:1003@127.0.0.1"); StatusCode(err) != 405 {
		t.Fatalf("Refer from the callee: %v, want 405", err)
	}
	assertHears(ctx, t, "caller", p.ca, toneB)
	assertHears(ctx, t, "callee", p.cb, toneA)
	if err := p.ca.Hold(ctx); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if err := p.ca.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if err := p.ca.SendDigits("42"); err != nil {
		t.Fatal(err)
	}
	if err := p.cb.WaitDTMF(ctx, "42"); err != nil {
		t.Fatal(err)
	}
	if err := p.cb.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(ctx, t, "caller", p.ca)
	if !errors.Is(p.ca.Err(), ErrHangupRemote) {
		t.Errorf("caller end cause %v", p.ca.Err())
	}

	sw := newRawUA(t)
	var target sip.Uri
	if err := sip.ParseUri(p.b.URI(), &target); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method sip.RequestMethod
		want   int
	}{
		{sip.REFER, 405},
		{sip.MESSAGE, 405},
		{sip.SUBSCRIBE, 405},
		{"FROB", 501},
		{sip.NOTIFY, 481}, // no subscription outside a dialog
	} {
		req := sip.NewRequest(tc.method, target)
		res, err := sw.dua.Client.Do(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		if res.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.method, res.StatusCode, tc.want)
		}
		if tc.want != 481 {
			if a := res.GetHeader("Allow"); a == nil || !strings.Contains(a.Value(), "NOTIFY") || strings.Contains(a.Value(), "REFER") {
				t.Errorf("%s: Allow %v", tc.method, a)
			}
		}
	}
}
