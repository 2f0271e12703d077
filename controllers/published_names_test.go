package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/directory"
)

// Customer acme-1 with extension 01 and customer acme with extension 1-01 once
// shared a Secret name, and the second was refused though nothing was wrong with it.
// Both are Ready now, each with a Secret of its own that carries its own AOR.
func TestTenantsWhoseNamesOnceCollidedBothPublish(t *testing.T) {
	nsA, nsB := newNamespace(t), newNamespace(t)
	base := "c-" + nsB
	a, b := extension(nsA, "phone", "d", "01"), extension(nsB, "phone", "d", "1-01")
	mustCreate(t, domain(nsA, "d", base+"-1"), a, domain(nsB, "d", base), b)
	readyIs(t, a, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, b, metav1.ConditionTrue, sipv1.ReasonReady)

	for _, c := range []struct {
		customer, number, source string
	}{{base + "-1", "01", nsA}, {base, "1-01", nsB}} {
		s := credential(c.customer, c.number)
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(s), s); err != nil {
			t.Fatalf("credential of %s@%s: %v", c.number, c.customer, err)
		}
		if got, want := string(s.Data[published.KeyExtension])+"@"+string(s.Data[published.KeyDomain]), c.number+"@"+c.customer+"."+suffix; got != want {
			t.Errorf("Secret %s carries %s, want %s", s.Name, got, want)
		}
		if s.Labels[published.LabelSourceNS] != c.source {
			t.Errorf("Secret %s published from namespace %s, want %s", s.Name, s.Labels[published.LabelSourceNS], c.source)
		}
	}
}

// An installation of the previous release has its credential Secrets under the
// previous names. The operator republishes each under its new name and only then
// deletes the old one, so a registrar never lacks the credential and drops no
// binding; a Secret the operator did not publish stays.
func TestUpgradeRenamesCredentialSecretsWithoutAGap(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := newNamespace(t)
	customer, number, password := "up-"+ns, "1001", "upgrade-Password-1"
	realm := customer + "." + suffix
	aor := number + "@" + realm

	dir, removed := startDirectory(ctx, t)
	labels := map[string]string{
		published.LabelManagedBy: published.ManagedBy, published.LabelComponent: published.ComponentCredential,
		published.LabelCustomer: customer, published.LabelSourceNS: ns, published.LabelSourceName: "phone",
	}
	old := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.LegacyCredentialSecretName(customer, number), Labels: labels},
		Data: map[string][]byte{
			published.KeyDomain: []byte(realm), published.KeyExtension: []byte(number),
			published.KeyHA1MD5:    []byte(published.HA1(sipv1.DigestMD5, number, realm, password)),
			published.KeyHA1SHA256: []byte(published.HA1(sipv1.DigestSHA256, number, realm, password)),
		},
	}
	// Someone's copy, labelled like the Extension's but not by the operator.
	foreignLabels := map[string]string{published.LabelComponent: published.ComponentCredential,
		published.LabelSourceNS: ns, published.LabelSourceName: "phone"}
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: "copy-" + ns, Labels: foreignLabels}}
	mustCreate(t, old, foreign)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), foreign) })
	eventually(t, "the registrar reads the credential under its old name", func() error {
		if _, ok := dir.ByAOR(aor); !ok {
			return fmt.Errorf("%s unknown", aor)
		}
		return nil
	})

	pw := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}, Data: map[string][]byte{"password": []byte(password)}}
	e := extension(ns, "phone", "d", number)
	e.Spec.PasswordSecretRef = &sipv1.SecretKeyReference{Name: "pw", Key: "password"}
	// As after an upgrade: the Domain is Ready when the operator first sees the Extension
	// (an Extension whose Domain is not Ready withdraws its credentials).
	d := domain(ns, "d", customer)
	mustCreate(t, d)
	readyIs(t, d, metav1.ConditionTrue, sipv1.ReasonReady)
	mustCreate(t, pw, e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	renamed := credentialFor(t, customer, number, realm, password)
	if renamed.Name == old.Name {
		t.Fatalf("the credential is still under its old name %s", old.Name)
	}
	gone(t, old)
	syncDirectory(t, dir, ns)

	if _, ok := dir.ByAOR(aor); !ok {
		t.Error("the registrar lost the credential when the old Secret went")
	}
	if got := removed(); slices.Contains(got, aor) {
		t.Errorf("the registrar dropped the bindings of %s during the rename", aor)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(foreign), foreign); err != nil {
		t.Errorf("a Secret the operator did not publish: %v", err)
	}
}

// After an upgrade, an Extension's new name can be another Extension's old one:
// customer acme with extension 1.01 was sip-cred-acme-1.01, which is now the name of
// customer acme-1 with extension 01. The newcomer waits for the rename rather than
// calling it a conflict, and both end up published.
func TestANewNameThatIsAnotherExtensionsOldNameIsFreedByTheRename(t *testing.T) {
	nsOld, nsNew := newNamespace(t), newNamespace(t)
	base := "c-" + nsOld
	realm := base + "." + suffix
	squatter := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.LegacyCredentialSecretName(base, "1.01"), Labels: map[string]string{
			published.LabelManagedBy: published.ManagedBy, published.LabelComponent: published.ComponentCredential,
			published.LabelCustomer: base, published.LabelSourceNS: nsOld, published.LabelSourceName: "phone",
		}},
		Data: map[string][]byte{published.KeyDomain: []byte(realm), published.KeyExtension: []byte("1.01")},
	}
	if squatter.Name != published.CredentialSecretName(base+"-1", "01") {
		t.Fatalf("the names no longer overlap: %s", squatter.Name)
	}
	mustCreate(t, squatter)
	newcomer := extension(nsNew, "phone", "d", "01")
	mustCreate(t, domain(nsNew, "d", base+"-1"), newcomer)
	eventually(t, "the newcomer tried the name", func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(newcomer), newcomer); err != nil {
			return err
		}
		if newcomer.Status.AddressOfRecord == "" {
			return fmt.Errorf("no AOR yet")
		}
		return nil
	})

	renamed := extension(nsOld, "phone", "d", "1.01")
	mustCreate(t, domain(nsOld, "d", base), renamed)
	readyIs(t, renamed, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, newcomer, metav1.ConditionTrue, sipv1.ReasonReady)
	for _, c := range []struct{ customer, number string }{{base, "1.01"}, {base + "-1", "01"}} {
		s := credential(c.customer, c.number)
		eventually(t, "the credential of "+c.number+"@"+c.customer, func() error {
			if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(s), s); err != nil {
				return err
			}
			if string(s.Data[published.KeyExtension]) != c.number {
				return fmt.Errorf("Secret %s carries extension %q", s.Name, s.Data[published.KeyExtension])
			}
			return nil
		})
	}
}

// startDirectory runs the registrar's view of the registrar namespace, as a replica
// does, and returns it with the AORs whose bindings it dropped so far.
func startDirectory(ctx context.Context, t *testing.T) (*directory.Published, func() []string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var removed []string
	dir := directory.NewPublished(directory.PublishedConfig{
		Clientset: cs,
		Namespace: registrarNS,
		OnCredentialRemoved: func(aor string) {
			mu.Lock()
			removed = append(removed, aor)
			mu.Unlock()
		},
		Log: logr.Discard(),
	})
	if err := dir.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return dir, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(removed)
	}
}

// syncDirectory waits until the directory has seen every Secret event so far: one
// watch delivers them in order, so once a new marker Secret arrives, all before it did.
func syncDirectory(t *testing.T, dir *directory.Published, ns string) {
	t.Helper()
	marker := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: "marker-" + ns,
			Labels: map[string]string{published.LabelComponent: published.ComponentCredential}},
		Data: map[string][]byte{published.KeyDomain: []byte("marker.invalid"), published.KeyExtension: []byte(ns)},
	}
	mustCreate(t, marker)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), marker) })
	eventually(t, "the registrar reads the marker Secret", func() error {
		if _, ok := dir.ByAOR(ns + "@marker.invalid"); !ok {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}
