package e2e

import "testing"

// TestConsoleQueueWidget: a queue call seen waiting, offered and answered
// in the queue widget while the agent answers on the desk phone; the
// supervisor logs an agent back in, whispers (the agent hears the
// supervisor's tone, the customer does not), barges and stops from the
// widget; an agent sees the queue without the supervisor's controls
// and an admin without an extension is shown the server's refusal
// (web/e2e/queue.test.mjs).
func TestConsoleQueueWidget(t *testing.T) {
	srv, pc := consoleServer(t)
	runConsoleTest(t, "queue.test.mjs", srv, pc)
}
