package api

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// BenchmarkWSFanOut is the event fan-out over real loopback TCP: each
// iteration publishes a batch of events (an organisation's state changes
// within one flush interval), rings the connections as the hub's timer
// would, and waits until every client has all of them: one frame per
// client per iteration. ns/delivery is the time per event per client;
// allocs/op divided by the clients is the allocations of one client's
// frame. The clients run in the same process (reading each frame and
// counting its events), so the figures include their side too.
func BenchmarkWSFanOut(b *testing.B) {
	for _, bc := range []struct {
		name           string
		clients, batch int
	}{
		{"clients=100/events=1", 100, 1},
		{"clients=100/events=3", 100, 3},
		{"clients=1000/events=3", 1000, 3},
	} {
		b.Run(bc.name, func(b *testing.B) { benchFanOut(b, bc.clients, bc.batch) })
	}
}

func benchFanOut(b *testing.B, nClients, batch int) {
	cfg := defaultWSConfig
	// The hub rings at once for the first event, then waits an hour: the
	// benchmark rings itself after each batch, as the timer would.
	cfg.FlushEvery = time.Hour
	env := newWSTestEnv(&testing.T{}, cfg)
	env.s.bus = events.New(4096)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var (
		got     atomic.Int64 // events received, all clients
		target  atomic.Int64
		reached = make(chan struct{}, 1)
		wg      sync.WaitGroup
	)
	target.Store(-1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go newWSConn(env.hub, conn, nil, principal(store.RoleAdmin)).run()
		}
	}()
	var clients []net.Conn
	for range nClients {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, conn)
		if err := wsutil.WriteClientText(conn, []byte(`{"type":"subscribe","topics":["org"]}`)); err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReaderSize(conn, 64<<10)
		if _, err := wsutil.ReadServerText(struct {
			io.Reader
			io.Writer
		}{r, conn}); err != nil { // the snapshot
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for {
				op, n, err := readServerHeader(r, buf)
				if err != nil || n > len(buf) {
					return
				}
				p := buf[:n]
				if _, err := io.ReadFull(r, p); err != nil {
					return
				}
				if op != ws.OpText {
					continue
				}
				if v := got.Add(int64(bytes.Count(p, []byte(`"time":"`)))); v == target.Load() {
					reached <- struct{}{}
				}
			}
		}()
	}
	info := testCall("c1", "1001", "1002")
	round := func(i int, n int) {
		target.Store(int64(i) * int64(nClients))
		for range n {
			env.s.bus.Publish(events.CallHeld, "call:c1", info)
		}
		env.hub.ring()
		select {
		case <-reached:
		case <-time.After(10 * time.Second):
			b.Fatalf("%d of %d events delivered", got.Load(), target.Load())
		}
	}
	round(1, 1) // the hub's first, immediate ring
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		round(1+(i+1)*batch, batch)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(nClients*batch), "ns/delivery")
	for _, c := range clients {
		c.Close()
	}
	wg.Wait()
}

// readServerHeader reads an unmasked frame header without allocating
// (ws.ReadHeader allocates), so allocs/op are the server's.
func readServerHeader(r *bufio.Reader, scratch []byte) (ws.OpCode, int, error) {
	h := scratch[:2]
	if _, err := io.ReadFull(r, h); err != nil {
		return 0, 0, err
	}
	op, n := ws.OpCode(h[0]&0x0f), int(h[1]&0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(r, scratch[:2]); err != nil {
			return 0, 0, err
		}
		n = int(binary.BigEndian.Uint16(scratch))
	case 127:
		if _, err := io.ReadFull(r, scratch[:8]); err != nil {
			return 0, 0, err
		}
		n = int(binary.BigEndian.Uint64(scratch))
	}
	return op, n, nil
}
