package auth

import "github.com/switchboard/switchboard/internal/store"

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
)

// grants is the role table. Per-queue supervisor rights and operator
// follow lists narrow these once queues and consoles model them.
var grants = map[store.Role]map[Action]bool{
	store.RoleAdmin: {CallsViewAll: true, CallsControlAny: true, CDRsViewAll: true, EventsViewAll: true, ConfigManage: true, CallsMonitor: true},
	// A supervisor watches: calls, records, events. Acting on others'
	// calls (listen/whisper/barge) is per queue and comes with the ACD.
	store.RoleSupervisor: {CallsViewAll: true, CDRsViewAll: true, EventsViewAll: true, CallsMonitor: true},
	// An operator (receptionist) sees and handles the organisation's calls.
	store.RoleOperator: {CallsViewAll: true, CallsControlAny: true, EventsViewAll: true},
	store.RoleAgent:    {},
}

// Can reports whether the principal's role grants the action.
func (p Principal) Can(a Action) bool { return grants[p.User.Role][a] }

// HasExtension reports whether the principal owns extension number n.
func (p Principal) HasExtension(n string) bool {
	for _, e := range p.Extensions {
		if e == n {
			return true
		}
	}
	return false
}
