package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

func TestRegistrarFleetIsKeptWithoutChurn(t *testing.T) {
	ctx := context.Background()
	dep := &appsv1.Deployment{}
	svc := &corev1.Service{}
	key := &corev1.Secret{}
	eventually(t, "registrar deployment, service and nonce key", func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: opts.Fleet.Name}, dep); err != nil {
			return err
		}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: opts.Fleet.Name}, svc); err != nil {
			return err
		}
		return k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: published.NonceKeySecretName}, key)
	})
	if len(key.Data[published.KeyNonceKey]) != 32 {
		t.Errorf("nonce key of %d bytes", len(key.Data[published.KeyNonceKey]))
	}
	if *dep.Spec.Replicas != opts.Fleet.Replicas || dep.Spec.Template.Spec.Containers[0].Image != opts.Fleet.Image {
		t.Errorf("deployment replicas %d image %s", *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image)
	}
	sc := dep.Spec.Template.Spec.Containers[0].SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation {
		t.Errorf("registrar container security context %+v", sc)
	}
	protocols := map[corev1.Protocol]bool{}
	for _, p := range svc.Spec.Ports {
		protocols[p.Protocol] = p.Port == opts.Fleet.SIPPort
	}
	if !protocols[corev1.ProtocolUDP] || !protocols[corev1.ProtocolTCP] {
		t.Errorf("service ports %+v, want SIP over UDP and TCP", svc.Spec.Ports)
	}

	// Someone scales the deployment by hand: the operator puts it back.
	scaled := dep.DeepCopy()
	scaled.Spec.Replicas = ptr(int32(7))
	if err := k8s.Update(ctx, scaled); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replicas restored", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		if *dep.Spec.Replicas != opts.Fleet.Replicas {
			return fmt.Errorf("replicas %d", *dep.Spec.Replicas)
		}
		return nil
	})
	// And then leaves it alone, and never rotates the nonce key by itself.
	rv, keyRV := dep.ResourceVersion, key.ResourceVersion
	if err := testenv.Consistently(2*time.Second, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(key), key); err != nil {
			return err
		}
		if dep.ResourceVersion != rv || key.ResourceVersion != keyRV {
			return fmt.Errorf("rewritten without a change")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
