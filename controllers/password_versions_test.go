package controllers_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
)

// TestGeneratedPasswordSecretsAreNotCached: the operator's cache holds no generated
// password Secret (one per Extension: 60 MB of its memory at 100,000), yet one
// deleted by hand is generated again and the new password is the one the registrars
// check, as is one edited by hand (TestGeneratedPasswordChangedOrEmptiedByHandIsPublished).
func TestGeneratedPasswordSecretsAreNotCached(t *testing.T) {
	ctx := context.Background()
	e, customer, realm := readyExtension(t, "nocache", "gina", "1010")
	pw := &corev1.Secret{}
	key := client.ObjectKey{Namespace: e.Namespace, Name: controllers.GeneratedPasswordSecretName(e.Name)}
	if err := k8s.Get(ctx, key, pw); err != nil {
		t.Fatal(err)
	}
	credentialFor(t, customer, "1010", realm, string(pw.Data[controllers.GeneratedPasswordKey]))

	c := operatorCache(t)
	if err := c.Get(ctx, key, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("the operator's cache holds the generated password Secret %s (err %v)", key, err)
	}

	replaced(t, pw)
	credentialFor(t, customer, "1010", realm, string(pw.Data[controllers.GeneratedPasswordKey]))
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
}
