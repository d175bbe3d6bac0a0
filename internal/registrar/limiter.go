package registrar

import (
	"sync"
	"time"
)

// failureLimiter counts failed authentications per source IP in a sliding
// window, so a password-guessing peer is refused with 403 without a new
// challenge (and without more work for us) once it passes the limit.
type failureLimiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	now     func() time.Time
	sources map[string]*failures
}

type failures struct {
	count  int
	since  time.Time
	logged bool
}

// maxTrackedSources bounds the limiter's memory under a spray of addresses.
const maxTrackedSources = 100_000

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	return &failureLimiter{limit: limit, window: window, now: time.Now, sources: make(map[string]*failures)}
}

// blocked reports whether ip is over the limit.
func (l *failureLimiter) blocked(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.sources[ip]
	if f == nil {
		return false
	}
	if l.now().Sub(f.since) > l.window {
		delete(l.sources, ip)
		return false
	}
	return f.count >= l.limit
}

// fail records a failure and reports whether the source just crossed the
// limit (so the caller logs it once per window).
func (l *failureLimiter) fail(ip string) (crossed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.sources[ip]
	if f == nil || now.Sub(f.since) > l.window {
		if len(l.sources) >= maxTrackedSources {
			l.pruneLocked(now)
		}
		f = &failures{since: now}
		l.sources[ip] = f
	}
	f.count++
	if f.count >= l.limit && !f.logged {
		f.logged = true
		return true
	}
	return false
}

// succeed forgets a source's failures after a good authentication.
func (l *failureLimiter) succeed(ip string) {
	l.mu.Lock()
	delete(l.sources, ip)
	l.mu.Unlock()
}

func (l *failureLimiter) pruneLocked(now time.Time) {
	for ip, f := range l.sources {
		if now.Sub(f.since) > l.window {
			delete(l.sources, ip)
		}
	}
	if len(l.sources) >= maxTrackedSources {
		// Still full of live entries: start over rather than grow.
		clear(l.sources)
	}
}
