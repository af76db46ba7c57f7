package views

import (
	"context"
	"github.com/throughline/throughline/domain"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAxisLabels(t *testing.T) {
	for _, tc := range []struct {
		v, step float64
		want    string
	}{{10, 5, "10"}, {100, 50, "100"}, {0, 5, "0"}, {0.035, 0.005, "0.035"}, {0.03, 0.005, "0.03"}, {2.5, 0.5, "2.5"}, {math.Copysign(0, -1), 1, "0"}} {
		if got := formatValue(tc.v, tc.step); got != tc.want {
			t.Errorf("formatValue(%v, %v) = %q; want %q", tc.v, tc.step, got, tc.want)
		}
	}
	for raw, want := range map[float64]float64{0.7: 1, 1.3: 2, 3: 5, 7: 10, 0.013: 0.02} {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v; want %v", raw, got, want)
		}
	}
}

func day(d int) time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }

func pts(vs ...float64) []TimePoint {
	var out []TimePoint
	for i, v := range vs {
		if math.IsNaN(v) {
			out = append(out, GapAt(day(7*i)))
		} else {
			out = append(out, TimePoint{At: day(7 * i), Value: v})
		}
	}
	return out
}

// A period without data breaks the line and is listed empty, never as 0.
func TestGapBreaksTheLine(t *testing.T) {
	gap := math.NaN()
	for _, tc := range []struct {
		name     string
		points   []TimePoint
		subpaths int
		dots     int
		empty    bool
	}{
		{"no gaps", pts(1, 2, 3), 1, 3, false},
		{"gap in the middle", pts(1, 2, gap, 3, 4), 2, 4, false},
		{"leading gaps", pts(gap, gap, 3, 4), 1, 2, false},
		{"a point alone between gaps", pts(1, 2, gap, 5, gap, 3), 3, 4, false},
		{"only gaps", pts(gap, gap), 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := LineChart{Title: "x", Points: tc.points}.geom()
			if g.Empty != tc.empty {
				t.Fatalf("empty = %v; want %v", g.Empty, tc.empty)
			}
			if n := strings.Count(g.Path, "M"); n != tc.subpaths {
				t.Errorf("path %q has %d pieces; want %d", g.Path, n, tc.subpaths)
			}
			if len(g.Dots) != tc.dots {
				t.Errorf("%d dots; want %d", len(g.Dots), tc.dots)
			}
		})
	}
	// A gap does not pull the axis to zero: its value is not data.
	g := LineChart{Title: "x", Points: pts(50, gap, 60)}.geom()
	for _, tk := range g.YTicks {
		if tk.Label == "-10" {
			t.Errorf("axis reaches below zero for a gap: %v", g.YTicks)
		}
	}
}

func TestGapIsAnEmptyCell(t *testing.T) {
	c := LineChart{Title: "Lead time", Unit: " d", Points: pts(1.5, math.NaN(), 2)}
	var got []string
	for _, p := range c.Points {
		got = append(got, pointText(p, c.Unit))
	}
	if want := []string{"1.5 d", "—", "2 d"}; !slices.Equal(got, want) {
		t.Errorf("cells %q; want %q", got, want)
	}
	bars := StackedBars{Labels: []string{"Jan", "Feb", "Mar"}, NoData: []bool{true, false, false},
		Series: []BarSeries{{Name: "feature", Class: "bar-feature", Values: []float64{0, 2, 0}}}}
	got = nil
	for i := range bars.Labels {
		got = append(got, bars.valueText(bars.Series[0], i))
	}
	if want := []string{"—", "2", "0"}; !slices.Equal(got, want) {
		t.Errorf("bar cells %q; want %q", got, want)
	}
	nodata := 0
	for _, b := range bars.geom().Bars {
		if strings.HasPrefix(b.Title, "Jan") && b.Class != "bar-nodata" {
			t.Errorf("a bar is drawn for a period without data: %+v", b)
		}
		if b.Class == "bar-nodata" {
			nodata++
		}
	}
	if nodata != 1 {
		t.Errorf("%d periods drawn as without data; want 1", nodata)
	}
}

func tickLabels(ts []tick) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Label)
	}
	return out
}

// Axes of counts, rates and durations start at zero, and reach below it
// only for values below it (key-result progress under the baseline).
func TestValueAxisIncludesZero(t *testing.T) {
	for _, tc := range []struct {
		name         string
		points       []TimePoint
		refs         []RefLine
		bottom       string
		topAtOrAbove float64
	}{
		{"lead time 1.1–1.25 d", pts(1.1, 1.25, 1.2), nil, "0", 1.25},
		{"change failure rate 8.5–10.5 %", pts(8.5, 10.5), nil, "0", 10.5},
		{"all zero", pts(0, 0), nil, "0", 0},
		{"progress below the baseline", pts(-35, -10, 20), []RefLine{{Value: 100}, {Value: 0}}, "-50", 100},
		{"progress past the target", pts(40, 130), []RefLine{{Value: 100}, {Value: 0}}, "0", 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, small := range []bool{false, true} {
				g := LineChart{Points: tc.points, Refs: tc.refs, Small: small}.geom()
				if got := g.YTicks[0].Label; got != tc.bottom {
					t.Errorf("small=%v: axis starts at %q; want %q (%v)", small, got, tc.bottom, tickLabels(g.YTicks))
				}
				if g.Hi < tc.topAtOrAbove || g.Lo > 0 {
					t.Errorf("small=%v: axis %v..%v leaves out data up to %v", small, g.Lo, g.Hi, tc.topAtOrAbove)
				}
				for _, d := range g.Dots {
					if d.Y < g.Top-0.01 || d.Y > g.H-g.Bot+0.01 {
						t.Errorf("small=%v: a point is drawn outside the plot: %+v", small, d)
					}
				}
			}
		})
	}
	// A spark line's box bottom is zero: a steady 2.9 a day is drawn high
	// up, not across the middle.
	v1, v2 := 2.8, 3.0
	_, _, y, _, ok := sparkPath([]Point{{Value: &v1}, {Value: &v2}}, 240, 40)
	if !ok || y > 10 {
		t.Errorf("spark line ends at y=%v of 40; want near the top, measured from zero", y)
	}
}

// Charts given one range draw one scale, whatever their own values.
func TestSharedScale(t *testing.T) {
	a := LineChart{Points: pts(1, 2), Small: true}
	b := LineChart{Points: pts(10, 40), Small: true}
	empty := LineChart{Points: pts(math.NaN()), Small: true}
	ShareY(&a, &b, &empty)
	ga, gb := a.geom(), b.geom()
	if !slices.Equal(tickLabels(ga.YTicks), tickLabels(gb.YTicks)) || ga.AxisW != gb.AxisW {
		t.Errorf("panels differ: %v vs %v", tickLabels(ga.YTicks), tickLabels(gb.YTicks))
	}
	if ga.Hi < 40 {
		t.Errorf("shared axis tops at %v; want at least 40", ga.Hi)
	}
	if !empty.geom().Empty {
		t.Error("a panel without data draws a chart")
	}
	// The same value sits at the same height in each panel.
	if ya, yb := ga.y(2), gb.y(2); ya != yb {
		t.Errorf("2 at y=%v and y=%v", ya, yb)
	}
	x := LineChart{Points: pts(1, 2), XFrom: day(-30), XTo: day(60)}
	y := LineChart{Points: pts(5, 6, 7, 8), XFrom: day(-30), XTo: day(60)}
	if gx, gy := x.geom(), y.geom(); !slices.Equal(tickLabels(gx.XTicks), tickLabels(gy.XTicks)) {
		t.Errorf("time axes differ: %v vs %v", tickLabels(gx.XTicks), tickLabels(gy.XTicks))
	}

	bars := []StackedBars{
		{Labels: []string{"Jan", "Feb"}, Series: []BarSeries{{Values: []float64{1, 2}}}},
		{Labels: []string{"Jan", "Feb"}, Series: []BarSeries{{Values: []float64{10, 25}}}},
	}
	ShareBarsY(&bars[0], &bars[1])
	if b0, b1 := bars[0].geom(), bars[1].geom(); !slices.Equal(tickLabels(b0.YTicks), tickLabels(b1.YTicks)) || b0.Hi < 25 {
		t.Errorf("bar panels differ: %v vs %v", tickLabels(b0.YTicks), tickLabels(b1.YTicks))
	}
}

func TestTimeAxisLabels(t *testing.T) {
	utc := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	weekly := func(from, to time.Time) []TimePoint {
		var out []TimePoint
		for d := from; !d.After(to); d = d.AddDate(0, 0, 7) {
			out = append(out, TimePoint{At: d, Value: 1})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		chart LineChart
		check func(labels []string) string
	}{
		{"two years show their years", LineChart{Points: weekly(utc(2024, 12, 30), utc(2026, 11, 30))}, func(ls []string) string {
			for _, y := range []string{"2025", "2026"} {
				if !slices.ContainsFunc(ls, func(l string) bool { return strings.Contains(l, y) }) {
					return "no label shows " + y
				}
			}
			return ""
		}},
		{"two years, small", LineChart{Small: true, Points: weekly(utc(2024, 12, 30), utc(2026, 11, 30))}, func(ls []string) string {
			if !slices.ContainsFunc(ls, func(l string) bool { return strings.Contains(l, "2026") }) {
				return "no label shows 2026"
			}
			return ""
		}},
		{"one point: days around it, no hours", LineChart{Points: []TimePoint{{At: utc(2026, 3, 10), Value: 4}}}, func(ls []string) string {
			if len(ls) < 2 {
				return "fewer than two labels"
			}
			for _, l := range ls {
				if strings.Contains(l, ":") {
					return "an hour-of-day label " + l
				}
			}
			if !slices.Contains(ls, "10 Mar") {
				return "the point's own day is not labelled"
			}
			return ""
		}},
		{"two days apart", LineChart{Points: []TimePoint{{At: utc(2026, 3, 10), Value: 4}, {At: utc(2026, 3, 11), Value: 5}}}, func(ls []string) string {
			for _, l := range ls {
				if strings.Contains(l, ":") {
					return "an hour-of-day label " + l
				}
			}
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.chart.geom()
			var ls []string // the labels a phone shows
			for _, tk := range g.XTicks {
				if tk.From == 0 {
					ls = append(ls, tk.Label)
				}
			}
			if msg := tc.check(ls); msg != "" {
				t.Errorf("%s: %q", msg, ls)
			}
			// The labels stay apart and inside the plot at each width,
			// those shown there.
			for level, width := range g.widths {
				plot := struct{ w float64 }{g.plotAt(width)}
				right := math.Inf(-1)
				for _, tk := range g.XTicks {
					if tk.From > level || tk.To < level {
						continue
					}
					x, w := tk.Pos/100*plot.w, textWidth(tk.Label)
					left := map[string]float64{"start": x, "middle": x - w/2, "end": x - w}[tk.Anchor]
					if left < right || left < 0 || left+w > plot.w+0.01 {
						t.Errorf("label %q at %.0f px of %.0f collides or leaves the plot", tk.Label, x, plot.w)
					}
					right = left + w
				}
			}
		})
	}
}

func TestBarsOfOnePoint(t *testing.T) {
	g := StackedBars{Labels: []string{"Q3 2026"}, Series: []BarSeries{{Values: []float64{3}}}}.geom()
	if len(g.Bars) != 1 || g.Bars[0].PxW == 0 || g.Bars[0].PxW > maxBarW {
		t.Errorf("a lone bar is %+v; want at most %v px wide", g.Bars, maxBarW)
	}
	if g.YTicks[0].Label != "0" {
		t.Errorf("bars start at %q", g.YTicks[0].Label)
	}
}

// Every stage of the aging chart is named, inside the plot at its
// narrowest, on two rows where one is too tight, and whole on one row where
// the chart is wide.
func TestAgingStagesAllLabelled(t *testing.T) {
	stages := []string{"Plan", "Code", "Build", "Test", "Release", "Deploy", "Operate", "Monitor"}
	g := AgingChart{Stages: stages, Points: []AgingPoint{{Stage: 7, AgeDays: 14, Label: "CHK-15"}}}.geom()
	for _, view := range []struct {
		name  string
		wide  bool
		plotW float64
	}{{"phone", false, g.minPlot()}, {"wide", true, g.plotAt(wideCategories)}} {
		var shown []tick
		for _, tk := range g.XTicks {
			if tk.Wide == view.wide {
				shown = append(shown, tk)
			}
		}
		if len(shown) != len(stages) {
			t.Fatalf("%s: %d stage labels; want %d", view.name, len(shown), len(stages))
		}
		if view.wide && shown[7].Label != "Monitor" {
			t.Errorf("wide: the last stage reads %q", shown[7].Label)
		}
		for _, row := range []bool{false, true} {
			right := math.Inf(-1)
			for _, tk := range shown {
				if tk.Lower != row {
					continue
				}
				left := map[string]float64{"start": 0, "middle": -0.5, "end": -1}[tk.Anchor]*textWidth(tk.Label) + tk.Pos/100*view.plotW
				if left < right+labelGap-0.01 || left < 0 || left+textWidth(tk.Label) > view.plotW+0.01 {
					t.Errorf("%s: stage %q collides or leaves the plot (%v)", view.name, tk.Label, tickLabels(shown))
				}
				right = left + textWidth(tk.Label)
			}
		}
	}
}

// A deployment marker's label keeps clear of the target's label.
func TestMarkerLabelClearsReferenceLabels(t *testing.T) {
	c := LineChart{Points: pts(0.031, 0.035, 0.036, 0.0358), Refs: []RefLine{{Label: "baseline", Value: 0.031}, {Label: "target", Value: 0.036}},
		Markers: []Marker{{Label: "first production deployment", At: day(20)}}}
	g := c.geom()
	m := g.Markers[0]
	if !m.Show {
		t.Fatal("the marker's label is not drawn")
	}
	px, w := m.X/100*g.minPlot(), textWidth(m.Label)
	left := map[string]float64{"start": px + 4, "end": px - 4 - w}[m.Anchor]
	for _, r := range g.Refs {
		rw := textWidth(r.Label)
		rl := g.minPlot() - 4 - rw
		if left < rl+rw && rl < left+w && m.LabelY > r.LabelY-axisFont && m.LabelY-axisFont < r.LabelY {
			t.Errorf("marker label at y=%v over %q at y=%v", m.LabelY, r.Label, r.LabelY)
		}
	}
}

// A progress bar clamps its drawing to 0–100 %, never the number: below
// the baseline it is empty, past the target full.
func TestProgressBarClampsOnlyItsDrawing(t *testing.T) {
	for p, want := range map[float64]string{-0.35: "w0", 0: "w0", 0.48: "w50", 1: "w100", 1.3: "w100"} {
		if got := progressWidth(p); got != want {
			t.Errorf("progressWidth(%v) = %q; want %q", p, got, want)
		}
	}
	var b strings.Builder
	p := -0.35
	if err := progressBar(domain.KRReading{Progress: &p}, true).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "−35 %") || !strings.Contains(b.String(), `aria-valuenow="0"`) || !strings.Contains(b.String(), "w0") {
		t.Errorf("progress below the baseline renders %s", b.String())
	}
}
