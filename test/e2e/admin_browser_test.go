package e2e

import "testing"

// TestConsoleAdminPages: an admin creates a queue with a member and a
// wrap-up code through the admin pages and the API has them; the API's
// validation errors show next to the field they name; users, follows and
// extensions are created and deleted (with a confirmation); a non-admin
// gets no admin pages (web/e2e/admin.test.mjs).
func TestConsoleAdminPages(t *testing.T) {
	srv, pc := consoleServer(t)
	runConsoleTest(t, "admin.test.mjs", srv, pc)
}
