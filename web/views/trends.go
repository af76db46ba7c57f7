package views

import (
	"math"
	"strconv"

	"github.com/throughline/throughline/domain"
)

// TrendsQuery is what the trends page was asked for, as the form shows it.
type TrendsQuery struct {
	From, To string
	Bucket   string // week, month
	Compare  string // "", team, service, stream
	Service  string
	Team     string
	Stream   string // value stream id
}

// Option is a choice in a select.
type Option struct {
	Value, Label string
}

// TrendsView is everything the trends page shows.
type TrendsView struct {
	// CoverageNote says which days the rates cover when Throughline saw
	// only part of the range.
	CoverageNote string
	Query        TrendsQuery
	Services     []string
	Teams        []string
	Streams      []Option
	Presets      []Preset
	// Scope names what the figures cover ("All services", "Team payments").
	Scope       string
	Period      string // "1 Jul – 22 Nov 2026"
	Previous    string // the period compared with
	Metrics     []MetricTrend
	Compare     *CompareView
	Outcomes    OutcomeTrends
	Flow        FlowTrends
	HasSLOs     bool
	Reliability []ReliabilityTrend
	DORAHref    string
	PrintTitle  string
}

// MetricTrend is one DORA metric over the range: its value for the whole
// range, tier, change against the previous period, and the chart.
type MetricTrend struct {
	Key    string
	Title  string
	Value  string
	Tier   *domain.Tier
	Rated  bool // the metric has tiers
	Change domain.Change
	// NoCompare says why there is no comparison with the previous period.
	NoCompare string
	Unit      string
	Chart     LineChart
	Table     Table
}

// CompareView is the small multiples: one row per metric, one cell per
// team, service or value stream.
type CompareView struct {
	By      string // team, service, stream
	Groups  []string
	Metrics []CompareMetric
	Omitted int // groups beyond the first maxCompareGroups, left out
}

// CompareMetric is one metric across the groups.
type CompareMetric struct {
	Key   string
	Title string
	Cells []CompareCell
	Table Table
}

// CompareCell is one group's small chart.
type CompareCell struct {
	Group string
	Href  string
	Value string
	Tier  *domain.Tier
	Rated bool
	Chart LineChart
}

// OutcomeTrends is the outcomes section.
type OutcomeTrends struct {
	Objectives    []ObjectiveTrend
	Verdicts      StackedBars
	VerdictTable  Table
	Awaiting      []domain.AwaitingVerdict
	AwaitingTable Table
	// AwaitingWithoutKR counts those with no key result to judge against.
	AwaitingWithoutKR int
}

// ObjectiveTrend is an objective's key results over time.
type ObjectiveTrend struct {
	Title      string
	KeyResults []KRTrend
}

// KRTrend is a key result's progress per period.
type KRTrend struct {
	ID    int64
	Title string
	// Reading is the key result's current value at the window's end, the
	// figure every page shows; the chart's points are per-period means.
	Reading domain.KRReading
	Bucket  string // week or month: what each chart point averages
	Chart   LineChart
	Table   Table
}

// FlowTrends is the flow section: per value stream per month.
type FlowTrends struct {
	Streams     []StreamTrend
	Months      []string
	Constraints []ConstraintRow
	Table       Table
}

// StreamTrend is a value stream's velocity, flow time and distribution per
// month.
type StreamTrend struct {
	Name     string
	Href     string
	Done     StackedBars // finished items per month by type: velocity and distribution
	FlowTime LineChart   // median flow time of the items finished each month
	Table    Table
}

// ConstraintRow is where a stream's constraint was each month.
type ConstraintRow struct {
	Stream string
	Href   string
	Cells  []ConstraintCell
}

// ConstraintCell is one month's constraint (Stage "" when none stands out;
// Title says why, either way).
type ConstraintCell struct {
	None  bool // measured, and no stage stood out (else Stage "" is a gap)
	Stage string
	Class string
	Title string
}

// ReliabilityTrend is one SLO's error budget over the range.
type ReliabilityTrend struct {
	Service string
	Title   string
	Href    string
	Posture domain.Posture // at the end of the range
	Chart   LineChart
	Table   Table
}

// Tables lists every table of the page by id, for CSV downloads.
func (v TrendsView) Tables() []Table {
	var out []Table
	for _, m := range v.Metrics {
		out = append(out, m.Table)
	}
	if v.Compare != nil {
		for _, m := range v.Compare.Metrics {
			out = append(out, m.Table)
		}
	}
	for _, o := range v.Outcomes.Objectives {
		for _, k := range o.KeyResults {
			out = append(out, k.Table)
		}
	}
	out = append(out, v.Outcomes.VerdictTable, v.Outcomes.AwaitingTable)
	for _, s := range v.Flow.Streams {
		out = append(out, s.Table)
	}
	out = append(out, v.Flow.Table)
	for _, r := range v.Reliability {
		out = append(out, r.Table)
	}
	return out
}

// MetricText writes a DORA metric for people in its one display unit: a
// rate in per cent with one decimal, a frequency per day with two decimals,
// a duration in its unit with one decimal (none from 10 up).
func MetricText(v float64, unit string) string {
	switch unit {
	case "%":
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	case "per day":
		if v >= 10 {
			return strconv.FormatFloat(v, 'f', 0, 64) + " per day"
		}
		return strconv.FormatFloat(v, 'f', 2, 64) + " per day"
	}
	if v >= 10 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " " + unit
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
}

// changeText says how a metric moved against the previous period.
func changeText(c domain.Change, unit, noCompare string) string {
	switch {
	case noCompare != "":
		return noCompare
	case c.Verdict == "":
		return "no earlier data to compare"
	case c.Verdict == "same":
		return "about the same as the previous period"
	}
	arrow := "▲"
	if *c.Delta < 0 {
		arrow = "▼"
	}
	amount := MetricText(math.Abs(*c.Delta), unit)
	if c.Relative != nil && unit != "%" {
		amount = strconv.FormatFloat(math.Abs(*c.Relative)*100, 'f', 0, 64) + "%"
	} else if unit == "%" {
		amount = strconv.FormatFloat(math.Abs(*c.Delta), 'f', 1, 64) + " points"
	}
	return arrow + " " + amount + " (" + c.Verdict + ") vs previous period"
}

func changeClass(c domain.Change) string {
	switch c.Verdict {
	case "better":
		return "change change-better"
	case "worse":
		return "change change-worse"
	}
	return "change"
}

// plural writes a count with the right noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
