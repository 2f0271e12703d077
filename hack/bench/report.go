package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

func f1(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func f2(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func f3(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func passWord(r stepResult) string {
	if r.Pass {
		return "ok"
	}
	return "FAIL"
}

func printStepLine(r stepResult) {
	fmt.Printf("    %-8s %7.0f/s → %8.1f/s  ok=%d failed=%d retrans=%d  probe p50/p99 %s/%s ms  cpu %.1fs (%.0f%%)  mem %.0f MB"+
		"  sipp %.0f%%  drops server/all %.0f/%.0f  other load %.1fs  %s %s\n",
		r.Role, r.Rate, r.Achieved, r.OK, r.Failed, r.Retrans, f3(r.ProbeP50), f3(r.ProbeP99), r.CPU, r.CPUPct, r.PeakMemMB, r.SippCPUPct,
		r.ServerDrops, r.AllDrops, r.OtherLoad, passWord(r), strings.TrimSpace(r.FailDetail))
}

// printTable prints the short table: one line per step.
func printTable(w io.Writer, rs []stepResult) {
	_, _ = fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "server\tstep\ttarget/s\tachieved/s\tfailed\tretrans\tp50 ms\tp99 ms\tp99.9 ms\tSIPp p99 ms\t"+
		"CPU s\tCPU %\tpeak MB\tSIPp CPU %\tdrops srv/all\tother load s\tresult\t")
	for _, r := range rs {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%d\t%d\t%s\t%s\t%s\t%s\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f/%.0f\t%.1f\t%s\t\n",
			r.Target, r.Role, r.Rate, r.Achieved, r.Failed, r.Retrans, f3(r.ProbeP50), f3(r.ProbeP99), f3(r.ProbeP999), f1(r.SippP99),
			r.CPU, r.CPUPct, r.PeakMemMB, r.SippCPUPct, r.ServerDrops, r.AllDrops, r.OtherLoad, passWord(r))
	}
	_ = tw.Flush()
	_, _ = fmt.Fprintln(w, "p50/p99/p99.9: authenticated REGISTER → 200 OK, timed by the probe beside SIPp (its send → the kernel's arrival stamp);")
	_, _ = fmt.Fprintln(w, "SIPp p99: the same from SIPp's rtd (whole-millisecond clock). CPU: the server's processes over the step.")
	_, _ = fmt.Fprintln(w, "peak MB: registrar VmHWM; Kamailio: peak summed PSS.")
	_, _ = fmt.Fprintln(w, "drops srv/all: UDP datagrams dropped for a full receive buffer at the server's socket / at any socket (SIPp's included).")
	_, _ = fmt.Fprintln(w, "other load: CPU seconds used on this machine by processes outside the benchmark during the step (noise).")
}

func printSummary(w io.Writer, rs []stepResult, o sipOptions) {
	_, _ = fmt.Fprintln(w)
	names := []string{}
	for _, r := range rs {
		if !slices.Contains(names, r.Target) {
			names = append(names, r.Target)
		}
	}
	best := map[string]float64{}
	for _, n := range names {
		best[n] = bestRate(rs, n)
		var line strings.Builder
		_, _ = fmt.Fprintf(&line, "%-20s highest clean rate: %8.0f registrations/s (0 failures, 0 retransmissions, %s steps)", n, best[n], o.stepDuration)
		for _, r := range rs {
			if r.Target == n && r.Role == roleHalf {
				_, _ = fmt.Fprintf(&line, "; at %.0f/s p99 %s ms", r.Rate, f3(r.ProbeP99))
			}
		}
		_, _ = fmt.Fprintln(w, line.String())
		for _, r := range rs {
			if r.Target == n && r.Pass && r.Role != roleHalf && r.Achieved == best[n] && len(r.OthersCPU) > 0 {
				parts := []string{}
				for k, v := range r.OthersCPU {
					parts = append(parts, fmt.Sprintf("%s %.1f s", k, v))
				}
				slices.Sort(parts)
				_, _ = fmt.Fprintf(w, "%-20s   at that step: CPU s registrar %.1f, %s; writes: registrar status %.0f/s, operator %.0f/s, API total %.0f/s\n",
					"", r.CPU, strings.Join(parts, ", "), r.StatusWrites/r.Duration, r.OperatorWrites/r.Duration, r.APIWrites/r.Duration)
			}
		}
	}
	if k, ok := best[kamailioName]; ok && k > 0 {
		if ours, ok := best["registrar-operator"]; ok {
			_, _ = fmt.Fprintf(w, "ratio registrar-operator / kamailio: %.2f (target ≥ 1.0)\n", ours/k)
		}
	}
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
	_ = w.Write([]string{
		"server", "step", "target_rate", "duration_s", "calls", "successful", "failed", "retransmissions", "achieved_rate", "pass",
		"probe_calls", "probe_lost", "probe_challenge_p50_ms", "probe_register_p50_ms", "probe_register_p99_ms", "probe_register_p999_ms", "probe_register_max_ms",
		"sipp_challenge_p99_ms", "sipp_register_p50_ms", "sipp_register_p99_ms",
		"server_cpu_s", "server_cpu_pct", "server_peak_mem_mb", "server_step_peak_rss_mb", "sipp_cpu_pct",
		"operator_cpu_s", "control_plane_cpu_s", "other_load_cpu_s", "status_writes", "operator_writes", keyAPIWrites,
		"server_socket_drops", "all_udp_rcvbuf_errors", "detail", "cpu_profile",
	})
	for _, r := range rs {
		_ = w.Write([]string{
			r.Target, r.Role, f1(r.Rate), f2(r.Duration), strconv.Itoa(r.Calls), strconv.Itoa(r.OK), strconv.Itoa(r.Failed),
			strconv.Itoa(r.Retrans), f1(r.Achieved), strconv.FormatBool(r.Pass),
			strconv.Itoa(r.ProbeN), strconv.Itoa(r.ProbeLost), f3(r.ProbeChP50), f3(r.ProbeP50), f3(r.ProbeP99), f3(r.ProbeP999), f3(r.ProbeMax),
			f1(r.SippChP99), f1(r.SippP50), f1(r.SippP99),
			f2(r.CPU), f1(r.CPUPct), f1(r.PeakMemMB), f1(r.StepRSS), f1(r.SippCPUPct),
			f2(r.OthersCPU["operator"]), f2(r.OthersCPU["control plane"]), f2(r.OtherLoad), f1(r.StatusWrites), f1(r.OperatorWrites), f1(r.APIWrites),
			f1(r.ServerDrops), f1(r.AllDrops), strings.TrimSpace(r.FailDetail), r.Profile,
		})
	}
	w.Flush()
}
