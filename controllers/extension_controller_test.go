package controllers_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
)

func credential(customer, number string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.CredentialSecretName(customer, number)}}
}

// credentialFor waits for the credential Secret to hold the HA1 values of password.
func credentialFor(t *testing.T, customer, number, realm, password string) *corev1.Secret {
	t.Helper()
	s := credential(customer, number)
	eventually(t, "credential secret with the password's HA1", func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		md5 := published.HA1(sipv1.DigestMD5, number, realm, password)
		sha := published.HA1(sipv1.DigestSHA256, number, realm, password)
		if string(s.Data[published.KeyHA1MD5]) != md5 || string(s.Data[published.KeyHA1SHA256]) != sha {
			return fmt.Errorf("HA1 values do not match the password")
		}
		return nil
	})
	for k, v := range s.Data {
		if bytes.Contains(v, []byte(password)) {
			t.Errorf("credential secret key %q holds the plain password", k)
		}
	}
	// The operator's watch of credentials appends to the hash an unkeyed digest of
	// the data: a copy from the watch written back would publish it.
	if h := s.Annotations["sip.voipbin.net/credential-hash"]; strings.Count(h, ".") != 1 {
		t.Errorf("credential secret %s has the hash %q, want the two keyed sums the operator writes", s.Name, h)
	}
	return s
}

func TestExtensionWaitsForItsDomainThenPublishesAGeneratedPassword(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	customer := "late-" + ns
	e := extension(ns, "alice", "late", "alice")
	mustCreate(t, e)
	readyIs(t, e, metav1.ConditionFalse, sipv1.ReasonDomainNotFound)

	d := domain(ns, "late", customer)
	mustCreate(t, d)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	realm := customer + "." + suffix
	if e.Status.AddressOfRecord != "alice@"+realm {
		t.Errorf("AOR %q", e.Status.AddressOfRecord)
	}
	if e.Status.PasswordSecret != controllers.GeneratedPasswordSecretName("alice") {
		t.Errorf("status.passwordSecret %q", e.Status.PasswordSecret)
	}

	pw := &corev1.Secret{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: e.Status.PasswordSecret}, pw); err != nil {
		t.Fatalf("generated password secret: %v", err)
	}
	password := string(pw.Data[controllers.GeneratedPasswordKey])
	if len(password) < 20 {
		t.Fatalf("generated password of %d characters", len(password))
	}
	if !metav1.IsControlledBy(pw, e) {
		t.Error("generated password secret is not owned by the extension")
	}
	cred := credentialFor(t, customer, "alice", realm, password)
	if cred.Labels[published.LabelSourceNS] != ns || cred.Labels[published.LabelSourceName] != "alice" {
		t.Errorf("credential labels %v", cred.Labels)
	}

	// A resync must not regenerate the password.
	mustChange(t, e, func(e *sipv1.Extension) { e.Spec.MaxContacts = ptr(int32(2)) })
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pw), pw); err != nil {
		t.Fatal(err)
	}
	if string(pw.Data[controllers.GeneratedPasswordKey]) != password {
		t.Error("the generated password changed on a resync")
	}

	// Deleting the extension removes everything it caused.
	if err := k8s.Delete(ctx, e); err != nil {
		t.Fatal(err)
	}
	gone(t, e)
	gone(t, cred)
}

func TestReferencedPasswordMissingThenRotated(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	customer := "ref-" + ns
	realm := customer + "." + suffix
	e := extension(ns, "bob", "ref", "1002")
	e.Spec.PasswordSecretRef = &sipv1.SecretKeyReference{Name: "bob-pass", Key: "pw"}
	mustCreate(t, domain(ns, "ref", customer), e)
	readyIs(t, e, metav1.ConditionFalse, sipv1.ReasonPasswordSecretNotFound)

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bob-pass"}, Data: map[string][]byte{"other": []byte("x")}}
	mustCreate(t, secret)
	readyIs(t, e, metav1.ConditionFalse, sipv1.ReasonPasswordKeyNotFound)

	secret.Data = map[string][]byte{"pw": []byte("first-Secret-1")}
	if err := k8s.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	credentialFor(t, customer, "1002", realm, "first-Secret-1")

	secret.Data = map[string][]byte{"pw": []byte("second-Secret-2")}
	if err := k8s.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	credentialFor(t, customer, "1002", realm, "second-Secret-2")
}

func TestDuplicateExtensionNumberConflicts(t *testing.T) {
	ns := newNamespace(t)
	customer := "dupx-" + ns
	first := extension(ns, "first", "d", "3001")
	mustCreate(t, domain(ns, "d", customer), first)
	readyIs(t, first, metav1.ConditionTrue, sipv1.ReasonReady)
	second := extension(ns, "second", "d", "3001")
	mustCreate(t, second)
	readyIs(t, second, metav1.ConditionFalse, sipv1.ReasonConflict)
	cred := credential(customer, "3001")
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(cred), cred); err != nil {
		t.Fatalf("the first extension's credential must survive the conflict: %v", err)
	}
	if cred.Labels[published.LabelSourceName] != "first" {
		t.Errorf("credential taken over by %q", cred.Labels[published.LabelSourceName])
	}

	if err := k8s.Delete(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	readyIs(t, second, metav1.ConditionTrue, sipv1.ReasonReady)
}

func TestDisabledExtensionWithdrawsItsCredential(t *testing.T) {
	ctx := context.Background()
	e, customer, _ := readyExtension(t, "dis", "carol", "4001")
	cred := credential(customer, "4001")
	eventually(t, "credential published", func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred) })

	mustChange(t, e, func(e *sipv1.Extension) { e.Spec.Disabled = true })
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonDisabled)
	gone(t, cred)

	mustChange(t, e, func(e *sipv1.Extension) { e.Spec.Disabled = false })
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	eventually(t, "credential republished", func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred) })
}

func TestDeletingADomainWithdrawsItsExtensionsCredentials(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	customer := "deld-" + ns
	d := domain(ns, "d", customer)
	e := extension(ns, "dave", "d", "5001")
	mustCreate(t, d, e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	cred := credential(customer, "5001")
	eventually(t, "credential published", func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred) })

	if err := k8s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	gone(t, d)
	readyIs(t, e, metav1.ConditionFalse, sipv1.ReasonDomainNotFound)
	gone(t, cred)
}

func TestExpiredBindingsArePrunedAndCounted(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	d := domain(ns, "d", "prune-"+ns)
	e := extension(ns, "erin", "d", "6001")
	mustCreate(t, d, e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)

	now := time.Now()
	// The live binding lasts long enough for the Domain to count it on a loaded
	// machine (at 3 s it had expired before the Domain's reconcile once), and
	// expires well within the last check's deadline.
	e.Status.Bindings = []sipv1.Binding{
		{URI: "sip:6001@192.0.2.1:5060", Registrar: "gone-replica", ExpiresAt: metav1.NewTime(now.Add(-time.Minute))},
		{URI: "sip:6001@192.0.2.2:5060", Registrar: "gone-replica", ExpiresAt: metav1.NewTime(now.Add(10 * time.Second))},
	}
	if err := k8s.Status().Update(ctx, e); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the expired binding pruned and the live one counted", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(e), e); err != nil {
			return err
		}
		if len(e.Status.Bindings) != 1 || e.Status.Contacts != 1 {
			return fmt.Errorf("bindings %d contacts %d", len(e.Status.Bindings), e.Status.Contacts)
		}
		return nil
	})
	eventually(t, "the domain counts a registered extension", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return err
		}
		if d.Status.RegisteredExtensions != 1 {
			return fmt.Errorf("registered %d", d.Status.RegisteredExtensions)
		}
		return nil
	})
	// The second binding's lease runs out on its own: the requeue at its expiry prunes it.
	eventually(t, "the second binding pruned at its expiry", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(e), e); err != nil {
			return err
		}
		if len(e.Status.Bindings) != 0 || e.Status.Contacts != 0 {
			return fmt.Errorf("bindings %d contacts %d", len(e.Status.Bindings), e.Status.Contacts)
		}
		return nil
	})
}

// Status writes must not retrigger reconciles: once Ready, the object stays still.
func TestReadyExtensionIsNotRewritten(t *testing.T) {
	ns := newNamespace(t)
	e := extension(ns, "still", "d", "7001")
	mustCreate(t, domain(ns, "d", "still-"+ns), e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	if err := notRewritten(2*time.Second, e); err != nil {
		t.Fatalf("after Ready: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
