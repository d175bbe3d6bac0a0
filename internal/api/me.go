package api

import (
	"net/http"
	"slices"

	"github.com/switchboard/switchboard/internal/auth"
)

// GET /api/me: who the user is and what the console may show them — the
// role, the permissions (the role's actions, then the profile's:
// console, outdial, keypad_dial, recording), the extensions, the ACD
// membership (is_agent, queues), the queues supervised, the reason codes
// (anyone may read them: an agent picks one for a break) and the wrap-up
// codes of the user's queues (which the user may read:
// GET /api/queues/{number}/wrapup-codes allows members).

// meActions are the role actions GET /api/me lists, in this order.
var meActions = []auth.Action{auth.CallsViewAll, auth.CallsControlAny, auth.CallsMonitor, auth.CDRsViewAll,
	auth.EventsViewAll, auth.AgentsViewAll, auth.AgentsManageAll, auth.QueuesSupervise, auth.ConfigManage}

// Profile permissions as GET /api/me names them.
const (
	permConsole    = "console"
	permOutdial    = "outdial"
	permKeypadDial = "keypad_dial"
	permRecording  = "recording"
)

// permissions lists what p may do, by the names above.
func permissions(p auth.Principal) []string {
	out := []string{}
	for _, a := range meActions {
		if p.Can(a) {
			out = append(out, string(a))
		}
	}
	if p.Can(auth.ConfigManage) {
		out = append(out, "admin")
	}
	prof := p.User.Profile
	for _, x := range []struct {
		on   bool
		name string
	}{{prof.CanUseConsole, permConsole}, {prof.CanOutdial, permOutdial}, {prof.CanKeypadDial, permKeypadDial}, {prof.CanControlRecording, permRecording}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}

type meQueue struct {
	Number    string `json:"number"`
	Extension string `json:"extension"`
	State     string `json:"state"` // logged_in | paused | logged_out
}

type meAgent struct {
	IsAgent bool      `json:"is_agent"` // a member of at least one queue
	Status  string    `json:"status,omitempty"`
	State   string    `json:"state,omitempty"`
	Queues  []meQueue `json:"queues"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	exts := p.Extensions
	if exts == nil {
		exts = []string{}
	}
	agent := meAgent{Queues: []meQueue{}}
	supervised := []string{}
	reasons := []reasonCodeView{}
	wrapups := map[string][]wrapupCodeView{}
	if e := s.acdEngine(); e != nil {
		if a, err := e.Agent(p.User.ID); err == nil {
			agent.Status, agent.State = a.Status, a.State
			for _, m := range a.Queues {
				agent.Queues = append(agent.Queues, meQueue{Number: m.Queue, Extension: m.Extension, State: m.State})
			}
			agent.IsAgent = len(a.Queues) > 0
		}
		if p.Can(auth.QueuesSupervise) {
			if p.Can(auth.AgentsManageAll) {
				supervised = append(supervised, e.QueueNumbers()...)
			} else if qs := e.SupervisedQueues(p.User.ID); qs != nil {
				supervised = append(supervised, qs...)
			}
		}
		for _, c := range e.ReasonCodes() {
			reasons = append(reasons, reasonCodeView{ID: c.ID, Code: c.Code, Label: c.Label, Kind: c.Kind})
		}
		var queues []string
		for _, q := range agent.Queues {
			queues = append(queues, q.Number)
		}
		for _, q := range supervised {
			queues = append(queues, q)
		}
		slices.Sort(queues)
		for _, q := range slices.Compact(queues) {
			codes, err := e.WrapupCodes(q)
			if err != nil {
				continue // deleted meanwhile
			}
			vs := make([]wrapupCodeView, len(codes))
			for i, c := range codes {
				vs[i] = newWrapupCodeView(c)
			}
			wrapups[q] = vs
		}
	}
	ice := []ICEServer{}
	if len(exts) > 0 && s.adm.opts.ICEServers != nil {
		ice = s.adm.opts.ICEServers // only a user with a phone line can use them
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": newUserView(p.User), "extensions": exts,
		"profile": newProfileView(p.User.Profile), "role": p.User.Role, "permissions": permissions(p),
		"agent": agent, "supervised_queues": supervised, "reason_codes": reasons, "wrapup_codes": wrapups,
		"ice_servers": ice})
}
