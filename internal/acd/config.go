package acd

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/switchboard/switchboard/internal/store"
)

// Configuration the engine keeps in memory for the hot path: reason codes
// (checked on every status change), wrap-up codes (on every wrap-up) and
// supervisors (on every supervisor action). Each change is written to the
// store first, then applied.

// ReasonCodes lists the reason codes by kind, then code.
func (e *Engine) ReasonCodes() []store.ReasonCode {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]store.ReasonCode, 0, len(e.reasons))
	for _, rc := range e.reasons {
		out = append(out, rc)
	}
	slices.SortFunc(out, func(x, y store.ReasonCode) int {
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Code, y.Code))
	})
	return out
}

// CreateReasonCode adds a reason code (the store's errors: ErrConflict,
// ErrInvalid).
func (e *Engine) CreateReasonCode(ctx context.Context, rc store.ReasonCode) (store.ReasonCode, error) {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	if e.st != nil {
		var err error
		if rc, err = e.st.CreateReasonCode(ctx, rc); err != nil {
			return store.ReasonCode{}, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reasons[rc.Code] = rc
	e.reasonKinds[rc.Kind]++
	return rc, nil
}

// DeleteReasonCode deletes the reason code with the given ID; agents on it
// keep it until they change status.
func (e *Engine) DeleteReasonCode(ctx context.Context, id int64) error {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	if e.st != nil {
		if err := e.st.DeleteReasonCode(ctx, id); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for code, rc := range e.reasons {
		if rc.ID == id {
			delete(e.reasons, code)
			e.reasonKinds[rc.Kind]--
		}
	}
	return nil
}

// WrapupCodes lists queue's wrap-up codes by code; ErrUnknownQueue.
func (e *Engine) WrapupCodes(queue string) ([]store.WrapupCode, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queues[queue]
	if q == nil {
		return nil, fmt.Errorf("queue %s: %w", queue, ErrUnknownQueue)
	}
	return slices.Clone(q.wrapCodes), nil
}

// CreateWrapupCode adds a wrap-up code to its queue.
func (e *Engine) CreateWrapupCode(ctx context.Context, w store.WrapupCode) (store.WrapupCode, error) {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	if err := e.queueExists(w.Queue); err != nil {
		return store.WrapupCode{}, err
	}
	if e.st != nil {
		var err error
		if w, err = e.st.CreateWrapupCode(ctx, w); err != nil {
			return store.WrapupCode{}, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if q := e.queues[w.Queue]; q != nil {
		q.wrapCodes = append(q.wrapCodes, w)
		slices.SortFunc(q.wrapCodes, func(x, y store.WrapupCode) int { return cmp.Compare(x.Code, y.Code) })
	}
	return w, nil
}

// DeleteWrapupCode deletes a queue's wrap-up code.
func (e *Engine) DeleteWrapupCode(ctx context.Context, queue string, id int64) error {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	if err := e.queueExists(queue); err != nil {
		return err
	}
	if e.st != nil {
		if err := e.st.DeleteWrapupCode(ctx, queue, id); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if q := e.queues[queue]; q != nil {
		q.wrapCodes = slices.DeleteFunc(q.wrapCodes, func(w store.WrapupCode) bool { return w.ID == id })
	}
	return nil
}

func (e *Engine) queueExists(queue string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.queues[queue] == nil {
		return fmt.Errorf("queue %s: %w", queue, ErrUnknownQueue)
	}
	return nil
}

// Supervisors returns the IDs of queue's supervisors, in order.
func (e *Engine) Supervisors(queue string) []int64 {
	set := (*e.supervisors.Load())[queue]
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// SupervisedQueues returns the numbers of the queues user userID
// supervises, in order.
func (e *Engine) SupervisedQueues(userID int64) []string {
	var out []string
	for q, set := range *e.supervisors.Load() {
		if set[userID] {
			out = append(out, q)
		}
	}
	slices.Sort(out)
	return out
}

// SetSupervisors replaces queue's supervisors. Which users may supervise
// (their role) is the caller's check.
func (e *Engine) SetSupervisors(ctx context.Context, queue string, userIDs []int64) ([]int64, error) {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	if err := e.queueExists(queue); err != nil {
		return nil, err
	}
	if e.st != nil {
		if err := e.st.SetQueueSupervisors(ctx, queue, userIDs); err != nil {
			return nil, err
		}
	}
	// Copy on write: Supervises reads without a lock. apiMu orders writers.
	old := *e.supervisors.Load()
	next := make(supervisorSet, len(old)+1)
	for q, set := range old {
		next[q] = set
	}
	set := make(map[int64]bool, len(userIDs))
	for _, id := range userIDs {
		set[id] = true
	}
	next[queue] = set
	e.supervisors.Store(&next)
	return e.Supervisors(queue), nil
}
