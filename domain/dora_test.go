package domain

import (
	"math/rand"
	"reflect"
	"sort"
	"testing"
	"time"
)

// T0 is Monday 2026-03-02 00:00 UTC; the stories below count hours from it.
var T0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func h(hours float64) time.Time { return T0.Add(time.Duration(hours * float64(time.Hour))) }

func dep(pk int64, hours float64, artifact string) ProdDeployment {
	return ProdDeployment{PK: pk, Event: Identity{Source: "/cd", ID: "d" + pkString(pk)}, Service: "checkout", Artifact: artifact, At: h(hours)}
}

func pkString(i int64) string { return string(rune('0' + i%10)) }

func rollback(pk int64, hours float64, artifact string) ProdDeployment {
	d := dep(pk, hours, artifact)
	d.Rollback = true
	return d
}

func incident(id string, start, resolved float64, artifact string) ProdIncident {
	i := ProdIncident{ID: id, Service: "checkout", Artifact: artifact, Start: h(start)}
	if resolved > 0 {
		i.Resolved = h(resolved)
	}
	return i
}

// story is one service's week, written so that every rule fires once:
//
//	D1  0h  A1 (c1, c2)
//	D2 10h  A2 (c3)          rolled back by R1 at 11h            → failed, rule 1, recovered 1h
//	R1 11h  A1 rollback                                           → rework (rollback)
//	D3 30h  A3 (c3, c4)      I1 names A3, 40h–42h                 → failed, rule 2, recovered 12h
//	D4 45h  A4 (c6)          I2 on the service 46h–46.5h          → failed, rule 3, recovered 1.5h
//	D5 47h  A5 (c5) hotfix                                        → rework (hotfix)
//	        I3 on the service 77h–81h: 30h after D5, outside 24h  → unattributed
//	D6 80h  A6 (c8)          made while I3 was open, resolved before D7 → rework
//	D7 90h  A7 (c7)          I5 on the service from 91h, open     → failed, rule 3, not recovered
//	        I4 names A9, never deployed, 99h–100h                 → unattributed
func story() ServiceHistory {
	d5 := dep(6, 47, "A5")
	d5.Hotfix = true
	return ServiceHistory{
		Deployments: []ProdDeployment{
			dep(1, 0, "A1"), dep(2, 10, "A2"), rollback(3, 11, "A1"), dep(4, 30, "A3"), dep(5, 45, "A4"),
			d5, dep(7, 80, "A6"), dep(8, 90, "A7"),
		},
		Incidents: []ProdIncident{
			incident("I1", 40, 42, "A3"), incident("I2", 46, 46.5, ""), incident("I3", 77, 81, ""),
			incident("I4", 99, 100, "A9"), incident("I5", 91, 0, ""),
		},
		ArtifactChanges: map[string][]string{
			"A1": {"c1", "c2"}, "A2": {"c3"}, "A3": {"c4", "c3"}, "A4": {"c6"}, "A5": {"c5"}, "A6": {"c8"}, "A7": {"c7"},
		},
		AttributionWindow: 24 * time.Hour,
	}
}

var storyChanges = map[string]ChangeTimes{
	"c1": {Start: h(-48)}, "c2": {Start: h(-10), Merged: h(-2)}, "c3": {Start: h(5), Merged: h(8)},
	"c4": {Start: h(20)}, "c5": {Start: h(46)}, "c6": {Start: h(40)}, "c7": {Start: h(80)}, "c8": {Start: h(70), Merged: h(75)},
}

// facts adds up what every deployment of the evaluation contributes in w,
// plus the incidents resolved in w.
func facts(w Window, ev ServiceEvaluation, incidents []ProdIncident) DORAFacts {
	var f DORAFacts
	for i, d := range ev.Deployments {
		if !w.Contains(d.At) {
			continue
		}
		var leads []LeadTime
		for _, c := range ev.Verdicts[i].Changes {
			if l, ok := MeasureLead(c, storyChanges[c], d.At); ok {
				leads = append(leads, l)
			}
		}
		f.Add(DeploymentFacts(d, ev.Verdicts[i], leads))
	}
	for _, inc := range incidents {
		if s, ok := inc.RestoreSeconds(); ok && w.Contains(inc.Resolved) {
			f.RestoreTimes = append(f.RestoreTimes, s)
		}
	}
	return f
}

func TestEvaluateServiceStory(t *testing.T) {
	s := story()
	ev := EvaluateService(s)
	type want struct {
		failed      bool
		rules       []FailureRule
		recoveredAt float64 // hours; -1 when not recovered
		by          Recovery
		rework      ReworkReason
		changes     []string
	}
	wants := map[int64]want{
		1: {false, nil, -1, "", "", []string{"c1", "c2"}},
		2: {true, []FailureRule{RuleRollback}, 11, RecoveredByRollback, "", []string{"c3"}},
		3: {false, nil, -1, "", ReworkRollback, nil},
		4: {true, []FailureRule{RuleIncidentArtifact}, 42, RecoveredByResolution, "", []string{"c4"}},
		5: {true, []FailureRule{RuleIncidentWindow}, 46.5, RecoveredByResolution, "", []string{"c6"}},
		6: {false, nil, -1, "", ReworkHotfix, []string{"c5"}},
		7: {false, nil, -1, "", ReworkOpenIncident, []string{"c8"}},
		8: {true, []FailureRule{RuleIncidentWindow}, -1, "", "", []string{"c7"}},
	}
	for i, d := range ev.Deployments {
		v, w := ev.Verdicts[i], wants[d.PK]
		rec := -1.0
		if !v.RecoveredAt.IsZero() {
			rec = v.RecoveredAt.Sub(T0).Hours()
		}
		if v.Failed != w.failed || !reflect.DeepEqual(v.Rules, w.rules) || rec != w.recoveredAt || v.RecoveredBy != w.by ||
			v.ReworkReason != w.rework || !reflect.DeepEqual(v.Changes, w.changes) {
			t.Errorf("D%d: failed %v rules %v recovered %.1fh by %q rework %q changes %v\n   want %+v",
				d.PK, v.Failed, v.Rules, rec, v.RecoveredBy, v.ReworkReason, v.Changes, w)
		}
	}
	if ev.Verdicts[1].RollbackBy == nil || ev.Verdicts[1].RollbackBy.PK != 3 {
		t.Errorf("D2 rolled back by %+v; want R1", ev.Verdicts[1].RollbackBy)
	}
	wantAttr := map[string]Attribution{"I1": {4, RuleIncidentArtifact}, "I2": {5, RuleIncidentWindow}, "I5": {8, RuleIncidentWindow}}
	if !reflect.DeepEqual(ev.Attributions, wantAttr) {
		t.Errorf("attributions %v; want %v", ev.Attributions, wantAttr)
	}
	if ev.Unattributed["I3"] != "it started 30h after the last deployment, outside the 24h attribution window" ||
		ev.Unattributed["I4"] != "no production deployment of artifact A9 on checkout before it started" {
		t.Errorf("unattributed reasons %q", ev.Unattributed)
	}
}

func TestReportForTheWholeStory(t *testing.T) {
	s := story()
	ev := EvaluateService(s)
	w, _ := NewWindow(h(0), h(72)) // Mon 2 – Thu 5 March: 4 days
	r := Report(w, allCovered, facts(w, ev, s.Incidents))
	// 8 deployments in 4 days: 2/day, elite.
	// Lead times (h): c1 48, c2 10, c3 5, c4 10, c6 5, c5 1, c8 10, c7 10
	//   sorted 1 5 5 10 10 10 10 48 → median (10+10)/2 = 10h, p90 = 8th = 48h.
	// Split known for c2 (8h, 2h), c3 (3h, 2h), c8 (5h, 5h):
	//   start→merged median 5h, merged→deployed median 2h.
	// Failed 4 of 7 non-rollback deployments; recovered D2 1h, D3 12h, D4 1.5h → median 1.5h.
	// Incidents resolved in the window: I1 2h, I2 0.5h, I3 4h (Thu 09:00) → median 2h;
	// I4 resolves on Fri 6 March, I5 not at all.
	// Rework: R1, D5, D6 → 3 of 8.
	checkReport(t, r, reportWant{
		deployments: 8, perDay: 2, freq: TierElite,
		changes: 8, median: 10 * 3600, p90: 48 * 3600, startToMerged: 5 * 3600, mergedToDeployed: 2 * 3600, lead: TierElite,
		failed: 4, nonRollback: 7, rate: 4.0 / 7, cfr: TierLow,
		recovered: 3, recovery: 1.5 * 3600, recTier: TierHigh,
		incidents: 3, restore: 2 * 3600,
		rework: 3, reworkRate: 3.0 / 8,
	})
}

func TestReportForOneDay(t *testing.T) {
	s := story()
	ev := EvaluateService(s)
	w, _ := NewWindow(T0, T0)
	r := Report(w, allCovered, facts(w, ev, s.Incidents))
	// Monday: D1, D2, R1. Lead c1 48h, c2 10h, c3 5h → median 10h, p90 = 3rd = 48h.
	checkReport(t, r, reportWant{
		deployments: 3, perDay: 3, freq: TierElite,
		changes: 3, median: 10 * 3600, p90: 48 * 3600, startToMerged: 5.5 * 3600, mergedToDeployed: 2 * 3600, lead: TierElite,
		failed: 1, nonRollback: 2, rate: 0.5, cfr: TierLow,
		recovered: 1, recovery: 3600, recTier: TierHigh,
		incidents: 0, restore: -1,
		rework: 1, reworkRate: 1.0 / 3,
	})
}

func TestEmptyWindowReportsNulls(t *testing.T) {
	w, _ := NewWindow(h(24*30), h(24*36))
	r := Report(w, allCovered, DORAFacts{})
	if r.Deployments != 0 || r.PerDay == nil || *r.PerDay != 0 || r.FreqTier != nil || r.LeadMedian != nil || r.LeadP90 != nil || r.LeadTier != nil ||
		r.FailureRate != nil || r.FailureTier != nil || r.RecoveryMedian != nil || r.RecoveryTier != nil ||
		r.RestoreMedian != nil || r.ReworkRate != nil || r.LeadChanges != 0 || r.Recovered != 0 {
		t.Fatalf("empty window: %+v", r)
	}
}

func TestOverridesWin(t *testing.T) {
	s := story()
	// D4 (PK 5) is declared not failed; D1 (PK 1) is declared failed.
	s.Deployments[4].Override = &Override{Failed: false, Reason: "I2 was a provider outage", By: "pm@example.com"}
	s.Deployments[0].Override = &Override{Failed: true, Reason: "broke checkout for Safari", By: "pm@example.com"}
	ev := EvaluateService(s)
	v := map[int64]Verdict{}
	for i, d := range ev.Deployments {
		v[d.PK] = ev.Verdicts[i]
	}
	if v[5].Failed || !v[5].RuleFailed || v[5].Override == nil {
		t.Errorf("D4 override: %+v", v[5])
	}
	// D1 recovers with the next non-rollback deployment that did not fail:
	// D2, D3 and D4... D4 no longer fails, at 45h.
	if !v[1].Failed || v[1].RuleFailed || v[1].RecoveredAt != h(45) || v[1].RecoveredBy != RecoveredByDeployment {
		t.Errorf("D1 override: %+v", v[1])
	}
	// The incident stays attributed to D4; the override only changes the verdict.
	if ev.Attributions["I2"].DeploymentPK != 5 {
		t.Errorf("I2 attribution %+v", ev.Attributions["I2"])
	}
	w, _ := NewWindow(h(0), h(96))
	r := Report(w, allCovered, facts(w, ev, s.Incidents))
	// Failed D1, D2, D3, D7 = 4 of 7; recovered D1 45h, D2 1h, D3 12h → median 12h.
	if r.Failed != 4 || *r.RecoveryMedian != 12*3600 || r.Recovered != 3 {
		t.Errorf("failed %d recovered %d median %v", r.Failed, r.Recovered, *r.RecoveryMedian)
	}
}

func TestArrivalOrderDoesNotMatter(t *testing.T) {
	want := EvaluateService(story())
	for seed := int64(0); seed < 20; seed++ {
		s := story()
		rnd := rand.New(rand.NewSource(seed))
		rnd.Shuffle(len(s.Deployments), func(i, j int) { s.Deployments[i], s.Deployments[j] = s.Deployments[j], s.Deployments[i] })
		rnd.Shuffle(len(s.Incidents), func(i, j int) { s.Incidents[i], s.Incidents[j] = s.Incidents[j], s.Incidents[i] })
		if got := EvaluateService(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: evaluation depends on order", seed)
		}
	}
}

func TestRollbackAfterTwoDeployments(t *testing.T) {
	// Da 0h, Db 1h, rollback 2h: only Db failed; Da's next deployment is Db.
	ev := EvaluateService(ServiceHistory{Deployments: []ProdDeployment{dep(1, 0, "A"), dep(2, 1, "B"), rollback(3, 2, "A")}})
	if ev.Verdicts[0].Failed || !ev.Verdicts[1].Failed || ev.Verdicts[1].RecoveredAt != h(2) {
		t.Fatalf("verdicts %+v", ev.Verdicts)
	}
	// Two rollbacks in a row: the first one replaced Db.
	ev = EvaluateService(ServiceHistory{Deployments: []ProdDeployment{dep(1, 0, "A"), dep(2, 1, "B"), rollback(3, 2, "A"), rollback(4, 3, "Z")}})
	if ev.Verdicts[1].RollbackBy.PK != 3 || ev.Verdicts[1].RecoveredAt != h(2) {
		t.Fatalf("verdict %+v", ev.Verdicts[1])
	}
}

func TestArtifactDeployedTwice(t *testing.T) {
	// A deployed at 0h, B at 2h, A again at 4h: an incident naming A at 3h is
	// the first deployment's, one at 5h the redeployment's.
	s := ServiceHistory{
		Deployments:     []ProdDeployment{dep(1, 0, "A"), dep(2, 2, "B"), dep(3, 4, "A")},
		Incidents:       []ProdIncident{incident("early", 3, 3.5, "A"), incident("late", 5, 6, "A")},
		ArtifactChanges: map[string][]string{"A": {"c1"}, "B": {"c2"}},
	}
	ev := EvaluateService(s)
	if ev.Attributions["early"].DeploymentPK != 1 || ev.Attributions["late"].DeploymentPK != 3 {
		t.Fatalf("attributions %v", ev.Attributions)
	}
	// The redeployment carries no change: c1 reached production at 0h.
	if !reflect.DeepEqual(ev.Verdicts[0].Changes, []string{"c1"}) || ev.Verdicts[2].Changes != nil {
		t.Fatalf("changes %v / %v", ev.Verdicts[0].Changes, ev.Verdicts[2].Changes)
	}
}

func TestChangesAlreadyInProductionAndPackagedTwice(t *testing.T) {
	// c1 is packaged in A1 and A2; A1 went out before the history starts.
	s := ServiceHistory{
		Deployments:         []ProdDeployment{dep(1, 0, "A2"), dep(2, 1, "A3")},
		ArtifactChanges:     map[string][]string{"A1": {"c1"}, "A2": {"c1", "c2"}, "A3": {"c2", "c3"}},
		AlreadyInProduction: map[string]bool{"c1": true},
	}
	ev := EvaluateService(s)
	if !reflect.DeepEqual(ev.Verdicts[0].Changes, []string{"c2"}) || !reflect.DeepEqual(ev.Verdicts[1].Changes, []string{"c3"}) {
		t.Fatalf("changes %v %v", ev.Verdicts[0].Changes, ev.Verdicts[1].Changes)
	}
}

func TestIncidentAfterARollbackIsUnattributed(t *testing.T) {
	s := ServiceHistory{
		Deployments: []ProdDeployment{dep(1, 0, "A"), dep(2, 1, "B"), rollback(3, 2, "A")},
		Incidents:   []ProdIncident{incident("window", 3, 4, ""), incident("artifact", 3, 4, "A"), incident("nothing-before", -1, 0, "")},
	}
	ev := EvaluateService(s)
	if len(ev.Attributions) != 0 || len(ev.Unattributed) != 3 {
		t.Fatalf("attributions %v unattributed %v", ev.Attributions, ev.Unattributed)
	}
}

func TestAttributionWindowEdge(t *testing.T) {
	// Exactly 24h after the deployment is inside the window; a minute more is not.
	in := EvaluateService(ServiceHistory{Deployments: []ProdDeployment{dep(1, 0, "A")}, Incidents: []ProdIncident{incident("i", 24, 25, "")}})
	out := EvaluateService(ServiceHistory{Deployments: []ProdDeployment{dep(1, 0, "A")}, Incidents: []ProdIncident{incident("i", 24+1.0/60, 25, "")}})
	if !in.Verdicts[0].Failed || out.Verdicts[0].Failed {
		t.Fatalf("24h: %v, 24h01m: %v", in.Verdicts[0].Failed, out.Verdicts[0].Failed)
	}
	// A custom window of 2h.
	short := EvaluateService(ServiceHistory{Deployments: []ProdDeployment{dep(1, 0, "A")}, Incidents: []ProdIncident{incident("i", 3, 4, "")}, AttributionWindow: 2 * time.Hour})
	if short.Verdicts[0].Failed {
		t.Fatal("2h window attributed an incident 3h later")
	}
}

func TestReworkNeedsResolutionBeforeTheNextDeployment(t *testing.T) {
	// An incident open during D2 but resolved only after D3: D2 is not rework.
	s := ServiceHistory{
		Deployments: []ProdDeployment{dep(1, 0, "A"), dep(2, 10, "B"), dep(3, 12, "C")},
		Incidents:   []ProdIncident{incident("slow", 9, 13, "")},
	}
	ev := EvaluateService(s)
	if ev.Verdicts[1].Rework {
		t.Fatal("D2 is rework although the incident outlived the next deployment")
	}
	// D3 was made while it was open, and there is no next deployment: rework.
	if !ev.Verdicts[2].Rework || ev.Verdicts[2].ReworkBy != "slow" {
		t.Fatalf("D3 %+v", ev.Verdicts[2])
	}
}

type reportWant struct {
	deployments                                  int
	perDay                                       float64
	freq                                         Tier
	changes                                      int
	median, p90, startToMerged, mergedToDeployed float64
	lead                                         Tier
	failed, nonRollback                          int
	rate                                         float64
	cfr                                          Tier
	recovered                                    int
	recovery                                     float64
	recTier                                      Tier
	incidents                                    int
	restore                                      float64 // -1: null
	rework                                       int
	reworkRate                                   float64
}

func checkReport(t *testing.T, r DORAReport, w reportWant) {
	t.Helper()
	eq := func(name string, got *float64, want float64) {
		if want < 0 {
			if got != nil {
				t.Errorf("%s = %v; want null", name, *got)
			}
			return
		}
		if got == nil || abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v; want %v", name, deref(got), want)
		}
	}
	tier := func(name string, got *Tier, want Tier) {
		if got == nil || *got != want {
			t.Errorf("%s tier = %v; want %s", name, got, want)
		}
	}
	if r.Deployments != w.deployments || r.PerDay == nil || abs(*r.PerDay-w.perDay) > 1e-9 {
		t.Errorf("deployments %d per day %v; want %d %v", r.Deployments, deref(r.PerDay), w.deployments, w.perDay)
	}
	tier("frequency", r.FreqTier, w.freq)
	if r.LeadChanges != w.changes {
		t.Errorf("lead changes %d; want %d", r.LeadChanges, w.changes)
	}
	eq("lead median", r.LeadMedian, w.median)
	eq("lead p90", r.LeadP90, w.p90)
	eq("start→merged", r.StartToMergedMedian, w.startToMerged)
	eq("merged→deployed", r.MergedToDeployMedian, w.mergedToDeployed)
	tier("lead", r.LeadTier, w.lead)
	if r.Failed != w.failed || r.NonRollback != w.nonRollback {
		t.Errorf("failed %d/%d; want %d/%d", r.Failed, r.NonRollback, w.failed, w.nonRollback)
	}
	eq("failure rate", r.FailureRate, w.rate)
	tier("failure", r.FailureTier, w.cfr)
	if r.Recovered != w.recovered {
		t.Errorf("recovered %d; want %d", r.Recovered, w.recovered)
	}
	eq("recovery", r.RecoveryMedian, w.recovery)
	tier("recovery", r.RecoveryTier, w.recTier)
	if r.Incidents != w.incidents {
		t.Errorf("incidents %d; want %d", r.Incidents, w.incidents)
	}
	eq("restore", r.RestoreMedian, w.restore)
	if r.Rework != w.rework {
		t.Errorf("rework %d; want %d", r.Rework, w.rework)
	}
	eq("rework rate", r.ReworkRate, w.reworkRate)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestTierThresholds(t *testing.T) {
	tiers := func(p *Tier) string {
		if p == nil {
			return "null"
		}
		return string(*p)
	}
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name string
		got  *Tier
		want string
	}{
		{"df 1/day", DeploymentFrequencyTier(30, f(1)), "elite"},
		{"df just under 1/day", DeploymentFrequencyTier(29, f(29.0/30)), "high"},
		{"df 1/week", DeploymentFrequencyTier(1, f(1.0/7)), "high"},
		{"df under 1/week", DeploymentFrequencyTier(1, f(1.0/8)), "medium"},
		{"df 1/30", DeploymentFrequencyTier(1, f(1.0/30)), "medium"},
		{"df under 1/30", DeploymentFrequencyTier(1, f(1.0/31)), "low"},
		{"df none", DeploymentFrequencyTier(0, f(0)), "null"},
		{"df no covered day", DeploymentFrequencyTier(3, nil), "null"},
		{"lead 23h59", LeadTimeTier(f(day - 60)), "elite"},
		{"lead 1 day", LeadTimeTier(f(day)), "high"},
		{"lead 1 week", LeadTimeTier(f(7 * day)), "medium"},
		{"lead 30 days", LeadTimeTier(f(30 * day)), "low"},
		{"lead none", LeadTimeTier(nil), "null"},
		{"cfr 5%", ChangeFailureRateTier(f(0.05)), "elite"},
		{"cfr 10%", ChangeFailureRateTier(f(0.10)), "high"},
		{"cfr 15%", ChangeFailureRateTier(f(0.15)), "medium"},
		{"cfr 15.1%", ChangeFailureRateTier(f(0.151)), "low"},
		{"cfr 0", ChangeFailureRateTier(f(0)), "elite"},
		{"recovery 59m", RecoveryTimeTier(f(59 * 60)), "elite"},
		{"recovery 1h", RecoveryTimeTier(f(3600)), "high"},
		{"recovery 1 day", RecoveryTimeTier(f(day)), "medium"},
		{"recovery 1 week", RecoveryTimeTier(f(7 * day)), "low"},
	} {
		if tiers(tc.got) != tc.want {
			t.Errorf("%s: %s; want %s", tc.name, tiers(tc.got), tc.want)
		}
	}
}

func TestMedianAndP90(t *testing.T) {
	for _, tc := range []struct {
		xs          []float64
		median, p90 float64
	}{
		{[]float64{5}, 5, 5},
		{[]float64{4, 1}, 2.5, 4},
		{[]float64{3, 1, 2}, 2, 3},
		{[]float64{10, 1, 7, 3}, 5, 10},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5.5, 9},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6, 10},
		{[]float64{2, 2, 2, 2}, 2, 2},
	} {
		m := Median(append([]float64(nil), tc.xs...))
		p := P90(append([]float64(nil), tc.xs...))
		if *m != tc.median || *p != tc.p90 {
			t.Errorf("%v: median %v p90 %v; want %v %v", tc.xs, *m, *p, tc.median, tc.p90)
		}
	}
	if Median(nil) != nil || P90(nil) != nil {
		t.Error("empty set has a median")
	}
	// Against sorting, on random data of many sizes and many repeats.
	rnd := rand.New(rand.NewSource(1))
	for n := 1; n < 400; n += 7 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(rnd.Intn(50))
		}
		ref := append([]float64(nil), xs...)
		sort.Float64s(ref)
		wantMedian := ref[n/2]
		if n%2 == 0 {
			wantMedian = (ref[n/2-1] + ref[n/2]) / 2
		}
		wantP90 := ref[(9*n+9)/10-1]
		if got := *Median(append([]float64(nil), xs...)); got != wantMedian {
			t.Fatalf("n=%d median %v want %v", n, got, wantMedian)
		}
		if got := *P90(append([]float64(nil), xs...)); got != wantP90 {
			t.Fatalf("n=%d p90 %v want %v", n, got, wantP90)
		}
		if got := *Percentile(append([]float64(nil), xs...), 50); got != ref[(n+1)/2-1] {
			t.Fatalf("n=%d p50 %v", n, got)
		}
	}
}

func TestWindow(t *testing.T) {
	w, err := NewWindow(time.Date(2026, 1, 1, 15, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 1, 0, 0, 0, time.UTC))
	if err != nil || w.Days() != 90 || !w.Contains(time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC)) || w.Contains(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) ||
		!w.Contains(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("window %+v %v", w, err)
	}
	if _, err := NewWindow(T0, T0.AddDate(0, 0, -1)); ErrorCode(err) != EINVALID {
		t.Fatal("reversed window accepted")
	}
}

// An editor marks the last deployment failed and ties it to the incident it
// caused, which the rules leave unattributed (it started 30h later, outside
// the 24h window). Without the tie the deployment never recovers (nothing
// came after it); with it, it recovers when the incident is resolved.
func TestOverrideTiesAnIncidentAndRecoversAtItsResolution(t *testing.T) {
	base := func(o *Override) ServiceEvaluation {
		s := story()
		d9 := dep(9, 100, "A8") // the last deployment
		d9.Override = o
		s.Deployments = append(s.Deployments, d9)
		// I6 starts 30h after D9, I7 before it; both resolved.
		s.Incidents = append(s.Incidents, incident("I6", 130, 133, ""), incident("I7", 95, 96, ""))
		return EvaluateService(s)
	}
	verdictOf := func(ev ServiceEvaluation, pk int64) Verdict {
		for i, d := range ev.Deployments {
			if d.PK == pk {
				return ev.Verdicts[i]
			}
		}
		t.Fatalf("no deployment %d", pk)
		return Verdict{}
	}
	ev := base(&Override{Failed: true, Reason: "broke refunds", By: "pm@example.com"})
	if v := verdictOf(ev, 9); !v.Failed || v.RuleFailed || !v.RecoveredAt.IsZero() || len(v.Incidents) != 0 {
		t.Fatalf("marked failed without an incident: %+v", v)
	}
	if _, ok := ev.Attributions["I6"]; ok {
		t.Fatal("I6 attributed without the tie")
	}

	ev = base(&Override{Failed: true, Reason: "broke refunds", By: "pm@example.com", Incidents: []string{"I6", "I7"}})
	v := verdictOf(ev, 9)
	// Recovered at I6's resolution, 133h: 33h after the deployment.
	if !v.Failed || v.RuleFailed || len(v.Rules) != 0 || v.RecoveredAt != h(133) || v.RecoveredBy != RecoveredByResolution {
		t.Errorf("tied to I6: %+v", v)
	}
	if secs, ok := v.RecoverySeconds(ev.Deployments[len(ev.Deployments)-1]); !ok || secs != 33*3600 {
		t.Errorf("recovery %v s, want 33h", secs)
	}
	if a := ev.Attributions["I6"]; a.DeploymentPK != 9 || a.Rule != RuleOverride {
		t.Errorf("I6 attribution %+v", a)
	}
	// I7 started before the deployment: it cannot be its failure, and stays
	// with what the rules say (D8 at 90h, within the window).
	if a := ev.Attributions["I7"]; a.DeploymentPK != 8 || a.Rule != RuleIncidentWindow {
		t.Errorf("I7 attribution %+v", a)
	}
	rec := DeploymentRecord{Deployment: ev.Deployments[len(ev.Deployments)-1], Verdict: v}
	if got := rec.FailureReason(); got != "marked failed by pm@example.com: broke refunds (caused I6)" {
		t.Errorf("reason %q", got)
	}
	// An override of "not failed" ties nothing.
	ev = base(&Override{Failed: false, Reason: "no", By: "pm", Incidents: []string{"I6"}})
	if _, ok := ev.Attributions["I6"]; ok || verdictOf(ev, 9).Failed {
		t.Error("a not-failed override tied an incident")
	}
}
