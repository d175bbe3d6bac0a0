package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// cdrView is a CDR as the API shows it.
type cdrView struct {
	ID          int64      `json:"id"`
	CallID      string     `json:"call_id"`
	Direction   string     `json:"direction"`
	From        string     `json:"from"`
	FromName    string     `json:"from_name,omitempty"`
	To          string     `json:"to"`
	Target      string     `json:"target"`
	Trunk       string     `json:"trunk,omitempty"`
	AnsweredBy  string     `json:"answered_by,omitempty"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	EndedAt     time.Time  `json:"ended_at"`
	Disposition string     `json:"disposition"`
	SIPCode     int        `json:"sip_code"`
	HangupBy    string     `json:"hangup_by"`
	Reason      string     `json:"reason,omitempty"`
}

func newCDRView(c store.CDR) cdrView {
	v := cdrView{ID: c.ID, CallID: c.CallID, Direction: c.Direction, From: c.From, FromName: c.FromName, To: c.To,
		Target: c.Target, Trunk: c.Trunk, AnsweredBy: c.AnsweredBy, StartedAt: c.StartedAt, EndedAt: c.EndedAt,
		Disposition: string(c.Disposition), SIPCode: c.SIPCode, HangupBy: c.HangupBy, Reason: c.Reason}
	if !c.AnsweredAt.IsZero() {
		t := c.AnsweredAt
		v.AnsweredAt = &t
	}
	return v
}

// ownsCDR: the principal's extension called, answered, or was dialled.
func ownsCDR(p auth.Principal, c store.CDR) bool {
	return p.HasExtension(c.From) || p.HasExtension(c.AnsweredBy) || c.Target == "extension:"+c.To && p.HasExtension(c.To)
}

func (s *Server) listCDRs(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "invalid_limit", "limit must be 1..10000")
			return
		}
		limit = n
	}
	cdrs, err := s.st.CDRs(r.Context(), limit)
	if err != nil {
		s.log.Error("list cdrs", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read CDRs")
		return
	}
	out := make([]cdrView, 0, len(cdrs))
	for _, c := range cdrs {
		if p.Can(auth.CDRsViewAll) || ownsCDR(p, c) {
			out = append(out, newCDRView(c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cdrs": out})
}
