package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The wrapped command writes its own process id to the cgroup's cgroup.procs (which
// moves it there) and then execs the server in the same process: the id the bench
// measures CPU and memory by is the server's.
func TestWrapJoinsTheCgroupThenExecsInTheSameProcess(t *testing.T) {
	dir := t.TempDir()
	c := &cpuCgroup{dir: dir}
	bin, args := c.wrap("/bin/sh", []string{"-c", `echo "$$ $1"`, "sh", "an argument with spaces"})
	cmd := exec.Command(bin, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the wrapped command failed: %v", err)
	}
	joined, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		t.Fatalf("cgroup.procs was not written: %v", err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if got := strings.TrimSpace(string(joined)); got != pid {
		t.Errorf("cgroup.procs got %q, want the child's pid %s", got, pid)
	}
	if got := strings.TrimSpace(string(out)); got != pid+" an argument with spaces" {
		t.Errorf("the server ran as %q, want pid %s and its argument intact", got, pid)
	}
}

func TestWrapWithoutACgroupRunsTheServerAsItIs(t *testing.T) {
	var c *cpuCgroup
	bin, args := c.wrap("/usr/bin/kamailio", []string{"-f", "k.cfg"})
	if bin != "/usr/bin/kamailio" || strings.Join(args, " ") != "-f k.cfg" {
		t.Errorf("wrap without a cgroup = %s %v", bin, args)
	}
}

// A server started in a --server-cpus cgroup runs in it, under the quota, and the
// cgroup is gone once the server has exited. Needs root and a cpu controller.
func TestServerCgroupConfinesTheServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a cgroup needs root")
	}
	cg, err := newCPUCgroup("test", 0.5)
	if err != nil {
		t.Skipf("no cgroup for the test here: %v", err)
	}
	quota, err := os.ReadFile(filepath.Join(cg.dir, "cpu.max")) // v2: "50000 100000"
	if err != nil {
		quota, err = os.ReadFile(filepath.Join(cg.dir, "cpu.cfs_quota_us")) // v1: "50000"
	}
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(quota)), "50000") {
		t.Errorf("the cgroup's quota is %q (%v), want 50000 µs a period for half a core", quota, err)
	}
	log := filepath.Join(t.TempDir(), "server.log")
	c, err := startConfined(cg, "server", log, nil, "/bin/cat", "/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	<-c.done
	if c.err != nil {
		t.Fatalf("the server failed: %v", c.err)
	}
	out, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "/"+filepath.Base(cg.dir)+"\n") {
		t.Errorf("the server ran outside %s:\n%s", cg.dir, out)
	}
	if exists(cg.dir) {
		t.Errorf("%s is left after the server exited", cg.dir)
	}
}
