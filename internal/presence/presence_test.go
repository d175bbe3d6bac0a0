package presence

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/store"
)

// fakeRegistrar is the registrar's device list.
type fakeRegistrar struct {
	mu   sync.Mutex
	devs map[string]int
}

func (f *fakeRegistrar) lookup(ext string) []registrar.Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	return make([]registrar.Contact, f.devs[ext])
}

func (f *fakeRegistrar) set(ext string, n int) {
	f.mu.Lock()
	f.devs[ext] = n
	f.mu.Unlock()
}

// TestPresence drives the tracker with the events the registrar, the
// call manager and the ACD publish and checks each presence_changed.
func TestPresence(t *testing.T) {
	bus := events.New(1024)
	reg := &fakeRegistrar{devs: map[string]int{"1002": 1}}
	exts := []store.Extension{{Number: "1001", UserID: 1}, {Number: "1002", UserID: 2}, {Number: "1003", UserID: 3}}
	tr := New(Sources{Bus: bus, Registered: reg.lookup,
		Extensions: func(context.Context) ([]store.Extension, error) { return exts, nil }})
	sub, err := bus.Subscribe(0, 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	tr.Start(context.Background())
	defer tr.Close()

	if got := tr.Get("1002").Presence; got != Available {
		t.Fatalf("1002 registered at start: %s", got)
	}
	if got := tr.Get("1001"); got.Presence != Offline || got.UserID != 1 {
		t.Fatalf("1001 at start: %+v", got)
	}
	// next returns the next presence_changed event's view.
	next := func(want string) View {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case e := <-sub.C():
				if v, ok := e.Data.(View); ok {
					if e.Resource != "extension:"+v.Extension {
						t.Errorf("resource %s for %s", e.Resource, v.Extension)
					}
					if want != "" && v.Extension+" "+v.Presence != want {
						t.Fatalf("presence_changed %s %s, want %s", v.Extension, v.Presence, want)
					}
					return v
				}
			case <-timeout:
				t.Fatalf("no presence_changed (want %s)", want)
			}
		}
	}
	reg.set("1001", 1)
	bus.Publish(events.DeviceRegistered, "extension:1001", registrar.DeviceState{Extension: "1001"})
	next("1001 available")

	// 1002 calls 1001: 1002 busy, 1001 ringing; answered: both busy;
	// ended: both available.
	c := call.Info{ID: "c1", State: call.StateRinging, From: call.Party{Number: "1002", Kind: "extension"}, Target: "extension:1001"}
	bus.Publish(events.CallRinging, "call:c1", c)
	next("")
	next("") // 1001 ringing and 1002 busy, in either order
	if p := tr.Get("1001").Presence; p != Ringing {
		t.Errorf("1001 while rung: %s", p)
	}
	if p := tr.Get("1002").Presence; p != Busy {
		t.Errorf("1002 while calling: %s", p)
	}
	c.State = call.StateAnswered
	c.Parties = []call.PartyInfo{{ID: "a", Extension: "1002", Kind: "extension"}, {ID: "b", Extension: "1001", Kind: "extension"}}
	bus.Publish(events.CallAnswered, "call:c1", c)
	next("1001 busy")
	// A consultation ringing a known extension rings it.
	c.Consult = &call.ConsultInfo{By: "b", Target: "1003", State: "ringing"}
	reg.set("1003", 1)
	bus.Publish(events.DeviceRegistered, "extension:1003", registrar.DeviceState{Extension: "1003"})
	next("1003 available")
	bus.Publish(events.CallHeld, "call:c1", c)
	next("1003 ringing")
	c.Consult = nil
	bus.Publish(events.CallResumed, "call:c1", c)
	next("1003 available")
	c.State = call.StateEnded
	bus.Publish(events.CallEnded, "call:c1", c)
	var ended []string
	for range 2 {
		v := next("")
		ended = append(ended, v.Extension+" "+v.Presence)
	}
	slices.Sort(ended)
	if !slices.Equal(ended, []string{"1001 available", "1002 available"}) {
		t.Errorf("after the call: %v", ended)
	}

	// A queue offer rings the agent's first extension; the agent state
	// comes along.
	now := time.Now()
	bus.Publish(events.AgentStateChanged, "agent:3", acd.AgentView{ID: 3, Extensions: []string{"1003"}, Status: "available", State: "offered", PresenceSince: now})
	v := next("1003 ringing")
	if v.AgentStatus != "available" || v.AgentState != "offered" || v.AgentSince == nil || v.UserID != 3 {
		t.Errorf("agent fields: %+v", v)
	}
	bus.Publish(events.AgentStateChanged, "agent:3", acd.AgentView{ID: 3, Extensions: []string{"1003"}, Status: "available", State: "rona", PresenceSince: now.Add(time.Second)})
	if v := next("1003 available"); v.AgentState != "rona" {
		t.Errorf("after RONA: %+v", v)
	}
	// An agent status change alone is published too.
	bus.Publish(events.AgentStateChanged, "agent:3", acd.AgentView{ID: 3, Extensions: []string{"1003"}, Status: "break", State: "idle", PresenceSince: now.Add(2 * time.Second)})
	if v := next("1003 available"); v.AgentStatus != "break" {
		t.Errorf("break: %+v", v)
	}

	reg.set("1001", 0)
	bus.Publish(events.DeviceRemoved, "extension:1001", registrar.DeviceState{Extension: "1001"})
	next("1001 offline")

	snap := tr.Snapshot()
	var names []string
	for _, v := range snap {
		names = append(names, v.Extension+" "+v.Presence)
	}
	if !slices.Equal(names, []string{"1001 offline", "1002 available", "1003 available"}) {
		t.Errorf("snapshot %v", names)
	}
}

// TestPresenceResync: calls and agents in progress at start are counted.
func TestPresenceResync(t *testing.T) {
	bus := events.New(64)
	reg := &fakeRegistrar{devs: map[string]int{"1001": 1, "1002": 1}}
	tr := New(Sources{Bus: bus, Registered: reg.lookup,
		Extensions: func(context.Context) ([]store.Extension, error) {
			return []store.Extension{{Number: "1001"}, {Number: "1002"}}, nil
		},
		Calls: func() []call.Info {
			return []call.Info{{ID: "x", State: call.StateAnswered, Parties: []call.PartyInfo{{Extension: "1001"}, {Kind: "external"}}}}
		},
		Agents: func() []acd.AgentView {
			return []acd.AgentView{{ID: 2, Extensions: []string{"1002"}, Status: "available", State: "offered"}}
		}})
	tr.Start(context.Background())
	defer tr.Close()
	if p := tr.Get("1001").Presence; p != Busy {
		t.Errorf("1001: %s", p)
	}
	if p := tr.Get("1002").Presence; p != Ringing {
		t.Errorf("1002: %s", p)
	}
}
