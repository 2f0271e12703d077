package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
)

// seriesSummary is what the fair comparison reports of one server configuration:
// each figure once per round, its median and its range.
type seriesSummary struct {
	Series string `json:"series"` // server and configuration
	Server string `json:"server"`
	Config string `json:"config,omitempty"`
	// MaxClean is the max clean rate of each round: the highest achieved rate of a
	// passing step (0 failures, 0 retransmissions, ≥ --min-achieved of the target).
	MaxClean spread `json:"max_clean_rate"`
	// CPUPerReg is the server's CPU µs per completed registration in the step at the
	// fixed rate (--cpu-rate), and whether that step was clean.
	CPURate   float64 `json:"cpu_rate"`
	CPUPerReg spread  `json:"cpu_us_per_registration"`
	CPUClean  []bool  `json:"cpu_step_clean"`
	// HalfP99 is the probe's p99 in the step at half the round's max clean rate.
	HalfP99 spread   `json:"p99_ms_at_half_rate"`
	RcvBuf  []string `json:"socket_rcvbuf_bytes"`
	// OtherLoad is the mean CPU cores that processes outside the benchmark used during
	// each round's steps: the machine may be shared, and a loaded round measures less.
	OtherLoad spread `json:"other_load_cores"`
}

// spread is one figure over the rounds.
type spread struct {
	Rounds           []float64
	Median, Min, Max float64
}

// MarshalJSON writes a missing figure (NaN) as null, which JSON has for it.
func (s spread) MarshalJSON() ([]byte, error) {
	num := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	rounds := make([]*float64, len(s.Rounds))
	for i, v := range s.Rounds {
		rounds[i] = num(v)
	}
	return json.Marshal(struct {
		Rounds []*float64 `json:"rounds"`
		Median *float64   `json:"median"`
		Min    *float64   `json:"min"`
		Max    *float64   `json:"max"`
	}{rounds, num(s.Median), num(s.Min), num(s.Max)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *spread) UnmarshalJSON(b []byte) error {
	var v struct {
		Rounds []*float64 `json:"rounds"`
		Median *float64   `json:"median"`
		Min    *float64   `json:"min"`
		Max    *float64   `json:"max"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	s.Rounds = make([]float64, len(v.Rounds))
	for i, p := range v.Rounds {
		s.Rounds[i] = val(p)
	}
	s.Median, s.Min, s.Max = val(v.Median), val(v.Min), val(v.Max)
	return nil
}

func newSpread(vs []float64) spread {
	s := spread{Rounds: vs, Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	sorted := slices.Clone(vs)
	sorted = slices.DeleteFunc(sorted, math.IsNaN)
	if len(sorted) == 0 {
		return s
	}
	slices.Sort(sorted)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	if n := len(sorted); n%2 == 1 {
		s.Median = sorted[n/2]
	} else {
		s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return s
}

// String is "median (min–max, ±half the range in % of the median)".
func (s spread) String() string {
	if math.IsNaN(s.Median) {
		return "-"
	}
	if len(s.Rounds) == 1 {
		return fmt.Sprintf("%s (1 round)", g4(s.Median))
	}
	pct := 0.0
	if s.Median != 0 {
		pct = 100 * (s.Max - s.Min) / 2 / s.Median
	}
	return fmt.Sprintf("%s (%s–%s, ±%.0f%%, %d rounds)", g4(s.Median), g4(s.Min), g4(s.Max), pct, len(s.Rounds))
}

func g4(v float64) string {
	if math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// seriesName names a server configuration, as the report and the picture do.
func seriesName(server, config string) string {
	if config == "" {
		return server
	}
	return server + " (" + config + ")"
}

// summarize groups the steps by server configuration and round.
func summarize(rs []stepResult) []seriesSummary {
	type key struct{ server, config string }
	var order []key
	rounds := map[key]map[int][]stepResult{}
	for _, r := range rs {
		k := key{r.Target, r.Config}
		if rounds[k] == nil {
			order = append(order, k)
			rounds[k] = map[int][]stepResult{}
		}
		rounds[k][r.Round] = append(rounds[k][r.Round], r)
	}
	var out []seriesSummary
	for _, k := range order {
		s := seriesSummary{Series: seriesName(k.server, k.config), Server: k.server, Config: k.config}
		var best, cpu, p99, load []float64
		for _, n := range slices.Sorted(maps.Keys(rounds[k])) {
			steps := rounds[k][n]
			best = append(best, bestRate(steps))
			c, h := math.NaN(), math.NaN()
			var busy, secs float64
			for _, r := range steps {
				busy, secs = busy+r.OtherLoad, secs+r.Duration
				switch r.Role {
				case roleCPU:
					if r.OK > 0 {
						c = r.CPU / float64(r.OK) * 1e6
					}
					s.CPURate = r.Rate
					s.CPUClean = append(s.CPUClean, r.Pass)
				case roleHalf:
					h = r.ProbeP99
				}
			}
			cpu, p99, load = append(cpu, c), append(p99, h), append(load, busy/secs)
			if len(steps) > 0 && steps[0].RcvBuf != "" && !slices.Contains(s.RcvBuf, steps[0].RcvBuf) {
				s.RcvBuf = append(s.RcvBuf, steps[0].RcvBuf)
			}
		}
		s.MaxClean, s.CPUPerReg, s.HalfP99, s.OtherLoad = newSpread(best), newSpread(cpu), newSpread(p99), newSpread(load)
		out = append(out, s)
	}
	return out
}

// kept is the configuration of server the comparison measured in every round: the
// one the sweep of the first round kept (most rounds; of equals, the higher median).
func kept(ss []seriesSummary, server string) (seriesSummary, bool) {
	var best seriesSummary
	found := false
	for _, s := range ss {
		if s.Server != server {
			continue
		}
		more := len(s.MaxClean.Rounds) - len(best.MaxClean.Rounds)
		if !found || more > 0 || more == 0 && s.MaxClean.Median > best.MaxClean.Median {
			best, found = s, true
		}
	}
	return best, found
}

// report is the fair comparison: summary.json, and what printReport prints.
type report struct {
	Series []seriesSummary `json:"series"`
	// KamailioBest is the configuration the sweep kept; Ratio is our median max clean
	// rate over its median; Ratios over each configuration's.
	KamailioBest string             `json:"kamailio_best,omitempty"`
	Ratio        float64            `json:"ratio_ours_to_kamailio_best,omitempty"`
	Ratios       map[string]float64 `json:"ratios_ours_to_each,omitempty"`
	StepSeconds  float64            `json:"step_seconds"`
	Smoke        bool               `json:"smoke"`
	ServerCPUs   float64            `json:"server_cpus,omitempty"` // --server-cpus: each server's CPU quota, cores
	LoadBefore   string             `json:"load_before,omitempty"` // /proc/loadavg: the machine is shared
	LoadAfter    string             `json:"load_after,omitempty"`
}

func makeReport(rs []stepResult) report {
	rep := report{Series: summarize(rs)}
	if len(rs) > 0 {
		rep.StepSeconds = rs[0].Duration
	}
	k, okK := kept(rep.Series, kamailioName)
	ours, okO := kept(rep.Series, ourName)
	if okK {
		rep.KamailioBest = k.Series
	}
	if !okK || !okO {
		return rep
	}
	rep.Ratios = map[string]float64{}
	for _, s := range rep.Series {
		if s.Server == kamailioName && s.MaxClean.Median > 0 {
			rep.Ratios[s.Series] = ours.MaxClean.Median / s.MaxClean.Median
		}
	}
	rep.Ratio = rep.Ratios[k.Series]
	return rep
}

func (rep report) writeJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// printReport prints the comparison: one line per server configuration.
func printReport(w io.Writer, rep report) {
	_, _ = fmt.Fprintln(w)
	if rep.Smoke {
		_, _ = fmt.Fprintln(w, "SMOKE RUN (--smoke): short steps, few Extensions; these figures check the harness, they are no measurement.")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cpuRate := 0.0
	for _, s := range rep.Series {
		cpuRate = max(cpuRate, s.CPURate)
	}
	_, _ = fmt.Fprintf(tw, "server\tmax clean rate /s\tCPU µs/registration at %.0f/s\tp99 ms at half its rate\tother load, cores\t"+
		"socket rcvbuf (bytes)\t\n", cpuRate)
	for _, s := range rep.Series {
		cpu := s.CPUPerReg.String()
		if slices.Contains(s.CPUClean, false) {
			cpu += " (a step not clean)"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Series, s.MaxClean, cpu, s.HalfP99, s.OtherLoad, strings.Join(s.RcvBuf, ", "))
	}
	_ = tw.Flush()
	_, _ = fmt.Fprintln(w, "Each figure: median (min–max, ±half the range in % of the median, rounds); the servers were measured in turns.")
	_, _ = fmt.Fprintln(w, "other load: CPU cores that processes outside the benchmark used meanwhile, per round (of this machine's", runtime.NumCPU(), "cores).")
	if rep.KamailioBest != "" {
		_, _ = fmt.Fprintf(w, "Kamailio's configuration kept by the sweep (measured in every round): %s.\n", rep.KamailioBest)
	}
	if rep.Ratio > 0 {
		_, _ = fmt.Fprintf(w, "ratio of the medians of the max clean rate, %s / %s: %.2f (target ≥ 1.0)\n", ourName, rep.KamailioBest, rep.Ratio)
	}
	for _, s := range rep.Series {
		if r, ok := rep.Ratios[s.Series]; ok && s.Series != rep.KamailioBest {
			_, _ = fmt.Fprintf(w, "  against %s (rounds: %d): %.2f\n", s.Series, len(s.MaxClean.Rounds), r)
		}
	}
	if rep.ServerCPUs > 0 {
		_, _ = fmt.Fprintf(w, "each server was confined to %g cores (--server-cpus: a CFS quota over 100 ms, "+
			"as a pod's CPU limit); SIPp had the rest.\n", rep.ServerCPUs)
	}
	if rep.LoadBefore != "" {
		_, _ = fmt.Fprintf(w, "machine load (/proc/loadavg) before: %s, after: %s\n", rep.LoadBefore, rep.LoadAfter)
	}
}

// loadAvg is /proc/loadavg's three load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
