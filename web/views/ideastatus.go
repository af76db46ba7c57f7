package views

import (
	"math"
	"strconv"

	"github.com/throughline/throughline/domain"
)

// ProgressText writes key-result progress as a whole percentage, sign
// included: "96 %", "130 %", "−12 %". The number is never clamped.
func ProgressText(p *float64) string {
	if p == nil {
		return "—"
	}
	v := math.Round(*p * 100)
	if v < 0 {
		return "−" + strconv.FormatFloat(-v, 'f', 0, 64) + " %"
	}
	return strconv.FormatFloat(v+0, 'f', 0, 64) + " %" // +0: no "-0"
}

// progressWidth maps progress to one of 21 width classes (CSP forbids
// inline styles). Only the drawing is clamped to the bar.
func progressWidth(p float64) string {
	p = math.Max(0, math.Min(1, p))
	return "w" + strconv.Itoa(int(p*20+0.5)*5)
}

// progressClass marks progress below the baseline or past the target.
func progressClass(p float64) string {
	switch {
	case p < 0:
		return "progress-behind"
	case p > 1:
		return "progress-past"
	}
	return ""
}

// progressAria is the bar's value for assistive technology, which needs it
// within the bar's range; the label reads the real number.
func progressAria(p float64) string {
	return strconv.Itoa(int(math.Round(math.Max(0, math.Min(1, p)) * 100)))
}

// readingWindowText says what a key result's current value averages.
func readingWindowText(r domain.KRReading) string {
	return "mean of the daily means of " + formatDay(r.Window.From) + " – " + formatDay(r.Window.To) +
		" (" + strconv.Itoa(r.Days) + " of " + strconv.Itoa(r.Window.Days()) + " days with data)"
}

// IdeaStatusText is where an idea stands, in the words every page uses: a
// done idea says why it is done (DESIGN.md 4), a rolled back one says so.
func IdeaStatusText(idea *domain.Idea, t domain.Timeline) string {
	switch {
	case t.RolledBack != nil:
		return "Rolled back"
	case t.Done && t.DoneBy == domain.DoneByVerdict && idea.Verdict != "":
		return "Done · verdict: " + string(idea.Verdict)
	case t.Done:
		return "Done · no key result"
	case t.Current == "":
		return "Not started"
	}
	return "In " + t.Current.Label()
}

// removalKind says what took an idea's last change out of production.
func removalKind(r *domain.Removal) string {
	if r.Rollback {
		return "rollback"
	}
	return "deployment of an older artifact"
}

func stallText(s *domain.Stall) string {
	return "stalled in " + s.Stage.Label() + " for " + strconv.Itoa(s.Days) + " days"
}

// tailID keeps the last 12 characters of a long identifier (an artifact
// digest), where versions differ; the whole id is in the title and the CSV.
func tailID(s string) string {
	if len(s) <= 16 {
		return s
	}
	return "…" + s[len(s)-12:]
}
