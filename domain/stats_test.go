package domain

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// ReportParts over sorted parts gives exactly what Report gives over their
// union, for random splits of random data, duplicates and negatives
// included.
func TestReportPartsEqualsReport(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 9))
	w := Window{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)}
	gen := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			switch rnd.IntN(5) {
			case 0:
				xs[i] = float64(rnd.IntN(5)) * 3600 // many ties
			case 1:
				xs[i] = -rnd.Float64() * 60 // clock skew
			default:
				xs[i] = rnd.ExpFloat64() * 86400
			}
		}
		return xs
	}
	for trial := 0; trial < 200; trial++ {
		nparts := 1 + rnd.IntN(12)
		var whole DORAFacts
		parts := make([]DORAFacts, nparts)
		for i := range parts {
			p := DORAFacts{Deployments: rnd.IntN(50), NonRollback: rnd.IntN(40), Failed: rnd.IntN(5), Rework: rnd.IntN(4),
				LeadTimes: gen(rnd.IntN(60)), StartToMerged: gen(rnd.IntN(30)), MergedToDeployed: gen(rnd.IntN(30)),
				RecoveryTimes: gen(rnd.IntN(4)), RestoreTimes: gen(rnd.IntN(3))}
			whole.Deployments += p.Deployments
			whole.NonRollback += p.NonRollback
			whole.Failed += p.Failed
			whole.Rework += p.Rework
			whole.LeadTimes = append(whole.LeadTimes, p.LeadTimes...)
			whole.StartToMerged = append(whole.StartToMerged, p.StartToMerged...)
			whole.MergedToDeployed = append(whole.MergedToDeployed, p.MergedToDeployed...)
			whole.RecoveryTimes = append(whole.RecoveryTimes, p.RecoveryTimes...)
			whole.RestoreTimes = append(whole.RestoreTimes, p.RestoreTimes...)
			SortFacts(&p)
			parts[i] = p
		}
		got, want := ReportParts(w, allCovered, parts), Report(w, allCovered, whole)
		if fmt.Sprint(reportValues(got)) != fmt.Sprint(reportValues(want)) {
			t.Fatalf("trial %d:\n got %v\nwant %v", trial, reportValues(got), reportValues(want))
		}
	}
	if r := ReportParts(w, allCovered, nil); r.LeadMedian != nil || r.Deployments != 0 {
		t.Errorf("no parts: %+v", r)
	}
}

// reportValues lists a report's values, pointers followed, for comparison.
func reportValues(r DORAReport) []any {
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	t := func(p *Tier) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return []any{r.Deployments, r.CoveredDays, f(r.PerDay), t(r.FreqTier), r.LeadChanges, f(r.LeadMedian), f(r.LeadP90), f(r.StartToMergedMedian),
		f(r.MergedToDeployMedian), t(r.LeadTier), r.Failed, r.NonRollback, f(r.FailureRate), r.Recovered, f(r.RecoveryMedian),
		r.Incidents, f(r.RestoreMedian), r.Rework, f(r.ReworkRate)}
}
