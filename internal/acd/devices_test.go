package acd

import (
	"testing"

	"github.com/switchboard/switchboard/internal/store"
)

// TestAgentsWithoutDeviceAreSkipped: once devices are tracked, an agent
// with no registered device gets no offers (and no RONA); registering
// offers them what waits; unregistering takes them out again.
func TestAgentsWithoutDeviceAreSkipped(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 ringall", "1001", "1002")})
	ev.e.TrackDevices([]string{"1002"})
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1002 20s") // 1001 has no phone: not rung
	ev.expectState("1001", StateIdle, StatusAvailable)
	if v, err := ev.e.QueueStats("8000"); err != nil || v.AgentsAvailable != 0 {
		t.Errorf("available agents %d, want 0 (1002 is being offered, 1001 has no device)", v.AgentsAvailable)
	}
	if v := ev.agent("1001"); !v.NoDevice {
		t.Errorf("1001 without a phone: no_device false")
	}
	ev.e.DeviceRegistered("1001", true)
	ev.expect("offer c1 1001 20s") // ring all: the newly reachable agent rings too
	if v := ev.agent("1001"); v.NoDevice {
		t.Errorf("1001 with a phone: no_device true")
	}
	ev.e.OfferFailed("c1", "1001", FailNoAnswer)
	ev.expectState("1001", StateRONA)
	ev.mustStatus("1001", StatusAvailable, "")
	ev.expect("offer c1 1001 20s")
	ev.e.OfferFailed("c1", "1001", FailBusy)
	ev.e.DeviceRegistered("1001", false)
	ev.e.DeviceRegistered("1001", false) // repeated: nothing changes
	ev.mustEnter("c2", "8000")
	ev.expect() // 1002 is ringing for c1, 1001 has no phone
	if err := ev.e.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestDevicesUntrackedMeansReachable: without TrackDevices (tests, a
// store-only engine) every agent may be offered calls.
func TestDevicesUntrackedMeansReachable(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 ringall", "1001")})
	ev.e.DeviceRegistered("1001", false) // kept until tracking is on
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1001 20s")
}

// TestDeviceChangeBeforeTracking: a change told between the listener's
// start and the list read at start-up is not lost — the list was read
// before the phone registered.
func TestDeviceChangeBeforeTracking(t *testing.T) {
	ev := newEnv(t, []store.Queue{q("8000 ringall", "1001", "1002")})
	ev.e.DeviceRegistered("1001", true)
	ev.e.DeviceRegistered("1002", false)
	ev.e.TrackDevices([]string{"1002"}) // read before those changes
	ev.mustEnter("c1", "8000")
	ev.expect("offer c1 1001 20s")
}
