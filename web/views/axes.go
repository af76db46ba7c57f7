package views

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Charts are drawn in CSS pixels, never scaled: a column of value labels
// beside a plot as wide as its box. Heights are fixed pixels; horizontal
// positions are percentages of the plot's width (attributes: our CSP
// forbids inline styles), and lines and areas sit in an inner SVG stretched
// to the plot. So text keeps its size at every width, and the labels are
// chosen to fit the narrowest plot a chart is drawn at.

const (
	axisFont  = 12.0 // px, .chart-frame text in app.css
	glyphW    = 7.5  // a generous average glyph width at axisFont (DejaVu Sans: 7)
	labelGap  = 10.0 // px between neighbouring labels
	plotUnits = 1000 // width of the inner SVG's user space: x% × 10
	// wideCategories is the chart width (px) from which category labels
	// that need two rows on a phone show whole on one (app.css).
	wideCategories = 640
)

// Range is a span of values. Charts given the same Range share one scale.
type Range struct{ Lo, Hi float64 }

// with widens r to include v.
func (r Range) with(v float64) Range {
	return Range{math.Min(r.Lo, v), math.Max(r.Hi, v)}
}

// frame is what every chart shares: its size, its value axis and the labels
// along its time or category axis.
type frame struct {
	H, Top, Bot float64 // px; the plot runs from Top to H-Bot
	AxisW       float64 // px, the column of value labels
	Small       bool
	YTicks      []tick // Pos in px from the top
	XTicks      []tick // Pos in % of the plot's width
	Lo, Hi      float64
	// widths are the chart widths (px) from which each level of time
	// labels shows, the narrowest first: a phone's, then wider (app.css).
	widths []float64
}

// minPlot is the narrowest plot, which the x labels must fit. It reckons
// with a value column of at least five glyphs, so that charts of one time
// span label it alike whatever their values.
func (f *frame) minPlot() float64 { return f.plotAt(f.widths[0]) }

func (f *frame) plotAt(width float64) float64 { return width - math.Max(f.AxisW, 5*glyphW+10) }

func newFrame(h, top, bot float64, small bool) frame {
	// A chart is at least 300 px wide on a 390-px phone; a small multiple
	// is at least 250 px wide, less its padding. Wider charts (the
	// container queries in app.css) show minor time labels between.
	f := frame{H: h, Top: top, Bot: bot, Small: small, widths: []float64{300, 480, 900}}
	if small {
		f.widths = []float64{225, 340}
	}
	return f
}

// y places a value on the plot.
func (f *frame) y(v float64) float64 {
	return f.H - f.Bot - (v-f.Lo)/(f.Hi-f.Lo)*(f.H-f.Top-f.Bot)
}

// setValueAxis chooses the value axis for values spanning r: always from
// zero or below, rounded out to steps of 1, 2, 2.5 or 5, about n of them.
// The same r gives the same axis, so charts that share a Range align.
func (f *frame) setValueAxis(r Range, n float64, suffix string) {
	r = r.with(0)
	if r.Hi == r.Lo {
		r.Hi = r.Lo + 1
	}
	step := niceStep((r.Hi - r.Lo) / n)
	f.Lo = math.Floor(r.Lo/step+1e-9) * step
	f.Hi = math.Ceil(r.Hi/step-1e-9) * step
	widest := 0
	for v := f.Lo; v <= f.Hi+step/2; v += step {
		label := formatValue(v, step) + suffix
		widest = max(widest, len([]rune(label)))
		f.YTicks = append(f.YTicks, tick{Pos: f.y(v), Value: v, Label: label, Zero: math.Abs(v) < step/2 && f.Lo < 0})
	}
	f.AxisW = math.Ceil(float64(widest)*glyphW) + 10
}

// fits says whether labels at positions (% of the plot) stay apart on the
// narrowest plot; it sets each label's anchor so none leaves the plot.
func (f *frame) fits(ticks []tick) bool { return f.fitsAt(ticks, f.minPlot()) }

// fitsAt is fits on a plot w px wide.
func (f *frame) fitsAt(ticks []tick, w float64) bool {
	prevRight := math.Inf(-1)
	for i := range ticks {
		left := anchorAt(&ticks[i], w)
		if left-prevRight < labelGap {
			return false
		}
		prevRight = left + textWidth(ticks[i].Label)
	}
	return true
}

// anchor sets a label's text-anchor so that it stays within the plot,
// and returns where its left edge falls on the narrowest plot.
func (f *frame) anchor(t *tick) float64 { return anchorAt(t, f.minPlot()) }

func anchorAt(t *tick, plotW float64) float64 {
	x, w := t.Pos/100*plotW, textWidth(t.Label)
	switch {
	case x+w/2 > plotW:
		t.Anchor = "end"
		return x - w
	case x-w/2 < 0:
		t.Anchor = "start"
		return x
	}
	t.Anchor = "middle"
	return x - w/2
}

// textWidth estimates a label's drawn width; an ellipsis is wide.
func textWidth(s string) float64 {
	return float64(len([]rune(s))+strings.Count(s, "…")) * glyphW
}

// timeStep is a spacing of time-axis ticks.
type timeStep struct{ days, months int }

var timeSteps = []timeStep{{1, 0}, {2, 0}, {7, 0}, {14, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 6}, {0, 12}, {0, 24}, {0, 60}, {0, 120}}

// setTimeAxis labels the time axis t0..t1 (UTC), for each width a chart
// may be drawn at, with the finest calendar step whose labels fit: days,
// Mondays, month starts or years. A label shows in the band of widths
// From..To (container queries in app.css). Years are shown where they
// change, and on the first label of an axis that spans more than one.
func (f *frame) setTimeAxis(t0, t1 time.Time) {
	t0, t1 = t0.UTC(), t1.UTC()
	span := float64(t1.Sub(t0))
	var prev []int // this level's labels in f.XTicks, to extend to the next
	for level, width := range f.widths {
		var ticks []tick
		for _, st := range timeSteps {
			ticks = nil
			for i, t := range stepTimes(t0, t1, st) {
				label, year := timeLabel(t, st, i == 0, t0.Year() != t1.Year())
				ticks = append(ticks, tick{Pos: float64(t.Sub(t0)) / span * 100, Label: label, Year: year, Banded: true, From: level, To: level})
			}
			if len(ticks) > 0 && f.fitsAt(ticks, f.plotAt(width)) {
				break
			}
		}
		if sameTicks(f.XTicks, prev, ticks) {
			for _, i := range prev {
				f.XTicks[i].To = level
			}
			continue
		}
		prev = prev[:0]
		for _, t := range ticks {
			prev = append(prev, len(f.XTicks))
			f.XTicks = append(f.XTicks, t)
		}
	}
}

// sameTicks says whether the labels at idx in all read the same as ticks,
// at the same places and anchors.
func sameTicks(all []tick, idx []int, ticks []tick) bool {
	if len(idx) != len(ticks) {
		return false
	}
	for j, i := range idx {
		a, b := all[i], ticks[j]
		if a.Label != b.Label || a.Anchor != b.Anchor || math.Abs(a.Pos-b.Pos) > 1e-9 {
			return false
		}
	}
	return true
}

// stepTimes are the aligned instants of a step within t0..t1.
func stepTimes(t0, t1 time.Time, st timeStep) []time.Time {
	var out []time.Time
	if st.months == 0 {
		var t time.Time
		if st.days >= 7 {
			t = time.Date(t0.Year(), t0.Month(), t0.Day(), 0, 0, 0, 0, time.UTC)
			for t.Before(t0) || t.Weekday() != time.Monday {
				t = t.AddDate(0, 0, 1)
			}
		} else {
			// Days count from the midnight nearest the middle, so that the
			// day of a chart's only point is labelled.
			mid := t0.Add(t1.Sub(t0) / 2).Add(12 * time.Hour)
			t = time.Date(mid.Year(), mid.Month(), mid.Day(), 0, 0, 0, 0, time.UTC)
			for !t.AddDate(0, 0, -st.days).Before(t0) {
				t = t.AddDate(0, 0, -st.days)
			}
		}
		for ; !t.After(t1); t = t.AddDate(0, 0, st.days) {
			out = append(out, t)
		}
		return out
	}
	t := time.Date(t0.Year(), t0.Month(), 1, 0, 0, 0, 0, time.UTC)
	if t.Before(t0) {
		t = t.AddDate(0, 1, 0)
	}
	for (t.Year()*12+int(t.Month())-1)%st.months != 0 {
		t = t.AddDate(0, 1, 0)
	}
	for ; !t.After(t1); t = t.AddDate(0, st.months, 0) {
		out = append(out, t)
	}
	return out
}

// timeLabel writes a tick's label, and says whether it names the year.
func timeLabel(t time.Time, st timeStep, first, multiYear bool) (string, bool) {
	switch {
	case st.months >= 12:
		return t.Format("2006"), true
	case st.months > 0:
		if t.Month() == time.January || first {
			return t.Format("Jan 2006"), true
		}
		return t.Format("Jan"), false
	case multiYear && (first || t.YearDay() <= st.days):
		return t.Format("2 Jan 2006"), true
	default:
		return t.Format("2 Jan"), false
	}
}

// setCategoryAxis labels n equal slots. Unless every label must show, it
// shows every k-th with the smallest k that fits; otherwise, or when even
// one does not fit, labels alternate between two rows, cut short if need
// be (the full label is the tooltip), and a wide chart shows them whole on
// one row instead where they fit.
func (f *frame) setCategoryAxis(labels []string, every bool) {
	n := len(labels)
	pos := func(i int) float64 { return (float64(i) + 0.5) / float64(n) * 100 }
	for k := 1; k <= n; k++ {
		var ticks []tick
		for i := 0; i < n; i += k {
			ticks = append(ticks, tick{Pos: pos(i), Label: labels[i]})
		}
		if f.fits(ticks) {
			f.XTicks = ticks
			return
		}
		if every {
			break
		}
	}
	var whole []tick
	for i, l := range labels {
		whole = append(whole, tick{Pos: pos(i), Label: l, Wide: true})
	}
	narrow := false
	if f.fitsAt(whole, f.plotAt(wideCategories)) {
		f.XTicks, narrow = whole, true
	}
	room := 2*f.minPlot()/float64(n) - labelGap
	prevRight := [2]float64{math.Inf(-1), math.Inf(-1)}
	for i, l := range labels {
		t := tick{Pos: pos(i), Label: fitText(l, room), Full: l, Lower: i%2 == 1, Narrow: narrow}
		left := f.anchor(&t)
		if over := prevRight[i%2] + labelGap - left; over > 0 {
			// Pushed in from the edge onto its neighbour: shorter still.
			t.Label = fitText(l, textWidth(t.Label)-over)
			left = f.anchor(&t)
		}
		prevRight[i%2] = left + textWidth(t.Label)
		f.XTicks = append(f.XTicks, t)
	}
	// Room for the second row, and the value axis moved up to match.
	f.Bot += axisFont + 3
	for i := range f.YTicks {
		f.YTicks[i].Pos = f.y(f.YTicks[i].Value)
	}
}

// fitText cuts a label to a width, with an ellipsis.
func fitText(s string, w float64) string {
	r := []rune(s)
	if textWidth(s) <= w {
		return s
	}
	n := max(1, int(w/glyphW)-2) // and the ellipsis, two glyphs wide
	if n >= len(r) {
		return s
	}
	return strings.TrimSpace(string(r[:n])) + "…"
}

// pc writes a percentage for an SVG attribute.
func pc(p float64) string { return fmt.Sprintf("%.2f%%", p) }

// pu writes a plot x (a percentage) in the inner SVG's user units.
func pu(p float64) string { return fmt.Sprintf("%.1f", p*plotUnits/100) }

// niceStep rounds a raw step up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// formatValue writes an axis value with as many decimals as the step needs.
func formatValue(v, step float64) string {
	dec := 0
	for dec < 8 {
		s := step * math.Pow(10, float64(dec))
		if math.Abs(s-math.Round(s)) < 1e-6 {
			break
		}
		dec++
	}
	s := fmt.Sprintf("%.*f", dec, v)
	if strings.Contains(s, ".") {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
