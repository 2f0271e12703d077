package controllers_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
)

// Argo CD tracks what it applied by a label or an annotation. Objects the operator
// generates must not carry them, or Argo CD would prune them or show drift; the
// generated password Secret instead carries an owner reference to its Extension.
func TestGeneratedObjectsCarryNoArgoCDTracking(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	tracking := func(o *metav1.ObjectMeta) {
		o.Labels = map[string]string{"app.kubernetes.io/instance": "my-argocd-app"}
		o.Annotations = map[string]string{"argocd.argoproj.io/tracking-id": "my-argocd-app:sip.voipbin.net/Extension:" + ns + "/x"}
	}
	d := domain(ns, "d", "argo-"+ns)
	e := extension(ns, "tracked", "d", "8001")
	tracking(&d.ObjectMeta)
	tracking(&e.ObjectMeta)
	mustCreate(t, d, e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)

	generated := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.GeneratedPasswordSecretName("tracked")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.CredentialSecretName("argo-"+ns, "8001")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.DomainConfigMapName("argo-" + ns)}},
	}
	for _, o := range generated {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		if _, ok := o.GetLabels()["app.kubernetes.io/instance"]; ok {
			t.Errorf("%T %s copies Argo CD's tracking label", o, o.GetName())
		}
		if _, ok := o.GetAnnotations()["argocd.argoproj.io/tracking-id"]; ok {
			t.Errorf("%T %s copies Argo CD's tracking annotation", o, o.GetName())
		}
	}
	if !metav1.IsControlledBy(generated[0], e) {
		t.Error("the generated password Secret has no owner reference to its Extension")
	}
}
