package reports

import (
	"cmp"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// QueueRow is one queue's calls in one interval (or, as a total, the
// whole range). Calls count in the interval they started in.
type QueueRow struct {
	Queue string    `json:"queue"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Offered: every call routed to the queue. Answered: an agent
	// answered. Abandoned: the caller left before an agent answered
	// (CDR disposition "abandoned"). Other: neither (sent to the overflow
	// destination, refused, failed), so Offered = Answered + Abandoned +
	// Other.
	Offered   int `json:"offered"`
	Answered  int `json:"answered"`
	Abandoned int `json:"abandoned"`
	Other     int `json:"other"`
	// AnsweredWithinSL were answered within ServiceLevelSeconds (the
	// queue's setting); ServiceLevel is their percentage of Offered.
	AnsweredWithinSL    int      `json:"answered_within_sl"`
	ServiceLevelSeconds int      `json:"service_level_s"`
	ServiceLevel        *float64 `json:"service_level,omitempty"`
	// Waits of the answered calls, start to answer (seconds).
	AvgWaitSeconds *float64 `json:"avg_wait_s,omitempty"`
	MaxWaitSeconds float64  `json:"max_wait_s"`
	// AvgHandleSeconds is the mean talk time of the answered calls,
	// answer to end: CDRs do not record the wrap-up that follows.
	AvgHandleSeconds *float64 `json:"avg_handle_s,omitempty"`

	waitSum, talkSum time.Duration
	talked           int
}

func (q *QueueRow) add(c store.QueueCall) {
	q.Offered++
	switch {
	case !c.AnsweredAt.IsZero():
		q.Answered++
		wait := max(c.AnsweredAt.Sub(c.StartedAt), 0)
		q.waitSum += wait
		q.MaxWaitSeconds = max(q.MaxWaitSeconds, wait.Seconds())
		if wait <= time.Duration(q.ServiceLevelSeconds)*time.Second {
			q.AnsweredWithinSL++
		}
		if !c.EndedAt.IsZero() {
			q.talkSum += max(c.EndedAt.Sub(c.AnsweredAt), 0)
			q.talked++
		}
	case c.Disposition == store.DispositionAbandoned:
		q.Abandoned++
	default:
		q.Other++
	}
}

func (q *QueueRow) finish() {
	q.ServiceLevel = ratio(float64(q.AnsweredWithinSL), float64(q.Offered), true)
	q.AvgWaitSeconds = ratio(q.waitSum.Seconds(), float64(q.Answered), false)
	q.AvgHandleSeconds = ratio(q.talkSum.Seconds(), float64(q.talked), false)
	q.MaxWaitSeconds = float64(int64(q.MaxWaitSeconds*100+0.5)) / 100
}

// QueueReport accumulates queue calls into rows. Not safe for concurrent
// use.
type QueueReport struct {
	r          Range
	periods    []time.Time
	thresholds map[string]time.Duration
	rows       map[string][]QueueRow
	totals     map[string]*QueueRow
}

// NewQueueReport starts a report over r for the queues in thresholds
// (number → the queue's service level threshold; each gets rows, calls or
// not). A call of a queue not listed (deleted since) gets rows when it is
// added, with store.DefaultServiceLevel. r must pass Check.
func NewQueueReport(r Range, thresholds map[string]time.Duration) *QueueReport {
	q := &QueueReport{r: r, periods: r.Periods(), thresholds: thresholds,
		rows: make(map[string][]QueueRow), totals: make(map[string]*QueueRow)}
	for n := range thresholds {
		q.queue(n)
	}
	return q
}

// queue returns the rows of queue n, made on first use.
func (q *QueueReport) queue(n string) []QueueRow {
	if rows, ok := q.rows[n]; ok {
		return rows
	}
	sl, ok := q.thresholds[n]
	if !ok || sl <= 0 {
		sl = store.DefaultServiceLevel
	}
	secs := int(sl / time.Second)
	rows := make([]QueueRow, len(q.periods))
	for i, p := range q.periods {
		end := q.r.next(p)
		rows[i] = QueueRow{Queue: n, Start: p, End: end, ServiceLevelSeconds: secs}
	}
	q.rows[n] = rows
	q.totals[n] = &QueueRow{Queue: n, Start: q.r.From, End: q.r.To, ServiceLevelSeconds: secs}
	return rows
}

// Add counts call c; calls that started outside the range are ignored.
func (q *QueueReport) Add(c store.QueueCall) {
	i := q.r.index(q.periods, c.StartedAt)
	if i < 0 {
		return
	}
	rows := q.queue(c.Queue)
	rows[i].add(c)
	q.totals[c.Queue].add(c)
}

// Rows returns the rows by queue number, then time.
func (q *QueueReport) Rows() []QueueRow {
	var out []QueueRow
	for _, n := range q.queues() {
		for _, r := range q.rows[n] {
			r.finish()
			out = append(out, r)
		}
	}
	return out
}

// Totals returns one row per queue over the whole range, by number.
func (q *QueueReport) Totals() []QueueRow {
	var out []QueueRow
	for _, n := range q.queues() {
		t := *q.totals[n]
		t.finish()
		out = append(out, t)
	}
	return out
}

// QueueRows returns queue n's rows in time order (nil for a queue without
// any).
func (q *QueueReport) QueueRows(n string) []QueueRow {
	rows := q.rows[n]
	out := make([]QueueRow, len(rows))
	for i, r := range rows {
		r.finish()
		out[i] = r
	}
	return out
}

func (q *QueueReport) queues() []string {
	ns := make([]string, 0, len(q.rows))
	for n := range q.rows {
		ns = append(ns, n)
	}
	slices.SortFunc(ns, cmp.Compare)
	return ns
}
