package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/voipbin/registrar-operator/controllers"
)

// TestRegistrarRecordRouteHost: with --registrar-record-route-host the registrars
// write that address in Record-Route (--record-route-host), so that phones outside
// the cluster send BYE and re-INVITE to it rather than to a pod IP; they still
// advertise their pod IP in Via. Without it, the flag leaves the Deployment.
func TestRegistrarRecordRouteHost(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Fleet.Name = "rr-registrar"
	o.Fleet.RecordRouteHost = "sip.example.com"
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	args := func() []string {
		t.Helper()
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		dep := &appsv1.Deployment{}
		if err := k8s.Get(ctx, key, dep); err != nil {
			t.Fatal(err)
		}
		return dep.Spec.Template.Spec.Containers[0].Args
	}
	recordRoute := func(a []string) []string {
		return slices.DeleteFunc(slices.Clone(a), func(s string) bool { return !strings.HasPrefix(s, "--record-route-host") })
	}

	got := args()
	if rr := recordRoute(got); !slices.Equal(rr, []string{"--record-route-host=sip.example.com"}) {
		t.Errorf("registrar args %q, want --record-route-host=sip.example.com once", got)
	}
	if !slices.Contains(got, "--advertise-host=$(POD_IP)") {
		t.Errorf("registrar args %q lack --advertise-host=$(POD_IP)", got)
	}
	t.Run("the registrar defines --record-route-host", func(t *testing.T) {
		if !registrarFlags(t)["record-route-host"] {
			t.Errorf("the Deployment passes --record-route-host, which the registrar does not define: its pods would not start")
		}
	})

	r.Options.Fleet.RecordRouteHost = "203.0.113.10"
	if rr := recordRoute(args()); !slices.Equal(rr, []string{"--record-route-host=203.0.113.10"}) {
		t.Errorf("record-route args %q, want --record-route-host=203.0.113.10", rr)
	}
	r.Options.Fleet.RecordRouteHost = ""
	if rr := recordRoute(args()); len(rr) > 0 {
		t.Errorf("without a Record-Route address the registrar still gets %q", rr)
	}
}
