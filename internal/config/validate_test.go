package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	music := filepath.Join(dir, "hold.wav")
	if err := os.WriteFile(music, []byte("RIFF"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // "" for valid; else a substring of the error
	}{
		{"defaults", func(c *Config) {}, ""},
		{"ipv6 and names", func(c *Config) { c.SIP.Addr = "[::1]:5060"; c.HTTP.Addr = "localhost:8080" }, ""},
		{"all interfaces", func(c *Config) { c.SIP.Addr = ":5060" }, ""},
		{"advertise ipv4", func(c *Config) { c.SIP.AdvertiseAddr = "192.0.2.10" }, ""},
		{"hold music exists", func(c *Config) { c.RTP.HoldMusic = music }, ""},
		{"upper-case level", func(c *Config) { c.LogLevel = "DEBUG" }, ""},
		{"smallest rtp range", func(c *Config) { c.RTP.PortMin, c.RTP.PortMax = 1024, 1025 }, ""},
		{"equal register bounds", func(c *Config) { c.SIP.RegisterMinExpires = time.Hour }, ""},

		{"empty data dir", func(c *Config) { c.DataDir = "" }, `data_dir "": must not be empty`},
		{"bad log level", func(c *Config) { c.LogLevel = "verbose" }, `log_level "verbose"`},
		{"sip addr no port", func(c *Config) { c.SIP.Addr = "abc" }, `sip.addr "abc": missing port`},
		{"sip addr port 0", func(c *Config) { c.SIP.Addr = "0.0.0.0:0" }, `sip.addr "0.0.0.0:0": port 0 is outside 1-65535`},
		{"sip addr port high", func(c *Config) { c.SIP.Addr = ":65536" }, `sip.addr ":65536": port 65536`},
		{"sip addr port name", func(c *Config) { c.SIP.Addr = ":sip" }, `port "sip" is not a number`},
		{"sip addr bad host", func(c *Config) { c.SIP.Addr = "a b:5060" }, `sip.addr "a b:5060": host`},
		{"http addr empty", func(c *Config) { c.HTTP.Addr = "" }, `http.addr ""`},
		{"http addr port 0", func(c *Config) { c.HTTP.Addr = "127.0.0.1:0" }, `http.addr "127.0.0.1:0": port 0`},
		{"advertise host name", func(c *Config) { c.SIP.AdvertiseAddr = "pbx.example.com" }, `sip.advertise_addr "pbx.example.com": not an IP`},
		{"advertise unspecified", func(c *Config) { c.SIP.AdvertiseAddr = "0.0.0.0" }, `sip.advertise_addr "0.0.0.0": must be an address peers can reach`},
		{"empty realm", func(c *Config) { c.SIP.Realm = "" }, `sip.realm "": must not be empty`},
		{"quoted realm", func(c *Config) { c.SIP.Realm = `a"b` }, `sip.realm "a\"b": must not contain quotes`},
		{"no transports", func(c *Config) { c.SIP.Transports = nil }, `sip.transports []: must not be empty`},
		{"tls transport", func(c *Config) { c.SIP.Transports = []string{"udp", "tls"} }, `sip.transports "tls": unknown transport`},
		{"transport twice", func(c *Config) { c.SIP.Transports = []string{"udp", "udp"} }, `sip.transports "udp": listed twice`},
		{"zero register min", func(c *Config) { c.SIP.RegisterMinExpires = 0 }, `sip.register_min_expires 0s: must be positive`},
		{"negative register max", func(c *Config) { c.SIP.RegisterMaxExpires = -time.Second }, `sip.register_max_expires -1s: must be positive`},
		{"fractional register min", func(c *Config) { c.SIP.RegisterMinExpires = 1500 * time.Millisecond }, `sip.register_min_expires 1.5s: must be whole seconds`},
		{"register min above max", func(c *Config) { c.SIP.RegisterMinExpires = 2 * time.Hour }, `sip.register_min_expires 2h0m0s: must not exceed sip.register_max_expires (1h0m0s)`},
		{"zero nonce ttl", func(c *Config) { c.SIP.NonceTTL = 0 }, `sip.nonce_ttl 0s: must be positive`},
		{"zero auth window", func(c *Config) { c.SIP.AuthFailWindow = 0 }, `sip.auth_fail_window 0s: must be positive`},
		{"zero ring timeout", func(c *Config) { c.SIP.RingTimeout = 0 }, `sip.ring_timeout 0s: must be positive`},
		{"zero auth limit", func(c *Config) { c.SIP.AuthFailLimit = 0 }, `sip.auth_fail_limit 0: must be at least 1`},
		{"zero max calls", func(c *Config) { c.SIP.MaxCalls = 0 }, `sip.max_calls 0: must be at least 1`},
		{"odd rtp min", func(c *Config) { c.RTP.PortMin = 20001 }, `rtp.port_min 20001: must be even`},
		{"rtp min equals max", func(c *Config) { c.RTP.PortMin, c.RTP.PortMax = 20000, 20000 }, `rtp.port_min 20000: must be below rtp.port_max (20000)`},
		{"rtp min above max", func(c *Config) { c.RTP.PortMin, c.RTP.PortMax = 30000, 20000 }, `must be below rtp.port_max`},
		{"rtp privileged", func(c *Config) { c.RTP.PortMin = 1000 }, `rtp.port_min 1000: must be within 1024-65535`},
		{"rtp max too high", func(c *Config) { c.RTP.PortMax = 70000 }, `rtp.port_max 70000: must be within 1024-65535`},
		{"hold music missing", func(c *Config) { c.RTP.HoldMusic = filepath.Join(dir, "nope.wav") }, `nope.wav": no such file`},
		{"hold music is a dir", func(c *Config) { c.RTP.HoldMusic = dir }, `not a regular file`},
		{"rtp timeout negative", func(c *Config) { c.RTP.Timeout = -time.Second }, `rtp.timeout`},
		{"rtp timeout too short", func(c *Config) { c.RTP.Timeout = time.Second }, `at least 5s`},
		{"rtp timeout off", func(c *Config) { c.RTP.Timeout = 0 }, ""},
		{"country code letters", func(c *Config) { c.Numbers.CountryCode = "NL" }, `numbers.country_code "NL"`},
		{"country code plus", func(c *Config) { c.Numbers.CountryCode = "+31" }, `numbers.country_code "+31"`},
		{"country code long", func(c *Config) { c.Numbers.CountryCode = "3100" }, `numbers.country_code "3100"`},
		{"country code zero", func(c *Config) { c.Numbers.CountryCode = "0" }, `numbers.country_code "0"`},
		{"country code empty", func(c *Config) { c.Numbers.CountryCode = "" }, `numbers.country_code ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestValidateAllAtOnce: every problem is reported, not just the first.
func TestValidateAllAtOnce(t *testing.T) {
	c := Default()
	c.SIP.Addr = "abc"
	c.RTP.PortMin = 20001
	c.Numbers.CountryCode = "x"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Fatalf("Validate() = %v, want 3 joined errors", err)
	}
}

func TestSlogLevel(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want slog.Level
	}{
		{"debug", slog.LevelDebug}, {"info", slog.LevelInfo}, {"warn", slog.LevelWarn},
		{"error", slog.LevelError}, {"Warn", slog.LevelWarn}, {"bogus", slog.LevelInfo}, {"", slog.LevelInfo},
	} {
		c := Default()
		c.LogLevel = tt.in
		if got := c.SlogLevel(); got != tt.want {
			t.Errorf("SlogLevel(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestAdvertiseIP(t *testing.T) {
	for _, tt := range []struct {
		sip  SIP
		want string // "" means: whatever the machine has, but an IPv4 address
	}{
		{SIP{AdvertiseAddr: "192.0.2.7", Addr: "127.0.0.1:5060"}, "192.0.2.7"},
		{SIP{Addr: "127.0.0.1:5060"}, "127.0.0.1"},
		{SIP{Addr: "[::1]:5060"}, "::1"},
		{SIP{Addr: "0.0.0.0:5060"}, ""},
		{SIP{Addr: ":5060"}, ""},
	} {
		got := tt.sip.AdvertiseIP()
		if tt.want != "" && got != tt.want {
			t.Errorf("%+v.AdvertiseIP() = %q, want %q", tt.sip, got, tt.want)
		}
		if tt.want == "" && (got == "" || strings.Contains(got, ":") || got == "0.0.0.0") {
			t.Errorf("%+v.AdvertiseIP() = %q, want a specific IPv4 address", tt.sip, got)
		}
	}
}
