// Package app is the composition root: it builds every subsystem from the
// configuration, starts them in dependency order and stops them in reverse.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/console"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/metrics"
	"github.com/switchboard/switchboard/internal/presence"
	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/sipserver"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webrtc"
	"github.com/switchboard/switchboard/web"
)

// Version is set at build time (-ldflags "-X …app.Version=…").
var Version = "dev"

// App is a running Switchboard.
type App struct {
	cfg    config.Config
	log    *slog.Logger
	Store  *store.Store
	Events *events.Bus
	media  *media.Engine
	sip    *sipserver.Server
	reg    *registrar.Registrar
	Calls  *call.Manager
	ACD    *acd.Engine
	pres   *presence.Tracker // extensions' presence, for the directory
	metric *metrics.Exporter
	api    *api.Server
	http   *http.Server
	httpLn net.Listener
	stop   chan struct{} // stops the app's own periodic work
}

// DBPath is the database file inside a data dir.
func DBPath(dataDir string) string { return filepath.Join(dataDir, "switchboard.db") }

// RecordingsDir is where call recordings are written (WAV, mode 0600).
func RecordingsDir(dataDir string) string { return filepath.Join(dataDir, "recordings") }

// OpenStore creates the data dir if needed and opens the database.
func OpenStore(ctx context.Context, dataDir string) (*store.Store, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dataDir, err)
	}
	st, err := store.Open(ctx, DBPath(dataDir))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// Start builds and starts everything; on error what was started is stopped.
func Start(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (a *App, err error) {
	a = &App{cfg: cfg, log: log, Store: st, Events: events.New(4096)}
	defer func() {
		if err != nil {
			a.Shutdown(context.Background())
			a = nil
		}
	}()

	sipHost, _, err := net.SplitHostPort(cfg.SIP.Addr)
	if err != nil {
		return a, fmt.Errorf("sip addr: %w", err)
	}
	advertise := cfg.SIP.AdvertiseAddr
	if advertise == "" {
		advertise = defaultAdvertise(sipHost)
	}
	rtpIP, err := netip.ParseAddr(advertise)
	if err != nil {
		return a, fmt.Errorf("advertise address %q must be an IP: %w", advertise, err)
	}
	var music []int16
	if cfg.RTP.HoldMusic != "" {
		if music, err = media.LoadWAV(cfg.RTP.HoldMusic); err != nil {
			return a, fmt.Errorf("hold music: %w", err)
		}
	}
	a.media, err = media.NewEngine(media.EngineConfig{BindAddr: rtpIP, PortMin: cfg.RTP.PortMin, PortMax: cfg.RTP.PortMax,
		Hold: music, Logger: log})
	if err != nil {
		return a, fmt.Errorf("media: %w", err)
	}
	a.sip, err = sipserver.New(sipserver.Config{Addr: cfg.SIP.Addr, Advertise: advertise, Transports: cfg.SIP.Transports,
		UserAgent: "Switchboard/" + Version, Logger: log})
	if err != nil {
		return a, err
	}
	a.reg = registrar.New(registrar.Config{Realm: cfg.SIP.Realm, MinExpires: cfg.SIP.RegisterMinExpires,
		MaxExpires: cfg.SIP.RegisterMaxExpires, NonceTTL: cfg.SIP.NonceTTL, FailLimit: cfg.SIP.AuthFailLimit,
		FailWindow: cfg.SIP.AuthFailWindow, Logger: log, Events: a.Events}, st)
	if err := a.reg.Start(ctx); err != nil {
		return a, err
	}
	recDir := RecordingsDir(cfg.DataDir)
	if err := os.MkdirAll(recDir, 0o700); err != nil {
		return a, fmt.Errorf("recordings dir %s: %w", recDir, err)
	}
	a.Calls = call.New(call.Config{RingTimeout: cfg.SIP.RingTimeout, RTPTimeout: cfg.RTP.Timeout, MaxCalls: cfg.SIP.MaxCalls,
		CountryCode: cfg.Numbers.CountryCode, RecordingsDir: recDir, RecordingAutoResume: cfg.Recording.AutoResume,
		RecordPolicy: call.RecordPolicy{AllCalls: cfg.Recording.AllCalls, Queues: cfg.Recording.Queues, Extensions: cfg.Recording.Extensions},
		Logger:       log}, a.sip, a.media, st, a.reg, a.Events)
	if err := a.Calls.Load(ctx); err != nil {
		return a, err
	}
	// Browsers' WebRTC media ends here, in front of ordinary RTP endpoints.
	var ice []webrtc.ICEServer
	for _, s := range cfg.WebRTC.ICEServers {
		ice = append(ice, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	rtc, err := webrtc.New(webrtc.Config{BindAddr: rtpIP, ICEServers: ice, IncludeLoopback: cfg.WebRTC.IncludeLoopback, Logger: log})
	if err != nil {
		return a, err
	}
	a.Calls.SetWebRTC(rtc)
	if err := a.Calls.RecoverInterrupted(ctx); err != nil {
		return a, err
	}
	// The ACD owns agents and queue calls; the call manager rings the
	// agents it chooses. Each is told of the other before traffic starts.
	a.ACD = acd.New(acd.Config{Store: st, Events: a.Events, Logger: log})
	if err := a.ACD.Load(ctx); err != nil {
		return a, fmt.Errorf("acd: %w", err)
	}
	a.ACD.SetCalls(a.Calls)
	a.Calls.SetDistributor(a.ACD)
	a.ACD.Start()
	// A browser's SIP WebSocket is logged in already: its user's own
	// extensions need no SIP digest on it (the console knows no SIP password).
	a.reg.SetFlowAuthenticator(a.sip.WebSocketExtensions)
	a.sip.Handle("REGISTER", a.reg.HandleRegister)
	a.Calls.Register(a.sip)
	// A browser's SIP WebSocket that closes takes its registrations and
	// its calls with it, at once.
	a.sip.OnWebSocketClosed(func(source string) {
		a.reg.DropSource(source, call.ReasonConnectionLost)
		a.Calls.ConnectionLost(source)
	})
	a.Calls.Start()
	if err := a.sip.Start(); err != nil {
		return a, err
	}
	// Callbacks that were waiting keep their place across a restart; they
	// may be offered at once, so SIP must be up.
	if err := a.Calls.RestoreCallbacks(ctx); err != nil {
		return a, fmt.Errorf("restore callbacks: %w", err)
	}

	a.httpLn, err = net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return a, fmt.Errorf("http listen %s: %w", cfg.HTTP.Addr, err)
	}
	authn := auth.New(auth.Config{Logger: log}, st)
	a.stop = make(chan struct{})
	go purgeSessions(authn, a.stop)
	if err := a.followDevices(ctx, st.Extensions); err != nil {
		return a, err
	}
	apiSrv := api.New(st, authn, a.Calls, a.Events, log,
		api.Options{Realm: cfg.SIP.Realm, CountryCode: cfg.Numbers.CountryCode, ACD: a.ACD, ICEServers: browserICE(cfg.WebRTC.ICEServers)})
	apiSrv.SetQueueSupervision(a.ACD)
	a.pres = presence.New(presence.Sources{Bus: a.Events, Extensions: st.Extensions, Registered: a.reg.Lookup,
		Calls: a.Calls.Calls, Agents: a.ACD.Agents, Logger: log})
	a.pres.Start(ctx)
	apiSrv.SetPresence(a.pres)
	a.api = apiSrv
	a.metric, err = metrics.NewExporter(metrics.Sources{Calls: a.Calls, Registrar: a.reg, Media: a.media,
		ACD: a.ACD, WebSockets: apiSrv, Events: a.Events, Version: Version, Logger: log})
	if err != nil {
		return a, fmt.Errorf("metrics: %w", err)
	}
	apiSrv.SetEventLagObserver(a.metric.EventLag())
	// /metrics sits beside the API rather than in it: it answers loopback
	// clients only, with no login (internal/metrics).
	consoleUI, err := console.New(web.Dist())
	if err != nil {
		return a, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", a.metric)
	mux.Handle("GET /sip", apiSrv.SIPWebSocket(func(w http.ResponseWriter, r *http.Request, user string, exts []string) {
		a.sip.ServeWebSocket(w, r, sipserver.WSOwner{User: user, Extensions: exts})
	}))
	mux.Handle("/api/", apiSrv)
	mux.Handle("/healthz", apiSrv)
	mux.Handle("/", consoleUI)
	a.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go func() {
		if err := a.http.Serve(a.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "error", err)
		}
	}()
	log.Info("switchboard started", "version", Version, "sip", a.SIPAddr(), "http", a.HTTPAddr(),
		"rtp_ports", fmt.Sprintf("%d-%d", cfg.RTP.PortMin, cfg.RTP.PortMax), "data_dir", cfg.DataDir)
	return a, nil
}

// purgeSessions deletes expired sessions hourly until stop closes.
func purgeSessions(authn *auth.Service, stop <-chan struct{}) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		authn.PurgeExpired(context.Background())
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// defaultAdvertise picks the address to put in SDP and Contact when the
// SIP address binds every interface.
func defaultAdvertise(host string) string {
	if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
		return ip.String()
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

// SIPAddr is host:port where SIP is reachable.
func (a *App) SIPAddr() string {
	return net.JoinHostPort(a.sip.Host(), fmt.Sprint(a.sip.Port()))
}

// HTTPAddr is the bound HTTP address.
func (a *App) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// Shutdown stops in reverse order: event WebSockets (closed with 1001),
// HTTP, metrics, calls (BYE, CDRs flushed), SIP, registrar (bindings
// flushed), media, database.
func (a *App) Shutdown(ctx context.Context) {
	if a.stop != nil {
		close(a.stop)
		a.stop = nil
	}
	if a.api != nil {
		// http.Server.Shutdown does not see hijacked connections: the
		// WebSockets are told first, so clients get a close frame
		// (1001, going away) rather than a dropped connection.
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		a.api.Shutdown(wctx)
		cancel()
	}
	if a.http != nil {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_ = a.http.Shutdown(sctx)
		cancel()
	}
	if a.metric != nil {
		a.metric.Close()
	}
	if a.pres != nil {
		a.pres.Close()
	}
	if a.Calls != nil {
		a.Calls.Close()
	}
	if a.ACD != nil {
		a.ACD.Close() // after the calls: their ends are reported to it
	}
	if a.sip != nil {
		a.sip.Close()
	}
	if a.reg != nil {
		a.reg.Close()
	}
	if a.media != nil {
		_ = a.media.Close()
	}
}

// browserICE is the STUN/TURN list as the console's browser phone gets it.
func browserICE(servers []config.ICEServer) []api.ICEServer {
	out := make([]api.ICEServer, 0, len(servers))
	for _, s := range servers {
		out = append(out, api.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}
