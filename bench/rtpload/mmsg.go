package main

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// The generator batches datagrams with sendmmsg/recvmmsg (one system call
// for up to batchSize packets) so that it costs less CPU than the relay it
// measures: on two cores the two share the machine.

const batchSize = 64

type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

type batch struct {
	msgs  []mmsghdr
	iovs  []syscall.Iovec
	addrs []syscall.RawSockaddrInet4
	bufs  [][]byte
	dsts  []netip.AddrPort
	n     int // messages filled (send side)
}

func newBatch(size int, withAddr bool) *batch {
	b := &batch{msgs: make([]mmsghdr, batchSize), iovs: make([]syscall.Iovec, batchSize),
		addrs: make([]syscall.RawSockaddrInet4, batchSize), bufs: make([][]byte, batchSize),
		dsts: make([]netip.AddrPort, batchSize)}
	for i := range batchSize {
		b.bufs[i] = make([]byte, size)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(size)
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.Iovlen = 1
		if withAddr {
			b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.addrs[i]))
			b.msgs[i].hdr.Namelen = syscall.SizeofSockaddrInet4
		}
	}
	return b
}

// next returns the buffer of the next message to send to dst.
func (b *batch) next(dst netip.AddrPort) []byte {
	a := &b.addrs[b.n]
	a.Family = syscall.AF_INET
	p := (*[2]byte)(unsafe.Pointer(&a.Port))
	p[0], p[1] = byte(dst.Port()>>8), byte(dst.Port())
	a.Addr = dst.Addr().As4()
	b.dsts[b.n] = dst
	buf := b.bufs[b.n]
	b.n++
	return buf
}

// flush sends the filled messages out of conn; it returns how many failed.
func (b *batch) flush(conn *net.UDPConn) (failed int) {
	if b.n == 0 {
		return 0
	}
	n := b.n
	b.n = 0
	if !haveMmsg {
		for i := range n {
			if _, err := conn.WriteToUDPAddrPort(b.bufs[i], b.dsts[i]); err != nil {
				failed++
			}
		}
		return failed
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return n
	}
	off := 0
	werr := rc.Write(func(fd uintptr) bool {
		for off < n {
			r, _, e := syscall.Syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&b.msgs[off])), uintptr(n-off), 0, 0, 0)
			switch {
			case e == syscall.EAGAIN:
				return false // wait until writable
			case e == syscall.EINTR:
				continue
			case e != 0:
				failed += n - off
				off = n
				return true
			}
			off += int(r)
		}
		return true
	})
	if werr != nil {
		failed += n - off
	}
	return failed
}

// recv reads up to batchSize datagrams into b.bufs; it returns how many
// (their lengths are in b.msgs[i].n).
func (b *batch) recv(conn *net.UDPConn, rc syscall.RawConn) (int, error) {
	if !haveMmsg {
		n, _, err := conn.ReadFromUDPAddrPort(b.bufs[0])
		if err != nil {
			return 0, err
		}
		b.msgs[0].n = uint32(n)
		return 1, nil
	}
	got := 0
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		r, _, e := syscall.Syscall6(sysRecvmmsg, fd, uintptr(unsafe.Pointer(&b.msgs[0])), batchSize, syscall.MSG_DONTWAIT, 0, 0)
		for e == syscall.EINTR {
			r, _, e = syscall.Syscall6(sysRecvmmsg, fd, uintptr(unsafe.Pointer(&b.msgs[0])), batchSize, syscall.MSG_DONTWAIT, 0, 0)
		}
		switch {
		case e == syscall.EAGAIN:
			return false
		case e != 0:
			rerr = e
			return true
		}
		got = int(r)
		return true
	})
	if err != nil {
		return 0, err
	}
	return got, rerr
}
