package api

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
	WrapupCode  string     `json:"wrapup_code,omitempty"` // chosen by the agent after a queue call
	Recordings  []string   `json:"recordings,omitempty"`  // IDs for /api/recordings/{id}
}

func newCDRView(c store.CDR) cdrView {
	v := cdrView{ID: c.ID, CallID: c.CallID, Direction: c.Direction, From: c.From, FromName: c.FromName, To: c.To,
		Target: c.Target, Trunk: c.Trunk, AnsweredBy: c.AnsweredBy, StartedAt: c.StartedAt, EndedAt: c.EndedAt,
		Disposition: string(c.Disposition), SIPCode: c.SIPCode, HangupBy: c.HangupBy, Reason: c.Reason,
		WrapupCode: c.WrapupCode}
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

// listCDRs serves CDRs, newest first, filtered by ?since=&until= (RFC 3339),
// ?extension=, ?queue= and ?limit=, as JSON or, with ?format=csv, as a
// CSV download. Without cdrs.view_all only one's own calls are returned.
func (s *Server) listCDRs(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	s.writeCDRs(w, r, p, p.Can(auth.CDRsViewAll))
}

// myCDRs is the self-service mirror: only the principal's own calls'
// records, with the same filters and formats.
func (s *Server) myCDRs(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	s.writeCDRs(w, r, p, false)
}

func (s *Server) writeCDRs(w http.ResponseWriter, r *http.Request, p auth.Principal, all bool) {
	q := r.URL.Query()
	f := store.CDRFilter{Limit: 100, Extension: q.Get("extension"), Queue: q.Get("queue")}
	if !readPage(w, q, &f) {
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, "invalid_format", "format must be json or csv")
		return
	}
	if !all && f.Extension != "" && !p.HasExtension(f.Extension) {
		forbidden(w, auth.CDRsViewAll)
		return
	}
	cdrs, err := s.st.FindCDRs(r.Context(), f)
	if err != nil {
		s.log.Error("list cdrs", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read CDRs")
		return
	}
	out := make([]cdrView, 0, len(cdrs))
	for _, c := range cdrs {
		if all || ownsCDR(p, c) {
			out = append(out, newCDRView(c))
		}
	}
	if len(out) > 0 {
		ids := make([]string, len(out))
		for i, c := range out {
			ids[i] = c.CallID
		}
		recs, err := s.st.RecordingIDsByCall(r.Context(), ids)
		if err != nil {
			s.log.Error("recordings of cdrs", "error", err)
			writeError(w, http.StatusInternalServerError, "internal", "could not read CDRs")
			return
		}
		for i := range out {
			out[i].Recordings = recs[out[i].CallID]
		}
	}
	if format == "csv" {
		writeCDRsCSV(w, out)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cdrs": out})
}

// writeCDRsCSV writes a CSV download. Text that reaches us from outside
// (a caller's display name, a carrier's reason phrase) is defused against
// spreadsheet formula injection: a cell starting with = + - @ or a control
// character gets a leading apostrophe, except plain numbers like +3120….
func writeCDRsCSV(w http.ResponseWriter, cdrs []cdrView) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cdrs.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "call_id", "direction", "from", "from_name", "to", "target", "trunk", "answered_by",
		"started_at", "answered_at", "ended_at", "duration_s", "disposition", "sip_code", "hangup_by", "reason", "wrapup_code"})
	for _, c := range cdrs {
		answered, talk := "", ""
		if c.AnsweredAt != nil {
			answered = c.AnsweredAt.Format(time.RFC3339)
			talk = strconv.FormatFloat(c.EndedAt.Sub(*c.AnsweredAt).Seconds(), 'f', 0, 64)
		}
		_ = cw.Write([]string{strconv.FormatInt(c.ID, 10), c.CallID, c.Direction, csvSafe(c.From), csvSafe(c.FromName),
			csvSafe(c.To), c.Target, csvSafe(c.Trunk), c.AnsweredBy, c.StartedAt.Format(time.RFC3339), answered,
			c.EndedAt.Format(time.RFC3339), talk, c.Disposition, strconv.Itoa(c.SIPCode), c.HangupBy, csvSafe(c.Reason), csvSafe(c.WrapupCode)})
	}
	cw.Flush()
}

func csvSafe(v string) string {
	if v == "" {
		return v
	}
	if isNumber(v) {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

// isNumber reports whether v is a phone number: an optional + and digits.
func isNumber(v string) bool {
	v = strings.TrimPrefix(v, "+")
	if v == "" {
		return false
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// readPage reads the limit (1–10,000) and the since/until times (RFC
// 3339) of a CDR-like query into f, answering 400 on bad values.
func readPage(w http.ResponseWriter, q url.Values, f *store.CDRFilter) bool {
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "invalid_limit", "limit must be 1..10000")
			return false
		}
		f.Limit = n
	}
	for _, tp := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(tp.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "invalid_"+tp.name, tp.name+" must be an RFC 3339 time, e.g. 2026-11-21T09:00:00Z")
				return false
			}
			*tp.dst = t
		}
	}
	return true
}
