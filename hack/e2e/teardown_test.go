//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// snapshotHost records what the cluster will change on the machine outside its folder
// (the iptables rules, the network namespaces), so that stop puts it back.
func (c *cluster) snapshotHost() error {
	c.saved = map[string]string{}
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(save).Output()
		if err != nil {
			return fmt.Errorf("while saving the rules with %s: %w", save, err)
		}
		c.saved[save] = string(out)
	}
	c.netnsMount = isMountPoint("/run/netns")
	c.netnsFirst = map[string]bool{}
	entries, _ := os.ReadDir("/var/run/netns")
	for _, e := range entries {
		c.netnsFirst[e.Name()] = true
	}
	return nil
}

// stop ends the cluster and leaves the machine as it found it: pods removed through
// the kubelet (so that CNI releases their addresses and namespaces), every process
// stopped, kube-proxy's rules and chains gone, the iptables rules restored, mounts
// under the folder undone, the bridge deleted, the folder removed. It returns every
// problem it met, and carries on past each.
func (c *cluster) stop() error {
	var errs []error
	byName := map[string]*proc{}
	for _, p := range c.procs {
		byName[p.name] = p
	}
	// Without controllers nothing recreates the pods deleted next.
	for _, name := range []string{"kube-controller-manager", "kube-scheduler"} {
		if p := byName[name]; p != nil {
			p.stop()
		}
	}
	if byName["kubelet"] != nil && byName["kubelet"].exited() == nil {
		if _, err := c.kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--timeout=90s"); err != nil {
			errs = append(errs, fmt.Errorf("while deleting the pods: %w", err))
		}
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		if c.procs[i].name == "containerd" {
			errs = append(errs, c.removeContainers())
		}
		c.procs[i].stop()
	}
	if c.assets != "" {
		if _, err := run(c.bin("kube-proxy"), "--cleanup"); err != nil {
			errs = append(errs, err)
		}
	}
	for save, rules := range c.saved {
		restore := exec.Command(strings.Replace(save, "-save", "-restore", 1))
		restore.Stdin = strings.NewReader(rules + emptyNewTables(save, rules))
		if out, err := restore.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("while restoring the rules with %s: %w\n%s", restore.Path, err, out))
		}
	}
	errs = append(errs, c.unmountAll())
	if _, err := os.Stat("/sys/class/net/" + bridgeName); err == nil {
		if _, err := run("ip", "link", "delete", bridgeName); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, removeOutside(c.netnsMount))
	entries, _ := os.ReadDir("/var/run/netns")
	for _, e := range entries {
		if !c.netnsFirst[e.Name()] {
			errs = append(errs, fmt.Errorf("network namespace %s left behind", e.Name()))
		}
	}
	errs = append(errs, removeCgroups("kubepods"))
	if os.Getenv("E2E_KEEP") == "" {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}

// emptyNewTables returns, for each table that exists now but not in the saved rules
// (the kubelet and kube-proxy create filter, nat and mangle on a machine that had none),
// a restore section that empties it.
func emptyNewTables(save, saved string) string {
	now, _ := exec.Command(save).Output()
	var sections strings.Builder
	for _, line := range strings.Split(string(now), "\n") {
		if strings.HasPrefix(line, "*") && !strings.Contains(saved, "\n"+line+"\n") && !strings.HasPrefix(saved, line+"\n") {
			sections.WriteString(line + "\nCOMMIT\n")
		}
	}
	return sections.String()
}

// removeContainers kills and removes what the kubelet left in containerd, so that no
// container shim outlives the cluster.
func (c *cluster) removeContainers() error {
	out, err := c.ctr("containers", "list", "--quiet")
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range strings.Fields(out) {
		_, _ = c.ctr("tasks", "kill", "--signal", "SIGKILL", id)
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := c.ctr("tasks", "delete", id)
			if err == nil || strings.Contains(err.Error(), "not found") || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if _, err := c.ctr("containers", "delete", id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unmountAll undoes every mount under the folder, deepest first.
func (c *cluster) unmountAll() error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], c.dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	var errs []error
	for _, m := range mounts {
		if _, err := run("umount", "--lazy", m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroups removes the kubelet's cgroup tree (cgroupfs driver) from every v1
// hierarchy, leaves first; the processes in it are gone by now.
func removeCgroups(root string) error {
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*/" + root)
	var errs []error
	for _, h := range hierarchies {
		var dirs []string
		_ = filepath.WalkDir(h, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
