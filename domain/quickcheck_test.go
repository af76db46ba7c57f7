package domain

import (
	"math"
	"testing"
)

func TestQuickCheckScores(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name                  string
		r                     DORAReport
		df, lt, cfr, rec, rwk float64 // -1: null
		overall               float64
	}{
		{
			// 2.9 a day: between once per day and once per hour → 8. Lead
			// time 27.4 h: one day to one week → 6. Recovery 4.8 h: one
			// hour to one day → 8. CFR 9.3 % → 9.07; rework 7.7 % → 9.23.
			// Overall (8 + 6 + 9.07 + 8 + 9.23) / 5 = 8.06.
			name: "the demo's 90 days",
			r: DORAReport{Deployments: 261, PerDay: f(2.9), LeadMedian: f(27.4 * 3600), FailureRate: f(0.093),
				RecoveryMedian: f(4.8 * 3600), ReworkRate: f(0.077)},
			df: 8, lt: 6, cfr: 9.07, rec: 8, rwk: 9.23, overall: 8.06,
		},
		{
			// Hourly or more is on demand → 10; lead under an hour → 10;
			// exactly one day of recovery is "one day to one week" → 6.
			name: "on demand",
			r:    DORAReport{Deployments: 2400, PerDay: f(24), LeadMedian: f(3599), FailureRate: f(0), RecoveryMedian: f(day), ReworkRate: f(1)},
			df:   10, lt: 10, cfr: 10, rec: 6, rwk: 0, overall: 7.2,
		},
		{
			// Once in 200 days → 0; lead 181 days → 0; no failure recovered:
			// no recovery score and no overall.
			name: "rarely",
			r:    DORAReport{Deployments: 1, PerDay: f(1.0 / 200), LeadMedian: f(181 * day), FailureRate: f(0.5), ReworkRate: f(0)},
			df:   0, lt: 0, cfr: 5, rec: -1, rwk: 10, overall: -1,
		},
		{
			// Weekly exactly → 6; monthly exactly → 4 for lead time (30 d is
			// "one to six months": the bound belongs to the worse answer).
			name: "bounds",
			r:    DORAReport{Deployments: 4, PerDay: f(1.0 / 7), LeadMedian: f(30 * day), FailureRate: f(0.2), RecoveryMedian: f(7 * day), ReworkRate: f(0.2)},
			df:   6, lt: 2, cfr: 8, rec: 4, rwk: 8, overall: 5.6,
		},
		{name: "no deployments", r: DORAReport{PerDay: f(0)}, df: -1, lt: -1, cfr: -1, rec: -1, rwk: -1, overall: -1},
	} {
		q := QuickCheckOf(tc.r)
		for _, c := range []struct {
			what string
			got  *float64
			want float64
		}{{"deployment frequency", q.DeploymentFrequency, tc.df}, {"lead time", q.LeadTime, tc.lt}, {"change failure rate", q.ChangeFailureRate, tc.cfr},
			{"recovery time", q.RecoveryTime, tc.rec}, {"rework rate", q.ReworkRate, tc.rwk}, {"overall", q.Overall, tc.overall}} {
			switch {
			case c.want < 0 && c.got != nil:
				t.Errorf("%s: %s = %v, want null", tc.name, c.what, *c.got)
			case c.want >= 0 && (c.got == nil || math.Abs(*c.got-c.want) > 1e-9):
				t.Errorf("%s: %s = %v, want %v", tc.name, c.what, deref(c.got), c.want)
			}
		}
	}
	if n := len(Clusters2024()); n != 4 {
		t.Errorf("%d clusters", n)
	}
}
