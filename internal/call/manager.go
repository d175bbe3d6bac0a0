// Package call is the B2BUA: it owns every Call aggregate (two SIP legs,
// their media endpoints and the bridge between them), routes new INVITEs to
// extensions, queues and trunks, forks to every registered device, and
// records a CDR when a call ends. State changes are published as events.
package call

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/sipserver"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webrtc"
)

// Store is what the call manager reads and writes.
type Store interface {
	ExtensionByNumber(ctx context.Context, number string) (store.Extension, error)
	// UserOfExtension returns the extension's owner, whose profile says
	// what the extension may dial; store.ErrNotFound when it has none.
	UserOfExtension(ctx context.Context, number string) (store.User, error)
	QueueByNumber(ctx context.Context, number string) (store.Queue, error)
	DIDs(ctx context.Context) ([]store.DID, error)
	Trunks(ctx context.Context) ([]store.Trunk, error)
	// WriteCallJournal writes calls that started and CDRs of calls that
	// ended, in order, in one transaction.
	WriteCallJournal(ctx context.Context, entries []store.CallJournalEntry) error
	RecoverInterruptedCalls(ctx context.Context, now time.Time) (int, error)
	InsertRecording(ctx context.Context, r store.Recording) error
}

// Registrar finds devices and authenticates phones.
type Registrar interface {
	Lookup(ext string) []registrar.Contact
	Authenticate(req *sip.Request, tx sip.ServerTransaction) (store.Extension, bool)
}

// Config tunes the manager.
type Config struct {
	RingTimeout time.Duration
	RTPTimeout  time.Duration // 0: off
	MaxCalls    int
	CountryCode string
	// RecordingsDir is where call recordings (WAV) are written; "" turns
	// recording off.
	RecordingsDir string
	// RecordingAutoResume ends a privacy pause after this long; 0: never.
	RecordingAutoResume time.Duration
	// RecordPolicy says which calls are recorded without anyone asking.
	RecordPolicy RecordPolicy
	Logger       *slog.Logger
}

// RecordPolicy is global recording (SPEC T8): every call, or the calls of
// some queues or extensions, recorded from the answer.
type RecordPolicy struct {
	AllCalls   bool
	Queues     []string
	Extensions []string
}

// Manager owns all calls.
type Manager struct {
	cfg       Config
	log       *slog.Logger
	sip       *sipserver.Server
	media     *media.Engine
	st        Store
	reg       Registrar
	bus       *events.Bus
	acd       Distributor     // nil: queues ring all members (no ACD)
	rtc       *webrtc.Gateway // nil: WebRTC offers are refused (webrtc.go)
	callbacks callbackSet     // callbacks waiting in the ACD (callback.go)
	cdrs      *cdrWriter
	active    atomic.Int64

	mu      sync.RWMutex
	calls   map[string]*Call
	dialogs map[string]*leg // sipgo dialog ID → leg
	routes  routingTable
	closing bool

	stopWatch chan struct{}
	watchDone chan struct{}
	live      sync.WaitGroup // one per call from addCall until its end() is done
}

// New wires a manager; call Load before handling traffic.
func New(cfg Config, sipSrv *sipserver.Server, eng *media.Engine, st Store, reg Registrar, bus *events.Bus) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "call")
	return &Manager{
		cfg: cfg, log: log, sip: sipSrv, media: eng, st: st, reg: reg, bus: bus,
		cdrs:      newCDRWriter(st, log),
		calls:     make(map[string]*Call),
		dialogs:   make(map[string]*leg),
		stopWatch: make(chan struct{}),
		watchDone: make(chan struct{}),
	}
}

// Start runs the RTP watchdog; Close stops it.
func (m *Manager) Start() {
	go m.watch()
}

// watch ends calls whose phones stopped sending RTP without a BYE, so a
// crashed phone does not hold ports and a "busy" state forever.
func (m *Manager) watch() {
	defer close(m.watchDone)
	if m.cfg.RTPTimeout <= 0 {
		<-m.stopWatch
		return
	}
	t := time.NewTicker(min(m.cfg.RTPTimeout/4, 5*time.Second))
	defer t.Stop()
	for {
		select {
		case <-m.stopWatch:
			return
		case <-t.C:
		}
		m.mu.RLock()
		calls := make([]*Call, 0, len(m.calls))
		for _, c := range m.calls {
			calls = append(calls, c)
		}
		m.mu.RUnlock()
		for _, c := range calls {
			if l := c.silentLeg(m.cfg.RTPTimeout); l != nil {
				c.log.Warn("no RTP from a phone: ending the call", "leg", l.id, "timeout", m.cfg.RTPTimeout.String())
				c.end(endInfo{by: "system", code: 200, disposition: store.DispositionAnswered, reason: "RTP timeout", skip: nil})
			}
		}
	}
}

// Register installs the SIP handlers for calls on srv.
func (m *Manager) Register(srv *sipserver.Server) {
	srv.Handle(sip.INVITE, m.handleInvite)
	srv.Handle(sip.ACK, m.handleAck)
	srv.Handle(sip.BYE, m.handleBye)
	srv.Handle(sip.CANCEL, m.handleCancel)
	srv.Handle(sip.INFO, m.handleInfo)
	srv.Handle(sip.REFER, m.handleRefer)
}

// Load reads the trunks and DIDs that routing uses; call again after they change.
func (m *Manager) Load(ctx context.Context) error {
	rt, err := loadRoutingTable(ctx, m.st)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.routes = rt
	m.mu.Unlock()
	return nil
}

// Close hangs up every call, then flushes CDRs.
func (m *Manager) Close() {
	select {
	case <-m.stopWatch:
	default:
		close(m.stopWatch)
		<-m.watchDone
	}
	m.mu.Lock()
	m.closing = true
	calls := make([]*Call, 0, len(m.calls))
	for _, c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	for _, c := range calls {
		go c.hangup("system", "shutdown")
	}
	// Answered calls end at once; ringing ones end when their CANCELs are
	// answered. Wait for every teardown (and its CDR), but not forever: a
	// callee that ignores CANCEL must not hold the shutdown.
	drained := make(chan struct{})
	go func() {
		m.live.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
		m.log.Warn("shutdown: calls still ending; their CDRs are written as they end")
	}
	m.cdrs.close()
}

// Active is the number of calls in progress.
func (m *Manager) Active() int { return int(m.active.Load()) }

// Calls returns a snapshot of every call in progress.
func (m *Manager) Calls() []Info {
	m.mu.RLock()
	out := make([]Info, 0, len(m.calls))
	for _, c := range m.calls {
		out = append(out, c.Info())
	}
	m.mu.RUnlock()
	return out
}

// ErrNoSuchCall is returned for an unknown call ID.
var ErrNoSuchCall = errors.New("no such call")

// Get returns a call by ID.
func (m *Manager) Get(id string) (*Call, error) {
	m.mu.RLock()
	c := m.calls[id]
	m.mu.RUnlock()
	if c == nil {
		return nil, fmt.Errorf("call %s: %w", id, ErrNoSuchCall)
	}
	return c, nil
}

func (m *Manager) addCall(c *Call) bool {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return false
	}
	m.calls[c.id] = c
	m.live.Add(1)
	m.mu.Unlock()
	c.mu.Lock()
	r := c.route
	c.mu.Unlock()
	m.cdrs.started(store.CDR{CallID: c.id, Direction: r.direction, From: c.caller.Number, FromName: c.caller.Name,
		To: c.dialled, Target: r.describe(), Trunk: trunkName(r), StartedAt: c.startedAt})
	return true
}

// RecoverInterrupted records the calls a crash cut off (journalled as
// started, never ended) as failed CDRs; run it before handling traffic.
func (m *Manager) RecoverInterrupted(ctx context.Context) error {
	n, err := m.st.RecoverInterruptedCalls(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("recover interrupted calls: %w", err)
	}
	if n > 0 {
		m.log.Warn("calls cut off by the last stop recorded as failed", "count", n)
	}
	return nil
}

func (m *Manager) removeCall(c *Call) {
	c.mu.Lock()
	legs := append([]*leg{c.a, c.b}, c.others...)
	c.mu.Unlock()
	m.mu.Lock()
	delete(m.calls, c.id)
	for _, l := range legs {
		if l != nil && l.call() == c && l.dialogID != "" && m.dialogs[l.dialogID] == l {
			delete(m.dialogs, l.dialogID)
		}
	}
	m.mu.Unlock()
}

// forgetDialog drops a leg's dialog from the in-dialog routing table.
func (m *Manager) forgetDialog(l *leg) {
	m.mu.Lock()
	if l.dialogID != "" && m.dialogs[l.dialogID] == l {
		delete(m.dialogs, l.dialogID)
	}
	m.mu.Unlock()
}

func (m *Manager) addDialog(l *leg) {
	m.mu.Lock()
	m.dialogs[l.dialogID] = l
	m.mu.Unlock()
}

// dialogOf finds the leg an in-dialog request belongs to: as the UAS of a
// caller's dialog, or as the UAC of a callee's dialog.
func (m *Manager) dialogOf(req *sip.Request) *leg {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if l := m.dialogs[id]; l != nil {
			return l
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if l := m.dialogs[id]; l != nil {
			return l
		}
	}
	return nil
}

func (m *Manager) dialogUA(transport string) *sipgo.DialogUA {
	return &sipgo.DialogUA{
		Client:     m.sip.Client(transport),
		ContactHDR: m.sip.Contact(transport),
		// In-dialog requests go to where the peer's packets came from, not
		// to its Contact: right behind NAT and for TCP flows.
		RewriteContact: true,
	}
}

func (m *Manager) publish(t events.Type, c *Call, data any) {
	if m.bus != nil {
		m.bus.Publish(t, "call:"+c.id, data)
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// respond answers a request statelessly within its transaction; errors are
// only logged because the peer will retransmit or give up on its own.
func (m *Manager) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		m.log.Debug("respond failed", "code", code, "method", req.Method.String(), "error", err)
	}
}

func (m *Manager) handleCancel(req *sip.Request, tx sip.ServerTransaction) {
	// A CANCEL that matched an INVITE transaction was handled by the
	// transaction layer (200, then 487 to the INVITE). One that reaches us
	// matched nothing (RFC 3261 §9.2).
	m.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

func (m *Manager) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	l := m.dialogOf(req)
	if l == nil {
		m.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if err := l.readBye(req, tx); err != nil {
		m.log.Debug("bye", "call_id", l.call().id, "error", err)
	}
	l.call().hangupFrom(l)
}

func (m *Manager) handleAck(req *sip.Request, tx sip.ServerTransaction) {
	l := m.dialogOf(req)
	if l == nil {
		return // a stray or late ACK: nothing to do (RFC 3261 §17.2.3)
	}
	l.ack(req, tx)
}

func (m *Manager) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
	l := m.dialogOf(req)
	if l == nil {
		m.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	// SIP INFO DTMF (application/dtmf-relay) is accepted but not relayed:
	// RFC 4733 in the media is the supported way.
	m.respond(tx, req, sip.StatusOK, "OK")
}

// addrPort parses "host:port" of a numeric IP.
func addrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", s, err)
	}
	return ap, nil
}
