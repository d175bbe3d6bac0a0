package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Validate checks every field and returns all problems at once, each naming
// the field and the bad value, e.g. `sip.addr "abc": missing port in address`.
// It checks that rtp.hold_music, when set, is an existing file, so a typo
// fails at start-up rather than at the first hold.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, value any, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %s: %s", field, quote(value), fmt.Sprintf(format, args...)))
	}

	if c.DataDir == "" {
		bad("data_dir", c.DataDir, "must not be empty")
	}
	if _, ok := parseLogLevel(c.LogLevel); !ok {
		bad("log_level", c.LogLevel, "want debug, info, warn or error")
	}

	// SIP.
	if err := checkHostPort(c.SIP.Addr); err != nil {
		bad("sip.addr", c.SIP.Addr, "%v", err)
	}
	if a := c.SIP.AdvertiseAddr; a != "" {
		ip, err := netip.ParseAddr(a)
		switch {
		case err != nil:
			bad("sip.advertise_addr", a, "not an IP address")
		case ip.IsUnspecified():
			bad("sip.advertise_addr", a, "must be an address peers can reach, not %s", a)
		}
	}
	switch r := c.SIP.Realm; {
	case r == "":
		bad("sip.realm", r, "must not be empty")
	case strings.ContainsAny(r, "\"\\") || strings.ContainsFunc(r, isControl):
		// The realm is sent as a quoted-string (RFC 3261 §25.1).
		bad("sip.realm", r, "must not contain quotes, backslashes or control characters")
	}
	if len(c.SIP.Transports) == 0 {
		bad("sip.transports", c.SIP.Transports, "must not be empty; want udp, tcp or both")
	}
	seen := make(map[string]bool)
	for _, t := range c.SIP.Transports {
		switch {
		case t != "udp" && t != "tcp":
			bad("sip.transports", t, "unknown transport; want udp or tcp")
		case seen[t]:
			bad("sip.transports", t, "listed twice")
		}
		seen[t] = true
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"sip.register_min_expires", c.SIP.RegisterMinExpires},
		{"sip.register_max_expires", c.SIP.RegisterMaxExpires},
		{"sip.nonce_ttl", c.SIP.NonceTTL},
		{"sip.auth_fail_window", c.SIP.AuthFailWindow},
		{"sip.ring_timeout", c.SIP.RingTimeout},
	} {
		if d.v <= 0 {
			bad(d.field, d.v, "must be positive")
		}
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"sip.register_min_expires", c.SIP.RegisterMinExpires},
		{"sip.register_max_expires", c.SIP.RegisterMaxExpires},
	} {
		if d.v > 0 && d.v%time.Second != 0 {
			bad(d.field, d.v, "must be whole seconds (the Expires header counts seconds)")
		}
	}
	if lo, hi := c.SIP.RegisterMinExpires, c.SIP.RegisterMaxExpires; lo > hi {
		bad("sip.register_min_expires", lo, "must not exceed sip.register_max_expires (%s)", hi)
	}
	if c.SIP.AuthFailLimit < 1 {
		bad("sip.auth_fail_limit", c.SIP.AuthFailLimit, "must be at least 1")
	}
	if c.SIP.MaxCalls < 1 {
		bad("sip.max_calls", c.SIP.MaxCalls, "must be at least 1")
	}

	// RTP.
	lo, hi := c.RTP.PortMin, c.RTP.PortMax
	for _, p := range []struct {
		field string
		v     int
	}{{"rtp.port_min", lo}, {"rtp.port_max", hi}} {
		// Below 1024 needs privileges and collides with well-known services.
		if p.v < 1024 || p.v > 65535 {
			bad(p.field, p.v, "must be within 1024-65535")
		}
	}
	if lo%2 != 0 {
		bad("rtp.port_min", lo, "must be even (RTP takes the even port of each pair, RFC 3550 §11)")
	}
	if lo >= hi {
		bad("rtp.port_min", lo, "must be below rtp.port_max (%d): the range needs at least 2 ports", hi)
	}
	if c.Recording.AutoResume < 0 || c.Recording.AutoResume > time.Hour {
		bad("recording.auto_resume", c.Recording.AutoResume, "must be between 0 (off) and 1h")
	}
	if c.RTP.Timeout < 0 {
		bad("rtp.timeout", c.RTP.Timeout, "must not be negative (0 disables it)")
	} else if c.RTP.Timeout > 0 && c.RTP.Timeout < 5*time.Second {
		bad("rtp.timeout", c.RTP.Timeout, "must be 0 (off) or at least 5s: phones pause RTP briefly")
	}
	if f := c.RTP.HoldMusic; f != "" {
		fi, err := os.Stat(f)
		switch {
		case err != nil:
			bad("rtp.hold_music", f, "%v", unwrapPathError(err))
		case !fi.Mode().IsRegular():
			bad("rtp.hold_music", f, "not a regular file")
		}
	}

	// HTTP.
	if err := checkHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", c.HTTP.Addr, "%v", err)
	}

	// Numbers.
	if cc := c.Numbers.CountryCode; !isCountryCode(cc) {
		bad("numbers.country_code", cc, "want 1 to 3 digits, not starting with 0, e.g. 31")
	}
	for i, s := range c.WebRTC.ICEServers {
		if len(s.URLs) == 0 {
			bad(fmt.Sprintf("webrtc.ice_servers[%d].urls", i), "", "needs at least one stun: or turn: URL")
		}
		for _, u := range s.URLs {
			scheme, _, _ := strings.Cut(u, ":")
			switch scheme {
			case "stun", "stuns", "turn", "turns":
			default:
				bad(fmt.Sprintf("webrtc.ice_servers[%d].urls", i), u, "must start with stun:, stuns:, turn: or turns:")
			}
		}
	}
	return errors.Join(errs...)
}

// quote formats a bad value for an error message.
func quote(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(v)
}

// checkHostPort accepts "host:port" and ":port" with a port in 1-65535.
// Port 0 (ephemeral) is refused: phones and browsers must know where to go.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return errors.New(ae.Err)
		}
		return err
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && !isHostname(host) {
			return fmt.Errorf("host %q is neither an IP address nor a host name", host)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("port %q is not a number", port)
	}
	if n < 1 || n > 65535 {
		return fmt.Errorf("port %d is outside 1-65535", n)
	}
	return nil
}

// isHostname reports whether h is a plausible DNS name: dot-separated
// labels of letters, digits and hyphens.
func isHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func isCountryCode(cc string) bool {
	if len(cc) < 1 || len(cc) > 3 || cc[0] == '0' {
		return false
	}
	for _, r := range cc {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// unwrapPathError drops the path from an *os.PathError: the message
// already names it.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
