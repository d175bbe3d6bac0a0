package call

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// Call-associated data (CAD, SPEC D2). The queue a call enters (its flow)
// defines typed variables (store.Variable); the call holds their values:
// text, validated by type, at most MaxValueLength characters. The values
// carry a version that starts at 1 and grows with every save that changes
// something. A save names the version it was based on; when another save
// came first it is refused with a *StaleDataError holding what is current
// — the first save wins and the other editor is told (optimistic
// concurrency). Values live in memory with the call and end with it.
//
// Initial values: when a call enters a queue, every variable the queue
// defines starts empty, except a variable named "ani", which is set to
// the caller's number (routing-set data) when that number is valid for
// its type.

// MaxValueLength is the longest value, in characters.
const MaxValueLength = 256

// MaskedValue replaces a secure (PII) value for those who may not see it.
const MaskedValue = "••••"

// Stable codes of a *DataError; the API answers them as 400.
const (
	CodeUnknownVariable = "unknown_variable"
	CodeNotEditable     = "not_editable"
	CodeValueTooLong    = "value_too_long"
	CodeInvalidValue    = "invalid_value"
)

// DataError is a change SetData refuses: the variable and why.
type DataError struct {
	Code   string // one of the Code… constants
	Name   string // the variable
	Reason string
}

func (e *DataError) Error() string { return "variable " + strconv.Quote(e.Name) + ": " + e.Reason }

// ErrStaleData is matched (errors.Is) by the *StaleDataError SetData
// returns when the data changed since the version the caller read.
var ErrStaleData = errors.New("the call data was changed since it was read")

// StaleDataError carries the current values and version after a refused
// save, so the editor can show what won.
type StaleDataError struct {
	Values  map[string]string
	Version uint64
}

func (e *StaleDataError) Error() string {
	return ErrStaleData.Error() + " (now version " + strconv.FormatUint(e.Version, 10) + ")"
}

// Is makes errors.Is(err, ErrStaleData) true.
func (e *StaleDataError) Is(target error) bool { return target == ErrStaleData }

// cadState is a call's CAD, guarded by Call.mu.
type cadState struct {
	values map[string]string
	saves  uint64 // the version is saves+1, so a zero cadState is version 1
}

func (s *cadState) version() uint64 { return s.saves + 1 }

// DataChanged is the data of a call_data_changed event. The event goes to
// everyone who may watch the call, so secure values are masked (non-empty
// ones become MaskedValue) and listed in Secure; those allowed read the
// real values from the API.
type DataChanged struct {
	CallID  string            `json:"call_id"`
	Version uint64            `json:"version"`
	Values  map[string]string `json:"values"`           // the variables defined now
	Secure  []string          `json:"secure,omitempty"` // names whose values are masked
	Changed []string          `json:"changed"`          // names this save changed
}

// CheckValue reports whether v is a valid value of type t: at most
// MaxValueLength characters of UTF-8; an integer in base 10; a boolean as
// true or false; a datetime in RFC 3339 (ISO 8601 with a time zone). The
// empty value (unset) is valid for every type. The error is a *DataError
// without a name.
func CheckValue(t store.VarType, v string) error {
	if !utf8.ValidString(v) {
		return &DataError{Code: CodeInvalidValue, Reason: "is not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(v); n > MaxValueLength {
		return &DataError{Code: CodeValueTooLong, Reason: "has " + strconv.Itoa(n) + " characters; at most " + strconv.Itoa(MaxValueLength) + " are allowed"}
	}
	if v == "" {
		return nil
	}
	bad := func(want string) error {
		return &DataError{Code: CodeInvalidValue, Reason: strconv.Quote(v) + " is not " + want}
	}
	switch t {
	case store.VarString:
	case store.VarInteger:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return bad("an integer")
		}
	case store.VarBoolean:
		if v != "true" && v != "false" {
			return bad("a boolean (true or false)")
		}
	case store.VarDatetime:
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return bad("an RFC 3339 date-time such as 2025-01-31T14:05:00+01:00")
		}
	default:
		return bad("of a known type")
	}
	return nil
}

// DataFlow is the queue whose variables the call carries, "" if none.
func (c *Call) DataFlow() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.route.kind == store.TargetQueue {
		return c.route.target
	}
	return ""
}

// Data returns a copy of the values and their version.
func (c *Call) Data() (map[string]string, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.cad.values), c.cad.version()
}

// SetData applies changes (name → value) made on top of expectedVersion,
// checked against the flow's definitions: every name must be defined
// (CodeUnknownVariable) and editable (CodeNotEditable), every value valid
// for its type (CheckValue). Bad changes are refused as a whole with a
// *DataError before the version is looked at. When expectedVersion is not
// the current version, nothing changes and the error is a
// *StaleDataError. Otherwise it returns the new values and version, and
// publishes call_data_changed; a save that changes no value keeps the
// version and publishes nothing.
func (c *Call) SetData(expectedVersion uint64, changes map[string]string, defs []store.Variable) (map[string]string, uint64, error) {
	byName := make(map[string]store.Variable, len(defs))
	for _, d := range defs {
		byName[d.Name] = d
	}
	names := slices.Sorted(maps.Keys(changes)) // the first error is the same every time
	for _, name := range names {
		d, ok := byName[name]
		if !ok {
			return nil, 0, &DataError{Code: CodeUnknownVariable, Name: name, Reason: "is not defined for this call"}
		}
		if !d.Editable {
			return nil, 0, &DataError{Code: CodeNotEditable, Name: name, Reason: "is not editable"}
		}
		if err := CheckValue(d.Type, changes[name]); err != nil {
			de := err.(*DataError)
			de.Name = name
			return nil, 0, de
		}
	}

	c.mu.Lock()
	if v := c.cad.version(); v != expectedVersion {
		cur := maps.Clone(c.cad.values)
		c.mu.Unlock()
		return nil, 0, &StaleDataError{Values: cur, Version: v}
	}
	var changed []string
	for _, name := range names {
		if old, ok := c.cad.values[name]; !ok || old != changes[name] {
			changed = append(changed, name)
		}
	}
	if len(changed) == 0 {
		cur, v := maps.Clone(c.cad.values), c.cad.version()
		c.mu.Unlock()
		return cur, v, nil
	}
	if c.cad.values == nil {
		c.cad.values = make(map[string]string, len(changes))
	}
	for _, name := range changed {
		c.cad.values[name] = changes[name]
	}
	c.cad.saves++
	cur, v := maps.Clone(c.cad.values), c.cad.version()
	c.mu.Unlock()

	ev := dataChanged(c.id, v, defs, cur, changed)
	if c.m != nil {
		c.m.publish(events.CallDataChanged, c, ev)
	}
	if c.log != nil {
		c.log.Info("call data saved", "version", v, "changed", changed)
	}
	return cur, v, nil
}

// dataChanged builds the call_data_changed event: every defined variable
// with its value, secure ones masked (the event goes to every watcher).
func dataChanged(callID string, version uint64, defs []store.Variable, cur map[string]string, changed []string) DataChanged {
	ev := DataChanged{CallID: callID, Version: version, Values: make(map[string]string, len(defs)), Changed: changed}
	for _, d := range defs {
		val := cur[d.Name]
		if d.Secure {
			ev.Secure = append(ev.Secure, d.Name)
			if val != "" {
				val = MaskedValue
			}
		}
		ev.Values[d.Name] = val
	}
	return ev
}

// variableSource is the part of the store that defines CAD variables; the
// manager's Store need not have it (tests' fakes), and then calls carry
// no variables.
type variableSource interface {
	QueueVariables(ctx context.Context, queue string) ([]store.Variable, error)
}

// initData gives a new call its initial values (see the package comment
// above): called once, before the call is shared.
func (c *Call) initData(ctx context.Context) {
	values := map[string]string{}
	if src, ok := c.m.st.(variableSource); ok && c.route.kind == store.TargetQueue {
		defs, err := src.QueueVariables(ctx, c.route.target)
		if err != nil {
			c.log.Warn("call data: variables of the queue not read; the call carries none", "queue", c.route.target, "error", err)
		}
		for _, d := range defs {
			values[d.Name] = ""
			if d.Name == "ani" && CheckValue(d.Type, c.caller.Number) == nil {
				values[d.Name] = c.caller.Number
			}
		}
	}
	c.mu.Lock()
	c.cad = cadState{values: values}
	c.mu.Unlock()
}

// enterFlow moves the call's data into the flow of r when r is another
// queue (a transfer or redirect to a queue): CarryOver decides what is
// kept, the version grows, and call_data_changed tells the consoles. The
// call's route becomes r, so the new queue's supervisors see it as theirs.
func (c *Call) enterFlow(ctx context.Context, r route) {
	if r.kind != store.TargetQueue {
		return
	}
	c.mu.Lock()
	old := c.route
	c.mu.Unlock()
	if old.kind == store.TargetQueue && old.target == r.target {
		return
	}
	var from, to []store.Variable
	if src, ok := c.m.st.(variableSource); ok {
		var err error
		if old.kind == store.TargetQueue {
			if from, err = src.QueueVariables(ctx, old.target); err != nil {
				c.log.Warn("call data: variables of the old queue not read", "queue", old.target, "error", err)
			}
		}
		if to, err = src.QueueVariables(ctx, r.target); err != nil {
			c.log.Warn("call data: variables of the new queue not read", "queue", r.target, "error", err)
		}
	}
	c.mu.Lock()
	c.route.kind, c.route.target, c.route.members = r.kind, r.target, r.members
	c.cad.values = CarryOver(from, c.cad.values, to)
	c.cad.saves++
	cur, v := maps.Clone(c.cad.values), c.cad.version()
	c.mu.Unlock()
	changed := make([]string, 0, len(to))
	for _, d := range to {
		changed = append(changed, d.Name)
	}
	c.m.publish(events.CallDataChanged, c, dataChanged(c.id, v, to, cur, changed))
	c.log.Info("call data carried into a new flow", "from", old.describe(), "to", r.describe(), "version", v)
}

// CarryOver computes the values a call takes into a new flow (transfer to
// a queue or entry point, SPEC D3): a variable of the new flow keeps the
// value of the variable of the old flow with the same name and the same
// type; every other variable of the new flow starts empty. Variables of
// the old flow that the new one lacks are dropped.
func CarryOver(from []store.Variable, values map[string]string, to []store.Variable) map[string]string {
	fromType := make(map[string]store.VarType, len(from))
	for _, d := range from {
		fromType[d.Name] = d.Type
	}
	out := make(map[string]string, len(to))
	for _, d := range to {
		out[d.Name] = ""
		if t, ok := fromType[d.Name]; ok && t == d.Type {
			out[d.Name] = values[d.Name]
		}
	}
	return out
}
