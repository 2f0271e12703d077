package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

// printLoad writes the load steps as a table.
func printLoad(w io.Writer, rs []loadResult, header bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if header {
		_, _ = fmt.Fprintln(tw, "transport\tmode\tat once\treg/s\tok\tfailed\tp50 ms\tp99 ms\tconnect p50\tconnect p99\t"+
			"registrar µs/reg\tregistrar cores\tbench cores\tother cores\tstatus writes\tAPI writes\t")
	}
	for _, r := range rs {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%d\t%d\t%.2f\t%.2f\t%s\t%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t\n",
			r.Transport, r.Mode, r.Concurrency, r.Rate, r.OK, r.Failed, r.P50, r.P99,
			optMS(r.ConnectP50), optMS(r.ConnectP99), r.CPUMicros,
			r.RegistrarCPU/r.Seconds, r.BenchCPU/r.Seconds, r.OtherCPU/r.Seconds, r.StatusWrites, r.APIWrites)
	}
	_ = tw.Flush()
	for _, r := range rs {
		if r.Failed > 0 {
			_, _ = fmt.Fprintf(w, "  %s %s %d failures: %s\n", r.Transport, r.Mode, r.Concurrency, r.Kinds)
		}
	}
}

func optMS(v float64) string {
	if v != v { // NaN: no new connections
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// printConns writes the memory measurement.
func printConns(w io.Writer, cs []connResult) {
	if len(cs) == 0 {
		return
	}
	_, _ = fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "transport\tconnections\tRSS before MB\tRSS after MB\tRSS kB/conn\theap kB/conn\tstacks kB/conn\tgoroutines/conn\topened in\t")
	for _, c := range cs {
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", c.Transport, c.Cost.N,
			c.Before.RSSKB/1024, c.After.RSSKB/1024, c.Cost.RSSKB, c.Cost.HeapKB, c.Cost.StackKB, c.Cost.Goroutine,
			c.OpenedIn.Round(100*time.Millisecond))
	}
	_ = tw.Flush()
	for _, c := range cs {
		if c.HeapProfile != "" {
			_, _ = fmt.Fprintf(w, "  %s heap profile: go tool pprof -top -sample_index=inuse_space -diff_base %s bin/bench %s\n",
				c.Transport, c.HeapProfile[:len(c.HeapProfile)-len("after.pprof")]+"before.pprof", c.HeapProfile)
		}
	}
}

// writeTLSReport saves both tables to path.
func writeTLSReport(path string, rs []loadResult, cs []connResult) error {
	var b bytes.Buffer
	printLoad(&b, rs, true)
	printConns(&b, cs)
	fmt.Printf("\nReport: %s\n", path)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
