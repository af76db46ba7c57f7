package domain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// d0 is Monday 2 March 2026; the tests place events in days from it.
var d0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func dayN(x float64) time.Time { return d0.Add(time.Duration(x * 24 * float64(time.Hour))) }

// item builds a flow item from trigger → day offset.
func item(key string, typ FlowType, h Horizon, sig map[Trigger]float64) FlowItem {
	it := FlowItem{Key: key, Title: "Item " + key, Type: typ, Horizon: h, Team: "core"}
	for t, x := range sig {
		it.Signals.Note(t, dayN(x))
	}
	return it
}

// reviewStream: five stages with a review queue; Operate is the last stage
// items without a key result can reach, so they are done there.
func reviewStream() *ValueStream {
	return &ValueStream{ID: 7, Name: "Core", Teams: []string{"core"}, Stages: []StageDef{
		{Name: "Plan", Kind: StageWait, Rule: []Trigger{TrigIdeaPlanned}},
		{Name: "Code", Kind: StageActive, Rule: []Trigger{TrigChange}},
		{Name: "Review", Kind: StageWait, Rule: []Trigger{TrigChangeReviewed}},
		{Name: "Deploy", Kind: StageActive, WIPLimit: 1, Rule: []Trigger{TrigDeployProd}},
		{Name: "Operate", Kind: StageWait, Rule: []Trigger{TrigOperate}},
	}}
}

// flowItems is the hand-worked dataset of TestFlowByHand.
func flowItems() []FlowItem {
	P, C, R, D, O := TrigIdeaPlanned, TrigChange, TrigChangeReviewed, TrigDeployProd, TrigOperate
	j := item("J", FlowFeature, HorizonNow, map[Trigger]float64{P: 0, C: 0.5, R: 2, D: 3, O: 4, TrigKeyResult: 4})
	j.HasKeyResult, j.Verdict = true, dayN(11).UnixMicro()
	c := item("C", FlowFeature, HorizonNow, map[Trigger]float64{P: 1, C: 3, R: 10})
	c.HasKeyResult = true
	g := item("G", FlowFeature, HorizonNow, map[Trigger]float64{P: 1, C: 2})
	g.Archived = true
	h := item("H", FlowFeature, HorizonNow, map[Trigger]float64{P: 1, C: 2})
	h.Team = "other"
	return []FlowItem{
		item("A", FlowFeature, HorizonNow, map[Trigger]float64{P: 0, C: 1, R: 3, D: 4, O: 5}),
		item("B", FlowDefect, HorizonNow, map[Trigger]float64{P: 2, C: 2, R: 6, D: 8, O: 9}),
		c,
		item("D", FlowDebt, HorizonNow, map[Trigger]float64{P: -5, C: -3, R: -1, D: 3, O: 4}),
		// E: never planned, no review, an incident holds it in Deploy.
		item("E", FlowRisk, HorizonNow, map[Trigger]float64{C: 5, D: 7}),
		// F: moved to Now (planned) after work started.
		item("F", FlowFeature, HorizonNext, map[Trigger]float64{P: 6, C: 4}),
		g, h,
		item("I", FlowFeature, HorizonNow, nil),
		j,
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func days2s(x float64) float64 { return x * 86400 }

func wantDur(t *testing.T, name string, got *float64, wantDays float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil; want %v days", name, wantDays)
	} else if !near(*got, days2s(wantDays)) {
		t.Errorf("%s = %v days; want %v days", name, *got/86400, wantDays)
	}
}

func TestJourneyRules(t *testing.T) {
	v := reviewStream()
	at := func(x float64) int64 { return dayN(x).UnixMicro() }
	items := flowItems()
	// F: planned on day 6 but coding from day 4: Plan is taken as entered
	// and left on day 4.
	f := v.JourneyOf(&items[5], at(20))
	if !f.Reordered || f.Entered[0] != at(4) || f.Raw[0] != at(6) || f.Current != 1 || f.Done != 0 || f.Start != at(4) {
		t.Fatalf("F: %+v", f)
	}
	// E: Plan and Review skipped, visibly.
	e := v.JourneyOf(&items[4], at(20))
	if !e.Skipped(0) || e.Skipped(1) || !e.Skipped(2) || e.Current != 3 || e.Exit(1, 5) != at(7) {
		t.Fatalf("E: %+v", e)
	}
	// A: no key result, done on entering Operate.
	a := v.JourneyOf(&items[0], at(20))
	if a.Done != at(5) || a.Current != 4 || a.Exit(4, 5) != at(5) {
		t.Fatalf("A: %+v", a)
	}
	// As known on day 3.5: in Review, not done; later evidence does not count.
	if a := v.JourneyOf(&items[0], at(3.5)); a.Current != 2 || a.Done != 0 || a.Entered[3] != 0 {
		t.Fatalf("A on day 3.5: %+v", a)
	}
	// J: linked to a key result, so done only with its verdict (day 11).
	if j := v.JourneyOf(&items[9], at(10)); j.Done != 0 || j.Current != 4 {
		t.Fatalf("J before verdict: %+v", j)
	}
	if j := v.JourneyOf(&items[9], at(20)); j.Done != at(11) || j.Exit(4, 5) != at(11) {
		t.Fatalf("J after verdict: %+v", j)
	}
	// A verdict ends the journey: evidence after it is ignored.
	x := item("X", FlowFeature, HorizonNow, map[Trigger]float64{TrigIdeaPlanned: 0, TrigChange: 5})
	x.Verdict = at(2)
	if j := v.JourneyOf(&x, at(20)); j.Done != at(2) || j.Current != 0 || j.Entered[1] != 0 {
		t.Fatalf("X: %+v", j)
	}
	// Nothing matched: not started.
	if j := v.JourneyOf(&items[8], at(20)); j.Started() || j.Done != 0 {
		t.Fatalf("I: %+v", j)
	}
}

func TestFlowByHand(t *testing.T) {
	v := reviewStream()
	w, _ := NewWindow(d0, dayN(13)) // Mon 2 – Sun 15 March: 14 days
	r := ComputeFlow(v, flowItems(), w, dayN(18))
	if !r.AsOf.Equal(dayN(14)) {
		t.Fatalf("as of %v; want the end of the window", r.AsOf)
	}
	// Done in the window: A (day 5, 5 d), B (9, 7 d), D (4, 9 d), J (11, 11 d).
	if r.Done != 4 || !reflect.DeepEqual(r.Distribution, map[FlowType]int{FlowFeature: 2, FlowDefect: 1, FlowDebt: 1}) {
		t.Fatalf("done %d %v", r.Done, r.Distribution)
	}
	if r.FlowTime.Items != 4 {
		t.Fatalf("flow time items %d", r.FlowTime.Items)
	}
	wantDur(t, "flow time median", r.FlowTime.Median, 8) // (7+9)/2
	wantDur(t, "flow time mean", r.FlowTime.Mean, 8)
	wantDur(t, "flow time p85", r.FlowTime.P85, 11) // ⌈0.85·4⌉ = 4th
	// Active (Code + Deploy): A 2+1, B 4+1, D 2+1, J 1.5+1 = 13.5 of 32 days.
	if r.Efficiency == nil || !near(*r.Efficiency, 13.5/32) {
		t.Errorf("efficiency %v; want %v", r.Efficiency, 13.5/32)
	}
	// In progress at the end: C (Review), E (Deploy), F (Code).
	if r.WIP != 3 || !reflect.DeepEqual(r.WIPByType, map[FlowType]int{FlowFeature: 2, FlowRisk: 1}) {
		t.Errorf("WIP %d %v", r.WIP, r.WIPByType)
	}

	type st struct{ wip, arr, dep, skip int }
	want := []st{{0, 5, 5, 1}, {1, 6, 5, 0}, {1, 4, 4, 1}, {1, 5, 4, 0}, {0, 4, 4, 0}}
	medians := []float64{0.5, 2, 1.5, 1, 0}
	for i, s := range r.Stages {
		if got := (st{s.WIP, s.Arrivals, s.Departures, s.Skipped}); got != want[i] {
			t.Errorf("%s: wip/arrivals/departures/skipped %v; want %v", s.Name, got, want[i])
		}
		wantDur(t, s.Name+" median time", s.TimeInStage.Median, medians[i])
		if s.OverLimit {
			t.Errorf("%s over its limit", s.Name)
		}
	}
	wantDur(t, "Code p85", r.Stages[1].TimeInStage.P85, 7) // [1.5 2 2 4 7]
	wantDur(t, "Review oldest", r.Stages[2].OldestAge, 4)  // C since day 10
	// %activity: (2 + 1) / (0.5 + 2 + 1.5 + 1 + 0).
	if r.Activity == nil || !near(*r.Activity, 0.6) {
		t.Errorf("activity %v; want 0.6", r.Activity)
	}
	// Constraint: Code waits longest (2 days, 5 passed through, 6 arrived
	// and 5 left), but Review's 1.5 days is too close: 2/1.5 = 1.33 < 1.5.
	if r.Constraint != nil || r.Stages[1].Constraint ||
		r.NoConstraint != "Code has the longest median time in stage (2 d), but that is only 1.33× Review's 36 h; 1.5× is needed." {
		t.Errorf("constraint %+v, none because %q", r.Constraint, r.NoConstraint)
	}
	// A stream that asks for less evidence names it, with its numbers.
	lenient := reviewStream()
	lenient.ConstraintMinItems, lenient.ConstraintMinRatio = 5, 1.3
	rl := ComputeFlow(lenient, flowItems(), w, dayN(18))
	if c := rl.Constraint; c == nil || c.Name != "Code" || c.Basis != "time in stage" || !near(c.Seconds, days2s(2)) || c.Items != 5 ||
		c.Next != "Review" || !near(c.NextSeconds, days2s(1.5)) || c.Ratio == nil || !near(*c.Ratio, 4.0/3) ||
		c.Arrivals != 6 || c.Departures != 5 || c.WIP != 1 || !rl.Stages[1].Constraint || rl.Stages[3].Constraint || rl.NoConstraint != "" ||
		c.Reason != "Items wait longest here: a median of 2 d over the 5 that passed through, 1.33× Review's 36 h; and more arrived (6) than left (5) in the period — 1 still in it." {
		t.Errorf("lenient constraint %+v", rl.Constraint)
	}
	if rl.ConstraintRule != (ConstraintRule{MinItems: 5, MinRatio: 1.3}) || r.ConstraintRule != (ConstraintRule{MinItems: 5, MinRatio: 1.5}) {
		t.Errorf("rules %+v %+v", rl.ConstraintRule, r.ConstraintRule)
	}

	// Load: days in progress inside the window — A 5, B 7, C 13, D 4, E 9,
	// F 10, J 11 = 59 over 14 days.
	if r.Load == nil || !near(*r.Load, 59.0/14) {
		t.Errorf("load %v; want %v", r.Load, 59.0/14)
	}
	ll := r.LittlesLaw
	if !near(ll.Days, 14) || !near(ll.ThroughputPerDay, 4.0/14) || ll.PredictedLoad == nil || !near(*ll.PredictedLoad, 32.0/14) {
		t.Errorf("Little's law %+v", ll)
	}

	// Weeks: 2–8 March (A, D done; load 32/7; WIP at its end B C E F J) and
	// 9–15 March (B, J; 27/7; C E F).
	if len(r.Weeks) != 2 {
		t.Fatalf("weeks %d", len(r.Weeks))
	}
	w1, w2 := r.Weeks[0], r.Weeks[1]
	if !w1.Start.Equal(d0) || w1.Done != 2 || w1.WIP != 5 || !near(*w1.Load, 32.0/7) || !near(*w1.Efficiency, 6.0/14) ||
		!reflect.DeepEqual(w1.ByType, map[FlowType]int{FlowFeature: 1, FlowDebt: 1}) {
		t.Errorf("week 1 %+v", w1)
	}
	wantDur(t, "week 1 flow time", w1.FlowTime.Median, 7)
	if w2.Done != 2 || w2.WIP != 3 || !near(*w2.Load, 27.0/7) || !near(*w2.Efficiency, 7.5/18) {
		t.Errorf("week 2 %+v", w2)
	}
	wantDur(t, "week 2 flow time", w2.FlowTime.Median, 9)

	// Cumulative flow: reached each stage or later by the end of the day.
	if len(r.CFD.Days) != 14 || !reflect.DeepEqual(r.CFD.Series, []string{"Plan", "Code", "Review", "Deploy", "Operate", "Done"}) {
		t.Fatalf("cfd %v %v", len(r.CFD.Days), r.CFD.Series)
	}
	if got := r.CFD.Counts[0]; !reflect.DeepEqual(got, []int{3, 2, 1, 0, 0, 0}) {
		t.Errorf("cfd day 0 %v", got)
	}
	if got := r.CFD.Counts[4]; !reflect.DeepEqual(got, []int{6, 6, 3, 3, 2, 1}) {
		t.Errorf("cfd day 4 %v", got)
	}
	if got := r.CFD.Counts[13]; !reflect.DeepEqual(got, []int{7, 7, 6, 5, 4, 4}) {
		t.Errorf("cfd day 13 %v", got)
	}

	// Aging: C 13 d (Review), E 9 d (Deploy), F 10 d (Code) against flow
	// times 5 7 9 11: p50 7, p70 9, p85 11, p95 11.
	for i, want := range []float64{7, 9, 11, 11} {
		wantDur(t, "aging percentile", r.Aging.Percentiles[i], want)
	}
	type ag struct {
		key     string
		stage   int
		age, in float64
	}
	var got []ag
	for _, a := range r.Aging.Items {
		got = append(got, ag{a.Key, a.Stage, a.Age / 86400, a.InStage / 86400})
	}
	if !reflect.DeepEqual(got, []ag{{"F", 1, 10, 10}, {"C", 2, 13, 4}, {"E", 3, 9, 7}}) {
		t.Errorf("aging %v", got)
	}

	// A past period has no forecast; one that ends today does: Now and
	// not done — C, E, I; 4 finished in the 84 days up to day 13.5.
	if f := r.Forecast; f.Reason == "" || !f.P85.IsZero() {
		t.Errorf("forecast of a past period %+v", f)
	}
	today := ComputeFlow(v, flowItems(), w, dayN(13.5))
	if f := today.Forecast; f.Items != 3 || f.Finished != 4 || !near(f.Throughput, 4.0/84) || f.P50.IsZero() || f.P85.Before(f.P50) || f.P95.Before(f.P85) || f.P50.Before(dayN(14)) {
		t.Errorf("forecast %+v", f)
	}
}

func TestFlowWIPLimitAndNoConstraintWithoutDepartures(t *testing.T) {
	v := reviewStream()
	items := flowItems()
	// Two more in Deploy (limit 1), arrived in the window and still there.
	items = append(items,
		item("K", FlowFeature, HorizonNow, map[Trigger]float64{TrigChange: 1, TrigDeployProd: 2}),
		item("L", FlowFeature, HorizonNow, map[Trigger]float64{TrigChange: 1, TrigDeployProd: 2}))
	w, _ := NewWindow(d0, dayN(13))
	r := ComputeFlow(v, items, w, dayN(18))
	if s := r.Stages[3]; s.WIP != 3 || !s.OverLimit || s.Arrivals != 7 || s.Departures != 4 {
		t.Fatalf("deploy %+v", s)
	}
	// Deploy now gains 3 while Code gains 1; Code's median time (2 days, now
	// over [1.5 1 1 2 2 4 7]) is still the longest wait, still only 1.33×
	// Review's.
	if r.Constraint != nil || !strings.Contains(r.NoConstraint, "Code has the longest median time in stage (2 d), but that is only 1.33×") {
		t.Fatalf("constraint %+v, none because %q", r.Constraint, r.NoConstraint)
	}
	// A stream where nothing has left a stage yet: whatever waits there, no
	// item passed through a stage, so there is no evidence to name one.
	only := &ValueStream{ID: 1, Name: "One", Stages: []StageDef{
		{Name: "Queue", Kind: StageWait, Rule: []Trigger{TrigIdeaPlanned}},
		{Name: "Work", Kind: StageActive, Rule: []Trigger{TrigChange}},
	}}
	r = ComputeFlow(only, []FlowItem{
		item("M", FlowFeature, HorizonNow, map[Trigger]float64{TrigIdeaPlanned: 1}),
		item("N", FlowFeature, HorizonNow, map[Trigger]float64{TrigIdeaPlanned: 3}),
	}, w, dayN(18))
	if r.Constraint != nil || r.NoConstraint != "No item passed through a stage in this period, so there is no time in stage to compare." ||
		!near(*r.Stages[0].MedianAge, days2s(12)) { // ages 13 and 11
		t.Fatalf("constraint %+v, none because %q", r.Constraint, r.NoConstraint)
	}
	// No stage gains work: no constraint.
	r = ComputeFlow(only, nil, w, dayN(18))
	if r.Constraint != nil || r.Done != 0 || r.Efficiency != nil || r.FlowTime.Median != nil || r.Activity != nil {
		t.Fatalf("empty stream %+v", r)
	}
	if r.Load == nil || *r.Load != 0 || r.Forecast.Reason == "" {
		t.Fatalf("empty stream load %v forecast %+v", r.Load, r.Forecast)
	}
}

func TestLittlesLawOnASteadyStream(t *testing.T) {
	// One item starts every day at 06:00 and moves through the stages in
	// exactly 5 days: 1 day planned, 2 coding, 1 in review, 1 deploying.
	v := reviewStream()
	var items []FlowItem
	for s := -40; s < 60; s++ {
		x := float64(s) + 0.25
		items = append(items, item(fmt.Sprint("S", s), FlowFeature, HorizonNow, map[Trigger]float64{
			TrigIdeaPlanned: x, TrigChange: x + 1, TrigChangeReviewed: x + 3, TrigDeployProd: x + 4, TrigOperate: x + 5}))
	}
	w, _ := NewWindow(d0, dayN(27)) // four whole weeks
	r := ComputeFlow(v, items, w, dayN(40))
	ll := r.LittlesLaw
	// λ = 1 item/day, W = 5 days, L = 5 items at every instant.
	if r.Done != 28 || !near(ll.ThroughputPerDay, 1) || !near(*ll.MeanFlowDays, 5) || !near(*ll.Load, 5) || !near(*ll.PredictedLoad, *ll.Load) {
		t.Fatalf("Little's law %+v (done %d)", ll, r.Done)
	}
	for _, wk := range r.Weeks {
		if wk.Done != 7 || !near(*wk.Load, 5) || wk.WIP != 5 || !near(*wk.Efficiency, 3.0/5) {
			t.Errorf("week %v: done %d load %v wip %d eff %v", wk.Start, wk.Done, *wk.Load, wk.WIP, *wk.Efficiency)
		}
	}
	// Every stage: one arrival and one departure a day, no constraint.
	for i, s := range r.Stages {
		if s.Arrivals != 28 || s.Departures != 28 {
			t.Errorf("%s: %d arrivals %d departures", s.Name, s.Arrivals, s.Departures)
		}
		wantDur(t, s.Name, s.TimeInStage.Median, []float64{1, 2, 1, 1, 0}[i])
	}
	if r.Constraint != nil {
		t.Errorf("steady stream has a constraint: %+v", r.Constraint)
	}
	// Forecast on day 27.5: not done are those starting from day 22.75 on
	// (37 of them); 63 finished in the 84 days up to day 27.5 (done on days
	// -34.75 to 27.25: those that started on days -40 to 22).
	if f := ComputeFlow(v, items, w, dayN(27.5)).Forecast; f.Items != 37 || f.Finished != 63 || !near(f.Throughput, 63.0/84) {
		t.Errorf("forecast %+v", f)
	}
}

func TestMonteCarloForecast(t *testing.T) {
	// A constant 2 a day finishes 10 items in exactly 5 days.
	for _, d := range MonteCarloDays(10, []int{2, 2, 2}, 1000, 1) {
		if d != 5 {
			t.Fatalf("constant throughput took %v days", d)
		}
	}
	// 4 items finish on a day with probability 1/4, else none: the days
	// taken are geometric, P(≤ d) = 1 − 0.75^d. The nearest-rank 50th, 85th
	// and 95th percentiles are the first d with P ≥ 0.5, 0.85, 0.95: 3, 7, 11.
	days := MonteCarloDays(4, []int{0, 0, 0, 4}, ForecastTrials, 42)
	for p, want := range map[float64]float64{50: 3, 85: 7, 95: 11} {
		if got := *Percentile(days, p); got != want {
			t.Errorf("p%v = %v days; want %v", p, got, want)
		}
	}
	// The forecast turns days into dates from the day it is made.
	f := forecast(10, []int{2, 2, 2, 2}, d0, 1)
	if !f.P50.Equal(dayN(5)) || !f.P95.Equal(dayN(5)) || f.Throughput != 2 || f.Reason != "" {
		t.Errorf("forecast %+v", f)
	}
	if f := forecast(10, []int{0, 0}, d0, 1); f.Reason == "" || !f.P50.IsZero() {
		t.Errorf("no throughput: %+v", f)
	}
}

func TestStageRulesParseAndValidate(t *testing.T) {
	rule, err := ParseRule("artifact.published, deploy.nonproduction or  artifact.published")
	if err != nil || !reflect.DeepEqual(rule, []Trigger{TrigArtifactPublished, TrigDeployNonProd}) {
		t.Fatalf("rule %v %v", rule, err)
	}
	if RuleText(rule) != "artifact.published, deploy.nonproduction" {
		t.Errorf("text %q", RuleText(rule))
	}
	if _, err := ParseRule("change.exploded"); err == nil || ErrorCode(err) != EINVALID {
		t.Errorf("unknown trigger: %v", err)
	}
	if _, err := ParseRule(" , "); err == nil {
		t.Error("empty rule accepted")
	}
	v := ValueStream{Name: " ", Stages: []StageDef{
		{Name: "Code", Kind: StageActive, Rule: []Trigger{TrigChange}},
		{Name: "code", Kind: "busy", WIPLimit: -1},
	}}
	errs := v.Validate()
	for _, f := range []string{"name", "stage.1.name", "stage.1.kind", "stage.1.wip_limit", "stage.1.rule"} {
		if errs[f] == "" {
			t.Errorf("no error for %s: %v", f, errs)
		}
	}
	if errs["stage.0.name"] != "" {
		t.Errorf("first stage flagged: %v", errs)
	}
	ok := ValueStream{Name: "Checkout", Stages: DefaultStages()}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Errorf("default stages invalid: %v", errs)
	}
	// Membership: team or service; a stream naming neither covers all.
	it := FlowItem{Team: "payments", Services: []string{"checkout"}}
	for _, c := range []struct {
		v    ValueStream
		want bool
	}{
		{ValueStream{}, true},
		{ValueStream{Teams: []string{"payments"}}, true},
		{ValueStream{Services: []string{"checkout"}}, true},
		{ValueStream{Teams: []string{"search"}, Services: []string{"catalog"}}, false},
	} {
		if got := c.v.Includes(&it); got != c.want {
			t.Errorf("%+v includes: %v", c.v, got)
		}
	}
	it.Archived = true
	if (&ValueStream{}).Includes(&it) {
		t.Error("archived item included")
	}
}

func TestOperateAt(t *testing.T) {
	prod := dayN(0)
	if got := OperateAt(prod, nil); !got.Equal(dayN(1)) {
		t.Errorf("no incident: %v", got)
	}
	// Open at +24h until +30h; another opens at +29h and lasts to +40h.
	incs := []ProdIncident{{ID: "a", Start: dayN(0.5), Resolved: dayN(1.25)}, {ID: "b", Start: dayN(1.2), Resolved: dayN(40.0 / 24)}}
	if got := OperateAt(prod, incs); !got.Equal(dayN(40.0 / 24)) {
		t.Errorf("chained incidents: %v", got)
	}
	incs[1].Resolved = time.Time{}
	if got := OperateAt(prod, incs); !got.IsZero() {
		t.Errorf("unresolved: %v", got)
	}
	if !OperateAt(time.Time{}, nil).IsZero() {
		t.Error("no deployment")
	}
}

// BenchmarkComputeFlow: 100,000 items over two years through the default
// stages, a 90-day window.
func BenchmarkComputeFlow(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 2))
	v := &ValueStream{ID: 1, Name: "All", Stages: DefaultStages()}
	items := make([]FlowItem, 100_000)
	for i := range items {
		x := float64(i) / float64(len(items)) * 730
		it := FlowItem{Key: fmt.Sprint("K-", i), Type: FlowTypes[i%4], Horizon: HorizonNow, HasKeyResult: i%3 == 0}
		t := x
		for _, trig := range []Trigger{TrigIdeaPlanned, TrigChange, TrigBuild, TrigTest, TrigArtifactPublished, TrigDeployProd, TrigOperate} {
			t += rnd.Float64() * 3
			if t < 730 {
				it.Signals.Note(trig, dayN(t-730+100))
			}
		}
		if it.HasKeyResult && it.Signals[TrigOperate] != 0 {
			it.Signals[TrigKeyResult] = it.Signals[TrigOperate]
			if t+20 < 730 {
				it.Verdict = dayN(t + 20 - 730 + 100).UnixMicro()
			}
		}
		items[i] = it
	}
	w, _ := NewWindow(dayN(10), dayN(99))
	b.ResetTimer()
	for b.Loop() {
		ComputeFlow(v, items, w, dayN(100))
	}
}

// stageOf is a stage's summary over a window, as findConstraint sees it:
// median time in stage in days (negative: no item left it), items that
// passed through, arrivals, departures.
func stageOf(name string, fixed bool, medianDays float64, items, in, out int) StageFlow {
	st := StageFlow{Name: name, FixedTime: fixed, Arrivals: in, Departures: out, WIP: max(0, in-out)}
	if medianDays >= 0 {
		st.TimeInStage = DurationStats{Items: items, Median: ptr(days2s(medianDays))}
	}
	return st
}

func TestConstraintNeedsEvidence(t *testing.T) {
	def := ConstraintRule{MinItems: 5, MinRatio: 1.5}
	for _, c := range []struct {
		name   string
		rule   ConstraintRule
		stages []StageFlow
		want   string // the stage named, or "" for none
		ratio  float64
		reason string
	}{{
		// Monitor's evidence window is the longest wait, and work piles up in
		// it, but it waits by design; Code stands out among the rest: 3 d
		// over 6 items is 2× Test's 1.5 d, 8 arrived and 6 left.
		name: "fixed-time stage ignored", rule: def,
		stages: []StageFlow{stageOf("Code", false, 3, 6, 8, 6), stageOf("Test", false, 1.5, 6, 6, 6), stageOf("Monitor", true, 14, 9, 12, 9)},
		want:   "Code", ratio: 2,
		reason: "Items wait longest here: a median of 3 d over the 6 that passed through, 2× Test's 36 h; and more arrived (8) than left (6) in the period — 2 still in it.",
	}, {
		name: "too few items", rule: def,
		stages: []StageFlow{stageOf("Code", false, 3.1, 3, 5, 3), stageOf("Build", false, 0.5, 3, 3, 3)},
		reason: "Code has the longest median time in stage (3.1 d) but only 3 items passed through it; 5 are needed.",
	}, {
		name: "one item", rule: def,
		stages: []StageFlow{stageOf("Code", false, 3, 1, 2, 1)},
		reason: "Code has the longest median time in stage (3 d) but only 1 item passed through it; 5 are needed.",
	}, {
		// 2 / 1.7 = 1.176…, written rounded down.
		name: "too small a lead", rule: def,
		stages: []StageFlow{stageOf("Plan", false, 0.5, 9, 9, 9), stageOf("Build", false, 2, 7, 9, 7), stageOf("Test", false, 1.7, 7, 7, 7)},
		reason: "Build has the longest median time in stage (2 d), but that is only 1.17× Test's 40.8 h; 1.5× is needed.",
	}, {
		// 2.99 / 2 = 1.495: one hundredth short reads as such, not as 1.5.
		name: "just short of the ratio", rule: def,
		stages: []StageFlow{stageOf("Build", false, 2.99, 7, 9, 7), stageOf("Test", false, 2, 7, 7, 7)},
		reason: "Build has the longest median time in stage (3 d), but that is only 1.49× Test's 2 d; 1.5× is needed.",
	}, {
		name: "exactly the ratio", rule: def,
		stages: []StageFlow{stageOf("Build", false, 3, 7, 9, 7), stageOf("Test", false, 2, 7, 7, 7)},
		want:   "Build", ratio: 1.5,
		reason: "Items wait longest here: a median of 3 d over the 7 that passed through, 1.5× Test's 2 d; and more arrived (9) than left (7) in the period — 2 still in it.",
	}, {
		name: "draining", rule: def,
		stages: []StageFlow{stageOf("Plan", false, 3.5, 37, 34, 37), stageOf("Code", false, 1.5, 35, 35, 35)},
		reason: "Plan has the longest median time in stage (3.5 d), 2.33× Code's 36 h, but more items left it (37) than arrived (34) in the period: work is not piling up there.",
	}, {
		name: "steady", rule: def,
		stages: []StageFlow{stageOf("Plan", false, 3.5, 20, 20, 20), stageOf("Code", false, 1.5, 20, 20, 20)},
		reason: "Plan has the longest median time in stage (3.5 d), 2.33× Code's 36 h, but as many items left it as arrived (20) in the period: work is not piling up there.",
	}, {
		// Nothing else takes any time: no ratio, and none needed.
		name: "the others take no time", rule: def,
		stages: []StageFlow{stageOf("Code", false, 2, 5, 7, 5), stageOf("Build", false, 0, 5, 5, 5), stageOf("Deploy", false, -1, 0, 0, 0)},
		want:   "Code",
		reason: "Items wait longest here: a median of 2 d over the 5 that passed through, against 0 s in Build, the next longest; and more arrived (7) than left (5) in the period — 2 still in it.",
	}, {
		name: "nothing to compare with", rule: def,
		stages: []StageFlow{stageOf("Code", false, 2, 5, 7, 5), stageOf("Build", false, -1, 0, 0, 0), stageOf("Operate", true, 1, 5, 5, 5)},
		reason: "Code has the longest median time in stage (2 d), but no other stage had an item pass through it, so there is nothing to compare it with.",
	}, {
		// A tie: the earlier stage leads, at 1× the other.
		name: "tie", rule: def,
		stages: []StageFlow{stageOf("Code", false, 2, 6, 7, 6), stageOf("Review", false, 2, 6, 8, 6)},
		reason: "Code has the longest median time in stage (2 d), but that is only 1× Review's 2 d; 1.5× is needed.",
	}, {
		// The stream's own rule: 3 items and 1.1× are enough.
		name: "stream's rule", rule: ConstraintRule{MinItems: 3, MinRatio: 1.1},
		stages: []StageFlow{stageOf("Build", false, 2, 3, 5, 3), stageOf("Test", false, 1.6, 3, 3, 3)},
		want:   "Build", ratio: 1.25,
		reason: "Items wait longest here: a median of 2 d over the 3 that passed through, 1.25× Test's 38.4 h; and more arrived (5) than left (3) in the period — 2 still in it.",
	}, {
		name: "nothing passed through", rule: def,
		stages: []StageFlow{stageOf("Code", false, -1, 0, 4, 0), stageOf("Monitor", true, 14, 6, 7, 6)},
		reason: "No item passed through a stage in this period, so there is no time in stage to compare.",
	}, {
		name: "every stage fixed-time", rule: def,
		stages: []StageFlow{stageOf("Operate", true, 1, 9, 9, 9), stageOf("Monitor", true, 14, 6, 7, 6)},
		reason: "Every stage is fixed-time (it waits by design), so none can be the constraint.",
	}} {
		t.Run(c.name, func(t *testing.T) {
			got, why := findConstraint(c.stages, c.rule)
			if c.want == "" {
				if got != nil || why != c.reason {
					t.Errorf("named %+v; none because %q\n want none because %q", got, why, c.reason)
				}
				return
			}
			if got == nil || got.Name != c.want || why != "" || got.Reason != c.reason {
				t.Fatalf("named %+v (none because %q)\n want %s because %q", got, why, c.want, c.reason)
			}
			if (c.ratio == 0) != (got.Ratio == nil) || (got.Ratio != nil && !near(*got.Ratio, c.ratio)) {
				t.Errorf("ratio %v; want %v", got.Ratio, c.ratio)
			}
		})
	}
}

// soakItems go through the default stages; the soak from the production
// deployment to Operate (24 h) is the fixed-time wait.
//
//	P: Plan 0–0.5, Code –1, Build –1.25, Test –1.5, Release –2, Deploy 2–3,
//	   Operate at 3: done (no key result). Flow time 3 d.
//	Q: Plan 1–1.5, Code –2, Build –2.5, Test –3, Release –4, Deploy 4–5.5
//	   (an incident held Operate 12 h past the soak), done at 5.5. 4.5 d.
//	R: Plan 2–2 (coding the day it was planned), Code –3, Deploy 3–4,
//	   Operate and Monitor at 4 (key result), verdict at 10: done. 8 d.
func soakItems() []FlowItem {
	P, C, B, T, Pub, D, O, K := TrigIdeaPlanned, TrigChange, TrigBuild, TrigTest, TrigArtifactPublished, TrigDeployProd, TrigOperate, TrigKeyResult
	r := item("R", FlowFeature, HorizonNow, map[Trigger]float64{P: 2, C: 2, D: 3, O: 4, K: 4})
	r.HasKeyResult, r.Verdict = true, dayN(10).UnixMicro()
	return []FlowItem{
		item("P", FlowFeature, HorizonNow, map[Trigger]float64{P: 0, C: 0.5, B: 1, T: 1.25, Pub: 1.5, D: 2, O: 3}),
		item("Q", FlowDefect, HorizonNow, map[Trigger]float64{P: 1, C: 1.5, B: 2, T: 2.5, Pub: 3, D: 4, O: 5.5}),
		r,
	}
}

func TestFixedTimeSoakIsWaitTime(t *testing.T) {
	w, _ := NewWindow(d0, dayN(13))
	marked := &ValueStream{ID: 3, Name: "All", Stages: DefaultStages()}
	r := ComputeFlow(marked, soakItems(), w, dayN(20))
	if r.Done != 3 {
		t.Fatalf("done %d", r.Done)
	}
	// Deploy keeps only what is not the soak: P 0, Q 0.5 (the incident's
	// hold), R 0; Operate gets the 24 h of each.
	wantDur(t, "Deploy median", r.Stages[5].TimeInStage.Median, 0)
	wantDur(t, "Deploy mean", r.Stages[5].TimeInStage.Mean, 0.5/3)
	wantDur(t, "Operate median", r.Stages[6].TimeInStage.Median, 1)
	wantDur(t, "Monitor median", r.Stages[7].TimeInStage.Median, 6)
	// Active (Code, Build, Test, Deploy): P 0.5+0.25+0.25+0, Q 0.5+0.5+0.5+0.5,
	// R 1+0 = 4 days of 3 + 4.5 + 8 = 15.5.
	if r.Efficiency == nil || !near(*r.Efficiency, 4/15.5) {
		t.Errorf("efficiency %v; want %v", r.Efficiency, 4/15.5)
	}
	// %activity: medians Code 0.5, Build 0.375, Test 0.375, Deploy 0 of
	// those plus Plan 0.5, Release 0.75, Operate 1, Monitor 6.
	if r.Activity == nil || !near(*r.Activity, 1.25/9.5) {
		t.Errorf("activity %v; want %v", r.Activity, 1.25/9.5)
	}
	// The soak moves, the journey does not: flow time and the stage counts
	// are those of the events.
	wantDur(t, "flow time median", r.FlowTime.Median, 4.5)
	if s := r.Stages[5]; s.Arrivals != 3 || s.Departures != 3 || !r.Stages[6].FixedTime || r.Stages[5].FixedTime {
		t.Errorf("deploy %+v", s)
	}

	// An editor who unmarks Operate says the soak is Deploy's: 1, 1.5, 1
	// days, active — 7 days of 15.5.
	unmarked := &ValueStream{ID: 3, Name: "All", Stages: DefaultStages()}
	unmarked.Stages[6].FixedTime = false
	u := ComputeFlow(unmarked, soakItems(), w, dayN(20))
	wantDur(t, "Deploy median, unmarked", u.Stages[5].TimeInStage.Median, 1)
	wantDur(t, "Operate median, unmarked", u.Stages[6].TimeInStage.Median, 0)
	if u.Efficiency == nil || !near(*u.Efficiency, 7/15.5) {
		t.Errorf("efficiency, unmarked %v; want %v", u.Efficiency, 7/15.5)
	}
}

func TestForecastSamplesWhatVelocityCounts(t *testing.T) {
	// Z is done at 06:00 on the last day of the window (day 13) and the page
	// is read at noon: velocity counts it, and so must the forecast's
	// sample. Y is on Now and not started.
	P, C, R, D, O := TrigIdeaPlanned, TrigChange, TrigChangeReviewed, TrigDeployProd, TrigOperate
	items := []FlowItem{
		item("Z", FlowFeature, HorizonNow, map[Trigger]float64{P: 10, C: 11, R: 11.5, D: 12, O: 13.25}),
		item("Y", FlowFeature, HorizonNow, map[Trigger]float64{P: 12}),
	}
	w, _ := NewWindow(dayN(7), dayN(13))
	r := ComputeFlow(reviewStream(), items, w, dayN(13.5))
	f := r.Forecast
	if r.Done != 1 || f.Items != 1 || f.Finished != 1 || !near(f.Throughput, 1.0/84) || f.Reason != "" || f.P50.IsZero() {
		t.Fatalf("velocity %d, forecast %+v", r.Done, f)
	}
	if !f.SampleFrom.Equal(dayN(13.5-84)) || !f.SampleTo.Equal(dayN(13.5)) || f.SampleDays != 84 {
		t.Errorf("sample %v – %v (%d days)", f.SampleFrom, f.SampleTo, f.SampleDays)
	}
	// Read at 05:00, before Z is done: nothing finished, and it says so.
	early := ComputeFlow(reviewStream(), items, w, dayN(13+5.0/24)).Forecast
	if early.Finished != 0 || early.Reason != "Nothing in this stream finished in the 84 days up to now, so there is no throughput to forecast from." {
		t.Errorf("early forecast %+v", early)
	}
}

func TestStageMarksAndConstraintRuleValidate(t *testing.T) {
	for _, st := range DefaultStages() {
		if st.FixedTime != (st.Name == "Operate" || st.Name == "Monitor") || DefaultFixedTime(st.Rule) != st.FixedTime {
			t.Errorf("%s fixed time %v, by its rule %v", st.Name, st.FixedTime, DefaultFixedTime(st.Rule))
		}
	}
	if DefaultFixedTime(nil) || DefaultFixedTime([]Trigger{TrigOperate, TrigDeployProd}) {
		t.Error("a rule with an untimed trigger is fixed time")
	}
	if (ValueStream{}).ConstraintRule() != (ConstraintRule{MinItems: 5, MinRatio: 1.5}) {
		t.Errorf("default rule %+v", (ValueStream{}).ConstraintRule())
	}
	v := ValueStream{Name: "Checkout", Stages: DefaultStages(), ConstraintMinItems: -1, ConstraintMinRatio: 0.9}
	v.Stages[6].Kind = StageActive
	errs := v.Validate()
	for _, f := range []string{"constraint_min_items", "constraint_min_ratio", "stage.6.kind"} {
		if errs[f] == "" {
			t.Errorf("no error for %s: %v", f, errs)
		}
	}
	for _, r := range []float64{math.NaN(), math.Inf(1), 10.5} {
		if errs := (ValueStream{Name: "x", Stages: DefaultStages(), ConstraintMinRatio: r}).Validate(); errs["constraint_min_ratio"] == "" {
			t.Errorf("ratio %v accepted", r)
		}
	}
	ok := ValueStream{Name: "x", Stages: DefaultStages(), ConstraintMinItems: 1, ConstraintMinRatio: 1}
	if errs := ok.Validate(); len(errs) != 0 || ok.ConstraintRule() != (ConstraintRule{MinItems: 1, MinRatio: 1}) {
		t.Errorf("lowest thresholds: %v %+v", errs, ok.ConstraintRule())
	}
}

func TestHumanSeconds(t *testing.T) {
	const day = 86400.0
	for _, tc := range []struct {
		s    float64
		want string
	}{
		{0, "0 s"}, {45, "45 s"}, {89, "89 s"}, {90, "2 min"}, {12 * 60, "12 min"},
		{90 * 60, "1.5 h"}, {5.2 * 3600, "5.2 h"}, {48 * 3600, "2 d"}, {3 * day, "3 d"},
		{400 * day, "400 d"}, {730 * day, "730 d"},
		// Past two years (731 d = 2 years of 365.25 d, minus 12 h): years.
		{731 * day, "2 y"},
		// 1970-01-02 03:04:05 to 2026-12-05 00:00:00: 20790.9 days.
		{float64(20790*86400 + 75355), "56.9 y"},
		{-3 * day, "-3 d"},
	} {
		if got := HumanSeconds(tc.s); got != tc.want {
			t.Errorf("HumanSeconds(%v) = %q; want %q", tc.s, got, tc.want)
		}
	}
}
