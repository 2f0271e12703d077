package controllers

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// componentPassword labels the password Secrets the operator generates.
const componentPassword = "sip-password"

// passwordLabels are the labels of every generated password Secret; a Secret takes
// a copy.
var passwordLabels = map[string]string{published.LabelManagedBy: published.ManagedBy, published.LabelComponent: componentPassword}

// passwordSource is the Secret an Extension's password comes from, as far as the
// caches know it: its identity and version name the password in a credential's
// annotationCredentialHash, so that a current credential is recognised without reading
// the password. password is set once it has been read (or generated).
type passwordSource struct {
	key       client.ObjectKey
	dataKey   string
	generated bool
	uid       types.UID
	version   string
	password  string
}

// resolvePassword finds the Extension's password Secret: spec.passwordSecretRef, or
// the Secret the operator generated and owns (generating it when missing). It reads
// metadata from the caches and the watch of generated passwords; a Secret they do not
// hold yet is read from the API server. Sets: status.passwordSecret.
func (r *ExtensionReconciler) resolvePassword(ctx context.Context, ext *sipv1.Extension) (*passwordSource, error) {
	if ref := ext.Spec.PasswordSecretRef; ref != nil {
		ext.Status.PasswordSecret = ref.Name
		src := &passwordSource{key: client.ObjectKey{Namespace: ext.Namespace, Name: ref.Name}, dataKey: ref.Key}
		if src.dataKey == "" {
			src.dataKey = GeneratedPasswordKey
		}
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if r.PasswordSecrets == nil || r.PasswordSecrets.Get(ctx, src.key, m) != nil {
			return src, r.loadPassword(ctx, ext, src)
		}
		src.uid, src.version = m.UID, m.ResourceVersion
		return src, nil
	}
	name := GeneratedPasswordSecretName(ext.Name)
	ext.Status.PasswordSecret = name
	src := &passwordSource{key: client.ObjectKey{Namespace: ext.Namespace, Name: name}, dataKey: GeneratedPasswordKey, generated: true}
	v, known := passwordVersion{}, false
	if r.generatedPasswords != nil {
		v, known = r.generatedPasswords.lookup(src.key)
	}
	if !known {
		created, genErr := r.generatePassword(ctx, ext, name)
		if genErr == nil {
			src.uid, src.version, src.password = created.UID, created.ResourceVersion, string(created.Data[GeneratedPasswordKey])
			return src, nil
		}
		if !apierrors.IsAlreadyExists(genErr) {
			return nil, genErr
		}
		// The watch sees only the Secrets the operator generated: one it does not know
		// is someone else's, or was created so recently that the watch has not seen it.
		return src, r.loadPassword(ctx, ext, src)
	}
	if !v.exact {
		return src, r.loadPassword(ctx, ext, src)
	}
	owner, ok := compactUID(ext.UID)
	if !ok {
		return src, r.loadPassword(ctx, ext, src)
	}
	if v.owner != owner {
		return nil, notGeneratedForExtension(name)
	}
	src.uid, src.version = uidString(v.uid), strconv.FormatUint(v.version, 10)
	return src, nil
}

// loadPassword reads src's password from the API server (the cache holds neither a
// user's Secrets nor the data of the operator's) and records the version read. A
// generated Secret someone emptied gets a new password.
func (r *ExtensionReconciler) loadPassword(ctx context.Context, ext *sipv1.Extension, src *passwordSource) error {
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, src.key, s); err != nil {
		if apierrors.IsNotFound(err) && !src.generated {
			return &stalledError{sipv1.ReasonPasswordSecretNotFound, fmt.Sprintf(
				"password Secret %q not found in namespace %s; create it or remove spec.passwordSecretRef to have one generated", src.key.Name, ext.Namespace)}
		}
		return fmt.Errorf("while reading the password secret: %w", err)
	}
	p := string(s.Data[src.dataKey])
	switch {
	case src.generated && !metav1.IsControlledBy(s, ext):
		return notGeneratedForExtension(src.key.Name)
	case p == "" && !src.generated:
		return &stalledError{sipv1.ReasonPasswordKeyNotFound, fmt.Sprintf(
			"password Secret %q has no non-empty key %q", src.key.Name, src.dataKey)}
	case p == "":
		// Someone emptied the generated Secret: a new password is the only way forward.
		p = newPassword()
		s.Data = map[string][]byte{GeneratedPasswordKey: []byte(p)}
		if err := r.Update(ctx, s); err != nil {
			return fmt.Errorf("while refilling the generated password secret: %w", err)
		}
	}
	src.uid, src.version, src.password = s.UID, s.ResourceVersion, p
	return nil
}

func notGeneratedForExtension(name string) error {
	return &stalledError{sipv1.ReasonConflict, fmt.Sprintf(
		"Secret %s exists but was not generated for this Extension; set spec.passwordSecretRef to use it, or delete it", name)}
}

func (r *ExtensionReconciler) generatePassword(ctx context.Context, ext *sipv1.Extension, name string) (*corev1.Secret, error) {
	p := newPassword()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ext.Namespace,
			Name:      name,
			Labels:    maps.Clone(passwordLabels),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{GeneratedPasswordKey: []byte(p)},
	}
	if err := controllerutil.SetControllerReference(ext, s, r.Scheme()); err != nil {
		return nil, fmt.Errorf("while owning the generated password secret: %w", err)
	}
	if err := r.Create(ctx, s); err != nil {
		return nil, fmt.Errorf("while creating the generated password secret: %w", err)
	}
	// No event: status.passwordSecret names the Secret, and the event recorder would
	// hold one event per Extension of a bulk load for minutes.
	return s, nil
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
