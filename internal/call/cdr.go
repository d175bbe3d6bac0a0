package call

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// cdrWriter takes CDR writes off the SIP path: calls end at the rate SIP
// allows, the database catches up behind a bounded queue. Close drains it,
// so a clean shutdown loses no CDR.
type cdrWriter struct {
	st   Store
	log  *slog.Logger
	ch   chan store.CDR
	done chan struct{}
}

const cdrQueue = 8192

func newCDRWriter(st Store, log *slog.Logger) *cdrWriter {
	w := &cdrWriter{st: st, log: log, ch: make(chan store.CDR, cdrQueue), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *cdrWriter) write(c store.CDR) {
	select {
	case w.ch <- c:
	default:
		// The queue is full only if the database is stuck; write inline
		// (slowing this call's teardown) rather than drop a record.
		w.insert(c)
	}
}

func (w *cdrWriter) run() {
	defer close(w.done)
	for c := range w.ch {
		w.insert(c)
	}
}

func (w *cdrWriter) insert(c store.CDR) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.st.InsertCDR(ctx, c); err != nil {
		w.log.Error("cdr insert failed", "call_id", c.CallID, "error", err)
	}
}

func (w *cdrWriter) close() {
	close(w.ch)
	<-w.done
}
