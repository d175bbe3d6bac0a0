package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Console browser tests: the real binary, real SIP softphones behind
// phoneControl, and the web console driven in Debian's headless Chromium by
// playwright-core from a Node test file in web/e2e. One Go test per file;
// run one with `go test ./test/e2e -run TestConsole<Name>`.

// requireChromium finds node, Chromium and playwright-core (web/node_modules),
// skipping locally and failing in CI when one is missing.
func requireChromium(t *testing.T) (chromium string) {
	t.Helper()
	requireTool(t, "node")
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("SWITCHBOARD_E2E_REQUIRED") != "" {
			t.Fatalf("chromium is required at %s (apt-get install chromium; see .ci/run)", chromium)
		}
		t.Skipf("no chromium at %s", chromium)
	}
	if _, err := os.Stat("../../web/node_modules/playwright-core"); err != nil {
		if os.Getenv("SWITCHBOARD_E2E_REQUIRED") != "" {
			t.Fatal("web/node_modules/playwright-core is required (cd web && npm ci; see .ci/run)")
		}
		t.Skip("web/node_modules missing (cd web && npm ci)")
	}
	return chromium
}

// runConsoleTest runs one web/e2e test file against srv with the phones of
// pc; extra environment variables (KEY=value) go to the Node process.
func runConsoleTest(t *testing.T, file string, srv *server, pc *phoneControl, env ...string) {
	t.Helper()
	chromium := requireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "--test-concurrency=1",
		filepath.Join("..", "..", "web", "e2e", file))
	cmd.Env = append(os.Environ(),
		"SB_URL=http://"+srv.HTTPAddr,
		"SB_SIP="+srv.SIPAddr(),
		"PHONES_URL="+pc.URL(),
		"CHROMIUM="+chromium,
	)
	if dir := os.Getenv("SWITCHBOARD_SCREENSHOTS"); dir != "" {
		cmd.Env = append(cmd.Env, "SCREENSHOT_DIR="+dir)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node --test %s:\n%s", file, out)
	if err != nil {
		t.Fatalf("browser test %s: %v", file, err)
	}
}

// consoleServer starts Switchboard and the phone control service for a
// console browser test.
func consoleServer(t *testing.T) (*server, *phoneControl) {
	requireChromium(t)
	srv := startServer(t, serverOpts{})
	return srv, startPhoneControl(t, srv)
}

// TestConsoleMainPath: log in, build a console of three widgets, drag one,
// save, reload (restored); a queue call shows in the call list, the agent
// answers on the device, holds and resumes from the console, consults
// another agent and completes the attended transfer; a refused action
// shows the server's message.
func TestConsoleMainPath(t *testing.T) {
	srv, pc := consoleServer(t)
	runConsoleTest(t, "console.test.mjs", srv, pc)
}

// TestConsoleLiveUnderLoad: 200 live calls in the call list (the
// event-to-render figures go to the log for docs/PERFORMANCE.md), and a
// server restart: the console says it is reconnecting and shows no stale
// call once it is back.
func TestConsoleLiveUnderLoad(t *testing.T) {
	requireChromium(t)
	// Each queued caller holds RTP ports: more than rtpRange's 200. Ports
	// above the per-process windows (42000–57999); the media engine skips
	// any another process holds.
	srv := startServer(t, serverOpts{extra: []string{"--rtp-ports", "58000-59599"}})
	pc := startPhoneControl(t, srv)
	runConsoleTest(t, "live.test.mjs", srv, pc)
}
