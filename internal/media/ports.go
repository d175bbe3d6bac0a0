package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// ErrNoPorts means the RTP port range is exhausted (SIP 503).
var ErrNoPorts = errors.New("rtp port range exhausted")

// portPool hands out the even ports of a range: RTP takes the even port and
// leaves the odd one above it for RTCP (RFC 3550 §11). RTCP is not bound
// yet, but keeping the convention lets peers that assume it work.
//
// Free ports sit in a FIFO queue: a released port goes to the back, so it
// is reused as late as possible and stray packets of the call that just
// ended do not land in the next one.
type portPool struct {
	mu   sync.Mutex // leaf lock: nothing else is taken while held
	free []int      // ring buffer of free ports
	head int        // index of the oldest free port
	n    int        // number of free ports
}

func newPortPool(lo, hi int) *portPool {
	if lo%2 != 0 {
		lo++
	}
	p := &portPool{}
	for port := lo; port <= hi; port += 2 {
		p.free = append(p.free, port)
	}
	p.n = len(p.free)
	return p
}

func (p *portPool) get() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return 0, false
	}
	port := p.free[p.head]
	p.head = (p.head + 1) % len(p.free)
	p.n--
	return port, true
}

func (p *portPool) put(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == len(p.free) {
		return // double release; the ring cannot hold more than the range
	}
	p.free[(p.head+p.n)%len(p.free)] = port
	p.n++
}

// available is the number of ports in the queue.
func (p *portPool) available() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// bind takes free ports in FIFO order until one binds on addr. Ports taken
// by other programs go to the back of the queue, to be tried again later;
// after one full round it gives up with ErrNoPorts. Errors other than
// "address in use" (say, addr is not local) are returned at once: every
// port would fail the same way and ErrNoPorts would hide the cause.
func (p *portPool) bind(addr netip.Addr) (*net.UDPConn, int, error) {
	tries := p.available()
	for range tries {
		port, ok := p.get()
		if !ok {
			break
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port))))
		if err == nil {
			return conn, port, nil
		}
		p.put(port)
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, 0, fmt.Errorf("bind rtp %s: %w", netip.AddrPortFrom(addr, uint16(port)), err)
		}
	}
	return nil, 0, ErrNoPorts
}
