// Package demo creates the demo organisation and (later) its simulated traffic.
//
// CONTRACT FILE.
package demo

import (
	"context"

	"github.com/switchboard/switchboard/internal/store"
)

// Seed creates the demo organisation on an empty store: extensions
// 1001–1010 (SIP password "demo-<ext>", realm as given), a user per
// extension (username = extension, password = the SIP password; 1009
// operator, 1010 supervisor, others agent), the admin user admin/demo-admin,
// queues Support 8000 (1001–1005) and Sales 8001 (1006–1008), the trunk
// "demo-carrier" (inbound from 127.0.0.1/32 without auth, outbound to
// opts.CarrierAddr), and DIDs
// +31201230001 → queue 8000, +31201230002 → queue 8001,
// +31201231001…+31201231010 → extensions 1001…1010.
// It fails if the store is not empty.
func Seed(ctx context.Context, st *store.Store, opts Options) error { panic("unimplemented") }

// Options parameterise the demo organisation.
type Options struct {
	Realm string // SIP digest realm the extensions' HA1 are computed for
	// CarrierAddr is host:port of the demo-carrier trunk, where outbound
	// calls go (a test's sipp UAS, or nothing). Default "127.0.0.1:5090".
	CarrierAddr string
}
