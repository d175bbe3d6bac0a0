package acd

import (
	"context"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// Status history is written behind: a row is queued under the engine's
// lock, in the order of the changes, and persistLoop writes what has
// queued in one transaction. The rows that matter at a restart — the
// status itself, memberships — are written before they apply (agents.go);
// RONA, which the call layer triggers, must not wait for the disk.

// persistLoop writes queued history rows until Close.
func (e *Engine) persistLoop() {
	defer e.wg.Done()
	for {
		select {
		case <-e.persistKick:
			e.flushHistory()
		case <-e.stop:
			return
		}
	}
}

// flushHistory writes the queued history rows. A failed write is logged
// and its rows dropped: retrying a batch the database refuses would only
// grow the queue.
func (e *Engine) flushHistory() {
	if e.st == nil {
		return
	}
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	rows := e.history
	e.history = nil
	e.mu.Unlock()
	if len(rows) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.st.AddAgentStatusChanges(ctx, rows); err != nil {
		e.log.Error("write agent status history", "rows", len(rows), "error", err)
	}
}

// Flush writes the queued status history now (tests, reports that must
// see the latest rows).
func (e *Engine) Flush() { e.flushHistory() }

// History returns an agent's status changes at or after since, oldest
// first, at most limit, the ones not written yet included. Without a
// store it is empty.
func (e *Engine) History(ctx context.Context, userID int64, since time.Time, limit int) ([]store.AgentStatusChange, error) {
	if e.st == nil {
		return nil, nil
	}
	e.flushHistory()
	return e.st.AgentStatusHistory(ctx, userID, since, limit)
}
