package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// TestMakeDevWalkthrough runs what `make dev` runs and follows what it prints, as a
// newcomer would: the printed SIPp command registers the sample extension, the printed
// kubectl command shows its contact, and Ctrl-C leaves no process behind.
func TestMakeDevWalkthrough(t *testing.T) {
	root := testenv.Root()
	bin := filepath.Join(t.TempDir(), "dev")
	build := exec.Command("go", "build", "-o", bin, "./hack/dev")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	assets, err := testenv.Assets()
	if err != nil {
		t.Fatal(err)
	}
	sipAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(bin, "-sip-address", sipAddr, "-state-dir", t.TempDir())
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBEBUILDER_ASSETS="+assets)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	printed := readUntil(t, stdout, "Ctrl-C stops everything.", 2*time.Minute)
	sipp := printedCommand(printed, "sipp ")
	kubectl := printedCommand(printed, "kubectl ")
	if sipp == "" || kubectl == "" {
		t.Fatalf("make dev printed no SIPp or kubectl command:\n%s", printed)
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

	children := childPIDs(cmd.Process.Pid)
	if len(children) < 2 {
		t.Fatalf("make dev runs %d child processes, want kube-apiserver and etcd", len(children))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("make dev after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("make dev did not stop after Ctrl-C")
	}
	for _, pid := range children {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d outlived make dev", pid)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	// A port free for both UDP and TCP.
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			_ = pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
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

// printedCommand returns the first printed command starting with prefix, with its
// backslash continuation lines joined.
func printedCommand(printed, prefix string) string {
	var cmd []string
	for l := range strings.SplitSeq(printed, "\n") {
		l = strings.TrimSpace(l)
		if len(cmd) == 0 && !strings.HasPrefix(l, prefix) {
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
