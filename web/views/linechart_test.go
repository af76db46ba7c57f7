package views

import "testing"

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
