package domain

import (
	"math"
	"testing"
	"time"
)

// minuteSeries is three days of per-minute counts ending at end, each from
// f(minutes before end).
func minuteSeries(end time.Time, f func(ago int) (good, total float64)) []CountPoint {
	var out []CountPoint
	for ago := 3 * 24 * 60; ago >= 1; ago-- {
		g, t := f(ago)
		out = append(out, CountPoint{At: end.Add(-time.Duration(ago) * time.Minute), Counts: Counts{Good: g, Total: t}})
	}
	return out
}

func evaluateAt(s SLO, pts []CountPoint, asOf time.Time) SLOStatus {
	burn := map[time.Duration]Counts{}
	for _, d := range BurnWindows() {
		burn[d] = SumCounts(pts, asOf.Add(-d), asOf)
	}
	return EvaluateSLO(s, SumCounts(pts, asOf.Add(-s.Window()), asOf), burn, asOf)
}

func approx(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil || math.Abs(*got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func firing(st SLOStatus) []string {
	var out []string
	for _, a := range st.Firing() {
		out = append(out, a.Alert.Name)
	}
	return out
}

func TestBurnRatesSteadyBurn(t *testing.T) {
	// 2% errors every minute against a 99% target: every window burns at 2×.
	s := SLO{Target: 0.99, WindowDays: 28}
	end := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	pts := minuteSeries(end, func(int) (float64, float64) { return 98, 100 })
	st := evaluateAt(s, pts, end)
	for _, d := range BurnWindows() {
		approx(t, "burn over "+d.String(), st.BurnRates[d], 2)
	}
	// Only the 1× alert fires: 3 days and 6 hours both at 2 ≥ 1.
	if got := firing(st); len(got) != 1 || got[0] != "1x-3d" {
		t.Errorf("firing %v, want [1x-3d]", got)
	}
	// The window holds the three days: 432,000 events, 8,640 bad, 4,320
	// allowed: the budget is overspent by one whole budget.
	approx(t, "budget remaining", st.Remaining, -1)
	approx(t, "SLI", st.SLI, 0.98)
	if st.Posture != PostureFreeze {
		t.Errorf("posture %q", st.Posture)
	}
}

func TestBurnRatesSpikeOnlyTheShortWindowSees(t *testing.T) {
	// All good for three days, then the last five minutes fail completely.
	s := SLO{Target: 0.99, WindowDays: 30}
	end := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	pts := minuteSeries(end, func(ago int) (float64, float64) {
		if ago <= 5 {
			return 0, 100
		}
		return 100, 100
	})
	st := evaluateAt(s, pts, end)
	// 500 bad: of 500 in 5 m (burn 100), 3,000 in 30 m (16.67), 6,000 in 1 h
	// (8.33), 12,000 in 2 h (4.17), 36,000 in 6 h (1.39), 144,000 in 1 d
	// (0.347), 432,000 in 3 d (0.116).
	want := map[time.Duration]float64{
		5 * time.Minute: 100, 30 * time.Minute: 500.0 / 3000 / 0.01, time.Hour: 500.0 / 6000 / 0.01,
		2 * time.Hour: 500.0 / 12000 / 0.01, 6 * time.Hour: 500.0 / 36000 / 0.01,
		24 * time.Hour: 500.0 / 144000 / 0.01, 72 * time.Hour: 500.0 / 432000 / 0.01,
	}
	for d, w := range want {
		approx(t, "burn over "+d.String(), st.BurnRates[d], w)
	}
	// Every short window is over its factor, but no long window confirms:
	// nothing fires.
	if got := firing(st); len(got) != 0 {
		t.Errorf("firing %v on a five-minute spike", got)
	}
	// 500 bad of 4,320 allowed: 88.4% of the budget left.
	approx(t, "budget remaining", st.Remaining, 1-500.0/4320)
	if st.Posture != PostureNormal {
		t.Errorf("posture %q", st.Posture)
	}
}

func TestBurnRateAlertFiresAndRecovers(t *testing.T) {
	// Half the requests fail for an hour; then ten good minutes.
	s := SLO{Target: 0.99, WindowDays: 28}
	end := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	pts := minuteSeries(end, func(ago int) (float64, float64) {
		if ago > 10 && ago <= 70 {
			return 50, 100
		}
		return 100, 100
	})
	during := evaluateAt(s, pts, end.Add(-10*time.Minute))
	// At the end of the bad hour: 1 h burns 50×, 5 m 50×: the 14.4× alert
	// fires; 6 h: 3,000 bad of 36,000 → 8.33 over 6 with 30 m at 50: fires;
	// 1 d: 3,000 of 144,000 → 2.08 < 3: not; 3 d: 0.69 < 1: not.
	approx(t, "1h burn during", during.BurnRates[time.Hour], 50)
	approx(t, "6h burn during", during.BurnRates[6*time.Hour], 3000.0/36000/0.01)
	if got := firing(during); len(got) != 2 || got[0] != "14.4x-1h" || got[1] != "6x-6h" {
		t.Errorf("firing during the outage: %v", got)
	}
	if during.AlertKey() != "14.4x-1h,6x-6h" {
		t.Errorf("alert key %q", during.AlertKey())
	}
	after := evaluateAt(s, pts, end)
	// Ten minutes later the long windows still burn (1 h: 2,500 of 6,000 →
	// 41.7) but 5 m and 30 m (1,000 of 3,000 → 33.3; 30 m still over 6)…
	approx(t, "1h burn after", after.BurnRates[time.Hour], 2500.0/6000/0.01)
	approx(t, "5m burn after", after.BurnRates[5*time.Minute], 0)
	// …so the page on 1 h resets at once, the 6 h one holds while its 30 m
	// window still sees the outage.
	if got := firing(after); len(got) != 1 || got[0] != "6x-6h" {
		t.Errorf("firing after recovery: %v", got)
	}
	if (SLOStatus{}).AlertKey() != "" {
		t.Error("no alerts: empty key")
	}
}

func TestBudgetAndPosture(t *testing.T) {
	approx(t, "budget", BudgetRemaining(Counts{Good: 999500, Total: 1000000}, 0.999), 0.5)
	if BudgetRemaining(Counts{}, 0.999) != nil || BurnRate(Counts{}, 0.99) != nil {
		t.Error("no events: no budget, no burn")
	}
	f := func(x float64) *float64 { return &x }
	for _, c := range []struct {
		r    *float64
		want Posture
	}{
		{f(0.51), PostureNormal}, {f(0.5), PostureCaution}, {f(0.25), PostureCaution},
		{f(0.2499), PostureFreezeMinor}, {f(0.10), PostureFreezeMinor}, {f(0.0999), PostureFreeze},
		{f(-3), PostureFreeze}, {nil, PostureUnknown},
	} {
		if got := PostureOf(c.r); got != c.want {
			t.Errorf("PostureOf(%v) = %q, want %q", *orZero(c.r), got, c.want)
		}
	}
	if Worst(PostureCaution, PostureNormal) != PostureCaution || Worst(PostureUnknown, PostureFreeze) != PostureFreeze {
		t.Error("Worst")
	}
}

func orZero(p *float64) *float64 {
	if p == nil {
		z := math.NaN()
		return &z
	}
	return p
}

func TestBudgetHistory(t *testing.T) {
	// A 28-day SLO at 99%: 1,000 events a day; 5 bad a day, then a day of
	// 200 bad on 1 March.
	s := SLO{Target: 0.99, WindowDays: 28}
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var daily []CountPoint
	for d := 0; d < 40; d++ {
		day := start.AddDate(0, 0, d)
		bad := 5.0
		if day.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
			bad = 200
		}
		daily = append(daily, CountPoint{At: day, Counts: Counts{Good: 1000 - bad, Total: 1000}})
	}
	days := []time.Time{time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	h := BudgetHistory(s, daily, days)
	// 28 Feb: 28 days × 5 bad = 140 of 280 allowed → 0.5 (caution).
	approx(t, "28 Feb", h[0].Remaining, 0.5)
	// 1 Mar: 27 × 5 + 200 = 335 of 280 → −0.196 (change freeze).
	approx(t, "1 Mar", h[1].Remaining, 1-335.0/280)
	if h[0].Posture != PostureCaution || h[1].Posture != PostureFreeze {
		t.Errorf("postures %q %q", h[0].Posture, h[1].Posture)
	}
}

func TestSLOValidate(t *testing.T) {
	ok := SLO{Name: "checkout-availability", Service: "checkout", Good: MetricQuery{Metric: "http.good"}, Total: MetricQuery{Metric: "http.all"}, Target: 0.999, WindowDays: 28}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Fatalf("valid SLO refused: %v", errs)
	}
	bad := SLO{Name: "Checkout Availability", Target: 1, WindowDays: 7}
	errs := bad.Validate()
	for _, f := range []string{"name", "service", "good", "total", "target", "window"} {
		if errs[f] == "" {
			t.Errorf("no message for %s", f)
		}
	}
	if FormatTarget(0.999) != "99.9%" {
		t.Errorf("FormatTarget = %q", FormatTarget(0.999))
	}
}
