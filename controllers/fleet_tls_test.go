package controllers_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

// With a TLS Secret named, the registrar Deployment mounts it read-only as a
// folder (so renewals reach the files), passes the files and the TLS port to the
// registrar, and the Service exposes the port over TCP; without one, all of that
// leaves again.
func TestRegistrarServesTLSWithTheNamedSecret(t *testing.T) {
	ctx := context.Background()
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Fleet.Name = "tls-registrar"
	o.Fleet.TLSSecretName = "registrar-tls"
	r := &controllers.FleetReconciler{Client: k8s, Options: o}
	key := client.ObjectKey{Namespace: o.RegistrarNamespace, Name: o.Fleet.Name}
	read := func() (*appsv1.Deployment, *corev1.Service) {
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
		return dep, svc
	}

	dep, svc := read()
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	defined := registrarFlags(t)
	for _, arg := range c.Args {
		if name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "="); !defined[name] {
			t.Errorf("the Deployment passes %s, which the registrar does not define", arg)
		}
	}
	for _, arg := range []string{"--sip-tls-address=:5061", "--tls-cert-file=/etc/registrar/tls/tls.crt", "--tls-key-file=/etc/registrar/tls/tls.key"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("registrar args %v lack %s", c.Args, arg)
		}
	}
	if len(pod.Volumes) != 1 || pod.Volumes[0].Secret == nil || pod.Volumes[0].Secret.SecretName != "registrar-tls" {
		t.Fatalf("volumes %+v, want the Secret registrar-tls", pod.Volumes)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != pod.Volumes[0].Name || !c.VolumeMounts[0].ReadOnly ||
		c.VolumeMounts[0].MountPath != "/etc/registrar/tls" || c.VolumeMounts[0].SubPath != "" {
		t.Errorf("volume mounts %+v, want the Secret read-only as /etc/registrar/tls", c.VolumeMounts)
	}
	if !hasPort(svc, "sip-tls", 5061, corev1.ProtocolTCP) {
		t.Errorf("service ports %+v, want sip-tls 5061/TCP", svc.Spec.Ports)
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "sip-tls" && p.ContainerPort == 5061 }) {
		t.Errorf("container ports %+v, want sip-tls 5061", c.Ports)
	}

	r.Options.Fleet.TLSSecretName = ""
	dep, svc = read()
	if pod := dep.Spec.Template.Spec; len(pod.Volumes) != 0 || len(pod.Containers[0].VolumeMounts) != 0 ||
		slices.ContainsFunc(pod.Containers[0].Args, func(a string) bool { return a == "--sip-tls-address=:5061" }) {
		t.Errorf("with TLS off, the Deployment still has volumes %+v, args %v", pod.Volumes, pod.Containers[0].Args)
	}
	if hasPort(svc, "sip-tls", 5061, corev1.ProtocolTCP) {
		t.Errorf("with TLS off, the Service still exposes %+v", svc.Spec.Ports)
	}
}

// registrarFlags are the flags the registrar program defines, as its -h lists them.
func registrarFlags(t *testing.T) map[string]bool {
	t.Helper()
	bin := buildRegistrar(t)
	// The flag package prints "  -name type" for every flag, then exits.
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	defined := map[string]bool{}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "  -") {
			defined[strings.TrimPrefix(f[0], "-")] = true
		}
	}
	if !defined["sip-address"] {
		t.Fatalf("could not read the registrar's flags from -h:\n%s", out)
	}
	return defined
}

// buildRegistrar builds the registrar program and returns its path.
func buildRegistrar(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "registrar")
	build := exec.Command("go", "build", "-o", bin, "./cmd/registrar")
	build.Dir = testenv.Root()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func hasPort(svc *corev1.Service, name string, port int32, proto corev1.Protocol) bool {
	return slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
		return p.Name == name && p.Port == port && p.Protocol == proto && p.TargetPort.StrVal == name
	})
}
