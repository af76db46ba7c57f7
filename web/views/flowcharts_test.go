package views

import (
	"strings"
	"testing"
)

// An item far older than the rest (a producer's clock said 1970) does not
// press the others onto the axis: the scale stops at ten times the typical
// top and the item sits on the top edge, counted; without such an item
// nothing is cut. An axis past two years counts years.
func TestAgingScaleKeepsOutliersFromFlatteningTheChart(t *testing.T) {
	stages := []string{"Code", "Deploy"}
	pts := func(ages ...float64) []AgingPoint {
		var out []AgingPoint
		for i, a := range ages {
			out = append(out, AgingPoint{Stage: i % 2, AgeDays: a, Label: strings.Repeat("x", i+1), Class: "dot-ok"})
		}
		return out
	}
	refs := []RefLine{{Label: "85 %", Value: 12}, {Label: "95 %", Value: 20}}
	for _, tc := range []struct {
		name     string
		chart    AgingChart
		offScale int
		topTick  string // the highest tick label and unit
	}{
		// Ages 2, 5, 9 and 20791 days against a 95 % line of 20 d: the
		// scale reaches 10 × 20 d; the outlier is cut; the axis is 0–20 d
		// in steps of 5.
		{"outlier with lines", AgingChart{Stages: stages, Points: pts(2, 5, 9, 20791), Percentiles: refs}, 1, "20 d"},
		// No lines: the upper quartile (9 d, the third of four) sets it:
		// 0–9 in steps of 2 rounds out to 10.
		{"outlier without lines", AgingChart{Stages: stages, Points: pts(2, 5, 9, 20791)}, 1, "10 d"},
		// Old but within 10×: drawn, not cut (0–150 in steps of 50).
		{"old, not absurd", AgingChart{Stages: stages, Points: pts(2, 5, 9, 150), Percentiles: refs}, 0, "150 d"},
		// One item alone is its own scale: 56.9 years, ticks in years
		// (0–56.9 in steps of 20 rounds out to 60).
		{"a lone outlier", AgingChart{Stages: stages, Points: pts(20791)}, 0, "60 y"},
	} {
		g := tc.chart.geom()
		if g.OffScale != tc.offScale {
			t.Errorf("%s: %d off the scale; want %d", tc.name, g.OffScale, tc.offScale)
		}
		if got := g.YTicks[len(g.YTicks)-1].Label; got != tc.topTick || !strings.HasSuffix(got, " "+g.Unit) {
			t.Errorf("%s: top tick %q; want %q", tc.name, got, tc.topTick)
		}
		for i, d := range g.Dots {
			cut := strings.Contains(d.Class, "dot-off-scale")
			if d.Y < g.Top || d.Y > g.H-g.Bot || (cut && d.Y != g.Top) {
				t.Errorf("%s: dot %d at y=%.1f (cut %v) is off the plot", tc.name, i, d.Y, cut)
			}
		}
		for _, tk := range g.YTicks {
			if len(tk.Label) > 6 {
				t.Errorf("%s: tick label %q is too wide for the margin", tc.name, tk.Label)
			}
		}
	}
}
