package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/reports"
	"github.com/switchboard/switchboard/internal/store"
)

// Historical reports (SPEC R2): GET /api/reports/queues,
// GET /api/reports/agents, GET /api/reports/queues/{number}/plot.svg.
// Admins see every queue and agent; supervisors the queues they supervise
// and those queues' agents; anyone else only their own agent report.

func (s *Server) registerReports() {
	s.mux.HandleFunc("GET /api/reports/queues", s.authed(s.queueReport))
	s.mux.HandleFunc("GET /api/reports/queues/{number}/plot.svg", s.authed(s.queueReportPlot))
	s.mux.HandleFunc("GET /api/reports/agents", s.authed(s.agentReport))
}

// queueReportView is the queue report in JSON.
type queueReportView struct {
	From     time.Time          `json:"from"`
	To       time.Time          `json:"to"`
	Interval string             `json:"interval"`
	TimeZone string             `json:"tz"`
	Rows     []reports.QueueRow `json:"rows"`
	Totals   []reports.QueueRow `json:"totals"`
}

// agentReportView is the agent report in JSON.
type agentReportView struct {
	From     time.Time          `json:"from"`
	To       time.Time          `json:"to"`
	Interval string             `json:"interval"`
	TimeZone string             `json:"tz"`
	Rows     []reports.AgentRow `json:"rows"`
	Totals   []reports.AgentRow `json:"totals"`
}

// reportRange reads ?from=&to= (RFC 3339; default the last 24 hours for
// hourly, 7 days for daily, to now), ?interval=hour|day (default hour)
// and ?tz= (an IANA zone the intervals begin in; default UTC).
func reportRange(w http.ResponseWriter, q url.Values) (reports.Range, bool) {
	r := reports.Range{Interval: reports.IntervalHour, Location: time.UTC}
	if v := q.Get("interval"); v != "" {
		iv, err := reports.ParseInterval(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_interval", "interval must be hour or day")
			return r, false
		}
		r.Interval = iv
	}
	if v := q.Get("tz"); v != "" {
		loc, err := time.LoadLocation(v)
		if err != nil || strings.Contains(v, "..") {
			writeError(w, http.StatusBadRequest, "invalid_tz", "tz must be an IANA time zone, e.g. Europe/Amsterdam")
			return r, false
		}
		r.Location = loc
	}
	r.To = time.Now().UTC()
	for _, tp := range []struct {
		name string
		dst  *time.Time
	}{{"from", &r.From}, {"to", &r.To}} {
		if v := q.Get(tp.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "invalid_"+tp.name, tp.name+" must be an RFC 3339 time, e.g. 2026-11-21T09:00:00Z")
				return r, false
			}
			*tp.dst = t
		}
	}
	if r.From.IsZero() {
		r.From = r.To.Add(-24 * time.Hour)
		if r.Interval == reports.IntervalDay {
			r.From = r.To.AddDate(0, 0, -7)
		}
	}
	if err := r.Check(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_range",
			"from must be before to, over at most 31 days hourly or 366 days daily")
		return r, false
	}
	return r, true
}

// wantsCSV reports whether the client asked for CSV: ?format=csv or an
// Accept header preferring text/csv; ok is false after a 400 for an
// unknown format.
func wantsCSV(w http.ResponseWriter, r *http.Request) (csv, ok bool) {
	switch r.URL.Query().Get("format") {
	case "csv":
		return true, true
	case "json":
		return false, true
	case "":
		return strings.Contains(r.Header.Get("Accept"), "text/csv"), true
	}
	writeError(w, http.StatusBadRequest, "invalid_format", "format must be json or csv")
	return false, false
}

// reportSource is the store as reports read it; 503 when it cannot.
func (s *Server) reportSource(w http.ResponseWriter) (reports.Source, bool) {
	src, ok := s.st.(reports.Source)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "reports_unavailable", "the store cannot build reports")
	}
	return src, ok
}

// reportQueues returns the queues p may report on with their service
// level thresholds, narrowed to ?queue= (comma-separated numbers), and
// whether calls of deleted queues are included (admins, unfiltered).
func (s *Server) reportQueues(w http.ResponseWriter, r *http.Request, p auth.Principal, e *acd.Engine, only []string) (map[string]time.Duration, bool, bool) {
	admin := p.Can(auth.AgentsManageAll)
	if !admin && !(p.User.Role == store.RoleSupervisor && p.Can(auth.QueuesSupervise)) {
		acdForbidden(w, "queue reports are for admins and the queues' supervisors")
		return nil, false, false
	}
	qs, err := s.st.Queues(r.Context())
	if err != nil {
		s.storeError(w, "queue", "list queues", err)
		return nil, false, false
	}
	thresholds := make(map[string]time.Duration)
	for _, q := range qs {
		if admin || e.Supervises(p.User.ID, q.Number) {
			thresholds[q.Number] = q.ServiceLevel
		}
	}
	if only == nil {
		return thresholds, admin, true
	}
	picked := make(map[string]time.Duration, len(only))
	for _, n := range only {
		sl, ok := thresholds[n]
		switch {
		case !shortNumber.MatchString(n):
			writeError(w, http.StatusBadRequest, "invalid_queue", "queue must be queue numbers (3 to 6 digits), comma-separated")
			return nil, false, false
		case !ok && !admin:
			acdForbidden(w, "you may report on the queues you supervise")
			return nil, false, false
		}
		picked[n] = sl // an admin may ask for a deleted queue: the default threshold
	}
	return picked, false, true
}

// queueFilter reads ?queue= (nil when absent).
func queueFilter(q url.Values) []string {
	v := q.Get("queue")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// reportQuery is what every report request needs: the ACD (thresholds,
// who supervises what), the store's report source, the time range and,
// when the route offers it, whether CSV was asked for. ok is false once an
// error has been answered.
type reportQuery struct {
	engine *acd.Engine
	src    reports.Source
	rng    reports.Range
	csv    bool
}

func (s *Server) reportQuery(w http.ResponseWriter, r *http.Request, csvAllowed bool) (q reportQuery, ok bool) {
	if q.engine, ok = s.engine(w); !ok {
		return q, false
	}
	if q.src, ok = s.reportSource(w); !ok {
		return q, false
	}
	if csvAllowed {
		if q.csv, ok = wantsCSV(w, r); !ok {
			return q, false
		}
	}
	q.rng, ok = reportRange(w, r.URL.Query())
	return q, ok
}

// queueReport serves GET /api/reports/queues?from=&to=&interval=&tz=&queue=&format=.
func (s *Server) queueReport(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q, ok := s.reportQuery(w, r, true)
	if !ok {
		return
	}
	e, src, asCSV, rng := q.engine, q.src, q.csv, q.rng
	thresholds, all, ok := s.reportQueues(w, r, p, e, queueFilter(r.URL.Query()))
	if !ok {
		return
	}
	rep, err := reports.Queues(r.Context(), src, rng, thresholds, all)
	if err != nil {
		s.reportError(w, "build the queue report", err)
		return
	}
	if asCSV {
		writeReportCSV(w, "queue-report.csv", func(w http.ResponseWriter) error { return reports.WriteQueueCSV(w, rep.Rows()) })
		return
	}
	writeJSON(w, http.StatusOK, queueReportView{From: rng.From, To: rng.To, Interval: rng.Interval.String(),
		TimeZone: rng.Location.String(), Rows: nonNil(rep.Rows()), Totals: nonNil(rep.Totals())})
}

// queueReportPlot serves GET /api/reports/queues/{number}/plot.svg: calls
// offered per interval as bars, the service level as a line, the queue's
// target dashed.
func (s *Server) queueReportPlot(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q, ok := s.reportQuery(w, r, false)
	if !ok {
		return
	}
	e, src, rng := q.engine, q.src, q.rng
	number := r.PathValue("number")
	thresholds, _, ok := s.reportQueues(w, r, p, e, []string{number})
	if !ok {
		return
	}
	rep, err := reports.Queues(r.Context(), src, rng, thresholds, false)
	if err != nil {
		s.reportError(w, "build the queue report", err)
		return
	}
	title, target := "Queue "+number, 0.0
	if q, err := s.st.QueueByNumber(r.Context(), number); err == nil {
		title, target = "Queue "+number+" "+q.Name, float64(q.ServiceLevelTarget)
	}
	title += " — calls and service level per " + rng.Interval.String()
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	// The SVG is ours, but served from the API's origin: forbid scripts in
	// it should a name ever slip through unescaped.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(reports.PlotQueue(title, rep.QueueRows(number), rng.Interval, target))
}

// agentReport serves GET /api/reports/agents?from=&to=&interval=&tz=&agent=&format=.
func (s *Server) agentReport(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q, ok := s.reportQuery(w, r, true)
	if !ok {
		return
	}
	e, src, asCSV, rng := q.engine, q.src, q.csv, q.rng
	var only int64
	if v := r.URL.Query().Get("agent"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			writeError(w, http.StatusBadRequest, "invalid_agent", "agent must be a user id")
			return
		}
		only = id
	}
	var agents []reports.Agent
	known := false
	for _, v := range e.Agents() {
		if only != 0 && v.ID != only {
			continue
		}
		known = true
		if managesAgent(p, e, v) {
			agents = append(agents, reports.Agent{ID: v.ID, Name: v.Name, Extensions: v.Extensions})
		}
	}
	switch {
	case only != 0 && !known:
		writeError(w, http.StatusNotFound, "agent_not_found", "no agent with that id")
		return
	case only != 0 && len(agents) == 0:
		acdForbidden(w, "you may report on yourself and, as a supervisor, on the agents of your queues")
		return
	}
	rep, err := reports.Agents(r.Context(), src, rng, agents, time.Now())
	if err != nil {
		s.reportError(w, "build the agent report", err)
		return
	}
	if asCSV {
		writeReportCSV(w, "agent-report.csv", func(w http.ResponseWriter) error { return reports.WriteAgentCSV(w, rep.Rows()) })
		return
	}
	writeJSON(w, http.StatusOK, agentReportView{From: rng.From, To: rng.To, Interval: rng.Interval.String(),
		TimeZone: rng.Location.String(), Rows: nonNil(rep.Rows()), Totals: nonNil(rep.Totals())})
}

func writeReportCSV(w http.ResponseWriter, name string, write func(http.ResponseWriter) error) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_ = write(w) // the status is sent; a failed write is the client gone
}

func (s *Server) reportError(w http.ResponseWriter, op string, err error) {
	if errors.Is(err, reports.ErrInvalid) || errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "invalid_range", err.Error())
		return
	}
	s.log.Error("report failed", "op", op, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "could not "+op)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clip(s)
}
