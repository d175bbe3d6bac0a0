package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/reports"
	"github.com/switchboard/switchboard/internal/store"
)

// BenchmarkQueueReport100k: a month of hourly rows for 5 queues over
// 100,000 queue CDRs (and 20,000 other calls the query must skip).
func BenchmarkQueueReport100k(b *testing.B) {
	st := openStore(b)
	ctx := context.Background()
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	span := 30 * 24 * time.Hour
	batch := make([]store.CDR, 0, 1000)
	for i := range 120_000 {
		start := from.Add(span / 120_000 * time.Duration(i))
		c := queueCDR(fmt.Sprint("c", i), fmt.Sprint(8000+i%5), start, fmt.Sprint(1001+i%20), time.Duration(i%60)*time.Second, 3*time.Minute, store.DispositionAnswered)
		if i%6 == 5 {
			c.Target = "extension:1001"
		}
		batch = append(batch, c)
		if len(batch) == cap(batch) {
			if err := st.InsertCDRs(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	thresholds := map[string]time.Duration{}
	for q := range 5 {
		thresholds[fmt.Sprint(8000+q)] = 20 * time.Second
	}
	r := reports.Range{From: from, To: from.Add(span), Interval: reports.IntervalHour}
	b.ResetTimer()
	for b.Loop() {
		rep, err := reports.Queues(ctx, st, r, thresholds, false)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, t := range rep.Totals() {
			n += t.Offered
		}
		if n != 100_000 {
			b.Fatalf("%d queue calls reported, want 100,000", n)
		}
	}
}
