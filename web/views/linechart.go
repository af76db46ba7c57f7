package views

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// LineChart is a server-rendered time series chart: one line, optional
// reference lines (baseline, target) and vertical markers (deployments).
type LineChart struct {
	Title   string
	Unit    string
	Points  []TimePoint
	Refs    []RefLine
	Markers []Marker
	// Bands shade value ranges behind the line (DORA tiers).
	Bands []Band
	// Small draws a compact chart for small multiples.
	Small bool
	// CSV links the chart's numbers as a download.
	CSV string
	// XFrom and XTo fix the time axis (small multiples share one); zero:
	// the points' range.
	XFrom, XTo time.Time
	// Y fixes the span of the value axis (small multiples share one, see
	// ShareY); nil: the chart's own values. The axis always includes zero.
	Y *Range
}

// TimePoint is a value at a time, or a gap: a period without data, drawn
// as a break in the line and listed empty, never as a zero.
type TimePoint struct {
	At    time.Time
	Value float64
	Gap   bool
}

// GapAt is a period without data.
func GapAt(t time.Time) TimePoint { return TimePoint{At: t, Gap: true} }

// OptionalPoint is a value at a time, or a gap where v is nil.
func OptionalPoint(t time.Time, v *float64) TimePoint {
	if v == nil {
		return GapAt(t)
	}
	return TimePoint{At: t, Value: *v}
}

// RefLine is a horizontal line at a value.
type RefLine struct {
	Label string
	Value float64
	Class string // css class: ref-baseline, ref-target
}

// Marker is a vertical line at a time.
type Marker struct {
	Label string
	At    time.Time
}

// Band is a shaded value range.
type Band struct {
	Label    string
	From, To float64
	Class    string
}

// chartGeom is the computed drawing of a LineChart.
type chartGeom struct {
	frame
	Path    string // in the plot's user units (x 0..1000, y px)
	Dots    []dot
	Refs    []refGeom
	Markers []markerGeom
	Bands   []bandGeom
	Empty   bool
}

type dot struct {
	X, Y  float64 // %, px
	Title string
}

type tick struct {
	Pos    float64
	Value  float64
	Label  string
	Full   string // the label in full, where Label is cut short
	Anchor string // text-anchor of an x label: the outer ones stay inside
	Zero   bool   // the zero line of an axis that goes below zero
	Lower  bool   // an x label on the second row
	Banded bool   // a time label, shown only in the band of widths:
	From   int    // from the chart's From-th width
	To     int    // to its To-th (frame.widths)
	Wide   bool   // shown only on a wide chart, Narrow only on others
	Narrow bool
	Year   bool // a time label that names its year
}

type refGeom struct {
	Y      float64
	Label  string
	Class  string
	LabelY float64
}

type markerGeom struct {
	X      float64 // %
	Label  string
	Show   bool // labels are drawn only where they do not collide
	Anchor string
	LabelY float64
}

// placeRefs draws the reference lines, their labels kept apart.
func (g *chartGeom) placeRefs(refs []RefLine) {
	for i, ref := range refs {
		ry := g.y(ref.Value)
		ly := ry - 5
		// Keep labels of nearby lines apart: the lower line labels below it,
		// and a line at the top labels below it too.
		for _, o := range refs[:i] {
			if oy := g.y(o.Value); math.Abs(oy-ry) < 14 && ry >= oy {
				ly = ry + 14
			}
		}
		if ly-axisFont < 0 {
			ly = ry + 14
		}
		g.Refs = append(g.Refs, refGeom{Y: ry, Label: ref.Label, Class: ref.Class, LabelY: ly})
	}
}

// placeMarkers draws the vertical markers; a label is drawn where it does
// not meet the one before, on the narrowest plot.
func (g *chartGeom) placeMarkers(markers []Marker, x func(time.Time) float64) {
	lastRight := math.Inf(-1)
	for _, m := range markers {
		mx := x(m.At)
		px, w := mx/100*g.minPlot(), textWidth(m.Label)*0.95
		anchor, left := "start", px+4
		if px+4+w > g.minPlot() {
			anchor, left = "end", px-4-w
		}
		show := left-lastRight > labelGap
		if show {
			lastRight = left + w
		}
		g.Markers = append(g.Markers, markerGeom{X: mx, Label: m.Label, Show: show, Anchor: anchor, LabelY: g.markerLabelY(left, w)})
	}
}

// markerLabelY is the first row under the plot's top where a marker label
// spanning left..left+w (px on the narrowest plot) misses the reference
// lines' labels, which sit at the plot's right end.
func (g chartGeom) markerLabelY(left, w float64) float64 {
	y := g.Top + axisFont
	for range 3 {
		clear := true
		for _, r := range g.Refs {
			rw := textWidth(r.Label)
			if left < g.minPlot()-4 && left+w > g.minPlot()-4-rw && y > r.LabelY-axisFont-2 && y-axisFont < r.LabelY+2 {
				clear = false
			}
		}
		if clear {
			break
		}
		y += axisFont + 3
	}
	return y
}

type bandGeom struct {
	Y, H  float64
	Class string
	Label string
}

// minSpan is the shortest time axis: one point, or a few days, get a week
// of days around them rather than hours.
const minSpan = 7 * 24 * time.Hour

// valueRange is the span of the chart's values and reference lines, with
// zero: a count, rate or duration is measured from zero.
func (c LineChart) valueRange() Range {
	r := Range{}
	for _, p := range c.Points {
		if !p.Gap {
			r = r.with(p.Value)
		}
	}
	for _, ref := range c.Refs {
		r = r.with(ref.Value)
	}
	return r
}

// ShareY gives charts drawn side by side one value scale: the span of all
// their values.
func ShareY(charts ...*LineChart) {
	var r *Range
	for _, c := range charts {
		if !hasData(c.Points) {
			continue
		}
		cr := c.valueRange()
		if r != nil {
			cr = cr.with(r.Lo).with(r.Hi)
		}
		r = &cr
	}
	for _, c := range charts {
		c.Y = r
	}
}

// timeSpan is the chart's time axis.
func (c LineChart) timeSpan() (time.Time, time.Time) {
	var t0, t1 time.Time
	for i, p := range c.Points {
		if i == 0 || p.At.Before(t0) {
			t0 = p.At
		}
		if i == 0 || p.At.After(t1) {
			t1 = p.At
		}
	}
	if !c.XFrom.IsZero() && c.XTo.After(c.XFrom) {
		t0, t1 = c.XFrom, c.XTo
	}
	for _, m := range c.Markers {
		if m.At.Before(t0) {
			t0 = m.At
		}
		if m.At.After(t1) {
			t1 = m.At
		}
	}
	if span := t1.Sub(t0); span < minSpan {
		t0 = t0.Add(-(minSpan - span) / 2)
		t1 = t0.Add(minSpan)
	}
	return t0, t1
}

func (c LineChart) geom() chartGeom {
	g := chartGeom{frame: newFrame(240, 12, 24, false)}
	yTicks := 4.0
	if c.Small {
		g.frame = newFrame(150, 10, 22, true)
		yTicks = 3
	}
	if !hasData(c.Points) {
		g.Empty = true
		return g
	}
	r := c.valueRange()
	if c.Y != nil {
		r = *c.Y
	}
	g.setValueAxis(r, yTicks, "")
	t0, t1 := c.timeSpan()
	g.setTimeAxis(t0, t1)
	x := func(t time.Time) float64 { return float64(t.Sub(t0)) / float64(t1.Sub(t0)) * 100 }
	var b strings.Builder
	for i, p := range c.Points {
		if p.Gap {
			continue
		}
		// The pen lifts over a gap; a point alone between gaps keeps its dot.
		joined := i > 0 && !c.Points[i-1].Gap
		if joined {
			fmt.Fprintf(&b, " L%s %.1f", pu(x(p.At)), g.y(p.Value))
		} else {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "M%s %.1f", pu(x(p.At)), g.y(p.Value))
		}
		alone := !joined && (i+1 == len(c.Points) || c.Points[i+1].Gap)
		if len(c.Points) <= 60 || alone {
			g.Dots = append(g.Dots, dot{X: x(p.At), Y: g.y(p.Value), Title: formatDay(p.At) + ": " + pointText(p, c.Unit)})
		}
	}
	g.Path = b.String()
	g.placeRefs(c.Refs)
	g.placeMarkers(c.Markers, x)
	for _, band := range c.Bands {
		from, to := math.Max(band.From, g.Lo), math.Min(band.To, g.Hi)
		if to <= from {
			continue
		}
		g.Bands = append(g.Bands, bandGeom{Y: g.y(to), H: g.y(from) - g.y(to), Class: band.Class, Label: band.Label})
	}
	return g
}

// hasData says whether any point is not a gap.
func hasData(ps []TimePoint) bool {
	for _, p := range ps {
		if !p.Gap {
			return true
		}
	}
	return false
}

// pointText writes a point's value for the numbers table; a gap is a dash.
func pointText(p TimePoint, unit string) string {
	if p.Gap {
		return "—"
	}
	return FormatNumber(p.Value) + unit
}

// FormatNumber writes a measured value compactly.
func FormatNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case a >= 1000:
		return trimZero(fmt.Sprintf("%.1f", v/1000)) + "k"
	case a >= 10:
		return trimZero(fmt.Sprintf("%.1f", v))
	case a >= 0.1:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.5f", v), "0"), ".")
	}
}
