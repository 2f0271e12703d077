package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// overloadFactors are the offered loads of the overload scenario, as multiples of
// the max clean rate; the last step, at half of it, starts once the load is gone
// and shows whether service is back to normal (issue 15: goodput ≥ 90 % of the max
// clean rate at 1.5× and 3×, normal within 5 s after).
var overloadFactors = []float64{1, 1.5, 3, 0.5}

// overloadRole names each step of the scenario in the step table.
var overloadRoles = []string{"clean", "1.5x", "3x", "recovery"}

// overloadSteps turns --overload R into its steps, 30 s each unless
// --step-duration says otherwise, and a short pause before the recovery step.
func overloadSteps(o *sipOptions, given map[string]bool) {
	o.rates = o.rates[:0]
	for _, f := range overloadFactors {
		o.rates = append(o.rates, o.overload*f)
	}
	o.halfRate, o.cpuRate = false, 0
	if !given["step-duration"] {
		o.stepDuration = 30 * time.Second
	}
	if !given["pause"] {
		o.pause = time.Second
	}
}

// printOverload prints the scenario's verdict per step of every server and round
// (--vs kamailio runs the same steps against Kamailio): goodput (registrations
// completed per second) against the max clean rate, the rate SIPp actually
// offered, memory, and whether the step after the load was clean.
func printOverload(w io.Writer, clean float64, rs []stepResult) {
	_, _ = fmt.Fprintf(w, "\noverload around a max clean rate of %.0f/s (goal: goodput ≥ 90%% of it at 1.5× and 3×; the recovery step clean):\n", clean)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "server\tround\tstep\ttarget/s\toffered/s\tSIPps\tgoodput/s\tof clean\tfailed\tretrans\t"+
		"shed (503)\tshed unanswered\tfrom cache\tserver drops\tall drops\tpeak MB\tprobe p99 ms\tresult\t")
	for _, series := range overloadSeries(rs) {
		for i, r := range series {
			role := r.Role
			if i < len(overloadRoles) {
				role = overloadRoles[i]
			}
			verdict := "-"
			switch role {
			case "1.5x", "3x":
				verdict = okWord(r.Achieved >= 0.9*clean)
			case "recovery", "clean":
				verdict = passWord(r)
			}
			_, _ = fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.0f\t%d\t%.0f\t%.0f%%\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\t\n",
				seriesName(r.Target, r.Config), r.Round, role, r.Rate, r.Offered, r.SippProcesses, r.Achieved, 100*r.Achieved/clean,
				r.Failed, r.Retrans, r.Shed, r.ShedUnanswered, r.Cached, r.ServerDrops, r.AllDrops, r.PeakMemMB, f3(r.ProbeP99), verdict)
		}
	}
	_ = tw.Flush()
}

// overloadSeries splits the steps into the runs of the scenario, one per server,
// configuration and round, in the order they ran.
func overloadSeries(rs []stepResult) [][]stepResult {
	var out [][]stepResult
	for i, r := range rs {
		if i == 0 || r.Target != rs[i-1].Target || r.Config != rs[i-1].Config || r.Round != rs[i-1].Round {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], r)
	}
	return out
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "BELOW"
}
