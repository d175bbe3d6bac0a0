package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSaveBindings(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	later := now.Add(time.Hour)
	phone := Binding{Extension: "1001", ContactURI: "sip:1001@10.0.0.2:5062", Source: "10.0.0.2:5062",
		Transport: "udp", UserAgent: "Yealink", CallID: "abc", CSeq: 1, Expires: later, UpdatedAt: now}
	soft := Binding{Extension: "1001", ContactURI: "sip:1001@10.0.0.3:5060;transport=tcp", Source: "10.0.0.3:40000",
		Transport: "tcp", CallID: "def", CSeq: 7, Expires: later, UpdatedAt: now}
	other := Binding{Extension: "1002", ContactURI: "sip:1002@10.0.0.4", Expires: later, UpdatedAt: now}

	refreshed := phone
	refreshed.CSeq = 2
	refreshed.Source = "10.0.0.9:5062"
	refreshed.Expires = later.Add(time.Hour)

	unregister := soft
	unregister.Expires = time.Time{}

	gone := other
	gone.Expires = now.Add(-time.Second)

	tests := []struct {
		name string
		save []Binding
		want []Binding
	}{
		{"insert", []Binding{phone, soft, other}, []Binding{phone, soft, other}},
		{"upsert refresh", []Binding{refreshed}, []Binding{refreshed, soft, other}},
		{"zero expires deletes", []Binding{unregister}, []Binding{refreshed, other}},
		{"past expires deletes", []Binding{gone}, []Binding{refreshed}},
		{"empty batch", nil, []Binding{refreshed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SaveBindings(ctx, tt.save); err != nil {
				t.Fatal(err)
			}
			got, err := s.Bindings(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Bindings = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("binding %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestBindingsExpiry(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Now()
	soon := Binding{Extension: "1001", ContactURI: "sip:a", Expires: now.Add(2 * time.Second)}
	if err := s.SaveBindings(ctx, []Binding{soon}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Bindings(ctx, now)
	if err != nil || len(got) != 1 {
		t.Fatalf("Bindings(now) = %v, %v", got, err)
	}
	if got[0].UpdatedAt.IsZero() {
		t.Error("UpdatedAt not defaulted")
	}
	if got, err := s.Bindings(ctx, now.Add(3*time.Second)); err != nil || len(got) != 0 {
		t.Fatalf("Bindings(after expiry) = %v, %v; want none", got, err)
	}

	// An expired row left behind is purged by the next save.
	if _, err := s.w.ExecContext(ctx, `UPDATE bindings SET expires_at = 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBindings(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM bindings`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows after purge = %d, %v; want 0", n, err)
	}
}

func TestSaveBindingsInvalid(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	ok := Binding{Extension: "1001", ContactURI: "sip:a", Expires: time.Now().Add(time.Hour)}
	for _, b := range []Binding{
		{ContactURI: "sip:a", Expires: ok.Expires},
		{Extension: "1001", Expires: ok.Expires},
	} {
		if err := s.SaveBindings(ctx, []Binding{ok, b}); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveBindings(%+v) = %v, want ErrInvalid", b, err)
		}
	}
	// Nothing of a rejected batch is saved.
	if got, _ := s.Bindings(ctx, time.Now()); len(got) != 0 {
		t.Errorf("Bindings = %+v, want none", got)
	}
}
