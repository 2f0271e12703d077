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

type fakeExtensions map[string]*directory.ExtensionEntry

func (f fakeExtensions) ByAOR(aor string) (*directory.ExtensionEntry, bool) {
	e, ok := f[aor]
	return e, ok
}

func TestTargetsFind(t *testing.T) {
	now := time.Now()
	const dom = "acme.example"
	dir := &directory.Static{
		Domains: map[string]*directory.Domain{dom: directory.NewDomain(published.DomainConfig{Domain: dom, Realm: dom})},
		Credentials: map[string]*directory.Credential{
			"1001@" + dom: {Extension: "1001", Domain: dom, AOR: "1001@" + dom},
			"1002@" + dom: {Extension: "1002", Domain: dom, AOR: "1002@" + dom},
			"1004@" + dom: {Extension: "1004", Domain: dom, AOR: "1004@" + dom},
		},
	}
	table := location.New(1, nil)
	if _, err := table.Register(location.Request{AOR: "1001@" + dom, CallID: "c", CSeq: 1, Expires: 600, Now: now,
		Source: "192.0.2.1:5060", Transport: "UDP",
		Contacts: []location.ContactUpdate{{URI: "sip:1001@192.0.2.1", Expires: -1, Q: location.QOf(700)}}}, dir.Domains[dom].Policy); err != nil {
		t.Fatal(err)
	}
	live, dead := metav1.NewTime(now.Add(time.Hour)), metav1.NewTime(now.Add(-time.Second))
	extensions := fakeExtensions{
		"1001@" + dom: {Bindings: []sipv1.Binding{
			{URI: "sip:1001@192.0.2.1", Registrar: "b", Source: "stale", ExpiresAt: live}, // ours wins per URI
			{URI: "sip:1001@192.0.2.2", Registrar: "b", Source: "192.0.2.2:5060", ExpiresAt: live, Q: "0.5"},
			{URI: "sip:1001@192.0.2.3", Registrar: "b", ExpiresAt: dead},    // past its lease
			{URI: "sip:1001@192.0.2.4", Registrar: "self", ExpiresAt: live}, // we dropped it
		}},
		"1003@" + dom: {Disabled: true},
		"1004@" + dom: {Disabled: true},
		"1005@" + dom: {},
	}
	l := &Targets{Directory: dir, Table: table, Extensions: extensions, Replica: "self"}
	st, ts := l.Find(dom, "1001", now)
	if st != Found || len(ts) != 2 || !ts[0].Local || ts[0].Source != "192.0.2.1:5060" || ts[1].Registrar != "b" {
		t.Errorf("1001: %v %+v", st, ts)
	}
	// Each target keeps its q: ours from the table, the other replica's from status.
	if len(ts) == 2 && (ts[0].Q != location.QOf(700) || ts[1].Q != location.QOf(500)) {
		t.Errorf("1001: q %v and %v, want 0.7 and 0.5", ts[0].Q, ts[1].Q)
	}
	for user, want := range map[string]Status{"1002": NotRegistered, "1003": Disabled, "1004": Disabled, "1005": NotRegistered, "9999": NoSuchUser} {
		if st, _ := l.Find(dom, user, now); st != want {
			t.Errorf("%s: status %v, want %v", user, st, want)
		}
	}
	if tg, ok := l.ByURI("1001@"+dom, "sip:1001@192.0.2.2", now); !ok || tg.Source != "192.0.2.2:5060" {
		t.Errorf("ByURI: %+v %v", tg, ok)
	}
}
