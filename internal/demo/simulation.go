package demo

import (
	"net"
	"time"

	"github.com/switchboard/switchboard/internal/simulate"
)

// SimulatedAgents are the demo agents the simulator plays. 1001 (Support)
// is left to the person trying the demo, like the receptionist 1009 and
// the supervisor 1010.
var SimulatedAgents = []string{"1002", "1003", "1004", "1005", "1006", "1007", "1008"}

// Simulation is the demo's live traffic: gentle enough for a laptop (one
// Support call every 15 s and one Sales call every 30 s on average, a
// handful of calls at a time) and busy enough to show every state within
// a minute: it opens with callers already waiting in both queues and one
// agent on a coffee break. Agents answer after 1–5 s, miss 5 % of offers
// (RONA), post a wrap-up code and take a break after one call in ten.
// Both queues are set to longest idle with 10 s of wrap-up and a 15 s ring
// time (PATCH as admin), so that calls spread over the agents and a human
// on 1001 gets their turn. sipAddr is Switchboard's SIP address (an
// unspecified host means loopback), httpAddr its API address.
func Simulation(sipAddr, httpAddr string) simulate.Config {
	settings := map[string]any{"strategy": "longest_idle", "wrapup_time_s": 10, "ring_time_s": 15}
	agents := simulate.DemoAgents(SimulatedAgents...)
	agents[3].StartBreak = "coffee" // 1005
	return simulate.Config{
		SIPAddr:       loopback(sipAddr),
		APIURL:        "http://" + loopback(httpAddr),
		AdminUser:     adminUsername,
		AdminPassword: adminPassword,
		Queues: []simulate.Queue{
			{Number: "8000", DID: didQueueBase + "1", Rate: 1.0 / 15, InitialCalls: 5,
				HandleTime: simulate.LogNormal(35*time.Second, 0.5), Patience: simulate.Exp(90 * time.Second),
				ServiceLevel: 20 * time.Second, Settings: settings},
			{Number: "8001", DID: didQueueBase + "2", Rate: 1.0 / 30, InitialCalls: 2,
				HandleTime: simulate.LogNormal(45*time.Second, 0.5), Patience: simulate.Exp(120 * time.Second),
				ServiceLevel: 30 * time.Second, Settings: settings},
		},
		Agents:       agents,
		AnswerDelay:  simulate.Uniform(time.Second, 5*time.Second),
		MissProb:     0.05,
		RONARecovery: simulate.Uniform(5*time.Second, 20*time.Second),
		WrapupDelay:  simulate.Uniform(3*time.Second, 9*time.Second), // within the 10 s of wrap-up
		BreakProb:    0.1,
		BreakReasons: []string{"coffee", "lunch", "training"},
		BreakLength:  simulate.Uniform(30*time.Second, 2*time.Minute),
	}
}

// loopback replaces an unspecified host (0.0.0.0, ::) with 127.0.0.1: the
// demo trunk trusts calls from loopback only.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}
