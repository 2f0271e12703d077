package main

import (
	"cmp"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// plotSteps draws what registrars are compared by, for every server configuration:
// offered rate against completed rate (above) and against the p99 of the
// authenticated REGISTER (below, log scale), one point per step of every round and a
// line through the mean at each offered rate. It writes base+".svg" and base+".png".
func plotSteps(rs []stepResult, base string) error {
	done, p99 := plot.New(), plot.New()
	done.Title.Text = "Completed registrations against offered (REGISTER + digest, SIPp)"
	done.X.Label.Text, done.Y.Label.Text = "offered /s", "completed /s"
	p99.Title.Text = "p99 of the authenticated REGISTER (probe beside SIPp)"
	p99.X.Label.Text, p99.Y.Label.Text = "offered /s", "p99 ms"
	p99.Y.Scale, p99.Y.Tick.Marker = plot.LogScale{}, ticks125{}
	for _, p := range []*plot.Plot{done, p99} {
		p.Add(plotter.NewGrid())
		p.Legend.Top, p.Legend.Left = true, true
	}
	top := 0.0
	for i, name := range seriesOrder(rs) {
		var completed, tail plotter.XYs
		for _, r := range rs {
			if seriesName(r.Target, r.Config) != name {
				continue
			}
			completed = append(completed, plotter.XY{X: r.Rate, Y: r.Achieved})
			if r.ProbeP99 > 0 && !math.IsNaN(r.ProbeP99) {
				tail = append(tail, plotter.XY{X: r.Rate, Y: r.ProbeP99})
			}
			top = max(top, r.Rate, r.Achieved)
		}
		if err := addSeries(done, name, i, completed); err != nil {
			return err
		}
		if err := addSeries(p99, name, i, tail); err != nil {
			return err
		}
	}
	// Completed = offered: where a server keeps up.
	ideal, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: top, Y: top}})
	if err != nil {
		return err
	}
	ideal.Color, ideal.Dashes = color.Gray{Y: 128}, []vg.Length{vg.Points(4), vg.Points(4)}
	done.Add(ideal)
	done.Legend.Add("completed = offered", ideal)
	done.Y.Min = 0
	for _, p := range []*plot.Plot{done, p99} {
		p.X.Min, p.X.Max = 0, top
	}
	p99.Y.Min, p99.Y.Max = logRange(p99Bounds(rs))

	const w, h = 22 * vg.Centimeter, 26 * vg.Centimeter
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Centimeter / 2, PadBottom: vg.Centimeter / 2, PadLeft: vg.Centimeter / 2, PadRight: vg.Centimeter / 2}
	plots := [][]*plot.Plot{{done}, {p99}}
	svg := vgsvg.New(w, h)
	png := vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	for _, c := range []vg.CanvasWriterTo{svg, png} {
		dc := draw.New(c)
		for j, row := range plot.Align(plots, tiles, dc) {
			plots[j][0].Draw(row[0])
		}
	}
	if err := writeTo(base+".svg", svg); err != nil {
		return err
	}
	return writeTo(base+".png", png)
}

// p99Bounds is the lowest and highest p99 that is drawn (0, 0 if none).
func p99Bounds(rs []stepResult) (lo, hi float64) {
	for _, r := range rs {
		if v := r.ProbeP99; v > 0 && !math.IsNaN(v) {
			if lo == 0 || v < lo {
				lo = v
			}
			hi = max(hi, v)
		}
	}
	return lo, hi
}

// logRange is a log axis's range around [lo, hi], with room on both sides. The
// plotting library widens an axis of one value by 1 either side, and gives an axis
// with no value 0 as its end: below zero on a log scale, both panic.
func logRange(lo, hi float64) (float64, float64) {
	if lo <= 0 || hi <= 0 {
		return 0.1, 10 // no p99 (the probe was off): an empty axis around a millisecond
	}
	return lo / 1.5, hi * 1.5
}

// addSeries adds one configuration's points and the line through the mean at each rate.
func addSeries(p *plot.Plot, name string, i int, pts plotter.XYs) error {
	if len(pts) == 0 {
		return nil
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return fmt.Errorf("while plotting %s: %w", name, err)
	}
	s.Color, s.Shape = plotutil.Color(i), plotutil.Shape(i)
	l, err := plotter.NewLine(meanByX(pts))
	if err != nil {
		return fmt.Errorf("while plotting %s: %w", name, err)
	}
	l.Color = plotutil.Color(i)
	p.Add(s, l)
	p.Legend.Add(name, s, l)
	return nil
}

// meanByX averages the points of equal x, in order of x.
func meanByX(pts plotter.XYs) plotter.XYs {
	sum, n := map[float64]float64{}, map[float64]int{}
	for _, p := range pts {
		sum[p.X] += p.Y
		n[p.X]++
	}
	var out plotter.XYs
	for x, s := range sum {
		out = append(out, plotter.XY{X: x, Y: s / float64(n[x])})
	}
	slices.SortFunc(out, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
	return out
}

// seriesOrder lists the server configurations in order of first appearance.
func seriesOrder(rs []stepResult) []string {
	var out []string
	for _, r := range rs {
		if n := seriesName(r.Target, r.Config); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func writeTo(path string, w io.WriterTo) error {
	f, err := os.Create(filepath.Clean(path))
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("while writing %s: %w", path, err)
	}
	return f.Close()
}

// ticks125 marks a log axis at 1, 2 and 5 times each power of ten: a p99 axis spans
// few decades, where powers of ten alone leave one or two labels.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	if lo <= 0 || hi <= lo {
		return ts
	}
	for p := math.Pow(10, math.Floor(math.Log10(lo))); p <= hi; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := p * m; v >= lo && v <= hi {
				ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	return ts
}
