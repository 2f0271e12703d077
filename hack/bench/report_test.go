package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorded is the step data of a real run (make bench BENCH_ARGS="--vs kamailio" on a
// shared 2-core machine: three rounds, Kamailio's workers swept in the first): the
// report and the picture are made from such a file again by `bench report`.
const recorded = "testdata/sip-fair.csv"

// The steps read back are the steps written: a report made again from sip.csv is
// made from what was measured.
func TestStepCSVReadsBackWhatWasWritten(t *testing.T) {
	want, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := readCSV(recorded)
	if err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), "sip.csv")
	writeCSV(again, rs)
	got, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("sip.csv written again differs from the one read:\n%s\nwant:\n%s", got, want)
	}
}

// bench report on a run's folder prints and keeps the comparison, and draws it: each
// configuration's max clean rate per round is its best clean step of that round, the
// ratio is of the medians against the Kamailio configuration the sweep kept (the one
// measured in every round), and the picture names every configuration.
func TestReportFromRecordedSteps(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sip.csv"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := reportMain([]string{dir}); err != nil {
		t.Fatal(err)
	}
	rs, err := readCSV(recorded)
	if err != nil {
		t.Fatal(err)
	}

	var rep report
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	names := seriesOrder(rs)
	if len(rep.Series) != len(names) {
		t.Fatalf("summary.json has %d configurations, the steps %d (%v)", len(rep.Series), len(names), names)
	}
	var ours, kamailio seriesSummary
	for _, s := range rep.Series {
		for i, best := range s.MaxClean.Rounds {
			for _, r := range rs {
				clean := r.Pass && r.Role != roleHalf && r.Role != roleCPU
				if seriesName(r.Target, r.Config) == s.Series && r.Round == i+1 && clean && r.Achieved > best {
					t.Errorf("%s round %d: max clean rate %.1f, but a clean step achieved %.1f", s.Series, i+1, best, r.Achieved)
				}
			}
		}
		if s.MaxClean.Min > s.MaxClean.Median || s.MaxClean.Median > s.MaxClean.Max {
			t.Errorf("%s: median %v outside its range %v–%v", s.Series, s.MaxClean.Median, s.MaxClean.Min, s.MaxClean.Max)
		}
		if n := rounds(rs, s.Series); len(s.MaxClean.Rounds) != n {
			t.Errorf("%s: %d rounds reported, %d measured", s.Series, len(s.MaxClean.Rounds), n)
		}
		switch {
		case s.Server == ourName:
			ours = s
		case s.Server == kamailioName && rounds(rs, s.Series) > rounds(rs, kamailio.Series):
			kamailio = s
		}
	}
	if rep.KamailioBest != kamailio.Series {
		t.Errorf("Kamailio's kept configuration is %q, want %q (measured in every round)", rep.KamailioBest, kamailio.Series)
	}
	if want := ours.MaxClean.Median / kamailio.MaxClean.Median; math.Abs(rep.Ratio-want) > 1e-9 {
		t.Errorf("ratio %v, want %v", rep.Ratio, want)
	}
	printed, err := os.ReadFile(filepath.Join(dir, "report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !strings.Contains(string(printed), name) {
			t.Errorf("report.txt does not name %s:\n%s", name, printed)
		}
	}

	f, err := os.Open(filepath.Join(dir, "plot.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if img, err := png.Decode(f); err != nil {
		t.Errorf("plot.png: %v", err)
	} else if sz := img.Bounds().Size(); sz.X < 400 || sz.Y < 400 {
		t.Errorf("plot.png is %v pixels", sz)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "plot.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !bytes.Contains(svg, []byte(name)) {
			t.Errorf("plot.svg has no legend entry %q", name)
		}
	}
}

// rounds counts the rounds in which a configuration was measured.
func rounds(rs []stepResult, series string) int {
	seen := map[int]bool{}
	for _, r := range rs {
		if seriesName(r.Target, r.Config) == series {
			seen[r.Round] = true
		}
	}
	return len(seen)
}

// The median and range over rounds: an even count takes the middle two, and a round
// without the figure (no step at that rate) does not count.
func TestSpreadOverRounds(t *testing.T) {
	for _, c := range []struct {
		rounds              []float64
		median, lowest, top float64
	}{
		{[]float64{9000, 7000, 8000}, 8000, 7000, 9000},
		{[]float64{7000, 9000}, 8000, 7000, 9000},
		{[]float64{7000, math.NaN(), 9000, 8500}, 8500, 7000, 9000},
	} {
		s := newSpread(c.rounds)
		if s.Median != c.median || s.Min != c.lowest || s.Max != c.top {
			t.Errorf("%v: median %v (%v–%v), want %v (%v–%v)", c.rounds, s.Median, s.Min, s.Max, c.median, c.lowest, c.top)
		}
	}
	if s := newSpread([]float64{math.NaN()}); !math.IsNaN(s.Median) || s.String() != "-" {
		t.Errorf("no figure: %+v %q", s, s.String())
	}
}

// summary.json keeps a missing figure as null and reads it back as missing.
func TestSpreadJSONKeepsMissingFigures(t *testing.T) {
	in := newSpread([]float64{math.NaN(), 120})
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out spread
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Rounds) != 2 || !math.IsNaN(out.Rounds[0]) || out.Rounds[1] != 120 || out.Median != in.Median {
		t.Errorf("%s read back as %+v", b, out)
	}
}
