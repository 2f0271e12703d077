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
