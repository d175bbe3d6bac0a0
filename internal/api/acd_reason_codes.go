package api

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// Reason codes (SPEC A2): GET /api/reason-codes for everyone (an agent
// picks one when taking a break), POST and DELETE /api/reason-codes/{id}
// for admins.

func (s *Server) listReasonCodes(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	codes := e.ReasonCodes()
	out := make([]reasonCodeView, len(codes))
	for i, c := range codes {
		out[i] = reasonCodeView{ID: c.ID, Code: c.Code, Label: c.Label, Kind: c.Kind}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reason_codes": out})
}

func (s *Server) createReasonCode(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	var body reasonCodeView
	if !decodeBody(w, r, &body) {
		return
	}
	if body.ID != 0 {
		writeFieldError(w, invalidField("id", "is given by the server"))
		return
	}
	if fe := checkCode("code", body.Code); fe != nil {
		writeFieldError(w, fe)
		return
	}
	if fe := checkText("label", body.Label, 0, 64); fe != nil {
		writeFieldError(w, fe)
		return
	}
	if body.Kind != store.ReasonBreak && body.Kind != store.ReasonOffline {
		writeFieldError(w, invalidField("kind", "must be break or offline"))
		return
	}
	c, err := e.CreateReasonCode(r.Context(), store.ReasonCode{Code: body.Code, Label: body.Label, Kind: body.Kind})
	if err != nil {
		s.storeError(w, "reason_code", "create the reason code", err)
		return
	}
	s.log.Info("reason code created", "code", c.Code, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, reasonCodeView{ID: c.ID, Code: c.Code, Label: c.Label, Kind: c.Kind})
}

func (s *Server) deleteReasonCode(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	e, ok := s.engine(w)
	if !ok {
		return
	}
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := e.DeleteReasonCode(r.Context(), id); err != nil {
		s.storeError(w, "reason_code", "delete the reason code", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
