package views

import (
	"math"

	"github.com/throughline/throughline/domain"
)

// FormatValue shows a key result's value in its unit: a percent unit holds
// shares, so 0.036 reads "3.6 %"; ms reads "120 ms"; currency "EUR 12.5".
func FormatValue(v float64, u domain.Unit) string {
	switch {
	case u == domain.UnitPercent:
		return FormatNumber(math.Round(v*100*1e6)/1e6) + " %"
	case u == domain.UnitMS:
		return FormatNumber(v) + " ms"
	case u.Currency() != "":
		return u.Currency() + " " + FormatNumber(v)
	}
	return FormatNumber(v)
}

// valueOrDash is FormatValue, or a dash without a value.
func valueOrDash(p *float64, u domain.Unit) string {
	if p == nil {
		return "—"
	}
	return FormatValue(*p, u)
}

// KRUnits are the units offered by the key result form.
var KRUnits = []struct{ Value, Label string }{
	{"", "plain number"}, {"percent", "percent (0.036 is 3.6 %)"}, {"ms", "milliseconds"}, {"count", "count"},
	{"currency:EUR", "EUR"}, {"currency:USD", "USD"}, {"currency:GBP", "GBP"},
}

// KeyResultChart draws a key result's daily means with its baseline and
// target, in the key result's unit: a percent key result is drawn in
// percent (0.036 at 3.6), so the axis reads as the figures beside it.
func KeyResultChart(title string, kr domain.KeyResult, ds []domain.DailyValue) LineChart {
	scale, unit := 1.0, ""
	switch {
	case kr.Unit == domain.UnitPercent:
		scale, unit, title = 100, " %", title+", %"
	case kr.Unit == domain.UnitMS:
		unit, title = " ms", title+", ms"
	case kr.Unit.Currency() != "":
		title += ", " + kr.Unit.Currency()
	}
	points := make([]TimePoint, len(ds))
	for i, d := range ds {
		points[i] = TimePoint{At: d.Day, Value: d.Value * scale}
	}
	return LineChart{Title: title + ")", Unit: unit, Points: points,
		Refs: []RefLine{{Label: "baseline", Value: kr.Baseline * scale, Class: "ref-baseline"}, {Label: "target", Value: kr.Target * scale, Class: "ref-target"}}}
}
