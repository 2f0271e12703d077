package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// FinalizeExtensionUnwatched runs the Extension finalizer of a reconciler whose watch
// of published credentials has not seen anything yet (not started: as after a
// relist, or before the watch event of a credential just created arrives), reading
// and writing through c, with the credentials published into o.RegistrarNamespace.
func FinalizeExtensionUnwatched(ctx context.Context, c client.Client, o Options, ext *sipv1.Extension) error {
	r := &ExtensionReconciler{Client: c, APIReader: c, Options: o, credentials: credentialStore(nil, o.RegistrarNamespace)}
	return r.finalize(ctx, ext)
}

// FinalizeDomainUnwatched runs the Domain finalizer of a reconciler whose cache has
// not seen any ConfigMap yet, with the config published into o.RegistrarNamespace.
func FinalizeDomainUnwatched(ctx context.Context, c client.Client, o Options, d *sipv1.Domain) error {
	r := &DomainReconciler{Client: noConfigMaps{c}, APIReader: c, Options: o}
	return r.finalize(ctx, d)
}

// noConfigMaps reads as a cache that has not seen any ConfigMap yet.
type noConfigMaps struct{ client.Client }

func (c noConfigMaps) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.ConfigMap); ok {
		return apierrors.NewNotFound(corev1.Resource("configmaps"), key.Name)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}
