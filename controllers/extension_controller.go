package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
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

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// ExtensionReconciler turns an Extension into the credential Secret the registrars
// authenticate it with, and keeps its status: address of record, contact count,
// expired bindings pruned, Ready.
type ExtensionReconciler struct {
	client.Client
	// APIReader reads from the API server what the cache does not hold: a user's
	// password Secret.
	APIReader client.Reader
	// PasswordSecrets holds the metadata of the Secrets the operator does not manage,
	// among them the password Secrets users name (set by SetupWithManager).
	PasswordSecrets client.Reader
	// generatedPasswords follows the password Secrets the operator generates, which
	// the cache leaves out (set by SetupWithManager).
	generatedPasswords *passwordVersions
	// credentials follows the credential Secrets the operator publishes, which the
	// cache leaves out (set by SetupWithManager).
	credentials *credentialVersions
	// extensions is the cache's store of Extensions, indexed by number (sameNumber).
	extensions toolscache.Indexer
	Options    Options
	Recorder   events.EventRecorder
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// +kubebuilder:rbac:groups=sip.voipbin.net,resources=extensions,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=sip.voipbin.net,resources=extensions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=sip.voipbin.net,resources=extensions/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",namespace=registrar-system,resources=secrets,verbs=delete

// stalledError ends a reconcile without a retry: the user must change something, and
// the watches bring the Extension back when they do.
type stalledError struct{ reason, msg string }

func (e *stalledError) Error() string { return e.msg }

// waitingError ends a reconcile without a retry until a watched object appears.
type waitingError struct{ reason, msg string }

func (e *waitingError) Error() string { return e.msg }

// Reconcile reads top-down: fetch → deletion → finalizer → domain → claim →
// password → credential → bindings → Ready.
func (r *ExtensionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	ext := &sipv1.Extension{}
	if err := r.Get(ctx, req.NamespacedName, ext); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ext.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, ext)
	}
	if err := r.patchFinalizers(ctx, ext, controllerutil.AddFinalizer); err != nil {
		return ctrl.Result{}, fmt.Errorf("while adding the finalizer: %w", err)
	}
	// Pruning rewrites status.bindings, which belong to the registrars, so it is an
	// update guarded by resourceVersion rather than part of the patch below.
	next, err := r.pruneExpiredBindings(ctx, ext)
	if err != nil {
		return ctrl.Result{}, err
	}

	orig := ext.DeepCopy()
	defer func() {
		if retErr == nil {
			ext.Status.ObservedGeneration = ext.Generation
		}
		ext.Status.Contacts = int32(len(ext.Status.Bindings))
		if equality.Semantic.DeepEqual(orig.Status, ext.Status) {
			return
		}
		if err := r.Status().Patch(ctx, ext, client.MergeFrom(orig)); err != nil && retErr == nil {
			retErr = fmt.Errorf("while writing the extension status: %w", client.IgnoreNotFound(err))
		}
	}()

	err = r.reconcileCredentials(ctx, ext)
	var stalled *stalledError
	var waiting *waitingError
	switch {
	case errors.As(err, &stalled):
		r.warnOnce(ext, stalled.reason, stalled.msg)
		setStalled(&ext.Status.Conditions, ext.Generation, stalled.reason, stalled.msg)
		return ctrl.Result{}, r.withdrawCredential(ctx, ext)
	case errors.As(err, &waiting):
		setWaiting(&ext.Status.Conditions, ext.Generation, waiting.reason, waiting.msg)
		return ctrl.Result{}, r.withdrawCredential(ctx, ext)
	case err != nil:
		return ctrl.Result{}, err
	}

	// A new Extension's first Ready is no news (its condition says it, and 100,000
	// such events would sit in the event recorder's memory for minutes); coming back
	// from a problem is.
	recovered := readyReason(ext.Status.Conditions) != "" && !isReady(ext.Status.Conditions)
	if ext.Spec.Disabled {
		setReady(&ext.Status.Conditions, ext.Generation, sipv1.ReasonDisabled, "disabled: the registrars refuse "+ext.Status.AddressOfRecord)
	} else {
		setReady(&ext.Status.Conditions, ext.Generation, sipv1.ReasonReady, "accepting registrations for "+ext.Status.AddressOfRecord)
		if recovered {
			r.Recorder.Eventf(ext, nil, corev1.EventTypeNormal, sipv1.ReasonReady, "Publish",
				"credentials for %s published to the registrars", ext.Status.AddressOfRecord)
		}
	}
	return requeueAt(next, r.now()), nil
}

// reconcileCredentials resolves the Domain, the claim on the extension number and the
// password, and publishes (or, when disabled, withdraws) the credential Secret.
// Sets: status.addressOfRecord, status.passwordSecret.
func (r *ExtensionReconciler) reconcileCredentials(ctx context.Context, ext *sipv1.Extension) error {
	domain, err := r.resolveDomain(ctx, ext)
	if err != nil {
		if waiting := (*waitingError)(nil); errors.As(err, &waiting) && waiting.reason == sipv1.ReasonDomainNotFound {
			ext.Status.AddressOfRecord = "" // no Domain, no address of record to show
		}
		return err
	}
	ext.Status.AddressOfRecord = ext.Spec.Extension + "@" + domain.Status.DomainName
	if err := r.checkClaim(ext, domain); err != nil {
		return err
	}
	if err := checkAlgorithms(ext, domain); err != nil {
		return err
	}
	password, err := r.resolvePassword(ctx, ext)
	if err != nil {
		return err
	}
	if ext.Spec.Disabled {
		// Read all the same: a disabled Extension still reports a password it cannot use.
		if password.password == "" {
			if err := r.loadPassword(ctx, ext, password); err != nil {
				return err
			}
		}
		return r.withdrawCredential(ctx, ext)
	}
	return r.publishCredential(ctx, ext, domain, password)
}

// resolveDomain finds the Ready Domain the Extension refers to.
func (r *ExtensionReconciler) resolveDomain(ctx context.Context, ext *sipv1.Extension) (*sipv1.Domain, error) {
	d := &sipv1.Domain{}
	key := types.NamespacedName{Namespace: ext.Namespace, Name: ext.Spec.DomainRef}
	if err := r.Get(ctx, key, d); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, &waitingError{sipv1.ReasonDomainNotFound,
				fmt.Sprintf("Domain %q not found in namespace %s; create it and the extension becomes Ready by itself", ext.Spec.DomainRef, ext.Namespace)}
		}
		return nil, fmt.Errorf("while reading the domain: %w", err)
	}
	if !d.DeletionTimestamp.IsZero() {
		return nil, &waitingError{sipv1.ReasonDomainNotFound, fmt.Sprintf("Domain %q is being deleted", d.Name)}
	}
	if !isReady(d.Status.Conditions) || d.Status.DomainName == "" {
		// A Domain that waits on the user holds its Extensions as long: they are
		// stalled with it, not in progress.
		if c := meta.FindStatusCondition(d.Status.Conditions, sipv1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
			return nil, &stalledError{sipv1.ReasonDomainStalled,
				fmt.Sprintf("Domain %q is stalled (%s): %s", d.Name, c.Reason, c.Message)}
		}
		return nil, &waitingError{sipv1.ReasonDomainNotReady,
			fmt.Sprintf("Domain %q is not Ready; see its conditions (kubectl describe domain %s)", d.Name, d.Name)}
	}
	return d, nil
}

// checkClaim refuses an Extension whose number an older Extension of the same Domain holds.
func (r *ExtensionReconciler) checkClaim(ext *sipv1.Extension, d *sipv1.Domain) error {
	claims, err := sameNumber(r.extensions, ext.Namespace, ext.Spec.DomainRef, ext.Spec.Extension)
	if err != nil {
		return err
	}
	if first, ok := firstClaim(claims, r.publishedCredential(ext, d.Spec.CustomerID)); ok && first.UID != ext.UID {
		return &stalledError{sipv1.ReasonConflict, fmt.Sprintf(
			"extension %s of domain %s is already defined by Extension %s; delete one of them",
			ext.Spec.Extension, d.Status.DomainName, first.Name)}
	}
	return nil
}

// finalize withdraws the credential Secret and lets the Extension go; its generated
// password Secret goes with it through its owner reference.
func (r *ExtensionReconciler) finalize(ctx context.Context, ext *sipv1.Extension) error {
	if err := r.withdrawCredentialUncached(ctx, ext); err != nil {
		return err
	}
	// Gone already (another reconcile of a stale copy let it go): nothing to do.
	if err := client.IgnoreNotFound(r.patchFinalizers(ctx, ext, controllerutil.RemoveFinalizer)); err != nil {
		return fmt.Errorf("while removing the finalizer: %w", err)
	}
	log.FromContext(ctx).Info("extension withdrawn", "extension", ext.Spec.Extension)
	return nil
}

// patchFinalizers adds or removes (change) the Extension's finalizer by a patch that
// holds the finalizers alone, guarded by resourceVersion as an update is: the cache
// holds Extensions without their annotations (slimForCache), which an update from it
// would erase.
func (r *ExtensionReconciler) patchFinalizers(ctx context.Context, ext *sipv1.Extension, change func(client.Object, string) bool) error {
	base := ext.DeepCopy()
	if !change(ext, sipv1.ExtensionFinalizer) {
		return nil
	}
	return r.Patch(ctx, ext, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

func (r *ExtensionReconciler) warnOnce(ext *sipv1.Extension, reason, msg string) {
	if readyReason(ext.Status.Conditions) != reason {
		r.Recorder.Eventf(ext, nil, corev1.EventTypeWarning, reason, "Reconcile", msg)
	}
}

func (r *ExtensionReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager watches Extensions and everything their credentials derive from.
func (r *ExtensionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	passwords, err := r.userPasswordSecrets(mgr)
	if err != nil {
		return err
	}
	if r.generatedPasswords, err = newPasswordVersions(mgr, r.enqueueGeneratedPassword); err != nil {
		return err
	}
	if r.credentials, err = newCredentialVersions(mgr, r.Options.RegistrarNamespace); err != nil {
		return err
	}
	r.credentials.enqueue = r.enqueueCredentialClaimants
	if r.extensions, err = extensionsIndexer(context.Background(), mgr.GetCache()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&sipv1.Extension{}, builder.WithPredicates(predicate.Or(specOrLifecycleChanged(), bindingsChanged()))).
		Watches(&sipv1.Extension{}, handler.EnqueueRequestsFromMapFunc(r.extensionsWithSameNumber),
			builder.WithPredicates(lifecycleOnly())).
		Watches(&sipv1.Domain{}, handler.EnqueueRequestsFromMapFunc(r.extensionsOfDomain),
			builder.WithPredicates(domainReadinessChanged())).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.extensionsUsingPassword)).
		WatchesRawSource(passwords).
		WatchesRawSource(r.generatedPasswords).
		WatchesRawSource(r.credentials).
		Named("extension").
		// Each reconcile waits on a few API round trips; several at once keep a bulk
		// load of Extensions from being bound by one worker's latency.
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.workers()}).
		Complete(r)
}

// bindingsChanged passes registrar status writes that add or remove bindings, so that
// the contact count follows and the next expiry is requeued.
func bindingsChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		DeleteFunc: func(event.DeleteEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*sipv1.Extension), e.ObjectNew.(*sipv1.Extension)
			return !equality.Semantic.DeepEqual(o.Status.Bindings, n.Status.Bindings)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// domainReadinessChanged passes Domain events that change what an Extension derives
// from it: creation, deletion, Ready (its status, reason or message) or Stalled, the
// domain name or the algorithms it accepts. Count updates do not pass, or every
// registration would reconcile every extension of its domain.
func domainReadinessChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*sipv1.Domain), e.ObjectNew.(*sipv1.Domain)
			return conditionChanged(o.Status.Conditions, n.Status.Conditions, sipv1.ConditionReady) ||
				conditionChanged(o.Status.Conditions, n.Status.Conditions, sipv1.ConditionStalled) ||
				o.Status.DomainName != n.Status.DomainName ||
				!slices.Equal(o.Spec.Authentication.Algorithms, n.Spec.Authentication.Algorithms) ||
				!o.DeletionTimestamp.Equal(n.DeletionTimestamp)
		},
	}
}

func (r *ExtensionReconciler) extensionsOfDomain(ctx context.Context, o client.Object) []reconcile.Request {
	return r.listRequests(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexExtensionDomain: o.GetName()})
}

func (r *ExtensionReconciler) extensionsWithSameNumber(ctx context.Context, o client.Object) []reconcile.Request {
	e := o.(*sipv1.Extension)
	claims, err := sameNumber(r.extensions, e.Namespace, e.Spec.DomainRef, e.Spec.Extension)
	if err != nil {
		log.FromContext(ctx).Error(err, "while listing extensions to requeue")
		return nil
	}
	reqs := make([]reconcile.Request, len(claims))
	for i, c := range claims {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(c)}
	}
	return reqs
}

func (r *ExtensionReconciler) extensionsUsingPassword(ctx context.Context, o client.Object) []reconcile.Request {
	return r.listRequests(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexExtensionPassword: o.GetName()})
}

func (r *ExtensionReconciler) listRequests(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var exts sipv1.ExtensionList
	if err := r.List(ctx, &exts, opts...); err != nil {
		log.FromContext(ctx).Error(err, "while listing extensions to requeue")
		return nil
	}
	reqs := make([]reconcile.Request, len(exts.Items))
	for i := range exts.Items {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&exts.Items[i])}
	}
	return reqs
}
