package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// This file holds what the configuration handlers (admin_*.go) share: the
// options and store methods they need, the admin-only guard, body decoding
// that names the offending field, and the mapping of store errors to codes.

// Options are the server settings the configuration API writes with.
type Options struct {
	// Realm is the SIP digest realm (config sip.realm): an extension's
	// stored HA1 secrets are computed with it, so it must be the realm the
	// registrar challenges with.
	Realm string
	// CountryCode normalises DIDs given as national numbers to E.164
	// (config numbers.country_code), as routing does for inbound calls.
	CountryCode string
	// ACD is the queue engine behind the agent and queue routes
	// (acd_*.go); nil answers them 503 acd_unavailable.
	ACD *acd.Engine
	// ICEServers are the STUN/TURN servers (config webrtc.ice_servers)
	// the console's browser phone uses too: GET /api/me hands them to
	// users with an extension, credentials included, as a browser needs.
	ICEServers []ICEServer
}

// ICEServer is one STUN or TURN server for browsers.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// AdminStore is what the configuration handlers read and write.
type AdminStore interface {
	Users(ctx context.Context) ([]store.User, error)
	UserByID(ctx context.Context, id int64) (store.User, error)
	CreateUser(ctx context.Context, u store.User) (store.User, error)
	UpdateUser(ctx context.Context, id int64, fn func(*store.User) error) (store.User, error)
	DeleteUser(ctx context.Context, id int64) error

	Extensions(ctx context.Context) ([]store.Extension, error)
	ExtensionByNumber(ctx context.Context, number string) (store.Extension, error)
	CreateExtension(ctx context.Context, e store.Extension) (store.Extension, error)
	UpdateExtension(ctx context.Context, number string, fn func(*store.Extension) error) (store.Extension, error)
	DeleteExtension(ctx context.Context, number string) error

	Trunks(ctx context.Context) ([]store.Trunk, error)
	TrunkByID(ctx context.Context, id int64) (store.Trunk, error)
	CreateTrunk(ctx context.Context, t store.Trunk) (store.Trunk, error)
	UpdateTrunk(ctx context.Context, id int64, fn func(*store.Trunk) error) (store.Trunk, error)
	DeleteTrunk(ctx context.Context, id int64) error

	DIDs(ctx context.Context) ([]store.DID, error)
	DIDByNumber(ctx context.Context, number string) (store.DID, error)
	CreateDID(ctx context.Context, d store.DID) (store.DID, error)
	DeleteDID(ctx context.Context, number string) error

	Queues(ctx context.Context) ([]store.Queue, error)
	QueueByNumber(ctx context.Context, number string) (store.Queue, error)
	CreateQueue(ctx context.Context, q store.Queue) (store.Queue, error)
	UpdateQueue(ctx context.Context, number string, fn func(*store.Queue) error) (store.Queue, error)
	DeleteQueue(ctx context.Context, number string) error

	UserFollows(ctx context.Context, id int64) (store.Follows, error)
	SetUserFollows(ctx context.Context, id int64, f store.Follows) error
}

var _ AdminStore = (*store.Store)(nil)

// adminState is the configuration API's share of the Server.
type adminState struct {
	opts Options
	// routingMu orders each trunk or DID change with the routing reload
	// that follows it: two changes racing could otherwise have the
	// reload that read the older state install it last.
	routingMu sync.Mutex
}

func newAdminState(opts Options) *adminState {
	return &adminState{opts: opts}
}

// realm returns the SIP realm to compute HA1 secrets with, or answers 500
// when the server was built without one (a secret for the wrong realm
// would make the phone fail authentication with no hint why).
func (s *Server) realm(w http.ResponseWriter) (string, bool) {
	if s.adm.opts.Realm == "" {
		s.log.Error("configuration API has no SIP realm: api.Options.Realm is empty")
		writeError(w, http.StatusInternalServerError, "internal", "the server has no SIP realm configured")
		return "", false
	}
	return s.adm.opts.Realm, true
}

// adminOnly authenticates the caller and requires config.manage before h
// runs, so a refused request is answered before its body is even read.
func (s *Server) adminOnly(h handlerWithPrincipal) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		if !p.Can(auth.ConfigManage) {
			forbidden(w, auth.ConfigManage)
			return
		}
		h(w, r, p)
	})
}

// changeRouting runs change (a trunk or DID write) and then reloads the
// call manager's routing table, both under routingMu, and reports whether
// both succeeded. Otherwise it has answered: a failed change as storeError
// does for resource, a failed reload as 500 routing_reload_failed (the
// change is saved; the next successful reload or a restart picks it up).
func (s *Server) changeRouting(w http.ResponseWriter, r *http.Request, resource, op string, change func() error) bool {
	s.adm.routingMu.Lock()
	defer s.adm.routingMu.Unlock()
	if err := change(); err != nil {
		s.storeError(w, resource, op, err)
		return false
	}
	// A client hanging up must not leave routing behind the database.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := s.calls.Load(ctx); err != nil {
		s.log.Error("reload routing after a configuration change", "op", op, "error", err)
		writeError(w, http.StatusInternalServerError, "routing_reload_failed",
			"the change is saved but routing has not picked it up yet; it will at the next change or restart")
		return false
	}
	return true
}

// fieldError is bad input in one field of a request body; it is answered
// as 400 invalid_<field>.
type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func invalidField(field, msg string) *fieldError { return &fieldError{field: field, msg: msg} }

func writeFieldError(w http.ResponseWriter, e *fieldError) {
	writeError(w, http.StatusBadRequest, "invalid_"+e.field, e.field+" "+e.msg)
}

// decodeBody reads a JSON object of at most 64 KiB into v like decode, and
// names the field when a value has the wrong type (400 invalid_<field>).
// Unknown fields, malformed JSON and trailing data are 400 invalid_json; a
// body over the limit is 413 body_too_large.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.Join(errors.New("unexpected data after the JSON object"), terr)
		}
	}
	if err == nil {
		return true
	}
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds 64 KiB")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		field, _, _ := strings.Cut(typeErr.Field, ".")
		writeFieldError(w, invalidField(field, "must be a JSON "+jsonKind(typeErr.Type.Kind().String())+", not "+typeErr.Value))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid_json", "the request body must be a JSON object")
	default:
		writeError(w, http.StatusBadRequest, "invalid_json", err.Error())
	}
	return false
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "bool":
		return "boolean"
	case k == "slice", k == "array":
		return "array"
	case k == "struct", k == "map":
		return "object"
	}
	return k
}

// storeError answers an error from the store about resource ("user",
// "extension", …): a *fieldError as 400 invalid_<field>, then
// 404 <resource>_not_found, 409 <resource>_exists, 409 <resource>_in_use,
// 400 invalid_request; anything else is 500 (logged with op, never shown).
func (s *Server) storeError(w http.ResponseWriter, resource, op string, err error) {
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		writeFieldError(w, fe)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, resource+"_not_found", "no such "+resource)
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, resource+"_exists", err.Error())
	case errors.Is(err, store.ErrInUse):
		writeError(w, http.StatusConflict, resource+"_in_use", err.Error()+": delete or move those first")
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		s.log.Error(op, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not "+op)
	}
}

// pathID parses the {id} path segment; a non-number is 400 invalid_id.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_id", "the id in the path must be a positive number")
		return 0, false
	}
	return id, true
}

// shortNumber matches extension and queue numbers: they share one dial
// space of 3 to 6 digits.
var shortNumber = regexp.MustCompile(`^[0-9]{3,6}$`)

// checkText accepts min to max characters of valid UTF-8 without control
// characters (a newline in a name ends up in logs, headers and CSV).
func checkText(field, v string, min, max int) *fieldError {
	if n := utf8.RuneCountInString(v); !utf8.ValidString(v) || n < min || n > max {
		if min > 0 {
			return invalidField(field, "must be "+strconv.Itoa(min)+" to "+strconv.Itoa(max)+" characters")
		}
		return invalidField(field, "must be at most "+strconv.Itoa(max)+" characters")
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return invalidField(field, "must not contain control characters")
	}
	return nil
}

// checkSecret accepts a password of min to max characters of valid UTF-8.
func checkSecret(field, v string, min, max int) *fieldError {
	if n := utf8.RuneCountInString(v); !utf8.ValidString(v) || n < min || n > max {
		return invalidField(field, "must be "+strconv.Itoa(min)+" to "+strconv.Itoa(max)+" characters")
	}
	return nil
}
