package config

import (
	"os"
	"testing"
)

// FuzzLoadYAML feeds arbitrary bytes to the config file decoder: it must
// return a configuration or an error, never panic, and Validate must cope
// with whatever got through.
func FuzzLoadYAML(f *testing.F) {
	if example, err := os.ReadFile("../../switchboard.example.yaml"); err == nil {
		f.Add(example)
	}
	for _, s := range []string{
		"",
		"sip:\n  addr: :5060\n",
		"sip: {ring_timeout: 30s, transports: [udp]}\n",
		"rtp:\n  port_min: 20000\n  port_max: 29999\n",
		"sip:\n  ring_timeout: 30\n",
		"numbers: {country_code: 31}\n",
		"a: &x [*x]\n",
		"--- \n...\n---\n",
		"sip: ~\n",
		"data_dir: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if err := decodeYAML(data, &c); err != nil {
			return
		}
		_ = c.Validate()
		_ = c.SlogLevel()
	})
}
