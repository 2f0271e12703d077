package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

func TestRegistrarFleetIsKeptWithoutChurn(t *testing.T) {
	ctx := context.Background()
	dep := &appsv1.Deployment{}
	svc := &corev1.Service{}
	key := &corev1.Secret{}
	eventually(t, "registrar deployment, service and nonce key", func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: opts.Fleet.Name}, dep); err != nil {
			return err
		}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: opts.Fleet.Name}, svc); err != nil {
			return err
		}
		return k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: published.NonceKeySecretName}, key)
	})
	if len(key.Data[published.KeyNonceKey]) != 32 {
		t.Errorf("nonce key of %d bytes", len(key.Data[published.KeyNonceKey]))
	}
	if *dep.Spec.Replicas != opts.Fleet.Replicas || dep.Spec.Template.Spec.Containers[0].Image != opts.Fleet.Image {
		t.Errorf("deployment replicas %d image %s", *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image)
	}
	if res := dep.Spec.Template.Spec.Containers[0].Resources; !equality.Semantic.DeepEqual(res, opts.Fleet.Resources) {
		t.Errorf("registrar container resources %s, want the defaults %s", describe(res), describe(opts.Fleet.Resources))
	}
	if _, ok := dep.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU]; ok {
		t.Errorf("registrar container has a CPU limit by default")
	}
	sc := dep.Spec.Template.Spec.Containers[0].SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation {
		t.Errorf("registrar container security context %+v", sc)
	}
	protocols := map[corev1.Protocol]bool{}
	for _, p := range svc.Spec.Ports {
		protocols[p.Protocol] = p.Port == opts.Fleet.SIPPort
	}
	if !protocols[corev1.ProtocolUDP] || !protocols[corev1.ProtocolTCP] {
		t.Errorf("service ports %+v, want SIP over UDP and TCP", svc.Spec.Ports)
	}

	// Someone scales the deployment by hand: the operator puts it back.
	scaled := dep.DeepCopy()
	scaled.Spec.Replicas = ptr(int32(7))
	if err := k8s.Update(ctx, scaled); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replicas restored", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		if *dep.Spec.Replicas != opts.Fleet.Replicas {
			return fmt.Errorf("replicas %d", *dep.Spec.Replicas)
		}
		return nil
	})
	// And then leaves it alone, and never rotates the nonce key by itself.
	rv, keyRV := dep.ResourceVersion, key.ResourceVersion
	if err := testenv.Consistently(2*time.Second, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(key), key); err != nil {
			return err
		}
		if dep.ResourceVersion != rv || key.ResourceVersion != keyRV {
			return fmt.Errorf("rewritten without a change")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestRegistrarResources applies fleets of other resources, in a namespace of their
// own, and reads back what the API server keeps.
func TestRegistrarResources(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Fleet.Name = "custom-registrar"
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	applied := func(what string, want corev1.ResourceRequirements) {
		t.Helper()
		r.Options.Fleet.Resources = want
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		dep := &appsv1.Deployment{}
		if err := k8s.Get(ctx, key, dep); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := dep.Spec.Template.Spec.Containers[0].Resources; !equality.Semantic.DeepEqual(got, want) {
			t.Errorf("%s: resources %s, want %s", what, describe(got), describe(want))
		}
	}
	applied("custom", corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")},
	})
	// A limit dropped from the flags leaves the Deployment.
	applied("CPU limit dropped", corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
	})
	applied("none", corev1.ResourceRequirements{})
	applied("defaults", controllers.DefaultFleetOptions().Resources)
}

func describe(r corev1.ResourceRequirements) string {
	list := func(l corev1.ResourceList) string {
		var s []string
		for k, q := range l {
			s = append(s, fmt.Sprintf("%s=%s", k, q.String()))
		}
		slices.Sort(s)
		return strings.Join(s, " ")
	}
	return fmt.Sprintf("requests [%s] limits [%s]", list(r.Requests), list(r.Limits))
}

// TestRegistrarImagePullSecrets: the registrar pods pull with the Secrets of
// --registrar-image-pull-secrets (a private registry, the operator's own), and lose
// them when the flag drops them.
func TestRegistrarImagePullSecrets(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	applied := func(secrets ...string) {
		t.Helper()
		r.Options.Fleet.ImagePullSecrets = secrets
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		dep := &appsv1.Deployment{}
		if err := k8s.Get(ctx, key, dep); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range dep.Spec.Template.Spec.ImagePullSecrets {
			got = append(got, s.Name)
		}
		if !slices.Equal(got, secrets) {
			t.Errorf("registrar pods' imagePullSecrets %q, want %q", got, secrets)
		}
	}
	applied("registry-a", "registry-b")
	applied()
}

// TestRegistrarDisruptionBudget: with more than one replica the fleet keeps a
// PodDisruptionBudget, so that a drain evicts one registrar at a time, and spreads the
// replicas over nodes; with one replica the budget goes (it would block every drain).
func TestRegistrarDisruptionBudget(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	reconciled := func(replicas int32) *appsv1.Deployment {
		t.Helper()
		r.Options.Fleet.Replicas = replicas
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		dep := &appsv1.Deployment{}
		if err := k8s.Get(ctx, key, dep); err != nil {
			t.Fatal(err)
		}
		return dep
	}

	dep := reconciled(2)
	pdb := &policyv1.PodDisruptionBudget{}
	if err := k8s.Get(ctx, key, pdb); err != nil {
		t.Fatalf("no PodDisruptionBudget at 2 replicas: %v", err)
	}
	if mu := pdb.Spec.MaxUnavailable; mu == nil || *mu != intstr.FromInt32(1) || pdb.Spec.MinAvailable != nil {
		t.Errorf("maxUnavailable %v minAvailable %v, want maxUnavailable 1 only", mu, pdb.Spec.MinAvailable)
	}
	if !equality.Semantic.DeepEqual(pdb.Spec.Selector, dep.Spec.Selector) {
		t.Errorf("budget selector %v, want the Deployment's %v", pdb.Spec.Selector, dep.Spec.Selector)
	}
	if pdb.Labels[published.LabelManagedBy] != published.ManagedBy {
		t.Errorf("budget labels %v, want managed by the operator", pdb.Labels)
	}
	spread := dep.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != corev1.LabelHostname || spread[0].WhenUnsatisfiable != corev1.ScheduleAnyway ||
		!equality.Semantic.DeepEqual(spread[0].LabelSelector, dep.Spec.Selector) {
		t.Errorf("topology spread %+v, want the registrar pods preferably one per node", spread)
	}

	reconciled(1)
	if err := k8s.Get(ctx, key, pdb); !apierrors.IsNotFound(err) {
		t.Errorf("PodDisruptionBudget at 1 replica: %v, want it gone", err)
	}
	// And again: nothing to delete is no error.
	reconciled(1)
	reconciled(3)
	if err := k8s.Get(ctx, key, pdb); err != nil {
		t.Errorf("no PodDisruptionBudget back at 3 replicas: %v", err)
	}
}

// TestRegistrarServiceForALoadBalancer: the registrar Service carries the annotations,
// load balancer class and source ranges of the flags, what a cloud load balancer
// controller reads; an annotation or range dropped from the flags leaves the Service,
// while an annotation someone else put there stays.
func TestRegistrarServiceForALoadBalancer(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Fleet.Name = "lb-registrar"
	o.Fleet.ServiceType = corev1.ServiceTypeLoadBalancer
	o.Fleet.LoadBalancerClass = "example.com/sip-lb"
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	applied := func(annotations map[string]string, ranges ...string) *corev1.Service {
		t.Helper()
		r.Options.Fleet.ServiceAnnotations, r.Options.Fleet.LoadBalancerSourceRanges = annotations, ranges
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		svc := &corev1.Service{}
		if err := k8s.Get(ctx, key, svc); err != nil {
			t.Fatal(err)
		}
		if c := svc.Spec.LoadBalancerClass; c == nil || *c != o.Fleet.LoadBalancerClass {
			t.Errorf("loadBalancerClass %v, want %s", c, o.Fleet.LoadBalancerClass)
		}
		if !slices.Equal(svc.Spec.LoadBalancerSourceRanges, ranges) {
			t.Errorf("loadBalancerSourceRanges %q, want %q", svc.Spec.LoadBalancerSourceRanges, ranges)
		}
		return svc
	}
	const scheme, attrs = "service.beta.kubernetes.io/aws-load-balancer-scheme", "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"
	svc := applied(map[string]string{scheme: "internet-facing", attrs: "preserve_client_ip.enabled=true,stickiness.enabled=true"},
		"203.0.113.0/24", "2001:db8::/32")
	if svc.Annotations[scheme] != "internet-facing" || svc.Annotations[attrs] != "preserve_client_ip.enabled=true,stickiness.enabled=true" {
		t.Errorf("annotations %v, want both of the flags", svc.Annotations)
	}
	// A load balancer controller annotates the Service too: that is not the operator's.
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	svc.Annotations["lb.example.com/status"] = "provisioned"
	if err := k8s.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}

	svc = applied(map[string]string{scheme: "internet-facing"})
	if _, ok := svc.Annotations[attrs]; ok {
		t.Errorf("annotation %s dropped from the flags stays on the Service: %v", attrs, svc.Annotations)
	}
	if svc.Annotations[scheme] != "internet-facing" || svc.Annotations["lb.example.com/status"] != "provisioned" {
		t.Errorf("annotations %v, want the kept flag's and the controller's", svc.Annotations)
	}
}

// someDeployment is a Deployment of one pod that the test makes itself, with labels.
func someDeployment(ns, name string, labels map[string]string) *appsv1.Deployment {
	selector := map[string]string{"app.kubernetes.io/name": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: selector},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.com/c"}}},
			},
		},
	}
}

// TestRegistrarFleetRenamed: after --registrar-name changes from a to b, the fleet of
// a (its Deployment, Service and PodDisruptionBudget) is gone and b's runs, so that
// no stale registrar keeps phones; a Deployment the operator did not make stays,
// though it runs registrars too.
func TestRegistrarFleetRenamed(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Fleet.Name, o.Fleet.Replicas = "a", 2
	byHand := someDeployment(o.RegistrarNamespace, "registrar-by-hand",
		map[string]string{"app.kubernetes.io/name": "registrar-by-hand", published.LabelComponent: "sip-registrar"})
	mustCreate(t, byHand)
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	reconciled := func(name string) {
		t.Helper()
		r.Options.Fleet.Name = name
		key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: name}
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &policyv1.PodDisruptionBudget{}} {
			if err := k8s.Get(ctx, key, obj); err != nil {
				t.Fatalf("fleet %s: %T: %v", name, obj, err)
			}
		}
	}
	reconciled("a")
	reconciled("b")
	for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &policyv1.PodDisruptionBudget{}} {
		obj.SetNamespace(o.RegistrarNamespace)
		obj.SetName("a")
		gone(t, obj)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(byHand), byHand); err != nil {
		t.Errorf("the Deployment the operator did not make: %v", err)
	}
}

// TestRegistrarFleetOfAnEarlierNameAppears: the running operator removes a fleet
// object of another name as soon as it appears (as the fleet of the name before a
// restart under a new one would be at start), and leaves alone what it did not make.
func TestRegistrarFleetOfAnEarlierNameAppears(t *testing.T) {
	ctx := context.Background()
	earlier := map[string]string{"app.kubernetes.io/name": "registrar-earlier", published.LabelComponent: "sip-registrar",
		published.LabelManagedBy: published.ManagedBy}
	stale := someDeployment(registrarNS, "registrar-earlier", earlier)
	byHand := someDeployment(registrarNS, "registrar-by-hand", map[string]string{"app.kubernetes.io/name": "registrar-by-hand"})
	mustCreate(t, byHand, stale)
	t.Cleanup(func() { _ = k8s.Delete(ctx, byHand) })
	gone(t, stale)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(byHand), byHand); err != nil {
		t.Errorf("the Deployment the operator did not make: %v", err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: opts.Fleet.Name}, &appsv1.Deployment{}); err != nil {
		t.Errorf("the current fleet: %v", err)
	}
}

// TestRegistrarPlacement: the registrar pods carry the nodeSelector, tolerations and
// affinity of the flags (nodes with public addresses, a dedicated SIP pool) beside the
// fleet's spread over nodes, and lose each one the flags drop: server-side apply
// owns them.
func TestRegistrarPlacement(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Fleet.Name = "placed-registrar"
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	applied := func(what string, nodeSelector map[string]string, tolerations []corev1.Toleration, affinity *corev1.Affinity) {
		t.Helper()
		r.Options.Fleet.NodeSelector, r.Options.Fleet.Tolerations, r.Options.Fleet.Affinity = nodeSelector, tolerations, affinity
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		dep := &appsv1.Deployment{}
		if err := k8s.Get(ctx, key, dep); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		pod := dep.Spec.Template.Spec
		if !equality.Semantic.DeepEqual(pod.NodeSelector, nodeSelector) {
			t.Errorf("%s: nodeSelector %v, want %v", what, pod.NodeSelector, nodeSelector)
		}
		if !equality.Semantic.DeepEqual(pod.Tolerations, tolerations) {
			t.Errorf("%s: tolerations %+v, want %+v", what, pod.Tolerations, tolerations)
		}
		if !equality.Semantic.DeepEqual(pod.Affinity, affinity) {
			t.Errorf("%s: affinity %+v, want %+v", what, pod.Affinity, affinity)
		}
		if c := pod.TopologySpreadConstraints; len(c) != 1 || c[0].TopologyKey != corev1.LabelHostname {
			t.Errorf("%s: topologySpreadConstraints %+v, want the spread over nodes", what, c)
		}
	}
	thirty := int64(30)
	tolerations := []corev1.Toleration{
		{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "sip", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &thirty},
	}
	affinity := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-a", "zone-b"}}},
		}}},
	}}
	applied("placed", map[string]string{"sip.example.com/public-ip": "true", "pool": "sip"}, tolerations, affinity)
	applied("nodeSelector dropped", nil, tolerations, affinity)
	applied("none", nil, nil, nil)
}
