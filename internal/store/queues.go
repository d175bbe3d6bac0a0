package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Queue is a call queue and how the ACD (internal/acd) serves it.
type Queue struct {
	ID     int64
	Number string // "8000"
	Name   string // "Support"
	// Strategy is how the ACD picks agents: "ringall", "longest_idle",
	// "round_robin", "fewest_calls" or "linear" (internal/acd checks the
	// name; the store keeps it as given). Empty means ringall.
	Strategy string
	Members  []QueueMember

	// RingTime is how long an offer rings an agent before it counts as not
	// answered (RONA); stored in whole seconds. Zero means DefaultRingTime.
	RingTime time.Duration
	// WrapupTime is the after-call work an agent gets after a call from
	// this queue; zero means none.
	WrapupTime time.Duration
	// MaxWaiting bounds the callers waiting or being offered; a caller
	// beyond it is refused. Zero means no limit.
	MaxWaiting int
	// MaxWait is how long a caller waits before being sent to
	// OverflowDestination. Zero means no limit.
	MaxWait time.Duration
	// OverflowDestination is where refused and timed-out callers go (an
	// extension, queue or number; the call layer interprets it). Empty:
	// the call layer ends the call.
	OverflowDestination string
	// RefuseWhenEmpty refuses callers while no member is logged in
	// (join_empty = 0). The zero value lets them join and wait.
	RefuseWhenEmpty bool
	// ServiceLevel is the "answered within" of the queue's service level.
	// Zero means DefaultServiceLevel.
	ServiceLevel time.Duration
	// ServiceLevelTarget is the percentage of callers the queue aims to
	// answer within ServiceLevel (1–99), what capacity planning sizes the
	// agents for. Zero means DefaultServiceLevelTarget.
	ServiceLevelTarget int
	// MaxOccupancy, 1–100, also keeps the planned agents busy at most
	// that percentage of their time; zero: no limit.
	MaxOccupancy int

	// What a waiting caller hears and may choose (SPEC Q5, O3); the call
	// layer plays it. AnnounceInterval is how often a waiting caller is
	// told their position and expected wait, in whole seconds; zero means
	// DefaultAnnounceInterval, NoAnnouncements (negative) never (the
	// greeting on entry still plays).
	AnnounceInterval time.Duration
	// OmitPosition and OmitEWT leave the position and the expected wait
	// out of those announcements; the zero values say both.
	OmitPosition bool
	OmitEWT      bool
	// OfferVoicemail offers "press 1 to leave a message"; OfferCallback
	// "press 2 to be called back" (the caller keeps their place).
	OfferVoicemail bool
	OfferCallback  bool
}

// QueueMember is an extension that answers a queue's calls.
type QueueMember struct {
	Extension string
	Penalty   int
}

// defaultStrategy is what an empty strategy means.
const defaultStrategy = "ringall"

// Defaults for a queue's zero durations.
const (
	// DefaultRingTime is about four rings: long enough to reach the phone,
	// short enough that a caller is not left ringing an absent agent.
	DefaultRingTime = 20 * time.Second
	// DefaultServiceLevel is the common "80/20" target's 20 seconds.
	DefaultServiceLevel = 20 * time.Second
	// DefaultServiceLevelTarget is the same target's 80 %.
	DefaultServiceLevelTarget = 80
	// DefaultAnnounceInterval: every 30 s a caller hears that they are not
	// forgotten, without the announcements crowding out the music.
	DefaultAnnounceInterval = 30 * time.Second
	// NoAnnouncements as AnnounceInterval turns periodic announcements off.
	NoAnnouncements time.Duration = -1
)

// Member states (queue_members.state).
const (
	MemberLoggedIn  = "logged_in"
	MemberPaused    = "paused"
	MemberLoggedOut = "logged_out"
)

// queueColumns are what scanQueue reads, in its order.
const queueColumns = `id, number, name, strategy, ring_time_s, wrapup_time_s, max_waiting,
	max_wait_s, overflow_destination, join_empty, service_level_s, announce_interval_s, announce_position,
	announce_ewt, offer_voicemail, offer_callback, service_level_target_pct, max_occupancy_pct`

func scanQueue(sc scanner) (Queue, error) {
	var (
		q                                        Queue
		ring, wrapup, maxWait, service, announce int64
		joinEmpty, position, ewt                 bool
	)
	if err := sc.Scan(&q.ID, &q.Number, &q.Name, &q.Strategy, &ring, &wrapup, &q.MaxWaiting,
		&maxWait, &q.OverflowDestination, &joinEmpty, &service, &announce, &position, &ewt,
		&q.OfferVoicemail, &q.OfferCallback, &q.ServiceLevelTarget, &q.MaxOccupancy); err != nil {
		return Queue{}, err
	}
	q.AnnounceInterval = time.Duration(announce) * time.Second
	if announce == 0 {
		q.AnnounceInterval = NoAnnouncements
	}
	q.OmitPosition, q.OmitEWT = !position, !ewt
	q.RingTime = time.Duration(ring) * time.Second
	q.WrapupTime = time.Duration(wrapup) * time.Second
	q.MaxWait = time.Duration(maxWait) * time.Second
	q.ServiceLevel = time.Duration(service) * time.Second
	q.RefuseWhenEmpty = !joinEmpty
	return q, nil
}

// normalise applies the defaults and rounds durations to the stored whole
// seconds, so the queue returned equals the queue read back.
func (q *Queue) normalise() {
	if q.Strategy == "" {
		q.Strategy = defaultStrategy
	}
	if q.RingTime == 0 {
		q.RingTime = DefaultRingTime
	}
	if q.ServiceLevel == 0 {
		q.ServiceLevel = DefaultServiceLevel
	}
	if q.ServiceLevelTarget == 0 {
		q.ServiceLevelTarget = DefaultServiceLevelTarget
	}
	switch {
	case q.AnnounceInterval == 0:
		q.AnnounceInterval = DefaultAnnounceInterval
	case q.AnnounceInterval < time.Second:
		q.AnnounceInterval = NoAnnouncements
	}
	q.RingTime = q.RingTime.Truncate(time.Second)
	q.WrapupTime = q.WrapupTime.Truncate(time.Second)
	q.MaxWait = q.MaxWait.Truncate(time.Second)
	q.ServiceLevel = q.ServiceLevel.Truncate(time.Second)
	if q.AnnounceInterval > 0 {
		q.AnnounceInterval = q.AnnounceInterval.Truncate(time.Second)
	}
}

// configArgs are the ACD columns' values in queueColumns order (after
// strategy).
func (q *Queue) configArgs() []any {
	return []any{int64(q.RingTime / time.Second), int64(q.WrapupTime / time.Second), q.MaxWaiting,
		int64(q.MaxWait / time.Second), q.OverflowDestination, !q.RefuseWhenEmpty, int64(q.ServiceLevel / time.Second),
		int64(max(q.AnnounceInterval, 0) / time.Second), !q.OmitPosition, !q.OmitEWT, q.OfferVoicemail, q.OfferCallback,
		q.ServiceLevelTarget, q.MaxOccupancy}
}

// CreateQueue inserts q with its members (logged in); ErrConflict on a
// taken number (by a queue or an extension), ErrNotFound when a member is
// not an extension, ErrInvalid on an empty number or name, a member listed
// twice or a setting out of range. Zero settings take their defaults;
// members are returned in the order QueueByNumber gives them.
func (s *Store) CreateQueue(ctx context.Context, q Queue) (Queue, error) {
	if q.Number == "" || q.Name == "" {
		return Queue{}, fmt.Errorf("create queue %q: number and name are required: %w", q.Number, ErrInvalid)
	}
	q.normalise()
	if err := uniqueMembers(q.Members); err != nil {
		return Queue{}, fmt.Errorf("create queue %s: %w", q.Number, err)
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO queues (number, name, strategy, ring_time_s, wrapup_time_s, max_waiting,
				max_wait_s, overflow_destination, join_empty, service_level_s, announce_interval_s, announce_position,
				announce_ewt, offer_voicemail, offer_callback, service_level_target_pct, max_occupancy_pct)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append([]any{q.Number, q.Name, q.Strategy}, q.configArgs()...)...)
		if err != nil {
			return mapErr(err)
		}
		if q.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		q.Members, err = insertMembers(ctx, tx, q.ID, q.Members, nil)
		return err
	})
	if err != nil {
		return Queue{}, fmt.Errorf("create queue %s: %w", q.Number, err)
	}
	return q, nil
}

// QueueByNumber looks a queue up with its members (ordered by penalty, extension).
func (s *Store) QueueByNumber(ctx context.Context, number string) (Queue, error) {
	q, err := scanQueue(s.r.QueryRowContext(ctx, `SELECT `+queueColumns+` FROM queues WHERE number = ?`, number))
	if err != nil {
		return Queue{}, fmt.Errorf("queue %s: %w", number, mapErr(err))
	}
	if q.Members, err = queueMembers(ctx, s.r, q.ID); err != nil {
		return Queue{}, fmt.Errorf("queue %s: %w", number, err)
	}
	return q, nil
}

// Queues lists all queues ordered by number, with their members.
func (s *Store) Queues(ctx context.Context) ([]Queue, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+queueColumns+` FROM queues ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	var qs []Queue
	for rows.Next() {
		q, err := scanQueue(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list queues: %w", err)
		}
		qs = append(qs, q)
	}
	// Close before the member queries so the reader connection is free
	// for them.
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	for i := range qs {
		if qs[i].Members, err = queueMembers(ctx, s.r, qs[i].ID); err != nil {
			return nil, fmt.Errorf("list queues: queue %s: %w", qs[i].Number, err)
		}
	}
	return qs, nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queueMembers(ctx context.Context, db querier, queueID int64) ([]QueueMember, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT extension, penalty FROM queue_members WHERE queue_id = ? ORDER BY penalty, extension`, queueID)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	var ms []QueueMember
	for rows.Next() {
		var m QueueMember
		if err := rows.Scan(&m.Extension, &m.Penalty); err != nil {
			return nil, fmt.Errorf("members: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return ms, nil
}

// uniqueMembers returns ErrInvalid when an extension is listed twice.
func uniqueMembers(ms []QueueMember) error {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if seen[m.Extension] {
			return fmt.Errorf("member %s listed twice: %w", m.Extension, ErrInvalid)
		}
		seen[m.Extension] = true
	}
	return nil
}

// insertMembers adds ms to the queue and returns its members as
// QueueByNumber orders them; ErrNotFound names a member that is not an
// extension. kept holds the state of members that were in the queue
// before (by extension); a new member is logged in.
func insertMembers(ctx context.Context, tx *sql.Tx, queueID int64, ms []QueueMember, kept map[string]keptMember) ([]QueueMember, error) {
	for _, m := range ms {
		// Checked here rather than left to the foreign key, whose error
		// does not say which member is missing.
		var exists bool
		if err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM extensions WHERE number = ?)`, m.Extension).Scan(&exists); err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("member extension %s: %w", m.Extension, ErrNotFound)
		}
		k, ok := kept[m.Extension]
		if !ok {
			k.state = MemberLoggedIn
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO queue_members (queue_id, extension, penalty, state, state_changed_at) VALUES (?, ?, ?, ?, ?)`,
			queueID, m.Extension, m.Penalty, k.state, k.changedAt); err != nil {
			return nil, fmt.Errorf("member %s: %w", m.Extension, mapErr(err))
		}
	}
	return queueMembers(ctx, tx, queueID)
}

// keptMember is a member's state carried over a replacement of the
// member list.
type keptMember struct {
	state     string
	changedAt sql.NullInt64
}

// UpdateQueue changes the queue with the given number in one transaction:
// fn receives the stored queue with its members and edits it; its name,
// strategy, settings and members (replaced as a whole; a member that stays
// keeps its logged-in/paused/logged-out state) are then written back (ID
// and number do not change). An error from fn aborts the update and is
// returned wrapped. ErrNotFound when there is no such queue or a member is
// not an extension, ErrInvalid on an empty name, a member listed twice or
// a setting out of range.
func (s *Store) UpdateQueue(ctx context.Context, number string, fn func(*Queue) error) (Queue, error) {
	var q Queue
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		q, err = scanQueue(tx.QueryRowContext(ctx, `SELECT `+queueColumns+` FROM queues WHERE number = ?`, number))
		if err != nil {
			return mapErr(err)
		}
		if q.Members, err = queueMembers(ctx, tx, q.ID); err != nil {
			return err
		}
		orig := q
		if err := fn(&q); err != nil {
			return err
		}
		q.ID, q.Number = orig.ID, orig.Number
		if q.Name == "" {
			return fmt.Errorf("empty name: %w", ErrInvalid)
		}
		q.normalise()
		if err := uniqueMembers(q.Members); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE queues SET name = ?, strategy = ?, ring_time_s = ?,
			wrapup_time_s = ?, max_waiting = ?, max_wait_s = ?, overflow_destination = ?, join_empty = ?,
			service_level_s = ?, announce_interval_s = ?, announce_position = ?, announce_ewt = ?,
			offer_voicemail = ?, offer_callback = ?, service_level_target_pct = ?, max_occupancy_pct = ? WHERE id = ?`,
			append(append([]any{q.Name, q.Strategy}, q.configArgs()...), q.ID)...); err != nil {
			return mapErr(err)
		}
		kept, err := memberStates(ctx, tx, q.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM queue_members WHERE queue_id = ?`, q.ID); err != nil {
			return mapErr(err)
		}
		q.Members, err = insertMembers(ctx, tx, q.ID, q.Members, kept)
		return err
	})
	if err != nil {
		return Queue{}, fmt.Errorf("update queue %s: %w", number, err)
	}
	return q, nil
}

// memberStates reads the state of a queue's members by extension.
func memberStates(ctx context.Context, tx *sql.Tx, queueID int64) (map[string]keptMember, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT extension, state, state_changed_at FROM queue_members WHERE queue_id = ?`, queueID)
	if err != nil {
		return nil, fmt.Errorf("member states: %w", err)
	}
	defer rows.Close()
	kept := make(map[string]keptMember)
	for rows.Next() {
		var (
			ext string
			k   keptMember
		)
		if err := rows.Scan(&ext, &k.state, &k.changedAt); err != nil {
			return nil, fmt.Errorf("member states: %w", err)
		}
		kept[ext] = k
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("member states: %w", err)
	}
	return kept, nil
}

// DeleteQueue deletes a queue and its memberships; ErrNotFound when there
// is none, ErrInUse while a DID routes to it.
func (s *Store) DeleteQueue(ctx context.Context, number string) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if err := refusedByDIDs(ctx, tx, `target_kind = 'queue' AND target = ?`, number); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM queues WHERE number = ?`, number)
		if err != nil {
			return mapErr(err)
		}
		return affectedOne(res)
	})
	if err != nil {
		return fmt.Errorf("delete queue %s: %w", number, err)
	}
	return nil
}
