package main_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestMakeDevRunsTheShippedBinaries: what a newcomer measures under make dev is what
// production does. The operator and the registrar are the shipped binaries
// (cmd/operator, cmd/registrar), each in a process of its own, given only what this
// machine needs (the kubeconfig, where to listen, the certificate make dev made), so
// every other setting is the shipped default; among them the registrar's UDP receive
// buffer, without which make dev's registrar dropped bursts at a third of
// production's clean rate (issue 15).
func TestMakeDevRunsTheShippedBinaries(t *testing.T) {
	dev := startDev(t)
	// The flags each may get: none that changes how it serves. (The WebSocket
	// Origin allow-list is opened on loopback so that a page opened from a file may
	// connect: it decides who may connect, not how fast.)
	allowed := map[string][]string{
		"operator": {"kubeconfig", "registrar-namespace", "registrar-replicas", "health-probe-bind-address"},
		"registrar": {"kubeconfig", "namespace", "name", "sip-address", "metrics-bind-address", "health-probe-bind-address",
			"sip-tls-address", "tls-cert-file", "tls-key-file", "sip-ws-address", "sip-wss-address", "ws-allowed-origins"},
	}
	for name, flags := range allowed {
		want := filepath.Join(dev.binDir, name)
		args, ok := dev.childRunning(want)
		if !ok {
			t.Errorf("make dev runs no %s among its children: want the shipped binary %s in a process of its own", name, want)
			continue
		}
		for _, a := range args {
			flag, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.HasPrefix(a, "-") || !slices.Contains(flags, flag) {
				t.Errorf("make dev runs the %s with %q, which the shipped one does not get: its setting then differs from production's (args %q)",
					name, a, args)
			}
		}
	}

	// The effect that was missing: the registrar's UDP socket has the receive buffer
	// the shipped binary asks for by default (the kernel doubles it, up to rmem_max).
	want := 2 * min(shippedDefault(t, filepath.Join(dev.binDir, "registrar"), "udp-receive-buffer"), rmemMax(t))
	if got := udpReceiveBuffer(t, dev.sipAddr); got != want {
		t.Errorf("make dev's registrar's UDP socket on %s has a receive buffer of %d bytes; the shipped default gives %d", dev.sipAddr, got, want)
	}
}

// childRunning returns the arguments of make dev's child running the binary at path.
func (d *devProcess) childRunning(path string) ([]string, bool) {
	for _, pid := range childPIDs(d.cmd.Process.Pid) {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != path {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		return args[1:], true
	}
	return nil, false
}

// shippedDefault reads a flag's default from the binary's own -h.
func shippedDefault(t *testing.T, bin, flag string) int {
	t.Helper()
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	m := regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(flag) + ` \w+\n[^\n]*\(default (\d+)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("%s -h shows no default for -%s:\n%s", bin, flag, out)
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

func rmemMax(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// udpReceiveBuffer is the receive buffer (ss's skmem rb) of the UDP socket bound to addr.
func udpReceiveBuffer(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ss", "-u", "-l", "-n", "-m", "sport = :"+port).CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`skmem:\(r\d+,rb(\d+),`).FindSubmatch(out)
	if m == nil || !bytes.Contains(out, []byte(addr)) {
		t.Fatalf("ss shows no UDP socket on %s:\n%s", addr, out)
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}
