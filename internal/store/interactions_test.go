package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// The filters the interaction history uses: a user's extensions, and the
// scope of what a principal may see (own extensions or supervised queues).
func TestFindCDRsByExtensionsAndScope(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	batch := []CDR{
		{CallID: "a", StartedAt: t0, From: "1001", To: "1002", Target: "extension:1002", AnsweredBy: "1002"},
		{CallID: "b", StartedAt: t0.Add(time.Hour), From: "+31612345678", To: "+31201230001", Target: "queue:8000", AnsweredBy: "1003"},
		{CallID: "c", StartedAt: t0.Add(2 * time.Hour), From: "1004", To: "0612345678", Target: "trunk:demo-carrier"},
		{CallID: "d", StartedAt: t0.Add(3 * time.Hour), From: "+31699999999", To: "+31201230002", Target: "queue:8001"},
		{CallID: "e", StartedAt: t0.Add(4 * time.Hour), From: "+31699999999", To: "+31201231011", Target: "extension:1011"},
	}
	if err := s.InsertCDRs(ctx, batch); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    CDRFilter
		want string
	}{
		{"a user's extensions", CDRFilter{Extensions: []string{"1002", "1004"}}, "ca"},
		{"an extension dialled", CDRFilter{Extensions: []string{"1011"}}, "e"},
		{"a user without extensions", CDRFilter{Extensions: []string{}}, ""},
		{"scope: own extension or supervised queue", CDRFilter{Scope: &CDRScope{Extensions: []string{"1001"}, Queues: []string{"8000"}}}, "ba"},
		{"scope: queues only", CDRFilter{Scope: &CDRScope{Queues: []string{"8000", "8001"}}}, "db"},
		{"scope: nothing", CDRFilter{Scope: &CDRScope{}}, ""},
		{"scope and a user", CDRFilter{Extensions: []string{"1003", "1004"}, Scope: &CDRScope{Queues: []string{"8000"}}}, "b"},
		{"scope and a queue", CDRFilter{Queue: "8001", Scope: &CDRScope{Queues: []string{"8000"}}}, ""},
	}
	for _, tt := range tests {
		tt.f.Limit = 10
		cs, err := s.FindCDRs(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ""
		for _, c := range cs {
			got += c.CallID
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := s.FindCDRs(ctx, CDRFilter{Limit: 1, Extensions: make([]string, 301)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("301 extensions: %v, want ErrInvalid", err)
	}
}

func TestRecordingsByCall(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	base := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	recs := []Recording{
		{ID: "r2", CallID: "c1", Path: "/d/2.wav", StartedAt: base.Add(time.Minute), EndedAt: base.Add(2 * time.Minute), Duration: time.Minute, Parties: []string{"1001"}},
		{ID: "r1", CallID: "c1", Path: "/d/1.wav", StartedAt: base, EndedAt: base.Add(time.Minute), Duration: time.Minute, Parties: []string{"1001", "1002"}},
		{ID: "r3", CallID: "c2", Path: "/d/3.wav", StartedAt: base, EndedAt: base},
	}
	for _, r := range recs {
		if err := s.InsertRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecordingsByCall(ctx, []string{"c1", "c2", "none"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Recording{"c1": {recs[1], recs[0]}, "c2": {recs[2]}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RecordingsByCall = %+v, want %+v", got, want)
	}
	if got, err := s.RecordingsByCall(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no calls: %v %v", got, err)
	}
}
