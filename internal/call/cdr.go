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
//
// It also journals calls as they start (store.WriteCallJournal): a call's
// start and its CDR go through the same queue in order, so after a crash
// the started calls without a CDR are exactly those cut off, and start-up
// records them (Manager.RecoverInterrupted).
type cdrWriter struct {
	st   Store
	log  *slog.Logger
	ch   chan store.CallJournalEntry
	done chan struct{}

	mu     sync.Mutex // guards closed and sends on ch
	closed bool
}

const (
	cdrQueue = 8192
	maxBatch = 256
)

func newCDRWriter(st Store, log *slog.Logger) *cdrWriter {
	w := &cdrWriter{st: st, log: log, ch: make(chan store.CallJournalEntry, cdrQueue), done: make(chan struct{})}
	go w.run()
	return w
}

// write records the CDR of a call that ended.
func (w *cdrWriter) write(c store.CDR) { w.put(store.CallJournalEntry{CDR: c}) }

// started journals a call that started; c holds what is known so far.
func (w *cdrWriter) started(c store.CDR) { w.put(store.CallJournalEntry{Started: true, CDR: c}) }

func (w *cdrWriter) put(e store.CallJournalEntry) {
	w.mu.Lock()
	if !w.closed {
		select {
		case w.ch <- e:
			w.mu.Unlock()
			return
		default:
		}
	}
	w.mu.Unlock()
	// The queue is full only if the database is stuck, and closed only for
	// a call that outlived the shutdown's wait: write inline (slowing this
	// call's teardown) rather than drop a record.
	w.insert([]store.CallJournalEntry{e})
}

func (w *cdrWriter) run() {
	defer close(w.done)
	batch := make([]store.CallJournalEntry, 0, maxBatch)
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

func (w *cdrWriter) insert(batch []store.CallJournalEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.st.WriteCallJournal(ctx, batch); err != nil {
		w.log.Error("cdr insert failed", "count", len(batch), "first_call_id", batch[0].CDR.CallID, "error", err)
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
