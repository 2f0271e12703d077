package main

import (
	"math"
	"testing"
)

// The server's queue-wait p99 in sip.csv comes from the histogram's buckets counted
// during the step only, interpolated within the bucket as Prometheus does.
func TestQueueWaitQuantileOfAStep(t *testing.T) {
	scrapeAt := func(b50us, b1ms, b2ms, b5ms, inf float64) map[string]float64 {
		body := `# HELP sip_udp_register_queue_wait_seconds x
# TYPE sip_udp_register_queue_wait_seconds histogram
sip_udp_register_queue_wait_seconds_bucket{le="5e-05"} ` + f1(b50us) + `
sip_udp_register_queue_wait_seconds_bucket{le="0.001"} ` + f1(b1ms) + `
sip_udp_register_queue_wait_seconds_bucket{le="0.002"} ` + f1(b2ms) + `
sip_udp_register_queue_wait_seconds_bucket{le="0.005"} ` + f1(b5ms) + `
sip_udp_register_queue_wait_seconds_bucket{le="+Inf"} ` + f1(inf) + `
sip_udp_register_queue_wait_seconds_sum 1
sip_udp_register_queue_wait_seconds_count ` + f1(inf) + `
sip_udp_dropped_total 3
`
		out := map[string]float64{}
		parseProm(body).buckets(queueWaitMetric, out)
		return out
	}
	// Before the step, 1,000 waits all under 50 µs: they must not count.
	before := scrapeAt(1000, 1000, 1000, 1000, 1000)
	// In the step, 1,000 more: 900 under 50 µs, 80 up to 1 ms, 15 up to 2 ms, 5
	// up to 5 ms. The 990th is the 10th of the 15 in (1 ms, 2 ms].
	after := scrapeAt(1900, 1980, 1995, 2000, 2000)
	got := queueWaitQuantile(0.99, before, after)
	if want := 0.001 + 0.001*10/15; math.Abs(got-want) > 1e-9 {
		t.Errorf("p99 = %v s, want %v", got, want)
	}
	if got := queueWaitQuantile(0.5, before, after); got <= 0 || got > 50e-6 {
		t.Errorf("p50 = %v s, want within the first bucket", got)
	}
	// Beyond the last finite bound the histogram says no more than that bound.
	late := scrapeAt(1000, 1000, 1000, 1000, 2000)
	if got := queueWaitQuantile(0.99, before, late); got != 0.005 {
		t.Errorf("p99 of waits past every bound = %v s, want the last bound 0.005", got)
	}
	// A step without a REGISTER, or a server without the metric: unknown.
	if got := queueWaitQuantile(0.99, before, before); !math.IsNaN(got) {
		t.Errorf("p99 of no waits = %v, want NaN", got)
	}
	if got := queueWaitQuantile(0.99, map[string]float64{}, map[string]float64{}); !math.IsNaN(got) {
		t.Errorf("p99 without the metric = %v, want NaN", got)
	}
}
