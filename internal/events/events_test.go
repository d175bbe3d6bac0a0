package events

import (
	"errors"
	"slices"
	"testing"
)

func TestPublishDeliversInOrder(t *testing.T) {
	b := New(16)
	s, err := b.Subscribe(0, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 3; i++ {
		b.Publish(CallCreated, "call:x", i)
	}
	for want := uint64(1); want <= 3; want++ {
		e := <-s.C()
		if e.Seq != want || e.Data.(int) != int(want-1) {
			t.Fatalf("got seq %d data %v, want seq %d", e.Seq, e.Data, want)
		}
	}
}

func TestResume(t *testing.T) {
	tests := []struct {
		name      string
		history   int
		published int
		since     uint64
		wantFirst uint64
		wantErr   error
	}{
		{"from middle", 10, 5, 2, 3, nil},
		{"after wrap", 4, 10, 7, 8, nil},
		{"too old", 4, 10, 2, 0, ErrTooOld},
		{"up to date", 4, 10, 10, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.history)
			for i := 0; i < tt.published; i++ {
				b.Publish(CallEnded, "call:x", nil)
			}
			s, err := b.Subscribe(tt.since, 16)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer s.Close()
			if tt.wantFirst == 0 {
				if len(s.C()) != 0 {
					t.Fatalf("queued %d events, want none", len(s.C()))
				}
				return
			}
			e := <-s.C()
			if e.Seq != tt.wantFirst {
				t.Fatalf("first resumed seq %d, want %d", e.Seq, tt.wantFirst)
			}
			if got := len(s.C()) + 1; uint64(got) != uint64(tt.published)-tt.since {
				t.Fatalf("resumed %d events, want %d", got, uint64(tt.published)-tt.since)
			}
		})
	}
}

func TestSlowSubscriberIsCutOff(t *testing.T) {
	b := New(4)
	slow, _ := b.Subscribe(0, 2)
	fast, _ := b.Subscribe(0, 100)
	defer fast.Close()
	for i := 0; i < 5; i++ {
		b.Publish(CallCreated, "call:x", nil)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("slow subscriber still subscribed")
	}
	if !errors.Is(slow.Err(), ErrSlowSubscriber) {
		t.Fatalf("Err = %v", slow.Err())
	}
	if len(fast.C()) != 5 {
		t.Fatalf("fast subscriber got %d events, want 5", len(fast.C()))
	}
}

func TestReadSince(t *testing.T) {
	b := New(4)
	if got, head, err := b.ReadSince(0, nil, 10); len(got) != 0 || head != 0 || err != nil {
		t.Fatalf("empty bus: %v %d %v", got, head, err)
	}
	for i := 0; i < 6; i++ { // seq 1..6; the history keeps 3..6
		b.Publish(CallCreated, "call:x", i)
	}
	tests := []struct {
		since   uint64
		max     int
		want    []uint64
		wantErr error
	}{
		{since: 2, max: 10, want: []uint64{3, 4, 5, 6}},
		{since: 3, max: 2, want: []uint64{4, 5}},
		{since: 5, max: 10, want: []uint64{6}},
		{since: 6, max: 10},
		{since: 9, max: 10},
		{since: 1, max: 10, wantErr: ErrTooOld},
		{since: 0, max: 10, wantErr: ErrTooOld},
	}
	for _, tt := range tests {
		got, head, err := b.ReadSince(tt.since, make([]Event, 0, 1), tt.max)
		if !errors.Is(err, tt.wantErr) || head != 6 {
			t.Errorf("since %d: err %v head %d, want %v and 6", tt.since, err, head, tt.wantErr)
			continue
		}
		var seqs []uint64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
		}
		if !slices.Equal(seqs, tt.want) {
			t.Errorf("since %d max %d: %v, want %v", tt.since, tt.max, seqs, tt.want)
		}
	}
	dst := make([]Event, 0, 4)
	if n := testing.AllocsPerRun(100, func() { dst, _, _ = b.ReadSince(2, dst[:0], 4) }); n != 0 {
		t.Errorf("ReadSince into a large enough dst: %v allocations", n)
	}
}

func BenchmarkPublishFanOut(b *testing.B) {
	bus := New(1024)
	subs := make([]*Subscription, 10)
	for i := range subs {
		subs[i], _ = bus.Subscribe(0, 1024)
	}
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(CallAnswered, "call:x", nil)
		for _, s := range subs {
			<-s.C()
		}
	}
}
