package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestTrunks(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	tests := []struct {
		name    string
		t       Trunk
		wantErr error
	}{
		{"inbound and outbound", Trunk{Name: "carrier", Host: "127.0.0.1:5090", Transport: "udp", Username: "u", Password: "p",
			InboundCIDRs: []string{"127.0.0.1/32", "2001:db8::/32"}, Outbound: true}, nil},
		{"no cidrs", Trunk{Name: "backup", Host: "sip.example.net:5060", Transport: "tcp"}, nil},
		{"empty cidrs", Trunk{Name: "third", Host: "h:1", Transport: "udp", InboundCIDRs: []string{}}, nil},
		{"taken", Trunk{Name: "carrier", Host: "h:1", Transport: "udp"}, ErrConflict},
		{"bad cidr", Trunk{Name: "x", Host: "h:1", Transport: "udp", InboundCIDRs: []string{"10.0.0.1"}}, ErrInvalid},
		{"bad transport", Trunk{Name: "x", Host: "h:1", Transport: "tls"}, ErrInvalid},
		{"no host", Trunk{Name: "x", Transport: "udp"}, ErrInvalid},
		{"no name", Trunk{Host: "h:1", Transport: "udp"}, ErrInvalid},
	}
	var want []Trunk
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CreateTrunk(ctx, tt.t)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateTrunk = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if got.ID == 0 {
					t.Error("no ID")
				}
				want = append(want, got)
			}
		})
	}
	got, err := s.Trunks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Trunks =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDIDs(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	tr, err := s.CreateTrunk(ctx, Trunk{Name: "carrier", Host: "127.0.0.1:5090", Transport: "udp"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		d       DID
		wantErr error
	}{
		{"to queue", DID{Number: "+31201230002", TrunkID: tr.ID, TargetKind: TargetQueue, Target: "8001"}, nil},
		{"to extension", DID{Number: "+31201231001", TrunkID: tr.ID, TargetKind: TargetExtension, Target: "1001"}, nil},
		{"shortest", DID{Number: "+12345678", TrunkID: tr.ID, TargetKind: TargetExtension, Target: "1001"}, nil},
		{"taken", DID{Number: "+31201230002", TrunkID: tr.ID, TargetKind: TargetQueue, Target: "8000"}, ErrConflict},
		{"unknown trunk", DID{Number: "+31201230009", TrunkID: 99, TargetKind: TargetQueue, Target: "8000"}, ErrNotFound},
		{"no plus", DID{Number: "31201230009", TrunkID: tr.ID, TargetKind: TargetQueue, Target: "8000"}, ErrInvalid},
		{"too long", DID{Number: "+3120123000912345", TrunkID: tr.ID, TargetKind: TargetQueue, Target: "8000"}, ErrInvalid},
		{"too short", DID{Number: "+1234567", TrunkID: tr.ID, TargetKind: TargetQueue, Target: "8000"}, ErrInvalid},
		{"leading zero", DID{Number: "+0201230009", TrunkID: tr.ID, TargetKind: TargetQueue, Target: "8000"}, ErrInvalid},
		{"spaces", DID{Number: "+31 20 123 0009", TrunkID: tr.ID, TargetKind: TargetQueue, Target: "8000"}, ErrInvalid},
		{"bad kind", DID{Number: "+31201230009", TrunkID: tr.ID, TargetKind: "ivr", Target: "1"}, ErrInvalid},
		{"no target", DID{Number: "+31201230009", TrunkID: tr.ID, TargetKind: TargetQueue}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CreateDID(ctx, tt.d)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateDID = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			back, err := s.DIDByNumber(ctx, tt.d.Number)
			if err != nil || back != got || got.ID == 0 {
				t.Errorf("DIDByNumber = %+v, %v; want %+v", back, err, got)
			}
		})
	}
	if _, err := s.DIDByNumber(ctx, "+31209999999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DIDByNumber(unknown) = %v, want ErrNotFound", err)
	}
	ds, err := s.DIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	for _, d := range ds {
		numbers = append(numbers, d.Number)
	}
	if want := []string{"+12345678", "+31201230002", "+31201231001"}; !reflect.DeepEqual(numbers, want) {
		t.Errorf("DIDs = %v, want %v", numbers, want)
	}
}

func TestQueues(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, n := range []string{"1001", "1002", "1003"} {
		if _, err := s.CreateExtension(ctx, Extension{Number: n, Realm: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		q           Queue
		wantMembers []QueueMember
		wantErr     error
	}{
		{"ordered by penalty then extension",
			Queue{Number: "8000", Name: "Support", Strategy: "ringall", Members: []QueueMember{
				{Extension: "1003", Penalty: 0}, {Extension: "1002", Penalty: 1}, {Extension: "1001", Penalty: 0}}},
			[]QueueMember{{"1001", 0}, {"1003", 0}, {"1002", 1}}, nil},
		{"default strategy, no members", Queue{Number: "8001", Name: "Sales"}, nil, nil},
		{"taken", Queue{Number: "8000", Name: "Again"}, nil, ErrConflict},
		{"taken by an extension", Queue{Number: "1001", Name: "Clash"}, nil, ErrConflict},
		{"unknown member", Queue{Number: "8002", Name: "X", Members: []QueueMember{{Extension: "1999"}}}, nil, ErrNotFound},
		{"member twice", Queue{Number: "8003", Name: "X", Members: []QueueMember{{Extension: "1001"}, {Extension: "1001"}}}, nil, ErrInvalid},
		{"no name", Queue{Number: "8004"}, nil, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CreateQueue(ctx, tt.q)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateQueue = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				// A failed create leaves nothing behind.
				if tt.wantErr != ErrConflict {
					if _, err := s.QueueByNumber(ctx, tt.q.Number); !errors.Is(err, ErrNotFound) {
						t.Errorf("QueueByNumber after failed create = %v, want ErrNotFound", err)
					}
				}
				return
			}
			if got.Strategy != "ringall" || got.ID == 0 || !reflect.DeepEqual(got.Members, tt.wantMembers) {
				t.Errorf("CreateQueue = %+v, want members %+v", got, tt.wantMembers)
			}
			back, err := s.QueueByNumber(ctx, tt.q.Number)
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Errorf("QueueByNumber = %+v, %v; want %+v", back, err, got)
			}
		})
	}
	if _, err := s.QueueByNumber(ctx, "8999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("QueueByNumber(unknown) = %v, want ErrNotFound", err)
	}
	qs, err := s.Queues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Number != "8000" || len(qs[0].Members) != 3 || qs[1].Number != "8001" || qs[1].Members != nil {
		t.Errorf("Queues = %+v", qs)
	}
}
