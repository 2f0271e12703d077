package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/voipbin/registrar-operator/api/published"
)

// fleetFieldOwner is the server-side apply field manager of the registrar fleet.
const fleetFieldOwner = "registrar-operator"

// FleetReconciler keeps the registrar Deployment, its Service and, with more than one
// replica, its PodDisruptionBudget in the registrar namespace; the nonce key is
// NonceKeyReconciler's, which runs even when this does not. It applies them
// server-side with a fixed field manager: an apply that changes nothing is not a
// write, so there is no churn. It deletes what it made under an earlier name
// (pruneRenamed). It does not run with --manage-registrar=false (Setup), so turning
// management off deletes nothing: the running fleet becomes the user's to keep.
type FleetReconciler struct {
	client.Client
	Options Options
}

// Delete: the fleet of an earlier name (pruneRenamed).
// +kubebuilder:rbac:groups=apps,namespace=registrar-system,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",namespace=registrar-system,resources=services,verbs=get;list;watch;create;update;patch;delete
// Server-side apply that creates needs create besides patch; list and watch keep the
// budget in the cache (only the fleet's, by label), so that one deleted or edited by
// hand is restored at once. Nothing gets it.
// +kubebuilder:rbac:groups=policy,namespace=registrar-system,resources=poddisruptionbudgets,verbs=list;watch;create;patch;delete

// Reconcile applies the Service, the Deployment and the PodDisruptionBudget, then
// removes those of an earlier name of the fleet.
func (r *FleetReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	if err := r.Apply(ctx, r.service(), client.FieldOwner(fleetFieldOwner), client.ForceOwnership); err != nil {
		return ctrl.Result{}, fmt.Errorf("while applying the registrar service: %w", err)
	}
	dep, err := r.deployment()
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Apply(ctx, dep, client.FieldOwner(fleetFieldOwner), client.ForceOwnership); err != nil {
		return ctrl.Result{}, fmt.Errorf("while applying the registrar deployment: %w", err)
	}
	if err := r.disruptionBudget(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.pruneRenamed(ctx); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// fleetComponent is the component label of the fleet's objects.
const fleetComponent = "sip-registrar"

// isFleetObject tells the objects the fleet reconciler made, of any name: they carry
// its component and managed-by labels (fleetLabels).
func isFleetObject(o client.Object) bool {
	l := o.GetLabels()
	return l[published.LabelComponent] == fleetComponent && l[published.LabelManagedBy] == published.ManagedBy
}

// pruneRenamed deletes the Deployments and Services of the registrar namespace that
// the fleet reconciler made under another name than the current one (--registrar-name
// changed), with the PodDisruptionBudget of each such name: left running, their pods
// would keep answering phones and writing bindings beside the new fleet. Only objects
// with the fleet's labels (isFleetObject) go, never one the operator did not make;
// one operator runs per registrar namespace (its leader lease and nonce key have
// fixed names), so no other fleet's objects are there. The budget goes by the name
// of such a Deployment or Service: while the fleet of that name ran, server-side
// apply with forced ownership made whatever budget had the name its own. Each delete
// is conditional on the UID read, so a new object that takes the name is left alone.
func (r *FleetReconciler) pruneRenamed(ctx context.Context) error {
	ns, current := r.Options.RegistrarNamespace, r.Options.Fleet.Name
	ours := client.MatchingLabels{published.LabelComponent: fleetComponent, published.LabelManagedBy: published.ManagedBy}
	deps, svcs := &appsv1.DeploymentList{}, &corev1.ServiceList{}
	if err := r.List(ctx, deps, client.InNamespace(ns), ours); err != nil {
		return fmt.Errorf("while listing the registrar deployments: %w", err)
	}
	if err := r.List(ctx, svcs, client.InNamespace(ns), ours); err != nil {
		return fmt.Errorf("while listing the registrar services: %w", err)
	}
	// The budget first, the Deployment last: its events bring the next attempt.
	var stale []client.Object
	names := map[string]bool{}
	for i := range svcs.Items {
		stale = append(stale, &svcs.Items[i])
	}
	for i := range deps.Items {
		stale = append(stale, &deps.Items[i])
	}
	stale = slices.DeleteFunc(stale, func(o client.Object) bool { return o.GetName() == current || !isFleetObject(o) })
	for _, o := range stale {
		if names[o.GetName()] {
			continue
		}
		names[o.GetName()] = true
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: o.GetName()}}
		if err := r.Delete(ctx, pdb); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("while deleting the disruption budget of the registrar fleet %s: %w", o.GetName(), err)
		}
	}
	log := ctrl.LoggerFrom(ctx)
	for _, o := range stale {
		uid := o.GetUID()
		err := r.Delete(ctx, o, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			// Gone already, or another object of the name now: its own event decides.
		case err != nil:
			return fmt.Errorf("while deleting %T %s of an earlier registrar name: %w", o, o.GetName(), err)
		default:
			log.Info("deleted the registrar fleet's object of an earlier name", "kind", fmt.Sprintf("%T", o), "name", o.GetName(), "current", current)
		}
	}
	return nil
}

// disruptionBudget lets a drain (or any eviction) take one registrar at a time when
// there are several: without it, draining a node that holds every replica stops SIP.
// With one replica a budget would block every drain, so there is none: it is deleted
// (a delete of nothing is no write). It is watched (SetupWithManager), the cache
// holding only the fleet's budgets (CacheOptions): one deleted or edited by hand
// comes back at once, before a drain can evict every replica.
func (r *FleetReconciler) disruptionBudget(ctx context.Context) error {
	f := r.Options.Fleet
	if f.Replicas <= 1 {
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: r.Options.RegistrarNamespace, Name: f.Name}}
		if err := r.Delete(ctx, pdb); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("while deleting the registrar disruption budget: %w", err)
		}
		return nil
	}
	pdb := policyv1ac.PodDisruptionBudget(f.Name, r.Options.RegistrarNamespace).
		WithLabels(r.labels(fleetComponent)).
		WithOwnerReferences(r.Options.ownerRefApplies()...).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMaxUnavailable(intstr.FromInt32(1)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(r.selector())))
	if err := r.Apply(ctx, pdb, client.FieldOwner(fleetFieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("while applying the registrar disruption budget: %w", err)
	}
	return nil
}

func (r *FleetReconciler) labels(component string) map[string]string {
	return fleetLabels(r.Options, component)
}

// fleetLabels are the labels of what the operator keeps for the registrar fleet.
func fleetLabels(o Options, component string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name": o.Fleet.Name,
		published.LabelComponent: component,
		published.LabelManagedBy: published.ManagedBy,
	}
}

func (r *FleetReconciler) selector() map[string]string {
	return map[string]string{"app.kubernetes.io/name": r.Options.Fleet.Name, published.LabelComponent: fleetComponent}
}

func (r *FleetReconciler) service() *corev1ac.ServiceApplyConfiguration {
	f := r.Options.Fleet
	spec := corev1ac.ServiceSpec()
	if f.ServiceType != corev1.ServiceTypeClusterIP {
		// The API server allows it only where traffic comes from outside.
		spec.WithExternalTrafficPolicy(f.ExternalTrafficPolicy)
	}
	// Only of a LoadBalancer Service; the operator refuses them with another type. An
	// empty class is none: server-side apply then gives up the field (the API server
	// refuses to change a LoadBalancer Service's class; deleting the Service does).
	if f.ServiceType == corev1.ServiceTypeLoadBalancer {
		if f.LoadBalancerClass != "" {
			spec.WithLoadBalancerClass(f.LoadBalancerClass)
		}
		spec.WithLoadBalancerSourceRanges(f.LoadBalancerSourceRanges...)
	}
	// Annotations dropped from the flags leave the Service: server-side apply removes
	// what this field manager applied before and applies no more.
	return corev1ac.Service(f.Name, r.Options.RegistrarNamespace).
		WithLabels(r.labels(fleetComponent)).
		WithAnnotations(f.ServiceAnnotations).
		WithOwnerReferences(r.Options.ownerRefApplies()...).
		WithSpec(spec.
			WithType(f.ServiceType).
			WithSelector(r.selector()).
			WithPorts(withNodePorts(f, slices.Concat(
				[]*corev1ac.ServicePortApplyConfiguration{
					corev1ac.ServicePort().WithName("sip-udp").WithProtocol(corev1.ProtocolUDP).
						WithPort(f.SIPPort).WithTargetPort(intstr.FromString("sip-udp")),
					corev1ac.ServicePort().WithName("sip-tcp").WithProtocol(corev1.ProtocolTCP).
						WithPort(f.SIPPort).WithTargetPort(intstr.FromString("sip-tcp")),
				},
				tlsServicePorts(f),
				wsServicePorts(f)))...))
}

func (r *FleetReconciler) deployment() (*appsv1ac.DeploymentApplyConfiguration, error) {
	f := r.Options.Fleet
	args := []string{
		"--namespace=$(POD_NAMESPACE)",
		"--name=$(POD_NAME)",
		"--advertise-host=$(POD_IP)",
		fmt.Sprintf("--sip-address=:%d", f.SIPPort),
		fmt.Sprintf("--metrics-bind-address=:%d", f.MetricsPort),
		fmt.Sprintf("--health-probe-bind-address=:%d", f.ProbePort),
	}
	if f.RecordRouteHost != "" {
		// Phones outside the cluster cannot reach the pod IP Record-Route names otherwise.
		args = append(args, "--record-route-host="+f.RecordRouteHost)
	}
	args = append(args, recordRoutePortsArgs(f)...)
	args = append(args, tlsArgs(f)...)
	args = append(args, wsArgs(f)...)
	args = append(args, f.ExtraArgs...)
	fieldEnv := func(name, path string) *corev1ac.EnvVarApplyConfiguration {
		return corev1ac.EnvVar().WithName(name).WithValueFrom(corev1ac.EnvVarSource().
			WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath(path)))
	}
	probe := func(path string) *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().
			WithPath(path).WithPort(intstr.FromString("probes")))
	}
	container := corev1ac.Container().
		WithName("registrar").
		WithImage(f.Image).
		WithImagePullPolicy(f.ImagePullPolicy).
		WithCommand("/registrar").
		WithArgs(args...).
		WithEnv(fieldEnv("POD_NAMESPACE", "metadata.namespace"), fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_IP", "status.podIP")).
		WithPorts(
			corev1ac.ContainerPort().WithName("sip-udp").WithContainerPort(f.SIPPort).WithProtocol(corev1.ProtocolUDP),
			corev1ac.ContainerPort().WithName("sip-tcp").WithContainerPort(f.SIPPort).WithProtocol(corev1.ProtocolTCP),
			corev1ac.ContainerPort().WithName("metrics").WithContainerPort(f.MetricsPort).WithProtocol(corev1.ProtocolTCP),
			corev1ac.ContainerPort().WithName("probes").WithContainerPort(f.ProbePort).WithProtocol(corev1.ProtocolTCP),
		).
		WithPorts(tlsContainerPorts(f)...).
		WithPorts(wsContainerPorts(f)...).
		WithVolumeMounts(tlsVolumeMounts(f)...).
		WithLivenessProbe(probe("/healthz")).
		WithReadinessProbe(probe("/readyz")).
		WithSecurityContext(corev1ac.SecurityContext().
			WithRunAsNonRoot(true).
			WithReadOnlyRootFilesystem(true).
			WithAllowPrivilegeEscalation(false).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")))
	if res := resources(f.Resources); res != nil {
		container.WithResources(res)
	}
	pod, err := placement(f)
	if err != nil {
		return nil, err
	}
	return appsv1ac.Deployment(f.Name, r.Options.RegistrarNamespace).
		WithLabels(r.labels(fleetComponent)).
		WithOwnerReferences(r.Options.ownerRefApplies()...).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(f.Replicas).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(r.selector())).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(r.selector()).
				WithSpec(pod.
					WithServiceAccountName(f.ServiceAccountName).
					WithImagePullSecrets(imagePullSecrets(f.ImagePullSecrets)...).
					// Graceful shutdown lets a replica flush its bindings into status.
					WithTerminationGracePeriodSeconds(30).
					WithSecurityContext(corev1ac.PodSecurityContext().
						WithRunAsNonRoot(true).
						WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
					// Preferably one replica per node, so that losing a node loses one.
					WithTopologySpreadConstraints(corev1ac.TopologySpreadConstraint().
						WithMaxSkew(1).
						WithTopologyKey(corev1.LabelHostname).
						WithWhenUnsatisfiable(corev1.ScheduleAnyway).
						WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(r.selector()))).
					WithVolumes(tlsVolumes(f)...).
					WithContainers(container)))), nil
}

// placement is a pod spec with the nodeSelector, tolerations and affinity of the
// flags, none of them when they have none. The tolerations and affinity are converted
// through their JSON, which the apply configurations share with the API types. A value
// dropped from the flags leaves the Deployment: server-side apply removes what this
// field manager applied before and applies no more.
func placement(f FleetOptions) (*corev1ac.PodSpecApplyConfiguration, error) {
	spec := corev1ac.PodSpec().WithNodeSelector(f.NodeSelector)
	if len(f.Tolerations) > 0 {
		var tolerations []*corev1ac.TolerationApplyConfiguration
		if err := convertJSON(f.Tolerations, &tolerations); err != nil {
			return nil, fmt.Errorf("while converting the registrar tolerations: %w", err)
		}
		spec.WithTolerations(tolerations...)
	}
	if f.Affinity != nil {
		affinity := corev1ac.Affinity()
		if err := convertJSON(f.Affinity, affinity); err != nil {
			return nil, fmt.Errorf("while converting the registrar affinity: %w", err)
		}
		spec.WithAffinity(affinity)
	}
	return spec, nil
}

// convertJSON copies from into to through JSON.
func convertJSON(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

// imagePullSecrets refers to the named Secrets of the registrar namespace.
func imagePullSecrets(names []string) []*corev1ac.LocalObjectReferenceApplyConfiguration {
	refs := make([]*corev1ac.LocalObjectReferenceApplyConfiguration, 0, len(names))
	for _, n := range names {
		refs = append(refs, corev1ac.LocalObjectReference().WithName(n))
	}
	return refs
}

// resources is the apply configuration of the registrar's requests and limits; nil
// when there are none. A value dropped from the flags leaves the Deployment too:
// server-side apply removes what the field manager applied before and applies no more.
func resources(r corev1.ResourceRequirements) *corev1ac.ResourceRequirementsApplyConfiguration {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return nil
	}
	ac := corev1ac.ResourceRequirements()
	if len(r.Requests) > 0 {
		ac.WithRequests(r.Requests.DeepCopy())
	}
	if len(r.Limits) > 0 {
		ac.WithLimits(r.Limits.DeepCopy())
	}
	return ac
}

// SetupWithManager reconciles once at start and whenever someone changes or deletes
// one of the fleet's objects (its disruption budget too), or one of an earlier name
// appears (pruneRenamed).
func (r *FleetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	only := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: r.Options.RegistrarNamespace, Name: r.Options.Fleet.Name}}
	toOnly := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{only}
	})
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == r.Options.RegistrarNamespace &&
			(o.GetName() == r.Options.Fleet.Name || isFleetObject(o))
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("registrar-fleet").
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			q.Add(only)
			return nil
		})).
		Watches(&appsv1.Deployment{}, toOnly, builder.WithPredicates(ours)).
		Watches(&corev1.Service{}, toOnly, builder.WithPredicates(ours)).
		Watches(&policyv1.PodDisruptionBudget{}, toOnly, builder.WithPredicates(ours)).
		Complete(r)
}
