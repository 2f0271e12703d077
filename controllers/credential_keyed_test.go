package controllers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

// annotation is where the operator says what a credential derives from.
const annotation = "sip.voipbin.net/credential-hash"

// unkeyedSum is the sum an earlier release put in the credential-hash annotation:
// SHA-256 over the strings, then over the data's keys in order, truncated to 128 bits.
// Anyone can compute it, so an annotation holding it is a test of password guesses.
func unkeyedSum(strs []string, data map[string][]byte) string {
	h := sha256.New()
	for _, s := range strs {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, k := range slices.Sorted(maps.Keys(data)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(data[k])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// TestCredentialAnnotationTestsNoPasswordGuess: the credential-hash annotation shows
// wherever metadata does (metadata-only watches, Argo CD, kubectl describe) while the
// HA1 values do not. Who sees it and guesses the right password rebuilds the data
// exactly, yet cannot confirm the guess: neither half of the annotation is an unkeyed
// sum of what is known or guessed.
func TestCredentialAnnotationTestsNoPasswordGuess(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	customer := "guess-" + ns
	realm := customer + "." + suffix
	const password = "correct-horse-battery"
	pw := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}, StringData: map[string]string{"password": password}}
	e := extension(ns, "gus", "d", "1007")
	e.Spec.PasswordSecretRef = &sipv1.SecretKeyReference{Name: "pw", Key: "password"}
	mustCreate(t, pw, domain(ns, "d", customer), e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	cred := credentialFor(t, customer, "1007", realm, password)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pw), pw); err != nil {
		t.Fatal(err)
	}

	inputsSum, dataSum, ok := strings.Cut(cred.Annotations[annotation], ".")
	if !ok {
		t.Fatalf("credential-hash annotation %q is not <inputs>.<data>", cred.Annotations[annotation])
	}
	// What a guesser knows (the domain, the number, the realm: all public) and guesses.
	plain := maps.Clone(cred.Data)
	delete(plain, published.KeyHA1MD5)
	delete(plain, published.KeyHA1SHA256)
	guessed := maps.Clone(plain)
	guessed[published.KeyHA1MD5] = []byte(published.HA1(sipv1.DigestMD5, "1007", realm, password))
	guessed[published.KeyHA1SHA256] = []byte(published.HA1(sipv1.DigestSHA256, "1007", realm, password))
	if !maps.EqualFunc(guessed, cred.Data, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("the right guess does not rebuild the data: keys %v", slices.Sorted(maps.Keys(cred.Data)))
	}
	if got := unkeyedSum(nil, guessed); got == dataSum {
		t.Errorf("the annotation's data sum %s is the unkeyed SHA-256 of the data: a password guess can be checked against it", dataSum)
	}
	if got := unkeyedSum([]string{"v1", string(pw.UID), pw.ResourceVersion, realm}, plain); got == inputsSum {
		t.Errorf("the annotation's inputs sum %s is the unkeyed SHA-256 of the inputs", inputsSum)
	}
}

// TestOperatorRestartRewritesNoCredential: a second operator process against the same
// API server (a restart, a new leader) keys the credential sums as the first does, so
// it rewrites no credential: at 100,000 Extensions a rewrite on every start would be
// 100,000 Secret writes that the registrars all receive.
func TestOperatorRestartRewritesNoCredential(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	customer := "again-" + ns
	pw := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}, StringData: map[string]string{"password": "a-password-of-mine"}}
	ref := extension(ns, "ref", "d", "2001")
	ref.Spec.PasswordSecretRef = &sipv1.SecretKeyReference{Name: "pw", Key: "password"}
	gen := extension(ns, "gen", "d", "2002")
	mustCreate(t, pw, domain(ns, "d", customer), ref, gen)
	readyIs(t, ref, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, gen, metav1.ConditionTrue, sipv1.ReasonReady)

	watched := []client.ObjectKey{
		client.ObjectKeyFromObject(credential(customer, "2001")),
		client.ObjectKeyFromObject(credential(customer, "2002")),
	}
	versions := func() (map[client.ObjectKey]string, error) {
		out := map[client.ObjectKey]string{}
		for _, k := range watched {
			s := &corev1.Secret{}
			if err := k8s.Get(ctx, k, s); err != nil {
				return nil, err
			}
			out[k] = s.ResourceVersion
		}
		return out, nil
	}
	unchangedSince := func(ref map[client.ObjectKey]string) func() error {
		return func() error {
			now, err := versions()
			if err != nil {
				return err
			}
			for k, v := range ref {
				if now[k] != v {
					return fmt.Errorf("credential %s rewritten: resourceVersion %s → %s", k.Name, v, now[k])
				}
			}
			return nil
		}
	}
	var before map[client.ObjectKey]string
	eventually(t, "the credentials at rest", func() error {
		v, err := versions()
		if err != nil {
			return err
		}
		if err := testenv.Consistently(time.Second, unchangedSince(v)); err != nil {
			return err
		}
		before = v
		return nil
	})

	second, stop := context.WithCancel(ctx)
	done, err := env.StartOperator(second, opts)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("the second operator: %v", err)
		}
	})
	// The second operator is at work once an Extension created after it started is
	// Ready; its first pass over the others was queued before. Either operator may
	// have made the probe Ready, so keep watching for a while after.
	probe := extension(ns, "probe", "d", "2999")
	mustCreate(t, probe)
	readyIs(t, probe, metav1.ConditionTrue, sipv1.ReasonReady)
	if err := testenv.Consistently(3*time.Second, unchangedSince(before)); err != nil {
		t.Errorf("the second operator rewrote a credential: %v", err)
	}
}

// TestNewNonceKeyRewritesEachCredentialOnce: the credential sums are keyed from the
// nonce key. Deleted, the nonce key is made anew with another key; each credential's
// annotation is then rewritten once, at its Extension's next reconcile, and its data
// (what the registrars authenticate with) stays as it was, the Extension Ready.
func TestNewNonceKeyRewritesEachCredentialOnce(t *testing.T) {
	ctx := context.Background()
	e, customer, realm := readyExtension(t, "rekey", "rex", "3001")
	before := credentialFor(t, customer, "3001", realm, generatedPassword(t, e.Namespace, e.Name))

	nonce := &corev1.Secret{}
	nonceKey := client.ObjectKey{Namespace: registrarNS, Name: published.NonceKeySecretName}
	if err := k8s.Get(ctx, nonceKey, nonce); err != nil {
		t.Fatal(err)
	}
	replaced(t, nonce)
	// Any event of the Extension reconciles it: here a label on its credential.
	touched := credential(customer, "3001")
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(touched), touched); err != nil {
		t.Fatal(err)
	}
	touched.Labels["example.com/touched"] = "yes"
	if err := k8s.Update(ctx, touched); err != nil {
		t.Fatal(err)
	}
	after := credential(customer, "3001")
	eventually(t, "the credential's annotation under the new key", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(after), after); err != nil {
			return err
		}
		if after.Annotations[annotation] == before.Annotations[annotation] {
			return fmt.Errorf("annotation still %s", before.Annotations[annotation])
		}
		return nil
	})
	if !maps.EqualFunc(after.Data, before.Data, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("the credential's data changed with the nonce key")
	}
	if err := notRewritten(2*time.Second, after); err != nil {
		t.Errorf("again: %v", err)
	}
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
}
