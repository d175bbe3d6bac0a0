package call

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// cdrWriter takes CDR writes off the SIP path: calls end at the rate SIP
// allows, the database catches up behind a bounded queue, writing whatever
// has queued up (at most maxBatch) in one transaction. Close drains it, so
// a clean shutdown loses no CDR; a crash loses at most what was queued.
type cdrWriter struct {
	st   Store
	log  *slog.Logger
	ch   chan store.CDR
	done chan struct{}

	mu     sync.Mutex // guards closed and sends on ch
	closed bool
}

const (
	cdrQueue = 8192
	maxBatch = 256
)

func newCDRWriter(st Store, log *slog.Logger) *cdrWriter {
	w := &cdrWriter{st: st, log: log, ch: make(chan store.CDR, cdrQueue), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *cdrWriter) write(c store.CDR) {
	w.mu.Lock()
	if !w.closed {
		select {
		case w.ch <- c:
			w.mu.Unlock()
			return
		default:
		}
	}
	w.mu.Unlock()
	// The queue is full only if the database is stuck, and closed only for
	// a call that outlived the shutdown's wait: write inline (slowing this
	// call's teardown) rather than drop a record.
	w.insert([]store.CDR{c})
}

func (w *cdrWriter) run() {
	defer close(w.done)
	batch := make([]store.CDR, 0, maxBatch)
	for c := range w.ch {
		batch = append(batch[:0], c)
	drain:
		for len(batch) < maxBatch {
			select {
			case more, ok := <-w.ch:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		w.insert(batch)
	}
}

func (w *cdrWriter) insert(batch []store.CDR) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.st.InsertCDRs(ctx, batch); err != nil {
		w.log.Error("cdr insert failed", "count", len(batch), "first_call_id", batch[0].CallID, "error", err)
	}
}

func (w *cdrWriter) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	close(w.ch)
	w.mu.Unlock()
	<-w.done
}
