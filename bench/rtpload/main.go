// Command rtpload measures relayed G.711 media: it opens N calls through a
// relay, sends 20 ms PCMA packets (172 bytes, 50 packets/s) in both
// directions of every call, and counts what comes out the other side.
//
// Against Switchboard (-sip HOST:PORT) it is both ends of every call: it
// registers as an extension with digest auth and answers the INVITEs that
// Switchboard forks to it (the callee), and it calls a DID on the trusted
// trunk from the same host (the caller). Against bench/udprelay (-bare-base
// PORT) there is no SIP: pair i is relayed between BASE+4i and BASE+4i+2.
//
// Timeline: set up all calls (at -setup-rate), send for -warmup (latching,
// not counted), send for -secs (counted: every packet carries a phase byte,
// a stream id and its send time), stop, drain 0.5 s, tear the calls down.
// The relay's CPU (utime+stime of -sut-pid from /proc) is read at the start
// and end of the counted window. The generator uses a few shared UDP sockets
// per side (-socks), not one per call: symmetric RTP latching sends every
// stream back to the socket it came from, and the generator stays cheap
// enough to share two cores with the relay.
//
// One JSON line goes to stdout. Everything is bounded: -max-run kills the
// whole run.
package main

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/switchboard/switchboard/internal/procstat"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	frameBytes = 160 // 20 ms of G.711
	pktBytes   = 12 + frameBytes
	pcmaPT     = 8
	clkTck     = 100 // USER_HZ on Linux x86-64
)

var (
	sipAddr   = flag.String("sip", "", "Switchboard SIP address host:port (calls through the B2BUA)")
	bareBase  = flag.Int("bare-base", 0, "instead of -sip: bench/udprelay's first port")
	ipFlag    = flag.String("ip", "127.0.0.1", "local address (must be a trusted trunk source for -sip)")
	ext       = flag.String("ext", "1002", "extension the callee side registers as")
	password  = flag.String("password", "", "the extension's SIP password (default demo-EXT)")
	did       = flag.String("did", "+31201231002", "DID the caller dials (must route to -ext)")
	calls     = flag.Int("calls", 100, "simultaneous calls")
	setupRate = flag.Int("setup-rate", 200, "new calls per second while setting up")
	warmup    = flag.Duration("warmup", time.Second, "media before counting (latching)")
	secs      = flag.Duration("secs", 10*time.Second, "counted media window")
	socks     = flag.Int("socks", 4, "generator RTP sockets per side")
	sutPID    = flag.Int("sut-pid", 0, "PID of the relay, for its CPU")
	sutPorts  = flag.String("sut-ports", "", "LO-HI: the relay's RTP port range, to count its socket drops")
	label     = flag.String("label", "", "mode label in the JSON output")
	maxRun    = flag.Duration("max-run", 3*time.Minute, "hard bound for the whole run")
)

var epoch = time.Now()

func nowNS() uint64 { return uint64(time.Since(epoch)) }

func main() {
	flag.Parse()
	if *password == "" {
		*password = "demo-" + *ext
	}
	if (*sipAddr == "") == (*bareBase == 0) {
		fatal("give exactly one of -sip and -bare-base")
	}
	time.AfterFunc(*maxRun, func() { fatal("max-run %s exceeded", *maxRun) })
	res, err := run()
	if err != nil {
		fatal("%v", err)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "rtpload: "+format+"\n", a...)
	os.Exit(1)
}

// Result is the JSON line.
type Result struct {
	Mode             string         `json:"mode"`
	Calls            int            `json:"calls"`
	Established      int            `json:"established"`
	SetupFailed      map[string]int `json:"setup_failed,omitempty"`
	SetupSecs        float64        `json:"setup_s"`
	SetupSUTCPUms    float64        `json:"setup_sut_cpu_ms_per_call,omitempty"`
	MediaSecs        float64        `json:"media_s"`
	Streams          int            `json:"streams"`
	PPSOffered       float64        `json:"pps_offered"`
	PPSSent          float64        `json:"pps_sent"`
	Sent             uint64         `json:"pkts_sent"`
	Received         uint64         `json:"pkts_received"`
	LossPct          float64        `json:"loss_pct"`
	DeadStreams      int            `json:"dead_streams"`
	LatP50us         int            `json:"relay_latency_p50_us"`
	LatP99us         int            `json:"relay_latency_p99_us"`
	LatMaxus         int            `json:"relay_latency_max_us"`
	SUTCPUs          float64        `json:"sut_cpu_s"`
	SUTCorePct       float64        `json:"sut_core_pct"`
	SUTusPerPkt      float64        `json:"sut_cpu_us_per_pkt"`
	SUTRSSMB         float64        `json:"sut_rss_mb,omitempty"`
	GenCPUs          float64        `json:"gen_cpu_s"`
	BoxBusyPct       float64        `json:"box_busy_pct_of_2cores"`
	OthersCorePct    float64        `json:"others_core_pct"`
	SUTSockDrops     int64          `json:"sut_sock_drops"`
	GenSockDrops     int64          `json:"gen_sock_drops"`
	KernelRcvbufErrs int64          `json:"kernel_udp_rcvbuf_errors"`
	SendErrors       uint64         `json:"send_errors"`
	TeardownOK       int            `json:"teardown_ok"`
	SUTAlive         bool           `json:"sut_alive"`
}

// ---------------------------------------------------------------- media

type stream struct {
	id   uint32
	sock *net.UDPConn
	dst  netip.AddrPort
	ssrc uint32
	seq  uint16
	ts   uint32
}

type receiver struct {
	conn  *net.UDPConn
	count uint64
	hist  []uint32 // relay latency in 10 µs buckets
}

const histBuckets = 20000 // 200 ms

var (
	phase      atomic.Uint32 // 0 warm-up, 1 counted, 2 stopped
	stopRecv   atomic.Bool
	perStream  []atomic.Uint32
	sendErrors atomic.Uint64
)

// run counts the packets of the counted window until stopRecv is set and a
// read deadline bounces the read.
func (r *receiver) run(wg *sync.WaitGroup) {
	defer wg.Done()
	rc, err := r.conn.SyscallConn()
	if err != nil {
		return
	}
	b := newBatch(2048, false)
	for {
		got, err := b.recv(r.conn, rc)
		if err != nil {
			if stopRecv.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		now := nowNS()
		for i := range got {
			buf := b.bufs[i][:b.msgs[i].n]
			if len(buf) < 12+13 || buf[12] != 1 {
				continue
			}
			id := binary.BigEndian.Uint32(buf[13:17])
			sent := binary.BigEndian.Uint64(buf[17:25])
			lat := (now - sent) / 10000
			if lat >= histBuckets {
				lat = histBuckets - 1
			}
			r.hist[lat]++
			r.count++
			if int(id) < len(perStream) {
				perStream[id].Add(1)
			}
		}
	}
}

// send runs the sender of one generator socket: its streams are spread
// over 20 slots of 1 ms so the relay sees a steady rate, not a burst every
// 20 ms; each slot's packets leave in sendmmsg batches.
func send(conn *net.UDPConn, streams []*stream, counted *atomic.Uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	const slots = 20
	b := newBatch(pktBytes, true)
	for i := range b.bufs {
		for j := 12 + 25; j < pktBytes; j++ {
			b.bufs[i][j] = 0xD5 // A-law silence
		}
	}
	start := time.Now()
	for tick := 0; ; tick++ {
		ph := phase.Load()
		if ph == 2 {
			return
		}
		slot := tick % slots
		var n uint64
		for i := slot; i < len(streams); i += slots {
			s := streams[i]
			s.seq++
			s.ts += frameBytes
			pkt := b.next(s.dst)
			pkt[0], pkt[1] = 0x80, pcmaPT
			binary.BigEndian.PutUint16(pkt[2:], s.seq)
			binary.BigEndian.PutUint32(pkt[4:], s.ts)
			binary.BigEndian.PutUint32(pkt[8:], s.ssrc)
			pkt[12] = byte(ph)
			binary.BigEndian.PutUint32(pkt[13:], s.id)
			binary.BigEndian.PutUint64(pkt[17:], nowNS())
			if ph == 1 {
				n++
			}
			if b.n == batchSize {
				failed := b.flush(conn)
				sendErrors.Add(uint64(failed))
				if ph == 1 {
					n -= uint64(failed)
				}
			}
		}
		failed := b.flush(conn)
		sendErrors.Add(uint64(failed))
		if ph == 1 {
			n -= uint64(failed)
		}
		counted.Add(n)
		next := start.Add(time.Duration(tick+1) * time.Millisecond)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
}

func openSock(ip netip.Addr) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, err
	}
	// Big buffers so that the generator's own sockets are not where packets
	// are lost (SO_RCVBUFFORCE needs CAP_NET_ADMIN; fall back quietly).
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 32<<20) != nil {
				_ = c.SetReadBuffer(8 << 20)
			}
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, 8<<20)
		})
	}
	return c, nil
}

// ---------------------------------------------------------------- /proc

func procRSSMB(pid int) float64 {
	return float64(int(float64(procstat.RSSKB(pid))/1024*10)) / 10
}

func sysCPU() (total, idle int64) {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return
}

func rcvbufErrors() int64 {
	b, _ := os.ReadFile("/proc/net/snmp")
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "Udp: ") {
			continue
		}
		f := strings.Fields(l)[1:]
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// sockDrops sums the drop counters of the IPv4 UDP sockets on ip whose local
// port is in [lo, hi] and of those in the set gen.
func sockDrops(ip netip.Addr, lo, hi int, gen map[int]bool) (sut, g int64) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0, 0
	}
	a4 := ip.As4()
	want := fmt.Sprintf("%02X%02X%02X%02X", a4[3], a4[2], a4[1], a4[0])
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 13 {
			continue
		}
		h, p, ok := strings.Cut(f[1], ":")
		if !ok || h != want {
			continue
		}
		port, _ := strconv.ParseInt(p, 16, 32)
		d, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		if int(port) >= lo && int(port) <= hi {
			sut += d
		}
		if gen[int(port)] {
			g += d
		}
	}
	return
}

// ---------------------------------------------------------------- run

type callLeg struct {
	callerDst, calleeDst netip.AddrPort // relay ports each side sends to
	callerSock           int
	calleeSock           int
}

func run() (*Result, error) {
	ip, err := netip.ParseAddr(*ipFlag)
	if err != nil {
		return nil, err
	}
	res := &Result{Mode: *label, Calls: *calls, SetupFailed: map[string]int{}}
	if res.Mode == "" {
		res.Mode = "sb-media"
		if *bareBase != 0 {
			res.Mode = "bare-relay"
		}
	}
	callerSocks := make([]*net.UDPConn, *socks)
	calleeSocks := make([]*net.UDPConn, *socks)
	genPorts := map[int]bool{}
	for i := range *socks {
		if callerSocks[i], err = openSock(ip); err != nil {
			return nil, err
		}
		if calleeSocks[i], err = openSock(ip); err != nil {
			return nil, err
		}
		genPorts[callerSocks[i].LocalAddr().(*net.UDPAddr).Port] = true
		genPorts[calleeSocks[i].LocalAddr().(*net.UDPAddr).Port] = true
	}

	var legs []callLeg
	var sip *sipSide
	t0 := time.Now()
	k0 := procstat.CPUTicks(*sutPID)
	if *bareBase != 0 {
		for i := range *calls {
			legs = append(legs, callLeg{
				callerDst:  netip.AddrPortFrom(ip, uint16(*bareBase+4*i)),
				calleeDst:  netip.AddrPortFrom(ip, uint16(*bareBase+4*i+2)),
				callerSock: i % *socks, calleeSock: i % *socks,
			})
		}
	} else {
		sip, err = newSIPSide(ip, calleeSocks, callerSocks)
		if err != nil {
			return nil, err
		}
		if err := sip.register(3600); err != nil {
			return nil, err
		}
		legs = sip.setup(res)
	}
	res.Established = len(legs)
	res.SetupSecs = round(time.Since(t0).Seconds(), 2)
	if *sutPID != 0 && len(legs) > 0 && sip != nil {
		res.SetupSUTCPUms = round(float64(procstat.CPUTicks(*sutPID)-k0)*1000/clkTck/float64(len(legs)), 3)
	}

	// Streams: 2 per call. Caller stream 2i goes caller socket -> relay's
	// caller-facing port, comes out at the callee socket; 2i+1 the reverse.
	var streams []*stream
	for i, l := range legs {
		streams = append(streams,
			&stream{id: uint32(2 * i), sock: callerSocks[l.callerSock], dst: l.callerDst, ssrc: rnd32()},
			&stream{id: uint32(2*i + 1), sock: calleeSocks[l.calleeSock], dst: l.calleeDst, ssrc: rnd32()})
	}
	res.Streams = len(streams)
	res.PPSOffered = float64(len(streams) * 50)
	perStream = make([]atomic.Uint32, len(streams))

	var rwg sync.WaitGroup
	var recvs []*receiver
	for _, c := range append(append([]*net.UDPConn{}, callerSocks...), calleeSocks...) {
		r := &receiver{conn: c, hist: make([]uint32, histBuckets)}
		recvs = append(recvs, r)
		rwg.Add(1)
		go r.run(&rwg)
	}
	// One sender per generator socket.
	var swg sync.WaitGroup
	var counted atomic.Uint64
	bySock := map[*net.UDPConn][]*stream{}
	for _, s := range streams {
		bySock[s.sock] = append(bySock[s.sock], s)
	}
	for c, p := range bySock {
		swg.Add(1)
		go send(c, p, &counted, &swg)
	}

	lo, hi := parseRange(*sutPorts)
	time.Sleep(*warmup)
	sd0, gd0 := sockDrops(ip, lo, hi, genPorts)
	kb0 := rcvbufErrors()
	c0 := procstat.CPUTicks(*sutPID)
	st0, si0 := sysCPU()
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	m0 := time.Now()
	phase.Store(1)
	time.Sleep(*secs)
	phase.Store(2)
	res.MediaSecs = round(time.Since(m0).Seconds(), 2)
	c1 := procstat.CPUTicks(*sutPID)
	st1, si1 := sysCPU()
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	swg.Wait()
	time.Sleep(500 * time.Millisecond) // drain
	sd1, gd1 := sockDrops(ip, lo, hi, genPorts)
	res.KernelRcvbufErrs = rcvbufErrors() - kb0
	res.SUTSockDrops, res.GenSockDrops = sd1-sd0, gd1-gd0

	var hist = make([]uint64, histBuckets)
	stopRecv.Store(true)
	for _, r := range recvs {
		_ = r.conn.SetReadDeadline(time.Now())
	}
	rwg.Wait()
	for _, r := range recvs {
		res.Received += r.count
		for i, v := range r.hist {
			hist[i] += uint64(v)
		}
	}
	res.Sent = counted.Load()
	if res.Sent > 0 {
		res.LossPct = round(100*(1-float64(res.Received)/float64(res.Sent)), 4)
	}
	for i := range perStream {
		if perStream[i].Load() == 0 {
			res.DeadStreams++
		}
	}
	res.LatP50us, res.LatP99us, res.LatMaxus = pct(hist, 0.5), pct(hist, 0.99), pct(hist, 1)
	res.SendErrors = sendErrors.Load()
	if *sutPID != 0 {
		res.SUTCPUs = round(float64(c1-c0)/clkTck, 2)
		res.SUTCorePct = round(100*res.SUTCPUs/res.MediaSecs, 1)
		if res.Received > 0 {
			res.SUTusPerPkt = round(res.SUTCPUs*1e6/float64(res.Received), 2)
		}
		res.SUTRSSMB = procRSSMB(*sutPID)
	}
	res.GenCPUs = round(tv(ru1.Utime)+tv(ru1.Stime)-tv(ru0.Utime)-tv(ru0.Stime), 2)
	res.BoxBusyPct = round(100*(1-float64(si1-si0)/float64(max(1, st1-st0))), 1)
	// CPU of everything else on the box (other users' work, kernel threads)
	// during the window, in % of one core: busy - relay - generator.
	busyCores := 2 * res.BoxBusyPct / 100 * res.MediaSecs
	res.OthersCorePct = round(100*(busyCores-res.SUTCPUs-res.GenCPUs)/res.MediaSecs, 1)
	res.PPSSent = round(float64(res.Sent)/res.MediaSecs, 0)

	if sip != nil {
		res.TeardownOK = sip.teardown()
	}
	for _, r := range recvs {
		_ = r.conn.Close()
	}
	if sip != nil {
		sip.close()
		if err := sip.unregister(); err != nil {
			fmt.Fprintln(os.Stderr, "rtpload: unregister:", err)
		}
	}
	if *sutPID != 0 {
		res.SUTAlive = procstat.Alive(*sutPID)
	}
	if len(res.SetupFailed) == 0 {
		res.SetupFailed = nil
	}
	return res, nil
}

func pct(hist []uint64, q float64) int {
	var total uint64
	for _, v := range hist {
		total += v
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	if want == 0 {
		want = 1
	}
	var acc uint64
	for i, v := range hist {
		acc += v
		if acc >= want {
			return (i + 1) * 10
		}
	}
	return len(hist) * 10
}

func parseRange(s string) (int, int) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 1, 0
	}
	lo, _ := strconv.Atoi(a)
	hi, _ := strconv.Atoi(b)
	return lo, hi
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func round(v float64, d int) float64 {
	p := 1.0
	for range d {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

func rnd32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func rndHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------- SIP

// msg is a parsed SIP message: enough for a UA that talks to one peer.
type msg struct {
	first   string
	hdrs    []hdr
	body    []byte
	isResp  bool
	code    int
	method  string
	cseqNum int
	cseqM   string
}

type hdr struct{ name, value string }

var compact = map[string]string{"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
	"l": "content-length", "c": "content-type"}

func parse(b []byte) (*msg, error) {
	head, body, ok := bytes.Cut(b, []byte("\r\n\r\n"))
	if !ok {
		return nil, errors.New("no header end")
	}
	lines := strings.Split(string(head), "\r\n")
	m := &msg{first: lines[0], body: body}
	for _, l := range lines[1:] {
		n, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n = strings.ToLower(strings.TrimSpace(n))
		if c, ok := compact[n]; ok {
			n = c
		}
		m.hdrs = append(m.hdrs, hdr{n, strings.TrimSpace(v)})
	}
	if strings.HasPrefix(m.first, "SIP/2.0 ") {
		m.isResp = true
		f := strings.Fields(m.first)
		if len(f) < 2 {
			return nil, errors.New("bad status line")
		}
		m.code, _ = strconv.Atoi(f[1])
	} else {
		m.method, _, _ = strings.Cut(m.first, " ")
	}
	if cs := m.get("cseq"); cs != "" {
		n, meth, _ := strings.Cut(cs, " ")
		m.cseqNum, _ = strconv.Atoi(n)
		m.cseqM = strings.TrimSpace(meth)
	}
	return m, nil
}

func (m *msg) get(name string) string {
	for _, h := range m.hdrs {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

func (m *msg) all(name string) []string {
	var out []string
	for _, h := range m.hdrs {
		if h.name == name {
			out = append(out, h.value)
		}
	}
	return out
}

func sdpPort(body []byte) int {
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "m=audio ") {
			f := strings.Fields(l)
			if len(f) > 1 {
				p, _ := strconv.Atoi(f[1])
				return p
			}
		}
	}
	return 0
}

func uriOf(nameAddr string) string {
	if i := strings.IndexByte(nameAddr, '<'); i >= 0 {
		if j := strings.IndexByte(nameAddr[i:], '>'); j > 0 {
			return nameAddr[i+1 : i+j]
		}
	}
	u, _, _ := strings.Cut(nameAddr, ";")
	return strings.TrimSpace(u)
}

func sdp(ip netip.Addr, port int) string {
	return fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 %s\r\ns=rtpload\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\na=sendrecv\r\n",
		rnd32(), ip, ip, port, pcmaPT)
}

type sipCall struct {
	idx         int
	callID      string
	fromTag     string
	branch      string
	invite      []byte
	state       int // 0 inviting, 1 provisional, 2 established, 3 failed, 4 bye sent, 5 bye answered, 6 bye timed out
	to          string
	target      string
	sbPort      int
	nextRetrans time.Time
	interval    time.Duration
	deadline    time.Time
	bye         []byte
}

type uasCall struct {
	resp []byte
	sock int
}

type sipSide struct {
	ip       netip.Addr
	server   netip.AddrPort
	uac, uas *net.UDPConn
	uasPort  int
	calleeSk []*net.UDPConn
	callerSk []*net.UDPConn

	mu       sync.Mutex
	byID     map[string]*sipCall
	uasCalls map[string]*uasCall
	uasPorts map[string]int // Call-ID → Switchboard's callee-facing RTP port
	calleeRR int
	byes     int
	wg       sync.WaitGroup
	changed  chan struct{}
}

func newSIPSide(ip netip.Addr, callee, caller []*net.UDPConn) (*sipSide, error) {
	server, err := netip.ParseAddrPort(*sipAddr)
	if err != nil {
		return nil, fmt.Errorf("-sip: %w", err)
	}
	s := &sipSide{ip: ip, server: server, calleeSk: callee, callerSk: caller,
		byID: map[string]*sipCall{}, uasCalls: map[string]*uasCall{}, uasPorts: map[string]int{},
		changed: make(chan struct{}, 1)}
	if s.uac, err = openSock(ip); err != nil {
		return nil, err
	}
	if s.uas, err = openSock(ip); err != nil {
		return nil, err
	}
	s.uasPort = s.port(s.uas)
	return s, nil
}

func (s *sipSide) port(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

func (s *sipSide) close() {
	_ = s.uac.Close()
	_ = s.uas.Close()
	s.wg.Wait()
}

// register binds the callee socket as the extension (digest auth, qop=auth)
// for an hour; expires 0 removes the binding again.
func (s *sipSide) register(expires int) error {
	callID := rndHex(8) + "@rtpload"
	tag := rndHex(4)
	uri := fmt.Sprintf("sip:%s", s.server)
	build := func(cseq int, auth string) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "REGISTER %s SIP/2.0\r\n", uri)
		fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n", s.ip, s.port(s.uas), rndHex(6))
		fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=%s\r\nTo: <sip:%s@%s>\r\n", *ext, s.server.Addr(), tag, *ext, s.server.Addr())
		fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\nContact: <sip:%s@%s:%d>\r\nExpires: %d\r\n", callID, cseq, *ext, s.ip, s.port(s.uas), expires)
		if auth != "" {
			fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
		}
		b.WriteString("User-Agent: rtpload\r\nContent-Length: 0\r\n\r\n")
		return []byte(b.String())
	}
	exchange := func(req []byte) (*msg, error) {
		buf := make([]byte, 65535)
		for try := 0; try < 5; try++ {
			if _, err := s.uas.WriteToUDPAddrPort(req, s.server); err != nil {
				return nil, err
			}
			_ = s.uas.SetReadDeadline(time.Now().Add(time.Second))
			for {
				n, _, err := s.uas.ReadFromUDPAddrPort(buf)
				if err != nil {
					break
				}
				m, err := parse(buf[:n])
				if err == nil && m.isResp && m.cseqM == "REGISTER" && m.code >= 200 {
					_ = s.uas.SetReadDeadline(time.Time{})
					return m, nil
				}
			}
		}
		return nil, errors.New("REGISTER: no response")
	}
	m, err := exchange(build(1, ""))
	if err != nil {
		return err
	}
	if m.code == 401 {
		ch := m.get("www-authenticate")
		p := digestParams(ch)
		ha1 := md5hex(*ext + ":" + p["realm"] + ":" + *password)
		ha2 := md5hex("REGISTER:" + uri)
		cnonce, nc := rndHex(4), "00000001"
		var resp, extra string
		if strings.Contains(p["qop"], "auth") {
			resp = md5hex(ha1 + ":" + p["nonce"] + ":" + nc + ":" + cnonce + ":auth:" + ha2)
			extra = fmt.Sprintf(", qop=auth, nc=%s, cnonce=\"%s\"", nc, cnonce)
		} else {
			resp = md5hex(ha1 + ":" + p["nonce"] + ":" + ha2)
		}
		auth := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5%s`,
			*ext, p["realm"], p["nonce"], uri, resp, extra)
		if m, err = exchange(build(2, auth)); err != nil {
			return err
		}
	}
	if m.code != 200 {
		return fmt.Errorf("REGISTER as %s: %s", *ext, m.first)
	}
	return nil
}

// unregister removes the binding (the readers are stopped by then, so the
// UAS socket is free for the exchange); reopened because close closed it.
func (s *sipSide) unregister() error {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.ip, uint16(s.uasPort))))
	if err != nil {
		return err
	}
	defer conn.Close()
	s.uas = conn
	return s.register(0)
}

func digestParams(h string) map[string]string {
	out := map[string]string{}
	_, rest, _ := strings.Cut(h, " ")
	for _, part := range splitParams(rest) {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			out[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return out
}

func splitParams(s string) []string {
	var out []string
	inQ, start := false, 0
	for i, c := range s {
		switch {
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func md5hex(s string) string {
	d := md5.Sum([]byte(s))
	return hex.EncodeToString(d[:])
}

func (s *sipSide) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// setup places every call and waits until all are answered or failed.
func (s *sipSide) setup(res *Result) []callLeg {
	s.wg.Add(2)
	go s.uasLoop()
	go s.uacLoop()
	stopTimers := make(chan struct{})
	go s.timers(stopTimers)
	defer close(stopTimers)

	all := make([]*sipCall, *calls)
	interval := time.Second / time.Duration(max(1, *setupRate))
	start := time.Now()
	for i := range *calls {
		c := &sipCall{idx: i, callID: rndHex(8) + "@rtpload", fromTag: rndHex(4), branch: "z9hG4bK" + rndHex(6)}
		rport := s.port(s.callerSk[i%len(s.callerSk)])
		body := sdp(s.ip, rport)
		var b strings.Builder
		fmt.Fprintf(&b, "INVITE sip:%s@%s SIP/2.0\r\n", *did, s.server)
		fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n", s.ip, s.port(s.uac), c.branch)
		fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:+31611%06d@%s>;tag=%s\r\nTo: <sip:%s@%s>\r\n", i, s.ip, c.fromTag, *did, s.server.Addr())
		fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:rtpload@%s:%d>\r\n", c.callID, s.ip, s.port(s.uac))
		fmt.Fprintf(&b, "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		c.invite = []byte(b.String())
		now := time.Now()
		c.interval, c.nextRetrans, c.deadline = 500*time.Millisecond, now.Add(500*time.Millisecond), now.Add(40*time.Second)
		s.mu.Lock()
		s.byID[c.callID] = c
		s.mu.Unlock()
		all[i] = c
		_, _ = s.uac.WriteToUDPAddrPort(c.invite, s.server)
		if d := time.Until(start.Add(time.Duration(i+1) * interval)); d > 0 {
			time.Sleep(d)
		}
	}
	// Wait for every call to settle.
	for {
		s.mu.Lock()
		pending := 0
		for _, c := range all {
			if c.state < 2 {
				pending++
			}
		}
		s.mu.Unlock()
		if pending == 0 {
			break
		}
		select {
		case <-s.changed:
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var callers []callLeg
	for _, c := range all {
		if c.state != 2 {
			res.SetupFailed[stateName(c)]++
			continue
		}
		callers = append(callers, callLeg{callerSock: c.idx % len(s.callerSk),
			callerDst: netip.AddrPortFrom(s.server.Addr(), uint16(c.sbPort))})
	}
	// The callee legs: every fork answered. A B2BUA's two dialogs share no
	// Call-ID, so legs are paired by order only; that is enough, because
	// every stream is counted on its own.
	i := 0
	for id, uc := range s.uasCalls {
		if i >= len(callers) {
			break
		}
		callers[i].calleeSock = uc.sock
		callers[i].calleeDst = netip.AddrPortFrom(s.server.Addr(), uint16(s.uasPorts[id]))
		i++
	}
	if i < len(callers) {
		res.SetupFailed["callee leg missing"] += len(callers) - i
		callers = callers[:i]
	}
	return callers
}

func stateName(c *sipCall) string {
	switch c.state {
	case 3:
		return c.to // holds the failure status line
	case 0:
		return "no response"
	case 1:
		return "no final response"
	}
	return "unknown"
}

func (s *sipSide) timers(stop chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			for _, c := range s.byID {
				if c.state > 1 && c.state != 4 {
					continue
				}
				if now.After(c.deadline) {
					if c.state == 4 {
						c.state = 6 // BYE never answered
					} else {
						c.state, c.to = 3, "timeout"
					}
					s.notify()
					continue
				}
				if c.state == 1 || now.Before(c.nextRetrans) {
					continue
				}
				pkt := c.invite
				if c.state == 4 {
					pkt = c.bye
				}
				_, _ = s.uac.WriteToUDPAddrPort(pkt, s.server)
				c.interval = min(2*c.interval, 4*time.Second)
				c.nextRetrans = now.Add(c.interval)
			}
			s.mu.Unlock()
		}
	}
}

func (s *sipSide) uacLoop() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, _, err := s.uac.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		m, err := parse(buf[:n])
		if err != nil {
			continue
		}
		if !m.isResp {
			s.answerInDialog(s.uac, m)
			continue
		}
		s.mu.Lock()
		c := s.byID[m.get("call-id")]
		if c == nil {
			s.mu.Unlock()
			continue
		}
		switch {
		case m.cseqM == "INVITE" && m.code < 200:
			if c.state == 0 {
				c.state = 1
			}
		case m.cseqM == "INVITE" && m.code < 300:
			if c.state <= 1 {
				c.state, c.to, c.target, c.sbPort = 2, m.get("to"), uriOf(m.get("contact")), sdpPort(m.body)
				s.notify()
			}
			if c.state >= 2 && c.target != "" {
				_, _ = s.uac.WriteToUDPAddrPort(s.inDialog(c, "ACK", 1, "z9hG4bK"+rndHex(6)), s.server)
			}
		case m.cseqM == "INVITE":
			// ACK for a non-2xx final response: same branch, hop by hop.
			var b strings.Builder
			fmt.Fprintf(&b, "ACK sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n", *did, s.server, s.ip, s.port(s.uac), c.branch)
			fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:+31611%06d@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
				c.idx, s.ip, c.fromTag, m.get("to"), c.callID)
			_, _ = s.uac.WriteToUDPAddrPort([]byte(b.String()), s.server)
			if c.state <= 1 {
				c.state, c.to = 3, m.first
				s.notify()
			}
		case m.cseqM == "BYE" && m.code >= 200:
			if c.state == 4 {
				c.state = 5
				s.byes++
				s.notify()
			}
		}
		s.mu.Unlock()
	}
}

func (s *sipSide) inDialog(c *sipCall, method string, cseq int, branch string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n", method, c.target, s.ip, s.port(s.uac), branch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:+31611%06d@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContent-Length: 0\r\n\r\n",
		c.idx, s.ip, c.fromTag, c.to, c.callID, cseq, method)
	return []byte(b.String())
}

// answerInDialog answers a request that reached a socket: 200 to BYE and
// OPTIONS, nothing to ACK.
func (s *sipSide) answerInDialog(conn *net.UDPConn, m *msg) {
	if m.method == "ACK" {
		return
	}
	_, _ = conn.WriteToUDPAddrPort(response(m, "200 OK", "", ""), s.server)
}

func response(m *msg, status, toTag, extra string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %s\r\n", status)
	for _, v := range m.all("via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	to := m.get("to")
	if toTag != "" && !strings.Contains(to, ";tag=") {
		to += ";tag=" + toTag
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", m.get("from"), to, m.get("call-id"), m.get("cseq"))
	b.WriteString(extra)
	if !strings.Contains(extra, "Content-Length") {
		b.WriteString("Content-Length: 0\r\n\r\n")
	}
	return []byte(b.String())
}

func (s *sipSide) uasLoop() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, _, err := s.uas.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		m, err := parse(buf[:n])
		if err != nil || m.isResp {
			continue
		}
		switch m.method {
		case "INVITE":
			id := m.get("call-id")
			s.mu.Lock()
			uc := s.uasCalls[id]
			if uc == nil {
				sk := s.calleeRR % len(s.calleeSk)
				s.calleeRR++
				body := sdp(s.ip, s.port(s.calleeSk[sk]))
				extra := fmt.Sprintf("Contact: <sip:%s@%s:%d>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
					*ext, s.ip, s.port(s.uas), len(body), body)
				uc = &uasCall{resp: response(m, "200 OK", rndHex(4), extra), sock: sk}
				s.uasCalls[id] = uc
				s.uasPorts[id] = sdpPort(m.body)
			}
			s.mu.Unlock()
			_, _ = s.uas.WriteToUDPAddrPort(uc.resp, s.server)
		case "ACK":
		default: // BYE, CANCEL, OPTIONS
			_, _ = s.uas.WriteToUDPAddrPort(response(m, "200 OK", "", ""), s.server)
		}
	}
}

// teardown sends BYE on every established call and waits for the 200s.
func (s *sipSide) teardown() int {
	stop := make(chan struct{})
	go s.timers(stop)
	defer close(stop)
	s.mu.Lock()
	var est []*sipCall
	for _, c := range s.byID {
		if c.state == 2 {
			est = append(est, c)
		}
	}
	s.mu.Unlock()
	sort.Slice(est, func(i, j int) bool { return est[i].idx < est[j].idx })
	interval := time.Second / time.Duration(max(1, *setupRate))
	start := time.Now()
	for i, c := range est {
		s.mu.Lock()
		c.bye = s.inDialog(c, "BYE", 2, "z9hG4bK"+rndHex(6))
		c.state = 4
		now := time.Now()
		c.interval, c.nextRetrans, c.deadline = 500*time.Millisecond, now.Add(500*time.Millisecond), now.Add(20*time.Second)
		s.mu.Unlock()
		_, _ = s.uac.WriteToUDPAddrPort(c.bye, s.server)
		if d := time.Until(start.Add(time.Duration(i+1) * interval)); d > 0 {
			time.Sleep(d)
		}
	}
	for {
		s.mu.Lock()
		done := 0
		for _, c := range est {
			if c.state >= 5 {
				done++
			}
		}
		s.mu.Unlock()
		if done == len(est) {
			break
		}
		select {
		case <-s.changed:
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byes
}
