package media

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestParseRTP(t *testing.T) {
	marshal := func(h rtp.Header, payload []byte) []byte {
		b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 77, Timestamp: 123456, SSRC: 0xdeadbeef, Marker: true}
	withCSRC := base
	withCSRC.CSRC = []uint32{1, 2}
	withExt := base
	withExt.Extension = true
	withExt.ExtensionProfile = 0xBEDE
	if err := withExt.SetExtension(1, []byte{0xaa, 0xbb}); err != nil {
		t.Fatal(err)
	}
	padded := marshal(base, []byte{1, 2, 3})
	padded[0] |= 0x20
	padded = append(padded, 0, 0, 3) // 3 bytes of padding

	tests := []struct {
		name        string
		pkt         []byte
		ok          bool
		wantPayload []byte
	}{
		{"plain", marshal(base, []byte{1, 2, 3}), true, []byte{1, 2, 3}},
		{"csrc", marshal(withCSRC, []byte{4, 5}), true, []byte{4, 5}},
		{"extension", marshal(withExt, []byte{6}), true, []byte{6}},
		{"padding", padded, true, []byte{1, 2, 3}},
		{"empty payload", marshal(base, nil), true, []byte{}},
		{"too short", []byte{0x80, 0, 0, 1}, false, nil},
		{"version 1", append([]byte{0x40}, make([]byte, 20)...), false, nil},
		{"csrc past end", append([]byte{0x8f}, make([]byte, 20)...), false, nil},
		{"extension past end", append([]byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff}, make([]byte, 8)...), false, nil},
		{"zero padding", append([]byte{0xa0}, make([]byte, 20)...), false, nil},
		{"padding past end", append(append([]byte{0xa0}, make([]byte, 11)...), 1, 200), false, nil},
		{"RTCP sender report", append([]byte{0x80, 200, 0, 6}, make([]byte, 24)...), false, nil},
		{"RTCP receiver report", append([]byte{0x81, 201, 0, 7}, make([]byte, 28)...), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h rtpHeader
			if got := parseRTP(tt.pkt, &h); got != tt.ok {
				t.Fatalf("parseRTP = %v, want %v", got, tt.ok)
			}
			if !tt.ok {
				return
			}
			if h.pt != 8 || h.seq != 77 || h.ts != 123456 || h.ssrc != 0xdeadbeef || !h.marker {
				t.Errorf("header %+v", h)
			}
			if got := tt.pkt[h.payloadOff:h.payloadEnd]; string(got) != string(tt.wantPayload) {
				t.Errorf("payload %v, want %v", got, tt.wantPayload)
			}
		})
	}
}

// TestOutStreamContinuity follows one output stream through relay → music
// → relay from a new SSRC (a re-INVITE on the other leg): one SSRC out, one
// sequence number after another, timestamps moving forward.
func TestOutStreamContinuity(t *testing.T) {
	o := outStream{ssrc: 99, lastSeq: 65530, lastTS: 4_294_967_000} // wraps on purpose
	type in struct {
		kind srcKind
		ssrc uint32
		seq  uint16
		ts   uint32
		now  int64 // ns
	}
	steps := []in{
		{srcRelay, 1, 100, 1000, 0},
		{srcRelay, 1, 101, 1160, 20e6},
		{srcRelay, 1, 102, 1320, 40e6},
		{srcMusic, 0, 1, 160, 1040e6}, // a second later
		{srcMusic, 0, 2, 320, 1060e6},
		{srcRelay, 7, 5000, 9_000_000, 1080e6},
		{srcRelay, 7, 5001, 9_000_160, 1100e6},
	}
	var prevSeq uint16
	var prevTS uint32
	for i, s := range steps {
		seq, ts, switched := o.rewrite(s.kind, s.ssrc, s.seq, s.ts, s.now)
		wantSwitch := i == 0 || steps[i-1].kind != s.kind || steps[i-1].ssrc != s.ssrc
		if switched != wantSwitch {
			t.Errorf("step %d: switched = %v, want %v", i, switched, wantSwitch)
		}
		if i > 0 {
			if seq != prevSeq+1 {
				t.Errorf("step %d: seq %d after %d", i, seq, prevSeq)
			}
			gap := ts - prevTS
			want := uint32(160)
			if i == 3 {
				want = 8000 // the timestamp follows the wall clock over the 1 s gap
			}
			if gap != want {
				t.Errorf("step %d: timestamp advanced %d, want %d", i, gap, want)
			}
		}
		prevSeq, prevTS = seq, ts
	}
}

// FuzzParseRTP: the per-packet parser must never read out of bounds.
func FuzzParseRTP(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xff})
	f.Add([]byte{0xbf, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h rtpHeader
		if parseRTP(b, &h) && (h.payloadOff > h.payloadEnd || h.payloadEnd > len(b)) {
			t.Fatalf("payload bounds %d..%d of %d", h.payloadOff, h.payloadEnd, len(b))
		}
	})
}

func TestSeqTrackerCountsLoss(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint16
		ssrc []uint32 // per packet; nil: all 1
		want int
	}{
		{"in order", []uint16{1, 2, 3, 4}, nil, 0},
		{"two lost", []uint16{1, 2, 5, 6}, nil, 2},
		{"wrap around", []uint16{65534, 65535, 0, 2}, nil, 1},
		{"late and duplicate count nothing", []uint16{10, 12, 11, 12, 13}, nil, 1},
		{"new ssrc restarts", []uint16{1, 2, 900, 901}, []uint32{1, 1, 2, 2}, 0},
		{"a huge jump is a restart", []uint16{1, 2, 20000, 20001}, nil, 0},
	}
	for _, tt := range tests {
		var tr seqTracker
		got := 0
		for i, s := range tt.seqs {
			ssrc := uint32(1)
			if tt.ssrc != nil {
				ssrc = tt.ssrc[i]
			}
			got += tr.next(ssrc, s)
		}
		if got != tt.want {
			t.Errorf("%s: lost %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestEngineCountsLostPackets: gaps in what a phone sends show in
// EngineStats.PacketsLost.
func TestEngineCountsLostPackets(t *testing.T) {
	e := newTestEngine(t, 41980, 41989)
	ep := newTestEndpoint(t, e)
	p := newPhone(t)
	ep.SetRemote(p.addr(), PCMU, 0)
	frame := ulawFrame(make([]int16, 160))
	for _, seq := range []uint16{100, 101, 104, 105, 103} { // 102 lost; 103 arrives late
		p.sendPacket(ep.LocalAddr(), false, PCMU.PayloadType, seq, uint32(seq)*160, frame)
	}
	eventually(t, 2*time.Second, func() error {
		if st := e.Stats(); st.PacketsIn < 5 {
			return fmt.Errorf("%d packets in", st.PacketsIn)
		}
		return nil
	})
	if lost := e.Stats().PacketsLost; lost != 2 {
		t.Errorf("PacketsLost = %d, want 2 (102 and 103 were missing when 104 came; a late packet is not undone)", lost)
	}
}
