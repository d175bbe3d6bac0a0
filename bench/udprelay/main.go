// Command udprelay is the baseline for the media benchmark: a bare Go UDP
// relay with no SIP, no locks beyond what latching needs and no features,
// one goroutine per socket, the shape the shared README measured at ~5 µs of
// CPU per forwarded packet.
//
// Pair i owns two sockets, BASE+4i and BASE+4i+2 (the port layout
// Switchboard's pool uses: even ports, one call = two endpoints). A packet
// received on one socket is sent out of the other to the source last seen on
// that other socket (symmetric RTP latching), unchanged.
//
//	go run ./bench/udprelay -pairs 2000 -base 10000
//
// It prints "ready" when every socket is bound and runs until SIGTERM/SIGINT
// or -max (a bound, so a forgotten relay stops by itself).
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

type side struct {
	conn *net.UDPConn
	dest atomic.Pointer[netip.AddrPort] // latched source of this socket's peer
	peer *side
}

func main() {
	ip := flag.String("ip", "127.0.0.1", "address to bind")
	base := flag.Int("base", 10000, "first port (even); pair i uses base+4i and base+4i+2")
	pairs := flag.Int("pairs", 1000, "number of relayed calls")
	maxRun := flag.Duration("max", 10*time.Minute, "exit after this long whatever happens")
	flag.Parse()

	addr := netip.MustParseAddr(*ip)
	var forwarded atomic.Uint64
	var sides []*side
	for i := range *pairs {
		a, err := bind(addr, *base+4*i)
		if err != nil {
			fmt.Fprintln(os.Stderr, "udprelay:", err)
			os.Exit(1)
		}
		b, err := bind(addr, *base+4*i+2)
		if err != nil {
			fmt.Fprintln(os.Stderr, "udprelay:", err)
			os.Exit(1)
		}
		sa, sb := &side{conn: a}, &side{conn: b}
		sa.peer, sb.peer = sb, sa
		sides = append(sides, sa, sb)
	}
	for _, s := range sides {
		go s.run(&forwarded)
	}
	fmt.Println("ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case <-time.After(*maxRun):
	}
	fmt.Fprintf(os.Stderr, "udprelay: forwarded %d packets\n", forwarded.Load())
}

func bind(addr netip.Addr, port int) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port))))
	if err != nil {
		return nil, fmt.Errorf("bind %s:%d: %w", addr, port, err)
	}
	return c, nil
}

// run reads this socket: it latches the source (where the peer socket's
// packets must go back to) and forwards out of the peer socket.
func (s *side) run(forwarded *atomic.Uint64) {
	buf := make([]byte, 2048)
	var last netip.AddrPort
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if src != last {
			last = src
			p := src
			s.dest.Store(&p)
		}
		d := s.peer.dest.Load()
		if d == nil {
			continue // the other side has not sent yet: nowhere to go
		}
		if _, err := s.peer.conn.WriteToUDPAddrPort(buf[:n], *d); err == nil {
			forwarded.Add(1)
		}
	}
}
