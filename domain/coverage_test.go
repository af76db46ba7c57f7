package domain

import (
	"testing"
	"time"
)

// allCovered covers every day a test uses: data since 2000, seen in 2100.
var allCovered = Coverage{From: utcDay("2000-01-01"), Today: utcDay("2100-01-01")}

func TestCoveredDays(t *testing.T) {
	cov := NewCoverage(time.Date(2026, 9, 7, 13, 45, 0, 0, time.UTC), time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		from, to string
		want     int
		whole    bool
	}{
		{"2026-09-07", "2026-12-05", 90, true},  // the demo's 90 days, exactly
		{"2026-07-01", "2026-12-05", 90, false}, // two quarters: 158 days, 90 of them known
		{"2026-09-01", "2026-09-07", 1, false},  // the week of the first event: its last day only
		{"2026-08-01", "2026-08-31", 0, false},  // before the first event
		{"2026-12-01", "2026-12-31", 5, false},  // the month to date: 1–5 December
		{"2026-12-06", "2026-12-31", 0, false},  // entirely after today
		{"2026-10-05", "2026-10-11", 7, true},   // a week inside
	} {
		w := Window{From: utcDay(tc.from), To: utcDay(tc.to)}
		if got := cov.Days(w); got != tc.want {
			t.Errorf("%s..%s: %d covered days, want %d", tc.from, tc.to, got, tc.want)
		}
		if got := cov.Whole(w); got != tc.whole {
			t.Errorf("%s..%s: whole %v, want %v", tc.from, tc.to, got, tc.whole)
		}
	}
	if none := NewCoverage(time.Time{}, time.Now()); none.Days(Window{From: utcDay("2026-01-01"), To: utcDay("2026-01-31")}) != 0 {
		t.Error("an empty store covers no day")
	}
}

func TestPerDayDividesByCoveredDays(t *testing.T) {
	// 261 deployments since 7 September, seen on 5 December: 90 covered days.
	cov := NewCoverage(utcDay("2026-09-07"), utcDay("2026-12-05"))
	twoQuarters := Window{From: utcDay("2026-07-01"), To: utcDay("2026-12-05")}
	r := Report(twoQuarters, cov, DORAFacts{Deployments: 261, NonRollback: 250})
	if r.CoveredDays != 90 || r.PerDay == nil || *r.PerDay != 2.9 || r.FreqTier == nil || *r.FreqTier != TierElite {
		t.Errorf("two quarters: covered %d, per day %v, tier %v; want 90, 2.9, elite", r.CoveredDays, deref(r.PerDay), r.FreqTier)
	}
	// A month before the first event: nothing known, so no rate and no
	// tier, though the count is a real zero.
	august := Window{From: utcDay("2026-08-01"), To: utcDay("2026-08-31")}
	r = Report(august, cov, DORAFacts{})
	if r.CoveredDays != 0 || r.PerDay != nil || r.FreqTier != nil || r.Deployments != 0 {
		t.Errorf("before coverage: %+v", r)
	}
	// Covered days without deployments: a real 0 per day, tier null.
	r = Report(Window{From: utcDay("2026-10-05"), To: utcDay("2026-10-11")}, cov, DORAFacts{})
	if r.PerDay == nil || *r.PerDay != 0 || r.FreqTier != nil {
		t.Errorf("covered week without deployments: per day %v tier %v; want 0, null", deref(r.PerDay), r.FreqTier)
	}
}

func TestCompareOnlyWithAWhollyCoveredPreviousPeriod(t *testing.T) {
	cov := NewCoverage(utcDay("2026-09-07"), utcDay("2026-12-05"))
	m, _ := TrendMetricByKey("deployment_frequency")
	quarter := Window{From: utcDay("2026-10-01"), To: utcDay("2026-12-05")} // 66 days
	prev := PreviousWindow(quarter)                                         // 26 Jul – 30 Sep: 24 covered
	cur := Report(quarter, cov, DORAFacts{Deployments: 191})
	before := Report(prev, cov, DORAFacts{Deployments: 70})
	c, why := CompareWithPrevious(m, cur, before)
	if c.Verdict != "" || c.Previous != nil || why != "the previous period is only partly covered (24 of 66 days), so it is not compared" {
		t.Errorf("partly covered previous period compared: %+v, %q", c, why)
	}
	// Wholly covered and enough deployments: compared, 2.9 vs 2.0 per day.
	w := Window{From: utcDay("2026-11-06"), To: utcDay("2026-12-05")}
	cur = Report(w, cov, DORAFacts{Deployments: 87})
	before = Report(PreviousWindow(w), cov, DORAFacts{Deployments: 60})
	c, why = CompareWithPrevious(m, cur, before)
	if why != "" || c.Verdict != "better" || c.Relative == nil || *c.Relative < 0.449 || *c.Relative > 0.451 {
		t.Errorf("compare 2.9 with 2.0 per day: %+v %q", c, why)
	}
	// Wholly covered but too few deployments.
	before = Report(PreviousWindow(w), cov, DORAFacts{Deployments: 9})
	if _, why = CompareWithPrevious(m, cur, before); why != "too little earlier data to compare (9 deployments in the previous period)" {
		t.Errorf("few deployments: %q", why)
	}
}
