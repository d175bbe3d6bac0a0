package sipserver

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// cappedHandler guards the log against what unauthenticated peers can send:
// sipgo logs an unparseable message whole, so a peer could write megabytes
// per packet (and whatever secrets a message carries) into the log. String
// values are cut to maxAttrLen, and warnings and errors with the same
// message are limited to burst per second; the rest is counted and reported
// once the second is over.
type cappedHandler struct {
	next  slog.Handler
	state *capState
}

type capState struct {
	mu         sync.Mutex
	window     time.Time
	seen       map[string]int
	suppressed int
}

const (
	maxAttrLen = 256
	burst      = 10
)

func newCappedHandler(next slog.Handler) *cappedHandler {
	return &cappedHandler{next: next, state: &capState{seen: map[string]int{}}}
}

func (h *cappedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *cappedHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		allowed, suppressed := h.state.admit(r.Message, r.Time)
		if suppressed > 0 {
			note := slog.NewRecord(r.Time, slog.LevelWarn, "sip log records suppressed (rate limit)", 0)
			note.AddAttrs(slog.Int("count", suppressed))
			_ = h.next.Handle(ctx, note)
		}
		if !allowed {
			return nil
		}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(capAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *cappedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	capped := make([]slog.Attr, len(as))
	for i, a := range as {
		capped[i] = capAttr(a)
	}
	return &cappedHandler{next: h.next.WithAttrs(capped), state: h.state}
}

func (h *cappedHandler) WithGroup(name string) slog.Handler {
	return &cappedHandler{next: h.next.WithGroup(name), state: h.state}
}

// admit reports whether a warning may be logged now, and how many were
// suppressed in the window that just closed.
func (s *capState) admit(msg string, now time.Time) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	suppressed := 0
	if now.Sub(s.window) >= time.Second {
		suppressed, s.suppressed = s.suppressed, 0
		s.window = now
		clear(s.seen)
	}
	if len(s.seen) < 1000 {
		s.seen[msg]++
	}
	if s.seen[msg] > burst || len(s.seen) >= 1000 {
		s.suppressed++
		return false, suppressed
	}
	return true, suppressed
}

func capAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); len(s) > maxAttrLen {
			return slog.String(a.Key, fmt.Sprintf("%s…(%d bytes)", s[:maxAttrLen], len(s)))
		}
	case slog.KindAny:
		if b, ok := v.Any().([]byte); ok && len(b) > maxAttrLen {
			return slog.String(a.Key, fmt.Sprintf("%q…(%d bytes)", b[:maxAttrLen], len(b)))
		}
		if s := fmt.Sprint(v.Any()); len(s) > maxAttrLen {
			return slog.String(a.Key, fmt.Sprintf("%s…(%d bytes)", s[:maxAttrLen], len(s)))
		}
	case slog.KindGroup:
		g := v.Group()
		capped := make([]any, len(g))
		for i, ga := range g {
			capped[i] = capAttr(ga)
		}
		return slog.Group(a.Key, capped...)
	}
	return a
}
