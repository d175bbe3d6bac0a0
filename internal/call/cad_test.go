package call

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

var quiet = slog.New(slog.DiscardHandler)

var testDefs = []store.Variable{
	{Name: "customer_id", Type: store.VarInteger, Editable: true},
	{Name: "vip", Type: store.VarBoolean, Editable: true},
	{Name: "callback_at", Type: store.VarDatetime, Editable: true},
	{Name: "ssn", Type: store.VarString, Editable: true, Secure: true},
	{Name: "note", Type: store.VarString},
}

// dataCall is a call with a bus to watch its events.
func dataCall(t *testing.T) (*Call, *events.Subscription) {
	t.Helper()
	bus := events.New(64)
	sub, err := bus.Subscribe(0, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	m := &Manager{bus: bus, log: quiet}
	return &Call{id: "c1", m: m, log: quiet}, sub
}

func TestSetDataVersionsAndFirstSaveWins(t *testing.T) {
	c, sub := dataCall(t)
	vals, v := c.Data()
	if v != 1 || len(vals) != 0 {
		t.Fatalf("new call: %v version %d, want empty version 1", vals, v)
	}

	got, v, err := c.SetData(1, map[string]string{"customer_id": "42", "ssn": "123-45-6789"}, testDefs)
	if err != nil || v != 2 || got["customer_id"] != "42" || got["ssn"] != "123-45-6789" {
		t.Fatalf("first save: %v %d %v", got, v, err)
	}
	select {
	case e := <-sub.C():
		d, ok := e.Data.(DataChanged)
		if e.Type != events.CallDataChanged || e.Resource != "call:c1" || !ok {
			t.Fatalf("event %+v", e)
		}
		if d.Version != 2 || d.Values["customer_id"] != "42" || d.Values["ssn"] != MaskedValue || d.Values["vip"] != "" {
			t.Errorf("event data %+v: want version 2, ssn masked", d)
		}
		if strings.Join(d.Secure, ",") != "ssn" || strings.Join(d.Changed, ",") != "customer_id,ssn" {
			t.Errorf("secure %v changed %v", d.Secure, d.Changed)
		}
	case <-time.After(time.Second):
		t.Fatal("no call_data_changed event")
	}

	// The second editor also read version 1: refused, told what won.
	_, _, err = c.SetData(1, map[string]string{"customer_id": "7"}, testDefs)
	var stale *StaleDataError
	if !errors.Is(err, ErrStaleData) || !errors.As(err, &stale) {
		t.Fatalf("stale save: %v, want ErrStaleData", err)
	}
	if stale.Version != 2 || stale.Values["customer_id"] != "42" {
		t.Errorf("stale error carries %+v", stale)
	}
	if vals, v := c.Data(); v != 2 || vals["customer_id"] != "42" {
		t.Errorf("after the refused save: %v %d", vals, v)
	}
	// A future version is stale too.
	if _, _, err := c.SetData(3, map[string]string{"vip": "true"}, testDefs); !errors.Is(err, ErrStaleData) {
		t.Errorf("future version: %v", err)
	}

	// Saving what is already there changes nothing: same version, no event.
	if _, v, err := c.SetData(2, map[string]string{"customer_id": "42"}, testDefs); err != nil || v != 2 {
		t.Errorf("no-op save: %d %v", v, err)
	}
	// Clearing a value is a change.
	if got, v, err := c.SetData(2, map[string]string{"ssn": ""}, testDefs); err != nil || v != 3 || got["ssn"] != "" {
		t.Errorf("clear: %v %d %v", got, v, err)
	}
	select {
	case e := <-sub.C():
		if d := e.Data.(DataChanged); d.Version != 3 || d.Values["ssn"] != "" {
			t.Errorf("after clearing: %+v (an empty secure value is shown empty)", d)
		}
	case <-time.After(time.Second):
		t.Fatal("no event for the clearing save")
	}
	select {
	case e := <-sub.C():
		t.Errorf("unexpected event %+v", e)
	default:
	}

	// Data returns a copy.
	vals, _ = c.Data()
	vals["customer_id"] = "tampered"
	if vals, _ := c.Data(); vals["customer_id"] != "42" {
		t.Error("Data shares its map")
	}
}

func TestSetDataConcurrentSavesOneWins(t *testing.T) {
	c, _ := dataCall(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, stale := 0, 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.SetData(1, map[string]string{"customer_id": strconv.Itoa(i + 1)}, testDefs)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrStaleData):
				stale++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || stale != 19 {
		t.Fatalf("%d saves won and %d were stale, want 1 and 19", wins, stale)
	}
	if _, v := c.Data(); v != 2 {
		t.Fatalf("version %d, want 2", v)
	}
}

func TestSetDataRefusesBadChanges(t *testing.T) {
	long := strings.Repeat("x", MaxValueLength+1)
	tests := []struct {
		name    string
		changes map[string]string
		code    string
	}{
		{"unknown", map[string]string{"nope": "1"}, CodeUnknownVariable},
		{"not editable", map[string]string{"note": "hi"}, CodeNotEditable},
		{"too long", map[string]string{"ssn": long}, CodeValueTooLong},
		{"not an integer", map[string]string{"customer_id": "12a"}, CodeInvalidValue},
		{"float for integer", map[string]string{"customer_id": "1.5"}, CodeInvalidValue},
		{"boolean yes", map[string]string{"vip": "yes"}, CodeInvalidValue},
		{"boolean True", map[string]string{"vip": "True"}, CodeInvalidValue},
		{"date without time", map[string]string{"callback_at": "2025-01-31"}, CodeInvalidValue},
		{"date without zone", map[string]string{"callback_at": "2025-01-31T14:05:00"}, CodeInvalidValue},
		{"invalid utf-8", map[string]string{"ssn": "\xff"}, CodeInvalidValue},
		{"one bad among good", map[string]string{"vip": "true", "customer_id": "x"}, CodeInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sub := dataCall(t)
			_, _, err := c.SetData(1, tt.changes, testDefs)
			var de *DataError
			if !errors.As(err, &de) || de.Code != tt.code || de.Name == "" {
				t.Fatalf("got %v, want a %s DataError naming the variable", err, tt.code)
			}
			if vals, v := c.Data(); v != 1 || len(vals) != 0 {
				t.Errorf("a refused save changed the data: %v %d", vals, v)
			}
			select {
			case e := <-sub.C():
				t.Errorf("event after a refused save: %+v", e)
			default:
			}
		})
	}

	// Bad input is refused as such even on a stale version.
	c, _ := dataCall(t)
	if _, _, err := c.SetData(9, map[string]string{"note": "x"}, testDefs); errors.Is(err, ErrStaleData) {
		t.Errorf("bad input on a stale version: %v, want the DataError", err)
	}

	good := map[string]string{
		"customer_id": "-9223372036854775808",
		"vip":         "false",
		"callback_at": "2025-01-31T14:05:00.250+01:00",
		"ssn":         strings.Repeat("é", MaxValueLength), // characters, not bytes
	}
	if _, v, err := c.SetData(1, good, testDefs); err != nil || v != 2 {
		t.Fatalf("valid values: %d %v", v, err)
	}
	if _, v, err := c.SetData(2, map[string]string{"callback_at": "2025-01-31T13:05:00Z", "vip": ""}, testDefs); err != nil || v != 3 {
		t.Fatalf("UTC date-time and an emptied boolean: %d %v", v, err)
	}
}

// varStore is a manager Store that also defines variables.
type varStore struct {
	Store
	defs map[string][]store.Variable
}

func (s varStore) QueueVariables(_ context.Context, queue string) ([]store.Variable, error) {
	d, ok := s.defs[queue]
	if !ok {
		return nil, store.ErrNotFound
	}
	return d, nil
}

func TestInitDataFromQueueDefinitions(t *testing.T) {
	st := varStore{defs: map[string][]store.Variable{
		"8000": {{Name: "ani", Type: store.VarString}, {Name: "customer_id", Type: store.VarInteger, Editable: true}},
		"8001": {{Name: "ani", Type: store.VarInteger}},
	}}
	m := &Manager{st: st, log: quiet}
	newCall := func(r route, caller string) *Call {
		c := &Call{id: "c", m: m, log: quiet, route: r, caller: Party{Number: caller}}
		c.initData(context.Background())
		return c
	}

	vals, v := newCall(route{kind: store.TargetQueue, target: "8000"}, "+31612345678").Data()
	if want := map[string]string{"ani": "+31612345678", "customer_id": ""}; v != 1 || !maps.Equal(vals, want) {
		t.Errorf("queue call: %v %d, want %v", vals, v, want)
	}
	// ani of type integer: set only when the caller's number is one.
	if vals, _ := newCall(route{kind: store.TargetQueue, target: "8001"}, "1009").Data(); vals["ani"] != "1009" {
		t.Errorf("integer ani: %v", vals)
	}
	if vals, _ := newCall(route{kind: store.TargetQueue, target: "8001"}, "anonymous").Data(); vals["ani"] != "" {
		t.Errorf("integer ani from a non-number: %v", vals)
	}
	// No queue, or a queue the store does not know: no variables.
	if vals, _ := newCall(route{kind: store.TargetExtension, target: "1002"}, "1001").Data(); len(vals) != 0 {
		t.Errorf("extension call: %v", vals)
	}
	if vals, _ := newCall(route{kind: store.TargetQueue, target: "9999"}, "1001").Data(); len(vals) != 0 {
		t.Errorf("unknown queue: %v", vals)
	}
	if f := newCall(route{kind: store.TargetQueue, target: "8000"}, "1").DataFlow(); f != "8000" {
		t.Errorf("DataFlow %q", f)
	}
}

func TestCarryOver(t *testing.T) {
	from := []store.Variable{
		{Name: "customer_id", Type: store.VarInteger},
		{Name: "var1", Type: store.VarInteger},
		{Name: "only_old", Type: store.VarString},
		{Name: "balance", Type: store.VarInteger},
	}
	values := map[string]string{"customer_id": "42", "var1": "7", "only_old": "x", "balance": "100"}
	to := []store.Variable{
		{Name: "customer_id", Type: store.VarInteger}, // same name and type: carried
		{Name: "var1", Type: store.VarString},         // other type: not carried
		{Name: "balance", Type: store.VarInteger},     // carried
		{Name: "only_new", Type: store.VarBoolean},    // new: empty
	}
	got := CarryOver(from, values, to)
	want := map[string]string{"customer_id": "42", "var1": "", "balance": "100", "only_new": ""}
	if !maps.Equal(got, want) {
		t.Errorf("CarryOver = %v, want %v", got, want)
	}
	if got := CarryOver(nil, nil, nil); len(got) != 0 {
		t.Errorf("nothing to carry: %v", got)
	}
}
