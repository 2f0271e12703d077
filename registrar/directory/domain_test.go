package directory

import (
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

func domainConfigMap(c published.DomainConfig) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: published.DomainConfigMapName(c.CustomerID), Namespace: "registrar-system"},
		Data:       map[string]string{published.KeyConfigJSON: c.Encode()},
	}
}

// A published domain's policy is decoded when the ConfigMap arrives: a field the
// config leaves zero takes the CRD's default, a field it sets is kept, and every
// lookup returns the policy decoded then.
func TestPublishedPolicyIsDecodedWithTheCRDDefaults(t *testing.T) {
	c := NewPublished(PublishedConfig{Namespace: "registrar-system", Log: logr.Discard()})
	cfg := published.DomainConfig{CustomerID: "acme", Domain: "acme.example", Realm: "acme.example",
		MaxContacts: 5, OnMaxContacts: sipv1.Reject}
	c.putDomain(domainConfigMap(cfg))
	d, ok := c.Domain("acme.example")
	if !ok {
		t.Fatal("the published domain is unknown")
	}
	want := location.Policy{
		MinExpires:     sipv1.DefaultMinExpires,
		DefaultExpires: sipv1.DefaultDefaultExpires,
		MaxExpires:     sipv1.DefaultMaxExpires,
		MaxContacts:    5,
		OnMaxContacts:  location.Reject,
	}
	if d.Policy != want {
		t.Errorf("policy %+v, want %+v", d.Policy, want)
	}
	if again, _ := c.Domain("acme.example"); again != d {
		t.Error("a second lookup decoded the domain again")
	}

	// The operator republishes without a limit: the defaults apply from then on.
	cfg.MaxContacts, cfg.OnMaxContacts = 0, ""
	c.putDomain(domainConfigMap(cfg))
	d, _ = c.Domain("acme.example")
	want.MaxContacts, want.OnMaxContacts = int(sipv1.DefaultMaxContacts), location.ReplaceOldest
	if d.Policy != want {
		t.Errorf("republished policy %+v, want %+v", d.Policy, want)
	}
}

func TestNewDomainKeepsEveryPublishedValue(t *testing.T) {
	d := NewDomain(published.DomainConfig{Domain: "acme.example", Realm: "acme.example",
		MinExpires: 30, DefaultExpires: 300, MaxExpires: 900, MaxContacts: 1, OnMaxContacts: sipv1.ReplaceOldest,
		Challenge: sipv1.ChallengeWWWAuthenticate})
	want := location.Policy{MinExpires: 30, DefaultExpires: 300, MaxExpires: 900, MaxContacts: 1, OnMaxContacts: location.ReplaceOldest}
	if d.Policy != want {
		t.Errorf("policy %+v, want %+v", d.Policy, want)
	}
	if d.Realm != "acme.example" || d.Challenge != sipv1.ChallengeWWWAuthenticate {
		t.Errorf("the config is not kept: %+v", d.DomainConfig)
	}
}
