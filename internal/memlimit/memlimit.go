// Package memlimit sets the Go runtime's soft memory limit (what GOMEMLIMIT sets) to a
// fraction of the container's memory limit, read from cgroups. Without it the Go heap
// grows to twice the live data before a collection whatever the container allows, so a
// pod near its limit is OOM-killed where a collection would have made room; with it the
// collector works harder as the heap nears the limit instead.
package memlimit

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
)

// DefaultRatio leaves a tenth of the container's limit to what the Go runtime does not
// count: goroutine stacks beyond its accounting, cgo, the binary's pages.
const DefaultRatio = 0.9

// Where the limit came from, as Configure reports it.
const (
	SourceEnv      = "GOMEMLIMIT"
	SourceCgroupV2 = "cgroup v2 memory.max"
	SourceCgroupV1 = "cgroup v1 memory.limit_in_bytes"
	// SourceNone: no container limit was found, so none was set.
	SourceNone = "none"
	// SourceDisabled: the ratio was 0.
	SourceDisabled = "disabled"
)

// The cgroup files, relative to the root of the file system Configure is given
// (os.DirFS("/") in production). Both are the container's own cgroup in a pod: cgroup
// v2 with a cgroup namespace (the default), and cgroup v1 as container runtimes mount it.
const (
	cgroupV2File = "sys/fs/cgroup/memory.max"
	cgroupV1File = "sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// v1Unlimited: cgroup v1 reports no limit as the largest page-aligned int64
// (9223372036854771712 with 4 KiB pages, less with larger pages). No real limit comes
// anywhere near 4 EiB.
const v1Unlimited = 1 << 62

// Apply is what a binary calls at start: Configure on this machine's cgroup files
// and environment, and one log line saying what it did. An error is logged, never
// fatal: the process runs on without a soft limit.
func Apply(ratio float64, log logr.Logger) {
	limit, from, err := Configure(os.DirFS("/"), os.Getenv, ratio)
	if err != nil {
		log.Error(err, "while reading the container's memory limit; running without a Go soft memory limit")
		return
	}
	log.Info("memory limit", "bytes", limit, "from", from)
}

// Configure sets the runtime's soft memory limit to ratio × the container's memory
// limit, and returns the limit now in force in bytes (0 for none) and where it came
// from. When GOMEMLIMIT is set in the environment it leaves the runtime alone (the
// runtime has applied it already) and reports the runtime's limit. A ratio of 0
// disables it. On an error (an unreadable or garbled cgroup file) it sets nothing and
// returns 0: the caller logs it and carries on without a limit.
func Configure(fsys fs.FS, getenv func(string) string, ratio float64) (limit int64, source string, err error) {
	limit, source, err = Decide(fsys, getenv, ratio)
	switch {
	case err != nil:
		return 0, source, err
	case source == SourceEnv:
		if limit = debug.SetMemoryLimit(-1); limit == math.MaxInt64 {
			limit = 0 // GOMEMLIMIT=off
		}
		return limit, source, nil
	case limit > 0:
		debug.SetMemoryLimit(limit)
	}
	return limit, source, nil
}

// Decide is Configure without touching the runtime: the limit it would set (0 for
// none; also 0 when GOMEMLIMIT is set, which the runtime applies itself) and why.
func Decide(fsys fs.FS, getenv func(string) string, ratio float64) (limit int64, source string, err error) {
	if math.IsNaN(ratio) || ratio < 0 || ratio > 1 {
		return 0, SourceNone, fmt.Errorf("memory limit ratio %v: want a number from 0 to 1", ratio)
	}
	if getenv("GOMEMLIMIT") != "" {
		return 0, SourceEnv, nil
	}
	if ratio == 0 {
		return 0, SourceDisabled, nil
	}
	container, source, err := containerLimit(fsys)
	if err != nil || container == 0 {
		return 0, source, err
	}
	return int64(float64(container) * ratio), source, nil
}

// containerLimit reads the container's memory limit in bytes, 0 for none: cgroup v2
// first, then cgroup v1. Neither file (not in a container, or not on Linux) is no limit.
func containerLimit(fsys fs.FS) (int64, string, error) {
	b, err := fs.ReadFile(fsys, cgroupV2File)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, SourceNone, nil
		}
		v, err := parseBytes(s)
		if err != nil {
			return 0, SourceNone, fmt.Errorf("while reading /%s: %w", cgroupV2File, err)
		}
		return v, SourceCgroupV2, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, SourceNone, fmt.Errorf("while reading /%s: %w", cgroupV2File, err)
	}
	b, err = fs.ReadFile(fsys, cgroupV1File)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, SourceNone, nil
	}
	if err != nil {
		return 0, SourceNone, fmt.Errorf("while reading /%s: %w", cgroupV1File, err)
	}
	s := strings.TrimSpace(string(b))
	if u, err := strconv.ParseUint(s, 10, 64); err == nil && u >= v1Unlimited {
		return 0, SourceNone, nil
	}
	v, err := parseBytes(s)
	if err != nil {
		return 0, SourceNone, fmt.Errorf("while reading /%s: %w", cgroupV1File, err)
	}
	return v, SourceCgroupV1, nil
}

// parseBytes parses a cgroup memory limit: a positive whole number of bytes.
func parseBytes(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a memory limit in bytes", s)
	}
	return v, nil
}

// Ratio is a flag.Value for the ratio: a number from 0 (off) to 1.
type Ratio float64

// String implements flag.Value.
func (r *Ratio) String() string {
	if r == nil {
		return "0"
	}
	return strconv.FormatFloat(float64(*r), 'g', -1, 64)
}

// Set implements flag.Value.
func (r *Ratio) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
		return fmt.Errorf("want a number from 0 (off) to 1")
	}
	*r = Ratio(v)
	return nil
}
