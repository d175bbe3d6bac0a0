package webrtc

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/internal/media"
)

// browser is a pion PeerConnection standing in for a browser: PCMU and
// telephone-event/8000 under the payload types Chrome uses.
type browser struct {
	pc    *pion.PeerConnection
	track *pion.TrackLocalStaticRTP
	got   chan *rtp.Packet
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
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
	b := &browser{pc: pc, track: track, got: make(chan *rtp.Packet, 64)}
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		go func() {
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				select {
				case b.got <- p:
				default:
				}
			}
		}()
	})
	t.Cleanup(func() { _ = pc.Close() })
	return b
}

// offer returns the browser's offer with every candidate.
func (b *browser) offer(t testing.TB) []byte {
	t.Helper()
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := pion.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-done
	return []byte(b.pc.LocalDescription().SDP)
}

// answer answers the gateway's offer.
func (b *browser) answer(t testing.TB, offer []byte) []byte {
	t.Helper()
	if err := b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: string(offer)}); err != nil {
		t.Fatal(err)
	}
	a, err := b.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := pion.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(a); err != nil {
		t.Fatal(err)
	}
	<-done
	return []byte(b.pc.LocalDescription().SDP)
}

func (b *browser) setAnswer(t testing.TB, answer []byte) {
	t.Helper()
	if err := b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
}

// endpoint stands in for a media.Endpoint: a local UDP socket.
func endpoint(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

func plainSDP(addr netip.AddrPort, dtmf uint8, dir media.Direction) []byte {
	return media.BuildSDP(media.SDPParams{SessionID: 1, Version: 1, Addr: addr, Codecs: []media.Codec{media.PCMU},
		DTMFType: dtmf, HasDTMF: dtmf != 0, Direction: dir})
}

func testGateway(t testing.TB) *Gateway {
	t.Helper()
	g, err := New(Config{BindAddr: netip.MustParseAddr("127.0.0.1"), IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// rtpPacket is a 20 ms PCMU packet.
func rtpPacket(seq uint16, pt uint8, fill byte) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x1234},
		Payload: make([]byte, 160)}
	for i := range p.Payload {
		p.Payload[i] = fill
	}
	b, _ := p.Marshal()
	return b
}

// replaceDirection sets the audio stream's direction attribute in an SDP.
func replaceDirection(sdp, dir string) string {
	for _, d := range []string{"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"} {
		sdp = strings.ReplaceAll(sdp, d+"\r\n", "a="+dir+"\r\n")
	}
	return sdp
}
