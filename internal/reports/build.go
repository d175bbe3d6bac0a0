package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// Source is what reports read: *store.Store.
type Source interface {
	EachQueueCall(ctx context.Context, from, to time.Time, queues []string, fn func(store.QueueCall) error) error
	EachAgentCall(ctx context.Context, from, to time.Time, exts []string, fn func(store.QueueCall) error) error
	AgentStatusChangesBetween(ctx context.Context, from, to time.Time, users []int64) ([]store.AgentStatusChange, error)
}

var _ Source = (*store.Store)(nil)

// Queues builds the queue report over r. thresholds lists the queues to
// report on with their service-level thresholds; when all is true, calls
// of other queues (deleted ones) are reported too, else only those.
func Queues(ctx context.Context, src Source, r Range, thresholds map[string]time.Duration, all bool) (*QueueReport, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	var scope []string
	if !all {
		scope = make([]string, 0, len(thresholds))
		for n := range thresholds {
			scope = append(scope, n)
		}
	}
	rep := NewQueueReport(r, thresholds)
	err := src.EachQueueCall(ctx, r.From, r.To, scope, func(c store.QueueCall) error {
		rep.Add(c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue report: %w", err)
	}
	return rep, nil
}

// Agents builds the agent report over r for agents, counting status time
// up to now at the latest.
func Agents(ctx context.Context, src Source, r Range, agents []Agent, now time.Time) (*AgentReport, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	rep := NewAgentReport(r, agents, now)
	err := src.EachAgentCall(ctx, r.From, r.To, rep.Extensions(), func(c store.QueueCall) error {
		rep.AddCall(c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	h, err := src.AgentStatusChangesBetween(ctx, r.From, r.To, rep.IDs())
	if err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	rep.AddHistory(h)
	return rep, nil
}
