package webrtc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	pion "github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/internal/media"
)

// ErrClosed is returned by a Session's methods after Close.
var ErrClosed = errors.New("webrtc session closed")

// Session is one browser's call leg: a PeerConnection and the shim socket
// that carries its audio, as plain RTP, to and from the leg's endpoint.
// Its SDP methods are called by the leg's owner one at a time; the packet
// goroutines run on their own until Close.
type Session struct {
	gw     *Gateway
	pc     *pion.PeerConnection
	track  *pion.TrackLocalStaticRTP
	shim   *net.UDPConn
	local  netip.AddrPort // the shim's address, put in the plain SDP
	peer   atomic.Pointer[netip.AddrPort]
	sessID uint64

	mu        sync.Mutex // guards the SDP state below
	closed    bool
	version   uint64
	remote    desc   // the browser's latest SDP
	plainDesc []byte // the plain SDP last handed to the call layer
	answer    []byte // our WebRTC SDP for the current negotiation

	wg sync.WaitGroup // packet goroutines
}

// Accept starts a session for a browser's WebRTC offer (an INVITE from a
// WebSocket phone). It returns the plain SDP offer the call layer should
// see; the call layer's answer goes to Local, which returns the WebRTC
// answer for the browser.
func (g *Gateway) Accept(offer []byte) (*Session, []byte, error) {
	d, err := parseDesc(offer)
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc offer: %w", err)
	}
	s, err := g.newSession()
	if err != nil {
		return nil, nil, err
	}
	if err := s.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: string(offer)}); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("webrtc offer: %w", err)
	}
	s.mu.Lock()
	s.remote = d
	plain := s.plainLocked()
	s.mu.Unlock()
	return s, plain, nil
}

// Offer starts a session for calling a browser: plain is the call layer's
// offer for the leg (its endpoint's address). It returns the WebRTC offer
// to send; the browser's answer goes to Remote.
func (g *Gateway) Offer(ctx context.Context, plain []byte) (*Session, []byte, error) {
	p, err := media.ParseSDP(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: our plain offer: %w", err)
	}
	s, err := g.newSession()
	if err != nil {
		return nil, nil, err
	}
	s.setPeer(p.Addr)
	o, err := s.pc.CreateOffer(nil)
	if err == nil {
		err = s.pc.SetLocalDescription(o)
	}
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("webrtc offer: %w", err)
	}
	sdp, err := s.gathered(ctx)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, sdp, nil
}

func (g *Gateway) newSession() (*Session, error) {
	shim, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(g.addr, 0)))
	if err != nil {
		return nil, fmt.Errorf("webrtc shim socket: %w", err)
	}
	pc, err := g.api.NewPeerConnection(pion.Configuration{ICEServers: g.ice})
	if err != nil {
		_ = shim.Close()
		return nil, fmt.Errorf("webrtc peer connection: %w", err)
	}
	track, err := pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		"audio", "switchboard")
	if err != nil {
		_ = pc.Close()
		_ = shim.Close()
		return nil, fmt.Errorf("webrtc track: %w", err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		_ = pc.Close()
		_ = shim.Close()
		return nil, fmt.Errorf("webrtc add track: %w", err)
	}
	s := &Session{gw: g, pc: pc, track: track, shim: shim, local: shim.LocalAddr().(*net.UDPAddr).AddrPort(),
		sessID: uint64(time.Now().UnixNano() & 0x7fffffffffff), version: 1}
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		s.wg.Add(1)
		go s.fromBrowser(tr)
	})
	pc.OnConnectionStateChange(func(st pion.PeerConnectionState) {
		g.log.Debug("webrtc connection state", "state", st.String(), "shim", s.local)
	})
	s.wg.Add(2)
	go s.toBrowser()
	go s.drainRTCP(sender)
	return s, nil
}

// Local takes the call layer's plain SDP for the leg (an answer to the
// plain offer Accept or Remote returned) and returns the WebRTC SDP for
// the browser. Asked again within the same negotiation (a 183 and then the
// 200), it returns the same answer.
func (s *Session) Local(ctx context.Context, plain []byte) ([]byte, error) {
	p, err := media.ParseSDP(plain)
	if err != nil {
		return nil, fmt.Errorf("webrtc: our plain sdp: %w", err)
	}
	s.setPeer(p.Addr)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if s.pc.SignalingState() != pion.SignalingStateHaveRemoteOffer {
		a := s.answer
		s.mu.Unlock()
		if a == nil {
			if ld := s.pc.LocalDescription(); ld != nil {
				return []byte(ld.SDP), nil
			}
			return nil, errors.New("webrtc: no negotiation in progress")
		}
		return a, nil
	}
	s.mu.Unlock()
	ans, err := s.pc.CreateAnswer(nil)
	if err == nil {
		err = s.pc.SetLocalDescription(ans)
	}
	if err != nil {
		return nil, fmt.Errorf("webrtc answer: %w", err)
	}
	out, err := s.gathered(ctx)
	if err != nil {
		return nil, err
	}
	// pion answers a browser's a=sendonly (hold) with sendrecv; the browser
	// must read the direction the call layer chose (RFC 3264 §6.1).
	out = withDirection(out, p.Direction)
	s.mu.Lock()
	s.answer = out
	s.mu.Unlock()
	return out, nil
}

// Remote takes the browser's SDP — its answer to our offer, or a new offer
// in a re-INVITE (hold, resume, ICE restart) — and returns the plain SDP
// the call layer should see. The same answer seen twice (in a 183 and
// the 200) is applied once.
func (s *Session) Remote(sdp []byte) ([]byte, error) {
	d, err := parseDesc(sdp)
	if err != nil {
		return nil, fmt.Errorf("webrtc: browser sdp: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	switch s.pc.SignalingState() {
	case pion.SignalingStateHaveLocalOffer:
		if err := s.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: string(sdp)}); err != nil {
			return nil, fmt.Errorf("webrtc answer from browser: %w", err)
		}
		s.remote = d
		s.plainDesc = s.plainLocked()
	case pion.SignalingStateStable:
		if rd := s.pc.RemoteDescription(); rd != nil && rd.Type == pion.SDPTypeAnswer && rd.SDP == string(sdp) && s.plainDesc != nil {
			return s.plainDesc, nil // the 200 repeating the 183's answer
		}
		if err := s.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: string(sdp)}); err != nil {
			return nil, fmt.Errorf("webrtc offer from browser: %w", err)
		}
		s.remote, s.answer = d, nil
		s.version++
		s.plainDesc = s.plainLocked()
	default:
		return nil, fmt.Errorf("webrtc: browser sdp in signaling state %s", s.pc.SignalingState())
	}
	return s.plainDesc, nil
}

// plainLocked renders the browser's side as plain SDP: PCMU and the
// browser's telephone-event type at the shim's address, in the browser's
// direction. Payload types are the browser's, since packets cross the
// shim unchanged.
func (s *Session) plainLocked() []byte {
	return media.BuildSDP(media.SDPParams{SessionID: s.sessID, Version: s.version, Addr: s.local,
		Codecs:   []media.Codec{{Name: "PCMU", PayloadType: s.remote.PCMUType, ClockRate: 8000}},
		DTMFType: s.remote.DTMFType, HasDTMF: s.remote.HasDTMF, Direction: s.remote.Direction})
}

// gathered waits for ICE gathering (SIP has no trickle ICE, RFC 8838 is
// not in JsSIP) and returns the local description with every candidate.
func (s *Session) gathered(ctx context.Context) ([]byte, error) {
	done := pion.GatheringCompletePromise(s.pc)
	t := time.NewTimer(s.gw.cfg.GatherTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		// Send what we have: host candidates come first and are enough on
		// a LAN; a slow STUN/TURN server must not hold the call.
		s.gw.log.Warn("webrtc candidate gathering timed out; sending the candidates found so far")
	case <-ctx.Done():
		return nil, fmt.Errorf("webrtc gathering: %w", ctx.Err())
	}
	ld := s.pc.LocalDescription()
	if ld == nil {
		return nil, errors.New("webrtc: no local description")
	}
	return []byte(ld.SDP), nil
}

func (s *Session) setPeer(a netip.AddrPort) {
	if a.IsValid() && a.Port() != 0 && !a.Addr().IsUnspecified() {
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		s.peer.Store(&a)
	}
}

// LocalAddr is the shim's address (the plain SDP's c= and m= port).
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// Close ends the PeerConnection and the shim and waits for the packet
// goroutines. Idempotent.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	_ = s.pc.Close()
	_ = s.shim.Close()
	s.wg.Wait()
}
