package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/registrar/proxy"
)

// TestRegistrarRecordRoutePorts: behind a NodePort Service with a record-route host
// and RecordRouteNodePorts, phones reach the registrars on the node ports, so the
// registrars get the fixed ones (--record-route-ports, read back as the registrar
// reads it) to write in Record-Route, while they still listen on their own ports. A
// transport whose node port the API server picks is left out. Without
// RecordRouteNodePorts (the default: a load balancer of one's own forwarding the
// registrar's ports to the node ports), Record-Route keeps the registrar's ports,
// as before the hand-over existed. A LoadBalancer's ports are the registrars' own,
// and without a record-route host Record-Route names the pod: neither gets the
// flag.
func TestRegistrarRecordRoutePorts(t *testing.T) {
	// Node ports are the cluster's, and the Services stay: each case its own.
	for _, tc := range []struct {
		name      string
		change    func(*controllers.FleetOptions)
		want      proxy.TransportPorts
		wantNoArg bool
	}{
		{name: "NodePort, every node port fixed", change: func(f *controllers.FleetOptions) {
			f.SIPNodePort, f.TLSNodePort, f.WSNodePort, f.WSSNodePort = 30160, 30161, 30166, 30167
		}, want: proxy.TransportPorts{UDP: 30160, TCP: 30160, TLS: 30161, WS: 30166, WSS: 30167}},
		{name: "NodePort, SIP's node port fixed, the others picked", change: func(f *controllers.FleetOptions) {
			f.SIPNodePort = 30170
		}, want: proxy.TransportPorts{UDP: 30170, TCP: 30170}},
		{name: "NodePort, TCP alone (--transports tcp in ExtraArgs)", change: func(f *controllers.FleetOptions) {
			f.SIPNodePort, f.ExtraArgs = 30210, []string{"--transports", "TCP"}
		}, want: proxy.TransportPorts{TCP: 30210}},
		{name: "NodePort, no record-route host", change: func(f *controllers.FleetOptions) {
			f.SIPNodePort, f.TLSNodePort, f.RecordRouteHost = 30180, 30181, ""
		}, wantNoArg: true},
		{name: "NodePort with a record-route host, node ports not handed over", change: func(f *controllers.FleetOptions) {
			f.RecordRouteNodePorts, f.SIPNodePort, f.TLSNodePort, f.WSNodePort, f.WSSNodePort = false, 30200, 30201, 30206, 30207
		}, wantNoArg: true},
		{name: "LoadBalancer", change: func(f *controllers.FleetOptions) {
			f.ServiceType, f.SIPNodePort, f.TLSNodePort, f.WSNodePort, f.WSSNodePort = corev1.ServiceTypeLoadBalancer, 30190, 30191, 30196, 30197
		}, wantNoArg: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts
			o.RegistrarNamespace = newNamespace(t)
			o.Fleet.Name = "rrp-registrar"
			o.Fleet.ServiceType = corev1.ServiceTypeNodePort
			o.Fleet.RecordRouteHost, o.Fleet.RecordRouteNodePorts = "nodes.sip.example.com", true
			o.Fleet.TLSSecretName = "registrar-tls"
			o.Fleet.WSPort, o.Fleet.WSSPort = 8080, 8443
			tc.change(&o.Fleet)
			args := registrarArgs(t, o)

			var ports []string
			for _, a := range args {
				if v, ok := strings.CutPrefix(a, "--record-route-ports="); ok {
					ports = append(ports, v)
				}
			}
			if tc.wantNoArg {
				if len(ports) > 0 {
					t.Errorf("registrar args %q carry --record-route-ports", args)
				}
				if !o.Fleet.RecordRouteNodePorts && !slices.Contains(args, "--record-route-host=nodes.sip.example.com") {
					t.Errorf("registrar args %q, want --record-route-host=nodes.sip.example.com with the registrar's own ports", args)
				}
				return
			}
			if len(ports) != 1 {
				t.Fatalf("registrar args %q, want --record-route-ports once", args)
			}
			var got proxy.TransportPorts
			if err := got.Set(ports[0]); err != nil || got != tc.want {
				t.Errorf("--record-route-ports=%s reads as %+v (%v), want %+v", ports[0], got, err, tc.want)
			}
			if !slices.Contains(args, "--sip-address=:5060") {
				t.Errorf("registrar args %q, want it still listening on :5060", args)
			}
		})
	}
	t.Run("the registrar defines --record-route-ports", func(t *testing.T) {
		if !registrarFlags(t)["record-route-ports"] {
			t.Errorf("the Deployment passes --record-route-ports, which the registrar does not define: its pods would not start")
		}
	})
}

// registrarArgs reconciles a fleet of o and returns its registrar's arguments.
func registrarArgs(t *testing.T, o controllers.Options) []string {
	t.Helper()
	ctx := context.Background()
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{}
	if err := k8s.Get(ctx, key, dep); err != nil {
		t.Fatal(err)
	}
	return dep.Spec.Template.Spec.Containers[0].Args
}
