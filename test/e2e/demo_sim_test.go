package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestDemoShowsLiveTraffic is issue #7's promise to a newcomer: within 60
// seconds of `switchboard demo` (simulated traffic on, as by default) the
// API shows calls waiting and answered in the queues and agents in
// several states. The simulator talks SIP and HTTP to the server like
// any phone and console.
func TestDemoShowsLiveTraffic(t *testing.T) {
	start := time.Now()
	s := startServer(t, serverOpts{extra: []string{"--simulate=true"}})
	var (
		sawWaiting, sawActive bool
		presences             map[string]int
		last                  string
	)
	deadline := start.Add(60 * time.Second)
	for {
		waiting, active := 0, 0
		for _, q := range []string{"8000", "8001"} {
			var st struct {
				Waiting int `json:"waiting"`
				Active  int `json:"active"`
			}
			if code, err := s.api(http.MethodGet, "/api/queues/"+q+"/stats", nil, &st); err != nil || code != http.StatusOK {
				t.Fatalf("queue %s stats: %d %v", q, code, err)
			}
			waiting += st.Waiting
			active += st.Active
		}
		sawWaiting = sawWaiting || waiting > 0
		sawActive = sawActive || active > 0
		var ag struct {
			Agents []struct {
				Username string `json:"username"`
				Status   string `json:"status"`
				State    string `json:"state"`
			} `json:"agents"`
		}
		if code, err := s.api(http.MethodGet, "/api/agents", nil, &ag); err != nil || code != http.StatusOK {
			t.Fatalf("agents: %d %v", code, err)
		}
		// What a console shows: a break, or what the ACD has the agent doing.
		presences = map[string]int{}
		var desc []string
		for _, a := range ag.Agents {
			p := a.State
			if a.Status != "available" && a.State == "idle" {
				p = a.Status
			}
			presences[p]++
			desc = append(desc, a.Username+":"+p)
		}
		sort.Strings(desc)
		last = fmt.Sprintf("waiting %d, active %d; agents %s", waiting, active, strings.Join(desc, " "))
		if sawWaiting && sawActive && presences["busy"] > 0 && len(presences) >= 3 {
			t.Logf("after %s: %s", time.Since(start).Round(100*time.Millisecond), last)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live demo within 60 s: saw waiting %v, active %v; last: %s", sawWaiting, sawActive, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Every simulated call came in through the demo trunk and every agent
	// call reached a registered phone: the server logged no failures.
	if log := s.Log(); strings.Contains(log, "level=ERROR") {
		t.Errorf("server logged errors:\n%s", tail(log, 40))
	}
}
