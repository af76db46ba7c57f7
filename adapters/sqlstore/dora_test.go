package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

func storeEvents(t *testing.T, s *sqlstore.Store, evs []domain.Event, batch int) {
	t.Helper()
	recs := make([]domain.EventRecord, len(evs))
	for i, e := range evs {
		recs[i] = domain.EventRecord{Event: e, Raw: []byte(`{}`), StreamSeq: uint64(i + 1)}
	}
	storeAll(t, s, recs, batch)
}

func window(t *testing.T, from, to string) domain.Window {
	t.Helper()
	f, _ := time.Parse(domain.DateLayout, from)
	tt, _ := time.Parse(domain.DateLayout, to)
	w, err := domain.NewWindow(f, tt)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

type doraWant struct {
	deployments, changes, failed, nonRollback, recovered, incidents, rework int
	perDay                                                                  float64
	median, p90, recovery, restore                                          float64 // -1: null
	rate, reworkRate                                                        float64 // -1: null
}

func checkDORA(t *testing.T, name string, r domain.DORAReport, w doraWant) {
	t.Helper()
	num := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	got := doraWant{
		deployments: r.Deployments, changes: r.LeadChanges, failed: r.Failed, nonRollback: r.NonRollback,
		recovered: r.Recovered, incidents: r.Incidents, rework: r.Rework, perDay: num(r.PerDay),
		median: num(r.LeadMedian), p90: num(r.LeadP90), recovery: num(r.RecoveryMedian), restore: num(r.RestoreMedian),
		rate: num(r.FailureRate), reworkRate: num(r.ReworkRate),
	}
	if got != w {
		t.Errorf("%s:\n got %+v\nwant %+v", name, got, w)
	}
}

// The hand-computed answers (see domain/dora_test.go for the arithmetic).
var (
	checkoutWeek = doraWant{
		deployments: 8, perDay: 2, changes: 8, median: 10 * 3600, p90: 48 * 3600,
		failed: 4, nonRollback: 7, rate: 4.0 / 7, recovered: 3, recovery: 1.5 * 3600,
		incidents: 3, restore: 2 * 3600, rework: 3, reworkRate: 3.0 / 8,
	}
	// All services: search's deployment adds one; c1 still counts once, at
	// checkout's D1 (0h), which carried it first.
	allWeek = doraWant{
		deployments: 9, perDay: 2.25, changes: 8, median: 10 * 3600, p90: 48 * 3600,
		failed: 4, nonRollback: 8, rate: 0.5, recovered: 3, recovery: 1.5 * 3600,
		incidents: 3, restore: 2 * 3600, rework: 3, reworkRate: 3.0 / 9,
	}
	// search alone: c1 reached its production at 5h, 53h after it started.
	searchWeek = doraWant{
		deployments: 1, perDay: 0.25, changes: 1, median: 53 * 3600, p90: 53 * 3600,
		failed: 0, nonRollback: 1, rate: 0, recovered: 0, recovery: -1,
		incidents: 0, restore: -1, rework: 0, reworkRate: 0,
	}
)

func TestDORAFromEventsInAnyOrder(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		week := window(t, "2026-03-02", "2026-03-05")
		for seed := int64(0); seed < 4; seed++ {
			store := s
			if seed > 0 {
				store = sqltest.Open(t, s.Dialect())
			}
			evs := domaintest.DORAStory()
			if seed > 0 {
				rand.New(rand.NewSource(seed)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			}
			storeEvents(t, store, evs, []int{1000, 1, 3, 7}[seed])
			name := fmt.Sprintf("seed %d", seed)
			for _, tc := range []struct {
				f    domain.DORAFilter
				want doraWant
			}{
				{domain.DORAFilter{}, allWeek},
				{domain.DORAFilter{Service: "checkout"}, checkoutWeek},
				{domain.DORAFilter{Team: "payments"}, checkoutWeek},
				{domain.DORAFilter{Service: "search"}, searchWeek},
				{domain.DORAFilter{Team: "discovery"}, searchWeek},
			} {
				r, err := store.DORAReport(ctx, week, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				checkDORA(t, fmt.Sprintf("%s %+v", name, tc.f), r, tc.want)
			}
		}
	})
}

func TestDORAEmptyWindowsAndMismatchedFilters(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	storeEvents(t, s, domaintest.DORAStory(), 50)
	none := doraWant{recovery: -1, restore: -1, median: -1, p90: -1, rate: -1, reworkRate: -1}
	for name, tc := range map[string]struct {
		w domain.Window
		f domain.DORAFilter
	}{
		"a later month":                {window(t, "2026-04-01", "2026-04-30"), domain.DORAFilter{}},
		"a service not in that team":   {window(t, "2026-03-02", "2026-03-05"), domain.DORAFilter{Service: "search", Team: "payments"}},
		"a service that never shipped": {window(t, "2026-03-02", "2026-03-05"), domain.DORAFilter{Service: "nope"}},
		"an unknown team":              {window(t, "2026-03-02", "2026-03-05"), domain.DORAFilter{Team: "nope"}},
	} {
		r, err := s.DORAReport(ctx, tc.w, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		checkDORA(t, name, r, none)
		if r.FreqTier != nil || r.LeadTier != nil || r.FailureTier != nil || r.RecoveryTier != nil {
			t.Errorf("%s: tiers without data", name)
		}
	}
}

func TestDORATrendByWeekAndMonth(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	storeEvents(t, s, domaintest.DORAStory(), 50)
	weeks, err := s.DORATrend(ctx, window(t, "2026-02-25", "2026-03-10"), domain.BucketWeek, domain.DORAFilter{Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	// Weeks start on Monday: 23 Feb (clipped to 25–1 Mar), 2 Mar, 9 Mar (clipped to 9–10).
	if len(weeks) != 3 || weeks[0].Window.BucketStart.Format(domain.DateLayout) != "2026-02-23" ||
		weeks[0].Window.Days() != 5 || weeks[2].Window.Days() != 2 {
		t.Fatalf("weeks %+v", weeks)
	}
	if weeks[0].Deployments != 0 || weeks[1].Deployments != 8 || weeks[2].Deployments != 0 {
		t.Fatalf("deployments per week %d %d %d", weeks[0].Deployments, weeks[1].Deployments, weeks[2].Deployments)
	}
	// I4 resolves on Friday 6 March: the second week has four restores.
	if weeks[1].Incidents != 4 || weeks[1].PerDay == nil || *weeks[1].PerDay != 8.0/7 {
		t.Fatalf("week of 2 March: incidents %d per day %v", weeks[1].Incidents, weeks[1].PerDay)
	}
	months, err := s.DORATrend(ctx, window(t, "2026-02-15", "2026-03-31"), domain.BucketMonth, domain.DORAFilter{})
	if err != nil || len(months) != 2 || months[1].Deployments != 9 || months[0].Deployments != 0 || months[1].Window.Days() != 31 {
		t.Fatalf("months %+v %v", months, err)
	}
}

func TestDORADrillDownExplains(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		storeEvents(t, s, domaintest.DORAStory(), 20)
		week := window(t, "2026-03-02", "2026-03-08")
		deps, err := s.DeploymentsIn(ctx, week, domain.DORAFilter{Service: "checkout"}, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(deps) != 8 {
			t.Fatalf("%d deployments", len(deps))
		}
		byArtifact := map[string]domain.DeploymentRecord{}
		for _, d := range deps {
			if !d.Deployment.Rollback {
				byArtifact[d.Deployment.Artifact] = d
			}
		}
		for artifact, want := range map[string]string{
			"A2": "rolled back before the next deployment",
			"A3": "a production incident names the artifact it deployed (I1)",
			"A4": "a production incident on checkout started after it, before the next deployment and within the attribution window (I2)",
			"A7": "(I5)",
			"A1": "",
		} {
			got := byArtifact[artifact].FailureReason()
			if (want == "") != (got == "") || !strings.Contains(got, want) {
				t.Errorf("%s: reason %q; want %q", artifact, got, want)
			}
		}
		if d := byArtifact["A2"]; d.RollbackEvent == nil || d.Verdict.RecoveredBy != domain.RecoveredByRollback || !reflect.DeepEqual(d.Verdict.Changes, []string{"c3"}) {
			t.Errorf("A2 %+v", d)
		}
		if d := byArtifact["A3"]; !reflect.DeepEqual(d.Verdict.Changes, []string{"c4"}) || d.Team != "payments" {
			t.Errorf("A3 changes %v team %q", d.Verdict.Changes, d.Team)
		}
		incs, err := s.IncidentsIn(ctx, week, domain.DORAFilter{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]domain.IncidentRecord{}
		for _, i := range incs {
			got[i.Incident.ID] = i
		}
		if len(incs) != 5 || !got["I1"].Attributed() || got["I1"].Rule != domain.RuleIncidentArtifact || !got["I5"].Attributed() ||
			got["I3"].Attributed() || !strings.Contains(got["I3"].Unattributed, "outside the 24h attribution window") ||
			!strings.Contains(got["I4"].Unattributed, "no production deployment of artifact A9") {
			t.Fatalf("incidents %+v", got)
		}
	})
}

func TestOverridesChangeTheMetricsAtOnce(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		evs := domaintest.DORAStory()
		storeEvents(t, s, evs, 100)
		var d4 domain.Identity
		for _, e := range evs {
			if e.Artifact == "A4" && e.Kind == domain.KindServiceDeployed {
				d4 = e.Identity
			}
		}
		if err := s.SetOverride(ctx, d4, false, "  ", "pm@example.com", nil); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("override without a reason: %v", err)
		}
		if err := s.SetOverride(ctx, d4, false, "I2 was the payment provider's outage", "pm@example.com", nil); err != nil {
			t.Fatal(err)
		}
		week := window(t, "2026-03-02", "2026-03-05")
		r, _ := s.DORAReport(ctx, week, domain.DORAFilter{Service: "checkout"})
		// D4 no longer failed: 3 of 7; recovered D2 1h and D3 12h → median 6.5h.
		want := checkoutWeek
		want.failed, want.rate, want.recovered, want.recovery = 3, 3.0/7, 2, 6.5*3600
		checkDORA(t, "after override", r, want)
		deps, _ := s.DeploymentsIn(ctx, week, domain.DORAFilter{Service: "checkout"}, false, 0)
		for _, d := range deps {
			if d.Deployment.Event == d4 && (d.Verdict.Failed || d.Verdict.Override == nil || !d.Verdict.RuleFailed) {
				t.Errorf("D4 verdict %+v", d.Verdict)
			}
		}
		log, _ := s.AuditLog(ctx, 10)
		if len(log) == 0 || log[0].Action != "deployment.override" || log[0].Actor != "pm@example.com" {
			t.Errorf("audit %+v", log)
		}
		if err := s.ClearOverride(ctx, d4, "pm@example.com"); err != nil {
			t.Fatal(err)
		}
		r, _ = s.DORAReport(ctx, week, domain.DORAFilter{Service: "checkout"})
		checkDORA(t, "override cleared", r, checkoutWeek)
		// A rollback has no verdict to override.
		for _, e := range evs {
			if e.Kind == domain.KindServiceRollback {
				if err := s.SetOverride(ctx, e.Identity, true, "x", "pm", nil); domain.ErrorCode(err) != domain.EINVALID {
					t.Errorf("override on a rollback: %v", err)
				}
			}
		}
	})
}

func TestTeamsComeFromEventsOrPeople(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		storeEvents(t, s, domaintest.DORAStory(), 100)
		week := window(t, "2026-03-02", "2026-03-05")
		if err := s.SetServiceTeam(ctx, "search", "payments", "lead@example.com"); err != nil {
			t.Fatal(err)
		}
		r, _ := s.DORAReport(ctx, week, domain.DORAFilter{Team: "payments"})
		// payments now holds both services: the same as all services.
		checkDORA(t, "payments with search", r, allWeek)
		r, _ = s.DORAReport(ctx, week, domain.DORAFilter{Team: "discovery"})
		if r.Deployments != 0 {
			t.Errorf("discovery still has %d deployments", r.Deployments)
		}
		// A later event naming another team does not undo a person's choice.
		storeEvents(t, s, []domain.Event{{Identity: domain.Identity{Source: "/late", ID: "x"}, Type: "t", Kind: domain.KindServiceDeployed,
			Time: domaintest.Hour(200), SubjectID: "search", Service: "search", Environment: "staging", Artifact: "B2", Team: "discovery"}}, 1)
		svcs, _ := s.Services(ctx)
		for _, sv := range svcs {
			if sv.Name == "search" && (sv.Team != "payments" || !sv.TeamByUser) {
				t.Errorf("search %+v", sv)
			}
		}
		if err := s.SetServiceTeam(ctx, "nope", "x", "lead"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("unknown service: %v", err)
		}
	})
}

func TestDORARebuildGivesTheSameNumbers(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		evs := domaintest.DORAStory()
		rand.New(rand.NewSource(9)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		storeEvents(t, s, evs, 5)
		want, _ := s.DumpProjections(ctx)
		byID := map[string]domain.Event{}
		for _, e := range evs {
			byID[e.ID] = e
		}
		gen, err := s.BeginRebuild(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var after int64
		for {
			page, _ := s.EventsAfter(ctx, after, 6)
			if len(page) == 0 {
				break
			}
			var items []sqlstore.Reapply
			for _, e := range page {
				items = append(items, sqlstore.Reapply{PK: e.PK, Event: byID[e.Identity.ID]})
				after = e.PK
			}
			if err := s.ReapplyEvents(ctx, gen, items); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecomputeAllDORA(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := s.DumpProjections(ctx)
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%s after rebuild:\n got %q\nwant %q", k, got[k], want[k])
			}
		}
		r, _ := s.DORAReport(ctx, window(t, "2026-03-02", "2026-03-05"), domain.DORAFilter{})
		checkDORA(t, "after rebuild", r, allWeek)
	})
}

func TestImportThenRebuild(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		evs := domaintest.DORAStory()
		recs := make([]domain.EventRecord, len(evs))
		byID := map[string]domain.Event{}
		for i, e := range evs {
			recs[i] = domain.EventRecord{Event: e, Raw: []byte(`{}`)}
			byID[e.ID] = e
		}
		n, err := s.ImportEvents(ctx, recs)
		if err != nil || n != len(evs) {
			t.Fatalf("imported %d %v", n, err)
		}
		if n, _ := s.ImportEvents(ctx, recs); n != 0 {
			t.Fatalf("imported %d again", n)
		}
		week := window(t, "2026-03-02", "2026-03-05")
		if r, _ := s.DORAReport(ctx, week, domain.DORAFilter{}); r.Deployments != 0 {
			t.Fatal("imported events were projected")
		}
		gen, _ := s.BeginRebuild(ctx)
		page, _ := s.EventsAfter(ctx, 0, 1000)
		var items []sqlstore.Reapply
		for _, e := range page {
			items = append(items, sqlstore.Reapply{PK: e.PK, Event: byID[e.Identity.ID]})
		}
		if err := s.ReapplyEvents(ctx, gen, items); err != nil {
			t.Fatal(err)
		}
		if err := s.RecomputeAllDORA(ctx); err != nil {
			t.Fatal(err)
		}
		r, _ := s.DORAReport(ctx, week, domain.DORAFilter{})
		checkDORA(t, "imported and rebuilt", r, allWeek)
		st, _ := s.IngestStatus(ctx)
		if st.Stored != int64(len(evs)) {
			t.Errorf("stored counter %d", st.Stored)
		}
	})
}

// A value stream's DORA adds up its services' rollups: the story's two
// services together are the whole; one of them, or one plus a service that
// never shipped, is that one; a team filter keeps only its services.
func TestDORAOfAValueStreamsServices(t *testing.T) {
	s := sqltest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	storeEvents(t, s, domaintest.DORAStory(), 50)
	w := window(t, "2026-03-01", "2026-03-31")
	report := func(f domain.DORAFilter) domain.DORAReport {
		t.Helper()
		r, err := s.DORAReport(ctx, w, f)
		if err != nil {
			t.Fatal(err)
		}
		r.Window = domain.Window{}
		return r
	}
	all, checkout := report(domain.DORAFilter{}), report(domain.DORAFilter{Service: "checkout"})
	search := report(domain.DORAFilter{Service: "search"})
	both := report(domain.DORAFilter{Services: []string{"search", "checkout", "search"}})
	if both.Deployments != all.Deployments || both.Failed != all.Failed || both.Incidents != all.Incidents || both.Rework != all.Rework {
		t.Errorf("both services = %+v, want the whole %+v", both, all)
	}
	// A value stream, like a team, counts each change once, at the first
	// production deployment among its services that carried it: c1 reached
	// checkout at 0h and search at 5h; the stream measures it at 0h, as the
	// whole does, not twice.
	if both.LeadChanges != all.LeadChanges || both.LeadChanges != checkout.LeadChanges+search.LeadChanges-1 ||
		both.LeadMedian == nil || *both.LeadMedian != *all.LeadMedian || *both.LeadP90 != *all.LeadP90 {
		t.Errorf("lead-time changes: stream %d (median %v), checkout %d + search %d, whole %d (median %v)",
			both.LeadChanges, both.LeadMedian, checkout.LeadChanges, search.LeadChanges, all.LeadChanges, all.LeadMedian)
	}
	one := report(domain.DORAFilter{Services: []string{"checkout", "never-shipped"}})
	if one.Deployments != checkout.Deployments || one.LeadChanges != checkout.LeadChanges || one.Deployments == all.Deployments {
		t.Errorf("checkout via stream = %d deployments / %d changes, want %d / %d (all %d)",
			one.Deployments, one.LeadChanges, checkout.Deployments, checkout.LeadChanges, all.Deployments)
	}
	if r := report(domain.DORAFilter{Services: []string{"search"}, Team: "payments"}); r.Deployments != 0 {
		t.Errorf("search is not payments': %d deployments", r.Deployments)
	}
	trend, err := s.DORATrend(ctx, w, domain.BucketWeek, domain.DORAFilter{Services: []string{"checkout", "search"}})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, b := range trend {
		sum += b.Deployments
	}
	if sum != all.Deployments {
		t.Errorf("weekly deployments add up to %d, want %d", sum, all.Deployments)
	}
}

// An editor marks D5 failed and ties I3 to it, which the rules leave
// unattributed (it started 30h after D5). I3 then counts against D5, with
// the rule "override", through later re-evaluations and a rebuild; incidents
// that did not start after D5, or are not checkout's, cannot be tied.
func TestOverrideTiesAnIncident(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		evs := domaintest.DORAStory()
		storeEvents(t, s, evs, 100)
		var d5 domain.Identity
		for _, e := range evs {
			if e.Artifact == "A5" && e.Kind == domain.KindServiceDeployed {
				d5 = e.Identity
			}
		}
		week := window(t, "2026-03-02", "2026-03-08")
		for _, bad := range [][]string{{"I1"}, {"nope"}, {"I3", "I2"}} {
			if err := s.SetOverride(ctx, d5, true, "broke refunds", "pm", bad); domain.ErrorCode(err) != domain.EINVALID {
				t.Errorf("tie %v: %v", bad, err)
			}
		}
		if err := s.SetOverride(ctx, d5, false, "fine", "pm", []string{"I3"}); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("tie on a not-failed verdict: %v", err)
		}
		if err := s.SetOverride(ctx, d5, true, "broke refunds", "pm", []string{" I3 ", "I3"}); err != nil {
			t.Fatal(err)
		}
		check := func(when string) {
			t.Helper()
			incs, err := s.IncidentsIn(ctx, week, domain.DORAFilter{Service: "checkout"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range incs {
				if i.Incident.ID == "I3" && (i.DeploymentEvent != d5 || i.Rule != domain.RuleOverride) {
					t.Errorf("%s: I3 %+v, want tied to D5 by override", when, i)
				}
			}
			deps, _ := s.DeploymentsIn(ctx, week, domain.DORAFilter{Service: "checkout"}, true, 0)
			found := false
			for _, d := range deps {
				if d.Deployment.Event == d5 {
					found = true
					// Recovered at the earlier of I3's resolution (81h) and
					// the next good deployment, D6 at 80h.
					if d.Verdict.RecoveredAt != domaintest.Hour(80) || d.Verdict.Override == nil || len(d.Verdict.Override.Incidents) != 1 {
						t.Errorf("%s: D5 %+v", when, d.Verdict)
					}
				}
			}
			if !found {
				t.Errorf("%s: D5 is not among the failed deployments", when)
			}
		}
		check("after the override")
		// A late event re-evaluates checkout from before D5.
		storeEvents(t, s, []domain.Event{{Identity: domain.Identity{Source: "/late", ID: "inc"}, Type: "t", Kind: domain.KindIncidentReported,
			Time: domaintest.Hour(46.2), SubjectID: "I9", Service: "checkout", Environment: "production"}}, 1)
		check("after a late incident")
		gen, err := s.BeginRebuild(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rebuildAll(t, s, gen, append(evs, domain.Event{Identity: domain.Identity{Source: "/late", ID: "inc"}, Type: "t", Kind: domain.KindIncidentReported,
			Time: domaintest.Hour(46.2), SubjectID: "I9", Service: "checkout", Environment: "production"}))
		check("after a rebuild")
	})
}

// rebuildAll reapplies every stored event of evs in generation gen and
// recomputes DORA, as the rebuild command does.
func rebuildAll(t *testing.T, s *sqlstore.Store, gen int64, evs []domain.Event) {
	t.Helper()
	ctx := context.Background()
	byID := map[domain.Identity]domain.Event{}
	for _, e := range evs {
		byID[e.Identity] = e
	}
	var after int64
	for {
		page, err := s.EventsAfter(ctx, after, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		var items []sqlstore.Reapply
		for _, e := range page {
			items = append(items, sqlstore.Reapply{PK: e.PK, Event: byID[e.Identity]})
			after = e.PK
		}
		if err := s.ReapplyEvents(ctx, gen, items); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecomputeAllDORA(ctx); err != nil {
		t.Fatal(err)
	}
}
