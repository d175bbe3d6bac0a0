package e2e

import "testing"

// TestConsoleWrapupRONA: the agent's wrap-up dialog records a code that
// the interaction history then shows; a missed offer raises the RONA
// pop-up, which "Available" clears; the call data panel saves edits in
// the active call and tells a stale save that someone else saved first
// (web/e2e/wrapup.test.mjs).
func TestConsoleWrapupRONA(t *testing.T) {
	srv, pc := consoleServer(t)
	runConsoleTest(t, "wrapup.test.mjs", srv, pc)
}
