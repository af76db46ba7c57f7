package domain

import (
	"math"
	"testing"
	"time"
)

func utcDay(s string) time.Time {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestTrendMetricsReadReportsInDisplayUnits(t *testing.T) {
	// 12 deployments over 4 days, lead median 2 days, 1 of 10 non-rollback
	// failed, recovery median 90 minutes, 3 rework of 12.
	lead := []float64{1 * day, 2 * day, 5 * day}
	w := Window{From: utcDay("2026-03-01"), To: utcDay("2026-03-04")}
	r := Report(w, allCovered, DORAFacts{Deployments: 12, NonRollback: 10, Failed: 1, Rework: 3, LeadTimes: lead, RecoveryTimes: []float64{5400}})
	want := map[string]struct {
		value float64
		tier  Tier
	}{
		"deployment_frequency": {3, TierElite},
		"lead_time":            {2, TierHigh},
		"change_failure_rate":  {10, TierHigh},
		"recovery_time":        {1.5, TierHigh},
		"rework_rate":          {25, ""},
	}
	ms := TrendMetrics()
	if len(ms) != len(want) {
		t.Fatalf("%d metrics, want %d", len(ms), len(want))
	}
	for _, m := range ms {
		w := want[m.Key]
		v := m.Value(r)
		if v == nil || math.Abs(*v-w.value) > 1e-9 {
			t.Errorf("%s = %v, want %v", m.Key, v, w.value)
		}
		if m.Tier == nil {
			if w.tier != "" {
				t.Errorf("%s has no tier func", m.Key)
			}
			continue
		}
		if got := m.Tier(r); got == nil || *got != w.tier {
			t.Errorf("%s tier = %v, want %s", m.Key, got, w.tier)
		}
		// The band holding the value is the tier the rules give.
		found := false
		for _, b := range m.Bands {
			in := *v >= b.From && *v < b.To
			if m.Key == "change_failure_rate" { // thresholds are "at most"
				in = *v > b.From && *v <= b.To || *v == 0 && b.From == 0
			}
			if in {
				found = true
				if b.Tier != w.tier {
					t.Errorf("%s value %v lies in the %s band, tier is %s", m.Key, *v, b.Tier, w.tier)
				}
			}
		}
		if !found {
			t.Errorf("%s value %v in no band", m.Key, *v)
		}
	}
	// No failures recovered: no value, no tier.
	empty := Report(w, allCovered, DORAFacts{Deployments: 2, NonRollback: 2})
	m, _ := TrendMetricByKey("recovery_time")
	if m.Value(empty) != nil || m.Tier(empty) != nil {
		t.Error("recovery time without recoveries must be nil")
	}
}

func TestPreviousWindowAndCompare(t *testing.T) {
	w := Window{From: utcDay("2026-04-01"), To: utcDay("2026-06-30")} // 91 days
	p := PreviousWindow(w)
	if got := p.From.Format(DateLayout) + ".." + p.To.Format(DateLayout); got != "2025-12-31..2026-03-31" {
		t.Fatalf("previous = %s", got)
	}
	if p.Days() != w.Days() {
		t.Fatalf("previous has %d days, want %d", p.Days(), w.Days())
	}
	f := func(x float64) *float64 { return &x }
	cases := []struct {
		cur, prev *float64
		higher    bool
		verdict   string
		delta     float64
		rel       float64
	}{
		{f(3), f(2), true, "better", 1, 0.5},
		{f(3), f(2), false, "worse", 1, 0.5},
		{f(1.5), f(2), false, "better", -0.5, -0.25},
		{f(100.5), f(100), true, "same", 0.5, 0.005},
		{f(1), f(0), true, "better", 1, math.NaN()},
		{nil, f(1), true, "", 0, 0},
	}
	for i, c := range cases {
		ch := CompareValues(c.cur, c.prev, c.higher)
		if ch.Verdict != c.verdict {
			t.Errorf("case %d: verdict %q, want %q", i, ch.Verdict, c.verdict)
		}
		if c.verdict == "" {
			if ch.Delta != nil {
				t.Errorf("case %d: delta without both sides", i)
			}
			continue
		}
		if *ch.Delta != c.delta {
			t.Errorf("case %d: delta %v, want %v", i, *ch.Delta, c.delta)
		}
		if math.IsNaN(c.rel) != (ch.Relative == nil) || (ch.Relative != nil && math.Abs(*ch.Relative-c.rel) > 1e-12) {
			t.Errorf("case %d: relative %v, want %v", i, ch.Relative, c.rel)
		}
	}
}

func TestQuarters(t *testing.T) {
	w := Window{From: utcDay("2026-02-15"), To: utcDay("2026-07-10")}
	qs := w.Quarters()
	var got []string
	for _, q := range qs {
		got = append(got, QuarterLabel(q.BucketStart)+" "+q.From.Format(DateLayout)+".."+q.To.Format(DateLayout))
	}
	want := []string{"2026 Q1 2026-02-15..2026-03-31", "2026 Q2 2026-04-01..2026-06-30", "2026 Q3 2026-07-01..2026-07-10"}
	if len(got) != len(want) {
		t.Fatalf("quarters = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("quarter %d = %s, want %s", i, got[i], want[i])
		}
	}
}

func TestVerdictSharesAndAwaiting(t *testing.T) {
	shipped := func(s string) FlowItem {
		var it FlowItem
		if s != "" {
			it.Signals.Note(TrigDeployProd, utcDay(s).Add(10*time.Hour))
		}
		return it
	}
	ideas := []Idea{
		{Key: "A-1", Verdict: VerdictValidated, KeyResults: []int64{1}},    // Q1
		{Key: "A-2", Verdict: VerdictInvalidated, KeyResults: []int64{1}},  // Q1
		{Key: "A-3", KeyResults: []int64{1}},                               // Q1, awaiting
		{Key: "A-4", Verdict: VerdictInconclusive, KeyResults: []int64{1}}, // Q2
		{Key: "A-5", KeyResults: []int64{1}},                               // Q2, awaiting
		{Key: "A-6"},                                                       // Q2, no key result: shipped and awaiting a verdict
		{Key: "A-7", KeyResults: []int64{1}},                               // not shipped
		{Key: "A-8", Archived: true, KeyResults: []int64{1}},               // archived
		{Key: "A-9", Verdict: VerdictValidated},                            // shipped before the window
	}
	items := map[string]FlowItem{
		"A-1": shipped("2026-01-10"), "A-2": shipped("2026-03-31"), "A-3": shipped("2026-02-01"),
		"A-4": shipped("2026-04-01"), "A-5": shipped("2026-05-20"), "A-6": shipped("2026-06-01"),
		"A-7": shipped(""), "A-8": shipped("2026-02-02"), "A-9": shipped("2025-12-31"),
	}
	w := Window{From: utcDay("2026-01-01"), To: utcDay("2026-06-30")}
	got := VerdictShares(ideas, items, w.Quarters())
	want := []VerdictShare{
		{Shipped: 3, Validated: 1, Invalidated: 1, Awaiting: 1},
		{Shipped: 3, Inconclusive: 1, Awaiting: 2},
	}
	for i := range want {
		g := got[i]
		g.Window = Window{}
		if g != want[i] {
			t.Errorf("quarter %d = %+v, want %+v", i, g, want[i])
		}
	}
	if s := got[0].Share(got[0].Validated); s == nil || math.Abs(*s-1.0/3) > 1e-12 {
		t.Errorf("validated share = %v, want 1/3", s)
	}
	if (VerdictShare{}).Share(0) != nil {
		t.Error("share of nothing shipped must be nil")
	}

	aw := IdeasAwaitingVerdict(ideas, items, utcDay("2026-06-10"))
	if len(aw) != 3 || aw[0].Idea.Key != "A-3" || aw[1].Idea.Key != "A-5" || aw[2].Idea.Key != "A-6" || aw[2].HasKeyResult {
		t.Fatalf("awaiting = %+v", aw)
	}
	// A-3 shipped 2026-02-01 10:00; at 2026-06-10 00:00 that is 128 days and 14 hours.
	if aw[0].Days != 128 || aw[1].Days != 20 {
		t.Errorf("days = %d, %d; want 128, 20", aw[0].Days, aw[1].Days)
	}
}

func TestKRProgressSeries(t *testing.T) {
	kr := KeyResult{Baseline: 10, Target: 20, Direction: Increase}
	daily := []DailyValue{
		{Day: utcDay("2026-01-05"), Value: 10}, {Day: utcDay("2026-01-06"), Value: 14}, // week 1: mean 12 → 0.2
		// week 2: no data
		{Day: utcDay("2026-01-19"), Value: 25}, // week 3: mean 25 → 1.5, past the target
	}
	w := Window{From: utcDay("2026-01-05"), To: utcDay("2026-01-25")}
	pts := KRProgressSeries(kr, daily, w.Buckets(BucketWeek))
	if len(pts) != 3 {
		t.Fatalf("%d points", len(pts))
	}
	if pts[0].Days != 2 || *pts[0].Mean != 12 || math.Abs(*pts[0].Progress-0.2) > 1e-12 {
		t.Errorf("week 1 = %+v", pts[0])
	}
	if pts[1].Mean != nil || pts[1].Progress != nil {
		t.Errorf("week 2 has no data: %+v", pts[1])
	}
	if *pts[2].Progress != 1.5 {
		t.Errorf("week 3 progress = %v, want 1.5 (not clamped)", *pts[2].Progress)
	}
}
