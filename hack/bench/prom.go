package main

import (
	"cmp"
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// promText is a scrape: series "name{labels}" → value.
type promText map[string]float64

func scrape(url string) (promText, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseProm(string(body)), nil
}

func parseProm(body string) promText {
	out := promText{}
	for line := range strings.SplitSeq(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] += v
	}
	return out
}

// sum adds the series of metric name whose labels contain every filter ("verb=\"POST\"").
func (p promText) sum(name string, filters ...string) float64 {
	var s float64
	for k, v := range p {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, f := range filters {
			if !strings.Contains(k, f) {
				ok = false
				break
			}
		}
		if ok {
			s += v
		}
	}
	return s
}

// apiMetrics scrapes kube-apiserver's /metrics with the admin credentials.
func (s *system) apiMetrics(ctx context.Context) (promText, error) {
	body, err := s.clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	return parseProm(string(body)), nil
}

// writeVerbs are the verbs of apiserver_request_total that change state.
var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION"}

// clientWrites sums a client-go rest_client_requests_total (the operator's own count
// of the requests it sent) over the methods that write.
func clientWrites(p promText) float64 {
	var s float64
	for _, m := range writeVerbs[:4] {
		s += p.sum("rest_client_requests_total", `method="`+m+`"`)
	}
	return s
}

func apiWrites(p promText) float64 {
	var s float64
	for _, v := range writeVerbs {
		s += p.sum("apiserver_request_total", `verb="`+v+`"`)
	}
	return s
}

// apiWritesBy breaks the writes down by resource/subresource, verb and HTTP code.
func apiWritesBy(p promText) map[string]float64 {
	out := map[string]float64{}
	for k, v := range p {
		if !strings.HasPrefix(k, "apiserver_request_total{") {
			continue
		}
		labels := parseLabels(k)
		write := false
		for _, w := range writeVerbs {
			if labels["verb"] == w {
				write = true
			}
		}
		if !write {
			continue
		}
		res := labels["resource"]
		if labels["subresource"] != "" {
			res += "/" + labels["subresource"]
		}
		out[res+" "+labels["verb"]+" "+labels["code"]] += v
	}
	return out
}

func parseLabels(series string) map[string]string {
	out := map[string]string{}
	_, body, ok := strings.Cut(series, "{")
	if !ok {
		return out
	}
	body = strings.TrimSuffix(body, "}")
	for kv := range strings.SplitSeq(body, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// queueWaitMetric is the registrar's histogram of the time UDP REGISTERs waited in
// its socket's queue.
const queueWaitMetric = "sip_udp_register_queue_wait_seconds"

// bucketKey is how counters keep a histogram's cumulative bucket: name:le.
func bucketKey(name, le string) string { return name + ":" + le }

// buckets copies the cumulative buckets of histogram name into out (bucketKey).
func (p promText) buckets(name string, out map[string]float64) {
	prefix := name + `_bucket{le="`
	for k, v := range p {
		if le, ok := strings.CutPrefix(k, prefix); ok {
			out[bucketKey(name, strings.TrimSuffix(le, `"}`))] += v
		}
	}
}

// queueWaitQuantile is the q quantile, in seconds, of the queue waits the registrar
// counted between two snapshots of counters, interpolated within its bucket as
// Prometheus's histogram_quantile does; NaN when nothing was counted. Past the last
// finite bound it is that bound: the histogram says no more.
func queueWaitQuantile(q float64, before, after map[string]float64) float64 {
	name := queueWaitMetric
	type bucket struct{ le, n float64 }
	var bs []bucket
	for k, v := range after {
		le, ok := strings.CutPrefix(k, bucketKey(name, ""))
		if !ok {
			continue
		}
		bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		if err != nil {
			continue
		}
		bs = append(bs, bucket{bound, v - before[k]})
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	if len(bs) == 0 || bs[len(bs)-1].n <= 0 {
		return math.NaN()
	}
	rank := q * bs[len(bs)-1].n
	lower, below := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				return lower
			}
			if b.n == below {
				return b.le
			}
			return lower + (b.le-lower)*(rank-below)/(b.n-below)
		}
		lower, below = b.le, b.n
	}
	return lower
}
