package rolloutlab

import (
	"fmt"
	"image/color"
	"os"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot writes a PNG of the rollout: requests per second ok and failed
// (top), members ONLINE and draining (bottom), with the restart and the
// settled moment marked; x is seconds since the load started. Only whole
// seconds of load are drawn: the first and last are partial (the load
// started and stopped within them) and would show as false dips.
func (r Report) Plot(path string, loadStart, restart time.Time) error {
	x := func(t time.Time) float64 { return t.Sub(loadStart).Seconds() }
	var ok, failed, online, draining plotter.XYs
	for _, s := range WholeSeconds(r.Seconds, loadStart, r.LoadEnd) {
		f := 0
		for _, v := range s.Failed {
			f += v
		}
		ok = append(ok, plotter.XY{X: x(s.At), Y: float64(s.OK)})
		failed = append(failed, plotter.XY{X: x(s.At), Y: float64(f)})
	}
	for _, s := range r.Samples {
		if s.At.Before(loadStart) {
			continue
		}
		online = append(online, plotter.XY{X: x(s.At), Y: float64(s.Online)})
		draining = append(draining, plotter.XY{X: x(s.At), Y: float64(s.Draining)})
	}
	top := plot.New()
	top.Title.Text = fmt.Sprintf("%s: %d pods, %d req/s — %d ok, %d failed, %d connections cut",
		r.Scenario, r.Pods, r.Rate, r.Totals.OK, r.Totals.Failed, r.Totals.ConnCut)
	top.Y.Label.Text = "requests/s"
	bottom := plot.New()
	bottom.Y.Label.Text = "members"
	bottom.X.Label.Text = "seconds since the load started"
	// The rollout: a grey band from the restart to the settled moment,
	// drawn first so the lines stay on top.
	for _, pm := range []struct {
		p    *plot.Plot
		ymax float64
	}{{top, maxY(ok, failed)}, {bottom, maxY(online, draining)}} {
		lo, hi := x(restart), x(restart.Add(r.Duration))
		band, err := plotter.NewPolygon(plotter.XYs{{X: lo, Y: 0}, {X: hi, Y: 0}, {X: hi, Y: pm.ymax}, {X: lo, Y: pm.ymax}})
		if err != nil {
			return err
		}
		band.Color = color.RGBA{R: 230, G: 230, B: 230, A: 255}
		band.LineStyle.Width = 0
		pm.p.Add(band)
		pm.p.Legend.Add("rollout", band)
		pm.p.Legend.Top = true
	}
	red := color.RGBA{R: 200, A: 255}
	green := color.RGBA{G: 140, A: 255}
	blue := color.RGBA{B: 200, A: 255}
	orange := color.RGBA{R: 230, G: 140, A: 255}
	for _, l := range []struct {
		p    *plot.Plot
		name string
		xy   plotter.XYs
		c    color.Color
	}{{top, "ok", ok, green}, {top, "failed", failed, red}, {bottom, "ONLINE", online, blue}, {bottom, "draining (weight-0 members + connections of removed ones)", draining, orange}} {
		if len(l.xy) == 0 {
			continue
		}
		line, err := plotter.NewLine(l.xy)
		if err != nil {
			return err
		}
		line.Color = l.c
		line.Width = vg.Points(1.5)
		l.p.Add(line)
		l.p.Legend.Add(l.name, line)
	}
	// One time axis for both panels.
	xmax := max(top.X.Max, bottom.X.Max)
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = 0, xmax
	}
	img := vgimg.New(10*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: vg.Millimeter * 3, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WholeSeconds are the seconds that lie entirely between start and end
// (a zero end: no bound).
func WholeSeconds(seconds []Second, start, end time.Time) []Second {
	var out []Second
	for _, s := range seconds {
		if s.At.Before(start) || (!end.IsZero() && s.At.Add(time.Second).After(end)) {
			continue
		}
		out = append(out, s)
	}
	return out
}

func maxY(sets ...plotter.XYs) float64 {
	m := 1.0
	for _, xy := range sets {
		for _, p := range xy {
			m = max(m, p.Y)
		}
	}
	return m * 1.05
}
