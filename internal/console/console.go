// Package console serves the built web console (web/dist): index.html for
// every page route, and the hashed assets with a year's caching, gzip-
// compressed once at start-up.
package console

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// securityHeaders keep the console from being framed or fed foreign
// scripts; style-src allows inline styles because the grid positions
// widgets with style attributes.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	"Permissions-Policy":     "microphone=(self), camera=(self)",
}

// file is one built file, held in memory with its gzip form.
type file struct {
	body, gz    []byte
	contentType string
}

// Handler serves the console.
type Handler struct {
	files   map[string]*file // by URL path, "/assets/main-X.js"
	index   *file
	started time.Time
}

// New reads the built console from dist (index.html and assets/).
func New(dist fs.FS) (*Handler, error) {
	h := &Handler{files: map[string]*file{}, started: time.Now()}
	err := fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		f := &file{body: b, contentType: contentType(p)}
		if len(b) > 1024 && compressible(f.contentType) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(b)
			_ = zw.Close()
			f.gz = buf.Bytes()
		}
		h.files["/"+p] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console files: %w", err)
	}
	h.index = h.files["/index.html"]
	if h.index == nil {
		return nil, fmt.Errorf("console files: no index.html (run `go generate ./web`)")
	}
	return h, nil
}

// ServeHTTP answers GET and HEAD: an asset by its hashed name, anything
// else with index.html (the console routes in the URL fragment).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
	p := path.Clean("/" + r.URL.Path)
	if strings.HasPrefix(p, "/assets/") {
		f := h.files[p]
		if f == nil {
			http.NotFound(w, r)
			return
		}
		// Asset names carry their content hash: they never change.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		h.write(w, r, f)
		return
	}
	if p != "/" && p != "/index.html" && path.Ext(p) != "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	h.write(w, r, h.index)
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, f *file) {
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Add("Vary", "Accept-Encoding")
	body := f.body
	if f.gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		body = f.gz
	}
	http.ServeContent(w, r, "", h.started, bytes.NewReader(body))
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".wav":
		return "audio/wav"
	case ".png":
		return "image/png"
	case ".woff2":
		return "font/woff2"
	}
	return "application/octet-stream"
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "image/svg")
}
