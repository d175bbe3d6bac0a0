package sipserver

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestCappedHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newCappedHandler(slog.NewTextHandler(&buf, nil)))
	huge := strings.Repeat("A", 100_000)
	log.Error("failed to parse", "data", huge, "raw", []byte(huge))
	if buf.Len() > 2000 {
		t.Fatalf("a 100 KB attribute made a %d-byte log line", buf.Len())
	}
	if !strings.Contains(buf.String(), "(100000 bytes)") {
		t.Fatalf("truncation not marked: %s", buf.String())
	}

	buf.Reset()
	for i := 0; i < 500; i++ {
		log.Warn("flood", "i", i)
	}
	if n := strings.Count(buf.String(), "msg=flood"); n != burst {
		t.Fatalf("%d flood lines logged, want %d", n, burst)
	}
	log.Info("other info is never limited")
	if !strings.Contains(buf.String(), "other info") {
		t.Fatal("info record dropped")
	}
}

func TestCapStateReportsSuppressed(t *testing.T) {
	s := &capState{seen: map[string]int{}}
	now := time.Unix(100, 0)
	for i := 0; i < burst+5; i++ {
		s.admit("x", now)
	}
	ok, suppressed := s.admit("x", now.Add(2*time.Second))
	if !ok || suppressed != 5 {
		t.Fatalf("next window: ok=%v suppressed=%d, want true 5", ok, suppressed)
	}
}
