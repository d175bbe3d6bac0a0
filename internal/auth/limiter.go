package auth

import (
	"sync"
	"time"
)

// windowCounter counts failures per key within a fixed window that starts
// at the key's first failure; memory is bounded by pruning old keys.
type windowCounter struct {
	mu     sync.Mutex
	window time.Duration
	keys   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

const maxKeys = 100_000

func newWindowCounter(d time.Duration) *windowCounter {
	return &windowCounter{window: d, keys: make(map[string]*window)}
}

func (c *windowCounter) count(key string, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.keys[key]
	if w == nil || now.Sub(w.start) > c.window {
		return 0
	}
	return w.n
}

func (c *windowCounter) add(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.keys[key]
	if w == nil || now.Sub(w.start) > c.window {
		if len(c.keys) >= maxKeys {
			for k, old := range c.keys {
				if now.Sub(old.start) > c.window {
					delete(c.keys, k)
				}
			}
			if len(c.keys) >= maxKeys {
				clear(c.keys)
			}
		}
		w = &window{start: now}
		c.keys[key] = w
	}
	w.n++
}

func (c *windowCounter) reset(key string) {
	c.mu.Lock()
	delete(c.keys, key)
	c.mu.Unlock()
}
