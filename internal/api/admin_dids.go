package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/dialplan"
	"github.com/switchboard/switchboard/internal/store"
)

// DIDs: GET/POST /api/dids, GET/DELETE /api/dids/{number}. Admin only.
// Numbers are normalised to E.164 with the server's country code, in the
// body and in the path ("+31 20 123 0001", "020 1230001" and
// "+31201230001" are one DID). Every change reloads routing.

// didView is a DID as the API shows it.
type didView struct {
	ID         int64            `json:"id"`
	Number     string           `json:"number"`
	TrunkID    int64            `json:"trunk_id"`
	TargetKind store.TargetKind `json:"target_kind"`
	Target     string           `json:"target"`
}

func newDIDView(d store.DID) didView {
	return didView{ID: d.ID, Number: d.Number, TrunkID: d.TrunkID, TargetKind: d.TargetKind, Target: d.Target}
}

func (s *Server) listDIDs(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	ds, err := s.st.DIDs(r.Context())
	if err != nil {
		s.storeError(w, "did", "list DIDs", err)
		return
	}
	out := make([]didView, len(ds))
	for i, d := range ds {
		out[i] = newDIDView(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"dids": out})
}

// pathDID normalises the {number} path segment; a number that cannot be
// normalised names no DID (404).
func (s *Server) pathDID(w http.ResponseWriter, r *http.Request) (string, bool) {
	n, err := dialplan.E164(r.PathValue("number"), s.adm.opts.CountryCode)
	if err != nil {
		writeError(w, http.StatusNotFound, "did_not_found", "no DID with that number: "+err.Error())
		return "", false
	}
	return n, true
}

func (s *Server) getDID(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	number, ok := s.pathDID(w, r)
	if !ok {
		return
	}
	d, err := s.st.DIDByNumber(r.Context(), number)
	if err != nil {
		s.storeError(w, "did", "read the DID", err)
		return
	}
	writeJSON(w, http.StatusOK, newDIDView(d))
}

func (s *Server) createDID(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Number     string           `json:"number"`
		TrunkID    int64            `json:"trunk_id"`
		TargetKind store.TargetKind `json:"target_kind"`
		Target     string           `json:"target"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	number, err := dialplan.E164(body.Number, s.adm.opts.CountryCode)
	if err != nil {
		writeFieldError(w, invalidField("number", "is no phone number: "+err.Error()))
		return
	}
	if err := s.checkDIDRefs(r.Context(), body.TrunkID, body.TargetKind, body.Target); err != nil {
		s.storeError(w, "did", "check the DID's trunk and target", err)
		return
	}
	var d store.DID
	ok := s.changeRouting(w, r, "did", "create the DID", func() error {
		var err error
		d, err = s.st.CreateDID(r.Context(), store.DID{Number: number, TrunkID: body.TrunkID,
			TargetKind: body.TargetKind, Target: body.Target})
		if errors.Is(err, store.ErrNotFound) {
			// The trunk was deleted since checkDIDRefs looked.
			return invalidField("trunk_id", "names no trunk")
		}
		return err
	})
	if !ok {
		return
	}
	s.log.Info("did created", "did", d.Number, "target", string(d.TargetKind)+":"+d.Target, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, newDIDView(d))
}

// checkDIDRefs checks that the trunk and the target exist. Bad input is a
// *fieldError; other errors are the store's.
func (s *Server) checkDIDRefs(ctx context.Context, trunkID int64, kind store.TargetKind, target string) error {
	if trunkID <= 0 {
		return invalidField("trunk_id", "must be a trunk's id")
	}
	if _, err := s.st.TrunkByID(ctx, trunkID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return invalidField("trunk_id", "names no trunk")
		}
		return err
	}
	var err error
	switch kind {
	case store.TargetExtension:
		_, err = s.st.ExtensionByNumber(ctx, target)
	case store.TargetQueue:
		_, err = s.st.QueueByNumber(ctx, target)
	default:
		return invalidField("target_kind", "must be extension or queue")
	}
	if errors.Is(err, store.ErrNotFound) {
		return invalidField("target", "names no "+string(kind))
	}
	return err
}

func (s *Server) deleteDID(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	number, ok := s.pathDID(w, r)
	if !ok {
		return
	}
	ok = s.changeRouting(w, r, "did", "delete the DID", func() error {
		return s.st.DeleteDID(r.Context(), number)
	})
	if !ok {
		return
	}
	s.log.Info("did deleted", "did", number, "by", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}
