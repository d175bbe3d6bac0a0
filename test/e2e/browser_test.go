package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/icholy/digest"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/internal/media/g711"
	"github.com/switchboard/switchboard/internal/siptest"
)

// wsBrowser is what the console's JsSIP phone does, in Go: SIP over a
// WebSocket to /sip (RFC 7118) with a *.invalid Contact, and WebRTC media
// from a pion PeerConnection (PCMU, telephone-event, DTLS-SRTP, ICE).
type wsBrowser struct {
	t      *testing.T
	ext    string
	conn   net.Conn
	wmu    sync.Mutex
	reqs   chan *sip.Request
	resps  chan *sip.Response
	pc     *pion.PeerConnection
	track  *pion.TrackLocalStaticRTP
	toneHz float64

	amu   sync.Mutex
	audio []int16 // decoded PCMU from the server, newest last
	done  chan struct{}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dialBrowser logs in as the extension's user and opens ws://…/sip.
func dialBrowser(t *testing.T, s *server, ext string, toneHz float64) *wsBrowser {
	t.Helper()
	tok, err := s.login(ext, "demo-"+ext)
	if err != nil {
		t.Fatal(err)
	}
	d := ws.Dialer{Protocols: []string{"sip"}, Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + tok}})}
	conn, _, hs, err := d.Dial(ctxFor(t, 5*time.Second), "ws://"+s.HTTPAddr+"/sip")
	if err != nil {
		t.Fatalf("dial /sip: %v", err)
	}
	if hs.Protocol != "sip" {
		t.Fatalf("subprotocol %q, want sip", hs.Protocol)
	}
	b := &wsBrowser{t: t, ext: ext, conn: conn, reqs: make(chan *sip.Request, 16), resps: make(chan *sip.Response, 16),
		toneHz: toneHz, done: make(chan struct{})}
	go b.read()
	t.Cleanup(func() { b.close() })
	return b
}

func (b *wsBrowser) close() {
	_ = b.conn.Close()
	if b.pc != nil {
		_ = b.pc.Close()
	}
}

func (b *wsBrowser) read() {
	defer close(b.done)
	for {
		data, err := wsutil.ReadServerText(b.conn)
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(data)
		if err != nil {
			b.t.Errorf("browser: unparsable SIP from server: %v\n%s", err, data)
			return
		}
		switch m := msg.(type) {
		case *sip.Request:
			b.reqs <- m
		case *sip.Response:
			b.resps <- m
		}
	}
}

func (b *wsBrowser) send(msg string) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if err := wsutil.WriteClientText(b.conn, []byte(msg)); err != nil {
		b.t.Errorf("browser send: %v", err)
	}
}

func (b *wsBrowser) response(ctx context.Context, method string) (*sip.Response, error) {
	for {
		select {
		case r := <-b.resps:
			if r.CSeq().MethodName == sip.RequestMethod(method) && r.StatusCode >= 200 {
				return r, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("no final response to %s: %w", method, ctx.Err())
		}
	}
}

// register registers like JsSIP: Contact sip:<random>@<random>.invalid;transport=ws.
func (b *wsBrowser) register(ctx context.Context, host string) error {
	callID, tag := randHex(8), randHex(4)
	contact := fmt.Sprintf("<sip:%s@%s.invalid;transport=ws>;expires=600", randHex(4), randHex(4))
	auth := ""
	for cseq := 1; cseq <= 2; cseq++ {
		msg := fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/WS %s.invalid;branch=z9hG4bK%s\r\nMax-Forwards: 70\r\n"+
			"To: <sip:%s@%s>\r\nFrom: <sip:%s@%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d REGISTER\r\nContact: %s\r\nExpires: 600\r\n%s"+
			"User-Agent: wsBrowser\r\nContent-Length: 0\r\n\r\n",
			host, randHex(4), randHex(8), b.ext, host, b.ext, host, tag, callID, cseq, contact, auth)
		b.send(msg)
		res, err := b.response(ctx, "REGISTER")
		if err != nil {
			return err
		}
		switch res.StatusCode {
		case 200:
			// JsSIP and SIP.js refuse a 200 that does not echo their Contact.
			if !strings.Contains(res.String(), ".invalid;transport=ws") {
				return fmt.Errorf("200 to REGISTER does not echo the Contact:\n%s", res)
			}
			return nil
		case 401:
			chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
			if err != nil {
				return err
			}
			cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:" + host, Username: b.ext,
				Password: "demo-" + b.ext, Count: 1})
			if err != nil {
				return err
			}
			auth = "Authorization: " + cred.String() + "\r\n"
		default:
			return fmt.Errorf("REGISTER: %d %s", res.StatusCode, res.Reason)
		}
	}
	return fmt.Errorf("REGISTER not accepted after authentication")
}

// peer builds the browser's PeerConnection: Chrome's audio codecs.
func (b *wsBrowser) peer() {
	t := b.t
	me := &pion.MediaEngine{}
	for _, c := range []pion.RTPCodecParameters{
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111},
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0},
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, Channels: 1}, PayloadType: 126},
	} {
		if err := me.RegisterCodec(c, pion.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	se := pion.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := pion.NewAPI(pion.WithMediaEngine(me), pion.WithSettingEngine(se), pion.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	track, err := pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		go func() {
			pcm := make([]int16, 1024)
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				if p.PayloadType != 0 {
					continue
				}
				n := g711.DecodeULaw(pcm, p.Payload)
				b.amu.Lock()
				b.audio = append(b.audio, pcm[:n]...)
				if len(b.audio) > 16000 {
					b.audio = append(b.audio[:0], b.audio[len(b.audio)-8000:]...)
				}
				b.amu.Unlock()
			}
		}()
	})
	b.pc, b.track = pc, track
}

// sendTone streams a PCMU sine at b.toneHz every 20 ms until stop closes.
func (b *wsBrowser) sendTone(stop <-chan struct{}) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pcm := make([]int16, 160)
	var n int
	for seq := uint16(1); ; seq++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for i := range pcm {
			pcm[i] = int16(8000 * math.Sin(2*math.Pi*b.toneHz*float64(n)/8000))
			n++
		}
		payload := make([]byte, 160)
		g711.EncodeULaw(payload, pcm)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0xb0b},
			Payload: payload}
		raw, _ := pkt.Marshal()
		_, _ = b.track.Write(raw)
	}
}

// hears waits until the browser hears hz as the dominant tone.
func (b *wsBrowser) hears(t *testing.T, hz float64) {
	t.Helper()
	var f, ratio float64
	eventually(t, 5*time.Second, func() error {
		b.amu.Lock()
		s := append([]int16(nil), b.audio[max(0, len(b.audio)-3200):]...)
		b.amu.Unlock()
		if len(s) < 3200 {
			return fmt.Errorf("%d samples so far", len(s))
		}
		f, ratio = siptest.DominantTone(s, 8000, []float64{440, 500, 1000, 1500})
		if f != hz || ratio < 0.5 {
			return fmt.Errorf("browser hears %.0f Hz at %.2f, want %.0f", f, ratio, hz)
		}
		return nil
	})
}

// browserCall is an INVITE the browser received.
type browserCall struct {
	invite *sip.Request
	toTag  string
	cseq   uint32
}

func (b *wsBrowser) waitInvite(ctx context.Context) (*sip.Request, error) {
	for {
		select {
		case r := <-b.reqs:
			if r.Method == sip.INVITE {
				return r, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("no INVITE: %w", ctx.Err())
		}
	}
}

// answer rings, then answers the INVITE with a WebRTC answer, and waits
// for the ACK.
func (b *wsBrowser) answer(ctx context.Context, inv *sip.Request) (*browserCall, error) {
	if !strings.Contains(string(inv.Body()), "UDP/TLS/RTP/SAVPF") {
		return nil, fmt.Errorf("INVITE to a browser without a WebRTC offer:\n%s", inv.Body())
	}
	in := &browserCall{invite: inv, toTag: randHex(4)}
	ringing := sip.NewResponseFromRequest(inv, 180, "Ringing", nil)
	ringing.To().Params.Add("tag", in.toTag)
	b.send(ringing.String())

	b.peer()
	if err := b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: string(inv.Body())}); err != nil {
		return nil, err
	}
	ans, err := b.pc.CreateAnswer(nil)
	if err != nil {
		return nil, err
	}
	gathered := pion.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(ans); err != nil {
		return nil, err
	}
	<-gathered
	ok := sip.NewResponseFromRequest(inv, 200, "OK", []byte(b.pc.LocalDescription().SDP))
	ok.To().Params.Add("tag", in.toTag)
	ok.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s.invalid;transport=ws>", randHex(4), randHex(4))))
	ok.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	b.send(ok.String())
	for {
		select {
		case r := <-b.reqs:
			if r.Method == sip.ACK {
				return in, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("no ACK: %w", ctx.Err())
		}
	}
}

// bye hangs up a call the browser answered and waits for the 200.
func (b *wsBrowser) bye(ctx context.Context, in *browserCall) error {
	inv := in.invite
	from, to := inv.From(), inv.To()
	target := inv.Contact().Address.String()
	msg := fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/WS %s.invalid;branch=z9hG4bK%s\r\nMax-Forwards: 70\r\n"+
		"From: <%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
		target, randHex(4), randHex(8), to.Address.String(), in.toTag, from.Value(), inv.CallID().Value())
	b.send(msg)
	res, err := b.response(ctx, "BYE")
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("BYE: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

func containsCode(err error, code int) bool {
	return err != nil && strings.Contains(err.Error(), fmt.Sprintf(": %d ", code))
}

// httpGetUpgrade sends a WebSocket upgrade without credentials.
func httpGetUpgrade(url string) (int, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Protocol", "sip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
