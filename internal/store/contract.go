// Package store persists Switchboard's configuration and call detail records
// in SQLite (modernc.org/sqlite, no cgo), with versioned migrations.
//
// CONTRACT FILE: the exported API below is what the rest codes against.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique key is already taken.
var ErrConflict = errors.New("already exists")

// Role is a user's role in the organisation.
type Role string

// Roles.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
	RoleOperator   Role = "operator"
)

// User is a person who logs in to the console and owns an extension.
type User struct {
	ID           int64
	Username     string
	DisplayName  string
	Role         Role
	PasswordHash string // bcrypt
	CreatedAt    time.Time
}

// Extension is a dialable internal number with SIP credentials.
type Extension struct {
	ID          int64
	Number      string // "1001"; also the SIP username
	UserID      int64  // 0 when not owned by a user
	DisplayName string
	// HA1 is MD5(username ":" realm ":" password), the stored digest secret
	// (RFC 2617 §3.2.2.2); HA1SHA256 the same with SHA-256 (RFC 7616).
	HA1       string
	HA1SHA256 string
	Realm     string
}

// Binding is a registered contact of an extension (a device).
type Binding struct {
	Extension  string
	ContactURI string // as the device sent it
	Source     string // host:port packets came from
	Transport  string // "udp" | "tcp"
	UserAgent  string
	CallID     string
	CSeq       uint32
	Expires    time.Time
	UpdatedAt  time.Time
}

// Trunk is a SIP peer for inbound DIDs and outbound calls.
type Trunk struct {
	ID        int64
	Name      string
	Host      string // host:port of the peer
	Transport string // "udp" | "tcp"
	Username  string // outbound digest credentials, optional
	Password  string // stored as given: needed to answer the peer's challenge
	// InboundCIDRs are the source networks allowed to send INVITEs to DIDs
	// without authentication, e.g. "127.0.0.1/32".
	InboundCIDRs []string
	// OutboundPrefix: the trunk is used for external numbers; the first
	// outbound trunk (lowest ID) is the default route.
	Outbound bool
}

// TargetKind is what a DID or dialled number routes to.
type TargetKind string

// Target kinds.
const (
	TargetExtension TargetKind = "extension"
	TargetQueue     TargetKind = "queue"
)

// DID is an inbound E.164 number on a trunk.
type DID struct {
	ID         int64
	Number     string // E.164, "+31201230001"
	TrunkID    int64
	TargetKind TargetKind
	Target     string // extension or queue number
}

// Queue is a call queue; for now it rings all members.
type Queue struct {
	ID       int64
	Number   string // "8000"
	Name     string // "Support"
	Strategy string // "ringall" for now
	Members  []QueueMember
}

// QueueMember is an extension that answers a queue's calls.
type QueueMember struct {
	Extension string
	Penalty   int
}

// Disposition is how a call ended, as recorded in its CDR.
type Disposition string

// Dispositions.
const (
	DispositionAnswered    Disposition = "answered"
	DispositionBusy        Disposition = "busy"        // 486/600
	DispositionNoAnswer    Disposition = "no-answer"   // ring timeout (408/480)
	DispositionUnavailable Disposition = "unavailable" // nothing registered / 404 / 503
	DispositionCancelled   Disposition = "cancelled"   // caller hung up while ringing
	DispositionRejected    Disposition = "rejected"    // 403/488/other 4xx-6xx
	DispositionFailed      Disposition = "failed"      // internal or transport failure
)

// CDR is one call detail record.
type CDR struct {
	ID          int64
	CallID      string // Switchboard's call id
	Direction   string // "internal" | "inbound" | "outbound"
	From        string // caller number (extension or E.164)
	FromName    string
	To          string // dialled number as normalised
	Target      string // what it routed to, e.g. "extension:1001", "queue:8000", "trunk:demo-carrier"
	Trunk       string
	AnsweredBy  string // extension/device that answered, if any
	StartedAt   time.Time
	AnsweredAt  time.Time // zero if never answered
	EndedAt     time.Time
	Disposition Disposition
	SIPCode     int    // final response code to the caller (200 when answered)
	HangupBy    string // "caller" | "callee" | "system"
	Reason      string // free text, e.g. "Busy Here"
}

// Store is the SQLite database.
type Store struct{}

// Open opens (creating if needed) the database file at path and applies
// pending migrations. Use ":memory:"-like paths only in tests.
func Open(ctx context.Context, path string) (*Store, error) { panic("unimplemented") }

// Close closes the database.
func (s *Store) Close() error { panic("unimplemented") }

// SchemaVersion returns the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) { panic("unimplemented") }

// IsEmpty reports whether no extension, trunk or user exists yet (a fresh data dir).
func (s *Store) IsEmpty(ctx context.Context) (bool, error) { panic("unimplemented") }

// CreateUser inserts u and returns it with its ID; ErrConflict on a taken username.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) { panic("unimplemented") }

// UserByUsername looks a user up.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	panic("unimplemented")
}

// CreateExtension inserts e; ErrConflict on a taken number.
func (s *Store) CreateExtension(ctx context.Context, e Extension) (Extension, error) {
	panic("unimplemented")
}

// ExtensionByNumber looks an extension up by its number.
func (s *Store) ExtensionByNumber(ctx context.Context, number string) (Extension, error) {
	panic("unimplemented")
}

// Extensions lists all extensions ordered by number.
func (s *Store) Extensions(ctx context.Context) ([]Extension, error) { panic("unimplemented") }

// SaveBindings upserts bindings (key: extension + contact URI) and deletes
// those with a zero or past Expires, in one transaction.
func (s *Store) SaveBindings(ctx context.Context, bs []Binding) error { panic("unimplemented") }

// Bindings returns all bindings that have not expired at now.
func (s *Store) Bindings(ctx context.Context, now time.Time) ([]Binding, error) {
	panic("unimplemented")
}

// CreateTrunk inserts t; ErrConflict on a taken name.
func (s *Store) CreateTrunk(ctx context.Context, t Trunk) (Trunk, error) { panic("unimplemented") }

// Trunks lists all trunks ordered by ID.
func (s *Store) Trunks(ctx context.Context) ([]Trunk, error) { panic("unimplemented") }

// CreateDID inserts d; ErrConflict on a taken number.
func (s *Store) CreateDID(ctx context.Context, d DID) (DID, error) { panic("unimplemented") }

// DIDByNumber looks a DID up by its E.164 number.
func (s *Store) DIDByNumber(ctx context.Context, number string) (DID, error) {
	panic("unimplemented")
}

// DIDs lists all DIDs ordered by number.
func (s *Store) DIDs(ctx context.Context) ([]DID, error) { panic("unimplemented") }

// CreateQueue inserts q with its members; ErrConflict on a taken number.
func (s *Store) CreateQueue(ctx context.Context, q Queue) (Queue, error) { panic("unimplemented") }

// QueueByNumber looks a queue up with its members (ordered by penalty, extension).
func (s *Store) QueueByNumber(ctx context.Context, number string) (Queue, error) {
	panic("unimplemented")
}

// Queues lists all queues with their members.
func (s *Store) Queues(ctx context.Context) ([]Queue, error) { panic("unimplemented") }

// InsertCDR stores c and returns its ID.
func (s *Store) InsertCDR(ctx context.Context, c CDR) (int64, error) { panic("unimplemented") }

// CDRs returns the most recent CDRs, newest first, at most limit.
func (s *Store) CDRs(ctx context.Context, limit int) ([]CDR, error) { panic("unimplemented") }
