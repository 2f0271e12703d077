package procscale

import (
	"testing"
	"testing/fstest"
)

func TestCPULimit(t *testing.T) {
	file := func(data string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(data)} }
	for _, tc := range []struct {
		name  string
		fsys  fstest.MapFS
		cores float64
		ok    bool
	}{
		{"v2, half a core", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("50000 100000\n")}, 0.5, true},
		{"v2, two cores", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("200000 100000\n")}, 2, true},
		{"v2, no limit", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("max 100000\n")}, 0, false},
		{"v1, one core", fstest.MapFS{
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  file("100000\n"),
			"sys/fs/cgroup/cpu/cpu.cfs_period_us": file("100000\n"),
		}, 1, true},
		{"v1 under cpu,cpuacct, no limit", fstest.MapFS{
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  file("-1\n"),
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": file("100000\n"),
		}, 0, false},
		{"v2, a systemd unit's CPUQuota below the mount", fstest.MapFS{
			"proc/self/cgroup": file("0::/system.slice/registrar.service\n"),
			"sys/fs/cgroup/system.slice/registrar.service/cpu.max": file("50000 100000\n"),
			"sys/fs/cgroup/system.slice/cpu.max":                   file("max 100000\n"),
		}, 0.5, true},
		{"v2, a parent's limit is lower and binds", fstest.MapFS{
			"proc/self/cgroup":                   file("0::/bench/server\n"),
			"sys/fs/cgroup/bench/server/cpu.max": file("150000 100000\n"),
			"sys/fs/cgroup/bench/cpu.max":        file("25000 100000\n"),
		}, 0.25, true},
		{"v1, the cpu hierarchy's path, not another's", fstest.MapFS{
			"proc/self/cgroup": file("4:memory:/other\n2:cpuacct:/\n1:cpu:/fg/server\n0::/\n"),
			"sys/fs/cgroup/cpu/fg/server/cpu.cfs_quota_us":  file("50000\n"),
			"sys/fs/cgroup/cpu/fg/server/cpu.cfs_period_us": file("100000\n"),
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us":            file("-1\n"),
			"sys/fs/cgroup/cpu/cpu.cfs_period_us":           file("100000\n"),
		}, 0.5, true},
		{"v1, a container's own cgroup mounted as the root", fstest.MapFS{
			"proc/self/cgroup":                            file("3:cpu,cpuacct:/kubepods/pod1/abc\n"),
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  file("200000\n"),
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": file("100000\n"),
		}, 2, true},
		{"a cgroup with no limit on the way up", fstest.MapFS{
			"proc/self/cgroup":          file("0::/a/b\n"),
			"sys/fs/cgroup/a/b/cpu.max": file("max 100000\n"),
			"sys/fs/cgroup/a/cpu.max":   file("max 100000\n"),
		}, 0, false},
		{"no cgroup", fstest.MapFS{}, 0, false},
		{"garbage", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("lots\n")}, 0, false},
	} {
		cores, ok := cpuLimit(tc.fsys)
		if cores != tc.cores || ok != tc.ok {
			t.Errorf("%s: cpuLimit = %v, %v; want %v, %v", tc.name, cores, ok, tc.cores, tc.ok)
		}
	}
}
