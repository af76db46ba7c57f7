package domain

import "time"

// KRCurrentDays is how many days a key result's current value averages:
// long enough to smooth the weekly cycle of shopping and traffic, short
// enough to show this week's level.
const KRCurrentDays = 7

// KRCurrentWindow is the days whose daily means make a key result's current
// value at moment at: the KRCurrentDays whole UTC days before at's day. The
// day at falls on is left out: it is partial, and metrics with a daily cycle
// would read high or low depending on the hour.
func KRCurrentWindow(at time.Time) Window {
	day := Midnight(at)
	return Window{From: day.AddDate(0, 0, -KRCurrentDays), To: day.AddDate(0, 0, -1)}
}

// KRReading is a key result's current value at a moment and its progress
// from baseline to target, with the days it was read from.
type KRReading struct {
	At       time.Time
	Window   Window // KRCurrentWindow(At)
	Days     int    // days of the window with data
	Current  *float64
	Progress *float64 // KeyResult.Progress of Current, not clamped
}

// ReadKeyResult is the one definition of a key result's current value at a
// moment: the mean of its daily means over KRCurrentWindow(at), nil without a
// day of data. Every page, the API and the overview show this figure; the
// trends chart's per-period points are a different one (the mean over each
// period, KRProgressSeries) and are labelled so. daily may hold other days;
// only the window's count.
func ReadKeyResult(kr KeyResult, daily []DailyValue, at time.Time) KRReading {
	r := KRReading{At: at, Window: KRCurrentWindow(at)}
	sum := 0.0
	for _, d := range daily {
		if r.Window.Contains(d.Day) {
			sum += d.Value
			r.Days++
		}
	}
	if r.Days > 0 {
		m := sum / float64(r.Days)
		r.Current = &m
		r.Progress = kr.Progress(&m)
	}
	return r
}

// MeanProgress is the mean progress of the key results that have one, and
// how many those are.
func MeanProgress(readings []KRReading) (*float64, int) {
	sum, n := 0.0, 0
	for _, r := range readings {
		if r.Progress != nil {
			sum += *r.Progress
			n++
		}
	}
	if n == 0 {
		return nil, 0
	}
	m := sum / float64(n)
	return &m, n
}
