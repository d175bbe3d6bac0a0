package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Role is a user's role in the organisation.
type Role string

// Roles.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
	RoleOperator   Role = "operator"
)

// Valid reports whether r is one of the declared roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleSupervisor, RoleAgent, RoleOperator:
		return true
	}
	return false
}

// User is a person who logs in to the console and owns an extension.
type User struct {
	ID           int64
	Username     string
	DisplayName  string
	Role         Role
	PasswordHash string // bcrypt
	CreatedAt    time.Time
	Profile      Profile
}

// Profile is what a user may do on the phone beyond what their role lets
// them do in the console (SPEC X2/O1/T10). It applies to the extensions the
// user owns; an extension without a user is not restricted.
type Profile struct {
	// CanOutdial lets the user's extensions call external numbers through
	// the outbound trunk. Enforced by the B2BUA: a refused call gets 403.
	// Internal numbers, queues and the organisation's own DIDs are always
	// allowed.
	CanOutdial bool
	// CanKeypadDial lets the user dial from the console's keypad (click to
	// call). Stored and shown only: enforced once the console can place
	// calls (call control, issue 3).
	CanKeypadDial bool
	// CanControlRecording lets the user start, pause and stop recordings.
	// Stored and shown only: enforced once calls are recorded (issue 3).
	CanControlRecording bool
	// AllowedANIs are the E.164 numbers the user may present as caller ID;
	// nil means only the organisation's default (the DID of the extension
	// dialling). Stored and validated only: outbound calls keep presenting
	// the extension's DID until the caller ID can be chosen (originate).
	// At most MaxAllowedANIs, without duplicates.
	AllowedANIs []string
	// CanUseConsole gives the user the operator console: their own
	// widget grids (consoles) in the web console (SPEC X2, C1). Without
	// it the user has the agent desktop only. What a console shows is
	// narrowed by the role either way.
	CanUseConsole bool
}

// MaxAllowedANIs bounds Profile.AllowedANIs.
const MaxAllowedANIs = 20

// DefaultProfile is the profile of a user nobody restricted, as before
// profiles existed: outdial and keypad dialling on, recording control off,
// only the default caller ID.
func DefaultProfile() Profile {
	return Profile{CanOutdial: true, CanKeypadDial: true, CanUseConsole: true}
}

// isZero reports whether p is the zero value (all off, AllowedANIs nil).
func (p Profile) isZero() bool {
	return !p.CanOutdial && !p.CanKeypadDial && !p.CanControlRecording && p.AllowedANIs == nil && !p.CanUseConsole
}

// e164Form is the stored form of a caller ID: '+' and 8 to 15 digits.
// Normalising what people type (national forms, spaces) is the API's job.
var e164Form = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// check validates p and returns the JSON to store for its AllowedANIs.
func (p Profile) check() (string, error) {
	if len(p.AllowedANIs) > MaxAllowedANIs {
		return "", fmt.Errorf("profile: %d allowed ANIs, at most %d: %w", len(p.AllowedANIs), MaxAllowedANIs, ErrInvalid)
	}
	if len(p.AllowedANIs) == 0 {
		return "", nil
	}
	seen := make(map[string]bool, len(p.AllowedANIs))
	for _, a := range p.AllowedANIs {
		if !e164Form.MatchString(a) {
			return "", fmt.Errorf("profile: allowed ANI %q is not in E.164 form: %w", a, ErrInvalid)
		}
		if seen[a] {
			return "", fmt.Errorf("profile: allowed ANI %s twice: %w", a, ErrInvalid)
		}
		seen[a] = true
	}
	b, err := json.Marshal(p.AllowedANIs)
	return string(b), err
}

// CreateUser inserts u and returns it with its ID; ErrConflict on a taken
// username, ErrInvalid on a bad role or profile. A zero CreatedAt is set to
// now, and a zero Profile (as from a caller that sets none) is stored as
// DefaultProfile(): to create a user without any of the permissions, create
// it and then set the profile with UpdateUser.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	if u.Username == "" {
		return User{}, fmt.Errorf("create user: empty username: %w", ErrInvalid)
	}
	if !u.Role.Valid() {
		return User{}, fmt.Errorf("create user %q: role %q: %w", u.Username, u.Role, ErrInvalid)
	}
	if u.Profile.isZero() {
		u.Profile = DefaultProfile()
	}
	anis, err := u.Profile.check()
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", u.Username, err)
	}
	u.Profile = readBackProfile(u.Profile)
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	u.CreatedAt = fromMillis(millis(u.CreatedAt)) // as it will read back
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO users (username, display_name, role, password_hash, created_at,
			can_outdial, can_keypad_dial, can_control_recording, allowed_anis, can_use_console) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Username, u.DisplayName, string(u.Role), u.PasswordHash, u.CreatedAt.UnixMilli(),
		u.Profile.CanOutdial, u.Profile.CanKeypadDial, u.Profile.CanControlRecording, anis, u.Profile.CanUseConsole)
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", u.Username, mapErr(err))
	}
	if u.ID, err = res.LastInsertId(); err != nil {
		return User{}, fmt.Errorf("create user %q: %w", u.Username, err)
	}
	return u, nil
}

// UserByUsername looks a user up.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", username, mapErr(err))
	}
	return u, nil
}

// UserByID looks a user up by ID.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return User{}, fmt.Errorf("user %d: %w", id, mapErr(err))
	}
	return u, nil
}

// UserOfExtension returns the user who owns the extension with the given
// number; ErrNotFound when there is no such extension or it has no user.
func (s *Store) UserOfExtension(ctx context.Context, number string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumnsU+` FROM users u
		JOIN extensions e ON e.user_id = u.id WHERE e.number = ?`, number))
	if err != nil {
		return User{}, fmt.Errorf("user of extension %s: %w", number, mapErr(err))
	}
	return u, nil
}

// userColumns are what scanUser reads, in its order; userColumnsU the same
// qualified with the alias u, for joins.
const (
	userColumns = `id, username, display_name, role, password_hash, created_at,
		can_outdial, can_keypad_dial, can_control_recording, allowed_anis, can_use_console`
	userColumnsU = `u.id, u.username, u.display_name, u.role, u.password_hash, u.created_at,
		u.can_outdial, u.can_keypad_dial, u.can_control_recording, u.allowed_anis, u.can_use_console`
)

func scanUser(sc scanner) (User, error) {
	var (
		u       User
		role    string
		created int64
		anis    string
	)
	if err := sc.Scan(&u.ID, &u.Username, &u.DisplayName, &role, &u.PasswordHash, &created,
		&u.Profile.CanOutdial, &u.Profile.CanKeypadDial, &u.Profile.CanControlRecording, &anis, &u.Profile.CanUseConsole); err != nil {
		return User{}, err
	}
	u.Role = Role(role)
	u.CreatedAt = time.UnixMilli(created).UTC()
	if anis != "" {
		if err := json.Unmarshal([]byte(anis), &u.Profile.AllowedANIs); err != nil {
			return User{}, fmt.Errorf("user %d: allowed_anis: %w", u.ID, err)
		}
	}
	u.Profile = readBackProfile(u.Profile)
	return u, nil
}

// readBackProfile returns p as the store reads it back: no ANIs is nil.
func readBackProfile(p Profile) Profile {
	if len(p.AllowedANIs) == 0 {
		p.AllowedANIs = nil
	} else {
		p.AllowedANIs = append([]string(nil), p.AllowedANIs...)
	}
	return p
}

// Users lists all users ordered by ID.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// UpdateUser changes the user with the given ID in one transaction: fn
// receives the stored user and edits it; its display name, role, password
// hash and profile are then written back (ID, username and creation time
// do not change; a zero Profile is stored as it is, everything off). An
// error from fn aborts the update and is returned wrapped. ErrNotFound
// when there is no such user, ErrInvalid on an unknown role or a bad
// profile.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*User) error) (User, error) {
	var u User
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		if err != nil {
			return mapErr(err)
		}
		orig := u
		if err := fn(&u); err != nil {
			return err
		}
		u.ID, u.Username, u.CreatedAt = orig.ID, orig.Username, orig.CreatedAt
		if !u.Role.Valid() {
			return fmt.Errorf("role %q: %w", u.Role, ErrInvalid)
		}
		anis, err := u.Profile.check()
		if err != nil {
			return err
		}
		u.Profile = readBackProfile(u.Profile)
		_, err = tx.ExecContext(ctx, `UPDATE users SET display_name = ?, role = ?, password_hash = ?,
			can_outdial = ?, can_keypad_dial = ?, can_control_recording = ?, allowed_anis = ?, can_use_console = ? WHERE id = ?`,
			u.DisplayName, string(u.Role), u.PasswordHash,
			u.Profile.CanOutdial, u.Profile.CanKeypadDial, u.Profile.CanControlRecording, anis, u.Profile.CanUseConsole, id)
		return mapErr(err)
	})
	if err != nil {
		return User{}, fmt.Errorf("update user %d: %w", id, err)
	}
	return u, nil
}

// DeleteUser deletes a user; ErrNotFound when there is none. The user's
// sessions and API tokens go with it; extensions it owned stay, unowned.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete user %d: %w", id, mapErr(err))
	}
	if err := affectedOne(res); err != nil {
		return fmt.Errorf("delete user %d: %w", id, err)
	}
	return nil
}

// affectedOne returns ErrNotFound when res changed no row.
func affectedOne(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
