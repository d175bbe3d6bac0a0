package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/store"
)

// Call-associated data (CAD, SPEC D2).
//
// Definitions, admin only:
//
//	GET    /api/queues/{number}/variables
//	POST   /api/queues/{number}/variables          {name, type, label?, order?, editable?, secure?}
//	PATCH  /api/queues/{number}/variables/{name}   {label?, type?, order?, editable?, secure?}
//	DELETE /api/queues/{number}/variables/{name}
//
// Values on a live call:
//
//	GET /api/calls/{id}/data   with calls.view_all or on one's own call
//	PUT /api/calls/{id}/data   {version, values:{name:value}}, with calls.control_any or on one's own call
//
// A save names the version it was read at; when another save came first
// it is 409 stale_data with the current data, and nothing changes (the
// first save wins). Values may be sent as JSON strings, numbers, booleans
// or null (= empty). Non-editable variables cannot be changed through the
// API by anyone: the flow sets them.
//
// Secure (PII) values: only the agent handling the call (the extension
// that answered it, or the called extension) and admins read them; to
// everyone else who may see the call — the caller, operators, supervisors
// — a non-empty secure value reads as "••••" with masked: true, and they
// may not change it (403 forbidden): writing a value one cannot read would
// be blind. Events (call_data_changed) go to many watchers and always
// carry secure values masked.

// cadStore is what the CAD handlers need beyond Store; *store.Store has
// it. Kept apart from Store so api.go needs no change.
type cadStore interface {
	QueueVariables(ctx context.Context, queue string) ([]store.Variable, error)
	CreateQueueVariable(ctx context.Context, queue string, v store.Variable) (store.Variable, error)
	UpdateQueueVariable(ctx context.Context, queue, name string, fn func(*store.Variable) error) (store.Variable, error)
	DeleteQueueVariable(ctx context.Context, queue, name string) error
}

var _ cadStore = (*store.Store)(nil)

// Bounds of a definition.
const (
	maxVariableLabel = 64
	maxVariableOrder = 1000
)

// registerCADRoutes adds the CAD routes; api.New calls it.
func (s *Server) registerCADRoutes() {
	s.mux.HandleFunc("GET /api/queues/{number}/variables", s.adminOnly(s.listVariables))
	s.mux.HandleFunc("POST /api/queues/{number}/variables", s.adminOnly(s.createVariable))
	s.mux.HandleFunc("PATCH /api/queues/{number}/variables/{name}", s.adminOnly(s.updateVariable))
	s.mux.HandleFunc("DELETE /api/queues/{number}/variables/{name}", s.adminOnly(s.deleteVariable))
	s.mux.HandleFunc("GET /api/calls/{id}/data", s.authed(s.getCallData))
	s.mux.HandleFunc("PUT /api/calls/{id}/data", s.authed(s.putCallData))
}

// cad returns the store's CAD methods, or answers 500 when the store has
// none (a test double).
func (s *Server) cad(w http.ResponseWriter) (cadStore, bool) {
	cs, ok := s.st.(cadStore)
	if !ok {
		s.log.Error("the API's store has no call-associated data methods")
		writeError(w, http.StatusInternalServerError, "internal", "call-associated data is not available")
		return nil, false
	}
	return cs, true
}

// variableView is a definition as the API shows it.
type variableView struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Type     string `json:"type"`
	Order    int    `json:"order"`
	Editable bool   `json:"editable"`
	Secure   bool   `json:"secure"`
}

func newVariableView(v store.Variable) variableView {
	return variableView{Name: v.Name, Label: labelOf(v), Type: string(v.Type), Order: v.Order, Editable: v.Editable, Secure: v.Secure}
}

func labelOf(v store.Variable) string {
	if v.Label == "" {
		return v.Name
	}
	return v.Label
}

// variableBody is a definition in a request; absent fields are nil.
type variableBody struct {
	Label    *string `json:"label"`
	Type     *string `json:"type"`
	Order    *int    `json:"order"`
	Editable *bool   `json:"editable"`
	Secure   *bool   `json:"secure"`
}

func (b variableBody) check() *fieldError {
	if b.Label != nil {
		if fe := checkText("label", *b.Label, 0, maxVariableLabel); fe != nil {
			return fe
		}
	}
	if b.Type != nil && !store.VarType(*b.Type).Valid() {
		return invalidField("type", "must be string, integer, boolean or datetime")
	}
	if b.Order != nil && (*b.Order < 0 || *b.Order > maxVariableOrder) {
		return invalidField("order", "must be 0 to "+strconv.Itoa(maxVariableOrder))
	}
	return nil
}

func (b variableBody) apply(v *store.Variable) {
	if b.Label != nil {
		v.Label = *b.Label
	}
	if b.Type != nil {
		v.Type = store.VarType(*b.Type)
	}
	if b.Order != nil {
		v.Order = *b.Order
	}
	if b.Editable != nil {
		v.Editable = *b.Editable
	}
	if b.Secure != nil {
		v.Secure = *b.Secure
	}
}

// variableError answers a store error about a definition: a missing
// queue as 404 queue_not_found, too many as 400 too_many_variables, the
// rest as storeError does for "variable".
func (s *Server) variableError(w http.ResponseWriter, r *http.Request, op string, err error) {
	switch {
	case errors.Is(err, store.ErrTooManyVariables):
		writeError(w, http.StatusBadRequest, "too_many_variables",
			"a queue has at most "+strconv.Itoa(store.MaxQueueVariables)+" variables; delete one first")
	case errors.Is(err, store.ErrNotFound):
		// Which one is missing: the queue or the variable?
		if _, qerr := s.st.QueueByNumber(r.Context(), r.PathValue("number")); qerr != nil {
			s.queueError(w, op, qerr)
			return
		}
		s.storeError(w, "variable", op, err)
	default:
		s.storeError(w, "variable", op, err)
	}
}

func (s *Server) listVariables(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, ok := s.cad(w)
	if !ok {
		return
	}
	vs, err := cs.QueueVariables(r.Context(), r.PathValue("number"))
	if err != nil {
		s.variableError(w, r, "list variables", err)
		return
	}
	out := make([]variableView, len(vs))
	for i, v := range vs {
		out[i] = newVariableView(v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"variables": out})
}

func (s *Server) createVariable(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, ok := s.cad(w)
	if !ok {
		return
	}
	var body struct {
		Name     string  `json:"name"`
		Label    *string `json:"label"`
		Type     *string `json:"type"`
		Order    *int    `json:"order"`
		Editable *bool   `json:"editable"`
		Secure   *bool   `json:"secure"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if !store.ValidVariableName(body.Name) {
		writeFieldError(w, invalidField("name", "must be an identifier (letters, digits, _; not starting with a digit) of 1 to "+
			strconv.Itoa(store.MaxVariableName)+" characters"))
		return
	}
	if body.Type == nil {
		writeFieldError(w, invalidField("type", "is required: string, integer, boolean or datetime"))
		return
	}
	b := variableBody{Label: body.Label, Type: body.Type, Order: body.Order, Editable: body.Editable, Secure: body.Secure}
	if fe := b.check(); fe != nil {
		writeFieldError(w, fe)
		return
	}
	v := store.Variable{Name: body.Name}
	b.apply(&v)
	v, err := cs.CreateQueueVariable(r.Context(), r.PathValue("number"), v)
	if err != nil {
		s.variableError(w, r, "create the variable", err)
		return
	}
	s.log.Info("call data variable created", "queue", v.Queue, "variable", v.Name, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, newVariableView(v))
}

func (s *Server) updateVariable(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, ok := s.cad(w)
	if !ok {
		return
	}
	var body variableBody
	if !decodeBody(w, r, &body) {
		return
	}
	if fe := body.check(); fe != nil {
		writeFieldError(w, fe)
		return
	}
	v, err := cs.UpdateQueueVariable(r.Context(), r.PathValue("number"), r.PathValue("name"), func(v *store.Variable) error {
		body.apply(v)
		return nil
	})
	if err != nil {
		s.variableError(w, r, "update the variable", err)
		return
	}
	s.log.Info("call data variable updated", "queue", v.Queue, "variable", v.Name, "by", p.User.Username)
	writeJSON(w, http.StatusOK, newVariableView(v))
}

func (s *Server) deleteVariable(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, ok := s.cad(w)
	if !ok {
		return
	}
	number, name := r.PathValue("number"), r.PathValue("name")
	if err := cs.DeleteQueueVariable(r.Context(), number, name); err != nil {
		s.variableError(w, r, "delete the variable", err)
		return
	}
	s.log.Info("call data variable deleted", "queue", number, "variable", name, "by", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}

// callVariableView is one variable of a call with its value.
type callVariableView struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Type     string `json:"type"`
	Value    string `json:"value"`
	Editable bool   `json:"editable"`
	Secure   bool   `json:"secure"`
	Masked   bool   `json:"masked,omitempty"` // the value shown is call.MaskedValue
}

// callDataView is a call's data as one principal may see it.
type callDataView struct {
	CallID    string             `json:"call_id"`
	Flow      string             `json:"flow,omitempty"` // the queue whose variables these are
	Version   uint64             `json:"version"`
	Variables []callVariableView `json:"variables"`
}

// seesSecure reports whether p may read the secure values of call c:
// admins, and the agent handling it (the extension that answered it or,
// for a direct call, the called extension).
func seesSecure(p auth.Principal, c call.Info) bool {
	if p.User.Role == store.RoleAdmin {
		return true
	}
	if c.AnsweredBy != "" && p.HasExtension(c.AnsweredBy) {
		return true
	}
	if ext, ok := strings.CutPrefix(c.Target, "extension:"); ok && p.HasExtension(ext) {
		return true
	}
	return false
}

func newCallDataView(id, flow string, defs []store.Variable, values map[string]string, version uint64, secure bool) callDataView {
	v := callDataView{CallID: id, Flow: flow, Version: version, Variables: make([]callVariableView, 0, len(defs))}
	for _, d := range defs {
		cv := callVariableView{Name: d.Name, Label: labelOf(d), Type: string(d.Type), Value: values[d.Name], Editable: d.Editable, Secure: d.Secure}
		if d.Secure && !secure && cv.Value != "" {
			cv.Value, cv.Masked = call.MaskedValue, true
		}
		v.Variables = append(v.Variables, cv)
	}
	return v
}

// dataCall finds the call in the path and checks that p may do action on
// it (or owns it; an operator with a follow list: follows it); otherwise
// it has answered 404 or 403.
func (s *Server) dataCall(w http.ResponseWriter, r *http.Request, p auth.Principal, action auth.Action) (*call.Call, call.Info, bool) {
	c, err := s.calls.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "call_not_found", "no call with that id")
		return nil, call.Info{}, false
	}
	info := c.Info()
	// Reading: also the agent the call is being offered to (cad_offer.go).
	if !mayOnCall(p, action, info) && !(action == auth.CallsViewAll && s.offeredTo(p, info)) {
		forbiddenOnCall(w, p, action)
		return nil, call.Info{}, false
	}
	return c, info, true
}

// callVariables reads the definitions of the call's flow: none for a
// call that entered no queue or whose queue was deleted since; at most
// store.MaxQueueVariables.
func (s *Server) callVariables(w http.ResponseWriter, r *http.Request, cs cadStore, flow string) ([]store.Variable, bool) {
	if flow == "" {
		return nil, true
	}
	defs, err := cs.QueueVariables(r.Context(), flow)
	if errors.Is(err, store.ErrNotFound) {
		return nil, true
	}
	if err != nil {
		s.log.Error("read call data variables", "queue", flow, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read the call data variables")
		return nil, false
	}
	if len(defs) > store.MaxQueueVariables {
		defs = defs[:store.MaxQueueVariables]
	}
	return defs, true
}

func (s *Server) getCallData(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, ok := s.cad(w)
	if !ok {
		return
	}
	c, info, ok := s.dataCall(w, r, p, auth.CallsViewAll)
	if !ok {
		return
	}
	flow := c.DataFlow()
	defs, ok := s.callVariables(w, r, cs, flow)
	if !ok {
		return
	}
	values, version := c.Data()
	writeJSON(w, http.StatusOK, newCallDataView(c.ID(), flow, defs, values, version, seesSecure(p, info)))
}

// staleDataBody is the 409 answer to a save on top of an old version.
type staleDataBody struct {
	apiError
	Current callDataView `json:"current"`
}

func (s *Server) putCallData(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, ok := s.cad(w)
	if !ok {
		return
	}
	var body struct {
		Version *uint64                    `json:"version"`
		Values  map[string]json.RawMessage `json:"values"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Version == nil {
		writeFieldError(w, invalidField("version", "is required: the version the values were read at"))
		return
	}
	c, info, ok := s.dataCall(w, r, p, auth.CallsControlAny)
	if !ok {
		return
	}
	flow := c.DataFlow()
	defs, ok := s.callVariables(w, r, cs, flow)
	if !ok {
		return
	}
	changes := make(map[string]string, len(body.Values))
	for name, raw := range body.Values {
		v, ok := jsonScalar(raw)
		if !ok {
			writeError(w, http.StatusBadRequest, call.CodeInvalidValue,
				"variable "+strconv.Quote(name)+": the value must be a string, number, boolean or null")
			return
		}
		changes[name] = v
	}
	secure := seesSecure(p, info)
	if !secure {
		for _, d := range defs {
			if _, ok := changes[d.Name]; ok && d.Secure {
				writeError(w, http.StatusForbidden, "forbidden",
					"variable "+strconv.Quote(d.Name)+" is secure: only the agent handling the call or an admin may change it")
				return
			}
		}
	}
	values, version, err := c.SetData(*body.Version, changes, defs)
	var (
		de    *call.DataError
		stale *call.StaleDataError
	)
	switch {
	case errors.As(err, &de):
		writeError(w, http.StatusBadRequest, de.Code, de.Error())
		return
	case errors.As(err, &stale):
		writeJSON(w, http.StatusConflict, staleDataBody{
			apiError: apiError{Code: "stale_data", Message: "someone saved the call data first (now version " +
				strconv.FormatUint(stale.Version, 10) + "); nothing was changed: review the current values and save again"},
			Current: newCallDataView(c.ID(), flow, defs, stale.Values, stale.Version, secure),
		})
		return
	case err != nil:
		s.log.Error("save call data", "call_id", c.ID(), "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not save the call data")
		return
	}
	writeJSON(w, http.StatusOK, newCallDataView(c.ID(), flow, defs, values, version, secure))
}

// jsonScalar turns a JSON string, number, boolean or null into a value's
// text (null is the empty value); objects and arrays are refused.
func jsonScalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case '{', '[':
		return "", false
	}
	switch string(raw) {
	case "null":
		return "", true
	case "true", "false":
		return string(raw), true
	}
	// A number: its literal text, so large integers keep every digit.
	return string(raw), true
}
