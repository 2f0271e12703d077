package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
)

// Deleting a Domain that still has Extensions, as the README documents: the Domain
// goes at once, its Extensions stay (Ready=False, DomainNotFound), everything
// published for it is withdrawn, and no Secret or ConfigMap of the customer is left
// in any namespace. The tenant's own password Secret and the generated one stay with
// their Extensions (the generated one is owned by its Extension, so it goes with it).
// Creating the Domain again brings the Extensions back by themselves.
func TestDeletingADomainWithExtensionsLeavesNoOrphans(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	customer := "orph-" + ns
	pw := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}, Data: map[string][]byte{"password": []byte("tenant-chosen-pw")}}
	gen := extension(ns, "gen", "d", "6001") // generated password
	ref := extension(ns, "ref", "d", "6002")
	ref.Spec.PasswordSecretRef = &sipv1.SecretKeyReference{Name: "pw"}
	mustCreate(t, pw, domain(ns, "d", customer), gen, ref)
	readyIs(t, gen, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, ref, metav1.ConditionTrue, sipv1.ReasonReady)
	if n := len(customerObjects(t, customer)); n != 3 {
		t.Fatalf("published for the customer: %v, want its domain config and 2 credentials", customerObjects(t, customer))
	}

	d := &sipv1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "d"}}
	if err := k8s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	gone(t, d) // no finalizer holds it back
	readyIs(t, gen, metav1.ConditionFalse, sipv1.ReasonDomainNotFound)
	readyIs(t, ref, metav1.ConditionFalse, sipv1.ReasonDomainNotFound)
	// Without its Domain an extension has no address of record: the AOR column
	// of kubectl get extensions goes empty rather than name one no longer served.
	for _, e := range []*sipv1.Extension{gen, ref} {
		if e.Status.AddressOfRecord != "" {
			t.Errorf("Extension %s keeps the address of record %s of a deleted Domain", e.Name, e.Status.AddressOfRecord)
		}
	}
	eventually(t, "nothing of the customer left in any namespace", func() error {
		if left := customerObjects(t, customer); len(left) > 0 {
			return fmt.Errorf("left: %v", left)
		}
		return nil
	})
	// What stays is the tenant's, in its namespace: its Secret, and the generated
	// password, owned by its Extension.
	generated := &corev1.Secret{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.GeneratedPasswordSecretName("gen")}, generated); err != nil {
		t.Fatalf("the generated password went with the Domain: %v", err)
	}
	if owner := metav1.GetControllerOf(generated); owner == nil || owner.UID != gen.UID {
		t.Errorf("the generated password Secret is owned by %v, want Extension gen (%s)", owner, gen.UID)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pw), pw); err != nil {
		t.Errorf("the tenant's password Secret: %v", err)
	}

	// The Domain again: the Extensions come back, credentials published again.
	mustCreate(t, domain(ns, "d", customer))
	readyIs(t, gen, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, ref, metav1.ConditionTrue, sipv1.ReasonReady)
	if want := "6001@" + customer + "." + suffix; gen.Status.AddressOfRecord != want {
		t.Errorf("back with its Domain, Extension gen has the address of record %q, want %q", gen.Status.AddressOfRecord, want)
	}
	eventually(t, "republished", func() error {
		if n := len(customerObjects(t, customer)); n != 3 {
			return fmt.Errorf("%d objects", n)
		}
		return nil
	})
}

// customerObjects lists every Secret and ConfigMap in any namespace labelled as
// published for the customer.
func customerObjects(t *testing.T, customer string) []string {
	t.Helper()
	sel := client.MatchingLabels{published.LabelCustomer: customer}
	var out []string
	var secrets corev1.SecretList
	if err := k8s.List(context.Background(), &secrets, sel); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		out = append(out, "Secret "+s.Namespace+"/"+s.Name)
	}
	var cms corev1.ConfigMapList
	if err := k8s.List(context.Background(), &cms, sel); err != nil {
		t.Fatal(err)
	}
	for _, c := range cms.Items {
		out = append(out, "ConfigMap "+c.Namespace+"/"+c.Name)
	}
	// The domain config by name too, in case its labels were lost.
	name := published.DomainConfigMapName(customer)
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: registrarNS, Name: name}, &corev1.ConfigMap{}); err == nil && !slices.Contains(out, "ConfigMap "+registrarNS+"/"+name) {
		out = append(out, "unlabelled ConfigMap "+name)
	}
	return out
}
