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
)

// With WebSocket ports set, the registrar serves ws:// and wss:// (with the TLS
// Secret's certificate) on them, with the allowed Origins, and the Service exposes
// both over TCP; wss:// without a TLS Secret is not served; with the ports unset
// it all leaves again.
func TestRegistrarServesWebSocket(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Fleet.Name = "ws-registrar"
	o.Fleet.TLSSecretName = "registrar-tls"
	o.Fleet.WSPort, o.Fleet.WSSPort = 8080, 8443
	o.Fleet.WSAllowedOrigins = []string{"https://phone.example.com", "https://app.example.com"}
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	read := func() (corev1.Container, *corev1.Service) {
		t.Helper()
		if _, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		dep, svc := &appsv1.Deployment{}, &corev1.Service{}
		if err := k8s.Get(ctx, key, dep); err != nil {
			t.Fatal(err)
		}
		if err := k8s.Get(ctx, key, svc); err != nil {
			t.Fatal(err)
		}
		return dep.Spec.Template.Spec.Containers[0], svc
	}
	containerPort := func(c corev1.Container, name string, port int32) bool {
		return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name && p.ContainerPort == port })
	}
	hasArg := func(c corev1.Container, prefix string) bool {
		return slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, prefix) })
	}

	c, svc := read()
	defined := registrarFlags(t)
	for _, arg := range c.Args {
		if name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "="); !defined[name] {
			t.Errorf("the Deployment passes %s, which the registrar does not define", arg)
		}
	}
	for _, arg := range []string{"--sip-ws-address=:8080", "--sip-wss-address=:8443",
		"--ws-allowed-origins=https://phone.example.com,https://app.example.com", "--tls-cert-file=/etc/registrar/tls/tls.crt"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("registrar args %v lack %s", c.Args, arg)
		}
	}
	for name, port := range map[string]int32{"sip-ws": 8080, "sip-wss": 8443} {
		if !hasPort(svc, name, port, corev1.ProtocolTCP) {
			t.Errorf("service ports %+v, want %s %d/TCP", svc.Spec.Ports, name, port)
		}
		if !containerPort(c, name, port) {
			t.Errorf("container ports %+v, want %s %d", c.Ports, name, port)
		}
	}

	r.Options.Fleet.TLSSecretName = ""
	c, svc = read()
	if hasArg(c, "--sip-wss-address") || containerPort(c, "sip-wss", 8443) || hasPort(svc, "sip-wss", 8443, corev1.ProtocolTCP) {
		t.Errorf("without a TLS Secret wss:// is still served: args %v, service ports %+v", c.Args, svc.Spec.Ports)
	}
	if !slices.Contains(c.Args, "--sip-ws-address=:8080") {
		t.Errorf("without a TLS Secret ws:// is gone too: args %v", c.Args)
	}

	r.Options.Fleet.WSPort, r.Options.Fleet.WSSPort = 0, 0
	c, svc = read()
	if hasArg(c, "--sip-ws") || hasArg(c, "--ws-allowed-origins") || hasPort(svc, "sip-ws", 8080, corev1.ProtocolTCP) || containerPort(c, "sip-ws", 8080) {
		t.Errorf("with WebSocket off, args %v, service ports %+v", c.Args, svc.Spec.Ports)
	}
}
