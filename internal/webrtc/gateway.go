// Package webrtc terminates browsers' WebRTC media (DTLS-SRTP over ICE,
// RFC 8827) on the server, with pion, so a browser's call leg joins the
// relay and the mixer like a desk phone's.
//
// The seam is SDP. The call layer keeps speaking plain RTP/AVP SDP to a
// media.Endpoint of its own; for each WebRTC leg a Session stands between
// that endpoint and the browser:
//
//	browser ⇄ (ICE, DTLS-SRTP, pion) ⇄ Session shim socket ⇄ (plain RTP, local) ⇄ media.Endpoint ⇄ relay/mixer
//
// The Session translates the browser's SDP into a plain SDP that points at
// its shim socket, and the call layer's plain SDP into the WebRTC offer or
// answer the browser sees. The codec is PCMU on both sides, so packets cross
// the shim as they are (SRTP decrypted or encrypted by pion): no
// transcoding, and hold, music, transfer, conference, recording and
// monitoring work unchanged because the endpoint cannot tell the browser
// from a desk phone. The price is one extra local datagram each way.
package webrtc

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pion "github.com/pion/webrtc/v4"
)

// ICEServer is a STUN or TURN server given to the ICE agent (RFC 8445),
// e.g. stun:stun.example.org:3478 or turn:turn.example.org:3478?transport=udp.
type ICEServer struct {
	URLs       []string
	Username   string // TURN only
	Credential string // TURN only
}

// Config configures a Gateway.
type Config struct {
	// BindAddr is the media engine's address: shim sockets bind there so
	// the endpoints' packets never leave the host.
	BindAddr netip.Addr
	// ICEServers are the STUN/TURN servers; none means host candidates only.
	ICEServers []ICEServer
	// IncludeLoopback offers loopback ICE candidates: tests whose browser
	// runs on the same host over 127.0.0.1. Real networks leave it off.
	IncludeLoopback bool
	// GatherTimeout bounds candidate gathering (SIP carries no trickle
	// ICE, so an SDP waits for every candidate). Default 5s.
	GatherTimeout time.Duration
	Logger        *slog.Logger
}

// telephoneEventPT is the RFC 4733 payload type we offer browsers.
const telephoneEventPT = 101

// Gateway creates WebRTC sessions; it is safe for concurrent use.
type Gateway struct {
	cfg  Config
	log  *slog.Logger
	api  *pion.API
	ice  []pion.ICEServer
	addr netip.Addr
}

// New builds a gateway: a pion API with PCMU and telephone-event only.
func New(cfg Config) (*Gateway, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = 5 * time.Second
	}
	if !cfg.BindAddr.IsValid() || cfg.BindAddr.IsUnspecified() {
		return nil, fmt.Errorf("webrtc: bind address %v must be a specific IP", cfg.BindAddr)
	}
	me := &pion.MediaEngine{}
	if err := me.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, pion.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("webrtc: register PCMU: %w", err)
	}
	if err := me.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-16"},
		PayloadType:        telephoneEventPT,
	}, pion.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("webrtc: register telephone-event: %w", err)
	}
	se := pion.SettingEngine{}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// IPv4 UDP only: the media engine is IPv4, and every extra network
	// type is another socket and another round of checks per call.
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	// No mDNS: browsers that hide their host address behind a .local name
	// still reach us, and we learn them as peer-reflexive candidates from
	// their checks (RFC 8445 §7.3.1.3) without a multicast socket per call.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// No interceptors (NACK, TWCC, reports): G.711 audio at 50 packets/s
	// gains nothing from them, and each costs work on every packet.
	api := pion.NewAPI(pion.WithMediaEngine(me), pion.WithSettingEngine(se),
		pion.WithInterceptorRegistry(&interceptor.Registry{}))
	g := &Gateway{cfg: cfg, log: cfg.Logger.With("component", "webrtc"), api: api, addr: cfg.BindAddr.Unmap()}
	for _, s := range cfg.ICEServers {
		is := pion.ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			is.Credential = s.Credential
		}
		g.ice = append(g.ice, is)
	}
	return g, nil
}
