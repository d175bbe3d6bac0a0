package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// The user's operator consoles (SPEC C1): GET/POST /api/me/consoles,
// GET/PUT/DELETE /api/me/consoles/{id}. Each is a name and a grid of
// widgets. Only one's own consoles exist for a user (someone else's is
// 404), and only with the profile's console permission (can_use_console,
// "console" in GET /api/me): an admin switches the operator console off
// per user, who keeps the agent desktop.
//
// Saving is optimistic: PUT names the version it edited and is refused
// with 409 conflict (and the stored console) when another tab saved first.

// ConsoleStore is what the console handlers read and write.
type ConsoleStore interface {
	Consoles(ctx context.Context, userID int64) ([]store.Console, error)
	Console(ctx context.Context, userID, id int64) (store.Console, error)
	CreateConsole(ctx context.Context, c store.Console) (store.Console, error)
	UpdateConsole(ctx context.Context, c store.Console, version int64) (store.Console, error)
	DeleteConsole(ctx context.Context, userID, id int64) error
	Favourites(ctx context.Context, userID int64) ([]store.Favourite, error)
	SetFavourites(ctx context.Context, userID int64, fs []store.Favourite) error
	Recents(ctx context.Context, userID int64) ([]store.Recent, error)
	AddRecent(ctx context.Context, userID int64, r store.Recent) error
}

// Console layout bounds. The grid is gridstack's: 12 columns.
const (
	maxWidgets       = 50
	maxLayoutBytes   = 64 << 10
	maxWidgetConfig  = 8 << 10
	consoleGridCols  = 12
	consoleMaxRow    = 1000
	consoleMaxHeight = 100
)

// knownWidgetTypes are the widgets the console has today. Other names of
// the same form are stored too, opaque (forward compatibility: a console
// newer than this server, or a rolled-back server, must not lose a saved
// layout); the console skips types it does not know.
var knownWidgetTypes = []string{"calls", "phonebook", "queue", "mycalls", "history", "agents", "favourites", "keypad", "voicemails", "notes"}

var widgetTypeForm = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// widget is one widget of a layout as validated.
type widget struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	X      int             `json:"x"`
	Y      int             `json:"y"`
	W      int             `json:"w"`
	H      int             `json:"h"`
	Config json.RawMessage `json:"config,omitempty"`
}

// checkLayout validates a layout and returns it compacted, with every
// widget's config an object ({} when absent).
func checkLayout(raw json.RawMessage) (string, *fieldError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "[]", nil
	}
	if len(raw) > maxLayoutBytes {
		return "", invalidField("layout", fmt.Sprintf("must be at most %d bytes", maxLayoutBytes))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var ws []widget
	if err := dec.Decode(&ws); err != nil {
		return "", invalidField("layout", "must be an array of widgets {id, type, x, y, w, h, config}: "+err.Error())
	}
	if len(ws) > maxWidgets {
		return "", invalidField("layout", fmt.Sprintf("must have at most %d widgets", maxWidgets))
	}
	ids := make(map[string]bool, len(ws))
	for i := range ws {
		wd := &ws[i]
		at := fmt.Sprintf("widget %d", i)
		switch {
		case wd.ID == "" || len(wd.ID) > 64:
			return "", invalidField("layout", at+": id must be 1 to 64 characters")
		case ids[wd.ID]:
			return "", invalidField("layout", at+": id "+wd.ID+" is used twice")
		case !widgetTypeForm.MatchString(wd.Type):
			return "", invalidField("layout", at+": type must be one of "+strings.Join(knownWidgetTypes, ", ")+" (or another lower-case name)")
		case wd.X < 0 || wd.W < 1 || wd.X+wd.W > consoleGridCols:
			return "", invalidField("layout", fmt.Sprintf("%s: x and w must fit %d columns (x ≥ 0, w ≥ 1, x + w ≤ %d)", at, consoleGridCols, consoleGridCols))
		case wd.Y < 0 || wd.Y > consoleMaxRow || wd.H < 1 || wd.H > consoleMaxHeight:
			return "", invalidField("layout", fmt.Sprintf("%s: y must be 0 to %d and h 1 to %d", at, consoleMaxRow, consoleMaxHeight))
		case len(wd.Config) > maxWidgetConfig:
			return "", invalidField("layout", fmt.Sprintf("%s: config must be at most %d bytes", at, maxWidgetConfig))
		}
		ids[wd.ID] = true
		if len(wd.Config) == 0 || string(wd.Config) == "null" {
			wd.Config = json.RawMessage(`{}`)
		} else if t := bytes.TrimSpace(wd.Config); len(t) == 0 || t[0] != '{' {
			return "", invalidField("layout", at+": config must be an object")
		}
	}
	if ws == nil {
		ws = []widget{}
	}
	b, err := json.Marshal(ws)
	if err != nil {
		return "", invalidField("layout", err.Error())
	}
	return string(b), nil
}

// consoleView is a console in the API.
type consoleView struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Layout    json.RawMessage `json:"layout"`
	Version   int64           `json:"version"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func newConsoleView(c store.Console) consoleView {
	return consoleView{ID: c.ID, Name: c.Name, Layout: json.RawMessage(c.Layout), Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// registerConsoles installs the console, favourites, directory and
// dial-check routes the web console needs.
func (s *Server) registerConsoles() {
	s.mux.HandleFunc("GET /api/me/consoles", s.consoleUser(s.listConsoles))
	s.mux.HandleFunc("POST /api/me/consoles", s.consoleUser(s.createConsole))
	s.mux.HandleFunc("GET /api/me/consoles/{id}", s.consoleUser(s.getConsole))
	s.mux.HandleFunc("PUT /api/me/consoles/{id}", s.consoleUser(s.putConsole))
	s.mux.HandleFunc("DELETE /api/me/consoles/{id}", s.consoleUser(s.deleteConsole))
	s.mux.HandleFunc("GET /api/me/favourites", s.authed(s.getFavourites))
	s.mux.HandleFunc("PUT /api/me/favourites", s.authed(s.putFavourites))
	s.mux.HandleFunc("GET /api/me/recents", s.authed(s.getRecents))
	s.mux.HandleFunc("GET /api/directory", s.authed(s.directory))
	s.mux.HandleFunc("GET /api/dialplan/check", s.authed(s.dialCheck))
}

// consoleUser admits users whose profile has the operator console.
func (s *Server) consoleUser(h handlerWithPrincipal) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		if !p.User.Profile.CanUseConsole {
			writeError(w, http.StatusForbidden, "forbidden", "this needs the permission console (the operator console), which your profile does not have")
			return
		}
		h(w, r, p)
	})
}

func (s *Server) listConsoles(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cs, err := s.st.Consoles(r.Context(), p.User.ID)
	if err != nil {
		s.storeError(w, "console", "list consoles", err)
		return
	}
	out := make([]consoleView, len(cs))
	for i, c := range cs {
		out[i] = newConsoleView(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"consoles": out, "widget_types": knownWidgetTypes,
		"limits": map[string]int{"consoles": store.MaxConsoles, "widgets": maxWidgets, "layout_bytes": maxLayoutBytes, "columns": consoleGridCols}})
}

func (s *Server) createConsole(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Name   string          `json:"name"`
		Layout json.RawMessage `json:"layout"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	body.Name = strings.TrimSpace(body.Name)
	if fe := checkText("name", body.Name, 1, 64); fe != nil {
		writeFieldError(w, fe)
		return
	}
	layout, fe := checkLayout(body.Layout)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	c, err := s.st.CreateConsole(r.Context(), store.Console{UserID: p.User.ID, Name: body.Name, Layout: layout})
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusConflict, "too_many_consoles", fmt.Sprintf("you have %d consoles already; delete one first", store.MaxConsoles))
		return
	}
	if err != nil {
		s.storeError(w, "console", "create the console", err)
		return
	}
	writeJSON(w, http.StatusCreated, newConsoleView(c))
}

func (s *Server) getConsole(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	c, err := s.st.Console(r.Context(), p.User.ID, id)
	if err != nil {
		s.storeError(w, "console", "read the console", err)
		return
	}
	writeJSON(w, http.StatusOK, newConsoleView(c))
}

// putConsole renames and/or saves the layout of a console, given the
// version the client last read.
func (s *Server) putConsole(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body struct {
		Name    *string         `json:"name"`
		Layout  json.RawMessage `json:"layout"`
		Version int64           `json:"version"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Version < 1 {
		writeError(w, http.StatusBadRequest, "invalid_version", "version (the console's version you edited) is required")
		return
	}
	cur, err := s.st.Console(r.Context(), p.User.ID, id)
	if err != nil {
		s.storeError(w, "console", "read the console", err)
		return
	}
	next := cur
	if body.Name != nil {
		next.Name = strings.TrimSpace(*body.Name)
		if fe := checkText("name", next.Name, 1, 64); fe != nil {
			writeFieldError(w, fe)
			return
		}
	}
	if body.Layout != nil {
		layout, fe := checkLayout(body.Layout)
		if fe != nil {
			writeFieldError(w, fe)
			return
		}
		next.Layout = layout
	}
	saved, err := s.st.UpdateConsole(r.Context(), next, body.Version)
	if errors.Is(err, store.ErrStale) {
		if cur, err = s.st.Console(r.Context(), p.User.ID, id); err == nil {
			writeJSON(w, http.StatusConflict, map[string]any{"code": "conflict",
				"message": "the console was saved elsewhere since you read it (version " + fmt.Sprint(cur.Version) + "); reload it or save again with that version",
				"console": newConsoleView(cur)})
			return
		}
	}
	if err != nil {
		s.storeError(w, "console", "save the console", err)
		return
	}
	writeJSON(w, http.StatusOK, newConsoleView(saved))
}

func (s *Server) deleteConsole(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := s.st.DeleteConsole(r.Context(), p.User.ID, id); err != nil {
		s.storeError(w, "console", "delete the console", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
