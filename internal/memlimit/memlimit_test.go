package memlimit

import (
	"flag"
	"io"
	"io/fs"
	"runtime/debug"
	"testing"
	"testing/fstest"
)

const (
	v2 = "sys/fs/cgroup/memory.max"
	v1 = "sys/fs/cgroup/memory/memory.limit_in_bytes"
)

func files(kv ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return m
}

func env(kv ...string) func(string) string {
	return func(name string) string {
		for i := 0; i < len(kv); i += 2 {
			if kv[i] == name {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fsys    fs.FS
		getenv  func(string) string
		ratio   float64
		limit   int64
		source  string
		wantErr bool
	}{
		{name: "cgroup v2 limit", fsys: files(v2, "536870912\n"), ratio: 1, limit: 512 << 20, source: SourceCgroupV2},
		{name: "cgroup v2 max", fsys: files(v2, "max\n"), ratio: 0.9, source: SourceNone},
		{name: "cgroup v2 wins over v1", fsys: files(v2, "1000\n", v1, "2000\n"), ratio: 1, limit: 1000, source: SourceCgroupV2},
		{name: "cgroup v2 max does not fall back to v1", fsys: files(v2, "max\n", v1, "2000\n"), ratio: 1, source: SourceNone},
		{name: "cgroup v1 limit", fsys: files(v1, "268435456\n"), ratio: 1, limit: 256 << 20, source: SourceCgroupV1},
		{name: "cgroup v1 unlimited, 4 KiB pages", fsys: files(v1, "9223372036854771712\n"), ratio: 0.9, source: SourceNone},
		{name: "cgroup v1 unlimited, 64 KiB pages", fsys: files(v1, "9223372036854710272\n"), ratio: 0.9, source: SourceNone},
		{name: "no cgroup files", fsys: files(), ratio: 0.9, source: SourceNone},
		{name: "ratio applied", fsys: files(v2, "1000000000\n"), ratio: 0.9, limit: 900_000_000, source: SourceCgroupV2},
		{name: "ratio applied to v1", fsys: files(v1, "1000000000\n"), ratio: 0.5, limit: 500_000_000, source: SourceCgroupV1},
		{name: "GOMEMLIMIT wins", fsys: files(v2, "536870912\n"), getenv: env("GOMEMLIMIT", "100MiB"), ratio: 0.9, source: SourceEnv},
		{name: "GOMEMLIMIT=off wins too", fsys: files(v2, "536870912\n"), getenv: env("GOMEMLIMIT", "off"), ratio: 0.9, source: SourceEnv},
		{name: "ratio 0 disables", fsys: files(v2, "536870912\n"), ratio: 0, source: SourceDisabled},
		{name: "garbage in v2", fsys: files(v2, "lots\n"), ratio: 0.9, source: SourceNone, wantErr: true},
		{name: "garbage in v1", fsys: files(v1, "-1\n"), ratio: 0.9, source: SourceNone, wantErr: true},
		{name: "empty v2", fsys: files(v2, ""), ratio: 0.9, source: SourceNone, wantErr: true},
		{name: "zero v2", fsys: files(v2, "0\n"), ratio: 0.9, source: SourceNone, wantErr: true},
		{name: "unreadable v2", fsys: fstest.MapFS{v2: &fstest.MapFile{Mode: fs.ModeDir}}, ratio: 0.9, source: SourceNone, wantErr: true},
		{name: "ratio above 1", fsys: files(v2, "1000\n"), ratio: 1.5, source: SourceNone, wantErr: true},
		{name: "negative ratio", fsys: files(v2, "1000\n"), ratio: -0.1, source: SourceNone, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := tc.getenv
			if getenv == nil {
				getenv = env()
			}
			limit, source, err := Decide(tc.fsys, getenv, tc.ratio)
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if limit != tc.limit || source != tc.source {
				t.Errorf("limit %d from %q, want %d from %q", limit, source, tc.limit, tc.source)
			}
		})
	}
}

// TestConfigure changes the process's memory limit, and puts it back.
func TestConfigure(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	limit, source, err := Configure(files(v2, "1000000000\n"), env(), 0.9)
	if err != nil || limit != 900_000_000 || source != SourceCgroupV2 {
		t.Fatalf("Configure = %d, %q, %v; want 900000000 from cgroup v2", limit, source, err)
	}
	if got := debug.SetMemoryLimit(-1); got != 900_000_000 {
		t.Errorf("runtime memory limit %d, want 900000000", got)
	}

	// GOMEMLIMIT: the runtime is left alone, and its limit reported.
	debug.SetMemoryLimit(123 << 20)
	limit, source, err = Configure(files(v2, "1000000000\n"), env("GOMEMLIMIT", "123MiB"), 0.9)
	if err != nil || limit != 123<<20 || source != SourceEnv {
		t.Errorf("with GOMEMLIMIT: Configure = %d, %q, %v; want %d from GOMEMLIMIT", limit, source, err, 123<<20)
	}
	if got := debug.SetMemoryLimit(-1); got != 123<<20 {
		t.Errorf("with GOMEMLIMIT: runtime memory limit changed to %d", got)
	}

	// Garbage, no limit, or disabled: nothing is set.
	for _, tc := range []struct {
		fsys    fs.FS
		ratio   float64
		wantErr bool
	}{
		{files(v2, "garbage"), 0.9, true},
		{files(v2, "max"), 0.9, false},
		{files(v2, "1000000000\n"), 0, false},
	} {
		limit, _, err := Configure(tc.fsys, env(), tc.ratio)
		if (err != nil) != tc.wantErr || limit != 0 {
			t.Errorf("Configure = %d, %v; want 0 and an error: %v", limit, err, tc.wantErr)
		}
		if got := debug.SetMemoryLimit(-1); got != 123<<20 {
			t.Errorf("runtime memory limit changed to %d", got)
		}
	}
}

func TestRatioFlag(t *testing.T) {
	set := flag.NewFlagSet("test", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	r := Ratio(DefaultRatio)
	set.Var(&r, "memory-limit-ratio", "")
	if err := set.Parse([]string{"--memory-limit-ratio=0.75"}); err != nil || r != 0.75 {
		t.Errorf("0.75: ratio %v, err %v", r, err)
	}
	if err := set.Parse([]string{"--memory-limit-ratio=0"}); err != nil || r != 0 {
		t.Errorf("0: ratio %v, err %v", r, err)
	}
	for _, bad := range []string{"1.5", "-0.1", "NaN", "ninety"} {
		if err := set.Parse([]string{"--memory-limit-ratio=" + bad}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if s := (&r).String(); s != "0" {
		t.Errorf("String() = %q", s)
	}
}
