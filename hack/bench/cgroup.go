package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/voipbin/registrar-operator/internal/procscale"
)

// cfsPeriodMicros is the CFS period a --server-cpus quota is spread over: 100 ms,
// the kubelet's default, so the server is throttled as a pod with that CPU limit is.
const cfsPeriodMicros = 100000

// cpuCgroup is a cgroup of its own for the server under test, with a CPU quota: a
// pod's CPU limit on this machine. Confining the server is what lets SIPp, on the
// same two cores, offer several times what the server completes: without it an
// overload step measures two processes sharing the machine, not the server's
// shedding (issue 15's 3× step).
type cpuCgroup struct {
	dir string
}

// newCPUCgroup makes a cgroup named name below the one this process runs in, in
// cgroup v2 or in v1's cpu hierarchy, limited to cores.
func newCPUCgroup(name string, cores float64) (*cpuCgroup, error) {
	if cores <= 0 {
		return nil, nil
	}
	quota := int(cores * cfsPeriodMicros)
	parent, v2, err := ownCPUCgroupDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(parent, fmt.Sprintf("bench-%s-%d", name, os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("while making the cgroup for --server-cpus (run the bench as root): %w", err)
	}
	c := &cpuCgroup{dir: dir}
	if v2 {
		err = writeCgroupFile(dir, "cpu.max", fmt.Sprintf("%d %d", quota, cfsPeriodMicros))
	} else {
		err = writeCgroupFile(dir, "cpu.cfs_period_us", fmt.Sprint(cfsPeriodMicros))
		if err == nil {
			err = writeCgroupFile(dir, "cpu.cfs_quota_us", fmt.Sprint(quota))
		}
	}
	if err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

// ownCPUCgroupDir is the directory of this process's cgroup where the cpu
// controller's files are: in v1's cpu hierarchy when there is one, else in cgroup
// v2's unified hierarchy, which then has to hand the controller down to children.
func ownCPUCgroupDir() (dir string, v2 bool, err error) {
	v1Path, v2Path := procscale.OwnCgroups(os.DirFS("/"))
	for _, rel := range procscale.V1CPUMounts {
		mount := "/" + rel
		if !exists(filepath.Join(mount, "cpu.cfs_quota_us")) {
			continue
		}
		if d := filepath.Join(mount, v1Path); exists(d) {
			return d, false, nil
		}
		return mount, false, nil // a container's own cgroup, mounted as the root
	}
	if !exists("/sys/fs/cgroup/cgroup.controllers") {
		return "", false, errors.New("no cgroup with the cpu controller found for --server-cpus")
	}
	d := filepath.Join("/sys/fs/cgroup", v2Path)
	controllers, err := os.ReadFile(filepath.Join(d, "cgroup.subtree_control"))
	if err == nil && !strings.Contains(string(controllers), "cpu") {
		// Children get the cpu controller only when the parent hands it down,
		// which cgroup v2 allows only for a parent with no processes of its own.
		err = writeCgroupFile(d, "cgroup.subtree_control", "+cpu")
	}
	if err != nil {
		return "", true, fmt.Errorf("while giving the cpu controller to child cgroups of %s "+
			"(run the bench from a cgroup whose processes are in a leaf of their own): %w", d, err)
	}
	return d, true, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func writeCgroupFile(dir, name, value string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
		return fmt.Errorf("while writing %q to %s: %w", value, filepath.Join(dir, name), err)
	}
	return nil
}

// wrap returns a command that joins the cgroup, then execs bin with args: the
// server starts confined, so Go's runtime and the registrar's GOMAXPROCS control
// see its limit from the first instruction. The process id stays the same. A nil
// cgroup returns bin and args as they are.
func (c *cpuCgroup) wrap(bin string, args []string) (string, []string) {
	if c == nil {
		return bin, args
	}
	return "/bin/sh", append([]string{"-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(c.dir, "cgroup.procs"), bin}, args...)
}

// remove deletes the cgroup once its processes have exited.
func (c *cpuCgroup) remove() {
	if c != nil {
		_ = os.Remove(c.dir)
	}
}
