package metrics

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesLoopbackOnly(t *testing.T) {
	r := NewRegistry()
	r.NewCounter("test_total", "T.").Inc()
	h := Handler(r)
	tests := []struct {
		name     string
		method   string
		remote   string
		header   string // "Name: value"
		wantCode int
		wantErr  string
	}{
		{"ipv4 loopback", "GET", "127.0.0.1:5000", "", 200, ""},
		{"other 127/8", "GET", "127.9.8.7:5000", "", 200, ""},
		{"ipv6 loopback", "GET", "[::1]:5000", "", 200, ""},
		{"mapped loopback", "GET", "[::ffff:127.0.0.1]:5000", "", 200, ""},
		{"head", "HEAD", "127.0.0.1:5000", "", 200, ""},
		{"private", "GET", "10.0.0.7:5000", "", 403, "forbidden"},
		{"public v6", "GET", "[2001:db8::1]:5000", "", 403, "forbidden"},
		{"unspecified", "GET", "0.0.0.0:5000", "", 403, "forbidden"},
		{"no port", "GET", "127.0.0.1", "", 403, "forbidden"},
		{"via proxy xff", "GET", "127.0.0.1:5000", "X-Forwarded-For: 203.0.113.9", 403, "forbidden"},
		{"via proxy forwarded", "GET", "127.0.0.1:5000", "Forwarded: for=203.0.113.9", 403, "forbidden"},
		{"via proxy real ip", "GET", "127.0.0.1:5000", "X-Real-IP: 203.0.113.9", 403, "forbidden"},
		{"post", "POST", "127.0.0.1:5000", "", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/metrics", nil)
			req.RemoteAddr = tt.remote
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantErr != "" {
				var e struct{ Code, Message string }
				if err := json.NewDecoder(rec.Body).Decode(&e); err != nil || e.Code != tt.wantErr || e.Message == "" {
					t.Fatalf("body %+v %v, want code %q", e, err, tt.wantErr)
				}
				if strings.Contains(rec.Body.String(), "test_total") {
					t.Fatal("refused request got metrics")
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != ContentType {
				t.Errorf("Content-Type %q", ct)
			}
			body := rec.Body.String()
			if tt.method == "HEAD" {
				if body != "" {
					t.Errorf("HEAD got a body")
				}
				return
			}
			if !strings.Contains(body, "\ntest_total 1\n") {
				t.Errorf("body:\n%s", body)
			}
		})
	}
}
