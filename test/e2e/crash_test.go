package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestCallsCutOffByACrashAreRecorded: a call in progress when the process
// is killed (no clean shutdown, no BYE, no CDR written at its end) gets a
// CDR at the next start, saying it was interrupted.
func TestCallsCutOffByACrashAreRecorded(t *testing.T) {
	s := startServer(t, serverOpts{})
	answeredCall(t, s)
	id := waitCallState(t, s, "answered", "")
	time.Sleep(1500 * time.Millisecond) // the call's start is journalled behind, within a batch
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	s.cmd = nil
	s.start()
	eventually(t, 5*time.Second, func() error {
		for _, c := range s.cdrs(t) {
			if c.CallID == id {
				if c.Disposition != "failed" || c.HangupBy != "system" {
					return fmt.Errorf("CDR of the cut-off call: %+v", c)
				}
				return nil
			}
		}
		return fmt.Errorf("no CDR for the call cut off by the crash")
	})
	// Nothing is recovered twice: a clean restart adds no CDR.
	before := len(s.cdrs(t))
	s.restart()
	if after := len(s.cdrs(t)); after != before {
		t.Fatalf("%d CDRs after a clean restart, %d before", after, before)
	}
}
