package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestRecordings(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	base := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	recs := []Recording{
		{ID: "r1", CallID: "c1", Path: "/d/c1-r1.wav", StartedAt: base, EndedAt: base.Add(time.Minute),
			Duration: time.Minute, Bytes: 1920044, StartedBy: "admin", Parties: []string{"1001", "1002"}},
		{ID: "r2", CallID: "c1", Path: "/d/c1-r2.wav", StartedAt: base.Add(2 * time.Minute), EndedAt: base.Add(3 * time.Minute),
			Duration: time.Minute, Bytes: 100, StartedBy: "policy", Parties: []string{"1002"}},
		{ID: "r3", CallID: "c2", Path: "/d/c2-r3.wav", StartedAt: base.Add(time.Hour), EndedAt: base.Add(time.Hour),
			StartedBy: "policy", Parties: []string{"1010"}},
	}
	for _, r := range recs {
		if err := s.InsertRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertRecording(ctx, Recording{ID: "r1", CallID: "x", Path: "p"}); err == nil {
		t.Error("a duplicate recording id was stored")
	}
	if err := s.InsertRecording(ctx, Recording{ID: "r9"}); err == nil {
		t.Error("a recording without call and path was stored")
	}
	tests := []struct {
		name string
		f    RecordingFilter
		want []string
	}{
		{"all, newest first", RecordingFilter{}, []string{"r3", "r2", "r1"}},
		{"one call", RecordingFilter{CallID: "c1"}, []string{"r2", "r1"}},
		{"an extension on them", RecordingFilter{Extension: "1002"}, []string{"r2", "r1"}},
		{"no prefix match", RecordingFilter{Extension: "100"}, nil},
		{"limit", RecordingFilter{Limit: 1}, []string{"r3"}},
	}
	for _, tt := range tests {
		got, err := s.Recordings(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, ids, tt.want)
		}
	}
	r, err := s.RecordingByID(ctx, "r1")
	if err != nil || !reflect.DeepEqual(r, recs[0]) {
		t.Errorf("RecordingByID(r1) = %+v, %v; want %+v", r, err, recs[0])
	}
	if _, err := s.RecordingByID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RecordingByID(nope) error %v, want ErrNotFound", err)
	}
	byCall, err := s.RecordingIDsByCall(ctx, []string{"c1", "c2", "c3"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"c1": {"r1", "r2"}, "c2": {"r3"}}; !reflect.DeepEqual(byCall, want) {
		t.Errorf("RecordingIDsByCall = %v, want %v", byCall, want)
	}
}
