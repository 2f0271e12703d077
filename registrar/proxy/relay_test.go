package proxy

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// An initial request on a route pre-loaded through us goes on only to a target of
// ours (a served domain, this replica, a registered device, by its Path or the
// replica holding its flow), or for a caller the policy authenticated: with
// --require-caller-auth, an extension of a served domain.
func TestMayRelayOnlyToOurTargetsOrForAuthenticatedCallers(t *testing.T) {
	now := time.Now()
	const dom = "acme.example"
	dir := &directory.Static{
		Domains: map[string]*directory.Domain{dom: directory.NewDomain(published.DomainConfig{Domain: dom, Realm: dom})},
		Credentials: map[string]*directory.Credential{
			"1001@" + dom: {Extension: "1001", Domain: dom, AOR: "1001@" + dom},
			"1002@" + dom: {Extension: "1002", Domain: dom, AOR: "1002@" + dom},
		},
	}
	table := location.New(1, nil)
	if _, err := table.Register(location.Request{AOR: "1001@" + dom, CallID: "c", CSeq: 1, Expires: 600, Now: now,
		Source: "192.0.2.1:5060", Transport: "UDP",
		Contacts: []location.ContactUpdate{{URI: "sip:1001@192.0.2.1", Expires: -1}}}, dir.Domains[dom].Policy); err != nil {
		t.Fatal(err)
	}
	live := metav1.NewTime(now.Add(time.Hour))
	extensions := fakeExtensions{"1002@" + dom: {Bindings: []sipv1.Binding{
		{URI: "sip:1002@192.0.2.2", Registrar: "b", Source: "192.0.2.2:5060", ExpiresAt: live, Path: "<sip:edge.example:5070;lr>"},
		{URI: "sip:1002@x.invalid;transport=tcp;ob", Registrar: "b", Transport: "TCP", ExpiresAt: live,
			Instance: "<urn:uuid:1>", RegID: 1, FlowRoute: "sip:10.0.0.2:5060;transport=tcp;lr;ob"},
	}}}
	self := &Self{Host: "10.0.0.1", UDPPort: 5060, TCPPort: 5060, Serves: func(h string) bool { return h == dom }}
	targets := &Targets{Directory: dir, Table: table, Extensions: extensions, Replica: "self"}

	const us = "Route: <sip:10.0.0.1:5060;lr>\n"
	const stranger, member = "sip:mallory@example.org", "sip:1001@" + dom
	for _, tc := range []struct {
		name, uri, to, from, routes string
		requireAuth, want           bool
	}{
		{"a third party", "sip:bob@198.51.100.20", "sip:bob@198.51.100.20", stranger, us, false, false},
		{"a third party, for a caller posing as ours", "sip:bob@198.51.100.20", "sip:bob@198.51.100.20", member, us, false, false},
		{"a third party, for our authenticated caller", "sip:bob@198.51.100.20", "sip:bob@198.51.100.20", member, us, true, true},
		{"a third party, for a stranger when callers authenticate", "sip:bob@198.51.100.20", "sip:bob@198.51.100.20", stranger, us, true, false},
		{"a third party behind a route naming our domain", "sip:bob@198.51.100.20", "sip:bob@198.51.100.20", stranger, "Route: <sip:" + dom + ";lr>\n", false, false},
		{"our domain, then a third party's route", "sip:1001@" + dom, "sip:1001@" + dom, stranger, us + "Route: <sip:198.51.100.20;lr>\n", false, false},
		{"our domain", "sip:" + dom, "sip:" + dom, stranger, us, false, true},
		{"this replica", "sip:10.0.0.1:5060", "sip:10.0.0.1", stranger, us, false, true},
		{"a device we hold", "sip:1001@192.0.2.1", "sip:1001@" + dom, stranger, us, false, true},
		{"a device's Contact, To naming another AOR", "sip:1001@192.0.2.1", "sip:1002@" + dom, stranger, us, false, false},
		{"a device behind its Path", "sip:1002@192.0.2.2", "sip:1002@" + dom, stranger, us + "Route: <sip:edge.example:5070;lr>\n", false, true},
		{"a device, then a route elsewhere", "sip:1002@192.0.2.2", "sip:1002@" + dom, stranger, us + "Route: <sip:198.51.100.20;lr>\n", false, false},
		{"a flow another replica holds", "sip:1002@x.invalid;transport=tcp;ob", "sip:1002@" + dom, stranger, us + "Route: <sip:10.0.0.2:5060;transport=tcp;lr;ob>\n", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Config{Directory: dir, Targets: targets, Self: self, RequireCallerAuth: tc.requireAuth})
			req := parse(t, "MESSAGE "+tc.uri+" SIP/2.0\n"+tc.routes+
				"Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK-caller\nFrom: <"+tc.from+">;tag=a1\nTo: <"+tc.to+">\n"+
				"Call-ID: c1\nCSeq: 1 MESSAGE\nContent-Length: 0\n\n")
			if !p.popOwnRoutes(req) {
				t.Fatal("no Route of ours popped")
			}
			if got := p.mayRelay(req); got != tc.want {
				t.Errorf("mayRelay = %v, want %v", got, tc.want)
			}
		})
	}
}
