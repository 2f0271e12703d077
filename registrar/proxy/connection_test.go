package proxy

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/location"
)

const (
	connDomain = "acme.example"
	connAOR    = "1001@" + connDomain
	// holderRoute is the flow route the replica holding a connection publishes.
	holderRoute = "sip:10.0.0.2:5060;transport=tcp;lr;ob"
)

// A binding on a connection (TCP, TLS, WS, WSS) that another replica holds is
// reached through that replica, reg-id or not, when status names its route:
// the request is relayed there with a flow token for the AOR, never sent to the
// Contact (behind a NAT nothing answers there, and a phone has no certificate a
// public CA signed). Without a route (status of an older release) a TCP or TLS
// binding is still called at its Contact; UDP and Path bindings are unchanged.
func TestHopForRelaysToTheReplicaHoldingTheConnection(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	p := New(Config{Nonces: digest.NewReplicaNonceSigner(key, 0)})
	req := request(t, "INVITE", "c1", "sip:1002@acme.example", "")
	relayed := func(transport, uri string) Target {
		return Target{URI: uri, Source: "203.0.113.5:40002", Transport: transport, Registrar: "a", FlowRoute: holderRoute}
	}
	without := func(tt Target) Target { tt.FlowRoute = ""; return tt }
	for _, tc := range []struct {
		name              string
		t                 Target
		dest, transport   string
		relay, noHop      bool
		routeWithoutRelay string
	}{
		{"TCP", relayed("TCP", "sip:1001@192.168.1.20:5060;transport=tcp"), "10.0.0.2:5060", "TCP", true, false, ""},
		{"TLS", relayed("TLS", "sip:1001@192.168.1.20:5061;transport=tls"), "10.0.0.2:5060", "TCP", true, false, ""},
		{"sips: Contact", relayed("TLS", "sips:1001@192.168.1.20"), "10.0.0.2:5060", "TCP", true, false, ""},
		{"WS", relayed("WS", "sip:x8k2@q1w2.invalid;transport=ws"), "10.0.0.2:5060", "TCP", true, false, ""},
		{"WSS", relayed("WSS", "sip:x8k2@q1w2.invalid;transport=ws"), "10.0.0.2:5060", "TCP", true, false, ""},
		{"TCP without a route: its Contact", without(relayed("TCP", "sip:1001@192.168.1.20:5070;transport=tcp")), "192.168.1.20:5070", "TCP", false, false, ""},
		{"TLS without a route: its Contact", without(relayed("TLS", "sip:1001@192.168.1.20;transport=tls")), "192.168.1.20:5061", "TLS", false, false, ""},
		{"WS without a route: nowhere", without(relayed("WS", "sip:x8k2@q1w2.invalid;transport=ws")), "", "", false, true, ""},
		{"TCP with a route that does not parse: its Contact", func() Target {
			tt := relayed("TCP", "sip:1001@192.168.1.20:5070;transport=tcp")
			tt.FlowRoute = "not a uri"
			return tt
		}(), "192.168.1.20:5070", "TCP", false, false, ""},
		// Not published for these, and ignored should an entry carry one.
		{"UDP: its source", relayed("UDP", "sip:1001@192.168.1.20"), "203.0.113.5:40002", "UDP", false, false, ""},
		{"TLS behind a Path: the Path", func() Target {
			tt := relayed("TLS", "sip:1001@192.168.1.20;transport=tls")
			tt.Path = "<sip:edge.example:5070;lr>"
			return tt
		}(), "", "", false, false, "sip:edge.example:5070;lr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := p.hopFor(tc.t, connAOR, req)
			if tc.noHop {
				if ok {
					t.Fatalf("got hop %+v, want none", h)
				}
				return
			}
			if !ok || h.Fail != 0 {
				t.Fatalf("hop %+v ok %v, want a hop that is sent", h, ok)
			}
			if h.URI.String() != tc.t.URI {
				t.Errorf("Request-URI %s, want the Contact %s", h.URI.String(), tc.t.URI)
			}
			if tc.routeWithoutRelay != "" {
				if len(h.Route) != 1 || !strings.HasPrefix(h.Route[0], tc.routeWithoutRelay) {
					t.Errorf("routes %v, want %s", h.Route, tc.routeWithoutRelay)
				}
				return
			}
			if h.Dest != tc.dest || h.Transport != tc.transport {
				t.Errorf("to %s over %s, want %s over %s", h.Dest, h.Transport, tc.dest, tc.transport)
			}
			switch {
			case !tc.relay && len(h.Route) != 0:
				t.Errorf("routes %v, want none", h.Route)
			case tc.relay:
				var rt sip.Uri
				if len(h.Route) != 1 || sip.ParseUri(h.Route[0], &rt) != nil {
					t.Fatalf("routes %v, want the holder's flow route", h.Route)
				}
				if rt.User != url.QueryEscape(connAOR) || !rt.UriParams.Has(flowParam) || !rt.UriParams.Has(flowSigParam) {
					t.Errorf("route %s, want the AOR and a signature on the holder's flow route", h.Route[0])
				}
			}
		})
	}
}

// holder is a replica's proxy whose table holds bindings of connAOR and of
// 1002 (an AOR the token does not name), with a transport layer of its own.
type holder struct {
	p     *Proxy
	table *location.Table
	srv   *sipgo.Server
	dom   *directory.Domain
}

func newHolder(t *testing.T) *holder {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	client, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	dom := directory.NewDomain(published.DomainConfig{Domain: connDomain, Realm: connDomain, MaxContacts: 10})
	dir := &directory.Static{
		Domains: map[string]*directory.Domain{connDomain: dom},
		Credentials: map[string]*directory.Credential{
			connAOR:              {Extension: "1001", Domain: connDomain, AOR: connAOR},
			"1002@" + connDomain: {Extension: "1002", Domain: connDomain, AOR: "1002@" + connDomain},
		},
	}
	table := location.New(1, nil)
	targets := &Targets{Directory: dir, Table: table, Extensions: fakeExtensions{}, Replica: "a"}
	return &holder{p: New(Config{Client: client, Targets: targets, Directory: dir}), table: table, srv: srv, dom: dom}
}

// register stores a binding of aor from source over transport (an outbound flow
// when regID > 0).
func (h *holder) register(t *testing.T, aor, uri, source, transport string, regID int32) {
	t.Helper()
	c := location.ContactUpdate{URI: uri, Expires: -1}
	if regID > 0 {
		c.Instance, c.RegID = "<urn:uuid:1>", regID
	}
	if _, err := h.table.Register(location.Request{AOR: aor, CallID: "c-" + source, CSeq: 1, Expires: 600, Now: time.Now(),
		Source: source, Transport: transport, Contacts: []location.ContactUpdate{c}}, h.dom.Policy); err != nil {
		t.Fatal(err)
	}
}

// connect opens a TCP connection from a device to the holder's transport layer
// and returns the device's address, once the holder counts the connection.
func (h *holder) connect(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.srv.ServeTCP(l) }()
	t.Cleanup(func() { _ = l.Close() })
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	device := c.LocalAddr().String()
	for deadline := time.Now().Add(5 * time.Second); !h.p.hasConnection("TCP", device); {
		if time.Now().After(deadline) {
			t.Fatal("the holder never counted the device's connection")
		}
		time.Sleep(10 * time.Millisecond) // polling the transport layer, bounded by the deadline
	}
	return device
}

// relayedTo is a request relayed to the holder for connAOR with Request-URI uri.
func relayedTo(t *testing.T, uri string) *sip.Request {
	t.Helper()
	req := request(t, "INVITE", "c1", "sip:1002@acme.example", "")
	if err := sip.ParseUri(uri, &req.Recipient); err != nil {
		t.Fatal(err)
	}
	return req
}

// The holder of a binding without outbound whose connection is gone tries the
// Contact over a new connection (RFC 3261): no 430, which is for outbound flows
// alone and still ends a gone flow's request. A WebSocket device has no Contact
// to try. Only bindings of the AOR the flow token names are reached.
func TestHeldHopWithoutTheConnectionFallsBackToTheContact(t *testing.T) {
	h := newHolder(t)
	const (
		tcpContact  = "sip:1001@198.51.100.9:5070;transport=tcp"
		tlsContact  = "sip:1001@198.51.100.9;transport=tls"
		wsContact   = "sip:x8k2@q1w2.invalid;transport=ws"
		flowContact = "sip:1001@df7jal23ls0d.invalid;transport=tcp;ob"
		otherAORs   = "sip:1002@198.51.100.7:5070;transport=tcp"
	)
	h.register(t, connAOR, tcpContact, "203.0.113.5:40002", "TCP", 0)
	h.register(t, connAOR, tlsContact, "203.0.113.5:40003", "TLS", 0)
	h.register(t, connAOR, wsContact, "203.0.113.5:40004", "WSS", 0)
	h.register(t, connAOR, flowContact, "203.0.113.5:40005", "TCP", 1)
	h.register(t, "1002@"+connDomain, otherAORs, "203.0.113.5:40006", "TCP", 0)
	for _, tc := range []struct {
		name, uri, dest, transport string
		fail                       int
		found, ok                  bool
	}{
		{"TCP: its Contact", tcpContact, "198.51.100.9:5070", "TCP", 0, true, true},
		{"TLS: its Contact, port 5061", tlsContact, "198.51.100.9:5061", "TLS", 0, true, true},
		{"WSS: nowhere (480)", wsContact, "", "", 0, true, false},
		{"outbound flow: 430", flowContact, "203.0.113.5:40005", "TCP", StatusFlowFailed, true, true},
		{"a Contact we do not hold: 430", "sip:1001@198.51.100.10;transport=tcp", "", "", 0, false, false},
		{"another AOR's binding: not reached", otherAORs, "", "", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found, ok := h.p.heldHop(relayedTo(t, tc.uri), connAOR)
			if found != tc.found || ok != tc.ok {
				t.Fatalf("found %v ok %v (hop %+v), want %v %v", found, ok, got, tc.found, tc.ok)
			}
			if !ok {
				return
			}
			if got.Dest != tc.dest || got.Transport != tc.transport || got.Fail != tc.fail {
				t.Errorf("to %s over %s failing %d, want %s over %s failing %d",
					got.Dest, got.Transport, got.Fail, tc.dest, tc.transport, tc.fail)
			}
			if got.URI.String() != tc.uri {
				t.Errorf("Request-URI %s, want %s", got.URI.String(), tc.uri)
			}
		})
	}
}

// The holder sends a relayed request over the device's connection while it is
// up, not to its Contact; of a device's flows sharing one Contact, over the one
// whose connection is up.
func TestHeldHopTakesTheConnectionThatIsUp(t *testing.T) {
	h := newHolder(t)
	const contact = "sip:1001@192.168.1.20:5060;transport=tcp"
	device := h.connect(t)
	h.register(t, connAOR, contact, device, "TCP", 0)
	got, found, ok := h.p.heldHop(relayedTo(t, contact), connAOR)
	if !found || !ok || got.Dest != device || got.Transport != "TCP" || got.Fail != 0 {
		t.Errorf("hop %+v (found %v, ok %v), want over the connection from %s", got, found, ok, device)
	}

	h = newHolder(t)
	const flowContact = "sip:1001@df7jal23ls0d.invalid;transport=tcp;ob"
	device = h.connect(t)
	h.register(t, connAOR, flowContact, "203.0.113.5:40001", "TCP", 1) // its connection is gone
	h.register(t, connAOR, flowContact, device, "TCP", 2)
	got, _, ok = h.p.heldHop(relayedTo(t, flowContact), connAOR)
	if !ok || got.Dest != device || got.Fail != 0 {
		t.Errorf("hop %+v, want over flow 2's connection from %s", got, device)
	}
}

// Another replica's TCP binding without outbound is found with the route its
// holder published, so that hopFor relays to it.
func TestFindCarriesTheHoldersRouteForAConnection(t *testing.T) {
	h := newHolder(t)
	const contact = "sip:1001@192.168.1.20:5060;transport=tcp"
	h.p.targets.Extensions = fakeExtensions{connAOR: {Bindings: []sipv1.Binding{{URI: contact, Registrar: "b",
		Source: "203.0.113.5:40002", Transport: "TCP", ExpiresAt: metav1.NewTime(time.Now().Add(time.Hour)), FlowRoute: holderRoute}}}}
	st, ts := h.p.targets.Find(connDomain, "1001", time.Now())
	if st != Found || len(ts) != 1 || ts[0].Local || ts[0].Outbound || ts[0].FlowRoute != holderRoute || !relayedElsewhere(ts[0]) {
		t.Errorf("%v %+v, want b's binding, relayed along %s", st, ts, holderRoute)
	}
}
