package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes a config file into a temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parsedFlags returns a flag set with RegisterFlags' flags, parsed from args.
func parsedFlags(t *testing.T, args ...string) (*flag.FlagSet, *string) {
	t.Helper()
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return fs, configPath
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	want := Config{
		DataDir:  "data",
		LogLevel: "info",
		SIP: SIP{Addr: "0.0.0.0:5060", Realm: "switchboard", Transports: []string{"udp", "tcp"},
			RegisterMinExpires: 60 * time.Second, RegisterMaxExpires: time.Hour, NonceTTL: 5 * time.Minute,
			AuthFailLimit: 10, AuthFailWindow: time.Minute, RingTimeout: 30 * time.Second, MaxCalls: 10000},
		RTP:       RTP{PortMin: 20000, PortMax: 29999, Timeout: 60 * time.Second},
		HTTP:      HTTP{Addr: "127.0.0.1:8080"},
		Numbers:   Numbers{CountryCode: "31"},
		Recording: Recording{AutoResume: 2 * time.Minute, Queues: []string{}, Extensions: []string{}},
		WebRTC:    WebRTC{ICEServers: []ICEServer{}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", c, want)
	}
	// Each call returns its own slice.
	c.SIP.Transports[0] = "x"
	if Default().SIP.Transports[0] != "udp" {
		t.Error("Default shares its Transports slice")
	}
}

// TestPrecedence checks default < file < environment < flag, and that only
// flags the user set override.
func TestPrecedence(t *testing.T) {
	const file = `
sip:
  addr: 10.0.0.1:5070
  realm: file-realm
  ring_timeout: 45s
rtp:
  port_min: 30000
  port_max: 30999
http:
  addr: 127.0.0.1:9000
`
	tests := []struct {
		name  string
		file  string
		env   []string
		args  []string
		check func(c Config) (got, want any)
	}{
		{"default", "", nil, nil, func(c Config) (any, any) { return c.SIP.Addr, "0.0.0.0:5060" }},
		{"file over default", file, nil, nil, func(c Config) (any, any) { return c.SIP.Addr, "10.0.0.1:5070" }},
		{"file keeps unset keys", file, nil, nil, func(c Config) (any, any) { return c.SIP.Transports, []string{"udp", "tcp"} }},
		{"file duration", file, nil, nil, func(c Config) (any, any) { return c.SIP.RingTimeout, 45 * time.Second }},
		{"env over file", file, []string{"SWITCHBOARD_SIP_ADDR=10.0.0.2:5080"}, nil,
			func(c Config) (any, any) { return c.SIP.Addr, "10.0.0.2:5080" }},
		{"env over default", "", []string{"SWITCHBOARD_DATA_DIR=/var/lib/sb"}, nil,
			func(c Config) (any, any) { return c.DataDir, "/var/lib/sb" }},
		{"empty env is unset", file, []string{"SWITCHBOARD_SIP_ADDR="}, nil,
			func(c Config) (any, any) { return c.SIP.Addr, "10.0.0.1:5070" }},
		{"last env wins", "", []string{"SWITCHBOARD_SIP_REALM=a", "SWITCHBOARD_SIP_REALM=b"}, nil,
			func(c Config) (any, any) { return c.SIP.Realm, "b" }},
		{"flag over env", file, []string{"SWITCHBOARD_SIP_ADDR=10.0.0.2:5080"}, []string{"--sip-addr", "10.0.0.3:5090"},
			func(c Config) (any, any) { return c.SIP.Addr, "10.0.0.3:5090" }},
		{"unset flag does not override env", "", []string{"SWITCHBOARD_HTTP_ADDR=127.0.0.1:8181"}, []string{"--sip-addr", ":5061"},
			func(c Config) (any, any) { return c.HTTP.Addr, "127.0.0.1:8181" }},
		{"unset flag does not override file", file, nil, []string{"--realm", "flag-realm"},
			func(c Config) (any, any) { return c.HTTP.Addr, "127.0.0.1:9000" }},
		{"flag set to its default still overrides", file, nil, []string{"--http-addr", "127.0.0.1:8080"},
			func(c Config) (any, any) { return c.HTTP.Addr, "127.0.0.1:8080" }},
		{"realm: env over file", file, []string{"SWITCHBOARD_SIP_REALM=env-realm"}, nil,
			func(c Config) (any, any) { return c.SIP.Realm, "env-realm" }},
		{"realm: flag over env", file, []string{"SWITCHBOARD_SIP_REALM=env-realm"}, []string{"-realm=flag-realm"},
			func(c Config) (any, any) { return c.SIP.Realm, "flag-realm" }},
		{"rtp: env over file", file, []string{"SWITCHBOARD_RTP_PORT_MIN=40000", "SWITCHBOARD_RTP_PORT_MAX=40999"}, nil,
			func(c Config) (any, any) { return [2]int{c.RTP.PortMin, c.RTP.PortMax}, [2]int{40000, 40999} }},
		{"rtp: flag over env", file, []string{"SWITCHBOARD_RTP_PORT_MIN=40000"}, []string{"--rtp-ports", "50000-50099"},
			func(c Config) (any, any) { return [2]int{c.RTP.PortMin, c.RTP.PortMax}, [2]int{50000, 50099} }},
		{"data dir flag", "", []string{"SWITCHBOARD_DATA_DIR=/env"}, []string{"--data-dir", "/flag"},
			func(c Config) (any, any) { return c.DataDir, "/flag" }},
		{"log level flag", "log_level: warn\n", []string{"SWITCHBOARD_LOG_LEVEL=error"}, []string{"--log-level", "debug"},
			func(c Config) (any, any) { return c.LogLevel, "debug" }},
		{"advertise flag", "", []string{"SWITCHBOARD_SIP_ADVERTISE_ADDR=192.0.2.1"}, []string{"--advertise-addr", "192.0.2.2"},
			func(c Config) (any, any) { return c.SIP.AdvertiseAddr, "192.0.2.2" }},
		{"advertise env", "sip: {advertise_addr: 192.0.2.9}", []string{"SWITCHBOARD_SIP_ADVERTISE_ADDR=192.0.2.1"}, nil,
			func(c Config) (any, any) { return c.SIP.AdvertiseAddr, "192.0.2.1" }},
		{"country code env", "numbers: {country_code: '44'}", []string{"SWITCHBOARD_COUNTRY_CODE=49"}, nil,
			func(c Config) (any, any) { return c.Numbers.CountryCode, "49" }},
		{"country code as YAML integer", "numbers:\n  country_code: 44\n", nil, nil,
			func(c Config) (any, any) { return c.Numbers.CountryCode, "44" }},
		{"transports env list", "", []string{"SWITCHBOARD_SIP_TRANSPORTS= tcp , "}, nil,
			func(c Config) (any, any) { return c.SIP.Transports, []string{"tcp"} }},
		{"transports file list", "sip:\n  transports: [udp]\n", nil, nil,
			func(c Config) (any, any) { return c.SIP.Transports, []string{"udp"} }},
		{"duration env", "", []string{"SWITCHBOARD_SIP_NONCE_TTL=90s"}, nil,
			func(c Config) (any, any) { return c.SIP.NonceTTL, 90 * time.Second }},
		{"int env", "", []string{"SWITCHBOARD_SIP_MAX_CALLS=50"}, nil,
			func(c Config) (any, any) { return c.SIP.MaxCalls, 50 }},
		{"unknown SWITCHBOARD_ variable ignored", "", []string{"SWITCHBOARD_E2E=1", "PATH=/bin"}, nil,
			func(c Config) (any, any) { return c.SIP.Addr, "0.0.0.0:5060" }},
		{"empty file", "# nothing yet\n", nil, nil, func(c Config) (any, any) { return c.SIP.Addr, "0.0.0.0:5060" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			fs, _ := parsedFlags(t, tt.args...)
			c, err := Load(path, tt.env, fs)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestConfigFlag(t *testing.T) {
	path := writeFile(t, "sip:\n  realm: from-file\n")
	fs, configPath := parsedFlags(t, "--config", path)
	c, err := Load(*configPath, nil, fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.Realm != "from-file" {
		t.Errorf("realm = %q, want from-file", c.SIP.Realm)
	}
}

func TestLoadNilFlagSet(t *testing.T) {
	c, err := Load("", []string{"SWITCHBOARD_SIP_REALM=x"}, nil)
	if err != nil || c.SIP.Realm != "x" {
		t.Fatalf("Load = %+v, %v", c.SIP, err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // "" for no file
		env  []string
		args []string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "data_dir: x\nlog_levle: debug\n", nil, nil, []string{"line 2", "log_levle"}},
		{"unknown nested key", "sip:\n  addr: :5060\n  realms: x\n", nil, nil, []string{"line 3", "realms"}},
		{"duration as integer", "sip:\n  ring_timeout: 30\n", nil, nil, []string{"line 2", "time.Duration"}},
		{"duration garbage", "sip:\n  nonce_ttl: soon\n", nil, nil, []string{"line 2", "time.Duration"}},
		{"int as string", "rtp:\n  port_min: low\n", nil, nil, []string{"line 2 (rtp.port_min)"}},
		{"syntax", "sip: [\n", nil, nil, []string{"yaml"}},
		{"not a mapping", "- a\n- b\n", nil, nil, []string{"line 1"}},
		{"two documents", "log_level: info\n---\nlog_level: debug\n", nil, nil, []string{"second YAML document"}},
		{"env int", "", []string{"SWITCHBOARD_RTP_PORT_MIN=low"}, nil, []string{"SWITCHBOARD_RTP_PORT_MIN", "not an integer"}},
		{"env duration", "", []string{"SWITCHBOARD_SIP_RING_TIMEOUT=30"}, nil, []string{"SWITCHBOARD_SIP_RING_TIMEOUT", "duration"}},
		{"env errors joined", "", []string{"SWITCHBOARD_RTP_PORT_MIN=a", "SWITCHBOARD_RTP_PORT_MAX=b"}, nil,
			[]string{"SWITCHBOARD_RTP_PORT_MIN", "SWITCHBOARD_RTP_PORT_MAX"}},
		{"flag rtp-ports no dash", "", nil, []string{"--rtp-ports", "20000"}, []string{"--rtp-ports", "MIN-MAX"}},
		{"flag rtp-ports not numbers", "", nil, []string{"--rtp-ports", "a-b"}, []string{"--rtp-ports", "integers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			fs, _ := parsedFlags(t, tt.args...)
			_, err := Load(path, tt.env, fs)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if path != "" && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}

	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil, nil); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	unparsed := flag.NewFlagSet("x", flag.ContinueOnError)
	RegisterFlags(unparsed)
	if _, err := Load("", nil, unparsed); err == nil || !strings.Contains(err.Error(), "parsed") {
		t.Errorf("unparsed flag set: %v", err)
	}
}

// TestForeignFlagsIgnored: a command may declare its own flags on the set.
func TestForeignFlagsIgnored(t *testing.T) {
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	RegisterFlags(fs)
	fs.Bool("version", false, "")
	if err := fs.Parse([]string{"--version"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("", nil, fs); err != nil {
		t.Fatal(err)
	}
}

func TestTypeErrorsNameKeys(t *testing.T) {
	tests := []struct{ file, want string }{
		{"rtp:\n  port_min: low\n", "line 2 (rtp.port_min): cannot unmarshal"},
		{"sip:\n  max_calls:\n    many\n", "line 3 (sip.max_calls): cannot unmarshal"},
		{"sip: {ring_timeout: 30}\n", "line 1 (sip): cannot unmarshal"},
		{"sip: {ring_timeout: 30, max_calls: x}\n", "line 1 (sip): cannot unmarshal"},
		{"rtp:\n  port_min: a\n  port_max: b\n", "line 3 (rtp.port_max)"},
	}
	for _, tt := range tests {
		c := Default()
		err := decodeYAML([]byte(tt.file), &c)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("decodeYAML(%q) = %v, want %q", tt.file, err, tt.want)
		}
	}
}
