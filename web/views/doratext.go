package views

import (
	"strconv"
	"time"

	"github.com/throughline/throughline/domain"
)

// Every page writes a DORA figure with these, in the metric's one display
// unit (domain.TrendMetrics): deployments per day, lead time in days, rates
// in per cent, recovery and restore in hours.

// doraValue writes metric key of a report, "—" without data.
func doraValue(key string, r domain.DORAReport) string {
	m, ok := domain.TrendMetricByKey(key)
	if !ok {
		return "—"
	}
	return OptionalMetricText(m.Value(r), m.Unit)
}

// OptionalMetricText writes a value in unit, "—" without one.
func OptionalMetricText(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	return MetricText(*v, unit)
}

// daysText writes a duration in seconds in days, as lead time is shown.
func daysText(secs *float64) string { return scaledText(secs, 86400, "days") }

// hoursText writes a duration in seconds in hours, as recovery is shown.
func hoursText(secs *float64) string { return scaledText(secs, 3600, "hours") }

func scaledText(secs *float64, by float64, unit string) string {
	if secs == nil {
		return "—"
	}
	return MetricText(*secs/by, unit)
}

// freqFoot says what deployment frequency divides: the deployments and the
// covered days of the window, and where coverage starts when it cuts the
// window short.
func freqFoot(r domain.DORAReport, coverageFrom time.Time) string {
	s := plural(r.Deployments, "production deployment", "production deployments") + " over " +
		plural(r.CoveredDays, "covered day", "covered days")
	switch {
	case coverageFrom.IsZero():
		s += " (no delivery events yet)"
	case r.CoveredDays < r.Window.Days() && coverageFrom.After(r.Window.From):
		s += " (data since " + formatDay(coverageFrom) + ")"
	}
	return s
}

// CoverageNote says, for a window Throughline saw only part of, which days
// its rates cover; "" when every day of the window is covered.
func CoverageNote(r domain.DORAReport, coverageFrom time.Time) string {
	if r.CoveredDays >= r.Window.Days() {
		return ""
	}
	if r.CoveredDays == 0 {
		return "Throughline has no delivery data for this period: rates per day are not shown."
	}
	return "Rates per day cover " + strconv.Itoa(r.CoveredDays) + " of the " + strconv.Itoa(r.Window.Days()) +
		" days: Throughline has delivery data since " + formatDay(coverageFrom) + "."
}
