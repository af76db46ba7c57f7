package domain

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// TrendMetric describes one DORA metric as the trend pages chart it: the
// value of a report in display units, its tier, and the tier thresholds as
// bands in the same units (DESIGN.md section 4, DORA tiers).
type TrendMetric struct {
	Key   string // as in the JSON API: deployment_frequency, lead_time, …
	Title string
	Unit  string // display unit of Value
	// HigherIsBetter says which way is an improvement.
	HigherIsBetter bool
	Value          func(DORAReport) *float64
	Tier           func(DORAReport) *Tier // nil func: the metric has no tiers
	Bands          []TierBand
}

// TierBand is the range of display values a tier covers.
type TierBand struct {
	Tier     Tier
	From, To float64 // To may be +Inf
}

// TrendMetrics lists the five DORA metrics in the order the pages show them.
func TrendMetrics() []TrendMetric {
	inf := math.Inf(1)
	scaled := func(p *float64, by float64) *float64 {
		if p == nil {
			return nil
		}
		v := *p / by
		return &v
	}
	return []TrendMetric{
		{Key: "deployment_frequency", Title: "Deployment frequency", Unit: "per day", HigherIsBetter: true,
			Value: func(r DORAReport) *float64 { return r.PerDay },
			Tier:  func(r DORAReport) *Tier { return r.FreqTier },
			Bands: []TierBand{{TierLow, 0, 1.0 / 30}, {TierMedium, 1.0 / 30, 1.0 / 7}, {TierHigh, 1.0 / 7, 1}, {TierElite, 1, inf}}},
		{Key: "lead_time", Title: "Lead time for changes (median)", Unit: "days",
			Value: func(r DORAReport) *float64 { return scaled(r.LeadMedian, day) },
			Tier:  func(r DORAReport) *Tier { return r.LeadTier },
			Bands: []TierBand{{TierElite, 0, 1}, {TierHigh, 1, 7}, {TierMedium, 7, 30}, {TierLow, 30, inf}}},
		{Key: "change_failure_rate", Title: "Change failure rate", Unit: "%",
			Value: func(r DORAReport) *float64 { return scaled(r.FailureRate, 0.01) },
			Tier:  func(r DORAReport) *Tier { return r.FailureTier },
			Bands: []TierBand{{TierElite, 0, 5}, {TierHigh, 5, 10}, {TierMedium, 10, 15}, {TierLow, 15, 100}}},
		{Key: "recovery_time", Title: "Failed deployment recovery time (median)", Unit: "hours",
			Value: func(r DORAReport) *float64 { return scaled(r.RecoveryMedian, 3600) },
			Tier:  func(r DORAReport) *Tier { return r.RecoveryTier },
			Bands: []TierBand{{TierElite, 0, 1}, {TierHigh, 1, 24}, {TierMedium, 24, 168}, {TierLow, 168, inf}}},
		{Key: "rework_rate", Title: "Deployment rework rate", Unit: "%",
			Value: func(r DORAReport) *float64 { return scaled(r.ReworkRate, 0.01) }},
	}
}

// TrendMetricByKey finds a metric by its API key.
func TrendMetricByKey(key string) (TrendMetric, bool) {
	for _, m := range TrendMetrics() {
		if m.Key == key {
			return m, true
		}
	}
	return TrendMetric{}, false
}

// PreviousWindow is the window of the same length that ends the day before w.
func PreviousWindow(w Window) Window {
	days := w.Days()
	return Window{From: w.From.AddDate(0, 0, -days), To: w.From.AddDate(0, 0, -1)}
}

// Change compares a value with the previous period's.
type Change struct {
	Current, Previous *float64
	Delta             *float64 // current − previous
	Relative          *float64 // delta / |previous|; nil when previous is 0
	// Verdict is "better", "worse" or "same"; "" when either side is missing.
	Verdict string
}

// CompareValues says how a metric moved from previous to current.
// Changes within 1% of the previous value (or exactly equal values) are
// "same".
func CompareValues(current, previous *float64, higherIsBetter bool) Change {
	c := Change{Current: current, Previous: previous}
	if current == nil || previous == nil {
		return c
	}
	d := *current - *previous
	c.Delta = &d
	if *previous != 0 {
		r := d / math.Abs(*previous)
		c.Relative = &r
	}
	switch {
	case d == 0 || (c.Relative != nil && math.Abs(*c.Relative) < 0.01):
		c.Verdict = "same"
	case (d > 0) == higherIsBetter:
		c.Verdict = "better"
	default:
		c.Verdict = "worse"
	}
	return c
}

// MinCompareDeployments is the fewest deployments a previous period needs
// before a metric is compared with it: a handful makes every change look
// dramatic.
const MinCompareDeployments = 10

// CompareWithPrevious says how metric m moved from the previous period to
// the current one, or, with an empty Change, why no comparison is made: the
// previous period must be wholly covered (a period Throughline saw only part
// of is no baseline) and hold at least MinCompareDeployments deployments.
func CompareWithPrevious(m TrendMetric, cur, prev DORAReport) (Change, string) {
	val := m.Value(cur)
	switch {
	case prev.CoveredDays < prev.Window.Days():
		if prev.CoveredDays == 0 {
			return Change{Current: val}, "no data for the previous period to compare with"
		}
		return Change{Current: val}, "the previous period is only partly covered (" + strconv.Itoa(prev.CoveredDays) + " of " +
			strconv.Itoa(prev.Window.Days()) + " days), so it is not compared"
	case prev.Deployments == 0:
		return Change{Current: val}, "no deployments in the previous period to compare with"
	case prev.Deployments < MinCompareDeployments:
		return Change{Current: val}, "too little earlier data to compare (" + strconv.Itoa(prev.Deployments) + " deployments in the previous period)"
	}
	return CompareValues(val, m.Value(prev), m.HigherIsBetter), ""
}

// Headline is one DORA metric as a page headlines it: its value in display
// units, its tier, and how it moved from the previous period (or why it is
// not compared).
type Headline struct {
	Metric    TrendMetric
	Value     *float64
	Tier      *Tier
	Change    Change
	NoCompare string
}

// Headlines are the five DORA metrics of a window against the previous
// period, in TrendMetrics order: every page that headlines DORA shows these.
func Headlines(cur, prev DORAReport) []Headline {
	ms := TrendMetrics()
	out := make([]Headline, len(ms))
	for i, m := range ms {
		h := Headline{Metric: m, Value: m.Value(cur)}
		if m.Tier != nil {
			h.Tier = m.Tier(cur)
		}
		h.Change, h.NoCompare = CompareWithPrevious(m, cur, prev)
		out[i] = h
	}
	return out
}

// QuarterStart is the first day of the calendar quarter t is in.
func QuarterStart(t time.Time) time.Time {
	return time.Date(t.Year(), ((t.Month()-1)/3)*3+1, 1, 0, 0, 0, 0, time.UTC)
}

// Quarters splits a window into calendar quarters, clipped to it.
func (w Window) Quarters() []Window {
	var out []Window
	start := QuarterStart(w.From)
	for !start.After(w.To) {
		next := start.AddDate(0, 3, 0)
		from, to := start, next.AddDate(0, 0, -1)
		if from.Before(w.From) {
			from = w.From
		}
		if to.After(w.To) {
			to = w.To
		}
		out = append(out, Window{From: from, To: to, BucketStart: start})
		start = next
	}
	return out
}

// QuarterLabel names the quarter a day falls in, as "2026 Q3".
func QuarterLabel(t time.Time) string {
	return strconv.Itoa(t.Year()) + " Q" + strconv.Itoa(int(t.Month()-1)/3+1)
}

// VerdictShare counts the ideas that first reached production in a period
// by the verdict they carry now.
type VerdictShare struct {
	Window       Window
	Shipped      int
	Validated    int
	Invalidated  int
	Inconclusive int
	Awaiting     int // shipped, no verdict yet
}

// Share is n / Shipped, nil when nothing shipped.
func (v VerdictShare) Share(n int) *float64 {
	if v.Shipped == 0 {
		return nil
	}
	s := float64(n) / float64(v.Shipped)
	return &s
}

// ShippedAt is when an idea first reached production: its first production
// deployment signal; zero if it has not, or if it is rolled back (none of its
// changes is in production any more, DESIGN.md 4) until a later deployment
// carries them again — then it counts from its first deployment again.
func ShippedAt(it *FlowItem) time.Time {
	if it.RolledBack != nil {
		return time.Time{}
	}
	return it.Signals.At(TrigDeployProd)
}

// VerdictShares counts, per period, the ideas first deployed to production
// in it (ShippedAt: rolled back ideas are not shipped), by their verdict:
// validated + invalidated + inconclusive + awaiting = shipped. Archived ideas
// are left out.
func VerdictShares(ideas []Idea, items map[string]FlowItem, periods []Window) []VerdictShare {
	out := make([]VerdictShare, len(periods))
	for i, p := range periods {
		out[i].Window = p
	}
	for _, idea := range ideas {
		if idea.Archived {
			continue
		}
		it, ok := items[idea.Key]
		if !ok {
			continue
		}
		shipped := ShippedAt(&it)
		if shipped.IsZero() {
			continue
		}
		for i := range out {
			if shipped.Before(out[i].Window.From) || !shipped.Before(out[i].Window.End()) {
				continue
			}
			s := &out[i]
			s.Shipped++
			switch idea.Verdict {
			case VerdictValidated:
				s.Validated++
			case VerdictInvalidated:
				s.Invalidated++
			case VerdictInconclusive:
				s.Inconclusive++
			default:
				s.Awaiting++
			}
			break
		}
	}
	return out
}

// AwaitingVerdict is an idea in production that nobody has judged yet.
type AwaitingVerdict struct {
	Idea    Idea
	Shipped time.Time
	Days    int // whole days in production at now
	// HasKeyResult is false for an idea with no key result to judge it
	// against: its verdict can only come from what people observe.
	HasKeyResult bool
}

// IdeasAwaitingVerdict lists every idea in production (ShippedAt) without a
// verdict, with or without a key result, longest waiting first.
func IdeasAwaitingVerdict(ideas []Idea, items map[string]FlowItem, now time.Time) []AwaitingVerdict {
	var out []AwaitingVerdict
	for _, idea := range ideas {
		if idea.Archived || idea.Verdict != "" {
			continue
		}
		it, ok := items[idea.Key]
		if !ok {
			continue
		}
		shipped := ShippedAt(&it)
		if shipped.IsZero() || shipped.After(now) {
			continue
		}
		out = append(out, AwaitingVerdict{Idea: idea, Shipped: shipped, Days: int(now.Sub(shipped) / (24 * time.Hour)),
			HasKeyResult: len(idea.KeyResults) > 0})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Shipped.Equal(out[j].Shipped) {
			return out[i].Shipped.Before(out[j].Shipped)
		}
		return out[i].Idea.Key < out[j].Idea.Key
	})
	return out
}

// WithoutKeyResult counts the ideas awaiting a verdict that have no key
// result to judge them against.
func WithoutKeyResult(list []AwaitingVerdict) int {
	n := 0
	for _, a := range list {
		if !a.HasKeyResult {
			n++
		}
	}
	return n
}

// KRProgressPoint is a key result's progress over one period: the mean of
// its daily means in the period, as progress from baseline to target.
type KRProgressPoint struct {
	Window   Window
	Days     int      // days with data
	Mean     *float64 // nil without data
	Progress *float64
}

// KRProgressSeries turns a key result's daily means into progress per
// period.
func KRProgressSeries(kr KeyResult, daily []DailyValue, periods []Window) []KRProgressPoint {
	out := make([]KRProgressPoint, len(periods))
	j := 0
	for i, p := range periods {
		out[i].Window = p
		sum := 0.0
		for j < len(daily) && daily[j].Day.Before(p.From) {
			j++
		}
		for j < len(daily) && daily[j].Day.Before(p.End()) {
			sum += daily[j].Value
			out[i].Days++
			j++
		}
		if out[i].Days > 0 {
			m := sum / float64(out[i].Days)
			out[i].Mean = &m
			out[i].Progress = kr.Progress(&m)
		}
	}
	return out
}
