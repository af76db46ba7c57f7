package views

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Charts of the value stream page, drawn as SVG on the server. Each keeps
// its numbers for a table beside it.

// BarSeries is one stacked layer of a bar chart.
type BarSeries struct {
	Name   string
	Class  string
	Values []float64 // one per label
}

// StackedBars is a bar chart whose bars stack several series.
type StackedBars struct {
	Title  string
	Labels []string
	Series []BarSeries
	CSV    string // download link for its numbers
	// NoData marks periods (by label index) without data: no bar and an
	// empty row, never a zero.
	NoData []bool
	// YMax is the least top of the value axis (bar charts side by side
	// share one, see ShareBarsY); the axis starts at zero.
	YMax float64
}

func (c StackedBars) noData(i int) bool { return i < len(c.NoData) && c.NoData[i] }

// valueText writes one bar segment's number for the table; a period
// without data is a dash.
func (c StackedBars) valueText(s BarSeries, i int) string {
	if c.noData(i) || i >= len(s.Values) {
		return "—"
	}
	return FormatNumber(s.Values[i])
}

type rect struct {
	X, W, Y, H float64 // X and W in % of the plot, Y and H in px
	PxW        float64 // when set, W is this many px centred on X
	Class      string
	Title      string
}

type legendItem struct {
	Name, Class string
}

type barsGeom struct {
	frame
	Bars   []rect
	Legend []legendItem
	Empty  bool
}

// maxBarW is the widest bar, in px: a few bars stay bars, not blocks.
const maxBarW = 44.0

// totals is each period's stacked height.
func (c StackedBars) totals() []float64 {
	totals := make([]float64, len(c.Labels))
	for _, s := range c.Series {
		for i, v := range s.Values {
			if i < len(totals) && !c.noData(i) {
				totals[i] += v
			}
		}
	}
	return totals
}

// ShareBarsY gives bar charts drawn side by side one value scale.
func ShareBarsY(charts ...*StackedBars) {
	hi := 0.0
	for _, c := range charts {
		for _, t := range c.totals() {
			hi = math.Max(hi, t)
		}
	}
	for _, c := range charts {
		c.YMax = hi
	}
}

func (c StackedBars) geom() barsGeom {
	g := barsGeom{frame: newFrame(240, 12, 24, false)}
	for _, s := range c.Series {
		g.Legend = append(g.Legend, legendItem{s.Name, s.Class})
	}
	hi := 0.0
	for _, t := range c.totals() {
		hi = math.Max(hi, t)
	}
	if len(c.Labels) == 0 || hi == 0 {
		g.Empty = true
		return g
	}
	g.setValueAxis(Range{0, math.Max(hi, c.YMax)}, 4, "")
	g.setCategoryAxis(c.Labels, false)
	slot := 100 / float64(len(c.Labels))
	w, pxW := slot*0.7, 0.0
	if w/100*g.minPlot() > maxBarW {
		pxW = maxBarW
	}
	for i, label := range c.Labels {
		if c.noData(i) {
			g.Bars = append(g.Bars, rect{X: float64(i) * slot, W: slot, Y: g.Top, H: g.H - g.Top - g.Bot, Class: "bar-nodata", Title: label + ": no data"})
			continue
		}
		x := float64(i)*slot + (slot-w)/2
		if pxW > 0 {
			x = (float64(i) + 0.5) * slot
		}
		base := 0.0
		for _, s := range c.Series {
			if i >= len(s.Values) || s.Values[i] == 0 {
				continue
			}
			v := s.Values[i]
			g.Bars = append(g.Bars, rect{X: x, W: w, PxW: pxW, Y: g.y(base + v), H: g.y(base) - g.y(base+v), Class: s.Class,
				Title: label + ": " + FormatNumber(v) + " " + s.Name})
			base += v
		}
	}
	return g
}

// StackedArea is a cumulative flow diagram: Counts[day][series] are
// cumulative counts, each series at or below the one before it; the band
// between two neighbours is the work in that stage.
type StackedArea struct {
	CSV    string // download link for its numbers
	Title  string
	Days   []time.Time
	Series []string
	Counts [][]int
}

type polygon struct {
	Points string // in the plot's user units
	Class  string
	Title  string
}

type areaGeom struct {
	frame
	Bands  []polygon
	Legend []legendItem
	Empty  bool
}

// bandClass names the colour of band i of n (the last is Done).
func bandClass(i, n int) string {
	if i == n-1 {
		return "band-done"
	}
	return "band-" + strconv.Itoa(i%8)
}

func (c StackedArea) geom() areaGeom {
	g := areaGeom{frame: newFrame(280, 12, 24, false)}
	n := len(c.Series)
	for i, s := range c.Series {
		g.Legend = append(g.Legend, legendItem{s, bandClass(i, n)})
	}
	if len(c.Days) == 0 || n == 0 || len(c.Counts) != len(c.Days) {
		g.Empty = true
		return g
	}
	hi := 0.0
	for _, row := range c.Counts {
		hi = math.Max(hi, float64(row[0]))
	}
	if hi == 0 {
		g.Empty = true
		return g
	}
	// Counts from zero, like every count: work done before the period is
	// the foot of the Done band.
	g.setValueAxis(Range{0, hi}, 4, "")
	days := len(c.Days)
	x := func(d int) float64 {
		if days == 1 {
			return 50
		}
		return float64(d) / float64(days-1) * 100
	}
	for s := 0; s < n; s++ {
		var b strings.Builder
		for d := 0; d < days; d++ {
			fmt.Fprintf(&b, "%s,%.1f ", pu(x(d)), g.y(float64(c.Counts[d][s])))
		}
		for d := days - 1; d >= 0; d-- {
			under := 0.0
			if s+1 < n {
				under = float64(c.Counts[d][s+1])
			}
			fmt.Fprintf(&b, "%s,%.1f ", pu(x(d)), g.y(under))
		}
		last := c.Counts[days-1]
		inStage := last[s]
		if s+1 < n {
			inStage -= last[s+1]
		}
		title := fmt.Sprintf("%s: %d at the end", c.Series[s], inStage)
		if s == n-1 {
			title = fmt.Sprintf("Done: %d in all", last[s])
		}
		g.Bands = append(g.Bands, polygon{Points: strings.TrimSpace(b.String()), Class: bandClass(s, n), Title: title})
	}
	t0, t1 := c.Days[0], c.Days[days-1]
	if days == 1 {
		t0, t1 = t0.Add(-minSpan/2), t0.Add(minSpan/2)
	}
	g.setTimeAxis(t0, t1)
	return g
}

// AgingPoint is one item in progress.
type AgingPoint struct {
	Stage   int
	AgeDays float64
	Label   string
	Href    string
	Class   string
}

// AgingChart plots work in progress by stage and age against the flow-time
// percentiles of finished work.
type AgingChart struct {
	Stages      []string
	Points      []AgingPoint
	Percentiles []RefLine // values in days
}

type circle struct {
	X, Y  float64 // %, px
	Title string
	Href  string
	Class string
}

type agingGeom struct {
	frame
	Dots    []circle
	Columns []rect
	Refs    []refGeom
	Empty   bool
	// OffScale counts the items older than the scale reaches, drawn on
	// its top edge.
	OffScale int
	// Unit of the age axis: "d", or "y" when it spans more than two years.
	Unit string
}

// offScaleFactor is how far past the typical top of the chart (its highest
// percentile line, or the upper quartile of the ages) the scale reaches.
// An item older than that — one whose clock said 1970 is 56 years old —
// would otherwise press every other item onto the axis.
const offScaleFactor = 10

// offScaleNote explains the dots on the top edge of the aging chart.
func offScaleNote(n int) string {
	if n == 1 {
		return "One item is older than the scale reaches: it sits on the top edge, ringed; its age is in its tooltip and in the table below. An age of decades usually means a producer's clock was wrong."
	}
	return strconv.Itoa(n) + " items are older than the scale reaches: they sit on the top edge, ringed; their ages are in their tooltips and in the table below. Ages of decades usually mean a producer's clock was wrong."
}

// agingScaleLimit is the largest age the scale shows.
func (c AgingChart) agingScaleLimit() float64 {
	ages := make([]float64, len(c.Points))
	for i, p := range c.Points {
		ages[i] = p.AgeDays
	}
	slices.Sort(ages)
	top := 1.0
	if len(ages) > 0 {
		top = math.Max(top, ages[(len(ages)-1)*3/4])
	}
	for _, r := range c.Percentiles {
		top = math.Max(top, r.Value)
	}
	return top * offScaleFactor
}

func (c AgingChart) geom() agingGeom {
	g := agingGeom{frame: newFrame(300, 12, 24, false)}
	if len(c.Stages) == 0 || (len(c.Points) == 0 && len(c.Percentiles) == 0) {
		g.Empty = true
		return g
	}
	// Ages past the scale's limit (a producer's clock at 1970) sit on the
	// top edge instead of pressing every other item onto the axis; past
	// two years the axis counts years.
	limit := c.agingScaleLimit()
	r := Range{0, 1}
	for _, p := range c.Points {
		if p.AgeDays <= limit {
			r = r.with(p.AgeDays)
		}
	}
	for _, p := range c.Percentiles {
		r = r.with(p.Value)
	}
	per, suffix := 1.0, " d"
	g.Unit = "d"
	if r.Hi > 2*365.25 {
		per, suffix, g.Unit = 365.25, " y", "y"
	}
	g.setValueAxis(Range{r.Lo / per, r.Hi / per}, 5, suffix)
	g.setCategoryAxis(c.Stages, true)
	slot := 100 / float64(len(c.Stages))
	for i := range c.Stages {
		if i%2 == 1 {
			g.Columns = append(g.Columns, rect{X: float64(i) * slot, W: slot, Y: g.Top, H: g.H - g.Top - g.Bot, Class: "column-shade"})
		}
	}
	for _, p := range c.Points {
		// A stable jitter spreads items of one stage across its column.
		h := fnv.New32a()
		h.Write([]byte(p.Label))
		j := float64(h.Sum32()%1000)/1000*0.7 + 0.15
		d := circle{X: (float64(p.Stage) + j) * slot, Y: g.y(p.AgeDays / per), Title: p.Label, Href: p.Href, Class: p.Class}
		if p.AgeDays/per > g.Hi {
			d.Y, d.Class = g.Top, p.Class+" dot-off-scale"
			g.OffScale++
		}
		g.Dots = append(g.Dots, d)
	}
	lastLabel := math.Inf(1)
	for _, r := range c.Percentiles {
		ry := g.y(r.Value / per)
		ref := refGeom{Y: ry, Label: r.Label, Class: r.Class, LabelY: ry - 4}
		// Percentile lines rise: a label too close to the one below it
		// joins it instead.
		if n := len(g.Refs); n > 0 && lastLabel-ry < 14 {
			prev := &g.Refs[n-1]
			first, _, _ := strings.Cut(prev.Label, "–")
			prev.Label = strings.TrimSuffix(first, " %") + "–" + r.Label
			ref.Label = ""
		} else {
			lastLabel = ry
		}
		g.Refs = append(g.Refs, ref)
	}
	return g
}

// TimeSegment is one stage's share of the time an item takes.
type TimeSegment struct {
	Name    string
	Seconds float64
	Active  bool
}

type segGeom struct {
	X, W        float64
	Class       string
	Title       string
	Label       string
	ShowLabel   bool
	LabelX      float64
	LabelAnchor string
}

// timeBarGeom lays the stages' median times out on one bar of width w.
func timeBarGeom(segs []TimeSegment, w float64) []segGeom {
	total := 0.0
	for _, s := range segs {
		total += s.Seconds
	}
	if total <= 0 {
		return nil
	}
	var out []segGeom
	x := 0.0
	for _, s := range segs {
		if s.Seconds <= 0 {
			continue
		}
		sw := s.Seconds / total * w
		class := "seg-wait"
		kind := "wait"
		if s.Active {
			class, kind = "seg-active", "process"
		}
		label := s.Name + " " + formatSeconds(&s.Seconds)
		out = append(out, segGeom{X: x, W: sw, Class: class, Title: fmt.Sprintf("%s: median %s (%s)", s.Name, formatSeconds(&s.Seconds), kind),
			Label: label, ShowLabel: sw > float64(len(label))*6.5+8, LabelX: x + sw/2, LabelAnchor: "middle"})
		x += sw
	}
	return out
}
