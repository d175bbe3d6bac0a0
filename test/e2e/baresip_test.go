package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// baresipPhone is a headless baresip 1.0 softphone, driven over its
// ctrl_tcp module (netstring JSON) as TESTING.md describes.
type baresipPhone struct {
	t       *testing.T
	ext     string
	dir     string
	sipPort int
	cmd     *exec.Cmd
	exited  chan struct{}
	conn    net.Conn

	events chan baresipMsg // CALL_*, REGISTER_* ... in arrival order

	mu      sync.Mutex
	pending map[string]chan baresipMsg // command responses by token
	token   int
	seen    []string // every event type, for failure messages
}

// baresipMsg is one ctrl_tcp message: an event or a command response.
type baresipMsg struct {
	Event    bool   `json:"event"`
	Response bool   `json:"response"`
	Type     string `json:"type"`
	Param    string `json:"param"`
	PeerURI  string `json:"peeruri"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
}

type baresipOpts struct {
	ext        string
	toneHz     float64 // what the phone plays into every call
	rtpPorts   string  // e.g. "47000-47099"; distinct per phone
	autoAnswer bool
}

// startBaresip starts baresip registered as o.ext on s and connects to its
// control socket. It is stopped (and waited for) at test cleanup, before
// the server, so it can still unregister.
func startBaresip(t *testing.T, s *server, o baresipOpts) *baresipPhone {
	t.Helper()
	requireTool(t, "baresip")
	requireTool(t, "sox")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rec"), 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.wav")
	// Longer than any call here: aufile goes silent at the end of the file.
	sox := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", in,
		"synth", "20", "sine", strconv.FormatFloat(o.toneHz, 'f', -1, 64), "vol", "0.5")
	if out, err := sox.CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	// baresip also listens for SIP/TLS on TCP sip_port+1 and refuses to
	// start when that is taken, so both ports must be free.
	b := &baresipPhone{t: t, ext: o.ext, dir: dir, sipPort: consecutiveFreePorts(t, 2),
		events: make(chan baresipMsg, 256), pending: map[string]chan baresipMsg{}}
	ctrlPort := freePort(t)
	config := fmt.Sprintf(`poll_method     epoll
sip_listen      127.0.0.1:%d
net_interface   127.0.0.1
rtp_ports       %s
audio_path      /usr/share/baresip
audio_source    aufile,%s
audio_alert     aufile,%s
ctrl_tcp_listen 127.0.0.1:%d
snd_path        %s
module_path     /usr/lib/baresip/modules
module          g711.so
module          aufile.so
module          ausine.so
module          sndfile.so
module_tmp      uuid.so
module_tmp      account.so
module_app      menu.so
module_app      ctrl_tcp.so
`, b.sipPort, o.rtpPorts, in, in, ctrlPort, filepath.Join(dir, "rec"))
	answer := ""
	if o.autoAnswer {
		answer = "answermode=auto;"
	}
	accounts := fmt.Sprintf("<sip:%s@%s;transport=udp>;auth_pass=demo-%s;%sregint=60;audio_codecs=PCMU\n",
		o.ext, s.SIPAddr(), o.ext, answer)
	for name, body := range map[string]string{"config": config, "accounts": accounts, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	// timeout(1) bounds baresip even if this test binary dies; it forwards
	// our SIGTERM and runs in its own process group, which we kill as a
	// last resort. -t is baresip's own bound (it then unregisters and quits).
	b.cmd = exec.Command("timeout", "-k", "3", "45", "baresip", "-f", dir, "-t", "40")
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start baresip: %v", err)
	}
	b.exited = make(chan struct{})
	go func() {
		_ = b.cmd.Wait()
		logf.Close()
		close(b.exited)
	}()
	t.Cleanup(b.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		b.conn, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ctrlPort), time.Second)
		if err == nil {
			break
		}
		select {
		case <-b.exited:
			t.Fatalf("baresip %s exited at start:\n%s", o.ext, b.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip %s ctrl_tcp: %v\n%s", o.ext, err, b.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	go b.read()
	return b
}

func (b *baresipPhone) log() string {
	out, _ := os.ReadFile(filepath.Join(b.dir, "run.log"))
	return string(out)
}

// read splits the ctrl_tcp stream into netstrings ("LEN:JSON,") and routes
// responses to their command and events to b.events.
func (b *baresipPhone) read() {
	defer close(b.events)
	r := bufio.NewReader(b.conn)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(lenStr[:len(lenStr)-1]))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		buf := make([]byte, n+1) // the JSON and the trailing ','
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		var m baresipMsg
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			continue
		}
		b.mu.Lock()
		if m.Response {
			if ch, ok := b.pending[m.Token]; ok {
				ch <- m
				delete(b.pending, m.Token)
			}
			b.mu.Unlock()
			continue
		}
		b.seen = append(b.seen, m.Type)
		b.mu.Unlock()
		select {
		case b.events <- m:
		default: // nobody is waiting for that many events
		}
	}
}

// command runs a ctrl_tcp command and returns its response data.
func (b *baresipPhone) command(name, params string) (string, error) {
	b.mu.Lock()
	b.token++
	tok := strconv.Itoa(b.token)
	ch := make(chan baresipMsg, 1)
	b.pending[tok] = ch
	b.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"command": name, "params": params, "token": tok})
	_ = b.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(b.conn, "%d:%s,", len(body), body); err != nil {
		return "", fmt.Errorf("baresip %s: send %s: %w", b.ext, name, err)
	}
	select {
	case m := <-ch:
		if !m.OK {
			return m.Data, fmt.Errorf("baresip %s: %s %q failed: %s", b.ext, name, params, m.Data)
		}
		return m.Data, nil
	case <-time.After(5 * time.Second):
		return "", fmt.Errorf("baresip %s: no response to %s", b.ext, name)
	}
}

func (b *baresipPhone) mustCommand(name, params string) {
	b.t.Helper()
	if _, err := b.command(name, params); err != nil {
		b.t.Fatal(err)
	}
}

// waitEvent waits for an event of type typ, skipping others.
func (b *baresipPhone) waitEvent(typ string, d time.Duration) baresipMsg {
	b.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-b.events:
			if !ok {
				b.t.Fatalf("baresip %s: control connection closed waiting for %s\n%s", b.ext, typ, b.log())
			}
			if m.Type == typ {
				return m
			}
		case <-timer.C:
			b.mu.Lock()
			seen := strings.Join(b.seen, " ")
			b.mu.Unlock()
			b.t.Fatalf("baresip %s: no %s within %s (events: %s)\n%s", b.ext, typ, d, seen, b.log())
		}
	}
}

// stop ends baresip with SIGTERM (it unregisters first) and waits, so its
// recordings are complete when this returns.
func (b *baresipPhone) stop() {
	select {
	case <-b.exited:
		return
	default:
	}
	if b.conn != nil {
		b.conn.Close()
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(8 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.exited
		b.t.Errorf("baresip %s did not stop within 8s", b.ext)
	}
}

// recording returns what the phone heard in its only call: sndfile's
// rec/dump-*-dec.wav. Call after stop.
func (b *baresipPhone) recording() ([]int16, int) {
	b.t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.dir, "rec", "dump-*-dec.wav"))
	if len(files) != 1 {
		b.t.Fatalf("baresip %s: want one decoded recording, got %v\n%s", b.ext, files, b.log())
	}
	samples, rate, err := siptest.ReadWAV(files[0])
	if err != nil {
		b.t.Fatal(err)
	}
	return samples, rate
}

// waitRegistered waits for the server to log ext's registration from a
// device whose User-Agent contains ua.
func waitDeviceRegistered(t *testing.T, s *server, ext, ua string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		for _, line := range strings.Split(s.Log(), "\n") {
			if strings.Contains(line, `msg="device registered"`) && strings.Contains(line, " extension="+ext+" ") &&
				strings.Contains(line, ua) {
				return nil
			}
		}
		return fmt.Errorf("%s (%s) not registered", ext, ua)
	})
}

func TestBaresipPhonesHearEachOther(t *testing.T) {
	requireTool(t, "baresip")
	tests := []struct {
		name   string
		dial   string // what 1001 dials
		callee string // the auto-answering baresip
	}{
		{"direct", "1002", "1002"},
		// Queue 8000 rings 1001–1005 but never the calling device, so
		// 1003 is the only one that can answer.
		{"queue 8000", "8000", "1003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, serverOpts{})
			caller := startBaresip(t, s, baresipOpts{ext: "1001", toneHz: 1000, rtpPorts: "47000-47099"})
			callee := startBaresip(t, s, baresipOpts{ext: tt.callee, toneHz: 440, rtpPorts: "47100-47199", autoAnswer: true})
			waitDeviceRegistered(t, s, "1001", "baresip")
			waitDeviceRegistered(t, s, tt.callee, "baresip")

			caller.mustCommand("dial", fmt.Sprintf("sip:%s@%s", tt.dial, s.SIPAddr()))
			caller.waitEvent("CALL_ESTABLISHED", 10*time.Second)
			callee.waitEvent("CALL_ESTABLISHED", 5*time.Second)
			time.Sleep(3 * time.Second) // talk
			caller.mustCommand("hangup", "")
			caller.waitEvent("CALL_CLOSED", 5*time.Second)
			callee.waitEvent("CALL_CLOSED", 5*time.Second)
			caller.stop()
			callee.stop()

			candidates := []float64{440, 1000}
			for _, c := range []struct {
				p    *baresipPhone
				want float64
			}{{caller, 440}, {callee, 1000}} {
				samples, rate := c.p.recording()
				d := time.Duration(len(samples)) * time.Second / time.Duration(rate)
				if d < 2*time.Second {
					t.Errorf("%s recorded only %s", c.p.ext, d)
					continue
				}
				f, ratio := siptest.DominantTone(samples, rate, candidates)
				t.Logf("%s heard %.0f Hz at power ratio %.2f over %s", c.p.ext, f, ratio, d)
				if f != c.want || ratio < 0.5 {
					t.Errorf("%s heard %.0f Hz at power ratio %.2f, want %.0f Hz dominant", c.p.ext, f, ratio, c.want)
				}
			}

			eventually(t, 5*time.Second, func() error {
				for _, c := range s.cdrs(t) {
					if c.From == "1001" && c.To == tt.dial && c.Disposition == "answered" && c.AnsweredBy == tt.callee {
						return nil
					}
				}
				return fmt.Errorf("no answered CDR 1001→%s (answered by %s): %+v", tt.dial, tt.callee, s.cdrs(t))
			})
		})
	}
}

// sseEvent is one Server-Sent Event from /api/events.
type sseEvent struct {
	ID   string
	Type string
	Data json.RawMessage
}

// subscribeEvents opens the admin event stream; it returns once the server
// has subscribed us (headers received), so later events are not missed.
func subscribeEvents(t *testing.T, s *server) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.HTTPAddr+"/api/events", nil)
	if err := s.authorize(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /api/events: %v", err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		t.Fatalf("GET /api/events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 256)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var e sseEvent
		var data []byte
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.Type != "" || len(data) > 0 {
					e.Data = bytes.TrimSpace(data)
					select {
					case ch <- e:
					case <-ctx.Done():
						return
					}
				}
				e, data = sseEvent{}, nil
			case strings.HasPrefix(line, ":"): // keepalive comment
			case strings.HasPrefix(line, "id:"):
				e.ID = strings.TrimSpace(line[3:])
			case strings.HasPrefix(line, "event:"):
				e.Type = strings.TrimSpace(line[6:])
			case strings.HasPrefix(line, "data:"):
				data = append(append(data, line[5:]...), '\n')
			}
		}
	}()
	return ch
}

// dtmfEvent is the part of a dtmf_received event the tests check.
type dtmfEvent struct {
	Seq  uint64 `json:"seq"`
	Type string `json:"type"`
	Data struct {
		CallID string `json:"call_id"`
		Party  string `json:"party"`
		Digit  string `json:"digit"`
	} `json:"data"`
}

// waitDTMFEvent returns the next dtmf_received event from the stream.
func waitDTMFEvent(t *testing.T, ch <-chan sseEvent, d time.Duration) dtmfEvent {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("event stream ended; saw %v", seen)
			}
			seen = append(seen, e.Type)
			if e.Type != "dtmf_received" {
				continue
			}
			var de dtmfEvent
			if err := json.Unmarshal(e.Data, &de); err != nil {
				t.Fatalf("dtmf_received data %s: %v", e.Data, err)
			}
			if id, err := strconv.ParseUint(e.ID, 10, 64); err != nil || id != de.Seq {
				t.Errorf("SSE id %q does not match event seq %d", e.ID, de.Seq)
			}
			return de
		case <-timer.C:
			t.Fatalf("no dtmf_received event within %s; saw %v", d, seen)
		}
	}
}

func TestBaresipDTMFArrivesAsEvent(t *testing.T) {
	requireTool(t, "baresip")
	s := startServer(t, serverOpts{})
	bob := phone(t, s, "1002", 440, "udp")
	bob.AutoAnswer(100 * time.Millisecond)
	anna := startBaresip(t, s, baresipOpts{ext: "1001", toneHz: 1000, rtpPorts: "47200-47299"})
	waitDeviceRegistered(t, s, "1001", "baresip")
	stream := subscribeEvents(t, s)

	anna.mustCommand("dial", fmt.Sprintf("sip:1002@%s", s.SIPAddr()))
	anna.waitEvent("CALL_ESTABLISHED", 10*time.Second)
	var in *siptest.Call
	select {
	case in = <-bob.Incoming():
	case <-time.After(5 * time.Second):
		t.Fatal("bob got no call")
	}
	// Media must flow before a digit can: the RFC 4733 events ride on it.
	hears(t, in, 1000, "bob")

	var callID string
	for i, digit := range []string{"7", "#"} {
		// baresip 1.0's ctrl_tcp command for an RFC 4733 digit is
		// "sndcode" (menu's /sndcode); one call sends press and release.
		anna.mustCommand("sndcode", digit)
		e := waitDTMFEvent(t, stream, 5*time.Second)
		if e.Data.Digit != digit || e.Data.Party != "caller" || e.Data.CallID == "" {
			t.Errorf("dtmf_received = %+v, want digit %q from the caller", e.Data, digit)
		}
		if i > 0 && e.Data.CallID != callID {
			t.Errorf("digits reported on different calls: %s and %s", callID, e.Data.CallID)
		}
		callID = e.Data.CallID
		if err := in.WaitDTMF(ctxFor(t, 5*time.Second), digit); err != nil {
			t.Errorf("bob: %v", err)
		}
	}
	if got := in.ReceivedDTMF(); got != "7#" {
		t.Errorf("bob received DTMF %q, want %q (each digit once)", got, "7#")
	}

	anna.mustCommand("hangup", "")
	select {
	case <-in.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("bob's leg did not end after the hangup")
	}
	if !errors.Is(in.Err(), siptest.ErrHangupRemote) {
		t.Errorf("bob's call ended with %v, want a BYE from the server", in.Err())
	}
}
