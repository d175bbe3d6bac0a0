package e2e

import "testing"

// TestConsolePhonebook: the phonebook widget shows colleagues' live
// presence; the operator picks up a call ringing at a colleague and sends
// another ringing call on to a third (web/e2e/phonebook.test.mjs).
func TestConsolePhonebook(t *testing.T) {
	srv, pc := consoleServer(t)
	runConsoleTest(t, "phonebook.test.mjs", srv, pc)
}

// TestConsoleTransfer: the transfer dialog — an attended transfer to an
// agent chosen from the live list, who answers; agents in wrap-up or not
// Available refused with the reason; the server's refusal shown
// (web/e2e/transfer.test.mjs).
func TestConsoleTransfer(t *testing.T) {
	srv, pc := consoleServer(t)
	runConsoleTest(t, "transfer.test.mjs", srv, pc)
}
