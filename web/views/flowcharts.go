package views

import (
	"fmt"
	"hash/fnv"
	"math"
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
	X, Y, W, H float64
	Class      string
	Title      string
}

type legendItem struct {
	Name, Class string
}

type barsGeom struct {
	W, H, Left, Right, Top, Bot float64
	Bars                        []rect
	YTicks, XTicks              []tick
	Legend                      []legendItem
	Empty                       bool
}

func (c StackedBars) geom() barsGeom {
	g := barsGeom{W: 720, H: 240, Left: 48, Right: 12, Top: 12, Bot: 32}
	totals := make([]float64, len(c.Labels))
	for _, s := range c.Series {
		for i, v := range s.Values {
			if i < len(totals) && !c.noData(i) {
				totals[i] += v
			}
		}
		g.Legend = append(g.Legend, legendItem{s.Name, s.Class})
	}
	hi := 0.0
	for _, t := range totals {
		hi = math.Max(hi, t)
	}
	if len(c.Labels) == 0 || hi == 0 {
		g.Empty = true
		return g
	}
	step := niceStep(hi / 4)
	hi = math.Ceil(hi/step) * step
	y := func(v float64) float64 { return g.H - g.Bot - v/hi*(g.H-g.Top-g.Bot) }
	slot := (g.W - g.Left - g.Right) / float64(len(c.Labels))
	bw := math.Min(slot*0.7, 48)
	for i, label := range c.Labels {
		x := g.Left + float64(i)*slot + (slot-bw)/2
		if c.noData(i) {
			g.Bars = append(g.Bars, rect{X: g.Left + float64(i)*slot, Y: g.Top, W: slot, H: g.H - g.Top - g.Bot, Class: "bar-nodata", Title: label + ": no data"})
			continue
		}
		base := 0.0
		for _, s := range c.Series {
			if i >= len(s.Values) || s.Values[i] == 0 {
				continue
			}
			v := s.Values[i]
			g.Bars = append(g.Bars, rect{X: x, Y: y(base + v), W: bw, H: y(base) - y(base+v), Class: s.Class,
				Title: label + ": " + FormatNumber(v) + " " + s.Name})
			base += v
		}
	}
	for v := 0.0; v <= hi+step/2; v += step {
		g.YTicks = append(g.YTicks, tick{Pos: y(v), Label: formatValue(v, step)})
	}
	every := max(1, int(math.Ceil(float64(len(c.Labels))/8)))
	for i := 0; i < len(c.Labels); i += every {
		g.XTicks = append(g.XTicks, tick{Pos: g.Left + (float64(i)+0.5)*slot, Label: c.Labels[i]})
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
	Points string
	Class  string
	Title  string
}

type areaGeom struct {
	W, H, Left, Right, Top, Bot float64
	Bands                       []polygon
	YTicks, XTicks              []tick
	Legend                      []legendItem
	Empty                       bool
}

// bandClass names the colour of band i of n (the last is Done).
func bandClass(i, n int) string {
	if i == n-1 {
		return "band-done"
	}
	return "band-" + strconv.Itoa(i%8)
}

func (c StackedArea) geom() areaGeom {
	g := areaGeom{W: 720, H: 280, Left: 56, Right: 12, Top: 12, Bot: 32}
	n := len(c.Series)
	for i, s := range c.Series {
		g.Legend = append(g.Legend, legendItem{s, bandClass(i, n)})
	}
	if len(c.Days) == 0 || n == 0 || len(c.Counts) != len(c.Days) {
		g.Empty = true
		return g
	}
	lo, hi := float64(c.Counts[0][n-1]), 0.0
	for _, row := range c.Counts {
		hi = math.Max(hi, float64(row[0]))
	}
	if hi <= lo {
		if hi == 0 {
			g.Empty = true
			return g
		}
		lo = math.Max(0, hi-1)
	}
	step := niceStep((hi - lo) / 4)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step) * step
	days := len(c.Days)
	x := func(d int) float64 {
		if days == 1 {
			return (g.Left + g.W - g.Right) / 2
		}
		return g.Left + float64(d)/float64(days-1)*(g.W-g.Left-g.Right)
	}
	y := func(v float64) float64 { return g.H - g.Bot - (v-lo)/(hi-lo)*(g.H-g.Top-g.Bot) }
	for s := 0; s < n; s++ {
		var b strings.Builder
		for d := 0; d < days; d++ {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(d), y(float64(c.Counts[d][s])))
		}
		for d := days - 1; d >= 0; d-- {
			under := lo
			if s+1 < n {
				under = float64(c.Counts[d][s+1])
			}
			fmt.Fprintf(&b, "%.1f,%.1f ", x(d), y(under))
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
	for v := lo; v <= hi+step/2; v += step {
		g.YTicks = append(g.YTicks, tick{Pos: y(v), Label: formatValue(v, step)})
	}
	ticks := min(6, days-1)
	for i := 0; i <= ticks && ticks > 0; i++ {
		d := i * (days - 1) / ticks
		g.XTicks = append(g.XTicks, tick{Pos: x(d), Label: c.Days[d].UTC().Format("2 Jan")})
	}
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
	X, Y  float64
	Title string
	Href  string
	Class string
}

type agingGeom struct {
	W, H, Left, Right, Top, Bot float64
	Dots                        []circle
	Columns                     []rect
	Refs                        []refGeom
	YTicks, XTicks              []tick
	Empty                       bool
}

func (c AgingChart) geom() agingGeom {
	g := agingGeom{W: 720, H: 300, Left: 48, Right: 64, Top: 12, Bot: 32}
	if len(c.Stages) == 0 || (len(c.Points) == 0 && len(c.Percentiles) == 0) {
		g.Empty = true
		return g
	}
	hi := 1.0
	for _, p := range c.Points {
		hi = math.Max(hi, p.AgeDays)
	}
	for _, r := range c.Percentiles {
		hi = math.Max(hi, r.Value)
	}
	step := niceStep(hi * 1.05 / 5)
	hi = math.Ceil(hi*1.05/step) * step
	y := func(v float64) float64 { return g.H - g.Bot - v/hi*(g.H-g.Top-g.Bot) }
	slot := (g.W - g.Left - g.Right) / float64(len(c.Stages))
	for i, s := range c.Stages {
		if i%2 == 1 {
			g.Columns = append(g.Columns, rect{X: g.Left + float64(i)*slot, Y: g.Top, W: slot, H: g.H - g.Top - g.Bot, Class: "column-shade"})
		}
		g.XTicks = append(g.XTicks, tick{Pos: g.Left + (float64(i)+0.5)*slot, Label: s})
	}
	for _, p := range c.Points {
		// A stable jitter spreads items of one stage across its column.
		h := fnv.New32a()
		h.Write([]byte(p.Label))
		j := float64(h.Sum32()%1000)/1000*0.7 + 0.15
		g.Dots = append(g.Dots, circle{X: g.Left + (float64(p.Stage)+j)*slot, Y: y(p.AgeDays), Title: p.Label, Href: p.Href, Class: p.Class})
	}
	lastLabel := math.Inf(1)
	for _, r := range c.Percentiles {
		ry := y(r.Value)
		ref := refGeom{Y: ry, Label: r.Label, Class: r.Class, LabelY: ry + 4}
		// Percentile lines rise: a label too close to the one below it
		// joins it instead.
		if n := len(g.Refs); n > 0 && lastLabel-ry < 12 {
			prev := &g.Refs[n-1]
			first, _, _ := strings.Cut(prev.Label, "–")
			prev.Label = strings.TrimSuffix(first, " %") + "–" + r.Label
			ref.Label = ""
		} else {
			lastLabel = ry
		}
		g.Refs = append(g.Refs, ref)
	}
	for v := 0.0; v <= hi+step/2; v += step {
		g.YTicks = append(g.YTicks, tick{Pos: y(v), Label: formatValue(v, step)})
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
