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
	W, H                  float64
	Left, Right, Top, Bot float64
	Path                  string
	Dots                  []dot
	YTicks                []tick
	XTicks                []tick
	Refs                  []refGeom
	Markers               []markerGeom
	Bands                 []bandGeom
	Empty                 bool
}

type dot struct{ X, Y float64 }

type tick struct {
	Pos    float64
	Label  string
	Anchor string // text-anchor of an x label: the outer ones stay inside
}

type refGeom struct {
	Y      float64
	Label  string
	Class  string
	LabelY float64
}

type markerGeom struct {
	X     float64
	Label string
	Show  bool // labels are drawn only where they do not collide
}

type bandGeom struct {
	Y, H  float64
	Class string
	Label string
}

func (c LineChart) geom() chartGeom {
	g := chartGeom{W: 720, H: 240, Left: 56, Right: 16, Top: 16, Bot: 32}
	yTicks, xTicks := 4.0, 6
	if c.Small {
		g = chartGeom{W: 320, H: 150, Left: 44, Right: 10, Top: 10, Bot: 26}
		yTicks, xTicks = 3, 3
	}
	if !hasData(c.Points) {
		g.Empty = true
		return g
	}
	t0, t1 := c.Points[0].At, c.Points[0].At
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range c.Points {
		if p.At.Before(t0) {
			t0 = p.At
		}
		if p.At.After(t1) {
			t1 = p.At
		}
		if !p.Gap {
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		}
	}
	for _, r := range c.Refs {
		lo, hi = math.Min(lo, r.Value), math.Max(hi, r.Value)
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
	if hi == lo {
		hi, lo = hi+1, lo-1
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	if lo < 0 && minValue(c.Points) >= 0 {
		lo = 0
	}
	step := niceStep((hi - lo) / yTicks)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step) * step
	if t1.Equal(t0) {
		t1 = t0.Add(24 * time.Hour)
	}
	x := func(t time.Time) float64 {
		return g.Left + float64(t.Sub(t0))/float64(t1.Sub(t0))*(g.W-g.Left-g.Right)
	}
	y := func(v float64) float64 {
		return g.H - g.Bot - (v-lo)/(hi-lo)*(g.H-g.Top-g.Bot)
	}
	var b strings.Builder
	for i, p := range c.Points {
		if p.Gap {
			continue
		}
		// The pen lifts over a gap; a point alone between gaps keeps its dot.
		joined := i > 0 && !c.Points[i-1].Gap
		if joined {
			fmt.Fprintf(&b, " L%.1f %.1f", x(p.At), y(p.Value))
		} else {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "M%.1f %.1f", x(p.At), y(p.Value))
		}
		alone := !joined && (i+1 == len(c.Points) || c.Points[i+1].Gap)
		if len(c.Points) <= 60 || alone {
			g.Dots = append(g.Dots, dot{x(p.At), y(p.Value)})
		}
	}
	g.Path = b.String()
	for v := lo; v <= hi+step/2; v += step {
		g.YTicks = append(g.YTicks, tick{Pos: y(v), Label: formatValue(v, step)})
	}
	days := t1.Sub(t0).Hours() / 24
	n := xTicks
	for i := 0; i <= n; i++ {
		t := t0.Add(time.Duration(float64(t1.Sub(t0)) * float64(i) / float64(n)))
		label := t.UTC().Format("2 Jan")
		if days < 3 {
			label = t.UTC().Format("15:04")
		}
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case n:
			anchor = "end"
		}
		g.XTicks = append(g.XTicks, tick{Pos: x(t), Label: label, Anchor: anchor})
	}
	for i, r := range c.Refs {
		ry := y(r.Value)
		ly := ry - 5
		// Keep labels of nearby lines apart: the lower line labels below it.
		for _, o := range c.Refs[:i] {
			if oy := y(o.Value); math.Abs(oy-ry) < 14 && ry >= oy {
				ly = ry + 13
			}
		}
		g.Refs = append(g.Refs, refGeom{Y: ry, Label: r.Label, Class: r.Class, LabelY: ly})
	}
	lastLabel := math.Inf(-1)
	for _, m := range c.Markers {
		mx := x(m.At)
		show := mx-lastLabel > 90
		if show {
			lastLabel = mx
		}
		g.Markers = append(g.Markers, markerGeom{X: mx, Label: m.Label, Show: show})
	}
	for _, band := range c.Bands {
		from, to := math.Max(band.From, lo), math.Min(band.To, hi)
		if to <= from {
			continue
		}
		g.Bands = append(g.Bands, bandGeom{Y: y(to), H: y(from) - y(to), Class: band.Class, Label: band.Label})
	}
	return g
}

func minValue(ps []TimePoint) float64 {
	m := math.Inf(1)
	for _, p := range ps {
		if !p.Gap {
			m = math.Min(m, p.Value)
		}
	}
	return m
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

// niceStep rounds a raw step to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// formatValue writes an axis value with as many decimals as the step needs.
func formatValue(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step)))
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
