//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func clusterIP(t *testing.T) string {
	if err := installed(); err != nil {
		t.Fatal(err)
	}
	return kubectl(t, "-n", namespace, "get", "service", registrar, "-o", "jsonpath={.spec.clusterIP}") + ":" + sipPort
}

func nodePort(t *testing.T) string {
	if err := installed(); err != nil {
		t.Fatal(err)
	}
	port := kubectl(t, "-n", namespace, "get", "service", registrar,
		"-o", `jsonpath={.spec.ports[?(@.protocol=="UDP")].nodePort}`)
	if port == "" {
		t.Fatal("the registrar Service has no UDP node port")
	}
	return c.nodeIP + ":" + port
}

// registerPhone starts a SIPp phone on h that registers through target and then waits
// for a MESSAGE and a call (Call-ID id); it returns the binding and a wait for the end.
func registerPhone(t *testing.T, h host, target string, port int, id string) (binding, func() error) {
	t.Helper()
	phone := startSIPp(t, h, 4*time.Minute, "phone.xml", target, port, "-cid_str", id)
	b := registeredFrom(t, h, port)
	t.Logf("phone %s:%d registered through %s; the registrar recorded source %s (pod %s)", h.ip, port, target, b.Source, b.Registrar)
	return b, phone
}

// forgetFlows deletes the conntrack entries of the phone's port, as expiry does once a
// phone has been silent longer than conntrack remembers a UDP flow (30 s unreplied,
// 120 s once replied), so that the test need not wait minutes.
func forgetFlows(t *testing.T, port int) {
	t.Helper()
	out, err := run("conntrack", "-D", "-p", "udp", "--orig-port-src", strconv.Itoa(port))
	if err != nil && !strings.Contains(err.Error(), "0 flow entries") {
		t.Fatal(err)
	}
	t.Logf("%s", strings.TrimSpace(out))
}

// callPhone sends a MESSAGE and a call from h through target to the phone, and waits
// for the phone to have taken both.
func callPhone(t *testing.T, h host, target string, port int, id string, phone func() error) {
	t.Helper()
	if err := sippRun(t, h, "uac-message.xml", target, port+1, "-cid_str", id); err != nil {
		t.Fatalf("%v\n%s", err, registrarLogs())
	}
	if err := sippRun(t, h, "uac-call.xml", target, port+2, "-cid_str", id); err != nil {
		t.Fatalf("%v\n%s", err, registrarLogs())
	}
	if err := phone(); err != nil {
		t.Fatalf("the phone did not take the MESSAGE and the call: %v", err)
	}
}

func callID(t *testing.T) string {
	return fmt.Sprintf("%s-%d@e2e", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

// registrarLogs is the end of every registrar pod's log, for a failure's report.
func registrarLogs() string {
	out, _ := c.kubectl("-n", namespace, "logs", "-l", "app.kubernetes.io/name="+registrar, "--prefix", "--tail=15")
	return out
}
