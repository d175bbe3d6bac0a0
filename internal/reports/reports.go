// Package reports builds Switchboard's historical reports (SPEC R2) from
// the CDRs and the agents' status history: per queue and per agent, per
// hour or day of a time range — calls offered, answered and abandoned,
// service level, average wait and handle time; time per agent status and
// per reason code — with a CSV export and an SVG plot.
//
// The package aggregates; the store reads (store.EachQueueCall,
// store.EachAgentCall, store.AgentStatusChangesBetween). A call belongs to
// the interval it started in, as in every contact-centre report: a call
// offered at 09:59 and answered at 10:01 is 09:00's.
package reports

import (
	"errors"
	"fmt"
	"time"
)

// Interval is the length of a report's rows.
type Interval int

// Intervals. The zero value is unknown, so a forgotten interval is an
// error rather than hourly by accident.
const (
	IntervalUnknown Interval = iota
	IntervalHour
	IntervalDay
)

// String returns the interval's name in the API.
func (i Interval) String() string {
	switch i {
	case IntervalHour:
		return "hour"
	case IntervalDay:
		return "day"
	}
	return "unknown"
}

// ParseInterval reads "hour" or "day".
func ParseInterval(s string) (Interval, error) {
	switch s {
	case "hour":
		return IntervalHour, nil
	case "day":
		return IntervalDay, nil
	}
	return IntervalUnknown, fmt.Errorf("interval %q: %w", s, ErrInvalid)
}

// ErrInvalid is returned for a range or interval a report cannot have.
var ErrInvalid = errors.New("reports: invalid range")

// Longest ranges: a month of hours, a year and a day of days — enough for
// any report a person reads, and a bound on the rows one request builds.
const (
	MaxHourRange = 31 * 24 * time.Hour
	MaxDayRange  = 366 * 24 * time.Hour
)

// Range is what a report covers: [From, To) cut into intervals that begin
// on whole hours or midnights of Location.
type Range struct {
	From, To time.Time
	Interval Interval
	Location *time.Location // nil: UTC
}

// Check validates r: From before To, a known interval, not longer than its
// maximum.
func (r Range) Check() error {
	switch {
	case r.Interval != IntervalHour && r.Interval != IntervalDay:
		return fmt.Errorf("interval %v: %w", r.Interval, ErrInvalid)
	case !r.From.Before(r.To):
		return fmt.Errorf("from %v is not before to %v: %w", r.From, r.To, ErrInvalid)
	case r.Interval == IntervalHour && r.To.Sub(r.From) > MaxHourRange:
		return fmt.Errorf("hourly over more than %v: %w", MaxHourRange, ErrInvalid)
	case r.To.Sub(r.From) > MaxDayRange:
		return fmt.Errorf("daily over more than %v: %w", MaxDayRange, ErrInvalid)
	}
	return nil
}

func (r Range) loc() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

// floor is the start of the interval holding t.
func (r Range) floor(t time.Time) time.Time {
	t = t.In(r.loc())
	y, m, d := t.Date()
	if r.Interval == IntervalDay {
		return time.Date(y, m, d, 0, 0, 0, 0, r.loc())
	}
	// Whole hours of the zone; time.Date normalises a repeated or skipped
	// hour at a DST change to one instant, which is all a row needs.
	return time.Date(y, m, d, t.Hour(), 0, 0, 0, r.loc())
}

// next is the start of the interval after the one starting at t.
func (r Range) next(t time.Time) time.Time {
	if r.Interval == IntervalDay {
		y, m, d := t.Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, r.loc())
	}
	n := t.Add(time.Hour)
	if !n.After(t) || r.floor(n).Equal(t) {
		n = t.Add(2 * time.Hour)
	}
	return r.floor(n)
}

// Periods lists the intervals' starts from the one holding From to the
// last one beginning before To.
func (r Range) Periods() []time.Time {
	var out []time.Time
	for t := r.floor(r.From); t.Before(r.To); t = r.next(t) {
		out = append(out, t)
	}
	return out
}

// index returns the position of t's interval among Periods, -1 outside.
func (r Range) index(periods []time.Time, t time.Time) int {
	if t.Before(r.From) || !t.Before(r.To) {
		return -1
	}
	f := r.floor(t)
	// Binary search: periods are sorted.
	lo, hi := 0, len(periods)
	for lo < hi {
		mid := (lo + hi) / 2
		if periods[mid].Before(f) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(periods) && periods[lo].Equal(f) {
		return lo
	}
	return -1
}

// ratio returns num/den rounded to 0.1 % (as a percentage when pct) or to
// 0.01, nil when den is 0.
func ratio(num, den float64, pct bool) *float64 {
	if den == 0 {
		return nil
	}
	v := num / den
	if pct {
		v = float64(int64(v*1000+0.5)) / 10
	} else {
		v = float64(int64(v*100+0.5)) / 100
	}
	return &v
}
