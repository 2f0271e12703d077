package procscale

import (
	"io/fs"
	"strconv"
	"strings"
)

// cpuLimit is the container's CPU limit in cores, from cgroup v2's cpu.max or v1's
// CFS quota and period; ok is false when there is none (or it cannot be read).
//
// Go's default GOMAXPROCS under a limit is never below 2, so a pod limited to one core
// or less would otherwise move to 2 Ps under load and gain no CPU from it, only the
// wake-ups: there the registrar stays on one P.
func cpuLimit(fsys fs.FS) (cores float64, ok bool) {
	if b, err := fs.ReadFile(fsys, "sys/fs/cgroup/cpu.max"); err == nil {
		quota, period, found := strings.Cut(strings.TrimSpace(string(b)), " ")
		if !found || quota == "max" {
			return 0, false
		}
		return ratio(quota, period)
	}
	for _, dir := range []string{"sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct"} {
		quota, err := fs.ReadFile(fsys, dir+"/cpu.cfs_quota_us")
		if err != nil {
			continue
		}
		period, err := fs.ReadFile(fsys, dir+"/cpu.cfs_period_us")
		if err != nil {
			return 0, false
		}
		return ratio(strings.TrimSpace(string(quota)), strings.TrimSpace(string(period)))
	}
	return 0, false
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
