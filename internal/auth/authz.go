package auth

import (
	"slices"

	"github.com/switchboard/switchboard/internal/store"
)

// Action is something a principal may be allowed to do. Names are stable:
// they appear in 403 responses.
type Action string

// Actions checked today. An action not granted may still be allowed on the
// principal's own resources (own calls, own CDRs): handlers apply that scope.
const (
	// CallsViewAll: see every call, not just one's own.
	CallsViewAll Action = "calls.view_all"
	// CallsControlAny: hold, resume, hang up calls that are not one's own.
	CallsControlAny Action = "calls.control_any"
	// CDRsViewAll: read every call detail record.
	CDRsViewAll Action = "cdrs.view_all"
	// EventsViewAll: receive every event, not just those of one's own calls.
	EventsViewAll Action = "events.view_all"
	// ConfigManage: users, extensions, trunks, DIDs, queues.
	ConfigManage Action = "config.manage"
	// CallsMonitor: listen, whisper, barge (SPEC S1). A supervisor only on
	// the queues they supervise; the API applies that scope.
	CallsMonitor Action = "calls.monitor"
	// AgentsViewAll: see every agent's status and state (the ACD).
	AgentsViewAll Action = "agents.view_all"
	// AgentsManageAll: change any agent's status and any queue
	// membership, see every queue's statistics.
	AgentsManageAll Action = "agents.manage_all"
	// QueuesSupervise: manage the agents of the queues one supervises
	// (acd.Engine.Supervises): their statuses and memberships, the
	// queues' wrap-up codes (SPEC S2). Handlers apply the per-queue scope.
	QueuesSupervise Action = "queues.supervise"
)

// grants is the role table. Handlers narrow it: supervisors act per queue
// (acd.Engine.Supervises), and an operator with a follow list sees and
// controls only the calls of the users and queues followed
// (Principal.Follows, FollowsCall).
var grants = map[store.Role]map[Action]bool{
	store.RoleAdmin: {CallsViewAll: true, CallsControlAny: true, CDRsViewAll: true, EventsViewAll: true, ConfigManage: true, CallsMonitor: true,
		AgentsViewAll: true, AgentsManageAll: true, QueuesSupervise: true},
	// A supervisor watches: calls, records, events. Acting on others'
	// calls (listen/whisper/barge) and on agents is per queue.
	store.RoleSupervisor: {CallsViewAll: true, CDRsViewAll: true, EventsViewAll: true, CallsMonitor: true, QueuesSupervise: true},
	// An operator (receptionist) sees and handles the organisation's calls
	// and sees every agent's availability (to transfer to them).
	store.RoleOperator: {CallsViewAll: true, CallsControlAny: true, EventsViewAll: true, AgentsViewAll: true},
	store.RoleAgent:    {},
}

// Can reports whether the principal's role grants the action.
func (p Principal) Can(a Action) bool { return grants[p.User.Role][a] }

// FollowsExtension reports whether extension n belongs to a user the
// principal follows; false without a follow list.
func (p Principal) FollowsExtension(n string) bool {
	return p.Follows != nil && slices.Contains(p.Follows.Extensions, n)
}

// FollowsQueue reports whether the principal follows queue number n;
// false without a follow list.
func (p Principal) FollowsQueue(n string) bool {
	return p.Follows != nil && slices.Contains(p.Follows.Queues, n)
}

// HasExtension reports whether the principal owns extension number n.
func (p Principal) HasExtension(n string) bool {
	for _, e := range p.Extensions {
		if e == n {
			return true
		}
	}
	return false
}
