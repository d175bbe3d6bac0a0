package siptest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/internal/media/g711"
)

const (
	sampleRate   = 8000
	frameSamples = 160 // 20 ms at 8 kHz
	frameDur     = 20 * time.Millisecond
	// ringSamples is how much received audio a call keeps (5 s).
	ringSamples = 5 * sampleRate
	// dtmfEventFrames is the tone part of an RFC 4733 event: 100 ms, long
	// enough for any detector (ITU-T Q.24 asks for 40 ms).
	dtmfEventFrames = 5
	// dtmfEndPackets: RFC 4733 §2.5.1.4 sends the final (E=1) packet three
	// times, all with the event's timestamp, so a single loss cannot make
	// the receiver miss the end.
	dtmfEndPackets = 3
	// dtmfGapFrames of audio follow an event before the next may start, so
	// back-to-back digits stay distinguishable to tone detectors too.
	dtmfGapFrames = 3
	dtmfVolume    = 10 // -10 dBm0, RFC 4733 §2.3.4
)

// mediaParams is what the sender needs, swapped atomically whenever an
// offer/answer exchange completes.
type mediaParams struct {
	dst   *net.UDPAddr
	pt    uint8
	codec string
	tePT  int // remote telephone-event payload type, -1 if not negotiated
	send  bool
}

type dtmfJob struct {
	code uint8
	done chan error
}

// media is one call's RTP endpoint: a socket, a 20 ms sender and a receiver
// that decodes into a ring buffer.
type media struct {
	conn    *net.UDPConn
	port    int
	params  atomic.Pointer[mediaParams]
	localTE atomic.Int32  // telephone-event PT in our SDP, -1 if none
	tone    atomic.Uint64 // math.Float64bits of the tone frequency
	level   float64
	dtmfCh  chan dtmfJob

	mu         sync.Mutex
	ring       []int16
	ringPos    int
	ringTotal  int
	packets    int
	digits     []byte
	lastEvTS   uint32
	haveEvent  bool
	lastSource string
}

// newMedia binds an RTP socket on ip. RFC 3550 §11 wants RTP on an even
// port (RTCP on the next odd one), which peers may assume, so a few odd
// ephemeral ports are skipped.
func newMedia(ip net.IP, toneHz, level float64) (*media, error) {
	var rejected []*net.UDPConn
	defer func() {
		for _, c := range rejected {
			_ = c.Close()
		}
	}()
	var conn *net.UDPConn
	for attempt := 0; ; attempt++ {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return nil, fmt.Errorf("siptest: bind RTP on %s: %w", ip, err)
		}
		if c.LocalAddr().(*net.UDPAddr).Port%2 == 0 || attempt >= 16 {
			conn = c
			break
		}
		rejected = append(rejected, c)
	}
	m := &media{
		conn:   conn,
		port:   conn.LocalAddr().(*net.UDPAddr).Port,
		level:  level,
		dtmfCh: make(chan dtmfJob),
		ring:   make([]int16, ringSamples),
	}
	m.localTE.Store(-1)
	m.tone.Store(math.Float64bits(toneHz))
	return m, nil
}

func (m *media) close() { _ = m.conn.Close() }

// sendLoop emits one packet every 20 ms while params allow sending. The
// RTP clock runs even while nothing is sent (RFC 3550 §5.1: the timestamp
// reflects the sampling instant), so audio after a hold carries a
// timestamp jump the receiver can use for playout.
func (m *media) sendLoop(ctx context.Context) {
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	var (
		seq    = uint16(rand.Uint32())
		ts     = rand.Uint32()
		ssrc   = rand.Uint32()
		gen    toneGen
		hz     = math.NaN()
		pcm    = make([]int16, frameSamples)
		buf    = make([]byte, 1500)
		first  = true
		job    *dtmfJob
		evTS   uint32
		evN    int // packets sent for the current event
		gap    int
		evBody [4]byte
	)
	finish := func(err error) {
		if job != nil {
			job.done <- err
			job = nil
		}
	}
	defer func() { finish(ErrCallEnded) }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p := m.params.Load()
		canSend := p != nil && p.send
		if job == nil && gap == 0 {
			select {
			case j := <-m.dtmfCh:
				job, evTS, evN = &j, ts, 0
				switch {
				case !canSend:
					finish(errors.New("siptest: DTMF: media is not being sent (no remote SDP or on hold)"))
				case p.tePT < 0:
					finish(errors.New("siptest: DTMF: remote did not negotiate telephone-event"))
				}
			default:
			}
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: ssrc}}
		jobDone := false
		switch {
		case !canSend:
			// nothing
		case job != nil:
			// RFC 4733 §2.5.1: every packet of an event carries the event's
			// start timestamp and the duration so far; the first has M=1.
			evN++
			frames := min(evN, dtmfEventFrames)
			end := evN > dtmfEventFrames
			evBody[0] = job.code
			evBody[1] = dtmfVolume
			if end {
				evBody[1] |= 0x80 // E bit
			}
			binary.BigEndian.PutUint16(evBody[2:], uint16(frames*frameSamples))
			pkt.PayloadType = uint8(p.tePT)
			pkt.Timestamp = evTS
			pkt.Marker = evN == 1
			pkt.Payload = evBody[:]
			jobDone = evN == dtmfEventFrames+dtmfEndPackets
		default:
			if gap > 0 {
				gap--
			}
			if f := math.Float64frombits(m.tone.Load()); f != hz {
				hz = f
				gen.set(f, sampleRate, m.level)
			}
			gen.fill(pcm)
			payload := buf[len(buf)-frameSamples:]
			if p.codec == "PCMA" {
				g711.EncodeALaw(payload, pcm)
			} else {
				g711.EncodeULaw(payload, pcm)
			}
			pkt.PayloadType = p.pt
			pkt.Timestamp = ts
			pkt.Marker = first // start of the first talkspurt (RFC 3551 §4.1)
			pkt.Payload = payload
			first = false
		}
		if canSend {
			pkt.SequenceNumber = seq
			seq++
			n, err := pkt.MarshalTo(buf[:len(buf)-frameSamples])
			if err == nil {
				_, _ = m.conn.WriteToUDP(buf[:n], p.dst)
			}
		}
		if jobDone {
			finish(nil)
			gap = dtmfGapFrames
		}
		ts += frameSamples
	}
}

// recvLoop decodes G.711 into the ring buffer and records RFC 4733 digits
// until the socket is closed. It accepts packets from any source: the
// phone must not latch, it is the endpoint whose address others latch on.
func (m *media) recvLoop() {
	buf := make([]byte, 2048)
	pcm := make([]int16, 2048)
	for {
		n, src, err := m.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP-induced errors; the socket is still usable
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil || pkt.Version != 2 {
			continue
		}
		m.handle(&pkt, src.String(), pcm)
	}
}

func (m *media) handle(pkt *rtp.Packet, src string, pcm []int16) {
	var samples []int16
	switch pkt.PayloadType {
	case ptPCMU:
		samples = pcm[:g711.DecodeULaw(pcm, pkt.Payload)]
	case ptPCMA:
		samples = pcm[:g711.DecodeALaw(pcm, pkt.Payload)]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.packets++
	m.lastSource = src
	if samples != nil {
		for _, s := range samples {
			m.ring[m.ringPos] = s
			m.ringPos = (m.ringPos + 1) % len(m.ring)
		}
		m.ringTotal += len(samples)
		return
	}
	if !m.isTelephoneEvent(pkt.PayloadType) || len(pkt.Payload) < 4 {
		return
	}
	// A new event is a new timestamp (RFC 4733 §2.5.1.2); all other
	// packets of the event, including the three end packets, repeat it.
	if m.haveEvent && pkt.Timestamp == m.lastEvTS {
		return
	}
	m.haveEvent, m.lastEvTS = true, pkt.Timestamp
	if d, ok := dtmfDigit(pkt.Payload[0]); ok {
		m.digits = append(m.digits, d)
	}
}

// isTelephoneEvent accepts our own telephone-event PT and the remote's,
// since a peer may (wrongly but commonly) send with its own number.
func (m *media) isTelephoneEvent(pt uint8) bool {
	if int32(pt) == m.localTE.Load() {
		return true
	}
	p := m.params.Load()
	return p != nil && p.tePT == int(pt)
}

func (m *media) addDigit(d byte) {
	m.mu.Lock()
	m.digits = append(m.digits, d)
	m.mu.Unlock()
}

// recent returns a copy of up to n most recently received samples.
func (m *media) recent(n int) []int16 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n = min(n, m.ringTotal, len(m.ring))
	out := make([]int16, n)
	start := (m.ringPos - n + len(m.ring)) % len(m.ring)
	k := copy(out, m.ring[start:])
	copy(out[k:], m.ring[:n-k])
	return out
}

const dtmfChars = "0123456789*#ABCD"

// dtmfCode maps a digit to its RFC 4733 §3.2 event code.
func dtmfCode(d byte) (uint8, bool) {
	if d >= 'a' && d <= 'd' {
		d -= 'a' - 'A'
	}
	for i := 0; i < len(dtmfChars); i++ {
		if dtmfChars[i] == d {
			return uint8(i), true
		}
	}
	return 0, false
}

func dtmfDigit(code uint8) (byte, bool) {
	if int(code) < len(dtmfChars) {
		return dtmfChars[code], true
	}
	return 0, false
}
