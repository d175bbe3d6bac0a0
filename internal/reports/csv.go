package reports

import (
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CSV exports: one header line, one line per row, times in RFC 3339,
// absent figures as empty cells (a spreadsheet then leaves them out of
// averages rather than counting a zero).

// WriteQueueCSV writes queue rows as CSV.
func WriteQueueCSV(w io.Writer, rows []QueueRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"queue", "start", "end", "offered", "answered", "abandoned", "other",
		"answered_within_sl", "service_level_s", "service_level", "avg_wait_s", "max_wait_s", "avg_handle_s"})
	for _, r := range rows {
		_ = cw.Write([]string{text(r.Queue), stamp(r.Start), stamp(r.End), itoa(r.Offered), itoa(r.Answered),
			itoa(r.Abandoned), itoa(r.Other), itoa(r.AnsweredWithinSL), itoa(r.ServiceLevelSeconds),
			opt(r.ServiceLevel), opt(r.AvgWaitSeconds), ftoa(r.MaxWaitSeconds), opt(r.AvgHandleSeconds)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteAgentCSV writes agent rows as CSV: a column per status and per
// reason code met in the rows ("status_s:<status>", "reason_s:<code>").
func WriteAgentCSV(w io.Writer, rows []AgentRow) error {
	statuses := []string{"available", "break", "offline", "logged_out", "rona"}
	var reasons []string
	for _, r := range rows {
		for s := range r.StatusSeconds {
			if !slices.Contains(statuses, s) {
				statuses = append(statuses, s)
			}
		}
		for c := range r.ReasonSeconds {
			if !slices.Contains(reasons, c) {
				reasons = append(reasons, c)
			}
		}
	}
	slices.Sort(statuses[5:])
	slices.Sort(reasons)
	head := []string{"agent_id", "name", "start", "end", "answered", "queue_answered", "talk_s", "avg_handle_s"}
	for _, s := range statuses {
		head = append(head, "status_s:"+s)
	}
	for _, c := range reasons {
		head = append(head, text("reason_s:"+c))
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(head)
	for _, r := range rows {
		line := []string{strconv.FormatInt(r.AgentID, 10), text(r.Name), stamp(r.Start), stamp(r.End), itoa(r.Answered),
			itoa(r.QueueAnswered), ftoa(r.TalkSeconds), opt(r.AvgHandleSeconds)}
		for _, s := range statuses {
			line = append(line, ftoa(r.StatusSeconds[s]))
		}
		for _, c := range reasons {
			line = append(line, ftoa(r.ReasonSeconds[c]))
		}
		_ = cw.Write(line)
	}
	cw.Flush()
	return cw.Error()
}

func stamp(t time.Time) string { return t.Format(time.RFC3339) }
func itoa(n int) string        { return strconv.Itoa(n) }
func ftoa(v float64) string    { return strconv.FormatFloat(v, 'f', -1, 64) }

func opt(v *float64) string {
	if v == nil {
		return ""
	}
	return ftoa(*v)
}

// text keeps a spreadsheet from reading a name as a formula (CSV
// injection): a cell starting with = + - @ or a control character gets a
// leading apostrophe.
func text(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
