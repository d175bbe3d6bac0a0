package api

import (
	"fmt"
	"net/http"
	"regexp"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/dialplan"
	"github.com/switchboard/switchboard/internal/store"
)

// Console users: GET/POST /api/users, GET/PATCH/DELETE /api/users/{id}.
// Admin only. Password hashes never leave the server.

// usernamePattern: what a person types at the login prompt, without
// spaces or anything that needs escaping in a log line.
var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// Console passwords are at least 8 characters and at most 72 bytes:
// bcrypt reads no more than 72 bytes and refuses longer input rather than
// silently ignoring the rest.
const (
	passwordMin      = 8
	passwordMaxBytes = 72
)

// adminUserView is a user as the configuration API shows it.
type adminUserView struct {
	userView
	CreatedAt time.Time   `json:"created_at"`
	Profile   profileView `json:"profile"`
}

func newAdminUserView(u store.User) adminUserView {
	return adminUserView{userView: newUserView(u), CreatedAt: u.CreatedAt, Profile: newProfileView(u.Profile)}
}

// profileView is a user's permission profile (store.Profile). Only
// can_outdial is enforced today (the B2BUA refuses external calls with
// 403); can_keypad_dial and can_control_recording are enforced once the
// console can place and record calls (call control), and allowed_anis once
// the caller ID can be chosen (originate): until then outbound calls
// present the extension's DID.
type profileView struct {
	CanOutdial          bool     `json:"can_outdial"`
	CanKeypadDial       bool     `json:"can_keypad_dial"`
	CanControlRecording bool     `json:"can_control_recording"`
	AllowedANIs         []string `json:"allowed_anis"` // E.164; [] = only the extension's DID
	// CanUseConsole: the operator console (permission "console" in
	// GET /api/me); enforced on /api/me/consoles.
	CanUseConsole bool `json:"can_use_console"`
}

func newProfileView(p store.Profile) profileView {
	anis := p.AllowedANIs
	if anis == nil {
		anis = []string{}
	}
	return profileView{CanOutdial: p.CanOutdial, CanKeypadDial: p.CanKeypadDial,
		CanControlRecording: p.CanControlRecording, AllowedANIs: anis, CanUseConsole: p.CanUseConsole}
}

// profileInput is "profile" in a user's create or update body: each field
// present replaces the stored one (on create: the default), the others stay.
type profileInput struct {
	CanOutdial          *bool     `json:"can_outdial"`
	CanKeypadDial       *bool     `json:"can_keypad_dial"`
	CanControlRecording *bool     `json:"can_control_recording"`
	AllowedANIs         *[]string `json:"allowed_anis"`
	CanUseConsole       *bool     `json:"can_use_console"`
}

// checkProfile normalises the allowed ANIs to E.164 with the configured country
// code and drops duplicates; bad input is 400 invalid_profile.
func (s *Server) checkProfile(in *profileInput) ([]string, *fieldError) {
	if in == nil || in.AllowedANIs == nil {
		return nil, nil
	}
	if len(*in.AllowedANIs) > store.MaxAllowedANIs {
		return nil, invalidField("profile", fmt.Sprintf("allowed_anis must list at most %d numbers", store.MaxAllowedANIs))
	}
	out := make([]string, 0, len(*in.AllowedANIs))
	seen := make(map[string]bool, len(*in.AllowedANIs))
	for i, a := range *in.AllowedANIs {
		n, err := dialplan.E164(a, s.adm.opts.CountryCode)
		if err != nil {
			return nil, invalidField("profile", fmt.Sprintf("allowed_anis[%d] is no phone number: %v", i, err))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// apply writes the fields present in in onto p; anis is checkProfile's result.
func (in *profileInput) apply(p *store.Profile, anis []string) {
	if in == nil {
		return
	}
	if in.CanOutdial != nil {
		p.CanOutdial = *in.CanOutdial
	}
	if in.CanKeypadDial != nil {
		p.CanKeypadDial = *in.CanKeypadDial
	}
	if in.CanControlRecording != nil {
		p.CanControlRecording = *in.CanControlRecording
	}
	if in.CanUseConsole != nil {
		p.CanUseConsole = *in.CanUseConsole
	}
	if in.AllowedANIs != nil {
		p.AllowedANIs = anis
		if len(anis) == 0 {
			p.AllowedANIs = nil
		}
	}
}

// profileAllOff reports whether p grants nothing: store.CreateUser would
// take that for "no profile given" and store the default instead.
func profileAllOff(p store.Profile) bool {
	return !p.CanOutdial && !p.CanKeypadDial && !p.CanControlRecording && len(p.AllowedANIs) == 0 && !p.CanUseConsole
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	us, err := s.st.Users(r.Context())
	if err != nil {
		s.storeError(w, "user", "list users", err)
		return
	}
	out := make([]adminUserView, len(us))
	for i, u := range us {
		out[i] = newAdminUserView(u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	u, err := s.st.UserByID(r.Context(), id)
	if err != nil {
		s.storeError(w, "user", "read the user", err)
		return
	}
	writeJSON(w, http.StatusOK, newAdminUserView(u))
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body struct {
		Username    string        `json:"username"`
		DisplayName string        `json:"display_name"`
		Role        store.Role    `json:"role"`
		Password    string        `json:"password"`
		Profile     *profileInput `json:"profile"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if !usernamePattern.MatchString(body.Username) {
		writeFieldError(w, invalidField("username", "must be 1 to 64 letters, digits or . _ @ -, starting with a letter or digit"))
		return
	}
	if fe := checkText("display_name", body.DisplayName, 0, 128); fe != nil {
		writeFieldError(w, fe)
		return
	}
	if !body.Role.Valid() {
		writeFieldError(w, invalidField("role", "must be admin, supervisor, operator or agent"))
		return
	}
	anis, fe := s.checkProfile(body.Profile)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	profile := store.DefaultProfile()
	body.Profile.apply(&profile, anis)
	hash, fe := hashConsolePassword(body.Password)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	u, err := s.st.CreateUser(r.Context(), store.User{Username: body.Username, DisplayName: body.DisplayName,
		Role: body.Role, PasswordHash: hash, Profile: profile})
	if err != nil {
		s.storeError(w, "user", "create the user", err)
		return
	}
	if profileAllOff(profile) {
		// CreateUser stores a zero profile as the default; set it now, and
		// take the user back out if that fails rather than leave it with
		// more than was asked for.
		set, err := s.st.UpdateUser(r.Context(), u.ID, func(u *store.User) error { u.Profile = profile; return nil })
		if err != nil {
			if derr := s.st.DeleteUser(r.Context(), u.ID); derr != nil {
				s.log.Error("delete a user created without its profile", "user_id", u.ID, "error", derr)
			}
			s.storeError(w, "user", "create the user", err)
			return
		}
		u = set
	}
	s.log.Info("user created", "user_id", u.ID, "username", u.Username, "role", u.Role,
		"can_outdial", u.Profile.CanOutdial, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, newAdminUserView(u))
}

// updateUser changes display_name, role, password and the profile's
// fields, each when present. An admin cannot demote themselves (409
// cannot_demote_self).
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body struct {
		DisplayName *string       `json:"display_name"`
		Role        *store.Role   `json:"role"`
		Password    *string       `json:"password"`
		Profile     *profileInput `json:"profile"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	anis, fe := s.checkProfile(body.Profile)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	if body.DisplayName != nil {
		if fe := checkText("display_name", *body.DisplayName, 0, 128); fe != nil {
			writeFieldError(w, fe)
			return
		}
	}
	if body.Role != nil && !body.Role.Valid() {
		writeFieldError(w, invalidField("role", "must be admin, supervisor, operator or agent"))
		return
	}
	if body.Role != nil && *body.Role != store.RoleAdmin && id == p.User.ID {
		// Only admins get here: the organisation keeps at least this one.
		writeError(w, http.StatusConflict, "cannot_demote_self", "you cannot take the admin role from your own account; another admin can")
		return
	}
	var hash string
	if body.Password != nil {
		var fe *fieldError
		if hash, fe = hashConsolePassword(*body.Password); fe != nil {
			writeFieldError(w, fe)
			return
		}
	}
	u, err := s.st.UpdateUser(r.Context(), id, func(u *store.User) error {
		if body.DisplayName != nil {
			u.DisplayName = *body.DisplayName
		}
		if body.Role != nil {
			u.Role = *body.Role
		}
		if body.Password != nil {
			u.PasswordHash = hash
		}
		body.Profile.apply(&u.Profile, anis)
		return nil
	})
	if err != nil {
		s.storeError(w, "user", "update the user", err)
		return
	}
	if body.Password != nil {
		// A reset password means the old one may be known: end every
		// session opened with it (API tokens stay; revoke them separately).
		if _, err := s.st.DeleteUserSessions(r.Context(), u.ID, 0); err != nil {
			s.log.Error("ending sessions after a password reset", "user_id", u.ID, "error", err)
		}
	}
	if body.Profile != nil {
		s.log.Info("user profile updated", "user_id", u.ID, "can_outdial", u.Profile.CanOutdial,
			"can_keypad_dial", u.Profile.CanKeypadDial, "can_control_recording", u.Profile.CanControlRecording,
			"allowed_anis", len(u.Profile.AllowedANIs), "by", p.User.Username)
	}
	s.log.Info("user updated", "user_id", u.ID, "role", u.Role, "password_changed", body.Password != nil, "by", p.User.Username)
	writeJSON(w, http.StatusOK, newAdminUserView(u))
}

// deleteUser deletes a user with their sessions and tokens; the extensions
// they owned stay, unowned. An admin cannot delete themselves (409
// cannot_delete_self).
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if id == p.User.ID {
		writeError(w, http.StatusConflict, "cannot_delete_self", "you cannot delete your own account; another admin can")
		return
	}
	if err := s.st.DeleteUser(r.Context(), id); err != nil {
		s.storeError(w, "user", "delete the user", err)
		return
	}
	s.log.Info("user deleted", "user_id", id, "by", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}

// hashConsolePassword checks a console password's length and hashes it
// with bcrypt at the default cost.
func hashConsolePassword(password string) (string, *fieldError) {
	if !utf8.ValidString(password) || utf8.RuneCountInString(password) < passwordMin || len(password) > passwordMaxBytes {
		return "", invalidField("password", fmt.Sprintf(
			"must be at least %d characters and at most %d bytes in UTF-8 (bcrypt's limit)", passwordMin, passwordMaxBytes))
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		// Only a length bcrypt refuses, which the check above rules out.
		return "", invalidField("password", err.Error())
	}
	return string(h), nil
}
