package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// column is one column of sip.csv: how a step's value is written and read back, so
// that a report can be made again from the recorded steps (bench report).
type column struct {
	name string
	get  func(r *stepResult) string
	set  func(r *stepResult, v string) error
}

func text(name string, p func(r *stepResult) *string) column {
	return column{name,
		func(r *stepResult) string { return *p(r) },
		func(r *stepResult, v string) error { *p(r) = v; return nil }}
}

func integer(name string, p func(r *stepResult) *int) column {
	return column{name,
		func(r *stepResult) string { return strconv.Itoa(*p(r)) },
		func(r *stepResult, v string) (err error) { *p(r), err = strconv.Atoi(v); return err }}
}

func boolean(name string, p func(r *stepResult) *bool) column {
	return column{name,
		func(r *stepResult) string { return strconv.FormatBool(*p(r)) },
		func(r *stepResult, v string) (err error) { *p(r), err = strconv.ParseBool(v); return err }}
}

// number writes with the given decimals; "-" stands for NaN (no sample).
func number(name string, decimals int, p func(r *stepResult) *float64) column {
	return column{name,
		func(r *stepResult) string {
			if math.IsNaN(*p(r)) {
				return "-"
			}
			return strconv.FormatFloat(*p(r), 'f', decimals, 64)
		},
		func(r *stepResult, v string) (err error) {
			if v == "-" {
				*p(r) = math.NaN()
				return nil
			}
			*p(r), err = strconv.ParseFloat(v, 64)
			return err
		}}
}

// other is a CPU figure of a process beside the server (operator, control plane).
func other(name, key string) column {
	return column{name,
		func(r *stepResult) string { return strconv.FormatFloat(r.OthersCPU[key], 'f', 2, 64) },
		func(r *stepResult, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if r.OthersCPU == nil {
				r.OthersCPU = map[string]float64{}
			}
			r.OthersCPU[key] = f
			return err
		}}
}

var stepColumns = []column{
	text("server", func(r *stepResult) *string { return &r.Target }),
	text("config", func(r *stepResult) *string { return &r.Config }),
	integer("round", func(r *stepResult) *int { return &r.Round }),
	text("step", func(r *stepResult) *string { return &r.Role }),
	number("target_rate", 1, func(r *stepResult) *float64 { return &r.Rate }),
	number("duration_s", 2, func(r *stepResult) *float64 { return &r.Duration }),
	integer("calls", func(r *stepResult) *int { return &r.Calls }),
	integer("successful", func(r *stepResult) *int { return &r.OK }),
	integer("failed", func(r *stepResult) *int { return &r.Failed }),
	integer("retransmissions", func(r *stepResult) *int { return &r.Retrans }),
	number("achieved_rate", 1, func(r *stepResult) *float64 { return &r.Achieved }),
	number("offered_rate", 1, func(r *stepResult) *float64 { return &r.Offered }),
	integer("sipp_processes", func(r *stepResult) *int { return &r.SippProcesses }),
	boolean("pass", func(r *stepResult) *bool { return &r.Pass }),
	integer("probe_calls", func(r *stepResult) *int { return &r.ProbeN }),
	integer("probe_lost", func(r *stepResult) *int { return &r.ProbeLost }),
	number("probe_challenge_p50_ms", 3, func(r *stepResult) *float64 { return &r.ProbeChP50 }),
	number("probe_register_p50_ms", 3, func(r *stepResult) *float64 { return &r.ProbeP50 }),
	number("probe_register_p99_ms", 3, func(r *stepResult) *float64 { return &r.ProbeP99 }),
	number("probe_register_p999_ms", 3, func(r *stepResult) *float64 { return &r.ProbeP999 }),
	number("probe_register_max_ms", 3, func(r *stepResult) *float64 { return &r.ProbeMax }),
	number("sipp_challenge_p99_ms", 1, func(r *stepResult) *float64 { return &r.SippChP99 }),
	number("sipp_register_p50_ms", 1, func(r *stepResult) *float64 { return &r.SippP50 }),
	number("sipp_register_p99_ms", 1, func(r *stepResult) *float64 { return &r.SippP99 }),
	number("server_cpu_s", 2, func(r *stepResult) *float64 { return &r.CPU }),
	number("server_cpu_pct", 1, func(r *stepResult) *float64 { return &r.CPUPct }),
	number("server_peak_mem_mb", 1, func(r *stepResult) *float64 { return &r.PeakMemMB }),
	number("server_step_peak_rss_mb", 1, func(r *stepResult) *float64 { return &r.StepRSS }),
	number("sipp_cpu_pct", 1, func(r *stepResult) *float64 { return &r.SippCPUPct }),
	other("operator_cpu_s", "operator"),
	other("control_plane_cpu_s", "control plane"),
	number("other_load_cpu_s", 2, func(r *stepResult) *float64 { return &r.OtherLoad }),
	number("status_writes", 1, func(r *stepResult) *float64 { return &r.StatusWrites }),
	number("operator_writes", 1, func(r *stepResult) *float64 { return &r.OperatorWrites }),
	number(keyAPIWrites, 1, func(r *stepResult) *float64 { return &r.APIWrites }),
	number("server_socket_drops", 1, func(r *stepResult) *float64 { return &r.ServerDrops }),
	number("all_udp_rcvbuf_errors", 1, func(r *stepResult) *float64 { return &r.AllDrops }),
	text("server_socket_rcvbuf", func(r *stepResult) *string { return &r.RcvBuf }),
	number("server_shed", 1, func(r *stepResult) *float64 { return &r.Shed }),
	number("server_shed_unanswered", 1, func(r *stepResult) *float64 { return &r.ShedUnanswered }),
	number("server_cached_retransmissions", 1, func(r *stepResult) *float64 { return &r.Cached }),
	{"detail", func(r *stepResult) string { return strings.TrimSpace(r.FailDetail) },
		func(r *stepResult, v string) error { r.FailDetail = v; return nil }},
	text("cpu_profile", func(r *stepResult) *string { return &r.Profile }),
	number("server_queue_wait_p99_ms", 3, func(r *stepResult) *float64 { return &r.ServerWaitP99 }),
}

// writeCSV writes every step.
func writeCSV(path string, rs []stepResult) {
	f, err := os.Create(path)
	if err != nil {
		_, _ = fmt.Fprintln(os.Stderr, "bench:", err)
		return
	}
	defer func() { _ = f.Close() }()
	w := csv.NewWriter(f)
	row := make([]string, len(stepColumns))
	for i, c := range stepColumns {
		row[i] = c.name
	}
	_ = w.Write(row)
	for i := range rs {
		for j, c := range stepColumns {
			row[j] = c.get(&rs[i])
		}
		_ = w.Write(row)
	}
	w.Flush()
}

// readCSV reads the steps writeCSV wrote; columns it does not know are skipped, and
// a column it knows may be missing (an older file).
func readCSV(path string) ([]stepResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("while reading %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	byName := map[string]column{}
	for _, c := range stepColumns {
		byName[c.name] = c
	}
	var out []stepResult
	for n, row := range rows[1:] {
		r := stepResult{Round: 1, OthersCPU: map[string]float64{}, ServerWaitP99: math.NaN()}
		for i, name := range rows[0] {
			c, ok := byName[name]
			if !ok || i >= len(row) {
				continue
			}
			if err := c.set(&r, row[i]); err != nil {
				return nil, fmt.Errorf("%s line %d, %s: %w", path, n+2, name, err)
			}
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no steps")
	}
	return out, nil
}
