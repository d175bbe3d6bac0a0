// Package config holds Switchboard's typed configuration: defaults, a YAML
// file, SWITCHBOARD_* environment variables and command-line flags, in that
// order of precedence (flags win), validated at start-up.
//
// The field comments below are the user's reference; docs/CONFIG.md mirrors
// them and a test checks that it names every key.
package config

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Config is the whole configuration. Every field is documented where it is
// declared; that documentation is the user's reference (docs/CONFIG.md mirrors it).
type Config struct {
	// DataDir holds the SQLite database (switchboard.db) and recordings.
	// Default "data", relative to the working directory, so a first run
	// needs no setup; the caller creates it if missing.
	DataDir string `yaml:"data_dir"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel  string    `yaml:"log_level"`
	SIP       SIP       `yaml:"sip"`
	RTP       RTP       `yaml:"rtp"`
	HTTP      HTTP      `yaml:"http"`
	Numbers   Numbers   `yaml:"numbers"`
	Recording Recording `yaml:"recording"`
	WebRTC    WebRTC    `yaml:"webrtc"`
}

// WebRTC configures browsers' media (SIP over WebSocket at /sip on the
// HTTP listener; DTLS-SRTP terminated on the server).
type WebRTC struct {
	// ICEServers are STUN/TURN servers offered to the server's ICE agent
	// for browsers behind NAT: each has urls (stun:host:port,
	// turn:host:port?transport=udp …) and, for TURN, username and
	// credential. Empty (the default): host candidates only, enough when
	// browsers reach the server's address directly (LAN, VPN, public IP).
	ICEServers []ICEServer `yaml:"ice_servers"`
	// IncludeLoopback offers 127.0.0.1 as an ICE candidate, for tests whose
	// browser runs on the same host. Default false: real networks never
	// need it.
	IncludeLoopback bool `yaml:"include_loopback"`
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	URLs       []string `yaml:"urls"`
	Username   string   `yaml:"username"`
	Credential string   `yaml:"credential"`
}

// Recording configures call recording (SPEC T8). Recordings are stereo
// WAV files in <data_dir>/recordings.
type Recording struct {
	// AutoResume ends a privacy-shield pause after this long, so a
	// recording is never left paused by mistake. 0: only an explicit
	// resume ends it. A user may ask for a shorter pause, not a longer one.
	// Default 2m.
	AutoResume time.Duration `yaml:"auto_resume"`
	// AllCalls records every answered call. Default false.
	AllCalls bool `yaml:"all_calls"`
	// Queues lists queue numbers whose calls are recorded from the
	// agent's answer.
	Queues []string `yaml:"queues"`
	// Extensions lists extensions whose calls (made or answered) are
	// recorded.
	Extensions []string `yaml:"extensions"`
}

// SIP configures the SIP listeners, registrar and B2BUA.
type SIP struct {
	// Addr is where SIP listens, on UDP and TCP alike. Default 0.0.0.0:5060.
	Addr string `yaml:"addr"`
	// AdvertiseAddr is the IP put in Via/Contact/SDP when Addr binds all
	// interfaces; default: the first non-loopback IPv4, else 127.0.0.1.
	// Empty in the configuration means that default: see AdvertiseIP.
	AdvertiseAddr string `yaml:"advertise_addr"`
	// Realm is the digest authentication realm. Default "switchboard".
	// Extensions' stored HA1 digests are computed with it: changing it
	// invalidates every SIP password.
	Realm string `yaml:"realm"`
	// Transports lists the enabled transports: udp, tcp. Default both.
	Transports []string `yaml:"transports"`
	// RegisterMinExpires/MaxExpires bound a REGISTER's Expires (RFC 3261 §10.3
	// step 7: too short gets 423). Defaults 60 s and 3600 s. Whole seconds,
	// since Expires is counted in seconds.
	RegisterMinExpires time.Duration `yaml:"register_min_expires"`
	RegisterMaxExpires time.Duration `yaml:"register_max_expires"`
	// NonceTTL is how long a digest nonce stays valid. Default 5m: long
	// enough for a phone to answer the challenge, short enough to limit replay.
	NonceTTL time.Duration `yaml:"nonce_ttl"`
	// AuthFailLimit is how many failed authentications one source may make
	// within AuthFailWindow before it gets 403 without a challenge. Default 10 in 1m.
	AuthFailLimit  int           `yaml:"auth_fail_limit"`
	AuthFailWindow time.Duration `yaml:"auth_fail_window"`
	// RingTimeout is how long a call rings before it ends as no-answer. Default 30s.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// MaxCalls bounds simultaneous calls; more get 503. Default 10000.
	MaxCalls int `yaml:"max_calls"`
}

// RTP configures the media relay.
type RTP struct {
	// PortMin and PortMax bound the UDP ports for RTP. Default 20000-29999.
	// PortMin must be even: RTP takes the even port of a pair and RTCP the
	// odd one above it (RFC 3550 §11).
	PortMin int `yaml:"port_min"`
	PortMax int `yaml:"port_max"`
	// HoldMusic is a WAV file (8 kHz mono 16-bit) played to held parties;
	// empty uses the built-in music.
	HoldMusic string `yaml:"hold_music"`
	// Timeout ends a call when one of its phones has sent no RTP for this
	// long while not holding (it vanished without a BYE: crashed, lost its
	// network). Default 60s, like Asterisk's rtptimeout; 0 disables it.
	Timeout time.Duration `yaml:"timeout"`
}

// HTTP configures the API listener.
type HTTP struct {
	// Addr is where the HTTP API listens. Default 127.0.0.1:8080 (loopback
	// only until the API has authentication everywhere).
	Addr string `yaml:"addr"`
}

// Numbers configures number handling (T12).
type Numbers struct {
	// CountryCode is the E.164 country code used to normalise national
	// numbers (a leading 0). Default "31".
	CountryCode string `yaml:"country_code"`
}

// Default returns the configuration with every documented default.
func Default() Config {
	return Config{
		DataDir:  "data",
		LogLevel: "info",
		SIP: SIP{
			Addr:               "0.0.0.0:5060",
			Realm:              "switchboard",
			Transports:         []string{"udp", "tcp"},
			RegisterMinExpires: 60 * time.Second,
			RegisterMaxExpires: 3600 * time.Second,
			NonceTTL:           5 * time.Minute,
			AuthFailLimit:      10,
			AuthFailWindow:     time.Minute,
			RingTimeout:        30 * time.Second,
			MaxCalls:           10000,
		},
		RTP: RTP{
			PortMin: 20000,
			PortMax: 29999,
			Timeout: 60 * time.Second,
		},
		HTTP: HTTP{
			Addr: "127.0.0.1:8080",
		},
		Numbers: Numbers{
			CountryCode: "31",
		},
		WebRTC: WebRTC{ICEServers: []ICEServer{}},
		Recording: Recording{
			AutoResume: 2 * time.Minute,
			Queues:     []string{},
			Extensions: []string{},
		},
	}
}

// SlogLevel returns LogLevel as a slog.Level, Info when it is not one of
// the known names (Validate reports those). It is not called LogLevel
// because that name is the field's.
func (c Config) SlogLevel() slog.Level {
	l, _ := parseLogLevel(c.LogLevel)
	return l
}

// parseLogLevel maps the documented names, case-insensitively.
func parseLogLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// AdvertiseIP returns the IP to put in Via, Contact and SDP: AdvertiseAddr
// when set; else Addr's host when it is a specific IP; else the first
// non-loopback IPv4 address of an interface that is up; else 127.0.0.1.
func (s SIP) AdvertiseIP() string {
	if s.AdvertiseAddr != "" {
		return s.AdvertiseAddr
	}
	if host, _, err := net.SplitHostPort(s.Addr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
			return ip.String()
		}
	}
	if ip, ok := firstNonLoopbackIPv4(); ok {
		return ip.String()
	}
	return "127.0.0.1"
}

func firstNonLoopbackIPv4() (netip.Addr, bool) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return netip.Addr{}, false
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			ip = ip.Unmap()
			if ok && ip.Is4() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip, true
			}
		}
	}
	return netip.Addr{}, false
}
