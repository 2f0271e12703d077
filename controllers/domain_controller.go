package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// DomainFinalizer lets the operator withdraw a Domain's published ConfigMap, which
// lives in the registrar's namespace where an owner reference cannot reach.
const DomainFinalizer = "sip.voipbin.net/published-config"

// DomainReconciler turns a Domain into its published ConfigMap and keeps its status:
// name, realm, extension counts and the Ready condition.
type DomainReconciler struct {
	client.Client
	// APIReader reads from the API server what the finalizer must not miss: the
	// ConfigMap the Domain published, which the cache may not have seen yet.
	APIReader client.Reader
	Options   Options
	Recorder  events.EventRecorder
	counts    countPacer
}

// +kubebuilder:rbac:groups=sip.voipbin.net,resources=domains,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=sip.voipbin.net,resources=domains/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=sip.voipbin.net,resources=domains/finalizers,verbs=update
// +kubebuilder:rbac:groups="",namespace=registrar-system,resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile reads top-down: fetch → deletion → finalizer → conflicts → published config → counts.
func (r *DomainReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	d := &sipv1.Domain{}
	if err := r.Get(ctx, req.NamespacedName, d); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !d.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, d)
	}
	if controllerutil.AddFinalizer(d, DomainFinalizer) {
		if err := r.Update(ctx, d); err != nil {
			return ctrl.Result{}, fmt.Errorf("while adding the finalizer: %w", err)
		}
	}

	orig := d.DeepCopy()
	defer func() {
		if retErr == nil {
			d.Status.ObservedGeneration = d.Generation
		}
		if equality.Semantic.DeepEqual(orig.Status, d.Status) {
			return
		}
		if err := r.Status().Patch(ctx, d, client.MergeFrom(orig)); err != nil && retErr == nil {
			retErr = fmt.Errorf("while writing the domain status: %w", client.IgnoreNotFound(err))
		}
	}()

	name := published.DomainName(d.Spec.CustomerID, r.Options.DomainSuffix)
	d.Status.DomainName, d.Status.Realm = name, name

	if err := r.reconcileCounts(ctx, d); err != nil {
		return ctrl.Result{}, err
	}
	winner, err := r.reconcileConflict(ctx, d)
	if err != nil || !winner {
		return ctrl.Result{}, err
	}
	if err := r.reconcilePublished(ctx, d); err != nil {
		return ctrl.Result{}, err
	}
	wasReady := isReady(d.Status.Conditions)
	setReady(&d.Status.Conditions, d.Generation, sipv1.ReasonReady, "serving "+name)
	if !wasReady {
		r.Recorder.Eventf(d, nil, corev1.EventTypeNormal, sipv1.ReasonReady, "Publish", "domain %s is published to the registrars", name)
	}
	return ctrl.Result{}, nil
}

// reconcileConflict sets Ready=False/Conflict on every Domain but the first to claim a
// customer ID. Sets: Ready, Stalled.
func (r *DomainReconciler) reconcileConflict(ctx context.Context, d *sipv1.Domain) (bool, error) {
	var claims sipv1.DomainList
	if err := r.List(ctx, &claims, client.MatchingFields{indexDomainCustomer: d.Spec.CustomerID}); err != nil {
		return false, fmt.Errorf("while listing domains of customer %q: %w", d.Spec.CustomerID, err)
	}
	ptrs := make([]*sipv1.Domain, len(claims.Items))
	for i := range claims.Items {
		ptrs[i] = &claims.Items[i]
	}
	first, ok := firstClaim(ptrs, r.publishedConfig(ctx, d.Spec.CustomerID))
	if !ok || (first.Namespace == d.Namespace && first.Name == d.Name) {
		return true, nil
	}
	msg := fmt.Sprintf("customer ID %q is already served by Domain %s/%s; delete one of them", d.Spec.CustomerID, first.Namespace, first.Name)
	if readyReason(d.Status.Conditions) != sipv1.ReasonConflict {
		r.Recorder.Eventf(d, first, corev1.EventTypeWarning, sipv1.ReasonConflict, "Claim", msg)
	}
	setStalled(&d.Status.Conditions, d.Generation, sipv1.ReasonConflict, msg)
	return false, nil
}

// reconcileCounts counts the Domain's Extensions and those with a live binding.
// Sets: status.extensions, status.registeredExtensions.
func (r *DomainReconciler) reconcileCounts(ctx context.Context, d *sipv1.Domain) error {
	var exts sipv1.ExtensionList
	if err := r.List(ctx, &exts, client.InNamespace(d.Namespace), client.MatchingFields{indexExtensionDomain: d.Name}); err != nil {
		return fmt.Errorf("while listing the domain's extensions: %w", err)
	}
	var registered int32
	for i := range exts.Items {
		if len(exts.Items[i].Status.Bindings) > 0 {
			registered++
		}
	}
	d.Status.Extensions, d.Status.RegisteredExtensions = int32(len(exts.Items)), registered
	r.counts.counted(client.ObjectKeyFromObject(d), time.Now())
	return nil
}

// finalize withdraws the published ConfigMap, if this Domain published it, and lets
// the Domain go. Its Extensions notice the Domain is gone and withdraw their credentials.
func (r *DomainReconciler) finalize(ctx context.Context, d *sipv1.Domain) error {
	r.counts.forget(client.ObjectKeyFromObject(d))
	if err := r.withdrawPublished(ctx, d); err != nil {
		return err
	}
	if controllerutil.RemoveFinalizer(d, DomainFinalizer) {
		// Gone already (another reconcile of a stale copy let it go): nothing to do.
		if err := client.IgnoreNotFound(r.Update(ctx, d)); err != nil {
			return fmt.Errorf("while removing the finalizer: %w", err)
		}
	}
	log.FromContext(ctx).Info("domain withdrawn", "customerID", d.Spec.CustomerID)
	return nil
}

// SetupWithManager watches Domains, the Extensions they count, the Domains they may
// conflict with and the ConfigMaps they publish.
func (r *DomainReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sipv1.Domain{}, builder.WithPredicates(specOrLifecycleChanged())).
		Watches(&sipv1.Domain{}, handler.EnqueueRequestsFromMapFunc(r.domainsOfSameCustomer),
			builder.WithPredicates(lifecycleOnly())).
		Watches(&sipv1.Extension{}, r.recountDomainOfExtension(), builder.WithPredicates(extensionCountChanged())).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(publishedSource),
			builder.WithPredicates(inNamespace(r.Options.RegistrarNamespace), hasComponent(published.ComponentDomain))).
		Named("domain").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.workers()}).
		Complete(r)
}

// domainsOfSameCustomer re-examines the other claimants of a customer ID when one
// appears or goes, so that a conflict resolves by itself.
func (r *DomainReconciler) domainsOfSameCustomer(ctx context.Context, o client.Object) []reconcile.Request {
	var claims sipv1.DomainList
	if err := r.List(ctx, &claims, client.MatchingFields{indexDomainCustomer: o.(*sipv1.Domain).Spec.CustomerID}); err != nil {
		log.FromContext(ctx).Error(err, "while listing domains of the same customer")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(claims.Items))
	for i := range claims.Items {
		if claims.Items[i].UID != o.GetUID() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&claims.Items[i])})
		}
	}
	return reqs
}

// extensionCountChanged passes the Extension events that change a Domain's counts:
// creation, deletion, and a change between registered and not.
func extensionCountChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*sipv1.Extension), e.ObjectNew.(*sipv1.Extension)
			return (len(o.Status.Bindings) > 0) != (len(n.Status.Bindings) > 0)
		},
	}
}

// publishedSource maps an object the operator published back to its source resource.
func publishedSource(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	if l[published.LabelSourceNS] == "" || l[published.LabelSourceName] == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: l[published.LabelSourceNS], Name: l[published.LabelSourceName]}}}
}
