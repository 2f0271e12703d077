package controllers_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

func TestDomainIsPublishedWithItsPolicy(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	d := domain(ns, "acme", "acme-"+ns)
	d.Spec.Registration.MaxContacts = 5
	d.Spec.Authentication.Algorithms = []sipv1.DigestAlgorithm{sipv1.DigestSHA256, sipv1.DigestMD5}
	mustCreate(t, d)
	readyIs(t, d, metav1.ConditionTrue, sipv1.ReasonReady)

	want := "acme-" + ns + "." + suffix
	if d.Status.DomainName != want || d.Status.Realm != want {
		t.Errorf("domain name %q realm %q, want %q", d.Status.DomainName, d.Status.Realm, want)
	}
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: published.DomainConfigMapName(d.Spec.CustomerID)}, cm); err != nil {
		t.Fatalf("published config: %v", err)
	}
	cfg, err := published.DecodeDomainConfig(cm.Data[published.KeyConfigJSON])
	if err != nil {
		t.Fatal(err)
	}
	// Defaults come from the CRD schema; overrides from the spec.
	if cfg.Domain != want || cfg.MinExpires != 60 || cfg.DefaultExpires != 3600 || cfg.MaxExpires != 7200 ||
		cfg.MaxContacts != 5 || cfg.OnMaxContacts != sipv1.ReplaceOldest || cfg.Challenge != sipv1.ChallengeProxyAuthenticate ||
		len(cfg.Algorithms) != 2 || cfg.Algorithms[0] != sipv1.DigestSHA256 {
		t.Errorf("published config %+v", cfg)
	}

	// A policy change reaches the published config.
	mustChange(t, d, func(d *sipv1.Domain) { d.Spec.Registration.MaxExpires = 3600 })
	eventually(t, "maxExpires republished", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
			return err
		}
		cfg, err := published.DecodeDomainConfig(cm.Data[published.KeyConfigJSON])
		if err != nil || cfg.MaxExpires != 3600 {
			return fmt.Errorf("config %+v, %v", cfg, err)
		}
		return nil
	})

	// Deleting the domain withdraws the config.
	if err := k8s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	gone(t, cm)
	gone(t, d)
}

func TestSecondDomainOfACustomerConflictsUntilTheFirstGoes(t *testing.T) {
	ctx := context.Background()
	ns1, ns2 := newNamespace(t), newNamespace(t)
	customer := "dup-" + ns1
	first := domain(ns1, "first", customer)
	mustCreate(t, first)
	readyIs(t, first, metav1.ConditionTrue, sipv1.ReasonReady)
	second := domain(ns2, "second", customer)
	mustCreate(t, second)
	readyIs(t, second, metav1.ConditionFalse, sipv1.ReasonConflict)

	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: published.DomainConfigMapName(customer)}, cm); err != nil {
		t.Fatal(err)
	}
	if cm.Labels[published.LabelSourceNS] != ns1 {
		t.Errorf("config published from %s, want the first domain's namespace %s", cm.Labels[published.LabelSourceNS], ns1)
	}

	if err := k8s.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	readyIs(t, second, metav1.ConditionTrue, sipv1.ReasonReady)
	eventually(t, "config republished from the second domain", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
			return err
		}
		if cm.Labels[published.LabelSourceNS] != ns2 {
			return fmt.Errorf("published from %s", cm.Labels[published.LabelSourceNS])
		}
		return nil
	})
}

func TestDomainCountsItsExtensions(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	d := domain(ns, "counted", "count-"+ns)
	mustCreate(t, d, extension(ns, "a", "counted", "1001"), extension(ns, "b", "counted", "1002"))
	eventually(t, "two extensions counted", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return err
		}
		if d.Status.Extensions != 2 || d.Status.RegisteredExtensions != 0 {
			return fmt.Errorf("extensions %d registered %d", d.Status.Extensions, d.Status.RegisteredExtensions)
		}
		return nil
	})
}
