package reports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/reports"
	"github.com/switchboard/switchboard/internal/store"
)

var day = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func at(hh, mm, ss int) time.Time {
	return day.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second)
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// queueCDR is a queue call: entered at start, answered by ext after wait
// (0: never), ended after talk (or, unanswered, after wait).
func queueCDR(id, queue string, start time.Time, ext string, wait, talk time.Duration, disp store.Disposition) store.CDR {
	c := store.CDR{CallID: id, Direction: "inbound", From: "+31201234567", To: queue, Target: "queue:" + queue,
		StartedAt: start, EndedAt: start.Add(wait + talk), Disposition: disp}
	if ext != "" {
		c.AnsweredBy, c.AnsweredAt = ext, start.Add(wait)
	}
	return c
}

// seed writes a scripted morning through the store's own functions.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	cdrs := []store.CDR{
		queueCDR("a1", "8000", at(9, 5, 0), "1001", 10*time.Second, 120*time.Second, store.DispositionAnswered),
		queueCDR("a2", "8000", at(9, 10, 0), "1002", 30*time.Second, 60*time.Second, store.DispositionAnswered),
		queueCDR("a3", "8000", at(9, 20, 0), "", 45*time.Second, 0, store.DispositionAbandoned),
		queueCDR("a4", "8000", at(9, 59, 59), "1001", 5*time.Second, 100*time.Second, store.DispositionAnswered),
		queueCDR("a5", "8000", at(10, 30, 0), "", 0, 0, store.DispositionFailed),
		queueCDR("b1", "8001", at(10, 15, 0), "1001", 25*time.Second, 200*time.Second, store.DispositionAnswered),
		queueCDR("gone", "8999", at(9, 40, 0), "1003", 3*time.Second, 10*time.Second, store.DispositionAnswered),
		// Outside the range.
		queueCDR("early", "8000", at(8, 59, 59), "1001", time.Second, time.Second, store.DispositionAnswered),
		queueCDR("late", "8000", at(11, 0, 0), "1001", time.Second, time.Second, store.DispositionAnswered),
		// Not a queue call: counts for the agent only.
		{CallID: "i1", Direction: "internal", From: "1002", To: "1001", Target: "extension:1001", AnsweredBy: "1001",
			StartedAt: at(9, 30, 0), AnsweredAt: at(9, 30, 2), EndedAt: at(9, 30, 32), Disposition: store.DispositionAnswered},
	}
	if err := st.InsertCDRs(ctx, cdrs); err != nil {
		t.Fatal(err)
	}
	hist := []store.AgentStatusChange{
		{UserID: 1, At: at(7, 0, 0), From: "logged_out", To: "available"},
		{UserID: 1, At: at(8, 0, 0), From: "available", To: "available"},
		{UserID: 1, At: at(9, 30, 0), From: "available", To: "break", ReasonCode: "lunch"},
		{UserID: 1, At: at(10, 0, 0), From: "break", To: "available"},
		{UserID: 1, At: at(10, 45, 0), From: "available", To: "offline", ReasonCode: "meeting"},
		{UserID: 2, At: at(9, 15, 0), From: "logged_out", To: "available"},
		{UserID: 3, At: at(9, 0, 0), From: "logged_out", To: "available"}, // not in the report
	}
	if err := st.AddAgentStatusChanges(ctx, hist); err != nil {
		t.Fatal(err)
	}
}

var morning = reports.Range{From: at(9, 0, 0), To: at(11, 0, 0), Interval: reports.IntervalHour}

func f(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func TestQueueReport(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	thresholds := map[string]time.Duration{"8000": 20 * time.Second, "8001": 30 * time.Second}
	rep, err := reports.Queues(context.Background(), st, morning, thresholds, false)
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Rows()
	want := []string{
		// queue start offered answered abandoned other within SL wait max handle
		"8000 09:00 4 3 1 0 2 50 15 30 93.33",
		"8000 10:00 1 0 0 1 0 0 - 0 -",
		"8001 09:00 0 0 0 0 0 - - 0 -",
		"8001 10:00 1 1 0 0 1 100 25 25 200",
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i, r := range got {
		line := fmt.Sprintf("%s %s %d %d %d %d %d %s %s %v %s", r.Queue, r.Start.Format("15:04"), r.Offered, r.Answered,
			r.Abandoned, r.Other, r.AnsweredWithinSL, f(r.ServiceLevel), f(r.AvgWaitSeconds), r.MaxWaitSeconds, f(r.AvgHandleSeconds))
		if line != want[i] {
			t.Errorf("row %d: %s\n          want %s", i, line, want[i])
		}
	}
	tot := rep.Totals()
	if len(tot) != 2 || tot[0].Offered != 5 || tot[0].Answered != 3 || tot[0].Abandoned != 1 || tot[0].Other != 1 ||
		*tot[0].ServiceLevel != 40 || !tot[0].Start.Equal(morning.From) || tot[1].Offered != 1 {
		t.Fatalf("totals %+v", tot)
	}

	// All queues: the deleted queue's call is reported too, with the
	// default threshold.
	rep, err = reports.Queues(context.Background(), st, morning, thresholds, true)
	if err != nil {
		t.Fatal(err)
	}
	tot = rep.Totals()
	if len(tot) != 3 || tot[2].Queue != "8999" || tot[2].Offered != 1 || tot[2].ServiceLevelSeconds != 20 {
		t.Fatalf("all queues: %+v", tot)
	}

	// Daily: one row per queue.
	daily := reports.Range{From: day, To: day.Add(24 * time.Hour), Interval: reports.IntervalDay}
	rep, err = reports.Queues(context.Background(), st, daily, map[string]time.Duration{"8000": 20 * time.Second}, false)
	if err != nil {
		t.Fatal(err)
	}
	if rows := rep.Rows(); len(rows) != 1 || rows[0].Offered != 7 || rows[0].Answered != 5 {
		t.Fatalf("daily %+v", rows)
	}
}

func TestAgentReport(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	agents := []reports.Agent{{ID: 2, Name: "Bob", Extensions: []string{"1002"}}, {ID: 1, Name: "Alice", Extensions: []string{"1001"}}}
	rep, err := reports.Agents(context.Background(), st, morning, agents, at(12, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	rows := rep.Rows()
	want := []string{
		"1 09:00 3 2 250 83.33 map[available:1800 break:1800] map[lunch:1800]",
		"1 10:00 1 1 200 200 map[available:2700 offline:900] map[meeting:900]",
		"2 09:00 1 1 60 60 map[available:2700] map[]",
		"2 10:00 0 0 0 - map[available:3600] map[]",
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	for i, r := range rows {
		line := fmt.Sprintf("%d %s %d %d %v %s %v %v", r.AgentID, r.Start.Format("15:04"), r.Answered, r.QueueAnswered,
			r.TalkSeconds, f(r.AvgHandleSeconds), r.StatusSeconds, r.ReasonSeconds)
		if line != want[i] {
			t.Errorf("row %d: %s\n          want %s", i, line, want[i])
		}
	}
	if tot := rep.Totals(); len(tot) != 2 || tot[0].Answered != 4 || tot[0].StatusSeconds["available"] != 4500 ||
		tot[0].ReasonSeconds["lunch"] != 1800 {
		t.Fatalf("totals %+v", tot)
	}

	// Now in the middle of the range: no time is counted beyond it.
	rep, err = reports.Agents(context.Background(), st, morning, agents[1:], at(10, 30, 0))
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Rows()[1]; r.StatusSeconds["available"] != 1800 || r.StatusSeconds["offline"] != 0 {
		t.Fatalf("until now: %+v", r)
	}
}

func TestRange(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	tests := []struct {
		name string
		r    reports.Range
		n    int
		err  bool
	}{
		{"two hours", morning, 2, false},
		{"part hours", reports.Range{From: at(9, 30, 0), To: at(10, 30, 0), Interval: reports.IntervalHour}, 2, false},
		{"a week of days", reports.Range{From: day, To: day.AddDate(0, 0, 7), Interval: reports.IntervalDay}, 7, false},
		// 29 March 2026: clocks go from 02:00 to 03:00 in Amsterdam; the day has 23 hours.
		{"DST day hourly", reports.Range{From: time.Date(2026, 3, 29, 0, 0, 0, 0, ams), To: time.Date(2026, 3, 30, 0, 0, 0, 0, ams),
			Interval: reports.IntervalHour, Location: ams}, 23, false},
		{"DST week daily", reports.Range{From: time.Date(2026, 3, 26, 0, 0, 0, 0, ams), To: time.Date(2026, 4, 2, 0, 0, 0, 0, ams),
			Interval: reports.IntervalDay, Location: ams}, 7, false},
		{"empty", reports.Range{From: day, To: day, Interval: reports.IntervalHour}, 0, true},
		{"no interval", reports.Range{From: day, To: day.Add(time.Hour)}, 0, true},
		{"hours for too long", reports.Range{From: day, To: day.AddDate(0, 2, 0), Interval: reports.IntervalHour}, 0, true},
		{"days for too long", reports.Range{From: day, To: day.AddDate(2, 0, 0), Interval: reports.IntervalDay}, 0, true},
	}
	for _, tt := range tests {
		err := tt.r.Check()
		if (err != nil) != tt.err || err != nil && !errors.Is(err, reports.ErrInvalid) {
			t.Errorf("%s: Check() = %v", tt.name, err)
			continue
		}
		if err == nil {
			if p := tt.r.Periods(); len(p) != tt.n {
				t.Errorf("%s: %d periods, want %d: %v", tt.name, len(p), tt.n, p)
			}
		}
	}
}

func TestCSV(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	rep, err := reports.Queues(context.Background(), st, morning, map[string]time.Duration{"8000": 20 * time.Second}, false)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := reports.WriteQueueCSV(&b, rep.Rows()); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0][3] != "offered" || recs[1][3] != "4" || recs[1][9] != "50" || recs[2][10] != "" {
		t.Fatalf("queue csv %q", recs)
	}
	ar, err := reports.Agents(context.Background(), st, morning, []reports.Agent{{ID: 1, Name: "=cmd()", Extensions: []string{"1001"}}}, at(12, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := reports.WriteAgentCSV(&b, ar.Rows()); err != nil {
		t.Fatal(err)
	}
	recs, err = csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := strings.Join(recs[0], ",")
	if head != "agent_id,name,start,end,answered,queue_answered,talk_s,avg_handle_s,status_s:available,status_s:break,status_s:offline,status_s:logged_out,status_s:rona,reason_s:lunch,reason_s:meeting" {
		t.Fatalf("agent csv header %s", head)
	}
	if recs[1][1] != "'=cmd()" || recs[1][8] != "1800" || recs[1][13] != "1800" || recs[2][14] != "900" {
		t.Fatalf("agent csv %q", recs)
	}
}

func TestPlotQueue(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	rep, err := reports.Queues(context.Background(), st, morning, map[string]time.Duration{"8000": 20 * time.Second}, false)
	if err != nil {
		t.Fatal(err)
	}
	svg := reports.PlotQueue("Queue 8000 <Support>", rep.QueueRows("8000"), reports.IntervalHour, 80)
	// Well-formed XML, with two bars, one line of two points, a legend and
	// the title escaped.
	dec := xml.NewDecoder(bytes.NewReader(svg))
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
	if counts["svg"] != 1 || counts["path"] != 1 || counts["circle"] != 2 || counts["rect"] != 4 { // background, 2 bars, legend
		t.Fatalf("elements %v\n%s", counts, svg)
	}
	for _, s := range []string{"calls offered", "service level", "target 80 %", "Queue 8000 &lt;Support&gt;", "09:00", "10:00"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("plot lacks %q", s)
		}
	}
	if !bytes.Equal(svg, reports.PlotQueue("Queue 8000 <Support>", rep.QueueRows("8000"), reports.IntervalHour, 80)) {
		t.Fatal("the same rows drew two different plots")
	}
}
