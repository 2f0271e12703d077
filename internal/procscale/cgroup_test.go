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
		{"no cgroup", fstest.MapFS{}, 0, false},
		{"garbage", fstest.MapFS{"sys/fs/cgroup/cpu.max": file("lots\n")}, 0, false},
	} {
		cores, ok := cpuLimit(tc.fsys)
		if cores != tc.cores || ok != tc.ok {
			t.Errorf("%s: cpuLimit = %v, %v; want %v, %v", tc.name, cores, ok, tc.cores, tc.ok)
		}
	}
}
