package store

import (
	"context"
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
	if t.Name == "" || t.Host == "" {
		return Trunk{}, fmt.Errorf("create trunk %q: name and host are required: %w", t.Name, ErrInvalid)
	}
	if t.Transport != "udp" && t.Transport != "tcp" {
		return Trunk{}, fmt.Errorf("create trunk %q: transport %q: %w", t.Name, t.Transport, ErrInvalid)
	}
	for _, c := range t.InboundCIDRs {
		// Parse now: a typo here would otherwise surface as calls refused
		// (or worse, accepted) at run time.
		if _, err := netip.ParsePrefix(c); err != nil {
			return Trunk{}, fmt.Errorf("create trunk %q: inbound CIDR %q: %w", t.Name, c, ErrInvalid)
		}
	}
	cidrs := t.InboundCIDRs
	if cidrs == nil {
		cidrs = []string{}
	}
	js, err := json.Marshal(cidrs)
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
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, name, host, transport, username, password, inbound_cidrs, outbound
		FROM trunks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list trunks: %w", err)
	}
	defer rows.Close()
	var ts []Trunk
	for rows.Next() {
		var (
			t     Trunk
			cidrs string
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.Host, &t.Transport, &t.Username, &t.Password,
			&cidrs, &t.Outbound); err != nil {
			return nil, fmt.Errorf("list trunks: %w", err)
		}
		if err := json.Unmarshal([]byte(cidrs), &t.InboundCIDRs); err != nil {
			return nil, fmt.Errorf("list trunks: trunk %q: inbound CIDRs: %w", t.Name, err)
		}
		if len(t.InboundCIDRs) == 0 {
			t.InboundCIDRs = nil
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list trunks: %w", err)
	}
	return ts, nil
}
