package controllers_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/voipbin/registrar-operator/controllers"
)

// TestRegistrarFixedNodePorts: a NodePort (and a LoadBalancer) registrar Service gets
// the node ports of the flags, SIP's on both its UDP and its TCP port, so that phones
// configured with them keep working; the Service made again gets them again. A node
// port dropped from the flags stays what it was, and reconciling again changes
// nothing. A ClusterIP Service, which has no node ports, gets none (the API server
// would refuse them on every reconcile; the operator refuses the flags at start).
func TestRegistrarFixedNodePorts(t *testing.T) {
	for i, typ := range []corev1.ServiceType{corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer} {
		t.Run(string(typ), func(t *testing.T) {
			ctx := context.Background()
			o := opts
			o.RegistrarNamespace = newNamespace(t)
			o.Fleet.Name = "np-registrar"
			o.Fleet.ServiceType = typ
			o.Fleet.TLSSecretName = "registrar-tls"
			o.Fleet.WSPort, o.Fleet.WSSPort = 8080, 8443
			// Node ports are the cluster's: each subtest its own.
			base := int32(30060 + 10*i)
			want := map[string]int32{"sip-udp": base, "sip-tcp": base, "sip-tls": base + 1, "sip-ws": base + 6, "sip-wss": base + 7}
			o.Fleet.SIPNodePort, o.Fleet.TLSNodePort, o.Fleet.WSNodePort, o.Fleet.WSSNodePort = base, base+1, base+6, base+7
			r := &controllers.FleetReconciler{Client: k8s, Options: o}
			key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
			applied := func() *corev1.Service {
				t.Helper()
				if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
					t.Fatal(err)
				}
				svc := &corev1.Service{}
				if err := k8s.Get(ctx, key, svc); err != nil {
					t.Fatal(err)
				}
				return svc
			}
			check := func(what string, svc *corev1.Service) {
				t.Helper()
				got := map[string]int32{}
				for _, p := range svc.Spec.Ports {
					got[p.Name] = p.NodePort
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: node ports %v, want %v", what, got, want)
				}
			}

			svc := applied()
			check("applied", svc)
			if again := applied(); again.ResourceVersion != svc.ResourceVersion {
				t.Errorf("applied again: resourceVersion %s → %s", svc.ResourceVersion, again.ResourceVersion)
			}
			if err := k8s.Delete(ctx, svc); err != nil {
				t.Fatal(err)
			}
			gone(t, svc)
			check("made again", applied())

			r.Options.Fleet.WSNodePort = 0
			check("ws node port dropped from the flags", applied())
		})
	}

	// A registrar listening on the number of its node port (how Record-Route behind a
	// NodePort Service was set up before the registrars were handed the node ports,
	// TestRegistrarRecordRoutePorts) still gets that port on the pods, the Service and
	// the node.
	t.Run("the registrar's port on its node port", func(t *testing.T) {
		o := opts
		o.RegistrarNamespace = newNamespace(t)
		o.Fleet.ServiceType, o.Fleet.SIPPort, o.Fleet.SIPNodePort = corev1.ServiceTypeNodePort, 30080, 30080
		o.Fleet.RecordRouteHost = "nodes.sip.example.com"
		r := &controllers.FleetReconciler{Client: k8s, Options: o}
		key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
		if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		svc := &corev1.Service{}
		if err := k8s.Get(context.Background(), key, svc); err != nil {
			t.Fatal(err)
		}
		for _, p := range svc.Spec.Ports {
			if p.Port != 30080 || p.NodePort != 30080 || p.TargetPort.StrVal != p.Name {
				t.Errorf("Service port %s: port %d nodePort %d targetPort %s, want 30080 on 30080 to the pods' %s",
					p.Name, p.Port, p.NodePort, p.TargetPort.String(), p.Name)
			}
		}
	})
	t.Run("ClusterIP", func(t *testing.T) {
		o := opts
		o.RegistrarNamespace = newNamespace(t)
		o.Fleet.ServiceType, o.Fleet.SIPNodePort = corev1.ServiceTypeClusterIP, 30090
		r := &controllers.FleetReconciler{Client: k8s, Options: o}
		key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
		if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		svc := &corev1.Service{}
		if err := k8s.Get(context.Background(), key, svc); err != nil {
			t.Fatal(err)
		}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				t.Errorf("ClusterIP Service port %s has node port %d", p.Name, p.NodePort)
			}
		}
	})
}
