package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/presence"
	"github.com/switchboard/switchboard/internal/store"
)

// The directory (GET /api/directory, SPEC C3, C6, D3): every user with
// their extensions' live presence and their ACD status, and every queue
// with its waiting callers and available agents — what a phonebook
// widget and a transfer dialog show. Any logged-in user may read it, as
// any may subscribe to the "presence" WebSocket topic that keeps it
// current: colleagues' availability is what a transfer needs. It carries
// no secrets, no reason codes and nothing about calls beyond presence.

// SetPresence installs the presence tracker the directory and the
// "presence" WebSocket topic read; without one every extension is
// offline and the topic carries nothing.
func (s *Server) SetPresence(t *presence.Tracker) { s.presence = t }

// presenceOf returns extension n's presence.
func (s *Server) presenceOf(n string) presence.View {
	if s.presence == nil {
		return presence.View{Extension: n, Presence: presence.Offline}
	}
	return s.presence.Get(n)
}

type directoryExtension struct {
	Number   string    `json:"number"`
	Presence string    `json:"presence"` // offline | available | ringing | busy
	Since    time.Time `json:"since"`
}

type directoryAgent struct {
	Status         string    `json:"status"` // available | break | offline | logged_out
	State          string    `json:"state"`  // idle | offered | busy | wrap_up | rona
	Since          time.Time `json:"since"`
	SecondsInState int64     `json:"seconds_in_state"`
	Queues         []string  `json:"queues"` // member of (any membership state)
	// Transferable: a blind transfer may go to this agent now (available
	// and idle); a consult may go to any agent not in wrap-up (SPEC D3).
	Transferable bool `json:"transferable"`
}

type directoryUser struct {
	ID          int64                `json:"id"`
	Username    string               `json:"username"`
	DisplayName string               `json:"display_name"`
	Role        store.Role           `json:"role"`
	Extensions  []directoryExtension `json:"extensions"`
	Agent       *directoryAgent      `json:"agent,omitempty"` // users owning an extension
}

type directoryQueue struct {
	Number          string `json:"number"`
	Name            string `json:"name"`
	Waiting         int    `json:"waiting"`
	AgentsAvailable int    `json:"agents_available"`
	AgentsLoggedIn  int    `json:"agents_logged_in"`
}

func (s *Server) directory(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	users, err := s.st.Users(r.Context())
	if err != nil {
		s.storeError(w, "user", "read the directory", err)
		return
	}
	exts, err := s.st.Extensions(r.Context())
	if err != nil {
		s.storeError(w, "extension", "read the directory", err)
		return
	}
	byUser := make(map[int64][]directoryExtension, len(users))
	for _, e := range exts {
		if e.UserID == 0 {
			continue
		}
		v := s.presenceOf(e.Number)
		byUser[e.UserID] = append(byUser[e.UserID], directoryExtension{Number: e.Number, Presence: v.Presence, Since: v.Since})
	}
	agents := map[int64]acd.AgentView{}
	queues := []directoryQueue{}
	if e := s.acdEngine(); e != nil {
		for _, a := range e.Agents() {
			agents[a.ID] = a
		}
		for _, n := range e.QueueNumbers() {
			st, err := e.QueueStats(n)
			if err != nil {
				continue // deleted meanwhile
			}
			queues = append(queues, directoryQueue{Number: n, Name: st.Name, Waiting: st.Waiting,
				AgentsAvailable: st.AgentsAvailable, AgentsLoggedIn: st.AgentsLoggedIn})
		}
	}
	out := make([]directoryUser, 0, len(users))
	for _, u := range users {
		d := directoryUser{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, Extensions: byUser[u.ID]}
		if d.Extensions == nil {
			d.Extensions = []directoryExtension{}
		}
		slices.SortFunc(d.Extensions, func(a, b directoryExtension) int {
			if a.Number < b.Number {
				return -1
			}
			if a.Number > b.Number {
				return 1
			}
			return 0
		})
		if a, ok := agents[u.ID]; ok {
			da := &directoryAgent{Status: a.Status, State: a.State, Since: a.PresenceSince, SecondsInState: a.SecondsInState,
				Queues: []string{}, Transferable: a.Status == "available" && a.State == "idle"}
			for _, m := range a.Queues {
				if !slices.Contains(da.Queues, m.Queue) {
					da.Queues = append(da.Queues, m.Queue)
				}
			}
			d.Agent = da
		}
		out = append(out, d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "queues": queues})
}
