package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/api/scheme"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

// someBudget is a PodDisruptionBudget the test makes itself, with labels.
func someBudget(ns, name string, labels map[string]string) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &one,
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
		},
	}
}

// TestRegistrarDisruptionBudgetRestored: the running operator puts back at once the
// fleet's PodDisruptionBudget when someone deletes it or raises its maxUnavailable
// (else a drain could evict every replica until the fleet reconciles for another
// reason), and leaves alone a budget of the namespace that it did not make.
func TestRegistrarDisruptionBudgetRestored(t *testing.T) {
	ctx := context.Background()
	if opts.Fleet.Replicas <= 1 {
		t.Fatalf("the suite's fleet has %d replicas: no budget to restore", opts.Fleet.Replicas)
	}
	theirs := someBudget(registrarNS, "someone-elses", nil)
	mustCreate(t, theirs)
	t.Cleanup(func() { _ = k8s.Delete(ctx, theirs) })

	pdb := &policyv1.PodDisruptionBudget{}
	key := client.ObjectKey{Namespace: registrarNS, Name: opts.Fleet.Name}
	eventually(t, "the fleet's disruption budget", func() error { return k8s.Get(ctx, key, pdb) })
	replaced(t, pdb)
	if mu := pdb.Spec.MaxUnavailable; mu == nil || *mu != intstr.FromInt32(1) {
		t.Errorf("recreated budget's maxUnavailable %v, want 1", mu)
	}

	all := intstr.FromString("100%")
	pdb.Spec.MaxUnavailable = &all
	if err := k8s.Update(ctx, pdb); err != nil {
		t.Fatal(err)
	}
	eventually(t, "maxUnavailable restored", func() error {
		if err := k8s.Get(ctx, key, pdb); err != nil {
			return err
		}
		if mu := pdb.Spec.MaxUnavailable; mu == nil || *mu != intstr.FromInt32(1) {
			return fmt.Errorf("maxUnavailable %v", mu)
		}
		return nil
	})

	// Reconciled three times since it was made: still as its owner left it.
	rv := theirs.ResourceVersion
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(theirs), theirs); err != nil {
		t.Fatalf("the budget the operator did not make: %v", err)
	}
	if theirs.ResourceVersion != rv || len(theirs.Labels) > 0 || len(theirs.OwnerReferences) > 0 {
		t.Errorf("the budget the operator did not make was written: resourceVersion %s → %s, labels %v, owners %v",
			rv, theirs.ResourceVersion, theirs.Labels, theirs.OwnerReferences)
	}
}

// TestOperatorCachesOnlyTheFleetsDisruptionBudgets: the operator's cache holds the
// fleet's budgets of the registrar namespace, none of the cluster's others (not one
// of the registrar namespace without the fleet's labels, not one elsewhere with them).
func TestOperatorCachesOnlyTheFleetsDisruptionBudgets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	elsewhere := newNamespace(t)
	fleetLabels := map[string]string{published.LabelComponent: "sip-registrar", published.LabelManagedBy: published.ManagedBy}
	unlabelled := someBudget(registrarNS, "unlabelled", nil)
	labelledElsewhere := someBudget(elsewhere, opts.Fleet.Name, fleetLabels)
	mustCreate(t, unlabelled, labelledElsewhere)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), unlabelled) })

	c, err := cache.New(env.Config, func() cache.Options {
		o := controllers.CacheOptions(opts)
		o.Scheme = scheme.New()
		return o
	}())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	eventually(t, "the cache holds only the fleet's budget", func() error {
		list := &policyv1.PodDisruptionBudgetList{}
		if err := c.List(ctx, list); err != nil {
			return err
		}
		var cached []string
		for _, p := range list.Items {
			cached = append(cached, p.Namespace+"/"+p.Name)
		}
		if want := []string{registrarNS + "/" + opts.Fleet.Name}; !slices.Equal(cached, want) {
			return fmt.Errorf("cached budgets %q, want %q", cached, want)
		}
		return nil
	})
}

// TestRegistrarFleetUnderTheGeneratedRole runs the fleet reconciler as a user that
// holds only the namespaced Role controller-gen generated (config/rbac/role.yaml,
// which the chart copies): its cache of the fleet's objects, budgets included, must
// sync with those rights, and a budget deleted by hand come back.
func TestRegistrarFleetUnderTheGeneratedRole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Anchor = nil // in the suite's registrar namespace, which this user may not read
	user := bindGeneratedRole(t, o.RegistrarNamespace)

	mgr, err := ctrl.NewManager(user, ctrl.Options{
		Scheme:                 scheme.New(),
		Cache:                  controllers.CacheOptions(o),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: new(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&controllers.FleetReconciler{Client: mgr.GetClient(), Options: o}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager under the generated Role: %v", err)
		}
	})

	pdb := &policyv1.PodDisruptionBudget{}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	eventually(t, "the fleet's disruption budget", func() error {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("the manager stopped: %w", err)
		default:
		}
		return k8s.Get(ctx, key, pdb)
	})
	replaced(t, pdb)
	if err := k8s.Get(ctx, key, &corev1.Service{}); err != nil {
		t.Errorf("the fleet's Service: %v", err)
	}
}

// bindGeneratedRole creates in ns the Role of config/rbac/role.yaml, binds it to a new
// user and returns that user's client configuration.
func bindGeneratedRole(t *testing.T, ns string) *rest.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role *rbacv1.Role
	for doc := range strings.SplitSeq(string(b), "\n---\n") {
		r := &rbacv1.Role{}
		if err := yaml.Unmarshal([]byte(doc), r); err != nil {
			t.Fatal(err)
		}
		if r.Kind == "Role" {
			role = r
		}
	}
	if role == nil || len(role.Rules) == 0 {
		t.Fatal("no Role in config/rbac/role.yaml")
	}
	name := "fleet-" + ns
	mustCreate(t,
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: role.Rules},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}},
		})
	user, err := env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return user.Config()
}
