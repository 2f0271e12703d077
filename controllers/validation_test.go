package controllers_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// The API server itself refuses bad specs, with the CRD's CEL messages.
func TestAPIServerRefusesInvalidSpecs(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	cases := []struct {
		name string
		obj  client.Object
		want string
	}{
		{"customerID not a DNS label", domain(ns, "d1", "Acme_Corp"), "customerID must be a DNS label"},
		{"customerID too long", domain(ns, "d2", strings.Repeat("a", 64)), "may not be more than 63"},
		{"min above max expires", func() *sipv1.Domain {
			d := domain(ns, "d3", "c3")
			d.Spec.Registration = sipv1.RegistrationPolicy{MinExpires: 600, DefaultExpires: 600, MaxExpires: 300}
			return d
		}(), "minExpires must not be greater than maxExpires"},
		{"default outside min..max", func() *sipv1.Domain {
			d := domain(ns, "d4", "c4")
			d.Spec.Registration = sipv1.RegistrationPolicy{MinExpires: 60, DefaultExpires: 30, MaxExpires: 300}
			return d
		}(), "defaultExpires must lie between minExpires and maxExpires"},
		{"unknown algorithm", func() *sipv1.Domain {
			d := domain(ns, "d5", "c5")
			d.Spec.Authentication.Algorithms = []sipv1.DigestAlgorithm{"SHA-1"}
			return d
		}(), `Unsupported value: "SHA-1"`},
		{"domainRef not a name", extension(ns, "e7", "Bad_Domain", "1007"), "domainRef must be the name of a Domain"},
		{"passwordSecretRef.name not a name", func() *sipv1.Extension {
			e := extension(ns, "e8", "d", "1008")
			e.Spec.PasswordSecretRef = &sipv1.SecretKeyReference{Name: "My Secret"}
			return e
		}(), "passwordSecretRef.name must be a Secret name"},
		{"extension with a space", extension(ns, "e1", "d", "10 01"), "extension must be lowercase letters and digits"},
		{"extension upper case", extension(ns, "e2", "d", "Alice"), "extension must be lowercase letters and digits"},
		{"maxContacts zero", func() *sipv1.Extension {
			e := extension(ns, "e3", "d", "1003")
			zero := int32(0)
			e.Spec.MaxContacts = &zero
			return e
		}(), "should be greater than or equal to 1"},
		{"extension algorithms empty", func() *sipv1.Extension {
			e := extension(ns, "e4", "d", "1004")
			e.Spec.Authentication = &sipv1.ExtensionAuthentication{Algorithms: []sipv1.DigestAlgorithm{}}
			return e
		}(), "should have at least 1 items"},
		{"extension algorithm repeated", func() *sipv1.Extension {
			e := extension(ns, "e5", "d", "1005")
			e.Spec.Authentication = &sipv1.ExtensionAuthentication{Algorithms: []sipv1.DigestAlgorithm{sipv1.DigestSHA256, sipv1.DigestSHA256}}
			return e
		}(), `Duplicate value: "SHA-256"`},
		{"extension algorithm unknown", func() *sipv1.Extension {
			e := extension(ns, "e6", "d", "1006")
			e.Spec.Authentication = &sipv1.ExtensionAuthentication{Algorithms: []sipv1.DigestAlgorithm{"SHA-512-256"}}
			return e
		}(), `Unsupported value: "SHA-512-256"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := k8s.Create(ctx, c.obj)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("create: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestImmutableFieldsCannotChange(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	d := domain(ns, "imm", "imm-"+ns)
	e := extension(ns, "imm", "imm", "2001")
	mustCreate(t, d, e)

	origD, origE := d.DeepCopy(), e.DeepCopy()
	d.Spec.CustomerID = "other-" + ns
	if err := k8s.Patch(ctx, d, client.MergeFrom(origD)); err == nil || !strings.Contains(err.Error(), "customerID is immutable") {
		t.Errorf("changing customerID: %v", err)
	}
	e.Spec.Extension = "2002"
	if err := k8s.Patch(ctx, e, client.MergeFrom(origE)); err == nil || !strings.Contains(err.Error(), "extension is immutable") {
		t.Errorf("changing extension: %v", err)
	}
}

// A Domain's or Extension's name labels what the operator publishes for it, so the
// API server refuses one longer than a label value (63), saying so, rather than the
// operator retrying for ever; 63 characters are served.
func TestAPIServerRefusesNamesLongerThanALabel(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	long, longest := strings.Repeat("n", 64), strings.Repeat("n", 63)
	for _, obj := range []client.Object{domain(ns, long, "long-"+ns), extension(ns, long, longest, "1001")} {
		err := k8s.Create(ctx, obj)
		if err == nil || !strings.Contains(err.Error(), "metadata.name must be at most 63 characters") {
			t.Errorf("creating a %T of a 64-character name: %v, want the limit explained", obj, err)
		}
	}
	d, e := domain(ns, longest, "long-"+ns), extension(ns, longest, longest, "1001")
	mustCreate(t, d, e)
	readyIs(t, d, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
}
