package domain

import (
	"fmt"
	"math"
	"strconv"
)

// The evidence a constraint needs by default (DESIGN.md 4, Flow); each
// value stream may set its own.
const (
	DefaultConstraintMinItems = 5
	DefaultConstraintMinRatio = 1.5
	MaxConstraintMinItems     = 1000
	MaxConstraintMinRatio     = 10.0
)

// ConstraintRule is the evidence a stage needs to be named the constraint:
// at least MinItems passed through it in the window, and its median time in
// stage is at least MinRatio × the next-longest stage's.
type ConstraintRule struct {
	MinItems int
	MinRatio float64
}

// ConstraintRule is the stream's rule, with the defaults where it sets none.
func (v ValueStream) ConstraintRule() ConstraintRule {
	r := ConstraintRule{MinItems: v.ConstraintMinItems, MinRatio: v.ConstraintMinRatio}
	if r.MinItems <= 0 {
		r.MinItems = DefaultConstraintMinItems
	}
	if r.MinRatio <= 0 {
		r.MinRatio = DefaultConstraintMinRatio
	}
	return r
}

// Constraint is the stage where work waits longest while arrivals outpace
// departures, with the numbers that make it so.
type Constraint struct {
	Stage   int
	Name    string
	Seconds float64 // median time in stage
	Basis   string  // what Seconds measures: "time in stage"
	Items   int     // items that passed through the stage in the window
	// The next-longest stage, and how many times longer this one is (nil
	// when the next-longest median is zero).
	Next        string
	NextSeconds float64
	Ratio       *float64
	Arrivals    int
	Departures  int
	WIP         int
	Reason      string
}

// findConstraint names the constraint among the stages, or says why none
// stands out. The candidate is the stage with the longest median time in
// stage (ties go to the earlier stage) among those that are not fixed-time —
// a stage that waits by design would always win and tells nothing. It is
// named only when enough items passed through it, its median is at least
// MinRatio × the next-longest candidate's, and more work arrived there than
// left in the window; otherwise the reason says which test failed, with the
// numbers.
func findConstraint(stages []StageFlow, rule ConstraintRule) (*Constraint, string) {
	lead, next := -1, -1
	candidates := 0
	for i, st := range stages {
		if st.FixedTime {
			continue
		}
		candidates++
		if st.TimeInStage.Median == nil {
			continue
		}
		switch m := *st.TimeInStage.Median; {
		case lead < 0 || m > *stages[lead].TimeInStage.Median:
			lead, next = i, lead
		case next < 0 || m > *stages[next].TimeInStage.Median:
			next = i
		}
	}
	switch {
	case candidates == 0:
		return nil, "Every stage is fixed-time (it waits by design), so none can be the constraint."
	case lead < 0:
		return nil, "No item passed through a stage in this period, so there is no time in stage to compare."
	}
	st := stages[lead]
	c := &Constraint{Stage: lead, Name: st.Name, Seconds: *st.TimeInStage.Median, Basis: "time in stage",
		Items: st.TimeInStage.Items, Arrivals: st.Arrivals, Departures: st.Departures, WIP: st.WIP}
	longest := fmt.Sprintf("%s has the longest median time in stage (%s)", c.Name, HumanSeconds(c.Seconds))
	if c.Items < rule.MinItems {
		return nil, fmt.Sprintf("%s but only %s passed through it; %d are needed.", longest, plural(c.Items, "item"), rule.MinItems)
	}
	if next < 0 {
		return nil, fmt.Sprintf("%s, but no other stage had an item pass through it, so there is nothing to compare it with.", longest)
	}
	c.Next, c.NextSeconds = stages[next].Name, *stages[next].TimeInStage.Median
	against := fmt.Sprintf("against %s in %s, the next longest", HumanSeconds(c.NextSeconds), c.Next)
	if c.NextSeconds > 0 {
		c.Ratio = ptr(c.Seconds / c.NextSeconds)
		against = fmt.Sprintf("%s× %s's %s", formatRatio(*c.Ratio), c.Next, HumanSeconds(c.NextSeconds))
		if *c.Ratio < rule.MinRatio {
			return nil, fmt.Sprintf("%s, but that is only %s; %s× is needed.", longest, against, formatRatio(rule.MinRatio))
		}
	}
	switch {
	case c.Arrivals < c.Departures:
		return nil, fmt.Sprintf("%s, %s, but more items left it (%d) than arrived (%d) in the period: work is not piling up there.",
			longest, against, c.Departures, c.Arrivals)
	case c.Arrivals == c.Departures:
		return nil, fmt.Sprintf("%s, %s, but as many items left it as arrived (%d) in the period: work is not piling up there.",
			longest, against, c.Arrivals)
	}
	c.Reason = fmt.Sprintf("Items wait longest here: a median of %s over the %d that passed through, %s; and more arrived (%d) than left (%d) in the period — %d still in it.",
		HumanSeconds(c.Seconds), c.Items, against, c.Arrivals, c.Departures, c.WIP)
	return c, ""
}

// formatRatio writes a ratio rounded down to two decimals, so that one
// short of a threshold never reads as reaching it (1.499 is "1.49", not "1.5").
func formatRatio(x float64) string {
	return strconv.FormatFloat(math.Floor(x*100+1e-9)/100, 'f', -1, 64)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
