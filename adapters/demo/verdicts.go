package demo

import (
	"strings"
	"time"
)

// evidenceWindow is Throughline's default --evidence-window: the days after
// an idea's first production deployment its key result is watched.
const evidenceWindow = 14 * 24 * time.Hour

// verdicts records a product manager's verdict on each shipped idea with a
// key result whose evidence window closed at least a day before the end of
// the history: one to four days after it closed, on a working day when the
// draw allows. An idea is validated when its telemetry moves its metric
// (outcomeMetrics), invalidated otherwise.
func (g *generator) verdicts(ideas []IdeaSpec, shipped map[string]time.Time) map[string]Verdict {
	moves := map[string]bool{}
	for _, m := range outcomeMetrics() {
		moves[m.idea] = true
	}
	out := map[string]Verdict{}
	for _, idea := range ideas {
		first, ok := shipped[idea.Key]
		if !ok || idea.KeyResult == nil {
			continue
		}
		closed := first.Add(evidenceWindow)
		room := g.end.Sub(closed)
		if room <= 24*time.Hour {
			continue
		}
		at := g.workingTime(func() time.Time {
			return closed.Add(g.dur(24*time.Hour, min(4*24*time.Hour, room)))
		}).Truncate(time.Second)
		v := Verdict{Verdict: "invalidated", At: at}
		if moves[idea.Key] {
			v.Verdict = "validated"
		}
		v.Note = verdictNote(idea, moves[idea.Key])
		out[idea.Key] = v
	}
	return out
}

// verdictNote is what the product manager wrote with the verdict.
func verdictNote(idea IdeaSpec, validated bool) string {
	if validated {
		switch idea.Key {
		case "CHK-12":
			return "Conversion went from 3.1 % to about 3.6 % in the two weeks after launch, so one-page checkout stays and express checkout builds on it."
		case "PAY-3":
			return "Payment success rose from 96.2 % to about 97.5 % once soft declines were retried, the lift we hoped for."
		case "SRCH-40":
			return "Click-through climbed from 41 % to about 46 % after typo tolerance shipped, so the hypothesis holds."
		case "CAT-7":
			return "Product pages now load in about 610 ms at p95 instead of 820 ms, so caching did what we expected."
		}
		return "The key result moved the way we hoped in the two weeks after " + strings.ToLower(idea.Title) + " shipped."
	}
	switch idea.Key {
	case "SRCH-41":
		return "Click-through stayed at about 46 % after synonyms shipped; shoppers rarely hit the gaps we expected, so we stop investing here."
	case "CHK-15":
		return "Conversion did not move after saved cards launched; returning shoppers like it, but it is not the lever we hoped for."
	}
	return "The key result did not move in the two weeks after " + strings.ToLower(idea.Title) + " shipped, so the hypothesis does not hold."
}
