package controllers

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// publishedCredential returns the credential Secret published for ext's number, nil
// when there is none. It exists only while the extension may register, so the
// registrars need no other switch. Until its Extension renames it, a Secret of a
// release before this one is found under its previous name.
func (r *ExtensionReconciler) publishedCredential(ext *sipv1.Extension, customerID string) client.Object {
	for _, name := range []string{
		published.CredentialSecretName(customerID, ext.Spec.Extension),
		published.LegacyCredentialSecretName(customerID, ext.Spec.Extension),
	} {
		if s, ok := r.credentials.get(client.ObjectKey{Namespace: r.Options.RegistrarNamespace, Name: name}); ok {
			return s
		}
	}
	return nil
}

// publishCredential writes the HA1 values of every algorithm for the domain's realm,
// never the password, into the registrar namespace. A credential whose
// annotationCredentialHash says it derives from the current password Secret and spec
// is left alone without reading any data, so a restart, a resync or a registration
// costs no API call; otherwise the password is read and the credential rewritten.
func (r *ExtensionReconciler) publishCredential(ctx context.Context, ext *sipv1.Extension, d *sipv1.Domain, src *passwordSource) error {
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: r.Options.RegistrarNamespace,
			Name:      published.CredentialSecretName(d.Spec.CustomerID, ext.Spec.Extension),
			Labels:    sourceLabels(published.ComponentCredential, d.Spec.CustomerID, ext.Namespace, ext.Name),
			// The Extension lives in another namespace: it cannot own it, the anchor can.
			OwnerReferences: r.Options.ownerRefs(),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			published.KeyDomain:    []byte(d.Status.DomainName),
			published.KeyExtension: []byte(ext.Spec.Extension),
		},
	}
	if ext.Spec.MaxContacts != nil {
		want.Data[published.KeyMaxContacts] = []byte(strconv.Itoa(int(*ext.Spec.MaxContacts)))
	}
	if a := ext.Spec.Authentication; a != nil && len(a.Algorithms) > 0 {
		want.Data[published.KeyAlgorithms] = []byte(published.EncodeAlgorithms(a.Algorithms))
	}
	inputs := credentialInputs{secretUID: src.uid, secretVersion: src.version, realm: d.Status.Realm, plain: maps.Clone(want.Data)}
	key, err := r.credentialKey(ctx)
	if err != nil {
		return err
	}

	have, found := r.credentials.get(client.ObjectKeyFromObject(want)) // metadata only
	switch {
	case !found:
		if err := r.deriveCredential(ctx, ext, src, key, inputs, want); err != nil {
			return err
		}
		if err := r.Create(ctx, want); err != nil {
			return fmt.Errorf("while publishing the credential %s: %w", want.Name, err)
		}
		// A new credential is no news.
		return r.withdrawLegacyCredential(ctx, ext, d.Spec.CustomerID)
	case !isPublishedFrom(have, ext):
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), have); err != nil {
			return fmt.Errorf("while reading the credential %s: %w", want.Name, err)
		}
		return r.publishedByAnother(ext, want, have)
	}
	if credentialIsCurrent(have, key, inputs) && labelsContain(have.Labels, want.Labels) && !addOwnerRefs(have.DeepCopy(), want.OwnerReferences...) {
		// Only now that the registrars have it under its name may a Secret of an
		// earlier name go: they never lack the credential in between.
		return r.withdrawLegacyCredential(ctx, ext, d.Spec.CustomerID)
	}
	changed, err := r.rewriteCredential(ctx, ext, src, key, inputs, want)
	if err != nil {
		return err
	}
	if err := r.withdrawLegacyCredential(ctx, ext, d.Spec.CustomerID); err != nil {
		return err
	}
	if changed {
		r.Recorder.Eventf(ext, nil, corev1.EventTypeNormal, "CredentialsUpdated", "Publish",
			"new credentials for %s published to the registrars", ext.Status.AddressOfRecord)
	}
	return nil
}

// deriveCredential reads the password (unless src has it) and completes want: the
// HA1 values and the annotation naming what they derive from.
func (r *ExtensionReconciler) deriveCredential(ctx context.Context, ext *sipv1.Extension, src *passwordSource,
	key credentialHashKey, inputs credentialInputs, want *corev1.Secret) error {
	if src.password == "" {
		if err := r.loadPassword(ctx, ext, src); err != nil {
			return err
		}
	}
	// The version read, which may be newer than the cache's.
	inputs.secretUID, inputs.secretVersion = src.uid, src.version
	user := ext.Spec.Extension
	want.Data[published.KeyHA1MD5] = []byte(published.HA1(sipv1.DigestMD5, user, inputs.realm, src.password))
	want.Data[published.KeyHA1SHA256] = []byte(published.HA1(sipv1.DigestSHA256, user, inputs.realm, src.password))
	want.Annotations = map[string]string{annotationCredentialHash: credentialHash(key, inputs, want.Data)}
	return nil
}

// rewriteCredential brings the existing credential to want, read from the API server
// (the cache has no data, and its version may be behind), keeping labels and owner
// references of its own. It reports whether the data changed: that is news.
func (r *ExtensionReconciler) rewriteCredential(ctx context.Context, ext *sipv1.Extension, src *passwordSource,
	key credentialHashKey, inputs credentialInputs, want *corev1.Secret) (bool, error) {
	if err := r.deriveCredential(ctx, ext, src, key, inputs, want); err != nil {
		return false, err
	}
	have := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), have); err != nil {
		return false, fmt.Errorf("while reading the credential %s: %w", want.Name, err)
	}
	if !isPublishedFrom(have, ext) {
		return false, r.publishedByAnother(ext, want, have)
	}
	changed := !maps.EqualFunc(have.Data, want.Data, bytesEqual)
	hash := want.Annotations[annotationCredentialHash]
	stale := changed || have.Annotations[annotationCredentialHash] != hash || !labelsContain(have.Labels, want.Labels)
	if !addOwnerRefs(have, want.OwnerReferences...) && !stale {
		return false, nil // the cache was behind: already as wanted
	}
	have.Data = want.Data
	if have.Annotations == nil {
		have.Annotations = map[string]string{}
	}
	have.Annotations[annotationCredentialHash] = hash
	if have.Labels == nil {
		have.Labels = map[string]string{}
	}
	maps.Copy(have.Labels, want.Labels)
	if err := r.Update(ctx, have); err != nil {
		return false, fmt.Errorf("while updating the credential %s: %w", want.Name, err)
	}
	return changed, nil
}

// publishedByAnother explains why another Extension's Secret has the name of ext's.
// When it carries the same AOR, the two Extensions conflict and the user must
// choose. When it carries another AOR it was named by a release before this one,
// whose names two extensions could share (customer acme-1 with extension 01 and acme
// with 1-01); its Extension renames it on its next reconcile, so this one retries.
func (r *ExtensionReconciler) publishedByAnother(ext *sipv1.Extension, want, have *corev1.Secret) error {
	holder := have.Labels[published.LabelSourceNS] + "/" + have.Labels[published.LabelSourceName]
	if string(have.Data[published.KeyExtension]) == ext.Spec.Extension && bytesEqual(have.Data[published.KeyDomain], want.Data[published.KeyDomain]) {
		return &stalledError{sipv1.ReasonConflict, fmt.Sprintf(
			"the credentials of %s are published by Extension %s; delete one of them", ext.Status.AddressOfRecord, holder)}
	}
	return fmt.Errorf("while publishing the credentials of %s: the Secret %s still holds those of Extension %s under its previous name",
		ext.Status.AddressOfRecord, want.Name, holder)
}

// withdrawCredential deletes the credential Secrets this Extension published, if
// any: the registrars then refuse it and drop its bindings. Secrets the operator did
// not publish for this Extension are never touched.
func (r *ExtensionReconciler) withdrawCredential(ctx context.Context, ext *sipv1.Extension) error {
	for _, s := range r.credentials.publishedFrom(ext.Namespace, ext.Name) {
		if err := r.deleteCredential(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// withdrawCredentialUncached is withdrawCredential for the finalizer: it finds what
// ext published by a list from the API server, not from the watch of credentials,
// which may not have seen yet the Secret the previous reconcile created (an
// Extension deleted right after it was applied, or the watch relisting). Once the
// finalizer is gone nothing would withdraw a Secret the watch missed, and the
// registrars would keep accepting the deleted Extension's password. Only Secrets
// that carry the labels the operator publishes with, naming ext as their source,
// are deleted.
func (r *ExtensionReconciler) withdrawCredentialUncached(ctx context.Context, ext *sipv1.Extension) error {
	var secrets corev1.SecretList
	if err := r.APIReader.List(ctx, &secrets, client.InNamespace(r.Options.RegistrarNamespace), client.MatchingLabels{
		published.LabelManagedBy:  published.ManagedBy,
		published.LabelComponent:  published.ComponentCredential,
		published.LabelSourceNS:   ext.Namespace,
		published.LabelSourceName: ext.Name,
	}); err != nil {
		return fmt.Errorf("while listing the credential secrets of the extension: %w", err)
	}
	for i := range secrets.Items {
		if s := &secrets.Items[i]; isPublishedFrom(s, ext) {
			if err := r.deleteCredential(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// withdrawLegacyCredential deletes what a release before this one published for ext
// under its previous name. Number, Domain and customer are immutable, so that is the
// one other name ext can have published for this Domain (what it published for a
// Domain since gone went when that Domain did). A lookup by name, not a list: a list
// of the credentials of one Extension scans every credential in the cache, 100,000
// of them on each reconcile.
func (r *ExtensionReconciler) withdrawLegacyCredential(ctx context.Context, ext *sipv1.Extension, customerID string) error {
	key := client.ObjectKey{Namespace: r.Options.RegistrarNamespace, Name: published.LegacyCredentialSecretName(customerID, ext.Spec.Extension)}
	if key.Name == published.CredentialSecretName(customerID, ext.Spec.Extension) {
		return nil
	}
	s, ok := r.credentials.get(key)
	if !ok {
		return nil
	}
	if s.Labels[published.LabelComponent] != published.ComponentCredential || !isPublishedFrom(s, ext) {
		return nil
	}
	return r.deleteCredential(ctx, s)
}

func (r *ExtensionReconciler) deleteCredential(ctx context.Context, s *corev1.Secret) error {
	if err := r.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("while withdrawing the credential secret %s: %w", s.Name, err)
	}
	return nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// enqueueCredentialClaimants brings back, on an event of a credential Secret, the
// Extension it was published from and every Extension of the same address of
// record, whatever their namespace: one of them may be Stalled in Conflict because
// this Secret held its credential's name (its customer ID moved to another Domain),
// and nothing else would retry it once the Secret goes. A lookup, not a scan: the
// Domains of the customer, then their Extensions of that number.
func (r *ExtensionReconciler) enqueueCredentialClaimants(ctx context.Context, queue requestQueue, s *corev1.Secret) {
	enqueuePublishedSource(ctx, queue, s)
	customer := s.Labels[published.LabelCustomer]
	number, ok := credentialNumber(customer, s.Name)
	if !ok {
		return
	}
	var domains sipv1.DomainList
	if err := r.List(ctx, &domains, client.MatchingFields{indexDomainCustomer: customer}); err != nil {
		log.FromContext(ctx).Error(err, "while listing the domains of a credential to requeue their extensions", "secret", s.Name)
		return
	}
	for i := range domains.Items {
		claims, err := sameNumber(r.extensions, domains.Items[i].Namespace, domains.Items[i].Name, number)
		if err != nil {
			log.FromContext(ctx).Error(err, "while listing extensions to requeue", "secret", s.Name)
			return
		}
		for _, e := range claims {
			queue.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e)})
		}
	}
}

// credentialNumber is the extension number a credential Secret of the customer is
// named after (CredentialSecretName, or LegacyCredentialSecretName), false when
// name is neither.
func credentialNumber(customer, name string) (string, bool) {
	if customer == "" {
		return "", false
	}
	var number string
	if rest, ok := strings.CutPrefix(name, "sip-cred--"+customer+"."); ok {
		b, err := hex.DecodeString(rest)
		if err != nil {
			return "", false
		}
		number = string(b)
	} else if rest, ok := strings.CutPrefix(name, "sip-cred-"+customer+"."); ok {
		number = rest
	} else if rest, ok := strings.CutPrefix(name, "sip-cred-"+customer+"-"); ok {
		number = rest
	}
	if number == "" || (published.CredentialSecretName(customer, number) != name && published.LegacyCredentialSecretName(customer, number) != name) {
		return "", false
	}
	return number, true
}
