package main

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
)

// evidenceStory puts idea CHK-42 in production on day D (20 days ago) and
// sends its key-result metric for six days either side, the numbers of
// domain/evidence_test.go: before 10 12 11 13 9 11, after each +2, and a wild
// value on the deploy day that must be left out.
func evidenceStory(d time.Time) []domain.Event {
	at := func(days, hours float64) time.Time {
		return d.Add(time.Duration((days*24 + hours) * float64(time.Hour)))
	}
	evs := []domain.Event{
		{Kind: domain.KindChangeCreated, Time: at(-3, 9), SubjectID: "shop#420", Title: "CHK-42: one-page checkout", Repository: "shop"},
		{Kind: domain.KindChangeMerged, Time: at(-2, 9), SubjectID: "shop#420", Title: "CHK-42: one-page checkout", Repository: "shop"},
		{Kind: domain.KindArtifactPackaged, Time: at(-2, 10), SubjectID: "pkg:oci/shop@1", Artifact: "pkg:oci/shop@1", Change: "shop#420"},
		{Kind: domain.KindServiceDeployed, Time: at(0, 10), SubjectID: "shop", Service: "shop", Environment: "production", Artifact: "pkg:oci/shop@1"},
	}
	var samples []domain.Sample
	add := func(day int, v float64) {
		samples = append(samples, domain.Sample{Metric: "shop.conversion", Value: v, Time: at(float64(day), 12), Attributes: map[string]string{"env": "production"}})
	}
	for i, v := range []float64{10, 12, 11, 13, 9, 11} {
		add(i-6, v)
		add(i+1, v+2)
	}
	add(0, 99)
	evs = append(evs, domain.Event{Kind: domain.KindTelemetry, Time: at(0, 0), Samples: samples})
	for i := range evs {
		evs[i].Identity = domain.Identity{Source: "/evidence", ID: "ev" + string(rune('a'+i))}
	}
	return evs
}

func TestIdeaAPIShowsStagesAndEvidence(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	ctx := context.Background()
	o, err := app.Store.CreateObjective(ctx, domain.Objective{Title: "Grow conversion"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := app.Store.CreateKeyResult(ctx, domain.KeyResult{ObjectiveID: o.ID, Title: "Conversion up", Metric: "shop.conversion",
		Attributes: map[string]string{"env": "production"}, Baseline: 11, Target: 15, Direction: domain.Increase}, "test")
	if err != nil {
		t.Fatal(err)
	}
	d := domain.Midnight(time.Now()).AddDate(0, 0, -20)
	if _, err := app.Store.CreateIdea(ctx, domain.Idea{Key: "CHK-42", Title: "One-page checkout", Horizon: domain.HorizonNow,
		FlowType: domain.FlowFeature, KeyResults: []int64{kr.ID}, PlannedAt: d.AddDate(0, 0, -10)}, "test"); err != nil {
		t.Fatal(err)
	}
	ingest, read := token(t, app, domain.ScopeIngest), token(t, app, domain.ScopeRead)
	evs := evidenceStory(d)
	postEventsBatch(t, app, ingest, evs)
	waitStatus(t, app, read, ingestStatus{Stored: int64(len(evs))})

	var got struct {
		Key    string `json:"key"`
		Stage  string `json:"stage"`
		Stages []struct {
			Stage   string  `json:"stage"`
			Entered *string `json:"entered_at"`
			Skipped bool    `json:"skipped"`
		} `json:"stages"`
		Links struct {
			Changes     []map[string]any `json:"changes"`
			Deployments []map[string]any `json:"deployments"`
		} `json:"links"`
		Evidence []struct {
			DaysBefore, DaysAfter int
			BeforeMean            float64 `json:"before_mean"`
			AfterMean             float64 `json:"after_mean"`
			Difference            float64 `json:"difference"`
			Low                   float64 `json:"ci95_low"`
			High                  float64 `json:"ci95_high"`
			Verdict               string  `json:"verdict"`
			Observational         bool    `json:"observational"`
			WindowOpen            bool    `json:"window_open"`
		} `json:"evidence"`
	}
	if code := getJSON(t, app.URL()+"/api/v1/ideas/chk-42", read, &got); code != 200 {
		t.Fatalf("idea: %d", code)
	}
	if got.Key != "CHK-42" || got.Stage != "monitor" || len(got.Links.Changes) != 1 || len(got.Links.Deployments) != 1 {
		t.Fatalf("idea %+v", got)
	}
	skipped := map[string]bool{}
	for _, s := range got.Stages {
		skipped[s.Stage] = s.Skipped
	}
	if !skipped["build"] || !skipped["test"] || !skipped["release"] || skipped["code"] {
		t.Errorf("skipped stages %v", skipped)
	}
	if len(got.Evidence) != 1 {
		t.Fatalf("evidence %+v", got.Evidence)
	}
	e := got.Evidence[0]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-4 }
	// 2 ± t(0.975, 10)·√(2/6 + 2/6) = 2 ± 1.819270.
	if !near(e.BeforeMean, 11) || !near(e.AfterMean, 13) || !near(e.Difference, 2) || !near(e.Low, 0.180730) || !near(e.High, 3.819270) ||
		e.Verdict != "moved" || !e.Observational || e.WindowOpen {
		t.Fatalf("evidence %+v", e)
	}

	var ideas struct {
		Ideas []map[string]any `json:"ideas"`
	}
	if code := getJSON(t, app.URL()+"/api/v1/ideas?horizon=now", read, &ideas); code != 200 || len(ideas.Ideas) != 1 || ideas.Ideas[0]["stage"] != "monitor" {
		t.Fatalf("ideas %d %+v", code, ideas)
	}
	var series struct {
		Points []struct {
			Mean float64 `json:"mean"`
		} `json:"points"`
	}
	url := app.URL() + "/api/v1/metrics/shop.conversion?bucket=day&attr.env=production&from=" +
		d.AddDate(0, 0, -6).Format(domain.DateLayout) + "&to=" + d.AddDate(0, 0, 6).Format(domain.DateLayout)
	if code := getJSON(t, url, read, &series); code != 200 || len(series.Points) != 13 || series.Points[6].Mean != 99 {
		t.Fatalf("metric: %d %+v", code, series)
	}
	var outcomes struct {
		Objectives []struct {
			KeyResults []struct {
				Ideas    []string `json:"ideas"`
				Progress *float64 `json:"progress"`
			} `json:"key_results"`
		} `json:"objectives"`
	}
	if code := getJSON(t, app.URL()+"/api/v1/outcomes", read, &outcomes); code != 200 || len(outcomes.Objectives) != 1 ||
		outcomes.Objectives[0].KeyResults[0].Ideas[0] != "CHK-42" {
		t.Fatalf("outcomes %d %+v", code, outcomes)
	}
	if code := getJSON(t, app.URL()+"/api/v1/ideas/NOPE-1", read, nil); code != http.StatusNotFound {
		t.Fatalf("unknown idea: %d", code)
	}
}
