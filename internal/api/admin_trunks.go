package api

import (
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/store"
)

// Trunks: GET/POST /api/trunks, GET/PATCH/DELETE /api/trunks/{id}. Admin
// only. The password is write-only: responses say has_password. Every
// change reloads the call manager's routing table.

// trunkNamePattern: a trunk's name shows in CDRs ("trunk:<name>") and logs.
var trunkNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// hostLabel is one label of a DNS name (RFC 1123 §2.1).
var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// maxInboundCIDRs bounds a trunk's inbound networks; every INVITE from
// outside scans them.
const maxInboundCIDRs = 64

// trunkView is a trunk as the API shows it, without its password.
type trunkView struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Host         string   `json:"host"`
	Transport    string   `json:"transport"`
	Username     string   `json:"username"`
	HasPassword  bool     `json:"has_password"`
	InboundCIDRs []string `json:"inbound_cidrs"`
	Outbound     bool     `json:"outbound"`
}

func newTrunkView(t store.Trunk) trunkView {
	cidrs := t.InboundCIDRs
	if cidrs == nil {
		cidrs = []string{}
	}
	return trunkView{ID: t.ID, Name: t.Name, Host: t.Host, Transport: t.Transport, Username: t.Username,
		HasPassword: t.Password != "", InboundCIDRs: cidrs, Outbound: t.Outbound}
}

// trunkBody is a trunk in a request; absent fields are nil. POST requires
// name and host (transport defaults to udp); PATCH changes what is present.
type trunkBody struct {
	Name         *string   `json:"name"`
	Host         *string   `json:"host"`
	Transport    *string   `json:"transport"`
	Username     *string   `json:"username"`
	Password     *string   `json:"password"`
	InboundCIDRs *[]string `json:"inbound_cidrs"`
	Outbound     *bool     `json:"outbound"`
}

// apply validates the present fields and sets them on t, writing CIDRs in
// their canonical form ("10.1.2.3/8" becomes "10.0.0.0/8"); t is unchanged
// when it returns an error.
func (b trunkBody) apply(t *store.Trunk) *fieldError {
	next := *t
	if b.Name != nil {
		if !trunkNamePattern.MatchString(*b.Name) {
			return invalidField("name", "must be 1 to 64 letters, digits or . _ -, starting with a letter or digit")
		}
		next.Name = *b.Name
	}
	if b.Host != nil {
		if fe := checkHostPort("host", *b.Host); fe != nil {
			return fe
		}
		next.Host = *b.Host
	}
	if b.Transport != nil {
		if *b.Transport != "udp" && *b.Transport != "tcp" {
			return invalidField("transport", "must be udp or tcp")
		}
		next.Transport = *b.Transport
	}
	if b.Username != nil {
		if fe := checkText("username", *b.Username, 0, 128); fe != nil {
			return fe
		}
		next.Username = *b.Username
	}
	if b.Password != nil {
		if fe := checkText("password", *b.Password, 0, 128); fe != nil {
			return fe
		}
		next.Password = *b.Password
	}
	if b.InboundCIDRs != nil {
		if len(*b.InboundCIDRs) > maxInboundCIDRs {
			return invalidField("inbound_cidrs", "must list at most "+strconv.Itoa(maxInboundCIDRs)+" networks")
		}
		cidrs := make([]string, 0, len(*b.InboundCIDRs))
		for _, c := range *b.InboundCIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return invalidField("inbound_cidrs", "entry "+strconv.Quote(c)+" is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32")
			}
			cidrs = append(cidrs, p.Masked().String())
		}
		next.InboundCIDRs = cidrs
	}
	if b.Outbound != nil {
		next.Outbound = *b.Outbound
	}
	*t = next
	return nil
}

// checkHostPort accepts host:port with an IP address or DNS name and a
// port 1–65535 (IPv6 in brackets).
func checkHostPort(field, v string) *fieldError {
	bad := invalidField(field, "must be host:port, e.g. sip.example.net:5060, 203.0.113.5:5060 or [2001:db8::5]:5060")
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return bad
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return bad
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if len(host) > 253 {
		return bad
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if !hostLabel.MatchString(label) {
			return bad
		}
	}
	return nil
}

func (s *Server) listTrunks(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	ts, err := s.st.Trunks(r.Context())
	if err != nil {
		s.storeError(w, "trunk", "list trunks", err)
		return
	}
	out := make([]trunkView, len(ts))
	for i, t := range ts {
		out[i] = newTrunkView(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"trunks": out})
}

func (s *Server) getTrunk(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	t, err := s.st.TrunkByID(r.Context(), id)
	if err != nil {
		s.storeError(w, "trunk", "read the trunk", err)
		return
	}
	writeJSON(w, http.StatusOK, newTrunkView(t))
}

func (s *Server) createTrunk(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var body trunkBody
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Name == nil {
		writeFieldError(w, invalidField("name", "is required"))
		return
	}
	if body.Host == nil {
		writeFieldError(w, invalidField("host", "is required"))
		return
	}
	t := store.Trunk{Transport: "udp"}
	if fe := body.apply(&t); fe != nil {
		writeFieldError(w, fe)
		return
	}
	ok := s.changeRouting(w, r, "trunk", "create the trunk", func() error {
		var err error
		t, err = s.st.CreateTrunk(r.Context(), t)
		return err
	})
	if !ok {
		return
	}
	s.log.Info("trunk created", "trunk_id", t.ID, "trunk", t.Name, "by", p.User.Username)
	writeJSON(w, http.StatusCreated, newTrunkView(t))
}

// updateTrunk changes the fields present; "password": "" removes the
// password.
func (s *Server) updateTrunk(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body trunkBody
	if !decodeBody(w, r, &body) {
		return
	}
	// Validate before touching the store: bad input is 400 whether or not
	// the trunk exists.
	if fe := body.apply(&store.Trunk{}); fe != nil {
		writeFieldError(w, fe)
		return
	}
	var t store.Trunk
	ok = s.changeRouting(w, r, "trunk", "update the trunk", func() error {
		var err error
		t, err = s.st.UpdateTrunk(r.Context(), id, func(t *store.Trunk) error {
			if fe := body.apply(t); fe != nil {
				return fe
			}
			return nil
		})
		return err
	})
	if !ok {
		return
	}
	s.log.Info("trunk updated", "trunk_id", t.ID, "trunk", t.Name, "by", p.User.Username)
	writeJSON(w, http.StatusOK, newTrunkView(t))
}

// deleteTrunk deletes a trunk; 409 trunk_in_use while DIDs are on it.
func (s *Server) deleteTrunk(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	ok = s.changeRouting(w, r, "trunk", "delete the trunk", func() error {
		return s.st.DeleteTrunk(r.Context(), id)
	})
	if !ok {
		return
	}
	s.log.Info("trunk deleted", "trunk_id", id, "by", p.User.Username)
	w.WriteHeader(http.StatusNoContent)
}
