package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load builds the configuration: defaults, then the YAML file at path if
// path is not empty (unknown keys are an error), then SWITCHBOARD_* variables
// from environ (e.g. SWITCHBOARD_SIP_ADDR), then the flags set on fs (only
// those the user set). It does not validate.
//
// environ is in os.Environ form ("KEY=value"); a variable set to the empty
// string counts as unset, and SWITCHBOARD_* names Load does not know are
// left for other components. fs may be nil; if not, it must have been
// parsed (Load reads which flags the user set).
func Load(path string, environ []string, fs *flag.FlagSet) (Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config file: %w", err)
		}
		if err := decodeYAML(data, &c); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, environ); err != nil {
		return Config{}, err
	}
	if fs != nil {
		if !fs.Parsed() {
			return Config{}, errors.New("config: Load called before the flag set was parsed")
		}
		if err := applyFlags(&c, fs); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// decodeYAML decodes one YAML document onto c, keeping the values of keys
// the document leaves out. An empty document changes nothing.
func decodeYAML(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	// A misspelt key silently ignored is a setting silently not applied.
	dec.KnownFields(true)
	// yaml.v3 reads durations from strings ("30s") and refuses bare
	// integers for time.Duration, which would otherwise mean nanoseconds.
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return nameKeys(data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return err
	default:
		return fmt.Errorf("line %d: a second YAML document; a config file holds one", next.Line)
	}
}

// nameKeys adds the key path to each "line N: cannot unmarshal …" of a
// *yaml.TypeError, which names the line and the Go type but not the key:
// "line 3 (rtp.port_min): cannot unmarshal !!str `low` into int".
func nameKeys(data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return err
	}
	paths := make(map[int]string)
	collectKeyPaths(&root, "", paths)
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = m
		var line int
		if _, serr := fmt.Sscanf(m, "line %d:", &line); serr != nil {
			continue
		}
		if p := paths[line]; p != "" {
			prefix := fmt.Sprintf("line %d", line)
			msgs[i] = prefix + " (" + p + ")" + strings.TrimPrefix(m, prefix)
		}
	}
	return &yaml.TypeError{Errors: msgs}
}

// collectKeyPaths maps the line of each mapping key, and of its value when
// that is a scalar on another line, to the dotted key path. A line holding
// several keys (a flow mapping) gets their common prefix, which is vaguer
// but never wrong.
func collectKeyPaths(n *yaml.Node, prefix string, paths map[int]string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			collectKeyPaths(c, prefix, paths)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			addPath(paths, k.Line, p)
			if v.Kind == yaml.ScalarNode {
				addPath(paths, v.Line, p)
			}
			collectKeyPaths(v, p, paths)
		}
	}
}

func addPath(paths map[int]string, line int, p string) {
	old, ok := paths[line]
	if !ok {
		paths[line] = p
		return
	}
	a, b := strings.Split(old, "."), strings.Split(p, ".")
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	if n == 0 {
		paths[line] = "" // ambiguous: keep the line, drop the name
		return
	}
	paths[line] = strings.Join(a[:n], ".")
}

// envVar is one SWITCHBOARD_* variable and how it sets the configuration.
type envVar struct {
	name string
	key  string // the YAML key it overrides, for the docs test
	set  func(c *Config, v string) error
}

// envVars lists every variable Load reads. Names follow the YAML keys
// (SWITCHBOARD_<SECTION>_<KEY>), except SWITCHBOARD_COUNTRY_CODE, which
// is short because it is the one most often set.
var envVars = []envVar{
	{"SWITCHBOARD_DATA_DIR", "data_dir", func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"SWITCHBOARD_LOG_LEVEL", "log_level", func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{"SWITCHBOARD_SIP_ADDR", "sip.addr", func(c *Config, v string) error { c.SIP.Addr = v; return nil }},
	{"SWITCHBOARD_SIP_ADVERTISE_ADDR", "sip.advertise_addr", func(c *Config, v string) error { c.SIP.AdvertiseAddr = v; return nil }},
	{"SWITCHBOARD_SIP_REALM", "sip.realm", func(c *Config, v string) error { c.SIP.Realm = v; return nil }},
	{"SWITCHBOARD_SIP_TRANSPORTS", "sip.transports", func(c *Config, v string) error { c.SIP.Transports = splitList(v); return nil }},
	{"SWITCHBOARD_SIP_REGISTER_MIN_EXPIRES", "sip.register_min_expires", durationVar(func(c *Config) *time.Duration { return &c.SIP.RegisterMinExpires })},
	{"SWITCHBOARD_SIP_REGISTER_MAX_EXPIRES", "sip.register_max_expires", durationVar(func(c *Config) *time.Duration { return &c.SIP.RegisterMaxExpires })},
	{"SWITCHBOARD_SIP_NONCE_TTL", "sip.nonce_ttl", durationVar(func(c *Config) *time.Duration { return &c.SIP.NonceTTL })},
	{"SWITCHBOARD_SIP_AUTH_FAIL_LIMIT", "sip.auth_fail_limit", intVar(func(c *Config) *int { return &c.SIP.AuthFailLimit })},
	{"SWITCHBOARD_SIP_AUTH_FAIL_WINDOW", "sip.auth_fail_window", durationVar(func(c *Config) *time.Duration { return &c.SIP.AuthFailWindow })},
	{"SWITCHBOARD_SIP_RING_TIMEOUT", "sip.ring_timeout", durationVar(func(c *Config) *time.Duration { return &c.SIP.RingTimeout })},
	{"SWITCHBOARD_SIP_MAX_CALLS", "sip.max_calls", intVar(func(c *Config) *int { return &c.SIP.MaxCalls })},
	{"SWITCHBOARD_RTP_PORT_MIN", "rtp.port_min", intVar(func(c *Config) *int { return &c.RTP.PortMin })},
	{"SWITCHBOARD_RTP_PORT_MAX", "rtp.port_max", intVar(func(c *Config) *int { return &c.RTP.PortMax })},
	{"SWITCHBOARD_RTP_HOLD_MUSIC", "rtp.hold_music", func(c *Config, v string) error { c.RTP.HoldMusic = v; return nil }},
	{"SWITCHBOARD_RTP_TIMEOUT", "rtp.timeout", durationVar(func(c *Config) *time.Duration { return &c.RTP.Timeout })},
	{"SWITCHBOARD_HTTP_ADDR", "http.addr", func(c *Config, v string) error { c.HTTP.Addr = v; return nil }},
	{"SWITCHBOARD_COUNTRY_CODE", "numbers.country_code", func(c *Config, v string) error { c.Numbers.CountryCode = v; return nil }},
	{"SWITCHBOARD_RECORDING_AUTO_RESUME", "recording.auto_resume", durationVar(func(c *Config) *time.Duration { return &c.Recording.AutoResume })},
	{"SWITCHBOARD_RECORDING_ALL_CALLS", "recording.all_calls", func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return errors.New("not a boolean (true or false)")
		}
		c.Recording.AllCalls = b
		return nil
	}},
	{"SWITCHBOARD_RECORDING_QUEUES", "recording.queues", func(c *Config, v string) error { c.Recording.Queues = splitList(v); return nil }},
	{"SWITCHBOARD_RECORDING_EXTENSIONS", "recording.extensions", func(c *Config, v string) error { c.Recording.Extensions = splitList(v); return nil }},
	{"SWITCHBOARD_WEBRTC_ICE_SERVERS", "webrtc.ice_servers", func(c *Config, v string) error {
		// One server per URL; TURN credentials need the YAML form.
		c.WebRTC.ICEServers = []ICEServer{}
		for _, u := range splitList(v) {
			c.WebRTC.ICEServers = append(c.WebRTC.ICEServers, ICEServer{URLs: []string{u}})
		}
		return nil
	}},
	{"SWITCHBOARD_WEBRTC_INCLUDE_LOOPBACK", "webrtc.include_loopback", func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return errors.New("not a boolean (true or false)")
		}
		c.WebRTC.IncludeLoopback = b
		return nil
	}},
}

func intVar(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return errors.New("not an integer")
		}
		*field(c) = n
		return nil
	}
}

func durationVar(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return errors.New(`not a duration such as "30s" or "5m"`)
		}
		*field(c) = d
		return nil
	}
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// applyEnv applies the known variables of environ in envVars order; when a
// name occurs twice the last occurrence wins, as for a shell's assignments.
func applyEnv(c *Config, environ []string) error {
	values := make(map[string]string)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "SWITCHBOARD_") {
			values[k] = v
		}
	}
	var errs []error
	for _, ev := range envVars {
		v := values[ev.name]
		if v == "" {
			continue
		}
		if err := ev.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("environment %s=%q: %w", ev.name, v, err))
		}
	}
	return errors.Join(errs...)
}
