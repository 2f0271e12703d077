package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// TestUDPOnlyRegistrarFleetStartsWithoutWarnings: a fleet whose registrars serve
// UDP alone (--transports=udp in ExtraArgs: the operator's --registrar-extra-args,
// the chart's registrar.extraArgs) behind a NodePort Service whose node ports go
// into Record-Route is handed UDP's node port alone, and a real registrar started
// with the Deployment's arguments starts without warning that it ignores a port. Handed TCP's too, it
// warned at every start that it ignores it.
func TestUDPOnlyRegistrarFleetStartsWithoutWarnings(t *testing.T) {
	o := opts
	o.RegistrarNamespace = newNamespace(t)
	o.Fleet.Name = "udp-registrar"
	o.Fleet.ServiceType = corev1.ServiceTypeNodePort
	o.Fleet.RecordRouteHost, o.Fleet.RecordRouteNodePorts = "nodes.sip.example.com", true
	o.Fleet.SIPNodePort = 30260
	o.Fleet.ExtraArgs = []string{"--transports=udp"}
	args := registrarArgs(t, o)
	if !slices.Contains(args, "--record-route-ports=udp=30260") {
		t.Errorf("registrar args %q, want --record-route-ports=udp=30260: the registrars serve UDP alone", args)
	}

	out := startRegistrar(t, o.RegistrarNamespace, args)
	// The warning of a record-route port it does not serve; another warning is not
	// this test's business.
	if strings.Contains(out, "ignoring record-route ports") {
		t.Errorf("a registrar started with the Deployment's arguments %q ignores ports handed to it:\n%s", args, out)
	}
}

// startRegistrar runs the registrar program with a pod's args (the $(POD_...)
// references filled in, as the kubelet does) against the test API server, on
// free loopback ports, until it serves its probes; it returns what it has logged
// by then. The registrar is stopped when the test ends.
func startRegistrar(t *testing.T, namespace string, args []string) string {
	t.Helper()
	bin := buildRegistrar(t)
	ports, err := testenv.FreePorts("127.0.0.1", 2)
	if err != nil {
		t.Fatal(err)
	}
	pod := strings.NewReplacer("$(POD_NAMESPACE)", namespace, "$(POD_NAME)", "registrar-0", "$(POD_IP)", "127.0.0.1")
	var podArgs []string
	for _, a := range args {
		podArgs = append(podArgs, pod.Replace(a))
	}
	// The pod's ports are the node's here: the last value of a flag wins.
	podArgs = append(podArgs, "--sip-address=127.0.0.1:"+strconv.Itoa(ports[0]),
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(ports[1]), "--metrics-bind-address=0")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, podArgs...)
	kubeconfig, err := env.WriteAdminKubeconfig(t.TempDir(), "registrar-test")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var out testenv.LockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cancel(); <-exited })

	healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[1])
	err = testenv.Eventually(wait, func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("the registrar exited: %v", err)
		default:
		}
		res, err := http.Get(healthz)
		if err != nil {
			return err
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", healthz, res.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the registrar with args %q did not start: %v\n%s", podArgs, err, testenv.LastLines(out.String(), 30))
	}
	return out.String()
}
