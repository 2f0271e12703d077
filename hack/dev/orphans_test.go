package main_test

import (
	"bytes"
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

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// A closed terminal window or a dropped SSH session (SIGHUP) stops make dev as Ctrl-C
// does: it exits and leaves no etcd or kube-apiserver behind.
func TestMakeDevStopsOnHangup(t *testing.T) {
	startDev(t).stopsCleanlyOn(t, syscall.SIGHUP, "SIGHUP")
}

// Killed by the pid it printed, make dev can clean nothing up: its control plane dies
// with it all the same, and its watchdog removes the control plane's data (over 100 MB
// each time, which killed runs once left in the temporary folder).
func TestMakeDevKilledLeavesNoControlPlane(t *testing.T) {
	dev := startDev(t)
	plane := dev.controlPlane(t)
	pid := printedPID(t, dev.printed)
	if pid != dev.cmd.Process.Pid {
		t.Fatalf("make dev printed pid %d to kill; it runs as %d", pid, dev.cmd.Process.Pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-dev.done
	plane.gone(t, "SIGKILL")
	dev.leftNoData(t, "SIGKILL")
}

// devProcess is make dev, running and ready.
type devProcess struct {
	cmd     *exec.Cmd
	printed string // what it printed up to its welcome
	binDir  string // where the shipped binaries it runs were built
	tmpDir  string // its TMPDIR
	sipAddr string
	done    chan error
}

// startDev builds hack/dev and the shipped binaries beside it, and runs it as make dev
// does, on free ports, until it has printed its welcome. Whatever it leaves running is
// killed when the test ends.
func startDev(t *testing.T) *devProcess {
	t.Helper()
	return startDevIn(t, t.TempDir())
}

// startDevIn is startDev with tmpDir as TMPDIR, the temporary folder, where make dev
// keeps its control plane's data and finds what killed runs left.
func startDevIn(t *testing.T, tmpDir string) *devProcess {
	t.Helper()
	root := testenv.Root()
	binDir := t.TempDir()
	bin := filepath.Join(binDir, "dev")
	build := exec.Command("go", "build", "-o", binDir+"/", "./cmd/operator", "./cmd/registrar", "./hack/dev")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	assets, err := testenv.Assets()
	if err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 5)
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	sipAddr, tlsAddr, wsAddr, wssAddr, metricsAddr := addr(0), addr(1), addr(2), addr(3), addr(4)
	stateDir := t.TempDir()
	cmd := exec.Command(bin, "-sip-address", sipAddr, "-sip-tls-address", tlsAddr,
		"-sip-ws-address", wsAddr, "-sip-wss-address", wssAddr, "-metrics-address", metricsAddr, "-state-dir", stateDir)
	// A failure shows why the system stopped: the last lines it logged.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the end of make dev's system.log:\n%s", lastLines(filepath.Join(stateDir, "system.log"), 40))
		}
	})
	cmd.Dir = root
	// A temporary folder of the test's own, to see what make dev leaves in it; the
	// test removes it whatever make dev leaves.
	cmd.Env = append(os.Environ(), "KUBEBUILDER_ASSETS="+assets, "TMPDIR="+tmpDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dev := &devProcess{cmd: cmd, binDir: binDir, tmpDir: tmpDir, sipAddr: sipAddr, done: make(chan error, 1)}
	go func() { dev.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	dev.printed = readUntil(t, stdout, "Ctrl-C stops everything.", 2*time.Minute)
	return dev
}

// stopsCleanlyOn sends sig to make dev and checks that it exits without an error and
// that its control plane is gone, data and all.
func (d *devProcess) stopsCleanlyOn(t *testing.T, sig syscall.Signal, name string) {
	t.Helper()
	plane := d.controlPlane(t)
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("make dev after %s: %v", name, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("make dev did not stop after %s", name)
	}
	plane.gone(t, name)
	d.leftNoData(t, name)
}

// controlPlane is the processes make dev started, by pid and command line (a pid of
// an ended process may be taken by another).
type controlPlane map[int][]byte

// controlPlane returns make dev's children, kube-apiserver and etcd, the operator, the
// registrar and the watchdog that removes the control plane's data should make dev be
// killed; each is killed when the test ends if it is still running then.
func (d *devProcess) controlPlane(t *testing.T) controlPlane {
	t.Helper()
	plane := controlPlane{}
	for _, pid := range childPIDs(d.cmd.Process.Pid) {
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cmdline) > 0 {
			plane[pid] = cmdline
		}
	}
	for _, name := range []string{"etcd", "kube-apiserver", "operator", "registrar", "make-dev-watchdog"} {
		if !plane.runs(name) {
			t.Fatalf("make dev runs no %s among its children %v", name, plane.running())
		}
	}
	t.Cleanup(func() {
		for pid := range plane.running() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return plane
}

func (p controlPlane) runs(name string) bool { return p.pid(name) != 0 }

// pid is the pid of the process of the control plane called name; 0 if none.
func (p controlPlane) pid(name string) int {
	for pid, cmdline := range p {
		if filepath.Base(string(bytes.SplitN(cmdline, []byte{0}, 2)[0])) == name {
			return pid
		}
	}
	return 0
}

// running returns those still running: same pid, same command line (a zombie has none).
func (p controlPlane) running() map[int]string {
	out := map[int]string{}
	for pid, cmdline := range p {
		if now, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Equal(now, cmdline) {
			out[pid] = string(bytes.SplitN(cmdline, []byte{0}, 2)[0])
		}
	}
	return out
}

// gone waits until none of the control plane runs.
func (p controlPlane) gone(t *testing.T, after string) {
	t.Helper()
	if err := testenv.Eventually(30*time.Second, func() error {
		if left := p.running(); len(left) > 0 {
			return fmt.Errorf("still running after %s: %v", after, left)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// lastLines returns the last n lines of the file at path, or why it cannot.
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// leftNoData waits until make dev's temporary folder is empty: none of its control
// plane's data is left.
func (d *devProcess) leftNoData(t *testing.T, after string) {
	t.Helper()
	if err := testenv.Eventually(30*time.Second, func() error {
		if left := folderEntries(t, d.tmpDir); len(left) > 0 {
			return fmt.Errorf("make dev left %v in its temporary folder %s after %s", left, d.tmpDir, after)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// folderEntries lists the names in dir.
func folderEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// printedPID is the pid make dev said to kill it by.
func printedPID(t *testing.T, printed string) int {
	t.Helper()
	m := regexp.MustCompile(`kill (\d+) \(make dev's pid\)`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("make dev printed no pid to stop it by:\n%s", printed)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}
