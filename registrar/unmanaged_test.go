package registrar_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar"
)

// A registrar the operator does not manage (--manage-registrar=false, the chart's
// registrar.manage=false) gets its nonce key all the same: it starts serving and
// registers a phone, 407 and then 200.
func TestUnmanagedRegistrarServes(t *testing.T) {
	// A control plane of its own: the suite's operator manages its fleet, and two
	// operators on one control plane would both reconcile every Extension.
	own, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = own.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	o := controllers.Options{DomainSuffix: suffix, RegistrarNamespace: registrarNS, Fleet: controllers.DefaultFleetOptions()}
	o.Fleet.Manage = false
	operatorDone, err := own.StartOperator(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-operatorDone })

	var r *registrar.Replica
	stop, err := startReplicaOn(ctx, own.Config, &r, "run-by-hand", "127.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	fleet := &appsv1.Deployment{}
	if err := own.Client.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: o.Fleet.Name}, fleet); !apierrors.IsNotFound(err) {
		t.Errorf("the operator made the registrar Deployment it was told not to manage: %v", err)
	}

	ns, err := own.CreateNamespace(ctx, "sip")
	if err != nil {
		t.Fatal(err)
	}
	domain, password := ns+"."+suffix, "pw-"+ns
	for _, obj := range []client.Object{
		&sipv1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "d"}, Spec: sipv1.DomainSpec{CustomerID: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}, Data: map[string][]byte{"password": []byte(password)}},
		&sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "e1001"}, Spec: sipv1.ExtensionSpec{
			DomainRef: "d", Extension: "1001", PasswordSecretRef: &sipv1.SecretKeyReference{Name: "pw", Key: "password"},
		}},
	} {
		if err := own.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the registrar knows 1001@"+domain, func() error {
		if !r.Knows("1001@" + domain) {
			return fmt.Errorf("credential not published yet")
		}
		return nil
	})
	udp, _ := r.Addresses()
	phone := sippRun{Scenario: "register.xml", Transport: "udp", Target: udp, LocalIP: "127.0.0.1", LocalPort: freePort(t),
		User: "1001", Domain: domain, Password: password, Expires: 600}
	if err := phone.run(t); err != nil {
		t.Fatal(err)
	}
}
