package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// Queues: GET/POST /api/queues, GET/PATCH/DELETE /api/queues/{number}.
// Admin only. The ACD reads a queue on every call to it, so changes apply
// to the next call without a reload.

// Bounds of a queue's members.
const (
	maxQueueMembers = 500
	maxPenalty      = 100
)

// strategyRingAll is the only strategy the ACD implements so far.
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
}

func newQueueView(q store.Queue) queueView {
	v := queueView{ID: q.ID, Number: q.Number, Name: q.Name, Strategy: q.Strategy, Members: make([]queueMemberView, len(q.Members))}
	for i, m := range q.Members {
		v.Members[i] = queueMemberView{Extension: m.Extension, Penalty: m.Penalty}
	}
	return v
}

// queueBody is a queue in a request; absent fields are nil. POST requires
// number and name; PATCH changes what is present, members as a whole.
type queueBody struct {
	Name     *string            `json:"name"`
	Strategy *string            `json:"strategy"`
	Members  *[]queueMemberView `json:"members"`
}

// checkQueueBody validates the present fields: a name of 1 to 64
// characters, the ringall strategy ("" means it too), members that are
// existing extensions, each listed once. Bad input is a *fieldError or an
// *unsupportedStrategy; other errors are the store's.
func (s *Server) checkQueueBody(ctx context.Context, b queueBody) error {
	if b.Name != nil {
		if fe := checkText("name", *b.Name, 1, 64); fe != nil {
			return fe
		}
	}
	if b.Strategy != nil && *b.Strategy != "" && *b.Strategy != strategyRingAll {
		return &unsupportedStrategy{*b.Strategy}
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

// unsupportedStrategy is a strategy the ACD does not implement yet; it is
// answered as 400 unsupported_strategy.
type unsupportedStrategy struct{ name string }

func (e *unsupportedStrategy) Error() string {
	return "strategy " + strconv.Quote(e.name) + " is not supported yet; use " + strategyRingAll
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
		Number   string             `json:"number"`
		Name     *string            `json:"name"`
		Strategy *string            `json:"strategy"`
		Members  *[]queueMemberView `json:"members"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if !shortNumber.MatchString(body.Number) {
		writeFieldError(w, invalidField("number", "must be 3 to 6 digits"))
		return
	}
	if body.Name == nil {
		writeFieldError(w, invalidField("name", "is required"))
		return
	}
	if err := s.checkQueueBody(r.Context(), queueBody{Name: body.Name, Strategy: body.Strategy, Members: body.Members}); err != nil {
		s.queueError(w, "check the queue", err)
		return
	}
	q := store.Queue{Number: body.Number, Name: *body.Name, Strategy: strategyRingAll}
	if body.Members != nil {
		q.Members = storeMembers(*body.Members)
	}
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
	s.log.Info("queue created", "queue", q.Number, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, newQueueView(q))
}

// updateQueue changes name, strategy and members (replaced as a whole),
// each when present.
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
		return nil
	})
	if err != nil {
		s.queueError(w, "update the queue", err)
		return
	}
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
	s.log.Info("queue deleted", "queue", number, "by", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}
