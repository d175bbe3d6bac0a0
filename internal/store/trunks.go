package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
)

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
	// Outbound: the trunk is used for external numbers; the first
	// outbound trunk (lowest ID) is the default route.
	Outbound bool
}

// CreateTrunk inserts t; ErrConflict on a taken name, ErrInvalid on an
// empty name or host, a transport other than udp/tcp or a malformed CIDR.
func (s *Store) CreateTrunk(ctx context.Context, t Trunk) (Trunk, error) {
	if err := validateTrunk(t); err != nil {
		return Trunk{}, fmt.Errorf("create trunk %q: %w", t.Name, err)
	}
	js, err := cidrsJSON(t.InboundCIDRs)
	if err != nil {
		return Trunk{}, fmt.Errorf("create trunk %q: %w", t.Name, err)
	}
	res, err := s.w.ExecContext(ctx, `
		INSERT INTO trunks (name, host, transport, username, password, inbound_cidrs, outbound)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Name, t.Host, t.Transport, t.Username, t.Password, string(js), t.Outbound)
	if err != nil {
		return Trunk{}, fmt.Errorf("create trunk %q: %w", t.Name, mapErr(err))
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return Trunk{}, fmt.Errorf("create trunk %q: %w", t.Name, err)
	}
	if len(t.InboundCIDRs) == 0 {
		t.InboundCIDRs = nil // as it reads back
	}
	return t, nil
}

// Trunks lists all trunks ordered by ID.
func (s *Store) Trunks(ctx context.Context) ([]Trunk, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+trunkColumns+` FROM trunks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list trunks: %w", err)
	}
	defer rows.Close()
	var ts []Trunk
	for rows.Next() {
		t, err := scanTrunk(rows)
		if err != nil {
			return nil, fmt.Errorf("list trunks: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list trunks: %w", err)
	}
	return ts, nil
}

const trunkColumns = `id, name, host, transport, username, password, inbound_cidrs, outbound`

func scanTrunk(sc scanner) (Trunk, error) {
	var (
		t     Trunk
		cidrs string
	)
	if err := sc.Scan(&t.ID, &t.Name, &t.Host, &t.Transport, &t.Username, &t.Password, &cidrs, &t.Outbound); err != nil {
		return Trunk{}, err
	}
	if err := json.Unmarshal([]byte(cidrs), &t.InboundCIDRs); err != nil {
		return Trunk{}, fmt.Errorf("trunk %q: inbound CIDRs: %w", t.Name, err)
	}
	if len(t.InboundCIDRs) == 0 {
		t.InboundCIDRs = nil
	}
	return t, nil
}

// validateTrunk checks what CreateTrunk and UpdateTrunk refuse with
// ErrInvalid: an empty name or host, a transport other than udp/tcp, a
// malformed CIDR.
func validateTrunk(t Trunk) error {
	if t.Name == "" || t.Host == "" {
		return fmt.Errorf("name and host are required: %w", ErrInvalid)
	}
	if t.Transport != "udp" && t.Transport != "tcp" {
		return fmt.Errorf("transport %q: %w", t.Transport, ErrInvalid)
	}
	for _, c := range t.InboundCIDRs {
		// Parse now: a typo here would otherwise surface as calls refused
		// (or worse, accepted) at run time.
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("inbound CIDR %q: %w", c, ErrInvalid)
		}
	}
	return nil
}

// cidrsJSON is the stored form of a CIDR list: a JSON array, never null.
func cidrsJSON(cidrs []string) (string, error) {
	if cidrs == nil {
		cidrs = []string{}
	}
	js, err := json.Marshal(cidrs)
	if err != nil {
		return "", fmt.Errorf("inbound CIDRs: %w", err)
	}
	return string(js), nil
}

// TrunkByID looks a trunk up by its ID.
func (s *Store) TrunkByID(ctx context.Context, id int64) (Trunk, error) {
	t, err := scanTrunk(s.r.QueryRowContext(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE id = ?`, id))
	if err != nil {
		return Trunk{}, fmt.Errorf("trunk %d: %w", id, mapErr(err))
	}
	return t, nil
}

// UpdateTrunk changes the trunk with the given ID in one transaction: fn
// receives the stored trunk and edits it; every field but the ID is then
// validated as CreateTrunk does and written back. An error from fn aborts
// the update and is returned wrapped. ErrNotFound when there is no such
// trunk, ErrConflict on a taken name, ErrInvalid as for CreateTrunk.
func (s *Store) UpdateTrunk(ctx context.Context, id int64, fn func(*Trunk) error) (Trunk, error) {
	var t Trunk
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanTrunk(tx.QueryRowContext(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE id = ?`, id))
		if err != nil {
			return mapErr(err)
		}
		if err := fn(&t); err != nil {
			return err
		}
		t.ID = id
		if err := validateTrunk(t); err != nil {
			return err
		}
		js, err := cidrsJSON(t.InboundCIDRs)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE trunks SET name = ?, host = ?, transport = ?, username = ?, password = ?, inbound_cidrs = ?, outbound = ?
			WHERE id = ?`,
			t.Name, t.Host, t.Transport, t.Username, t.Password, js, t.Outbound, id)
		return mapErr(err)
	})
	if err != nil {
		return Trunk{}, fmt.Errorf("update trunk %d: %w", id, err)
	}
	if len(t.InboundCIDRs) == 0 {
		t.InboundCIDRs = nil // as it reads back
	}
	return t, nil
}

// DeleteTrunk deletes a trunk; ErrNotFound when there is none, ErrInUse
// while it carries DIDs (the schema would delete them with it: the caller
// deletes or moves them first, knowingly).
func (s *Store) DeleteTrunk(ctx context.Context, id int64) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if err := refusedByDIDs(ctx, tx, `trunk_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM trunks WHERE id = ?`, id)
		if err != nil {
			return mapErr(err)
		}
		return affectedOne(res)
	})
	if err != nil {
		return fmt.Errorf("delete trunk %d: %w", id, err)
	}
	return nil
}
