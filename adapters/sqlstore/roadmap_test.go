package sqlstore_test

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

func TestRoadmapCRUD(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sqltest.EachDialectWith(t, sqlstore.Options{Now: clock}, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		o, err := s.CreateObjective(ctx, domain.Objective{Title: "Grow checkout conversion"}, "pm@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateObjective(ctx, domain.Objective{Title: "  "}, "pm"); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("blank objective: %v", err)
		}
		kr, err := s.CreateKeyResult(ctx, domain.KeyResult{ObjectiveID: o.ID, Title: "Conversion 3.6 %", Metric: "checkout.conversion",
			Attributes: map[string]string{"env": "production"}, Baseline: 0.031, Target: 0.036, Direction: domain.Increase}, "pm@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateKeyResult(ctx, domain.KeyResult{ObjectiveID: 999, Title: "x", Metric: "m", Baseline: 1, Target: 2, Direction: domain.Increase}, "pm"); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("key result of no objective: %v", err)
		}
		idea := domain.Idea{Key: "chk-12", Title: "One-page checkout", Horizon: domain.HorizonNext, FlowType: domain.FlowFeature,
			Team: "payments", KeyResults: []int64{kr.ID}, Reach: 4000, Impact: 2, Confidence: 0.8, Effort: 3, Services: []string{"checkout"}}
		created, err := s.CreateIdea(ctx, idea, "pm@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if created.Key != "CHK-12" || !created.PlannedAt.IsZero() || *created.RICE() != 4000*2*0.8/3 {
			t.Fatalf("created %+v", created)
		}
		if _, err := s.CreateIdea(ctx, idea, "pm"); domain.ErrorCode(err) != domain.ECONFLICT {
			t.Fatalf("duplicate key: %v", err)
		}
		if _, err := s.CreateIdea(ctx, domain.Idea{Key: "not a key", Title: "x", Horizon: domain.HorizonNow, FlowType: domain.FlowDebt}, "pm"); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("bad key: %v", err)
		}
		if _, err := s.CreateIdea(ctx, domain.Idea{Key: "PAY-3", Title: "Retry payments", Horizon: domain.HorizonNow, FlowType: domain.FlowDefect, Team: "payments"}, "pm"); err != nil {
			t.Fatal(err)
		}
		// Moving into Now starts the Plan stage.
		now = now.Add(24 * time.Hour)
		moved, err := s.MoveIdea(ctx, "CHK-12", domain.HorizonNow, "pm@example.com")
		if err != nil || !moved.PlannedAt.Equal(now) || moved.Position != 2 {
			t.Fatalf("moved %+v %v", moved, err)
		}
		if _, err := s.MoveIdea(ctx, "CHK-12", "soon", "pm"); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("bad horizon: %v", err)
		}
		if _, err := s.MoveIdea(ctx, "NOPE-1", domain.HorizonNow, "pm"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("unknown idea: %v", err)
		}
		// An update that breaks the rules changes nothing.
		if _, err := s.UpdateIdea(ctx, "CHK-12", "pm", "idea.update", func(i *domain.Idea) error { i.Title = ""; return nil }); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("blank title: %v", err)
		}
		got, _ := s.Idea(ctx, "chk-12")
		if got.Title != "One-page checkout" || !reflect.DeepEqual(got.KeyResults, []int64{kr.ID}) || !reflect.DeepEqual(got.Services, []string{"checkout"}) {
			t.Fatalf("idea %+v", got)
		}
		if _, err := s.SetIdeaVerdict(ctx, "CHK-12", domain.VerdictValidated, "conversion up 0.4 pt", "pm@example.com"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Idea(ctx, "CHK-12")
		if got.Verdict != domain.VerdictValidated || got.VerdictBy != "pm@example.com" || !got.VerdictAt.Equal(now) {
			t.Fatalf("verdict %+v", got)
		}
		// Filters and archiving.
		byObjective, _ := s.Ideas(ctx, domain.IdeaFilter{ObjectiveID: o.ID})
		byTeam, _ := s.Ideas(ctx, domain.IdeaFilter{Team: "payments"})
		if len(byObjective) != 1 || len(byTeam) != 2 || byTeam[0].Key != "PAY-3" {
			t.Fatalf("by objective %d, by team %v", len(byObjective), byTeam)
		}
		if _, err := s.UpdateIdea(ctx, "PAY-3", "pm", "idea.archive", func(i *domain.Idea) error { i.Archived = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if active, _ := s.Ideas(ctx, domain.IdeaFilter{}); len(active) != 1 {
			t.Fatalf("archived idea still listed: %d", len(active))
		}
		log, _ := s.AuditLog(ctx, 20)
		actions := map[string]bool{}
		for _, e := range log {
			actions[e.Action] = true
		}
		for _, a := range []string{"objective.create", "keyresult.create", "idea.create", "idea.move", "idea.verdict", "idea.archive"} {
			if !actions[a] {
				t.Errorf("audit lacks %s", a)
			}
		}
	})
}

// ideaStory: idea CHK-1 from its first change to production, with an
// incident that holds it in Deploy until it is resolved.
func ideaStory() []domain.Event {
	T := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	at := func(h float64) time.Time { return T.Add(time.Duration(h * float64(time.Hour))) }
	evs := []domain.Event{
		{Kind: domain.KindChangeCreated, Time: at(0), SubjectID: "shop#101", Ideas: []string{"CHK-1"}},
		{Kind: domain.KindChangeMerged, Time: at(0.5), SubjectID: "shop#101", Ideas: []string{"CHK-1"}},
		{Kind: domain.KindChangeCreated, Time: at(-5), SubjectID: "shop#99"}, // not linked
		{Kind: domain.KindArtifactPackaged, Time: at(0.8), SubjectID: "A", Artifact: "A", Change: "shop#101"},
		{Kind: domain.KindArtifactPackaged, Time: at(0.8), SubjectID: "A", Artifact: "A", Change: "shop#99"},
		{Kind: domain.KindBuildFinished, Time: at(1), SubjectID: "build-7", Artifact: "A", Outcome: domain.OutcomeSuccess},
		{Kind: "testsuiterun.finished", Time: at(2), SubjectID: "suite-3", Environment: "staging", Outcome: domain.OutcomeSuccess, Ideas: []string{"CHK-1"}},
		{Kind: domain.KindArtifactPublish, Time: at(3), SubjectID: "A", Artifact: "A"},
		{Kind: domain.KindServiceDeployed, Time: at(4), SubjectID: "checkout", Service: "checkout", Environment: "staging", Artifact: "A"},
		{Kind: domain.KindServiceDeployed, Time: at(6), SubjectID: "checkout", Service: "checkout", Environment: "production", Artifact: "A"},
		{Kind: domain.KindIncidentDetected, Time: at(10), SubjectID: "inc-1", Service: "checkout", Environment: "production", Artifact: "A"},
		{Kind: domain.KindIncidentResolved, Time: at(40), SubjectID: "inc-1", Service: "checkout", Environment: "production"},
	}
	for i := range evs {
		evs[i].Identity = domain.Identity{Source: "/story", ID: fmt.Sprintf("i%02d", i)}
		evs[i].Type = "dev.cdevents." + string(evs[i].Kind) + ".0.3.0"
	}
	return evs
}

func TestIdeaSignalsAndLinks(t *testing.T) {
	sqltest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		T := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		at := func(h float64) time.Time { return T.Add(time.Duration(h * float64(time.Hour))) }
		var want domain.Signals
		for trig, h := range map[domain.Trigger]float64{
			domain.TrigIdeaPlanned: -24, domain.TrigChange: 0, domain.TrigChangeCreated: 0, domain.TrigChangeMerged: 0.5,
			domain.TrigArtifactPackaged: 0.8, domain.TrigBuild: 1, domain.TrigTest: 2, domain.TrigArtifactPublished: 3,
			domain.TrigDeployNonProd: 4, domain.TrigDeployProd: 6,
			// The incident open a day after the deployment holds Operate
			// until it is resolved at +40h.
			domain.TrigOperate: 40,
		} {
			want.Note(trig, at(h))
		}
		for seed := int64(0); seed < 3; seed++ {
			store := s
			if seed > 0 {
				store = sqltest.Open(t, s.Dialect())
			}
			if _, err := store.CreateIdea(ctx, domain.Idea{Key: "CHK-1", Title: "One-page checkout", Horizon: domain.HorizonNow,
				FlowType: domain.FlowFeature, PlannedAt: at(-24)}, "pm"); err != nil {
				t.Fatal(err)
			}
			evs := ideaStory()
			rand.New(rand.NewSource(seed)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			storeEvents(t, store, evs, int(seed)+1)
			flow, err := store.IdeaFlow(ctx, []string{"CHK-1", "NOPE-1"})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := flow["CHK-1"]
			if !ok || len(flow) != 1 {
				t.Fatalf("seed %d: flow %v", seed, flow)
			}
			if got.Signals[domain.TrigIdeaCreated] == 0 {
				t.Errorf("seed %d: no idea.created", seed)
			}
			got.Signals[domain.TrigIdeaCreated] = 0
			if got.Signals != want {
				for i := range want {
					if got.Signals[i] != want[i] {
						t.Errorf("seed %d: %s = %v; want %v", seed, domain.Trigger(i), got.Signals.At(domain.Trigger(i)), want.At(domain.Trigger(i)))
					}
				}
			}
			if !reflect.DeepEqual(got.Services, []string{"checkout"}) || got.Title != "One-page checkout" || got.HasKeyResult {
				t.Errorf("seed %d: item %+v", seed, got)
			}
			tl := domain.StageTimeline(&got, at(100))
			if tl.Current != domain.StageOperate || !tl.Entered[domain.StageOperate].Equal(at(40)) || !tl.Done {
				t.Fatalf("timeline %+v", tl)
			}
			links, err := store.IdeaLinks(ctx, "CHK-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(links.Changes) != 1 || links.Changes[0].ID != "shop#101" || !links.Changes[0].InProduction.Equal(at(6)) ||
				len(links.Runs) != 2 || len(links.Artifacts) != 1 || len(links.Deployments) != 2 || len(links.Incidents) != 1 {
				t.Fatalf("links %+v", links)
			}
		}
	})
}

func TestMetricSeriesForKeyResults(t *testing.T) {
	sqltest.EachDialectWith(t, storeOpts, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		sample := func(d int, v float64, env string) domain.Sample {
			return domain.Sample{Metric: "checkout.conversion", Value: v, Time: day.AddDate(0, 0, d).Add(10 * time.Hour),
				Attributes: map[string]string{"service": "checkout", "env": env}}
		}
		ev := domain.Event{Identity: domain.Identity{Source: "/otel", ID: "t1"}, Type: "t", Kind: domain.KindTelemetry, Time: day, Samples: []domain.Sample{
			sample(0, 0.030, "production"), sample(0, 0.034, "production"), sample(0, 0.5, "staging"),
			sample(1, 0.031, "production"),
		}}
		storeEvents(t, s, []domain.Event{ev}, 1)
		daily, err := s.MetricDaily(ctx, "checkout.conversion", map[string]string{"env": "production"}, day, day.AddDate(0, 0, 3))
		if err != nil {
			t.Fatal(err)
		}
		if len(daily) != 2 || math.Abs(daily[0].Value-0.032) > 1e-12 || math.Abs(daily[1].Value-0.031) > 1e-12 {
			t.Fatalf("daily %+v", daily)
		}
		// No filter: staging counts too. A filter that matches nothing: no data.
		all, _ := s.MetricDaily(ctx, "checkout.conversion", nil, day, day.AddDate(0, 0, 1))
		none, _ := s.MetricDaily(ctx, "checkout.conversion", map[string]string{"env": "qa"}, day, day.AddDate(0, 0, 3))
		if len(all) != 1 || math.Abs(all[0].Value-(0.03+0.034+0.5)/3) > 1e-12 || len(none) != 0 {
			t.Fatalf("all %+v none %+v", all, none)
		}
		hours, err := s.MetricSeries(ctx, "checkout.conversion", map[string]string{"env": "production"}, "hour", day, day.AddDate(0, 0, 1))
		if err != nil || len(hours) != 1 || hours[0].Count != 2 || hours[0].Min != 0.030 || hours[0].Max != 0.034 {
			t.Fatalf("hours %+v %v", hours, err)
		}
		if _, err := s.MetricSeries(ctx, "x", nil, "week", day, day); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("bad bucket: %v", err)
		}
		names, _ := s.MetricNames(ctx)
		if !reflect.DeepEqual(names, []string{"checkout.conversion"}) {
			t.Fatalf("names %v", names)
		}
	})
}
