package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// Queues: GET/POST /api/queues, GET/PATCH/DELETE /api/queues/{number}.
// Admin only. The ACD rereads its configuration after every change.

// Bounds of a queue's members.
const (
	maxQueueMembers = 500
	maxPenalty      = 100
)

// strategyRingAll is a new queue's strategy when none is given.
const strategyRingAll = "ringall"

// queueMemberView is a queue member in requests and responses.
type queueMemberView struct {
	Extension string `json:"extension"`
	Penalty   int    `json:"penalty"`
}

// queueView is a queue as the API shows it.
type queueView struct {
	ID       int64             `json:"id"`
	Number   string            `json:"number"`
	Name     string            `json:"name"`
	Strategy string            `json:"strategy"`
	Members  []queueMemberView `json:"members"`
	queueSettings
}

// queueSettings are how the ACD serves a queue (store.Queue documents
// each); durations in whole seconds.
type queueSettings struct {
	RingTimeS           int    `json:"ring_time_s"`
	WrapupTimeS         int    `json:"wrapup_time_s"`
	MaxWaiting          int    `json:"max_waiting"` // 0: no limit
	MaxWaitS            int    `json:"max_wait_s"`  // 0: no limit
	OverflowDestination string `json:"overflow_destination"`
	JoinEmpty           bool   `json:"join_empty"`
	ServiceLevelS       int    `json:"service_level_s"`
	// Capacity planning: the percentage of callers to answer within
	// service_level_s, and the highest agent occupancy to plan for (0: no
	// limit).
	ServiceLevelTargetPct int `json:"service_level_target_pct"`
	MaxOccupancyPct       int `json:"max_occupancy_pct"`
	// What a waiting caller hears and may choose (SPEC Q5, O3).
	AnnounceIntervalS int  `json:"announce_interval_s"` // position and wait every so often; 0: never
	AnnouncePosition  bool `json:"announce_position"`
	AnnounceEWT       bool `json:"announce_ewt"`
	OfferVoicemail    bool `json:"offer_voicemail"` // "press 1 to leave a message"
	OfferCallback     bool `json:"offer_callback"`  // "press 2 to be called back"
}

func newQueueView(q store.Queue) queueView {
	v := queueView{ID: q.ID, Number: q.Number, Name: q.Name, Strategy: q.Strategy, Members: make([]queueMemberView, len(q.Members)),
		queueSettings: queueSettings{RingTimeS: int(q.RingTime / time.Second), WrapupTimeS: int(q.WrapupTime / time.Second),
			MaxWaiting: q.MaxWaiting, MaxWaitS: int(q.MaxWait / time.Second), OverflowDestination: q.OverflowDestination,
			JoinEmpty: !q.RefuseWhenEmpty, ServiceLevelS: int(q.ServiceLevel / time.Second),
			ServiceLevelTargetPct: q.ServiceLevelTarget, MaxOccupancyPct: q.MaxOccupancy,
			AnnounceIntervalS: int(max(q.AnnounceInterval, 0) / time.Second), AnnouncePosition: !q.OmitPosition,
			AnnounceEWT: !q.OmitEWT, OfferVoicemail: q.OfferVoicemail, OfferCallback: q.OfferCallback}}
	for i, m := range q.Members {
		v.Members[i] = queueMemberView{Extension: m.Extension, Penalty: m.Penalty}
	}
	return v
}

// queueBody is a queue in a request; absent fields are nil. POST requires
// number and name; PATCH changes what is present, members as a whole.
// (The settings are spelled out rather than an embedded settingsBody:
// a type error would then name the field "settingsBody.ring_time_s".)
type queueBody struct {
	Name                *string            `json:"name"`
	Strategy            *string            `json:"strategy"`
	Members             *[]queueMemberView `json:"members"`
	RingTimeS           *int               `json:"ring_time_s"`
	WrapupTimeS         *int               `json:"wrapup_time_s"`
	MaxWaiting          *int               `json:"max_waiting"`
	MaxWaitS            *int               `json:"max_wait_s"`
	OverflowDestination *string            `json:"overflow_destination"`
	JoinEmpty           *bool              `json:"join_empty"`
	ServiceLevelS       *int               `json:"service_level_s"`
	ServiceLevelTarget  *int               `json:"service_level_target_pct"`
	MaxOccupancy        *int               `json:"max_occupancy_pct"`
	AnnounceIntervalS   *int               `json:"announce_interval_s"`
	AnnouncePosition    *bool              `json:"announce_position"`
	AnnounceEWT         *bool              `json:"announce_ewt"`
	OfferVoicemail      *bool              `json:"offer_voicemail"`
	OfferCallback       *bool              `json:"offer_callback"`
}

func (b queueBody) settings() settingsBody {
	return settingsBody{b.RingTimeS, b.WrapupTimeS, b.MaxWaiting, b.MaxWaitS, b.OverflowDestination, b.JoinEmpty, b.ServiceLevelS,
		b.ServiceLevelTarget, b.MaxOccupancy, b.AnnounceIntervalS, b.AnnouncePosition, b.AnnounceEWT, b.OfferVoicemail, b.OfferCallback}
}

// settingsBody are the queue settings in a request; absent ones are nil.
type settingsBody struct {
	RingTimeS           *int    `json:"ring_time_s"`
	WrapupTimeS         *int    `json:"wrapup_time_s"`
	MaxWaiting          *int    `json:"max_waiting"`
	MaxWaitS            *int    `json:"max_wait_s"`
	OverflowDestination *string `json:"overflow_destination"`
	JoinEmpty           *bool   `json:"join_empty"`
	ServiceLevelS       *int    `json:"service_level_s"`
	ServiceLevelTarget  *int    `json:"service_level_target_pct"`
	MaxOccupancy        *int    `json:"max_occupancy_pct"`
	AnnounceIntervalS   *int    `json:"announce_interval_s"`
	AnnouncePosition    *bool   `json:"announce_position"`
	AnnounceEWT         *bool   `json:"announce_ewt"`
	OfferVoicemail      *bool   `json:"offer_voicemail"`
	OfferCallback       *bool   `json:"offer_callback"`
}

// check validates the present settings.
func (b settingsBody) check() *fieldError {
	ranges := []struct {
		field    string
		v        *int
		min, max int
	}{
		{"ring_time_s", b.RingTimeS, 1, 600},
		{"wrapup_time_s", b.WrapupTimeS, 0, 3600},
		{"max_waiting", b.MaxWaiting, 0, 10000},
		{"max_wait_s", b.MaxWaitS, 0, 86400},
		{"service_level_s", b.ServiceLevelS, 1, 3600},
		{"service_level_target_pct", b.ServiceLevelTarget, 1, 99},
		{"max_occupancy_pct", b.MaxOccupancy, 0, 100},
		{"announce_interval_s", b.AnnounceIntervalS, 0, 3600},
	}
	for _, r := range ranges {
		if r.v != nil && (*r.v < r.min || *r.v > r.max) {
			return invalidField(r.field, "must be "+strconv.Itoa(r.min)+" to "+strconv.Itoa(r.max))
		}
	}
	if b.OverflowDestination != nil {
		return checkText("overflow_destination", *b.OverflowDestination, 0, 64)
	}
	return nil
}

// apply copies the present settings onto q.
func (b settingsBody) apply(q *store.Queue) {
	sec := func(n *int, d *time.Duration) {
		if n != nil {
			*d = time.Duration(*n) * time.Second
		}
	}
	sec(b.RingTimeS, &q.RingTime)
	sec(b.WrapupTimeS, &q.WrapupTime)
	sec(b.MaxWaitS, &q.MaxWait)
	sec(b.ServiceLevelS, &q.ServiceLevel)
	if b.MaxWaiting != nil {
		q.MaxWaiting = *b.MaxWaiting
	}
	if b.ServiceLevelTarget != nil {
		q.ServiceLevelTarget = *b.ServiceLevelTarget
	}
	if b.MaxOccupancy != nil {
		q.MaxOccupancy = *b.MaxOccupancy
	}
	if b.OverflowDestination != nil {
		q.OverflowDestination = *b.OverflowDestination
	}
	if b.JoinEmpty != nil {
		q.RefuseWhenEmpty = !*b.JoinEmpty
	}
	if b.AnnounceIntervalS != nil {
		q.AnnounceInterval = time.Duration(*b.AnnounceIntervalS) * time.Second
		if *b.AnnounceIntervalS == 0 {
			q.AnnounceInterval = store.NoAnnouncements
		}
	}
	flag := func(v *bool, dst *bool, invert bool) {
		if v != nil {
			*dst = *v != invert
		}
	}
	flag(b.AnnouncePosition, &q.OmitPosition, true)
	flag(b.AnnounceEWT, &q.OmitEWT, true)
	flag(b.OfferVoicemail, &q.OfferVoicemail, false)
	flag(b.OfferCallback, &q.OfferCallback, false)
}

// checkQueueBody validates the present fields: a name of 1 to 64
// characters, a strategy the ACD knows ("" means ringall), settings in
// range, members that are existing extensions, each listed once. Bad
// input is a *fieldError or an *unsupportedStrategy; other errors are the
// store's.
func (s *Server) checkQueueBody(ctx context.Context, b queueBody) error {
	if b.Name != nil {
		if fe := checkText("name", *b.Name, 1, 64); fe != nil {
			return fe
		}
	}
	if b.Strategy != nil {
		if _, err := acd.ParseStrategy(*b.Strategy); err != nil {
			return &unsupportedStrategy{*b.Strategy}
		}
	}
	if fe := b.settings().check(); fe != nil {
		return fe
	}
	if b.Members == nil {
		return nil
	}
	if len(*b.Members) > maxQueueMembers {
		return invalidField("members", "must be at most "+strconv.Itoa(maxQueueMembers))
	}
	es, err := s.st.Extensions(ctx)
	if err != nil {
		return err
	}
	exists := make(map[string]bool, len(es))
	for _, e := range es {
		exists[e.Number] = true
	}
	seen := make(map[string]bool, len(*b.Members))
	for _, m := range *b.Members {
		switch {
		case !exists[m.Extension]:
			return invalidField("members", "include "+strconv.Quote(m.Extension)+", which is no extension")
		case seen[m.Extension]:
			return invalidField("members", "list extension "+m.Extension+" twice")
		case m.Penalty < 0 || m.Penalty > maxPenalty:
			return invalidField("members", "give "+m.Extension+" a penalty outside 0 to "+strconv.Itoa(maxPenalty))
		}
		seen[m.Extension] = true
	}
	return nil
}

// unsupportedStrategy is a strategy the ACD does not know; it is
// answered as 400 unsupported_strategy.
type unsupportedStrategy struct{ name string }

func (e *unsupportedStrategy) Error() string {
	return "strategy " + strconv.Quote(e.name) + " is not one of " + strings.Join(acd.Strategies(), ", ")
}

// queueError answers an error about a queue, handling unsupportedStrategy
// before storeError.
func (s *Server) queueError(w http.ResponseWriter, op string, err error) {
	var us *unsupportedStrategy
	if errors.As(err, &us) {
		writeError(w, http.StatusBadRequest, "unsupported_strategy", us.Error())
		return
	}
	s.storeError(w, "queue", op, err)
}

// storeMembers converts request members to the store's.
func storeMembers(ms []queueMemberView) []store.QueueMember {
	out := make([]store.QueueMember, len(ms))
	for i, m := range ms {
		out[i] = store.QueueMember{Extension: m.Extension, Penalty: m.Penalty}
	}
	return out
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	qs, err := s.st.Queues(r.Context())
	if err != nil {
		s.queueError(w, "list queues", err)
		return
	}
	out := make([]queueView, len(qs))
	for i, q := range qs {
		out[i] = newQueueView(q)
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": out})
}

func (s *Server) getQueue(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q, err := s.st.QueueByNumber(r.Context(), r.PathValue("number"))
	if err != nil {
		s.queueError(w, "read the queue", err)
		return
	}
	writeJSON(w, http.StatusOK, newQueueView(q))
}

func (s *Server) createQueue(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	// Not queueBody embedded: a type error would then name the field
	// "queueBody.members" instead of "members".
	var body struct {
		Number              string             `json:"number"`
		Name                *string            `json:"name"`
		Strategy            *string            `json:"strategy"`
		Members             *[]queueMemberView `json:"members"`
		RingTimeS           *int               `json:"ring_time_s"`
		WrapupTimeS         *int               `json:"wrapup_time_s"`
		MaxWaiting          *int               `json:"max_waiting"`
		MaxWaitS            *int               `json:"max_wait_s"`
		OverflowDestination *string            `json:"overflow_destination"`
		JoinEmpty           *bool              `json:"join_empty"`
		ServiceLevelS       *int               `json:"service_level_s"`
		ServiceLevelTarget  *int               `json:"service_level_target_pct"`
		MaxOccupancy        *int               `json:"max_occupancy_pct"`
		AnnounceIntervalS   *int               `json:"announce_interval_s"`
		AnnouncePosition    *bool              `json:"announce_position"`
		AnnounceEWT         *bool              `json:"announce_ewt"`
		OfferVoicemail      *bool              `json:"offer_voicemail"`
		OfferCallback       *bool              `json:"offer_callback"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	qb := queueBody{Name: body.Name, Strategy: body.Strategy, Members: body.Members, RingTimeS: body.RingTimeS,
		WrapupTimeS: body.WrapupTimeS, MaxWaiting: body.MaxWaiting, MaxWaitS: body.MaxWaitS,
		OverflowDestination: body.OverflowDestination, JoinEmpty: body.JoinEmpty, ServiceLevelS: body.ServiceLevelS,
		ServiceLevelTarget: body.ServiceLevelTarget, MaxOccupancy: body.MaxOccupancy,
		AnnounceIntervalS: body.AnnounceIntervalS, AnnouncePosition: body.AnnouncePosition, AnnounceEWT: body.AnnounceEWT,
		OfferVoicemail: body.OfferVoicemail, OfferCallback: body.OfferCallback}
	if !shortNumber.MatchString(body.Number) {
		writeFieldError(w, invalidField("number", "must be 3 to 6 digits"))
		return
	}
	if body.Name == nil {
		writeFieldError(w, invalidField("name", "is required"))
		return
	}
	if err := s.checkQueueBody(r.Context(), qb); err != nil {
		s.queueError(w, "check the queue", err)
		return
	}
	q := store.Queue{Number: body.Number, Name: *body.Name, Strategy: strategyRingAll}
	if body.Strategy != nil && *body.Strategy != "" {
		q.Strategy = *body.Strategy
	}
	if body.Members != nil {
		q.Members = storeMembers(*body.Members)
	}
	qb.settings().apply(&q)
	q, err := s.st.CreateQueue(r.Context(), q)
	if errors.Is(err, store.ErrNotFound) {
		// A member was deleted since checkQueueBody looked.
		writeFieldError(w, invalidField("members", "include an extension that was just deleted"))
		return
	}
	if err != nil {
		s.queueError(w, "create the queue", err)
		return
	}
	s.acdReload(r.Context())
	s.log.Info("queue created", "queue", q.Number, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, newQueueView(q))
}

// updateQueue changes name, strategy, settings and members (replaced as
// a whole; members who stay keep their logged-in/paused state), each when
// present.
func (s *Server) updateQueue(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body queueBody
	if !decodeBody(w, r, &body) {
		return
	}
	if err := s.checkQueueBody(r.Context(), body); err != nil {
		s.queueError(w, "check the queue", err)
		return
	}
	q, err := s.st.UpdateQueue(r.Context(), r.PathValue("number"), func(q *store.Queue) error {
		if body.Name != nil {
			q.Name = *body.Name
		}
		if body.Strategy != nil {
			q.Strategy = *body.Strategy
		}
		if body.Members != nil {
			q.Members = storeMembers(*body.Members)
		}
		body.settings().apply(q)
		return nil
	})
	if err != nil {
		s.queueError(w, "update the queue", err)
		return
	}
	s.acdReload(r.Context())
	s.log.Info("queue updated", "queue", q.Number, "by", p.User.Username)
	writeJSON(w, http.StatusOK, newQueueView(q))
}

// deleteQueue deletes a queue; 409 queue_in_use while a DID routes to it.
func (s *Server) deleteQueue(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	number := r.PathValue("number")
	if err := s.st.DeleteQueue(r.Context(), number); err != nil {
		s.queueError(w, "delete the queue", err)
		return
	}
	s.acdReload(r.Context())
	s.log.Info("queue deleted", "queue", number, "by", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}
