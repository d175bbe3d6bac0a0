package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"version", []string{"version"}, "switchboard ", ""},
		{"no command", nil, "", "no command"},
		{"unknown command", []string{"frobnicate"}, "", `unknown command "frobnicate"`},
		{"bad sip addr", []string{"serve", "--data-dir", dir, "--sip-addr", "nonsense"}, "", "sip.addr"},
		{"bad rtp range", []string{"serve", "--data-dir", dir, "--rtp-ports", "3000-2000"}, "", "rtp"},
		{"unknown flag", []string{"serve", "--bogus"}, "", "bogus"},
		{"missing config file", []string{"serve", "--config", dir + "/nope.yaml"}, "", "nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(tt.args, &out, &errOut)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.wantErr) {
				t.Fatalf("err = %v (stderr %q), want mention of %q", err, errOut.String(), tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("stdout %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}
