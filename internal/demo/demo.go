// Package demo creates the demo organisation and describes its simulated
// traffic (Simulation).
package demo

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/store"
)

// ErrNotEmpty is returned by Seed when the store already holds users,
// extensions or trunks: seeding never mixes demo data into a real setup.
var ErrNotEmpty = errors.New("store is not empty")

// DefaultCarrierAddr is where the demo-carrier trunk sends outbound calls
// when Options.CarrierAddr is empty.
const DefaultCarrierAddr = "127.0.0.1:5090"

// Options parameterise the demo organisation.
type Options struct {
	Realm string // SIP digest realm the extensions' HA1 are computed for
	// CarrierAddr is host:port of the demo-carrier trunk, where outbound
	// calls go (a test's sipp UAS, or nothing). Default "127.0.0.1:5090".
	CarrierAddr string
}

// person is one member of the demo organisation.
type person struct {
	ext  string
	name string
	role store.Role
}

// people are the demo organisation's extensions and their users.
var people = []person{
	{"1001", "Anna de Vries", store.RoleAgent},
	{"1002", "Daan Jansen", store.RoleAgent},
	{"1003", "Sanne Bakker", store.RoleAgent},
	{"1004", "Lucas Visser", store.RoleAgent},
	{"1005", "Emma Smit", store.RoleAgent},
	{"1006", "Bram de Boer", store.RoleAgent},
	{"1007", "Fleur Mulder", store.RoleAgent},
	{"1008", "Thomas de Groot", store.RoleAgent},
	{"1009", "Reception", store.RoleOperator},
	{"1010", "Supervisor Eva Meijer", store.RoleSupervisor},
}

// queues are the demo queues, their members (penalty 0: ring all) and
// wrap-up codes. They ring all members and have no wrap-up time, so a
// softphone user sees a call ring at once; strategies and wrap-up are set
// per queue through the API.
var queues = []struct {
	number, name string
	members      []string
	wrapupCodes  []string
}{
	{"8000", "Support", []string{"1001", "1002", "1003", "1004", "1005"}, []string{"resolved", "follow-up", "escalated"}},
	{"8001", "Sales", []string{"1006", "1007", "1008"}, []string{"sale", "no-sale", "call-back"}},
}

// reasonCodes are the demo's reasons for a break or working offline.
var reasonCodes = []store.ReasonCode{
	{Code: "lunch", Label: "Lunch", Kind: store.ReasonBreak},
	{Code: "coffee", Label: "Coffee break", Kind: store.ReasonBreak},
	{Code: "training", Label: "Training", Kind: store.ReasonBreak},
	{Code: "email", Label: "Answering email", Kind: store.ReasonOffline},
	{Code: "admin", Label: "Administration", Kind: store.ReasonOffline},
}

// supervisorExt is the demo supervisor, who supervises every queue.
const supervisorExt = "1010"

const (
	carrierName   = "demo-carrier"
	adminUsername = "admin"
	adminPassword = "demo-admin"
	// didQueueBase + "1"/"2" reach the queues (+31 20 123 0001), didExtBase
	// + the extension number the extensions (+31 20 123 1001).
	didQueueBase = "+3120123000"
	didExtBase   = "+3120123"
)

// sipPassword is an extension's demo SIP password (also its user's
// console password).
func sipPassword(ext string) string { return "demo-" + ext }

// Seed creates the demo organisation on an empty store: extensions
// 1001–1010 (SIP password "demo-<ext>", realm as given), a user per
// extension (username = extension, password = the SIP password; 1009
// operator, 1010 supervisor, others agent), the admin user admin/demo-admin,
// queues Support 8000 (1001–1005) and Sales 8001 (1006–1008), the trunk
// "demo-carrier" (inbound from 127.0.0.1/32 without auth, outbound to
// opts.CarrierAddr), and DIDs
// +31201230001 → queue 8000, +31201230002 → queue 8001,
// +31201231001…+31201231010 → extensions 1001…1010; for the ACD, break
// and offline reason codes, wrap-up codes per queue, and 1010 as the
// supervisor of both queues.
// It fails with ErrNotEmpty if the store is not empty.
//
// The rows are created one by one, not in one transaction: if a write
// fails midway the store is left partly seeded, and a second Seed then
// reports ErrNotEmpty. Start again from an empty data directory.
func Seed(ctx context.Context, st *store.Store, opts Options) error {
	if opts.Realm == "" {
		// HA1 digests bind the realm: seeding with the wrong one would make
		// every phone fail authentication with no hint why.
		return errors.New("demo seed: empty realm")
	}
	if opts.CarrierAddr == "" {
		opts.CarrierAddr = DefaultCarrierAddr
	}
	if _, _, err := net.SplitHostPort(opts.CarrierAddr); err != nil {
		return fmt.Errorf("demo seed: carrier address %q: %w", opts.CarrierAddr, err)
	}
	empty, err := st.IsEmpty(ctx)
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	if !empty {
		return fmt.Errorf("demo seed: %w (it already has users, extensions or trunks)", ErrNotEmpty)
	}

	if err := createUser(ctx, st, adminUsername, "Administrator", store.RoleAdmin, adminPassword); err != nil {
		return err
	}
	for _, p := range people {
		if err := createPerson(ctx, st, p, opts.Realm); err != nil {
			return err
		}
	}
	if err := seedACD(ctx, st); err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	trunk, err := st.CreateTrunk(ctx, store.Trunk{
		Name:         carrierName,
		Host:         opts.CarrierAddr,
		Transport:    "udp",
		InboundCIDRs: []string{"127.0.0.1/32"},
		Outbound:     true,
	})
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	return createDIDs(ctx, st, trunk.ID)
}

func createPerson(ctx context.Context, st *store.Store, p person, realm string) error {
	if err := createUser(ctx, st, p.ext, p.name, p.role, sipPassword(p.ext)); err != nil {
		return err
	}
	u, err := st.UserByUsername(ctx, p.ext)
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	ha1, ha1SHA256 := registrar.Secrets(p.ext, realm, sipPassword(p.ext))
	_, err = st.CreateExtension(ctx, store.Extension{
		Number:      p.ext,
		UserID:      u.ID,
		DisplayName: p.name,
		HA1:         ha1,
		HA1SHA256:   ha1SHA256,
		Realm:       realm,
	})
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	return nil
}

func createUser(ctx context.Context, st *store.Store, username, name string, role store.Role, password string) error {
	hash, err := hashPassword(password)
	if err != nil {
		return fmt.Errorf("demo seed: user %s: %w", username, err)
	}
	_, err = st.CreateUser(ctx, store.User{Username: username, DisplayName: name, Role: role, PasswordHash: hash})
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	return nil
}

func createDIDs(ctx context.Context, st *store.Store, trunkID int64) error {
	dids := make([]store.DID, 0, 2+len(people))
	for i, q := range queues {
		dids = append(dids, store.DID{Number: fmt.Sprintf("%s%d", didQueueBase, i+1),
			TrunkID: trunkID, TargetKind: store.TargetQueue, Target: q.number})
	}
	for _, p := range people {
		// 1001 → +31201231001: the DID ends in the extension number.
		dids = append(dids, store.DID{Number: didExtBase + p.ext,
			TrunkID: trunkID, TargetKind: store.TargetExtension, Target: p.ext})
	}
	for _, d := range dids {
		if _, err := st.CreateDID(ctx, d); err != nil {
			return fmt.Errorf("demo seed: %w", err)
		}
	}
	return nil
}

// seedACD creates the queues with their wrap-up codes, the reason codes
// and the queues' supervisor.
func seedACD(ctx context.Context, st *store.Store) error {
	sup, err := st.UserByUsername(ctx, supervisorExt)
	if err != nil {
		return err
	}
	for _, q := range queues {
		members := make([]store.QueueMember, len(q.members))
		for i, m := range q.members {
			members[i] = store.QueueMember{Extension: m}
		}
		if _, err := st.CreateQueue(ctx, store.Queue{Number: q.number, Name: q.name, Strategy: "ringall", Members: members}); err != nil {
			return err
		}
		for _, c := range q.wrapupCodes {
			if _, err := st.CreateWrapupCode(ctx, store.WrapupCode{Queue: q.number, Code: c}); err != nil {
				return err
			}
		}
		if err := st.SetQueueSupervisors(ctx, q.number, []int64{sup.ID}); err != nil {
			return err
		}
	}
	for _, rc := range reasonCodes {
		if _, err := st.CreateReasonCode(ctx, rc); err != nil {
			return err
		}
	}
	return nil
}
