package console

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/switchboard/switchboard/web"
)

func testFS() fstest.MapFS {
	big := strings.Repeat("console.log('switchboard');\n", 100)
	return fstest.MapFS{
		"index.html":          {Data: []byte(`<!doctype html><script src="/assets/main-ABC.js"></script>`)},
		"assets/main-ABC.js":  {Data: []byte(big)},
		"assets/main-DEF.css": {Data: []byte("body{}")},
	}
}

func TestServesIndexAssetsAndRefusesTheRest(t *testing.T) {
	h, err := New(testFS())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, gzip string
		status                   int
		contentType, cache       string
		encoding                 string
		bodyHas                  string
	}{
		{"root is the console", "GET", "/", "", 200, "text/html; charset=utf-8", "no-cache", "", "<!doctype html>"},
		{"a page route is the console", "GET", "/console/3", "", 200, "text/html; charset=utf-8", "no-cache", "", "<!doctype html>"},
		{"asset cached for a year", "GET", "/assets/main-ABC.js", "", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "", "switchboard"},
		{"asset gzipped when asked", "GET", "/assets/main-ABC.js", "gzip", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "gzip", "switchboard"},
		{"small asset not gzipped", "GET", "/assets/main-DEF.css", "gzip", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", "", "body{}"},
		{"unknown asset", "GET", "/assets/nope.js", "", 404, "", "", "", ""},
		{"unknown file", "GET", "/favicon.ico", "", 404, "", "", "", ""},
		{"dot-dot stays inside", "GET", "/assets/../../etc/passwd", "", 200, "text/html; charset=utf-8", "no-cache", "", "<!doctype html>"},
		{"POST refused", "POST", "/", "", 405, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.gzip != "" {
				r.Header.Set("Accept-Encoding", tt.gzip)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := w.Header().Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if got := w.Header().Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if w.Header().Get("X-Frame-Options") != "DENY" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("security headers missing: %v", w.Header())
			}
			var body io.Reader = w.Body
			if tt.encoding == "gzip" {
				zr, err := gzip.NewReader(w.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			b, _ := io.ReadAll(body)
			if !strings.Contains(string(b), tt.bodyHas) {
				t.Errorf("body %.80q lacks %q", b, tt.bodyHas)
			}
		})
	}
}

func TestNeedsIndex(t *testing.T) {
	if _, err := New(fstest.MapFS{"assets/a.js": {Data: []byte("x")}}); err == nil {
		t.Fatal("no error without index.html")
	}
}

func TestBuiltConsoleIsServable(t *testing.T) {
	// The committed web/dist must hold an index.html whose assets exist.
	h, err := New(web.Dist())
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(w.Body.String(), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html names %d assets, want a script and a style sheet:\n%s", len(refs), w.Body.String())
	}
	for _, m := range refs {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", m[1], nil))
		if w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("%s: status %d, %d bytes", m[1], w.Code, w.Body.Len())
		}
	}
}
