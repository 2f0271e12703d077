package main_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// TestMakeDevWalkthrough runs what `make dev` runs and follows what it prints, as a
// newcomer would: the printed SIPp command registers the sample extension, the printed
// kubectl command shows its contact, the printed openssl command finds SIP over TLS
// served with the printed certificate, the printed wss:// address upgrades a
// WebSocket for SIP with that certificate, and Ctrl-C leaves no process behind.
func TestMakeDevWalkthrough(t *testing.T) {
	root := testenv.Root()
	dev := startDev(t)
	printed := dev.printed
	sipp := printedCommand(printed, "sipp")
	kubectl := printedCommand(printed, "kubectl")
	openssl := printedCommand(printed, "openssl")
	if sipp == "" || kubectl == "" || openssl == "" {
		t.Fatalf("make dev printed no SIPp, kubectl or openssl command:\n%s", printed)
	}
	run := func(command string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, "bash", "-c", command)
		c.Dir = root
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", command, err, out)
		}
		return string(out)
	}
	if out := run(openssl); !strings.Contains(out, "Verify return code: 0 (ok)") {
		t.Errorf("the printed certificate does not verify the TLS listener:\n%s", out)
	}
	if err := upgradesWSS(printed); err != nil {
		t.Errorf("the printed wss:// address: %v\n%s", err, printed)
	}
	run(sipp + " </dev/null")
	if err := testenv.Eventually(20*time.Second, func() error {
		out := run(kubectl)
		if !strings.Contains(out, "1001@acme.registrar.voipbin.net") || !hasContacts(out, 1) {
			return fmt.Errorf("extension without its contact:\n%s", out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	dev.stopsCleanlyOn(t, syscall.SIGINT, "Ctrl-C")
}

// freePorts returns n distinct loopback ports, each free for both UDP and TCP.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := testenv.FreePorts("127.0.0.1", n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// readUntil returns what r printed up to and including the line holding marker.
func readUntil(t *testing.T, r interface{ Read([]byte) (int, error) }, marker string, timeout time.Duration) string {
	t.Helper()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var b strings.Builder
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("make dev ended before printing %q:\n%s", marker, b.String())
			}
			b.WriteString(l + "\n")
			if strings.Contains(l, marker) {
				go func() {
					for range lines {
					}
				}()
				return b.String()
			}
		case <-deadline:
			t.Fatalf("make dev printed no %q within %s:\n%s", marker, timeout, b.String())
		}
	}
}

// printedCommand returns the first printed command that runs program (by name or
// by path, as the kubectl make dev builds is printed), with its backslash
// continuation lines joined.
func printedCommand(printed, program string) string {
	var cmd []string
	for l := range strings.SplitSeq(printed, "\n") {
		l = strings.TrimSpace(l)
		if first, _, _ := strings.Cut(l, " "); len(cmd) == 0 && filepath.Base(first) != program {
			continue
		}
		cmd = append(cmd, strings.TrimSuffix(l, "\\"))
		if !strings.HasSuffix(l, "\\") {
			break
		}
	}
	return strings.Join(cmd, " ")
}

// hasContacts reports whether kubectl's table shows n in the CONTACTS column.
func hasContacts(table string, n int) bool {
	rows := strings.Split(strings.TrimSpace(table), "\n")
	if len(rows) < 2 {
		return false
	}
	head := strings.Fields(rows[0])
	for i, h := range head {
		if h == "CONTACTS" {
			f := strings.Fields(rows[1])
			return i < len(f) && f[i] == strconv.Itoa(n)
		}
	}
	return false
}

// childPIDs lists the children of a process; each thread keeps its own list.
func childPIDs(parent int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
	var pids []int
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for p := range strings.FieldsSeq(string(data)) {
			if pid, err := strconv.Atoi(p); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// upgradesWSS dials the wss:// address make dev printed, trusting the certificate
// it printed, and asks for the sip subprotocol.
func upgradesWSS(printed string) error {
	addr, cert, err := printedWSS(printed)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(cert)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("no certificate in %s", cert)
	}
	d := ws.Dialer{Protocols: []string{"sip"}, Timeout: 10 * time.Second, TLSConfig: &tls.Config{RootCAs: roots}}
	c, _, hs, err := d.Dial(context.Background(), "wss://"+addr)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if hs.Protocol != "sip" {
		return fmt.Errorf("subprotocol %q, want sip", hs.Protocol)
	}
	return nil
}

// printedWSS returns the wss:// address (host:port) make dev printed and the
// certificate it serves there.
func printedWSS(printed string) (addr, cert string, err error) {
	a := regexp.MustCompile(`wss://([0-9.]+:[0-9]+)`).FindStringSubmatch(printed)
	c := regexp.MustCompile(`with the certificate (\S+):`).FindStringSubmatch(printed)
	if a == nil || c == nil {
		return "", "", errors.New("no wss:// address or certificate printed")
	}
	return a[1], c[1], nil
}
