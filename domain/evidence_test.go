package domain

import (
	"math"
	"testing"
	"time"
)

func TestStudentTQuantileMatchesTables(t *testing.T) {
	// Two-sided 95 % critical values from standard t tables.
	for df, want := range map[float64]float64{1: 12.7062, 2: 4.3027, 5: 2.5706, 10: 2.2281, 30: 2.0423, 1000: 1.9623} {
		if got := StudentTQuantile(0.975, df); math.Abs(got-want) > 5e-4 {
			t.Errorf("t(0.975, %v) = %.5f; want %.4f", df, got, want)
		}
	}
	if got := StudentTQuantile(0.95, 10); math.Abs(got-1.8125) > 5e-4 {
		t.Errorf("t(0.95, 10) = %.5f; want 1.8125", got)
	}
	// Fractional degrees of freedom fall between their neighbours.
	if got := StudentTQuantile(0.975, 7.5); got <= 2.3060 || got >= 2.3646 {
		t.Errorf("t(0.975, 7.5) = %v; want between t(8)=2.3060 and t(7)=2.3646", got)
	}
}

func days(from time.Time, vals ...float64) []DailyValue {
	out := make([]DailyValue, len(vals))
	for i, v := range vals {
		out[i] = DailyValue{Day: from.AddDate(0, 0, i), Value: v}
	}
	return out
}

// A deployment on Wednesday 11 March 2026; six days before and six after.
var deployed = time.Date(2026, 3, 11, 15, 0, 0, 0, time.UTC)

func TestEvidenceWelchByHand(t *testing.T) {
	// before: 10 12 11 13 9 11 → mean 11, sample variance (1+1+0+4+4+0)/5 = 2
	// after:  the same + 2    → mean 13, variance 2
	// difference 2; se = √(2/6 + 2/6) = 0.816497; df = 2(n−1) = 10 (equal n and
	// variances); t(0.975, 10) = 2.228139 → interval 2 ± 1.819270.
	daily := append(days(deployed.AddDate(0, 0, -6), 10, 12, 11, 13, 9, 11), DailyValue{Day: deployed, Value: 99}) // deploy day: left out
	daily = append(daily, days(deployed.AddDate(0, 0, 1), 12, 14, 13, 15, 11, 13)...)
	ev := CompareAround(deployed, 14, daily, Increase, deployed.AddDate(0, 0, 30))
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-4 }
	if len(ev.Before) != 6 || len(ev.After) != 6 || !near(ev.BeforeMean, 11) || !near(ev.AfterMean, 13) ||
		!near(ev.Difference, 2) || !near(ev.Low, 0.180730) || !near(ev.High, 3.819270) || !near(ev.DegreesOfFreedom, 10) ||
		!near(ev.RelativeChange, 2.0/11) || ev.Verdict != EvidenceMoved || ev.WindowOpen {
		t.Fatalf("evidence %+v low %v high %v", ev, deref(ev.Low), deref(ev.High))
	}
	// The same data, for a key result that should go down: harmed.
	if ev := CompareAround(deployed, 14, daily, Decrease, deployed.AddDate(0, 0, 30)); ev.Verdict != EvidenceHarmed {
		t.Fatalf("decrease: %v", ev.Verdict)
	}
	// Going down by 2 for a key result that should go down: moved.
	down := append(days(deployed.AddDate(0, 0, -6), 12, 14, 13, 15, 11, 13), days(deployed.AddDate(0, 0, 1), 10, 12, 11, 13, 9, 11)...)
	if ev := CompareAround(deployed, 14, down, Decrease, deployed); ev.Verdict != EvidenceMoved || !ev.WindowOpen {
		t.Fatalf("moved down: %v open %v", ev.Verdict, ev.WindowOpen)
	}
}

func TestEvidenceNoEffectAndInconclusive(t *testing.T) {
	same := append(days(deployed.AddDate(0, 0, -6), 10, 12, 11, 13, 9, 11), days(deployed.AddDate(0, 0, 1), 11, 10, 12, 9, 13, 11)...)
	if ev := CompareAround(deployed, 14, same, Increase, deployed); ev.Verdict != EvidenceNoEffect || *ev.Difference != 0 {
		t.Fatalf("same data: %v %v", ev.Verdict, *ev.Difference)
	}
	// Four days after the deployment: too few.
	short := append(days(deployed.AddDate(0, 0, -6), 10, 12, 11, 13, 9, 11), days(deployed.AddDate(0, 0, 1), 20, 21, 22, 23)...)
	ev := CompareAround(deployed, 14, short, Increase, deployed)
	if ev.Verdict != EvidenceInconclusive || ev.Difference != nil || ev.Reason != "fewer than 5 days of data on a side (6 days before, 4 days after)" {
		t.Fatalf("short: %v %q", ev.Verdict, ev.Reason)
	}
	// Days outside the window do not count: 14 days before means from 25 Feb.
	far := append(days(deployed.AddDate(0, 0, -30), 1, 1, 1, 1, 1, 1, 1), days(deployed.AddDate(0, 0, 15), 5, 5, 5, 5, 5, 5)...)
	if ev := CompareAround(deployed, 14, far, Increase, deployed); len(ev.Before) != 0 || len(ev.After) != 0 {
		t.Fatalf("outside the window: %d before %d after", len(ev.Before), len(ev.After))
	}
	// Constant samples: the interval is the difference itself.
	flat := append(days(deployed.AddDate(0, 0, -5), 3, 3, 3, 3, 3), days(deployed.AddDate(0, 0, 1), 4, 4, 4, 4, 4)...)
	if ev := CompareAround(deployed, 14, flat, Increase, deployed); ev.Verdict != EvidenceMoved || *ev.Low != 1 || ev.DegreesOfFreedom != nil {
		t.Fatalf("flat: %+v", ev)
	}
}

func TestKeyResultProgress(t *testing.T) {
	kr := KeyResult{Baseline: 0.031, Target: 0.036, Direction: Increase}
	f := func(v float64) *float64 { return &v }
	// Not clamped: past the target is above 1, below the baseline below 0.
	for cur, want := range map[float64]float64{0.031: 0, 0.0335: 0.5, 0.036: 1, 0.041: 2, 0.0285: -0.5} {
		if got := kr.Progress(f(cur)); math.Abs(*got-want) > 1e-9 {
			t.Errorf("progress at %v = %v; want %v", cur, *got, want)
		}
	}
	down := KeyResult{Baseline: 820, Target: 610, Direction: Decrease}
	if got := down.Progress(f(715)); math.Abs(*got-0.5) > 1e-9 {
		t.Errorf("decrease progress %v", *got)
	}
	if got := down.Progress(f(925)); math.Abs(*got+0.5) > 1e-9 {
		t.Errorf("a decrease that went up: progress %v; want -0.5", *got)
	}
	if kr.Progress(nil) != nil {
		t.Error("progress without data")
	}
	if errs := (KeyResult{Title: "x", Metric: "m", Baseline: 5, Target: 3, Direction: Increase}).Validate(); errs["target"] == "" {
		t.Error("increase to a lower target accepted")
	}
}

func TestStageTimeline(t *testing.T) {
	h := func(x float64) time.Time { return deployed.Add(time.Duration(x * float64(time.Hour))) }
	now := h(24 * 30)
	it := FlowItem{HasKeyResult: true}
	for trig, at := range map[Trigger]time.Time{
		TrigIdeaPlanned: h(-200), TrigChange: h(-100), TrigBuild: h(-90), TrigArtifactPublished: h(-20),
		TrigDeployProd: h(0), TrigOperate: h(30), TrigKeyResult: h(30),
	} {
		it.Signals.Note(trig, at)
	}
	tl := StageTimeline(&it, now)
	if tl.Current != StageMonitor || tl.Entered[StageOperate] != h(30) || tl.Entered[StageMonitor] != h(30) || tl.Done {
		t.Fatalf("timeline %+v", tl)
	}
	// No test event: Test is shown as skipped.
	if len(tl.Skipped) != 1 || tl.Skipped[0] != StageTest {
		t.Fatalf("skipped %v", tl.Skipped)
	}
	// Before the day has passed: Deploy; events after now do not count.
	if tl := StageTimeline(&it, h(10)); tl.Current != StageDeploy || len(tl.Entered) != 5 {
		t.Fatalf("at +10h: %+v", tl)
	}
	// A verdict closes it.
	it.Verdict = h(24 * 20).UnixMicro()
	if tl := StageTimeline(&it, now); tl.Current != StageMonitor || !tl.Done {
		t.Fatalf("verdict: %+v", tl)
	}
	// Without a key result, Operate is the last stage and reaching it is done.
	it = FlowItem{Signals: it.Signals}
	it.Signals[TrigKeyResult] = 0
	if tl := StageTimeline(&it, now); tl.Current != StageOperate || !tl.Done {
		t.Fatalf("no key result: %+v", tl)
	}
	// Planned after coding began: the entry times are shown as they happened.
	it.Signals[TrigIdeaPlanned] = h(-50).UnixMicro()
	if tl := StageTimeline(&it, now); tl.Entered[StagePlan] != h(-50) || len(tl.Skipped) != 1 {
		t.Fatalf("reordered: %+v", tl)
	}
	if StageMonitor.Label() != "Monitor" || StageDeploy.Index() != 5 {
		t.Error("labels")
	}
}
