package call

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/store"
)

// profileFixture is a store with anna (extension 1001, DID +31201231001),
// the unowned extension 1002, queue 8000 and an outbound trunk.
func profileFixture(t *testing.T) (*Manager, *store.Store, store.User) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	anna, err := st.CreateUser(ctx, store.User{Username: "anna", Role: store.RoleAgent})
	must(err)
	_, err = st.CreateExtension(ctx, store.Extension{Number: "1001", UserID: anna.ID, HA1: "a", HA1SHA256: "b", Realm: "r"})
	must(err)
	_, err = st.CreateExtension(ctx, store.Extension{Number: "1002", HA1: "a", HA1SHA256: "b", Realm: "r"})
	must(err)
	_, err = st.CreateQueue(ctx, store.Queue{Number: "8000", Name: "Support", Members: []store.QueueMember{{Extension: "1002"}}})
	must(err)
	tr, err := st.CreateTrunk(ctx, store.Trunk{Name: "carrier", Host: "127.0.0.1:5090", Transport: "udp", Outbound: true})
	must(err)
	_, err = st.CreateDID(ctx, store.DID{Number: "+31201231001", TrunkID: tr.ID, TargetKind: store.TargetExtension, Target: "1001"})
	must(err)
	m := &Manager{cfg: Config{CountryCode: "31"}, st: st, log: slog.New(slog.DiscardHandler)}
	return m, st, anna
}

func TestOutdialProfile(t *testing.T) {
	ctx := context.Background()
	m, st, anna := profileFixture(t)
	rt, err := loadRoutingTable(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	setOutdial := func(on bool) {
		t.Helper()
		if _, err := st.UpdateUser(ctx, anna.ID, func(u *store.User) error { u.Profile.CanOutdial = on; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	ext := func(n string) store.Extension {
		e, err := st.ExtensionByNumber(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	setOutdial(false)
	_, err = m.routeFromExtension(ctx, &rt, ext("1001"), "0612345678")
	var re *routeError
	if !errors.As(err, &re) || re.code != sip.StatusForbidden || re.disposition != store.DispositionRejected ||
		re.warning != "outdial not permitted" || !re.record || re.target != "trunk:carrier" || re.direction != "outbound" {
		t.Fatalf("1001 without outdial dialling 0612345678: %v (%+v), want 403 outdial not permitted", err, re)
	}
	// Inside stays open: extensions, queues, our own DIDs.
	for _, dialled := range []string{"1002", "8000", "+31201231001", "0201231001"} {
		r, err := m.routeFromExtension(ctx, &rt, ext("1001"), dialled)
		if err != nil || r.trunk != nil {
			t.Errorf("1001 without outdial dialling %s: %+v, %v; want an internal route", dialled, r, err)
		}
	}
	// An extension without a user is not restricted.
	if r, err := m.routeFromExtension(ctx, &rt, ext("1002"), "0612345678"); err != nil || r.trunk == nil {
		t.Errorf("unowned 1002 dialling out: %+v, %v; want the trunk", r, err)
	}

	setOutdial(true)
	r, err := m.routeFromExtension(ctx, &rt, ext("1001"), "0612345678")
	if err != nil || r.trunk == nil || r.target != "+31612345678" || r.callerID != "+31201231001" {
		t.Errorf("1001 with outdial: %+v, %v; want the trunk with caller ID +31201231001", r, err)
	}
}

// fakeTx records the response a server transaction is given.
type fakeTx struct {
	sip.ServerTransaction
	res *sip.Response
}

func (f *fakeTx) Respond(res *sip.Response) error { f.res = res; return nil }

func TestRefuseWritesWarningAndCDR(t *testing.T) {
	ctx := context.Background()
	m, st, _ := profileFixture(t)
	m.cdrs = newCDRWriter(st, m.log)
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "0612345678", Host: "127.0.0.1"})
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{User: "1001", Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{User: "0612345678", Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("Call-ID", "x"))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060, Params: sip.NewParams()})
	tx := &fakeTx{}
	re := &routeError{code: sip.StatusForbidden, reason: "Forbidden", disposition: store.DispositionRejected,
		err: errors.New("no"), warning: "outdial not permitted", record: true, direction: "outbound", target: "trunk:carrier", trunk: "carrier"}
	m.refuse(tx, req, Party{Number: "1001", Name: "Anna", Kind: "extension"}, "0612345678", re)
	m.cdrs.close()
	if tx.res == nil || tx.res.StatusCode != 403 {
		t.Fatalf("response %v, want 403", tx.res)
	}
	if h := tx.res.GetHeader("Warning"); h == nil || h.Value() != `399 switchboard "outdial not permitted"` {
		t.Errorf("Warning = %v", h)
	}
	cdrs, err := st.CDRs(ctx, 10)
	if err != nil || len(cdrs) != 1 {
		t.Fatalf("CDRs = %+v, %v; want one", cdrs, err)
	}
	if c := cdrs[0]; c.Disposition != store.DispositionRejected || c.SIPCode != 403 || c.From != "1001" ||
		c.To != "0612345678" || c.Target != "trunk:carrier" || c.Direction != "outbound" || c.HangupBy != "system" {
		t.Errorf("CDR = %+v", c)
	}
}
