package controllers_test

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// credentialAlgorithmsAre waits for the credential Secret's algorithms key ("" for absent).
func credentialAlgorithmsAre(t *testing.T, customer, number, want string) {
	t.Helper()
	s := credential(customer, number)
	eventually(t, fmt.Sprintf("credential algorithms %q", want), func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		if got := string(s.Data[published.KeyAlgorithms]); got != want {
			return fmt.Errorf("algorithms %q", got)
		}
		return nil
	})
}

// An Extension's own algorithms reach the registrars with its credential, and one
// its Domain does not accept is refused with a reason, until the Domain accepts it.
func TestExtensionAlgorithmsArePublishedWhenTheDomainAcceptsThem(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	customer := "alg-" + ns
	d := domain(ns, "d", customer)
	old, sha := extension(ns, "old", "d", "5001"), extension(ns, "sha", "d", "5002")
	sha.Spec.Authentication = &sipv1.ExtensionAuthentication{Algorithms: []sipv1.DigestAlgorithm{sipv1.DigestSHA256}}
	mustCreate(t, d, old, sha)

	readyIs(t, old, metav1.ConditionTrue, sipv1.ReasonReady)
	credentialAlgorithmsAre(t, customer, "5001", "")
	readyIs(t, sha, metav1.ConditionFalse, sipv1.ReasonAlgorithmNotOffered)
	if msg := readyMessage(sha); msg == "" {
		t.Error("AlgorithmNotOffered without a message")
	}
	gone(t, credential(customer, "5002"))

	orig := d.DeepCopy()
	d.Spec.Authentication.Algorithms = []sipv1.DigestAlgorithm{sipv1.DigestMD5, sipv1.DigestSHA256}
	if err := k8s.Patch(ctx, d, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	readyIs(t, sha, metav1.ConditionTrue, sipv1.ReasonReady)
	credentialAlgorithmsAre(t, customer, "5002", "SHA-256")
	credentialAlgorithmsAre(t, customer, "5001", "")

	origE := sha.DeepCopy()
	sha.Spec.Authentication.Algorithms = []sipv1.DigestAlgorithm{sipv1.DigestSHA256, sipv1.DigestMD5}
	if err := k8s.Patch(ctx, sha, client.MergeFrom(origE)); err != nil {
		t.Fatal(err)
	}
	credentialAlgorithmsAre(t, customer, "5002", "SHA-256,MD5")
}

func readyMessage(e *sipv1.Extension) string {
	for _, c := range e.Status.Conditions {
		if c.Type == sipv1.ConditionReady {
			return c.Message
		}
	}
	return ""
}
