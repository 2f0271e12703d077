package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// credentialKey is where an Extension's credential Secret lives; it exists only while
// the extension may register, so the registrars need no other switch.
func (r *ExtensionReconciler) credentialKey(ext *sipv1.Extension, customerID string) client.ObjectKey {
	return client.ObjectKey{Namespace: r.Options.RegistrarNamespace, Name: published.CredentialSecretName(customerID, ext.Spec.Extension)}
}

// publishCredential writes the HA1 values of every algorithm for the domain's realm,
// never the password, into the registrar namespace. An unchanged credential is not
// rewritten, so a restart or resync causes no API writes.
func (r *ExtensionReconciler) publishCredential(ctx context.Context, ext *sipv1.Extension, d *sipv1.Domain, password string) error {
	realm := d.Status.Realm
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: r.Options.RegistrarNamespace,
			Name:      published.CredentialSecretName(d.Spec.CustomerID, ext.Spec.Extension),
			Labels:    sourceLabels(published.ComponentCredential, d.Spec.CustomerID, ext.Namespace, ext.Name),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			published.KeyDomain:    []byte(d.Status.DomainName),
			published.KeyExtension: []byte(ext.Spec.Extension),
			published.KeyHA1MD5:    []byte(published.HA1(sipv1.DigestMD5, ext.Spec.Extension, realm, password)),
			published.KeyHA1SHA256: []byte(published.HA1(sipv1.DigestSHA256, ext.Spec.Extension, realm, password)),
		},
	}
	if ext.Spec.MaxContacts != nil {
		want.Data[published.KeyMaxContacts] = []byte(strconv.Itoa(int(*ext.Spec.MaxContacts)))
	}
	if a := ext.Spec.Authentication; a != nil && len(a.Algorithms) > 0 {
		want.Data[published.KeyAlgorithms] = []byte(published.EncodeAlgorithms(a.Algorithms))
	}
	have := &corev1.Secret{}
	written, err := publish(ctx, r.Client, ext, want, have, false, func(have, want *corev1.Secret) bool {
		if maps.EqualFunc(have.Data, want.Data, bytesEqual) {
			return false
		}
		have.Data = want.Data
		return true
	})
	if errors.Is(err, errPublishedByAnother) {
		return &stalledError{sipv1.ReasonConflict, fmt.Sprintf(
			"the credentials of %s are published by Extension %s/%s; delete one of them",
			ext.Status.AddressOfRecord, have.Labels[published.LabelSourceNS], have.Labels[published.LabelSourceName])}
	}
	if err != nil || !written || have.UID == "" {
		return err // a new credential is no news; a changed one is
	}
	r.Recorder.Eventf(ext, nil, corev1.EventTypeNormal, "CredentialsUpdated", "Publish",
		"new credentials for %s published to the registrars", ext.Status.AddressOfRecord)
	return nil
}

// withdrawCredential deletes the Extension's credential Secret, if this Extension
// published one: the registrars then refuse it and drop its bindings.
func (r *ExtensionReconciler) withdrawCredential(ctx context.Context, ext *sipv1.Extension) error {
	var creds corev1.SecretList
	if err := r.List(ctx, &creds, client.InNamespace(r.Options.RegistrarNamespace), client.MatchingLabels{
		published.LabelComponent:  published.ComponentCredential,
		published.LabelSourceNS:   ext.Namespace,
		published.LabelSourceName: ext.Name,
	}); err != nil {
		return fmt.Errorf("while listing the extension's credential secrets: %w", err)
	}
	for i := range creds.Items {
		s := &creds.Items[i]
		if err := r.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("while withdrawing the credential secret %s: %w", s.Name, err)
		}
	}
	return nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
