package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/presence"
	"github.com/switchboard/switchboard/internal/registrar"
)

// visible reports whether p may see event e: everything with
// events.view_all, otherwise the events of its own calls and devices,
// its own agent state and memberships, and the statistics of its queues.
// An operator with a follow list sees, beyond those, the events of the
// calls, extensions, agents and queues followed.
func (s *Server) visible(p auth.Principal, e events.Event) bool {
	all := p.Can(auth.EventsViewAll)
	if all && p.Follows == nil {
		return true
	}
	onCall := func(c call.Info) bool { return seesCall(p, auth.EventsViewAll, c) }
	onCallID := func(id string) bool {
		c, err := s.calls.Get(id)
		return err == nil && onCall(c.Info())
	}
	// followed: an extension or queue on the operator's follow list.
	followedExt := func(n string) bool { return all && p.FollowsExtension(n) }
	followedQueue := func(n string) bool { return all && p.FollowsQueue(n) }
	switch d := e.Data.(type) {
	case call.Info:
		return onCall(d)
	case call.OfferInfo:
		// The agent being offered the call sees it ringing for them.
		return onCall(d.Call) || p.HasExtension(d.Agent) || followedExt(d.Agent)
	case call.OriginateFailure:
		return onCallID(d.CallID)
	case call.DTMF:
		return onCallID(d.CallID)
	case call.DataChanged:
		return onCallID(d.CallID)
	case registrar.DeviceState:
		return p.HasExtension(d.Extension) || followedExt(d.Extension)
	case acd.AgentView:
		return d.ID == p.User.ID || slices.ContainsFunc(d.Extensions, followedExt) ||
			slices.ContainsFunc(d.Queues, func(m acd.MembershipView) bool { return followedQueue(m.Queue) })
	case acd.MembershipView:
		return p.HasExtension(d.Extension) || followedExt(d.Extension) || followedQueue(d.Queue)
	case presence.View:
		// Presence is the directory's, which every user may read.
		return true
	case acd.QueueStats:
		if followedQueue(d.Queue) {
			return true
		}
		e := s.adm.opts.ACD
		if e == nil {
			e, _ = s.supervision.(*acd.Engine)
		}
		return e != nil && seesQueue(p, e, d.Queue)
	}
	return false
}

// streamEvents is a Server-Sent Events stream; a client resumes with
// Last-Event-ID (or ?since=) and is told to take a snapshot when the
// history no longer reaches back that far. A client that cannot keep up is
// cut off by the bus rather than allowed to grow memory.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	since := uint64(0)
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("since")
	}
	if v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_since", "since must be a sequence number")
			return
		}
		since = n
	}
	sub, err := s.bus.Subscribe(since, 1024)
	if errors.Is(err, events.ErrTooOld) {
		writeError(w, http.StatusGone, "resume_too_old", "events since that sequence are gone; fetch a snapshot and subscribe without since")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	defer sub.Close()
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	enc := json.NewEncoder(w)
	for {
		select {
		case e := <-sub.C():
			if !s.visible(p, e) {
				continue
			}
			if _, err := w.Write([]byte("id: " + strconv.FormatUint(e.Seq, 10) + "\nevent: " + string(e.Type) + "\ndata: ")); err != nil {
				return
			}
			if err := enc.Encode(e); err != nil { // Encode ends with '\n'
				return
			}
			if _, err := w.Write([]byte("\n")); err != nil {
				return
			}
		case <-keepalive.C:
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil {
				return
			}
		case <-sub.Done():
			return
		case <-r.Context().Done():
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}
