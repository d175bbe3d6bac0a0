package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

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
	UpdatedAt  time.Time // set to now when zero
}

// SaveBindings upserts bindings (key: extension + contact URI) and deletes
// those with a zero or past Expires, in one transaction. It also purges
// every stored binding that has expired, so the table does not grow with
// devices that went away without unregistering.
func (s *Store) SaveBindings(ctx context.Context, bs []Binding) error {
	for _, b := range bs {
		if b.Extension == "" || b.ContactURI == "" {
			return fmt.Errorf("save bindings: extension %q contact %q: both are required: %w",
				b.Extension, b.ContactURI, ErrInvalid)
		}
	}
	now := time.Now()
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		for _, b := range bs {
			if !b.Expires.After(now) { // also true for the zero time
				// RFC 3261 §10.2.2: Expires 0 removes the binding.
				if _, err := tx.ExecContext(ctx,
					`DELETE FROM bindings WHERE extension = ? AND contact_uri = ?`,
					b.Extension, b.ContactURI); err != nil {
					return fmt.Errorf("delete binding of %s: %w", b.Extension, err)
				}
				continue
			}
			updated := b.UpdatedAt
			if updated.IsZero() {
				updated = now
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO bindings (extension, contact_uri, source, transport, user_agent, call_id, cseq, expires_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (extension, contact_uri) DO UPDATE SET
					source = excluded.source,
					transport = excluded.transport,
					user_agent = excluded.user_agent,
					call_id = excluded.call_id,
					cseq = excluded.cseq,
					expires_at = excluded.expires_at,
					updated_at = excluded.updated_at`,
				b.Extension, b.ContactURI, b.Source, b.Transport, b.UserAgent, b.CallID,
				int64(b.CSeq), b.Expires.UnixMilli(), updated.UnixMilli()); err != nil {
				return fmt.Errorf("upsert binding of %s: %w", b.Extension, mapErr(err))
			}
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM bindings WHERE expires_at <= ?`, now.UnixMilli()); err != nil {
			return fmt.Errorf("purge expired bindings: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save bindings: %w", err)
	}
	return nil
}

// Bindings returns all bindings that have not expired at now, ordered by
// extension and contact URI.
func (s *Store) Bindings(ctx context.Context, now time.Time) ([]Binding, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT extension, contact_uri, source, transport, user_agent, call_id, cseq, expires_at, updated_at
		FROM bindings WHERE expires_at > ? ORDER BY extension, contact_uri`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list bindings: %w", err)
	}
	defer rows.Close()
	var bs []Binding
	for rows.Next() {
		var (
			b                Binding
			cseq             int64
			expires, updated int64
		)
		if err := rows.Scan(&b.Extension, &b.ContactURI, &b.Source, &b.Transport, &b.UserAgent,
			&b.CallID, &cseq, &expires, &updated); err != nil {
			return nil, fmt.Errorf("list bindings: %w", err)
		}
		b.CSeq = uint32(cseq)
		b.Expires = time.UnixMilli(expires).UTC()
		b.UpdatedAt = time.UnixMilli(updated).UTC()
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list bindings: %w", err)
	}
	return bs, nil
}
