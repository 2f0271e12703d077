package controllers

import (
	"context"
	"crypto/rand"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// GeneratedPasswordKey is the key of a generated password Secret.
const GeneratedPasswordKey = "password"

// GeneratedPasswordSecretName is where the operator keeps the password of an Extension
// that names none: beside the Extension, so its owner can read it.
func GeneratedPasswordSecretName(extensionName string) string { return extensionName + "-sip-password" }

// resolvePassword returns the Extension's password: from spec.passwordSecretRef, or
// from a Secret the operator generated and owns. Sets: status.passwordSecret.
func (r *ExtensionReconciler) resolvePassword(ctx context.Context, ext *sipv1.Extension) (string, error) {
	if ref := ext.Spec.PasswordSecretRef; ref != nil {
		ext.Status.PasswordSecret = ref.Name
		return r.readReferencedPassword(ctx, ext, ref)
	}
	name := GeneratedPasswordSecretName(ext.Name)
	ext.Status.PasswordSecret = name
	s := &corev1.Secret{}
	key := client.ObjectKey{Namespace: ext.Namespace, Name: name}
	err := r.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		p, genErr := r.generatePassword(ctx, ext, name)
		if !apierrors.IsAlreadyExists(genErr) {
			return p, genErr
		}
		// The cache holds only the operator's Secrets: one it does not hold is
		// someone else's, or was created so recently that the cache has not seen it.
		err = r.APIReader.Get(ctx, key, s)
	}
	if err != nil {
		return "", fmt.Errorf("while reading the generated password secret: %w", err)
	}
	if !metav1.IsControlledBy(s, ext) {
		return "", &stalledError{sipv1.ReasonConflict, fmt.Sprintf(
			"Secret %s exists but was not generated for this Extension; set spec.passwordSecretRef to use it, or delete it", name)}
	}
	if p := string(s.Data[GeneratedPasswordKey]); p != "" {
		return p, nil
	}
	// Someone emptied the generated Secret: a new password is the only way forward.
	p := newPassword()
	s.Data = map[string][]byte{GeneratedPasswordKey: []byte(p)}
	if err := r.Update(ctx, s); err != nil {
		return "", fmt.Errorf("while refilling the generated password secret: %w", err)
	}
	return p, nil
}

// readReferencedPassword reads the user's Secret from the API server: the cache holds
// only the operator's Secrets, so that it does not hold every Secret of the cluster.
func (r *ExtensionReconciler) readReferencedPassword(ctx context.Context, ext *sipv1.Extension, ref *sipv1.SecretKeyReference) (string, error) {
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ext.Namespace, Name: ref.Name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", &stalledError{sipv1.ReasonPasswordSecretNotFound, fmt.Sprintf(
				"password Secret %q not found in namespace %s; create it or remove spec.passwordSecretRef to have one generated", ref.Name, ext.Namespace)}
		}
		return "", fmt.Errorf("while reading the password secret: %w", err)
	}
	key := ref.Key
	if key == "" {
		key = GeneratedPasswordKey
	}
	p := string(s.Data[key])
	if p == "" {
		return "", &stalledError{sipv1.ReasonPasswordKeyNotFound, fmt.Sprintf(
			"password Secret %q has no non-empty key %q", ref.Name, key)}
	}
	return p, nil
}

func (r *ExtensionReconciler) generatePassword(ctx context.Context, ext *sipv1.Extension, name string) (string, error) {
	p := newPassword()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ext.Namespace,
			Name:      name,
			Labels: map[string]string{
				published.LabelManagedBy: published.ManagedBy,
				published.LabelComponent: "sip-password",
			},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{GeneratedPasswordKey: []byte(p)},
	}
	if err := controllerutil.SetControllerReference(ext, s, r.Scheme()); err != nil {
		return "", fmt.Errorf("while owning the generated password secret: %w", err)
	}
	if err := r.Create(ctx, s); err != nil {
		return "", fmt.Errorf("while creating the generated password secret: %w", err)
	}
	r.Recorder.Eventf(ext, s, corev1.EventTypeNormal, "PasswordGenerated", "Generate",
		"generated a password into Secret %s (key %q)", name, GeneratedPasswordKey)
	return p, nil
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newPassword draws passwordLength characters of [A-Za-z0-9] from crypto/rand
// (whose Read never fails), by rejection sampling so every character is equally likely.
func newPassword() string {
	b := make([]byte, passwordLength)
	var c [1]byte
	for i := 0; i < len(b); {
		_, _ = rand.Read(c[:])
		if int(c[0]) < 256-256%len(alnum) {
			b[i] = alnum[int(c[0])%len(alnum)]
			i++
		}
	}
	return string(b)
}
