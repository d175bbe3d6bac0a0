package webrtc

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/internal/media"
)

// connected waits until audio flows both ways between a browser and the
// endpoint behind a session: the browser's packets arrive at the endpoint
// with their payload unchanged, and the endpoint's at the browser.
func connected(t *testing.T, b *browser, s *Session, ep *net.UDPConn) {
	t.Helper()
	gotEP := make(chan []byte, 16)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := ep.Read(buf)
			if err != nil {
				return
			}
			select {
			case gotEP <- append([]byte(nil), buf[:n]...):
			default:
			}
		}
	}()
	deadline := time.After(10 * time.Second)
	var fromBrowser, toBrowser bool
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(1); !fromBrowser || !toBrowser; seq++ {
		select {
		case <-deadline:
			t.Fatalf("no audio: browser→endpoint %v, endpoint→browser %v", fromBrowser, toBrowser)
		case pkt := <-gotEP:
			var p rtp.Packet
			if err := p.Unmarshal(pkt); err != nil || p.PayloadType != 0 || p.Payload[0] != 0x55 {
				t.Fatalf("endpoint got %v (pt %d)", err, p.PayloadType)
			}
			fromBrowser = true
		case p := <-b.got:
			if p.PayloadType != 0 || p.Payload[0] != 0x33 {
				t.Fatalf("browser got pt %d payload %x", p.PayloadType, p.Payload[0])
			}
			toBrowser = true
		case <-tick.C:
			_, _ = b.track.Write(rtpPacket(seq, 0, 0x55))
			_, _ = ep.WriteToUDPAddrPort(rtpPacket(seq, 0, 0x33), s.LocalAddr())
			// A relayed RFC 4733 event is not sent to the browser as audio.
			_, _ = ep.WriteToUDPAddrPort(rtpPacket(seq, 101, 0x77), s.LocalAddr())
		}
	}
}

func TestAcceptBrowserOffer(t *testing.T) {
	g := testGateway(t)
	b := newBrowser(t)
	s, plain, err := g.Accept(b.offer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sd, err := media.ParseSDP(plain)
	if err != nil {
		t.Fatalf("plain sdp: %v\n%s", err, plain)
	}
	if sd.Addr != s.LocalAddr() || len(sd.Codecs) != 1 || sd.Codecs[0].Name != "PCMU" || !sd.HasDTMF || sd.DTMFType != 126 {
		t.Fatalf("plain offer %+v", sd)
	}
	ep := endpoint(t)
	ans, err := s.Local(ctx(t), plainSDP(addrOf(ep), 126, media.DirectionSendRecv))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Local(ctx(t), plainSDP(addrOf(ep), 126, media.DirectionSendRecv))
	if err != nil || string(again) != string(ans) {
		t.Fatalf("second Local in one negotiation: %v, same answer %v", err, string(again) == string(ans))
	}
	b.setAnswer(t, ans)
	connected(t, b, s, ep)

	// Hold from the browser: a re-offer with a=sendonly reaches the call
	// layer as sendonly, and the answer says recvonly.
	// (pion refuses to apply a munged offer, so the stand-in browser only
	// sends it; the session is what is under test.)
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err = s.Remote([]byte(replaceDirection(o.SDP, "sendonly")))
	if err != nil {
		t.Fatal(err)
	}
	if sd, _ := media.ParseSDP(plain); sd.Direction != media.DirectionSendOnly {
		t.Fatalf("held re-offer reached the call layer as %v", sd.Direction)
	}
	ans, err = s.Local(ctx(t), plainSDP(addrOf(ep), 126, media.DirectionRecvOnly))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := parseDesc(ans); err != nil || d.Direction != media.DirectionRecvOnly {
		t.Fatalf("answer to hold: %v %v", d.Direction, err)
	}
}

func TestOfferToBrowser(t *testing.T) {
	g := testGateway(t)
	b := newBrowser(t)
	ep := endpoint(t)
	s, offer, err := g.Offer(ctx(t), plainSDP(addrOf(ep), 101, media.DirectionSendRecv))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, err := parseDesc(offer); err != nil || !d.HasDTMF || d.DTMFType != telephoneEventPT {
		t.Fatalf("offer %+v %v\n%s", d, err, offer)
	}
	ans := b.answer(t, offer)
	plain, err := s.Remote(ans)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Remote(ans) // the 200 repeating a 183's answer
	if err != nil || string(again) != string(plain) {
		t.Fatalf("answer seen twice: %v", err)
	}
	sd, err := media.ParseSDP(plain)
	if err != nil || sd.Addr != s.LocalAddr() || sd.Codecs[0].Name != "PCMU" {
		t.Fatalf("plain answer %+v %v", sd, err)
	}
	connected(t, b, s, ep)
}

func TestCloseIsIdempotent(t *testing.T) {
	g := testGateway(t)
	s, _, err := g.Offer(ctx(t), plainSDP(addrOf(endpoint(t)), 101, media.DirectionSendRecv))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if _, err := s.Remote([]byte("v=0\r\n")); err == nil {
		t.Fatal("Remote after Close succeeded")
	}
}
