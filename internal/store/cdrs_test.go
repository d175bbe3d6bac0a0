package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestCDRs(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	base := time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)
	answered := CDR{CallID: "a", Direction: "inbound", From: "+31612345678", FromName: "Caller", To: "+31201230001",
		Target: "queue:8000", Trunk: "demo-carrier", AnsweredBy: "1001", StartedAt: base,
		AnsweredAt: base.Add(3 * time.Second), EndedAt: base.Add(time.Minute), Disposition: DispositionAnswered,
		SIPCode: 200, HangupBy: "caller", Reason: ""}
	busy := CDR{CallID: "b", Direction: "internal", From: "1001", To: "1002", Target: "extension:1002",
		StartedAt: base.Add(time.Second), EndedAt: base.Add(2 * time.Second), Disposition: DispositionBusy,
		SIPCode: 486, HangupBy: "callee", Reason: "Busy Here"}
	// Same start as busy: the later insert is newer.
	cancelled := CDR{CallID: "c", Direction: "outbound", From: "1001", To: "+12125551234",
		StartedAt: base.Add(time.Second), Disposition: DispositionCancelled, SIPCode: 487, HangupBy: "caller"}

	for _, c := range []*CDR{&answered, &busy, &cancelled} {
		id, err := s.InsertCDR(ctx, *c)
		if err != nil {
			t.Fatal(err)
		}
		c.ID = id
	}
	tests := []struct {
		limit int
		want  []CDR
	}{
		{1, []CDR{cancelled}},
		{2, []CDR{cancelled, busy}},
		{10, []CDR{cancelled, busy, answered}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.limit), func(t *testing.T) {
			got, err := s.CDRs(ctx, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("CDRs(%d) = %d records, want %d", tt.limit, len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("CDR %d =\n%+v\nwant\n%+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if got, _ := s.CDRs(ctx, 10); !got[0].AnsweredAt.IsZero() || !got[0].EndedAt.IsZero() {
		t.Errorf("zero times came back as %v, %v", got[0].AnsweredAt, got[0].EndedAt)
	}
}

func TestCDRsInvalid(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, c := range []CDR{{StartedAt: time.Now()}, {CallID: "x"}} {
		if _, err := s.InsertCDR(ctx, c); !errors.Is(err, ErrInvalid) {
			t.Errorf("InsertCDR(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.CDRs(ctx, limit); !errors.Is(err, ErrInvalid) {
			t.Errorf("CDRs(%d) = %v, want ErrInvalid", limit, err)
		}
	}
}

func BenchmarkInsertCDR(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	start := time.Now()
	c := CDR{CallID: "bench", Direction: "inbound", From: "+31612345678", To: "+31201230001",
		Target: "queue:8000", Trunk: "demo-carrier", AnsweredBy: "1001", StartedAt: start,
		AnsweredAt: start.Add(time.Second), EndedAt: start.Add(time.Minute),
		Disposition: DispositionAnswered, SIPCode: 200, HangupBy: "caller"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.InsertCDR(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInsertCDRs(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	start := time.Now()
	batch := []CDR{
		{CallID: "a", StartedAt: start, Disposition: DispositionAnswered},
		{CallID: "b", StartedAt: start.Add(time.Second), Disposition: DispositionBusy, SIPCode: 486},
	}
	if err := s.InsertCDRs(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.CDRs(ctx, 10)
	if err != nil || len(got) != 2 || got[0].CallID != "b" || got[0].SIPCode != 486 {
		t.Fatalf("CDRs = %+v %v", got, err)
	}
	// One invalid record: nothing of the batch is written.
	if err := s.InsertCDRs(ctx, []CDR{{CallID: "c", StartedAt: start}, {CallID: ""}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid batch: %v", err)
	}
	if got, _ := s.CDRs(ctx, 10); len(got) != 2 {
		t.Fatalf("partial batch written: %d CDRs", len(got))
	}
}

func BenchmarkInsertCDRs100(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	start := time.Now()
	batch := make([]CDR, 100)
	for i := range batch {
		batch[i] = CDR{CallID: "bench", Direction: "inbound", From: "+31612345678", To: "+31201230001",
			Target: "queue:8000", StartedAt: start, EndedAt: start.Add(time.Minute), Disposition: DispositionAnswered}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.InsertCDRs(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100)/1000, "µs/cdr")
}

func TestFindCDRs(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	batch := []CDR{
		{CallID: "a", StartedAt: t0, From: "1001", To: "1002", Target: "extension:1002", AnsweredBy: "1002"},
		{CallID: "b", StartedAt: t0.Add(time.Hour), From: "+31612345678", To: "+31201230001", Target: "queue:8000", AnsweredBy: "1003"},
		{CallID: "c", StartedAt: t0.Add(2 * time.Hour), From: "1004", To: "0612345678", Target: "trunk:demo-carrier"},
		{CallID: "d", StartedAt: t0.Add(3 * time.Hour), From: "+31699999999", To: "+31201231002", Target: "extension:1002"},
	}
	if err := s.InsertCDRs(ctx, batch); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    CDRFilter
		want string
	}{
		{"all, newest first", CDRFilter{Limit: 10}, "dcba"},
		{"limit", CDRFilter{Limit: 2}, "dc"},
		{"since", CDRFilter{Since: t0.Add(time.Hour), Limit: 10}, "dcb"},
		{"until is exclusive", CDRFilter{Until: t0.Add(time.Hour), Limit: 10}, "a"},
		{"window", CDRFilter{Since: t0.Add(30 * time.Minute), Until: t0.Add(150 * time.Minute), Limit: 10}, "cb"},
		{"extension as caller, answerer or target", CDRFilter{Extension: "1002", Limit: 10}, "da"},
		{"extension answering a queue call", CDRFilter{Extension: "1003", Limit: 10}, "b"},
		{"queue", CDRFilter{Queue: "8000", Limit: 10}, "b"},
		{"combined, nothing", CDRFilter{Queue: "8000", Extension: "1004", Limit: 10}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := s.FindCDRs(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, c := range cs {
				got += c.CallID
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := s.FindCDRs(ctx, CDRFilter{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no limit: %v", err)
	}
}
