package domain

import "time"

// Coverage is what Throughline knows of time (DESIGN.md 4, Coverage): the
// days from the earliest stored delivery event (From, a UTC midnight; zero
// when nothing is stored) up to today. A day outside it is not a day without
// deployments but a day Throughline cannot speak for, so rates per day divide
// only by covered days and charts leave the rest as gaps.
type Coverage struct {
	From  time.Time // UTC day of the earliest stored CDEvent; zero: none
	Today time.Time // UTC day of now
}

// NewCoverage is the coverage of a store whose earliest delivery event is at
// earliest (zero when there is none), seen at now.
func NewCoverage(earliest, now time.Time) Coverage {
	c := Coverage{Today: Midnight(now)}
	if !earliest.IsZero() {
		c.From = Midnight(earliest)
	}
	return c
}

// Days counts the covered days of w: from max(w.From, From) to
// min(w.To, Today), inclusive; 0 when nothing is stored or they do not meet.
func (c Coverage) Days(w Window) int {
	if c.From.IsZero() {
		return 0
	}
	from, to := w.From, w.To
	if c.From.After(from) {
		from = c.From
	}
	if !c.Today.IsZero() && c.Today.Before(to) {
		to = c.Today
	}
	if to.Before(from) {
		return 0
	}
	return Window{From: from, To: to}.Days()
}

// Whole reports whether every day of w is covered: only then can a period
// stand as the previous one in a comparison.
func (c Coverage) Whole(w Window) bool { return c.Days(w) == w.Days() }
