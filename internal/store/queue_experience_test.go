package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestQueueAnnouncementSettings(t *testing.T) {
	ctx := context.Background()
	s, _ := acdFixture(t)
	q, err := s.QueueByNumber(ctx, "8000")
	if err != nil {
		t.Fatal(err)
	}
	if q.AnnounceInterval != DefaultAnnounceInterval || q.OmitPosition || q.OmitEWT || q.OfferVoicemail || q.OfferCallback {
		t.Errorf("defaults: interval %v omit position %v omit ewt %v voicemail %v callback %v",
			q.AnnounceInterval, q.OmitPosition, q.OmitEWT, q.OfferVoicemail, q.OfferCallback)
	}
	got, err := s.UpdateQueue(ctx, "8000", func(q *Queue) error {
		q.AnnounceInterval = 45*time.Second + 500*time.Millisecond
		q.OmitEWT, q.OfferVoicemail, q.OfferCallback = true, true, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.QueueByNumber(ctx, "8000")
	if err != nil {
		t.Fatal(err)
	}
	if got.AnnounceInterval != 45*time.Second || back.AnnounceInterval != 45*time.Second || back.OmitPosition ||
		!back.OmitEWT || !back.OfferVoicemail || !back.OfferCallback {
		t.Errorf("after update: returned %+v, read back %+v", got, back)
	}
	// Off is stored as 0 and reads back as NoAnnouncements.
	if _, err := s.UpdateQueue(ctx, "8000", func(q *Queue) error { q.AnnounceInterval = NoAnnouncements; return nil }); err != nil {
		t.Fatal(err)
	}
	if back, _ = s.QueueByNumber(ctx, "8000"); back.AnnounceInterval != NoAnnouncements {
		t.Errorf("announcements off read back as %v", back.AnnounceInterval)
	}
	// A new queue created with zero values gets the defaults.
	q2, err := s.CreateQueue(ctx, Queue{Number: "8100", Name: "New"})
	if err != nil {
		t.Fatal(err)
	}
	if q2.AnnounceInterval != DefaultAnnounceInterval {
		t.Errorf("new queue interval %v", q2.AnnounceInterval)
	}
}

func TestVoicemails(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	t0 := time.UnixMilli(1_700_000_000_000)
	for i, v := range []Voicemail{
		{ID: "a", Queue: "8000", CallID: "c1", CallerNumber: "+31611", Path: "/x/a.wav", Duration: 4200 * time.Millisecond, Bytes: 67244, CreatedAt: t0},
		{ID: "b", Queue: "8001", CallID: "c2", CallerNumber: "1009", CallerName: "Reception", Path: "/x/b.wav", CreatedAt: t0.Add(time.Minute)},
		{ID: "c", Queue: "8000", CallID: "c3", Path: "/x/c.wav", CreatedAt: t0.Add(2 * time.Minute)},
	} {
		if err := s.InsertVoicemail(ctx, v); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if err := s.InsertVoicemail(ctx, Voicemail{ID: "d", Queue: "8000"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("insert without call and path: %v, want ErrInvalid", err)
	}
	ids := func(vs []Voicemail) (out []string) {
		for _, v := range vs {
			out = append(out, v.ID)
		}
		return out
	}
	all, err := s.Voicemails(ctx, VoicemailFilter{})
	if err != nil || len(all) != 3 || all[0].ID != "c" || all[2].ID != "a" {
		t.Fatalf("all: %v %v, want newest first", ids(all), err)
	}
	if all[2].Duration != 4200*time.Millisecond || all[2].Bytes != 67244 || all[2].Status != VoicemailNew || !all[2].CreatedAt.Equal(t0) {
		t.Errorf("a read back as %+v", all[2])
	}
	q8000, _ := s.Voicemails(ctx, VoicemailFilter{Queues: []string{"8000"}})
	if len(q8000) != 2 {
		t.Errorf("queue 8000: %v", ids(q8000))
	}
	if none, _ := s.Voicemails(ctx, VoicemailFilter{Queues: []string{}}); len(none) != 0 {
		t.Errorf("no queues: %v", ids(none))
	}
	v, err := s.SetVoicemailStatus(ctx, "b", VoicemailHandled, "1006", t0.Add(time.Hour))
	if err != nil || v.Status != VoicemailHandled || v.HandledBy != "1006" || v.CallerName != "Reception" {
		t.Fatalf("handled: %+v %v", v, err)
	}
	if handled, _ := s.Voicemails(ctx, VoicemailFilter{Status: VoicemailHandled}); len(handled) != 1 || handled[0].ID != "b" {
		t.Errorf("handled: %v", ids(handled))
	}
	if _, err := s.SetVoicemailStatus(ctx, "b", "deleted", "x", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	if _, err := s.SetVoicemailStatus(ctx, "zz", VoicemailHandled, "x", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := s.VoicemailByID(ctx, "zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("by unknown id: %v", err)
	}
	if got, err := s.VoicemailByID(ctx, "a"); err != nil || got.Path != "/x/a.wav" {
		t.Errorf("by id: %+v %v", got, err)
	}
}

func TestCallbacks(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	t0 := time.UnixMilli(1_700_000_000_000)
	for _, c := range []Callback{
		{ID: "late", Queue: "8000", Number: "1009", RequestedAt: t0.Add(time.Minute)},
		{ID: "early", Queue: "8000", Number: "+31612345678", Name: "Jan", DID: "+31201230001", RequestedAt: t0},
		{ID: "other", Queue: "8001", Number: "1003", RequestedAt: t0},
	} {
		if err := s.InsertCallback(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertCallback(ctx, Callback{ID: "x", Queue: "8000"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("without a number: %v", err)
	}
	got, err := s.Callbacks(ctx, CallbackFilter{Queues: []string{"8000"}, Status: CallbackWaiting})
	if err != nil || len(got) != 2 || got[0].ID != "early" || got[1].ID != "late" {
		t.Fatalf("waiting in 8000: %+v %v, want early then late", got, err)
	}
	if got[0].DID != "+31201230001" || got[0].Name != "Jan" || !got[0].RequestedAt.Equal(t0) || !got[0].UpdatedAt.Equal(t0) {
		t.Errorf("early read back as %+v", got[0])
	}
	if err := s.UpdateCallback(ctx, "early", 3, CallbackFailed, "not reached", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c, err := s.CallbackByID(ctx, "early")
	if err != nil || c.Attempts != 3 || c.Status != CallbackFailed || c.Reason != "not reached" || !c.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after update: %+v %v", c, err)
	}
	if err := s.UpdateCallback(ctx, "nope", 1, CallbackWaiting, "", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	if err := s.UpdateCallback(ctx, "late", 1, "lost", "", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	if w, _ := s.Callbacks(ctx, CallbackFilter{Status: CallbackWaiting}); len(w) != 2 {
		t.Errorf("waiting: %+v", w)
	}
}
