package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// The interaction history (GET /api/interactions): one row per call, from
// its CDR, with its recordings and the agent's wrap-up code; filtered by a
// user (their extensions), a queue and a time window; JSON or a CSV
// download. Who sees what is decided in the query, before the limit:
// administrators every call, supervisors the calls of the queues they
// supervise and their own, everyone else their own calls.

// interactionView is one call in the history.
type interactionView struct {
	CallID      string     `json:"call_id"`
	Direction   string     `json:"direction"`
	From        string     `json:"from"`
	FromName    string     `json:"from_name,omitempty"`
	To          string     `json:"to"`
	Target      string     `json:"target"`
	Queue       string     `json:"queue,omitempty"`
	AnsweredBy  string     `json:"answered_by,omitempty"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	EndedAt     time.Time  `json:"ended_at"`
	WaitSeconds float64    `json:"wait_s"`           // start to answer (or to the end, unanswered)
	TalkSeconds float64    `json:"talk_s"`           // answer to end
	Disposition string     `json:"disposition"`      // answered, busy, no-answer, …
	HangupBy    string     `json:"hangup_by"`        // caller, callee, system
	Reason      string     `json:"reason,omitempty"` // e.g. a carrier's reason phrase
	WrapupCode  string     `json:"wrapup_code,omitempty"`
	// OtherParty is the number to call back (SPEC D6): the caller, or
	// what was dialled when the user (or ?user=) made the call.
	OtherParty string                `json:"other_party"`
	Recordings []interactionRecorded `json:"recordings"`
}

// interactionRecorded is a recording of the call the caller may hear.
type interactionRecorded struct {
	ID         string    `json:"id"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	AudioURL   string    `json:"audio_url"`
}

func newInteractionView(c store.CDR) interactionView {
	v := interactionView{CallID: c.CallID, Direction: c.Direction, From: c.From, FromName: c.FromName, To: c.To,
		Target: c.Target, AnsweredBy: c.AnsweredBy, StartedAt: c.StartedAt, EndedAt: c.EndedAt,
		Disposition: string(c.Disposition), HangupBy: c.HangupBy, Reason: c.Reason, WrapupCode: c.WrapupCode,
		Recordings: []interactionRecorded{}}
	v.Queue, _ = strings.CutPrefix(c.Target, "queue:")
	if v.Queue == c.Target {
		v.Queue = ""
	}
	end := c.EndedAt
	if end.IsZero() {
		end = c.StartedAt
	}
	if !c.AnsweredAt.IsZero() {
		t := c.AnsweredAt
		v.AnsweredAt = &t
		v.WaitSeconds = max(0, t.Sub(c.StartedAt).Seconds())
		v.TalkSeconds = max(0, end.Sub(t).Seconds())
	} else {
		v.WaitSeconds = max(0, end.Sub(c.StartedAt).Seconds())
	}
	return v
}

// interactionScope is what p may see of the history: nil for every call.
func (s *Server) interactionScope(p auth.Principal) *store.CDRScope {
	if p.User.Role == store.RoleSupervisor {
		if e := s.acdEngine(); e != nil {
			return &store.CDRScope{Extensions: p.Extensions, Queues: e.SupervisedQueues(p.User.ID)}
		}
	}
	if p.Can(auth.CDRsViewAll) {
		return nil
	}
	return &store.CDRScope{Extensions: p.Extensions}
}

// acdEngine is the queue engine, if the server has one.
func (s *Server) acdEngine() *acd.Engine {
	if e := s.adm.opts.ACD; e != nil {
		return e
	}
	e, _ := s.supervision.(*acd.Engine)
	return e
}

// listInteractions serves GET /api/interactions?user=&queue=&since=&until=&limit=&format=.
func (s *Server) listInteractions(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q := r.URL.Query()
	f := store.CDRFilter{Limit: 100, Scope: s.interactionScope(p)}
	if !readPage(w, q, &f) {
		return
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		writeError(w, http.StatusBadRequest, "invalid_until", "until must be after since")
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, "invalid_format", "format must be json or csv")
		return
	}
	if v := q.Get("queue"); v != "" {
		if !shortNumber.MatchString(v) {
			writeError(w, http.StatusBadRequest, "invalid_queue", "queue must be a queue number (3 to 6 digits)")
			return
		}
		if f.Scope != nil && p.User.Role == store.RoleSupervisor && !slices.Contains(f.Scope.Queues, v) {
			writeError(w, http.StatusForbidden, "forbidden", "you do not supervise queue "+v)
			return
		}
		f.Queue = v
	}
	if v := q.Get("user"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			writeError(w, http.StatusBadRequest, "invalid_user", "user must be a user id (a positive number)")
			return
		}
		if id != p.User.ID && !p.Can(auth.CDRsViewAll) {
			forbidden(w, auth.CDRsViewAll)
			return
		}
		if _, err := s.st.UserByID(r.Context(), id); err != nil {
			s.storeError(w, "user", "read user", err)
			return
		}
		exts, err := s.st.ExtensionsOfUser(r.Context(), id)
		if err != nil {
			s.storeError(w, "user", "read extensions", err)
			return
		}
		f.Extensions = make([]string, len(exts))
		for i, e := range exts {
			f.Extensions[i] = e.Number
		}
	}
	cdrs, err := s.st.FindCDRs(r.Context(), f)
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		s.log.Error("list interactions", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read the interaction history")
		return
	}
	out := make([]interactionView, 0, len(cdrs))
	seen := make(map[string]bool, len(cdrs))
	ids := make([]string, 0, len(cdrs))
	for _, c := range cdrs {
		if seen[c.CallID] { // one row per call
			continue
		}
		seen[c.CallID] = true
		v := newInteractionView(c)
		v.OtherParty = otherParty(c, p, f.Extensions)
		out = append(out, v)
		ids = append(ids, c.CallID)
	}
	recs, err := s.st.RecordingsByCall(r.Context(), ids)
	if err != nil {
		s.log.Error("recordings of interactions", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read the interaction history")
		return
	}
	for i := range out {
		for _, rec := range recs[out[i].CallID] {
			if mayHear(p, rec) {
				out[i].Recordings = append(out[i].Recordings, interactionRecorded{ID: rec.ID, StartedAt: rec.StartedAt,
					DurationMS: rec.Duration.Milliseconds(), AudioURL: "/api/recordings/" + rec.ID + "/audio"})
			}
		}
	}
	if format == "csv" {
		writeInteractionsCSV(w, out)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"interactions": out})
}

// otherParty is the far end of c for the user whose history it is: the
// user given with ?user= (their extensions exts), else the caller p.
func otherParty(c store.CDR, p auth.Principal, exts []string) string {
	mine := p.HasExtension
	if exts != nil {
		mine = func(n string) bool { return slices.Contains(exts, n) }
	}
	if mine(c.From) {
		return c.To
	}
	return c.From
}

// writeInteractionsCSV writes the history as a CSV download, defused like
// the CDRs' (csvSafe).
func writeInteractionsCSV(w http.ResponseWriter, rows []interactionView) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="interactions.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"call_id", "started_at", "direction", "from", "from_name", "to", "target", "queue", "answered_by",
		"answered_at", "ended_at", "wait_s", "talk_s", "disposition", "hangup_by", "reason", "wrapup_code", "recordings"})
	secs := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	for _, v := range rows {
		answered := ""
		if v.AnsweredAt != nil {
			answered = v.AnsweredAt.Format(time.RFC3339)
		}
		recs := make([]string, len(v.Recordings))
		for i, r := range v.Recordings {
			recs[i] = r.ID
		}
		_ = cw.Write([]string{v.CallID, v.StartedAt.Format(time.RFC3339), v.Direction, csvSafe(v.From), csvSafe(v.FromName),
			csvSafe(v.To), v.Target, v.Queue, v.AnsweredBy, answered, v.EndedAt.Format(time.RFC3339), secs(v.WaitSeconds),
			secs(v.TalkSeconds), v.Disposition, v.HangupBy, csvSafe(v.Reason), csvSafe(v.WrapupCode), strings.Join(recs, " ")})
	}
	cw.Flush()
}
