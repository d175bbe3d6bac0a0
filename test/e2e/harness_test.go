// Package e2e starts the real switchboard binary and talks to it with real
// peers: baresip, sipp and the in-repo test softphone. Every test uses
// ephemeral ports and bounds its peers in count and time.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-race", "-o", binary, "../../cmd/switchboard")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build switchboard:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireTool skips when a peer is missing locally, but fails in CI
// (SWITCHBOARD_E2E_REQUIRED=1), where .ci/run installs them.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SWITCHBOARD_E2E_REQUIRED") != "" {
			t.Fatalf("%s is required (install it: see .ci/run)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// freePort returns a port free on both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// rtpRange hands each server its own RTP ports: a window of 1,000 ports
// per test process (chosen by pid, so parallel package runs rarely meet),
// cycled in slices of 200 since servers of one process run one after the
// other. The media engine skips ports someone else holds.
var (
	rtpMu   sync.Mutex
	rtpSlot int
)

func rtpRange() string {
	rtpMu.Lock()
	defer rtpMu.Unlock()
	base := 42000 + (os.Getpid()%16)*1000
	lo := base + (rtpSlot%5)*200
	rtpSlot++
	return fmt.Sprintf("%d-%d", lo, lo+199)
}

// server is a running switchboard process.
type server struct {
	t        *testing.T
	cmd      *exec.Cmd
	dataDir  string
	SIPPort  int
	HTTPAddr string
	Carrier  string
	logMu    sync.Mutex
	log      strings.Builder
	exited   chan struct{}
	args     []string
	env      []string
	tokensMu sync.Mutex
	tokens   map[string]string // bearer tokens by user, reset on restart
}

type serverOpts struct {
	dataDir string
	carrier string // demo-carrier far end host:port
	extra   []string
	env     []string // extra SWITCHBOARD_* variables
}

func startServer(t *testing.T, o serverOpts) *server {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.carrier == "" {
		o.carrier = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	s := &server{t: t, dataDir: o.dataDir, SIPPort: freePort(t), Carrier: o.carrier}
	s.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.args = append([]string{"demo",
		"--data-dir", o.dataDir,
		"--sip-addr", fmt.Sprintf("127.0.0.1:%d", s.SIPPort),
		"--http-addr", s.HTTPAddr,
		"--rtp-ports", rtpRange(),
		"--carrier-addr", o.carrier,
		"--log-level", "debug",
	}, o.extra...)
	s.env = o.env
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	t := s.t
	s.tokensMu.Lock()
	s.tokens = nil // sessions survive restarts, but each run logs in afresh
	s.tokensMu.Unlock()
	s.cmd = exec.Command(binary, s.args...)
	// The demo's simulated traffic is off unless a test asks for it
	// (--simulate, or this variable in serverOpts.env).
	s.cmd.Env = append(append(os.Environ(), "SWITCHBOARD_DEMO_SIMULATE=false"), s.env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.logMu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.logMu.Unlock()
		}
	}()
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	eventually(t, 20*time.Second, func() error {
		select {
		case <-s.exited:
			return fmt.Errorf("switchboard exited early:\n%s", s.Log())
		default:
		}
		resp, err := http.Get("http://" + s.HTTPAddr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.t.Errorf("switchboard did not stop within 20s")
		}
	}
	if s.t.Failed() {
		s.t.Logf("switchboard log:\n%s", tail(s.Log(), 200))
	}
	if strings.Contains(s.Log(), "DATA RACE") || strings.Contains(s.Log(), "panic:") {
		s.t.Errorf("switchboard log shows a race or panic:\n%s", tail(s.Log(), 200))
	}
	s.cmd = nil
}

// restart stops and starts the same server on the same data dir and ports.
func (s *server) restart() {
	s.stop()
	s.start()
}

func (s *server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

func (s *server) SIPAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.SIPPort) }

// login returns a bearer token for user, logging in once per server run.
func (s *server) login(user, password string) (string, error) {
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]string{}
	}
	if tok, ok := s.tokens[user]; ok {
		return tok, nil
	}
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := http.Post("http://"+s.HTTPAddr+"/api/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("login %s: HTTP %d", user, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	s.tokens[user] = out.Token
	return out.Token, nil
}

// authorize adds the admin's bearer token to req.
func (s *server) authorize(req *http.Request) error {
	tok, err := s.login("admin", "demo-admin")
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// api calls the API as the admin and decodes JSON into out (may be nil).
func (s *server) api(method, path string, body io.Reader, out any) (int, error) {
	req, err := http.NewRequest(method, "http://"+s.HTTPAddr+path, body)
	if err != nil {
		return 0, err
	}
	if err := s.authorize(req); err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

// cdr is the subset of a CDR the tests check.
type cdr struct {
	CallID      string   `json:"call_id"`
	Direction   string   `json:"direction"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Target      string   `json:"target"`
	AnsweredBy  string   `json:"answered_by"`
	Disposition string   `json:"disposition"`
	SIPCode     int      `json:"sip_code"`
	HangupBy    string   `json:"hangup_by"`
	Recordings  []string `json:"recordings"`
}

func (s *server) cdrs(t *testing.T) []cdr {
	t.Helper()
	var out struct {
		CDRs []cdr `json:"cdrs"`
	}
	code, err := s.api("GET", "/api/cdrs?limit=1000", nil, &out)
	if err != nil || code != 200 {
		t.Fatalf("GET /api/cdrs: %d %v", code, err)
	}
	return out.CDRs
}

// eventually polls f until it returns nil or the time is up.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s: %v", d, err)
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// ctxFor returns a context bounded by d, cancelled at test end.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
