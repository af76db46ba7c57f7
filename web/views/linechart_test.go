package views

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAxisLabels(t *testing.T) {
	for _, tc := range []struct {
		v, step float64
		want    string
	}{{10, 5, "10"}, {100, 50, "100"}, {0, 5, "0"}, {0.035, 0.005, "0.035"}, {0.03, 0.005, "0.03"}, {2.5, 0.5, "2.5"}, {-0.0, 1, "0"}} {
		if got := formatValue(tc.v, tc.step); got != tc.want {
			t.Errorf("formatValue(%v, %v) = %q; want %q", tc.v, tc.step, got, tc.want)
		}
	}
	for raw, want := range map[float64]float64{0.7: 1, 1.3: 2, 3: 5, 7: 10, 0.013: 0.02} {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v; want %v", raw, got, want)
		}
	}
}

func day(d int) time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }

func pts(vs ...float64) []TimePoint {
	var out []TimePoint
	for i, v := range vs {
		if math.IsNaN(v) {
			out = append(out, GapAt(day(7*i)))
		} else {
			out = append(out, TimePoint{At: day(7 * i), Value: v})
		}
	}
	return out
}

// A period without data breaks the line and is listed empty, never as 0.
func TestGapBreaksTheLine(t *testing.T) {
	gap := math.NaN()
	for _, tc := range []struct {
		name     string
		points   []TimePoint
		subpaths int
		dots     int
		empty    bool
	}{
		{"no gaps", pts(1, 2, 3), 1, 3, false},
		{"gap in the middle", pts(1, 2, gap, 3, 4), 2, 4, false},
		{"leading gaps", pts(gap, gap, 3, 4), 1, 2, false},
		{"a point alone between gaps", pts(1, 2, gap, 5, gap, 3), 3, 4, false},
		{"only gaps", pts(gap, gap), 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := LineChart{Title: "x", Points: tc.points}.geom()
			if g.Empty != tc.empty {
				t.Fatalf("empty = %v; want %v", g.Empty, tc.empty)
			}
			if n := strings.Count(g.Path, "M"); n != tc.subpaths {
				t.Errorf("path %q has %d pieces; want %d", g.Path, n, tc.subpaths)
			}
			if len(g.Dots) != tc.dots {
				t.Errorf("%d dots; want %d", len(g.Dots), tc.dots)
			}
		})
	}
	// A gap does not pull the axis to zero: its value is not data.
	g := LineChart{Title: "x", Points: pts(50, gap, 60)}.geom()
	for _, tk := range g.YTicks {
		if tk.Label == "-10" {
			t.Errorf("axis reaches below zero for a gap: %v", g.YTicks)
		}
	}
}

func TestGapIsAnEmptyCell(t *testing.T) {
	tab := LineChart{Title: "Lead time", Unit: "days", Points: pts(1.5, math.NaN(), 2)}.Table("lt")
	var got []string
	for _, r := range tab.Rows {
		got = append(got, r[1])
	}
	if want := []string{"1.5", "", "2"}; !slices.Equal(got, want) {
		t.Errorf("cells %q; want %q", got, want)
	}
	bars := StackedBars{Labels: []string{"Jan", "Feb", "Mar"}, NoData: []bool{true, false, false},
		Series: []BarSeries{{Name: "feature", Class: "bar-feature", Values: []float64{0, 2, 0}}}}
	got = nil
	for _, r := range bars.Table("b").Rows {
		got = append(got, r[1])
	}
	if want := []string{"", "2", "0"}; !slices.Equal(got, want) {
		t.Errorf("bar cells %q; want %q", got, want)
	}
	nodata := 0
	for _, b := range bars.geom().Bars {
		if strings.HasPrefix(b.Title, "Jan") && b.Class != "bar-nodata" {
			t.Errorf("a bar is drawn for a period without data: %+v", b)
		}
		if b.Class == "bar-nodata" {
			nodata++
		}
	}
	if nodata != 1 {
		t.Errorf("%d periods drawn as without data; want 1", nodata)
	}
}
