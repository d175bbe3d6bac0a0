package webrtc

import (
	"net/netip"

	pion "github.com/pion/webrtc/v4"
)

// bufSize holds any RTP packet a browser or our endpoint sends; G.711 at
// 20 ms is 172 bytes, SRTP adds its tag after pion has removed it.
const bufSize = 1500

// fromBrowser forwards the browser's decrypted RTP to the leg's endpoint,
// unchanged (PCMU and RFC 4733 events keep the browser's payload types,
// which the plain SDP announced). One buffer per call, no allocation here.
func (s *Session) fromBrowser(tr *pion.TrackRemote) {
	defer s.wg.Done()
	buf := make([]byte, bufSize)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return // the PeerConnection closed
		}
		if p := s.peer.Load(); p != nil && n >= 12 {
			_, _ = s.shim.WriteToUDPAddrPort(buf[:n], *p)
		}
	}
}

// toBrowser sends what the leg's endpoint emits (relayed audio, music,
// the mixer's output) to the browser. pion rewrites SSRC and payload type
// for the negotiated sender; only PCMU goes through, since a relayed RFC
// 4733 event would reach the browser relabelled as audio.
func (s *Session) toBrowser() {
	defer s.wg.Done()
	buf := make([]byte, bufSize)
	for {
		n, from, err := s.shim.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // Close closed the shim
		}
		p := s.peer.Load()
		if p == nil || n < 12 || !sameAddr(from, *p) {
			continue // only the leg's own endpoint may feed the browser
		}
		if pt := buf[1] & 0x7f; pt != 0 {
			continue
		}
		_, _ = s.track.Write(buf[:n])
	}
}

func sameAddr(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// drainRTCP reads the sender's RTCP so pion's buffers do not fill; with no
// interceptors there is nothing to act on.
func (s *Session) drainRTCP(sender *pion.RTPSender) {
	defer s.wg.Done()
	buf := make([]byte, bufSize)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}
