package media

import (
	"fmt"
	"testing"
	"time"
)

// eventPayload builds an RFC 4733 §2.3 payload.
func eventPayload(event uint8, end bool, volume uint8, duration uint16) []byte {
	b := []byte{event, volume & 0x3f, byte(duration >> 8), byte(duration)}
	if end {
		b[1] |= 0x80
	}
	return b
}

func TestEventDigit(t *testing.T) {
	want := "0123456789*#ABCD"
	for ev := range uint8(16) {
		d, ok := eventDigit(ev)
		if !ok || d != want[ev] {
			t.Errorf("event %d: %q %v, want %q", ev, d, ok, want[ev])
		}
	}
	for _, ev := range []uint8{16, 32, 255} {
		if _, ok := eventDigit(ev); ok {
			t.Errorf("event %d maps to a digit", ev)
		}
	}
}

func TestDTMFState(t *testing.T) {
	type pkt struct {
		payload []byte
		ts      uint32
	}
	tests := []struct {
		name string
		pkts []pkt
		want string // digit:ms, …
	}{
		{"one event, end sent three times", []pkt{
			{eventPayload(5, false, 10, 160), 1000},
			{eventPayload(5, false, 10, 320), 1000},
			{eventPayload(5, true, 10, 800), 1000},
			{eventPayload(5, true, 10, 800), 1000},
			{eventPayload(5, true, 10, 800), 1000},
		}, "5:100,"},
		{"same digit twice", []pkt{
			{eventPayload(1, true, 10, 640), 1000}, {eventPayload(1, true, 10, 640), 1000},
			{eventPayload(1, true, 10, 640), 3000}, {eventPayload(1, true, 10, 640), 3000},
		}, "1:80,1:80,"},
		{"star, hash, letters", []pkt{
			{eventPayload(10, true, 0, 400), 1}, {eventPayload(11, true, 0, 400), 2},
			{eventPayload(12, true, 0, 400), 3}, {eventPayload(15, true, 0, 400), 4},
		}, "*:50,#:50,A:50,D:50,"},
		{"flash (16) is not a digit", []pkt{{eventPayload(16, true, 0, 800), 9}}, ""},
		{"no end, no digit", []pkt{{eventPayload(7, false, 0, 800), 9}}, ""},
		{"short payload", []pkt{{[]byte{5, 0x80}, 9}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d dtmfState
			got := ""
			for _, p := range tt.pkts {
				if digit, ms := d.update(p.payload, p.ts); digit != 0 {
					got += fmt.Sprintf("%c:%d,", digit, ms)
				}
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

type digitEvent struct {
	digit byte
	ms    int
}

// TestDTMFEndToEnd: digits are reported once per event on the endpoint
// that received them, passed through to the peer with the peer's payload
// type, and dropped for a peer that negotiated none.
func TestDTMFEndToEnd(t *testing.T) {
	checkNoLeaks(t)
	c := newCall(t, 41500, 41519, PCMU, PCMA, 101, 96)
	got := make(chan digitEvent, 16)
	c.a.OnDTMF(func(d byte, ms int) { got <- digitEvent{d, ms} })

	sendEvent := func(ev uint8, ts uint32) {
		seq := uint16(ts) // any increasing number
		c.pa.sendPacket(c.a.LocalAddr(), true, 101, seq, ts, eventPayload(ev, false, 10, 160))
		c.pa.sendPacket(c.a.LocalAddr(), false, 101, seq+1, ts, eventPayload(ev, false, 10, 320))
		for i := range uint16(3) { // RFC 4733 §2.5.1.4: the end, three times
			c.pa.sendPacket(c.a.LocalAddr(), false, 101, seq+2+i, ts, eventPayload(ev, true, 10, 640))
		}
	}
	sendEvent(5, 8000)
	sendEvent(11, 16000)

	for _, want := range []digitEvent{{'5', 80}, {'#', 80}} {
		select {
		case ev := <-got:
			if ev != want {
				t.Fatalf("digit %q %dms, want %q %dms", ev.digit, ev.ms, want.digit, want.ms)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("digit %q not reported", want.digit)
		}
	}
	// Passed through: 10 packets, with B's telephone-event type.
	for i := range 10 {
		pkt := c.pb.mustRecv("DTMF pass-through")
		if pkt.PayloadType != 96 {
			t.Fatalf("packet %d: PT %d, want the peer's 96", i, pkt.PayloadType)
		}
	}
	select {
	case ev := <-got:
		t.Fatalf("extra digit %q: end packets not deduplicated", ev.digit)
	case <-time.After(50 * time.Millisecond):
	}
	if n := c.e.Stats().DTMFEvents; n != 2 {
		t.Errorf("DTMFEvents = %d, want 2", n)
	}

	// A peer with no telephone-event gets no events; the digit still counts.
	c.b.SetRemote(c.pb.addr(), PCMA, 0)
	sendEvent(1, 24000)
	select {
	case ev := <-got:
		if ev.digit != '1' {
			t.Fatalf("digit %q, want '1'", ev.digit)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("digit 1 not reported")
	}
	if n := c.pb.drain(50 * time.Millisecond); n != 0 {
		t.Fatalf("%d DTMF packets sent to a peer without telephone-event", n)
	}

	// OnDTMF(nil) removes the handler without breaking the reader.
	c.a.OnDTMF(nil)
	sendEvent(2, 32000)
	sendTone(c.pa, c.a, 0, 1000, 1)
	c.pb.mustRecv("audio after DTMF without handler")
}
