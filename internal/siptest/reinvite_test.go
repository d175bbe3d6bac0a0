package siptest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/internal/media/g711"
)

// rawUA is a bare sipgo user agent playing Switchboard's role, so tests can
// send what a phone never would (offerless INVITEs, media moves).
type rawUA struct {
	dua  *sipgo.DialogUA
	conn net.PacketConn
}

func newRawUA(t *testing.T) *rawUA {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientLogger(quiet))
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() {
		_ = ua.Close()
		_ = conn.Close()
		<-done
	})
	port := conn.LocalAddr().(*net.UDPAddr).Port
	return &rawUA{conn: conn, dua: &sipgo.DialogUA{Client: cli,
		ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: "127.0.0.1", Port: port}}}}
}

// rtpSink is a UDP socket standing in for Switchboard's media port.
func rtpSink(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// hearsOn reads RTP from sink for a while and checks it carries freq.
func hearsOn(t *testing.T, sink *net.UDPConn, freq float64) bool {
	t.Helper()
	var pcm []int16
	buf := make([]byte, 1500)
	deadline := time.Now().Add(2 * time.Second)
	for len(pcm) < 2400 && time.Now().Before(deadline) { // 300 ms
		_ = sink.SetReadDeadline(deadline)
		n, err := sink.Read(buf)
		if err != nil {
			break
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil || p.PayloadType != ptPCMU {
			continue
		}
		dec := make([]int16, len(p.Payload))
		g711.DecodeULaw(dec, p.Payload)
		pcm = append(pcm, dec...)
	}
	return len(pcm) >= 2400 && Hears(pcm, 8000, freq)
}

func sdpFor(sink *net.UDPConn, version uint64) []byte {
	s := &SDP{SessionID: 9, Version: version, Addr: "127.0.0.1", Port: sink.LocalAddr().(*net.UDPAddr).Port,
		Formats: []uint8{0}, RTPMap: map[uint8]string{0: "PCMU/8000"}, Direction: DirSendRecv}
	return s.Bytes()
}

// TestFarEndMovesMedia: an offerless INVITE (the phone offers in its 200,
// the ACK answers) and a re-INVITE that moves our RTP destination, as
// Switchboard does when it re-anchors media.
func TestFarEndMovesMedia(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	phone := newPhone(t, Config{User: "1002", ToneHz: toneB})
	phone.AutoAnswer(0)
	sw := newRawUA(t)
	sink1, sink2 := rtpSink(t), rtpSink(t)

	var target sip.Uri
	if err := sip.ParseUri(phone.URI(), &target); err != nil {
		t.Fatal(err)
	}
	sess, err := sw.dua.Invite(ctx, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatalf("WaitAnswer: %v", err)
	}
	offer, err := ParseSDP(sess.InviteResponse.Body())
	if err != nil {
		t.Fatalf("200 to offerless INVITE must carry an offer: %v", err)
	}
	if offer.Direction != DirSendRecv {
		t.Errorf("offer direction %s", offer.Direction)
	}
	ack := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody(sdpFor(sink1, 1))
	if err := sess.WriteAck(ctx, ack); err != nil {
		t.Fatal(err)
	}
	if !hearsOn(t, sink1, toneB) {
		t.Fatal("no 440 Hz RTP at the address answered in the ACK")
	}

	reinv := sip.NewRequest(sip.INVITE, sess.InviteResponse.Contact().Address)
	reinv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reinv.SetBody(sdpFor(sink2, 2))
	res, err := sess.Do(ctx, reinv)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE: %v %v", res, err)
	}
	if _, err := ParseSDP(res.Body()); err != nil {
		t.Fatalf("200 to re-INVITE lacks SDP: %v", err)
	}
	ack2 := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
	if err := sess.WriteRequest(ack2); err != nil {
		t.Fatal(err)
	}
	if !hearsOn(t, sink2, toneB) {
		t.Fatal("RTP did not move to the re-INVITE's address")
	}

	calls := phone.Calls()
	if len(calls) != 1 {
		t.Fatalf("phone has %d calls", len(calls))
	}
	if err := sess.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	waitDone(ctx, t, "phone", calls[0])
}

// TestBackToBackReinvites: a re-INVITE sent right after the ACK of the
// previous one (hold, then resume at once) must not meet 491 while that ACK
// is still on its way, whichever side sends them.
func TestBackToBackReinvites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := connect(ctx, t, "udp", "")
	for i := 0; i < 5; i++ {
		for _, c := range []*Call{p.ca, p.cb, p.ca} {
			if err := c.Hold(ctx); err != nil {
				t.Fatalf("round %d: Hold: %v", i, err)
			}
			if err := c.Resume(ctx); err != nil {
				t.Fatalf("round %d: Resume: %v", i, err)
			}
		}
	}
	if p.ca.LocalDirection() != DirSendRecv || p.cb.LocalDirection() != DirSendRecv {
		t.Errorf("directions %s/%s after resume", p.ca.LocalDirection(), p.cb.LocalDirection())
	}
}
