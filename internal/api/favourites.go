package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/dialplan"
	"github.com/switchboard/switchboard/internal/store"
)

// Favourites and recents (SPEC C6): GET/PUT /api/me/favourites, the
// user's own ordered list of users (by id), queues (by number) and
// numbers with labels; GET /api/me/recents, the last distinct targets the
// user transferred, consulted or called to through the API, recorded when
// the action succeeded.

func (s *Server) getFavourites(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	fs, err := s.st.Favourites(r.Context(), p.User.ID)
	if err != nil {
		s.storeError(w, "favourite", "read favourites", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"favourites": fs})
}

// putFavourites replaces the list. Targets are checked for form (a user
// id, a queue number, a dialable number); whether they still exist is
// the reader's business: a favourite may outlive what it names.
func (s *Server) putFavourites(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Favourites []store.Favourite `json:"favourites"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if len(body.Favourites) > store.MaxFavourites {
		writeFieldError(w, invalidField("favourites", "must list at most "+strconv.Itoa(store.MaxFavourites)))
		return
	}
	seen := make(map[string]bool, len(body.Favourites))
	for i := range body.Favourites {
		f := &body.Favourites[i]
		at := "favourites[" + strconv.Itoa(i) + "]"
		f.Target, f.Label = strings.TrimSpace(f.Target), strings.TrimSpace(f.Label)
		switch f.Kind {
		case store.FavouriteUser:
			if id, err := strconv.ParseInt(f.Target, 10, 64); err != nil || id <= 0 {
				writeFieldError(w, invalidField("favourites", at+": a user's target is their id"))
				return
			}
		case store.FavouriteQueue:
			if !shortNumber.MatchString(f.Target) {
				writeFieldError(w, invalidField("favourites", at+": a queue's target is its number (3 to 6 digits)"))
				return
			}
		case store.FavouriteNumber:
			n, err := dialplan.Clean(f.Target)
			if err != nil {
				writeFieldError(w, invalidField("favourites", at+": "+err.Error()))
				return
			}
			f.Target = n
		default:
			writeFieldError(w, invalidField("favourites", at+": kind must be user, queue or number"))
			return
		}
		if fe := checkText("favourites", f.Label, 0, 64); fe != nil {
			writeFieldError(w, invalidField("favourites", at+": label must be at most 64 characters"))
			return
		}
		if key := f.Kind + ":" + f.Target; seen[key] {
			writeFieldError(w, invalidField("favourites", at+": "+key+" is listed twice"))
			return
		} else {
			seen[key] = true
		}
	}
	if body.Favourites == nil {
		body.Favourites = []store.Favourite{}
	}
	if err := s.st.SetFavourites(r.Context(), p.User.ID, body.Favourites); err != nil {
		s.storeError(w, "favourite", "save favourites", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"favourites": body.Favourites})
}

func (s *Server) getRecents(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rs, err := s.st.Recents(r.Context(), p.User.ID)
	if err != nil {
		s.storeError(w, "recent", "read recents", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recents": rs})
}

// recordRecent remembers a target the user just transferred, consulted
// or called to (action): a queue by number, an extension with an owner
// as that user, anything else as the number dialled. A failure is only
// logged: the action itself succeeded.
func (s *Server) recordRecent(ctx context.Context, p auth.Principal, action, target string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	rec := store.Recent{Kind: store.FavouriteNumber, Target: target, Action: action}
	if n, err := dialplan.Clean(target); err == nil {
		rec.Target = n
	}
	if shortNumber.MatchString(rec.Target) {
		if e, err := s.st.ExtensionByNumber(ctx, rec.Target); err == nil && e.UserID != 0 {
			rec.Kind, rec.Target = store.FavouriteUser, strconv.FormatInt(e.UserID, 10)
		} else if _, err := s.st.QueueByNumber(ctx, rec.Target); err == nil {
			rec.Kind = store.FavouriteQueue
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("recent target", "error", err)
		}
	}
	if err := s.st.AddRecent(ctx, p.User.ID, rec); err != nil {
		s.log.Warn("record a recent target", "user_id", p.User.ID, "error", err)
	}
}
