package api

import (
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/store"
)

// QueueSupervision tells whether a user supervises a queue (the ACD owns
// it); monitoring rights of supervisors are per queue.
type QueueSupervision interface {
	Supervises(userID int64, queue string) bool
}

// SetQueueSupervision installs who supervises which queue; without it a
// supervisor may monitor no call (an admin may monitor any).
func (s *Server) SetQueueSupervision(q QueueSupervision) { s.supervision = q }

// registerCallControl installs the call-control routes (SPEC T3–T9, D4,
// D5, S1). Every action names the call it applies to; the acting user is
// the party on the call whose extension they own.
func (s *Server) registerCallControl() {
	s.mux.HandleFunc("POST /api/calls", s.authed(s.originate))
	s.mux.HandleFunc("POST /api/calls/{id}/transfer", s.authed(s.targetOp("transfer", func(c *call.Call, r *http.Request, ex []string, to string) error {
		return c.BlindTransfer(r.Context(), ex, to)
	})))
	s.mux.HandleFunc("POST /api/calls/{id}/consult", s.authed(s.targetOp("consult", func(c *call.Call, r *http.Request, ex []string, to string) error {
		return c.Consult(r.Context(), ex, to)
	})))
	s.mux.HandleFunc("POST /api/calls/{id}/consult/swap", s.authed(s.consultOp(func(c *call.Call, ex []string) error { return c.SwapConsult(ex) })))
	s.mux.HandleFunc("POST /api/calls/{id}/consult/cancel", s.authed(s.consultOp(func(c *call.Call, ex []string) error { return c.CancelConsult(ex) })))
	s.mux.HandleFunc("POST /api/calls/{id}/consult/transfer", s.authed(s.consultOp(func(c *call.Call, ex []string) error { return c.CompleteTransfer(ex) })))
	s.mux.HandleFunc("POST /api/calls/{id}/consult/conference", s.authed(s.consultOp(func(c *call.Call, ex []string) error { return c.ConferenceConsult(ex) })))
	s.mux.HandleFunc("POST /api/calls/{id}/leave", s.authed(s.consultOp(func(c *call.Call, ex []string) error { return c.Leave(ex) })))
	s.mux.HandleFunc("POST /api/calls/{id}/join", s.authed(s.joinCalls))
	s.mux.HandleFunc("POST /api/calls/{id}/pickup", s.authed(s.pickupCall))
	s.mux.HandleFunc("POST /api/calls/{id}/answer", s.authed(s.consultOp(func(c *call.Call, ex []string) error { return c.AnswerAt(ex) })))
	s.mux.HandleFunc("POST /api/calls/{id}/monitor", s.authed(s.startMonitor))
	s.mux.HandleFunc("PUT /api/calls/{id}/monitor", s.authed(s.changeMonitor))
	s.mux.HandleFunc("DELETE /api/calls/{id}/monitor", s.authed(s.stopMonitor))
	s.mux.HandleFunc("POST /api/calls/{id}/recording/{action}", s.authed(s.recordingOp))
	s.mux.HandleFunc("GET /api/recordings", s.authed(s.listRecordings))
	s.mux.HandleFunc("GET /api/recordings/{id}", s.authed(s.getRecording))
	s.mux.HandleFunc("GET /api/recordings/{id}/audio", s.authed(s.recordingAudio))
}

// callControlError answers a refused call-control action with a stable code.
func callControlError(w http.ResponseWriter, err error) {
	if code, reason, warning, ok := call.Refusal(err); ok {
		msg := reason
		if warning != "" {
			msg = warning
		}
		switch code {
		case http.StatusForbidden:
			writeError(w, http.StatusForbidden, "target_not_permitted", msg)
		case http.StatusNotFound:
			writeError(w, http.StatusNotFound, "unknown_target", err.Error())
		case 484:
			writeError(w, http.StatusBadRequest, "invalid_target", err.Error())
		default:
			writeError(w, http.StatusServiceUnavailable, "no_route", err.Error())
		}
		return
	}
	for _, m := range []struct {
		err    error
		status int
		code   string
	}{
		{call.ErrNoSuchCall, http.StatusNotFound, "call_not_found"},
		{call.ErrNotOnCall, http.StatusForbidden, "not_on_call"},
		{call.ErrNotInitiator, http.StatusForbidden, "not_initiator"},
		{call.ErrNotAnswered, http.StatusConflict, "call_not_answered"},
		{call.ErrNotRinging, http.StatusConflict, "call_not_ringing"},
		{call.ErrHeld, http.StatusConflict, "call_held"},
		{call.ErrInConference, http.StatusConflict, "in_conference"},
		{call.ErrConsultActive, http.StatusConflict, "consult_in_progress"},
		{call.ErrNoConsult, http.StatusConflict, "no_consult"},
		{call.ErrBusyOperation, http.StatusConflict, "operation_in_progress"},
		{call.ErrCallEnded, http.StatusConflict, "call_ended"},
		{call.ErrAlreadyOnCall, http.StatusConflict, "already_on_call"},
		{call.ErrRecording, http.StatusConflict, "already_recording"},
		{call.ErrNotRecording, http.StatusConflict, "not_recording"},
		{call.ErrRecordingOff, http.StatusConflict, "recording_not_configured"},
		{call.ErrAgentUnavailable, http.StatusConflict, "agent_unavailable"},
		{call.ErrTooManyCalls, http.StatusServiceUnavailable, "too_many_calls"},
		{call.ErrBadParty, http.StatusBadRequest, "invalid_party"},
		{call.ErrBadMode, http.StatusBadRequest, "invalid_mode"},
	} {
		if errors.Is(err, m.err) {
			writeError(w, m.status, m.code, err.Error())
			return
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
}

// needExtension refuses principals without a device: call control acts
// through the user's own extension.
func needExtension(w http.ResponseWriter, p auth.Principal) bool {
	if len(p.Extensions) == 0 {
		writeError(w, http.StatusConflict, "no_extension", "you have no extension to act from")
		return false
	}
	return true
}

func (s *Server) pathCall(w http.ResponseWriter, r *http.Request) (*call.Call, bool) {
	c, err := s.calls.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "call_not_found", "no call with that id")
		return nil, false
	}
	return c, true
}

type targetBody struct {
	Target string `json:"target"`
	ANI    string `json:"ani,omitempty"`
}

func decodeTarget(w http.ResponseWriter, r *http.Request) (targetBody, bool) {
	var b targetBody
	if !decode(w, r, &b) {
		return b, false
	}
	if b.Target == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "target is required")
		return b, false
	}
	return b, true
}

// originate is click-to-call (SPEC T9): the user's own device rings
// first, then the target.
func (s *Server) originate(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !needExtension(w, p) {
		return
	}
	b, ok := decodeTarget(w, r)
	if !ok {
		return
	}
	if !p.User.Profile.CanKeypadDial {
		writeError(w, http.StatusForbidden, "keypad_dial_not_permitted", "your profile does not allow dialling from the console")
		return
	}
	if b.ANI != "" && !slices.Contains(p.User.Profile.AllowedANIs, b.ANI) {
		writeError(w, http.StatusForbidden, "ani_not_permitted", "that caller ID is not among the numbers you may present")
		return
	}
	c, err := s.calls.Originate(r.Context(), p.Extensions[0], b.Target, b.ANI)
	if err != nil {
		callControlError(w, err)
		return
	}
	s.recordRecent(r.Context(), p, "call", b.Target)
	writeJSON(w, http.StatusCreated, c.Info())
}

// targetOp runs an action of the acting party that dials a target
// (blind transfer, consult); it answers 202: the target is ringing. The
// target becomes one of the user's recents (action).
func (s *Server) targetOp(action string, op func(c *call.Call, r *http.Request, exts []string, target string) error) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		c, ok := s.pathCall(w, r)
		if !ok || !needExtension(w, p) {
			return
		}
		b, ok := decodeTarget(w, r)
		if !ok {
			return
		}
		if err := op(c, r, p.Extensions, b.Target); err != nil {
			callControlError(w, err)
			return
		}
		s.recordRecent(r.Context(), p, action, b.Target)
		writeJSON(w, http.StatusAccepted, c.Info())
	}
}

// consultOp runs an action of the acting party on the call in the path.
func (s *Server) consultOp(op func(*call.Call, []string) error) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		c, ok := s.pathCall(w, r)
		if !ok || !needExtension(w, p) {
			return
		}
		if err := op(c, p.Extensions); err != nil {
			callControlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, c.Info())
	}
}

func (s *Server) joinCalls(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c, ok := s.pathCall(w, r)
	if !ok || !needExtension(w, p) {
		return
	}
	var body struct {
		Calls []string `json:"calls"`
	}
	if !decode(w, r, &body) {
		return
	}
	if len(body.Calls) == 0 || len(body.Calls) > 8 {
		writeError(w, http.StatusBadRequest, "invalid_request", "calls must list 1 to 8 call ids to join")
		return
	}
	others := make([]*call.Call, 0, len(body.Calls))
	for _, id := range body.Calls {
		o, err := s.calls.Get(id)
		if err != nil {
			writeError(w, http.StatusNotFound, "call_not_found", "no call with id "+id)
			return
		}
		others = append(others, o)
	}
	if err := c.Join(p.Extensions, others); err != nil {
		callControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Info())
}

// pickupCall takes a call ringing at another extension to the user's own
// device (SPEC T5).
func (s *Server) pickupCall(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c, ok := s.pathCall(w, r)
	if !ok || !needExtension(w, p) {
		return
	}
	if p.Follows != nil && !mayOnCall(p, auth.CallsControlAny, c.Info()) {
		// An operator with a follow list takes only the calls followed.
		forbiddenOnCall(w, p, auth.CallsControlAny)
		return
	}
	if err := c.PickupTo(p.Extensions[0]); err != nil {
		callControlError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, c.Info())
}

// mayMonitor: admins any call; supervisors the calls of queues they
// supervise; nobody else.
func (s *Server) mayMonitor(p auth.Principal, c *call.Call) bool {
	if !p.Can(auth.CallsMonitor) {
		return false
	}
	if p.User.Role == store.RoleAdmin {
		return true
	}
	q := c.Queue()
	return q != "" && s.supervision != nil && s.supervision.Supervises(p.User.ID, q)
}

type monitorBody struct {
	Mode call.MonitorMode `json:"mode"`
}

// monitorRequest checks the right to monitor the call in the path and
// reads the mode; ok is false when the response was written.
func (s *Server) monitorRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) (c *call.Call, mode call.MonitorMode, ok bool) {
	if c, ok = s.pathCall(w, r); !ok {
		return nil, "", false
	}
	if !s.mayMonitor(p, c) {
		writeError(w, http.StatusForbidden, "forbidden", "monitoring (listen, whisper, barge) needs supervisor rights on the call's queue")
		return nil, "", false
	}
	if !needExtension(w, p) {
		return nil, "", false
	}
	var b monitorBody
	if !decode(w, r, &b) {
		return nil, "", false
	}
	if b.Mode == "" {
		b.Mode = call.MonitorListen
	}
	return c, b.Mode, true
}

func (s *Server) startMonitor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c, mode, ok := s.monitorRequest(w, r, p)
	if !ok {
		return
	}
	if err := c.Monitor(r.Context(), p.Extensions[0], mode); err != nil {
		callControlError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, c.Info())
}

func (s *Server) changeMonitor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c, mode, ok := s.monitorRequest(w, r, p)
	if !ok {
		return
	}
	if err := c.SetMonitorMode(p.Extensions, mode); err != nil {
		callControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Info())
}

func (s *Server) stopMonitor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c, ok := s.pathCall(w, r)
	if !ok {
		return
	}
	if err := c.StopMonitor(p.Extensions); err != nil {
		callControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Info())
}

// mayControlRecording: admins on any call; others on calls they are on,
// when their profile allows recording control.
func mayControlRecording(p auth.Principal, c call.Info) bool {
	if p.User.Role == store.RoleAdmin {
		return true
	}
	return p.User.Profile.CanControlRecording && ownsCall(p, c)
}

func (s *Server) recordingOp(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c, ok := s.pathCall(w, r)
	if !ok {
		return
	}
	if !mayControlRecording(p, c.Info()) {
		writeError(w, http.StatusForbidden, "recording_control_not_permitted", "controlling recordings needs the recording permission of your profile, on a call you are on")
		return
	}
	var err error
	switch r.PathValue("action") {
	case "start":
		_, err = c.StartRecording(p.User.Username)
	case "stop":
		err = c.StopRecording()
	case "pause":
		var b struct {
			AutoResumeSeconds int `json:"auto_resume_s"`
		}
		if r.ContentLength != 0 && !decode(w, r, &b) {
			return
		}
		err = c.PauseRecording(time.Duration(b.AutoResumeSeconds) * time.Second)
	case "resume":
		err = c.ResumeRecording()
	default:
		writeError(w, http.StatusNotFound, "not_found", "recording actions are start, stop, pause and resume")
		return
	}
	if err != nil {
		callControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Info())
}

// recordingJSON is a recording as the API shows it (never its path).
type recordingJSON struct {
	ID         string    `json:"id"`
	CallID     string    `json:"call_id"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
	DurationMS int64     `json:"duration_ms"`
	Bytes      int64     `json:"bytes"`
	StartedBy  string    `json:"started_by"`
	Parties    []string  `json:"parties"`
	AudioURL   string    `json:"audio_url"`
}

func toRecordingJSON(r store.Recording) recordingJSON {
	return recordingJSON{ID: r.ID, CallID: r.CallID, StartedAt: r.StartedAt, EndedAt: r.EndedAt,
		DurationMS: r.Duration.Milliseconds(), Bytes: r.Bytes, StartedBy: r.StartedBy, Parties: r.Parties,
		AudioURL: "/api/recordings/" + r.ID + "/audio"}
}

// mayHear: who sees all CDRs sees all recordings; others those of calls
// their extensions were on.
func mayHear(p auth.Principal, r store.Recording) bool {
	if p.Can(auth.CDRsViewAll) {
		return true
	}
	for _, e := range r.Parties {
		if p.HasExtension(e) {
			return true
		}
	}
	return false
}

func (s *Server) listRecordings(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	f := store.RecordingFilter{CallID: r.URL.Query().Get("call_id")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid_request", "limit must be 1 to 1000")
			return
		}
		f.Limit = n
	}
	recs, err := s.st.Recordings(r.Context(), f)
	if err != nil {
		s.log.Error("list recordings", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not list recordings")
		return
	}
	out := make([]recordingJSON, 0, len(recs))
	for _, rec := range recs {
		if mayHear(p, rec) {
			out = append(out, toRecordingJSON(rec))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordings": out})
}

func (s *Server) recordingFor(w http.ResponseWriter, r *http.Request, p auth.Principal) (store.Recording, bool) {
	rec, err := s.st.RecordingByID(r.Context(), r.PathValue("id"))
	if err != nil || !mayHear(p, rec) {
		// Not found and not yours look the same: ids are not an oracle.
		writeError(w, http.StatusNotFound, "recording_not_found", "no recording with that id")
		return rec, false
	}
	return rec, true
}

func (s *Server) getRecording(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if rec, ok := s.recordingFor(w, r, p); ok {
		writeJSON(w, http.StatusOK, toRecordingJSON(rec))
	}
}

func (s *Server) recordingAudio(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rec, ok := s.recordingFor(w, r, p)
	if !ok {
		return
	}
	s.serveWAV(w, r, rec.Path, rec.ID+".wav", "recording")
}

// serveWAV sends a stored WAV (recording, voicemail) as a private
// download with range support; a file gone from the data dir is 410
// <what>_file_missing.
func (s *Server) serveWAV(w http.ResponseWriter, r *http.Request, path, name, what string) {
	f, err := os.Open(path)
	if err != nil {
		s.log.Error(what+" file missing", "file", name, "error", err)
		writeError(w, http.StatusGone, what+"_file_missing", "the "+what+"'s file is no longer there")
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "could not read the "+what)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, name, st.ModTime(), f)
}
