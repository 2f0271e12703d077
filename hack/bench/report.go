package main

import (
	"fmt"
	"io"
	"math"
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
	fmt.Printf("    %-8s %7.0f/s → %8.1f/s  ok=%d failed=%d retrans=%d  probe p50/p99 %s/%s ms  queue p99 %s ms  cpu %.1fs (%.0f%%)  mem %.0f MB"+
		"  sipp %.0f%%  drops server/all %.0f/%.0f  other load %.1fs  %s %s\n",
		r.Role, r.Rate, r.Achieved, r.OK, r.Failed, r.Retrans, f3(r.ProbeP50), f3(r.ProbeP99), f3(r.ServerWaitP99), r.CPU, r.CPUPct, r.PeakMemMB, r.SippCPUPct,
		r.ServerDrops, r.AllDrops, r.OtherLoad, passWord(r), strings.TrimSpace(r.FailDetail))
}

// printTable prints the short table: one line per step.
func printTable(w io.Writer, rs []stepResult) {
	_, _ = fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "server\tround\tstep\ttarget/s\tachieved/s\tfailed\tretrans\tp50 ms\tp99 ms\tp99.9 ms\tSIPp p99 ms\t"+
		"CPU s\tCPU %\tpeak MB\tSIPp CPU %\tdrops srv/all\tother load s\tresult\t")
	for _, r := range rs {
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.0f\t%d\t%d\t%s\t%s\t%s\t%s\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f/%.0f\t%.1f\t%s\t\n",
			seriesName(r.Target, r.Config), r.Round, r.Role, r.Rate, r.Achieved, r.Failed, r.Retrans, f3(r.ProbeP50), f3(r.ProbeP99), f3(r.ProbeP999), f1(r.SippP99),
			r.CPU, r.CPUPct, r.PeakMemMB, r.SippCPUPct, r.ServerDrops, r.AllDrops, r.OtherLoad, passWord(r))
	}
	_ = tw.Flush()
	_, _ = fmt.Fprintln(w, "p50/p99/p99.9: authenticated REGISTER → 200 OK, timed by the probe beside SIPp (the kernel's send stamp → its arrival stamp);")
	_, _ = fmt.Fprintln(w, "SIPp p99: the same from SIPp's rtd (whole-millisecond clock). CPU: the server's processes over the step.")
	_, _ = fmt.Fprintln(w, "queue p99 (sip.csv server_queue_wait_p99_ms, step lines): ours' own count of how long REGISTERs waited in its socket's queue")
	_, _ = fmt.Fprintln(w, "before a reader took them (sip_udp_register_queue_wait_seconds, interpolated in its buckets); the rest of the probe's time is")
	_, _ = fmt.Fprintln(w, "the answer's work and the way back.")
	_, _ = fmt.Fprintln(w, "peak MB: registrar VmHWM; Kamailio: peak summed PSS.")
	_, _ = fmt.Fprintln(w, "drops srv/all: UDP datagrams dropped for a full receive buffer at the server's socket / at any socket (SIPp's included).")
	_, _ = fmt.Fprintln(w, "other load: CPU seconds used on this machine by processes outside the benchmark during the step (noise).")
}
