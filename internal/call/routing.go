package call

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/dialplan"
	"github.com/switchboard/switchboard/internal/store"
)

// routingTable is the in-memory copy of trunks and DIDs: every INVITE
// consults it, and they change rarely.
type routingTable struct {
	trunks   []trunkEntry
	dids     map[string]store.DID // by E.164 number
	outbound *store.Trunk
}

type trunkEntry struct {
	trunk    store.Trunk
	prefixes []netip.Prefix
}

func loadRoutingTable(ctx context.Context, st Store) (routingTable, error) {
	trunks, err := st.Trunks(ctx)
	if err != nil {
		return routingTable{}, fmt.Errorf("load trunks: %w", err)
	}
	dids, err := st.DIDs(ctx)
	if err != nil {
		return routingTable{}, fmt.Errorf("load dids: %w", err)
	}
	rt := routingTable{dids: make(map[string]store.DID, len(dids))}
	for _, t := range trunks {
		e := trunkEntry{trunk: t}
		for _, c := range t.InboundCIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return routingTable{}, fmt.Errorf("trunk %s: inbound cidr %q: %w", t.Name, c, err)
			}
			e.prefixes = append(e.prefixes, p)
		}
		rt.trunks = append(rt.trunks, e)
		if t.Outbound && rt.outbound == nil {
			tt := t
			rt.outbound = &tt
		}
	}
	for _, d := range dids {
		rt.dids[d.Number] = d
	}
	return rt, nil
}

// trunkFor returns the trunk whose inbound networks contain the source.
func (rt *routingTable) trunkFor(source string) *store.Trunk {
	host, _, err := net.SplitHostPort(source)
	if err != nil {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	ip = ip.Unmap()
	for i := range rt.trunks {
		for _, p := range rt.trunks[i].prefixes {
			if p.Contains(ip) {
				return &rt.trunks[i].trunk
			}
		}
	}
	return nil
}

// didFor returns the DID of extension ext, used as caller ID on outbound calls.
func (rt *routingTable) didFor(ext string) string {
	for n, d := range rt.dids {
		if d.TargetKind == store.TargetExtension && d.Target == ext {
			return n
		}
	}
	return ""
}

// Party is one end of a call as the user sees it.
type Party struct {
	Number string `json:"number"`
	Name   string `json:"name,omitempty"`
	Kind   string `json:"kind"` // "extension" | "external"
}

// route is where a call goes.
type route struct {
	kind      store.TargetKind // extension, queue, or "" for external
	target    string           // extension / queue number / E.164
	direction string           // internal | inbound | outbound
	did       string
	members   []string     // extensions to ring
	trunk     *store.Trunk // for outbound
	callerID  string       // number presented to the callee
	// autoAnswer asks the devices to answer by themselves (the console's
	// answer): Call-Info answer-after=0.
	autoAnswer bool
	// targetName is the display name of an extension target, read with
	// the extension while routing, so the answering leg needs no lookup.
	targetName string
}

// answeringParty is who a leg that reached destination d is: the
// extension (its name from the route when it is the route's target, else
// looked up) or the external number dialled.
func (m *Manager) answeringParty(ctx context.Context, r route, d destination) Party {
	if d.trunk != nil {
		return Party{Number: r.target, Kind: "external"}
	}
	p := Party{Number: d.label, Kind: "extension"}
	if r.kind == store.TargetExtension && r.target == d.label && r.targetName != "" {
		p.Name = r.targetName
	} else if e, err := m.st.ExtensionByNumber(ctx, d.label); err == nil {
		p.Name = e.DisplayName
	}
	return p
}

func (r route) describe() string {
	switch {
	case r.trunk != nil:
		return "trunk:" + r.trunk.Name
	default:
		return string(r.kind) + ":" + r.target
	}
}

// routeError carries the SIP response a routing failure maps to.
type routeError struct {
	code        int
	reason      string
	disposition store.Disposition
	err         error
	// warning, when set, is the text of a Warning header (RFC 3261
	// §20.43, code 399) telling the caller why.
	warning string
	// record asks for a CDR of the refusal (a policy decision someone may
	// need to account for, unlike a misdial); direction and target go in it.
	record            bool
	direction, target string
	trunk             string
}

func (e *routeError) Error() string { return fmt.Sprintf("%d %s: %v", e.code, e.reason, e.err) }
func (e *routeError) Unwrap() error { return e.err }

func notFound(format string, args ...any) *routeError {
	return &routeError{code: sip.StatusNotFound, reason: "Not Found", disposition: store.DispositionRejected,
		err: fmt.Errorf(format, args...)}
}

// routeInbound routes a call from a trunk to a DID.
func (m *Manager) routeInbound(ctx context.Context, rt *routingTable, user string) (route, error) {
	number, err := dialplan.E164(user, m.cfg.CountryCode)
	if err != nil {
		return route{}, notFound("inbound number %q: %w", user, err)
	}
	did, ok := rt.dids[number]
	if !ok {
		return route{}, notFound("no DID %s", number)
	}
	r, err := m.routeTarget(ctx, did.TargetKind, did.Target, "")
	if err != nil {
		return route{}, err
	}
	r.direction, r.did = "inbound", number
	return r, nil
}

// routeFromExtension routes what an authenticated extension dialled.
func (m *Manager) routeFromExtension(ctx context.Context, rt *routingTable, caller store.Extension, dialled string) (route, error) {
	number, err := dialplan.Clean(dialled)
	if err != nil {
		return route{}, &routeError{code: sip.StatusAddressIncomplete, reason: "Address Incomplete",
			disposition: store.DispositionRejected, err: err}
	}
	if e, err := m.st.ExtensionByNumber(ctx, number); err == nil {
		r := extensionTarget(e)
		r.direction = "internal"
		return r, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return route{}, err
	}
	if q, err := m.st.QueueByNumber(ctx, number); err == nil {
		r := queueRoute(q, caller.Number)
		r.direction = "internal"
		return r, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return route{}, err
	}
	e164, err := dialplan.E164(number, m.cfg.CountryCode)
	if err != nil {
		return route{}, notFound("dialled %q: not an extension, queue or external number: %w", number, err)
	}
	if did, ok := rt.dids[e164]; ok {
		// Our own DID dialled from inside: stay inside.
		r, err := m.routeTarget(ctx, did.TargetKind, did.Target, caller.Number)
		r.direction, r.did = "internal", e164
		return r, err
	}
	if err := m.checkOutdial(ctx, rt, caller, e164); err != nil {
		return route{}, err
	}
	if rt.outbound == nil {
		return route{}, &routeError{code: sip.StatusServiceUnavailable, reason: "No Route",
			disposition: store.DispositionFailed, err: errors.New("no outbound trunk configured")}
	}
	callerID := rt.didFor(caller.Number)
	if callerID == "" {
		callerID = caller.Number
	}
	return route{kind: "", target: e164, direction: "outbound", trunk: rt.outbound, callerID: callerID}, nil
}

// checkOutdial refuses an external call (403, Warning "outdial not
// permitted") when the profile of the user owning the calling extension
// does not allow outdial. An extension without a user is not restricted.
// The other profile flags are not enforced here: keypad dialling and
// recording control come with call control, and allowed_anis with
// originate (outbound calls present the extension's DID until then).
func (m *Manager) checkOutdial(ctx context.Context, rt *routingTable, caller store.Extension, e164 string) error {
	u, err := m.st.UserOfExtension(ctx, caller.Number)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("profile of extension %s: %w", caller.Number, err)
	}
	if u.Profile.CanOutdial {
		return nil
	}
	m.log.Warn("outdial refused: the user's profile does not permit external calls",
		"extension", caller.Number, "user", u.Username, "user_id", u.ID, "dialled", e164)
	re := &routeError{code: sip.StatusForbidden, reason: "Forbidden", disposition: store.DispositionRejected,
		err:     fmt.Errorf("user %s (extension %s) may not call external numbers", u.Username, caller.Number),
		warning: "outdial not permitted", record: true, direction: "outbound", target: e164}
	if rt.outbound != nil {
		re.target, re.trunk = "trunk:"+rt.outbound.Name, rt.outbound.Name
	}
	return re
}

// refuse answers an INVITE that routing refused with re's response and,
// when re asks for one, writes a CDR of the refusal.
func (m *Manager) refuse(tx sip.ServerTransaction, req *sip.Request, caller Party, dialled string, re *routeError) {
	var hdrs []sip.Header
	if re.warning != "" {
		hdrs = append(hdrs, sip.NewHeader("Warning", `399 switchboard "`+re.warning+`"`))
	}
	m.respond(tx, req, re.code, re.reason, hdrs...)
	if re.record {
		now := time.Now()
		m.cdrs.write(store.CDR{
			CallID: newID(), Direction: re.direction, From: caller.Number, FromName: caller.Name,
			To: dialled, Target: re.target, Trunk: re.trunk, StartedAt: now, EndedAt: now,
			Disposition: re.disposition, SIPCode: re.code, HangupBy: "system", Reason: re.warning,
		})
	}
}

func (m *Manager) routeTarget(ctx context.Context, kind store.TargetKind, target, exclude string) (route, error) {
	switch kind {
	case store.TargetExtension:
		e, err := m.st.ExtensionByNumber(ctx, target)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return route{}, notFound("extension %s", target)
			}
			return route{}, err
		}
		return extensionTarget(e), nil
	case store.TargetQueue:
		q, err := m.st.QueueByNumber(ctx, target)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return route{}, notFound("queue %s", target)
			}
			return route{}, err
		}
		return queueRoute(q, exclude), nil
	default:
		return route{}, notFound("unknown target kind %q", kind)
	}
}

// extensionTarget rings extension e's devices.
func extensionTarget(e store.Extension) route {
	return route{kind: store.TargetExtension, target: e.Number, members: []string{e.Number}, targetName: e.DisplayName}
}

// queueRoute rings every member (the ACD's strategies come later).
func queueRoute(q store.Queue, exclude string) route {
	r := route{kind: store.TargetQueue, target: q.Number}
	for _, mem := range q.Members {
		if mem.Extension != exclude {
			r.members = append(r.members, mem.Extension)
		}
	}
	return r
}

// destination is one INVITE of a fork.
type destination struct {
	uri        sip.Uri
	addr       string // where to send (host:port)
	transport  string
	label      string // extension or trunk name, for the CDR
	trunk      *store.Trunk
	autoAnswer bool
}

func (m *Manager) destinations(r route, callerSource string) []destination {
	if r.trunk != nil {
		host, port, err := net.SplitHostPort(r.trunk.Host)
		if err != nil {
			return nil
		}
		u := sip.Uri{Scheme: "sip", User: r.target, Host: host, UriParams: sip.NewParams()}
		fmt.Sscan(port, &u.Port)
		tr := strings.ToLower(r.trunk.Transport)
		if tr == "" {
			tr = "udp"
		}
		return []destination{{uri: u, addr: r.trunk.Host, transport: tr, label: r.trunk.Name, trunk: r.trunk}}
	}
	var out []destination
	for _, ext := range r.members {
		for _, c := range m.reg.Lookup(ext) {
			if c.Source == callerSource {
				continue // never ring the device that is calling
			}
			tr := c.Transport
			if tr == "" {
				tr = "udp"
			}
			out = append(out, destination{uri: c.URI, addr: c.Source, transport: tr, label: ext, autoAnswer: r.autoAnswer})
		}
	}
	return out
}

// Refusal reports the SIP status, reason and Warning text of a routing
// refusal inside err (unknown number, outdial not permitted …), for the
// API to explain a refused transfer, consultation or originate.
func Refusal(err error) (code int, reason, warning string, ok bool) {
	var re *routeError
	if !errors.As(err, &re) {
		return 0, "", "", false
	}
	return re.code, re.reason, re.warning, true
}
