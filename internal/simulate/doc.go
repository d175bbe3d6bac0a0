// Package simulate is Switchboard's traffic simulator: customers calling
// queues and agents answering them, over real SIP and the public REST API
// of a running Switchboard, never through its internals. The demo runs it
// at a gentle rate; `switchboard simulate` runs it against any
// Switchboard; tests use it to compare what Switchboard reports with what
// was offered.
//
// # What it does
//
// Callers: for each Queue, calls arrive as a Poisson process at Rate per
// second (exponential gaps from a seeded RNG), plus InitialCalls at once.
// Each caller dials the queue's DID from one "carrier" phone (the
// in-repo softphone, internal/siptest) with its own number in From
// (ANIPrefix + a sequence number), so the call comes in through a trunk
// exactly like a customer's; Switchboard must trust the simulator's
// address for unauthenticated calls to the DIDs (the demo trunk trusts
// 127.0.0.1). Each caller has a patience drawn from Queue.Patience: if no
// simulated agent has answered by then, the caller hangs up (abandoned).
// Callers send a tone (CallerToneHz) on their leg.
//
// Agents: every Agent logs in to the API with its own credentials,
// registers one siptest phone as its extension's device, logs in to its
// queues and sets itself available. When its phone rings it answers after
// AnswerDelay — or, with probability MissProb, lets the offer ring out so
// that Switchboard puts it in RONA, and makes itself available again
// after RONARecovery. An answered call lasts the queue's HandleTime, then
// the agent hangs up, picks one of the queue's wrap-up codes after
// WrapupDelay (POST /api/me/wrapup) and, with probability BreakProb, goes
// on a break with one of BreakReasons for BreakLength. Agents send a tone
// (AgentToneHz) on their leg. A call the simulator did not place (someone
// calling an agent directly) is answered and ended the same way, but not
// counted.
//
// A caller is matched to the agent call that carries its number in From.
// The caller and the agent agree, under one lock, on whether the agent
// answered before the caller's patience ran out, so the Tally never
// counts a call both answered and abandoned.
//
// # Go API
//
//	sim, err := simulate.New(simulate.Config{
//	        SIPAddr: "127.0.0.1:5060",
//	        APIURL:  "http://127.0.0.1:8080",
//	        Queues: []simulate.Queue{{Number: "8000", DID: "+31201230001", Rate: 0.2,
//	                HandleTime: simulate.Exp(20 * time.Second), Patience: simulate.Exp(60 * time.Second),
//	                ServiceLevel: 20 * time.Second}},
//	        Agents:   simulate.DemoAgents("1002", "1003"),
//	        Seed:     1,
//	        MaxCalls: 100,
//	})
//	err = sim.Run(ctx)          // until MaxCalls/Duration, then the calls in progress end
//	t := sim.Tally()            // also safe to call while Run runs
//	q := t.Queues["8000"]       // Offered, Answered, Abandoned, Failed, AnsweredInSL, RONAs, Waits, …
//
// Run returns once arrivals have stopped (MaxCalls placed, Duration
// passed, or ctx cancelled) and every call it placed has ended (bounded
// by DrainTimeout; cancelling ctx hangs everything up at once). The RNG is
// seeded (Seed, or the time when 0), with one stream per queue and per
// agent, so arrivals and each party's choices repeat for a given seed;
// outcomes still depend on timing (who is free when a call arrives).
//
// # Load mode
//
// RunLoad (load.go) is the same machinery tuned for speed measurements:
// agents answer at once and calls last a fixed short time, and it reports
// calls per second, concurrent calls with media, routing and event
// fan-out latencies from the event stream, and the server's memory per
// call. bench/simulate.sh runs it side by side with sipp.
package simulate
