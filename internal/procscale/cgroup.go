package procscale

import (
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// V1CPUMounts are where cgroup v1's cpu controller is mounted, alone or with
// cpuacct, relative to the filesystem's root.
var V1CPUMounts = []string{"sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct"}

// cpuLimit is the CPU limit in cores of the cgroup this process runs in, from
// cgroup v2's cpu.max or v1's CFS quota and period; ok is false when there is none
// (or it cannot be read). The lowest limit from the process's cgroup up to the root
// binds, as the kernel enforces every one of them (a systemd slice's, say).
//
// In a pod, the container's cgroup namespace makes its cgroup the root of the
// mount. Run on a host (a systemd unit with CPUQuota=, a benchmark's cgroup), the
// process's cgroup is a path below it, named in /proc/self/cgroup.
//
// Go's default GOMAXPROCS under a limit is never below 2, so a pod limited to one core
// or less would otherwise move to 2 Ps under load and gain no CPU from it, only the
// wake-ups: there the registrar stays on one P.
func cpuLimit(fsys fs.FS) (cores float64, ok bool) {
	v1, v2 := OwnCgroups(fsys)
	take := func(c float64, found bool) {
		if found && (!ok || c < cores) {
			cores, ok = c, true
		}
	}
	for _, dir := range toRoot(v2) {
		take(v2Limit(fsys, path.Join("sys/fs/cgroup", dir)))
	}
	for _, mount := range V1CPUMounts {
		for _, dir := range toRoot(v1) {
			take(v1Limit(fsys, path.Join(mount, dir)))
		}
	}
	return cores, ok
}

// OwnCgroups reads /proc/self/cgroup (fsys rooted at /) for the process's cgroup in
// v1's cpu hierarchy and in v2's unified one; either is "/" when it is not named there.
func OwnCgroups(fsys fs.FS) (v1, v2 string) {
	v1, v2 = "/", "/"
	b, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		return v1, v2
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case hasController(parts[1], "cpu"):
			v1 = parts[2]
		}
	}
	return v1, v2
}

func hasController(list, name string) bool {
	return slices.Contains(strings.Split(list, ","), name)
}

// toRoot lists a cgroup path and its ancestors as paths relative to the mount,
// ending with "." (the mount itself). A path that is not below the mount (a
// container's cgroup bind-mounted as the mount's root) finds no files until ".".
func toRoot(cgroup string) []string {
	p := strings.Trim(path.Clean("/"+cgroup), "/")
	var out []string
	for p != "" && p != "." {
		out = append(out, p)
		p = path.Dir(p)
	}
	return append(out, ".")
}

func v2Limit(fsys fs.FS, dir string) (float64, bool) {
	b, err := fs.ReadFile(fsys, dir+"/cpu.max")
	if err != nil {
		return 0, false
	}
	quota, period, found := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !found || quota == "max" {
		return 0, false
	}
	return ratio(quota, period)
}

func v1Limit(fsys fs.FS, dir string) (float64, bool) {
	quota, err := fs.ReadFile(fsys, dir+"/cpu.cfs_quota_us")
	if err != nil {
		return 0, false
	}
	period, err := fs.ReadFile(fsys, dir+"/cpu.cfs_period_us")
	if err != nil {
		return 0, false
	}
	return ratio(strings.TrimSpace(string(quota)), strings.TrimSpace(string(period)))
}

// ratio is quota/period, both microseconds; a quota of -1 (v1) is no limit.
func ratio(quota, period string) (float64, bool) {
	q, err1 := strconv.ParseFloat(quota, 64)
	p, err2 := strconv.ParseFloat(period, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	return q / p, true
}
