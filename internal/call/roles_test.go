package call

import "testing"

// TestLeaveEndsCall checks the role tables of the agent desktop manual
// (shared/reference/agent-desktop-voice-nl.txt): who leaving ends the
// interaction for everyone.
func TestLeaveEndsCall(t *testing.T) {
	mk := func() parties {
		return parties{
			cust: &leg{id: "cust", role: roleCaller}, agent: &leg{id: "agent", role: roleCallee},
			consulted: &leg{id: "consulted", role: roleConsult}, member: &leg{id: "member", role: roleMember},
			monitor: &leg{id: "monitor", role: roleMonitor, monitor: MonitorListen},
		}
	}
	tests := []struct {
		name  string
		setup func(c *Call, p parties)
		who   func(p parties) *leg
		ends  bool
	}{
		{"two-party: the customer", func(c *Call, p parties) {}, func(p parties) *leg { return p.cust }, true},
		{"two-party: the agent", func(c *Call, p parties) {}, func(p parties) *leg { return p.agent }, true},
		{"two-party: a monitor", func(c *Call, p parties) { c.others = []*leg{p.monitor} }, func(p parties) *leg { return p.monitor }, false},
		{"consult: the consulted party", consulting, func(p parties) *leg { return p.consulted }, false},
		{"consult: the initiator", consulting, func(p parties) *leg { return p.agent }, true},
		{"consult: the customer", consulting, func(p parties) *leg { return p.cust }, true},
		{"conference: a member", conferencing, func(p parties) *leg { return p.consulted }, false},
		{"conference: the initiator", conferencing, func(p parties) *leg { return p.agent }, true},
		{"conference: the customer", conferencing, func(p parties) *leg { return p.cust }, true},
		{"conference of four: a joined member", func(c *Call, p parties) {
			conferencing(c, p)
			c.others = append(c.others, p.member)
		}, func(p parties) *leg { return p.member }, false},
		{"blind transfer ringing: the kept party", func(c *Call, p parties) {
			c.b = nil
			c.transfer = &transferState{keep: p.cust}
		}, func(p parties) *leg { return p.cust }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mk()
			c := &Call{a: p.cust, b: p.agent}
			tt.setup(c, p)
			if got := c.leaveEndsCallLocked(tt.who(p)); got != tt.ends {
				t.Errorf("leaving ends the call: %v, want %v", got, tt.ends)
			}
		})
	}
}

type parties struct{ cust, agent, consulted, member, monitor *leg }

func consulting(c *Call, p parties) {
	p.cust.onHold = true
	c.others = []*leg{p.consulted}
	c.consult = &consultState{by: p.agent, customer: p.cust, leg: p.consulted}
}

func conferencing(c *Call, p parties) {
	p.consulted.role = roleMember
	c.others = []*leg{p.consulted}
	c.conf = &confState{initiator: p.agent, customer: p.cust}
}
