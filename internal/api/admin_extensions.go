package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/store"
)

// Extensions: GET/POST /api/extensions, GET/PATCH/DELETE
// /api/extensions/{number}. Admin only. The SIP password is stored only as
// its digest secrets (HA1) for the server's realm and never returned. The
// registrar and router read an extension on every REGISTER and INVITE, so
// changes apply without a reload (a phone already registered keeps its
// binding until it re-registers).

// SIP passwords are 8 to 128 characters.
const (
	sipPasswordMin = 8
	sipPasswordMax = 128
)

// extensionView is an extension as the API shows it.
type extensionView struct {
	ID          int64  `json:"id"`
	Number      string `json:"number"`
	DisplayName string `json:"display_name"`
	UserID      *int64 `json:"user_id"` // null when no user owns it
}

func newExtensionView(e store.Extension) extensionView {
	v := extensionView{ID: e.ID, Number: e.Number, DisplayName: e.DisplayName}
	if e.UserID != 0 {
		id := e.UserID
		v.UserID = &id
	}
	return v
}

func (s *Server) listExtensions(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	es, err := s.st.Extensions(r.Context())
	if err != nil {
		s.storeError(w, "extension", "list extensions", err)
		return
	}
	out := make([]extensionView, len(es))
	for i, e := range es {
		out[i] = newExtensionView(e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"extensions": out})
}

func (s *Server) getExtension(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, err := s.st.ExtensionByNumber(r.Context(), r.PathValue("number"))
	if err != nil {
		s.storeError(w, "extension", "read the extension", err)
		return
	}
	writeJSON(w, http.StatusOK, newExtensionView(e))
}

func (s *Server) createExtension(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Number      string          `json:"number"`
		DisplayName string          `json:"display_name"`
		UserID      json.RawMessage `json:"user_id"`
		SIPPassword string          `json:"sip_password"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if !shortNumber.MatchString(body.Number) {
		writeFieldError(w, invalidField("number", "must be 3 to 6 digits"))
		return
	}
	if fe := checkSIPName("display_name", body.DisplayName); fe != nil {
		writeFieldError(w, fe)
		return
	}
	_, owner, err := s.userRef(r.Context(), body.UserID)
	if err != nil {
		s.storeError(w, "extension", "check the extension's owner", err)
		return
	}
	if fe := checkSecret("sip_password", body.SIPPassword, sipPasswordMin, sipPasswordMax); fe != nil {
		writeFieldError(w, fe)
		return
	}
	realm, ok := s.realm(w)
	if !ok {
		return
	}
	ha1, ha1SHA256 := registrar.Secrets(body.Number, realm, body.SIPPassword)
	e, err := s.st.CreateExtension(r.Context(), store.Extension{Number: body.Number, UserID: owner,
		DisplayName: body.DisplayName, HA1: ha1, HA1SHA256: ha1SHA256, Realm: realm})
	if errors.Is(err, store.ErrNotFound) {
		// The owner was deleted since userRef looked.
		writeFieldError(w, invalidField("user_id", "names no user"))
		return
	}
	if err != nil {
		s.storeError(w, "extension", "create the extension", err)
		return
	}
	s.log.Info("extension created", "extension", e.Number, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, newExtensionView(e))
}

// updateExtension changes display_name, user_id (null: no owner) and
// sip_password, each when present.
func (s *Server) updateExtension(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	number := r.PathValue("number")
	var body struct {
		DisplayName *string         `json:"display_name"`
		UserID      json.RawMessage `json:"user_id"`
		SIPPassword *string         `json:"sip_password"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.DisplayName != nil {
		if fe := checkSIPName("display_name", *body.DisplayName); fe != nil {
			writeFieldError(w, fe)
			return
		}
	}
	setOwner, owner, err := s.userRef(r.Context(), body.UserID)
	if err != nil {
		s.storeError(w, "extension", "check the extension's owner", err)
		return
	}
	var realm string
	if body.SIPPassword != nil {
		if fe := checkSecret("sip_password", *body.SIPPassword, sipPasswordMin, sipPasswordMax); fe != nil {
			writeFieldError(w, fe)
			return
		}
		var ok bool
		if realm, ok = s.realm(w); !ok {
			return
		}
	}
	e, err := s.st.UpdateExtension(r.Context(), number, func(e *store.Extension) error {
		if body.DisplayName != nil {
			e.DisplayName = *body.DisplayName
		}
		if setOwner {
			e.UserID = owner
		}
		if body.SIPPassword != nil {
			e.HA1, e.HA1SHA256 = registrar.Secrets(e.Number, realm, *body.SIPPassword)
			e.Realm = realm
		}
		return nil
	})
	if err != nil {
		s.storeError(w, "extension", "update the extension", err)
		return
	}
	s.log.Info("extension updated", "extension", e.Number, "sip_password_changed", body.SIPPassword != nil, "by", p.User.Username)
	writeJSON(w, http.StatusOK, newExtensionView(e))
}

// deleteExtension deletes an extension and its queue memberships; 409
// extension_in_use while a DID routes to it.
func (s *Server) deleteExtension(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	number := r.PathValue("number")
	if err := s.st.DeleteExtension(r.Context(), number); err != nil {
		s.storeError(w, "extension", "delete the extension", err)
		return
	}
	s.log.Info("extension deleted", "extension", number, "by", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}

// userRef reads an optional owner from raw JSON: absent (set false), null
// (set, no owner: 0) or the id of an existing user. Bad input is a
// *fieldError; other errors are the store's.
func (s *Server) userRef(ctx context.Context, raw json.RawMessage) (set bool, id int64, err error) {
	if len(raw) == 0 {
		return false, 0, nil
	}
	if string(raw) == "null" {
		return true, 0, nil
	}
	if err := json.Unmarshal(raw, &id); err != nil || id <= 0 {
		return false, 0, invalidField("user_id", "must be a user's id or null")
	}
	if _, err := s.st.UserByID(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, 0, invalidField("user_id", "names no user")
		}
		return false, 0, err
	}
	return true, id, nil
}

// checkSIPName checks a name that goes into SIP headers as a quoted
// display name: text without the quote and backslash that would end or
// escape the quoted string.
func checkSIPName(field, v string) *fieldError {
	if fe := checkText(field, v, 0, 64); fe != nil {
		return fe
	}
	if strings.ContainsAny(v, `"\`) {
		return invalidField(field, `must not contain " or \ (it is sent as a SIP display name)`)
	}
	return nil
}
