// Package config holds Switchboard's typed configuration: defaults, a YAML
// file, SWITCHBOARD_* environment variables and command-line flags, in that
// order of precedence (flags win), validated at start-up.
//
// CONTRACT FILE: the exported API below is what the rest codes against.
package config

import (
	"flag"
	"time"
)

// Config is the whole configuration. Every field is documented where it is
// declared; that documentation is the user's reference (docs/CONFIG.md mirrors it).
type Config struct {
	// DataDir holds the SQLite database (switchboard.db) and recordings.
	DataDir string `yaml:"data_dir"`
	// LogLevel is debug, info, warn or error.
	LogLevel string  `yaml:"log_level"`
	SIP      SIP     `yaml:"sip"`
	RTP      RTP     `yaml:"rtp"`
	HTTP     HTTP    `yaml:"http"`
	Numbers  Numbers `yaml:"numbers"`
}

// SIP configures the SIP listeners, registrar and B2BUA.
type SIP struct {
	// Addr is where SIP listens, on UDP and TCP alike. Default 0.0.0.0:5060.
	Addr string `yaml:"addr"`
	// AdvertiseAddr is the IP put in Via/Contact/SDP when Addr binds all
	// interfaces; default: the first non-loopback IPv4, else 127.0.0.1.
	AdvertiseAddr string `yaml:"advertise_addr"`
	// Realm is the digest authentication realm. Default "switchboard".
	Realm string `yaml:"realm"`
	// Transports lists the enabled transports: udp, tcp. Default both.
	Transports []string `yaml:"transports"`
	// RegisterMinExpires/MaxExpires bound a REGISTER's Expires (RFC 3261 §10.3
	// step 7: too short gets 423). Defaults 60 s and 3600 s.
	RegisterMinExpires time.Duration `yaml:"register_min_expires"`
	RegisterMaxExpires time.Duration `yaml:"register_max_expires"`
	// NonceTTL is how long a digest nonce stays valid. Default 5m.
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
	PortMin int `yaml:"port_min"`
	PortMax int `yaml:"port_max"`
	// HoldMusic is a WAV file (8 kHz mono 16-bit) played to held parties;
	// empty uses the built-in music.
	HoldMusic string `yaml:"hold_music"`
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
func Default() Config { panic("unimplemented") }

// Load builds the configuration: defaults, then the YAML file at path if
// path is not empty (unknown keys are an error), then SWITCHBOARD_* variables
// from environ (e.g. SWITCHBOARD_SIP_ADDR), then the flags set on fs (only
// those the user set). It does not validate.
func Load(path string, environ []string, fs *flag.FlagSet) (Config, error) { panic("unimplemented") }

// RegisterFlags declares the command-line flags (--config, --sip-addr,
// --http-addr, --data-dir, --rtp-ports, --log-level, --advertise-addr) on fs.
// The returned pointer receives --config's value after fs.Parse.
func RegisterFlags(fs *flag.FlagSet) (configPath *string) { panic("unimplemented") }

// Validate checks every field and returns all problems at once, each naming
// the field and the bad value.
func (c Config) Validate() error { panic("unimplemented") }
