package e2e

import "testing"

// TestConsoleHistory: a queue call answered on the desk phone shows in the
// agent's #/history once it ended, with its wrap-up code, without a
// reload; click-to-call with the number edited first rings the agent's
// phone and then the edited number; a profile without keypad dialling gets
// the server's refusal; the CSV download (web/e2e/history.test.mjs).
func TestConsoleHistory(t *testing.T) {
	srv, pc := consoleServer(t)
	runConsoleTest(t, "history.test.mjs", srv, pc)
}
