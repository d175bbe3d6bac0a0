package config

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// Flag names, declared by RegisterFlags and read back by Load.
const (
	flagConfig        = "config"
	flagSIPAddr       = "sip-addr"
	flagHTTPAddr      = "http-addr"
	flagDataDir       = "data-dir"
	flagRTPPorts      = "rtp-ports"
	flagLogLevel      = "log-level"
	flagAdvertiseAddr = "advertise-addr"
	flagRealm         = "realm"
)

// RegisterFlags declares the command-line flags (--config, --sip-addr,
// --http-addr, --data-dir, --rtp-ports, --log-level, --advertise-addr,
// --realm) on fs. The returned pointer receives --config's value after
// fs.Parse. The defaults shown in the usage text are Default()'s; only
// flags the user sets override the file and environment.
func RegisterFlags(fs *flag.FlagSet) (configPath *string) {
	d := Default()
	configPath = fs.String(flagConfig, "", "YAML configuration `file` (see docs/CONFIG.md)")
	fs.String(flagSIPAddr, d.SIP.Addr, "SIP listen `host:port` (UDP and TCP)")
	fs.String(flagHTTPAddr, d.HTTP.Addr, "HTTP API listen `host:port`")
	fs.String(flagDataDir, d.DataDir, "data `directory` (database, recordings)")
	fs.String(flagRTPPorts, fmt.Sprintf("%d-%d", d.RTP.PortMin, d.RTP.PortMax), "RTP UDP port `range` MIN-MAX")
	fs.String(flagLogLevel, d.LogLevel, "log `level`: debug, info, warn or error")
	fs.String(flagAdvertiseAddr, d.SIP.AdvertiseAddr, "`IP` advertised in SIP and SDP (default: first non-loopback IPv4)")
	fs.String(flagRealm, d.SIP.Realm, "SIP digest authentication `realm`")
	return configPath
}

// applyFlags applies the flags the user set on fs. Flags it does not own
// (a command's own, like --version) are ignored.
func applyFlags(c *Config, fs *flag.FlagSet) error {
	var errs []error
	fs.Visit(func(f *flag.Flag) {
		v := f.Value.String()
		switch f.Name {
		case flagSIPAddr:
			c.SIP.Addr = v
		case flagHTTPAddr:
			c.HTTP.Addr = v
		case flagDataDir:
			c.DataDir = v
		case flagLogLevel:
			c.LogLevel = v
		case flagAdvertiseAddr:
			c.SIP.AdvertiseAddr = v
		case flagRealm:
			c.SIP.Realm = v
		case flagRTPPorts:
			lo, hi, err := parsePortRange(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("flag --%s %q: %w", flagRTPPorts, v, err))
				return
			}
			c.RTP.PortMin, c.RTP.PortMax = lo, hi
		}
	})
	return errors.Join(errs...)
}

// parsePortRange parses "MIN-MAX"; Validate judges the numbers.
func parsePortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, errors.New("want MIN-MAX, e.g. 20000-29999")
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("want MIN-MAX with two integers, e.g. 20000-29999")
	}
	return lo, hi, nil
}
