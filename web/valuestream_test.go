package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
)

// flowStory is a week of two ideas through the default stages and a third
// still being coded. D is Monday 2 March 2026; hours from D's midnight:
//
//	A (feature): planned 9, change 12, build + packaged D+1 10, test D+1 12
//	  (names A), published D+1 13, production D+2 9, operating D+3 9: done.
//	  Plan 3 h, Code 22 h, Build 2 h, Test 1 h, Release 20 h, Deploy 24 h → 72 h.
//	B (defect): planned D+1 9, change D+1 10, build + packaged D+2 10, no test,
//	  published D+2 11, production D+3 9, an incident on that deployment from
//	  D+3 12 to D+4 12 holds Operate until D+4 12: done.
//	  Plan 1 h, Code 24 h, Build 1 h, (Test skipped), Release 22 h, Deploy 27 h → 75 h.
//	C (feature): planned D+2 9, change D+3 9: in Code at the end.
func flowStory() []domain.Event {
	D := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(day, hour int) time.Time { return D.Add(time.Duration(day*24+hour) * time.Hour) }
	return []domain.Event{
		{Kind: domain.KindChangeCreated, Time: at(0, 12), SubjectID: "shop#1", Title: "CHK-1: one-page checkout", Ideas: []string{"CHK-1"}},
		{Kind: domain.KindBuildFinished, Time: at(1, 10), SubjectID: "build-1", Artifact: "art-1"},
		{Kind: domain.KindArtifactPackaged, Time: at(1, 10), SubjectID: "art-1", Artifact: "art-1", Change: "shop#1"},
		{Kind: "testsuiterun.finished", Time: at(1, 12), SubjectID: "e2e-1", Environment: "staging", Ideas: []string{"CHK-1"}},
		{Kind: domain.KindArtifactPublish, Time: at(1, 13), SubjectID: "art-1", Artifact: "art-1"},
		{Kind: domain.KindServiceDeployed, Time: at(2, 9), SubjectID: "checkout", Service: "checkout", Environment: "production", Artifact: "art-1"},

		{Kind: domain.KindChangeCreated, Time: at(1, 10), SubjectID: "shop#2", Title: "CHK-2: fix rounding", Ideas: []string{"CHK-2"}},
		{Kind: domain.KindBuildFinished, Time: at(2, 10), SubjectID: "build-2", Artifact: "art-2"},
		{Kind: domain.KindArtifactPackaged, Time: at(2, 10), SubjectID: "art-2", Artifact: "art-2", Change: "shop#2"},
		{Kind: domain.KindArtifactPublish, Time: at(2, 11), SubjectID: "art-2", Artifact: "art-2"},
		{Kind: domain.KindServiceDeployed, Time: at(3, 9), SubjectID: "checkout", Service: "checkout", Environment: "production", Artifact: "art-2"},
		{Kind: domain.KindIncidentDetected, Time: at(3, 12), SubjectID: "inc-1", Service: "checkout", Environment: "production", Artifact: "art-2"},
		{Kind: domain.KindIncidentResolved, Time: at(4, 12), SubjectID: "inc-1", Service: "checkout", Environment: "production"},

		{Kind: domain.KindChangeCreated, Time: at(3, 9), SubjectID: "shop#3", Title: "CHK-3: saved cards", Ideas: []string{"CHK-3"}},
	}
}

func storeFlowStory(t *testing.T, e *env, order []int) {
	t.Helper()
	ctx := context.Background()
	D := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		key     string
		typ     domain.FlowType
		planned time.Time
	}{{"CHK-1", domain.FlowFeature, D.Add(9 * time.Hour)}, {"CHK-2", domain.FlowDefect, D.Add(33 * time.Hour)}, {"CHK-3", domain.FlowFeature, D.Add(57 * time.Hour)}} {
		if _, err := e.store.CreateIdea(ctx, domain.Idea{Key: c.key, Title: fmt.Sprint("Idea ", i+1), Horizon: domain.HorizonNow, FlowType: c.typ,
			Team: "payments", PlannedAt: c.planned}, "pm"); err != nil {
			t.Fatal(err)
		}
	}
	evs := flowStory()
	for _, i := range order {
		ev := evs[i]
		ev.Identity = domain.Identity{Source: "/story", ID: fmt.Sprint("e", i)}
		ev.Type = "dev.cdevents." + string(ev.Kind) + ".0.3.0"
		if _, err := e.store.StoreEvents(ctx, []domain.EventRecord{{Event: ev, Raw: []byte(`{}`), StreamSeq: uint64(i + 1)}}); err != nil {
			t.Fatal(err)
		}
	}
}

type flowAPI struct {
	ValueStream struct {
		ID       int64
		Revision int
	} `json:"value_stream"`
	From, To string
	Stages   []struct {
		Name, Kind                    string
		WIP                           int `json:"wip"`
		Arrivals, Departures, Skipped int
		TimeInStage                   struct {
			Items         int      `json:"items"`
			MedianSeconds *float64 `json:"median_seconds"`
		} `json:"time_in_stage"`
		Constraint bool
	}
	Flow struct {
		Velocity int
		FlowTime struct {
			Items         int      `json:"items"`
			MedianSeconds *float64 `json:"median_seconds"`
			P85Seconds    *float64 `json:"p85_seconds"`
		} `json:"flow_time"`
		WIP          int                `json:"wip"`
		Efficiency   *float64           `json:"efficiency"`
		Distribution map[string]int     `json:"distribution"`
		Load         *float64           `json:"load"`
		Activity     *float64           `json:"activity"`
		Extra        map[string]float64 `json:"-"`
	}
	Constraint *struct {
		Stage      string
		Seconds    float64
		Arrivals   int
		Departures int
	}
	Weeks          []json.RawMessage
	CumulativeFlow struct {
		Series []string
		Days   []struct {
			Day    string
			Counts []int
		}
	} `json:"cumulative_flow"`
	Aging struct {
		Items []struct{ Key, Stage string }
	}
	Forecast struct{ Items int }
}

func hours(h float64) float64 { return h * 3600 }

func TestValueStreamFlowByHand(t *testing.T) {
	for name, order := range map[string][]int{
		"in order": {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
		// Late and out of order: the deployment before the packaging that
		// links its change, the incident before the deployment it names.
		"shuffled": {12, 11, 5, 13, 10, 4, 2, 9, 0, 3, 8, 6, 1, 7},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, false)
			ctx := context.Background()
			e.user("pm@example.com", domain.RoleEditor)
			storeFlowStory(t, e, order)
			vs, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Checkout", Teams: []string{"payments"}, Stages: domain.DefaultStages()}, "pm")
			if err != nil {
				t.Fatal(err)
			}
			_, read, _ := e.store.CreateToken(ctx, "r", []domain.Scope{domain.ScopeRead})
			path := fmt.Sprintf("/api/v1/value-streams/%d/flow?from=2026-03-02&to=2026-03-08", vs.ID)
			var f flowAPI
			code, body := apiGet(t, e, path, read)
			if code != 200 {
				t.Fatalf("flow: %d %s", code, body)
			}
			if err := json.Unmarshal([]byte(body), &f); err != nil {
				t.Fatal(err)
			}
			if f.Flow.Velocity != 2 || f.Flow.WIP != 1 || f.Flow.FlowTime.Items != 2 ||
				*f.Flow.FlowTime.MedianSeconds != hours(73.5) || *f.Flow.FlowTime.P85Seconds != hours(75) {
				t.Fatalf("flow %+v", f.Flow)
			}
			// Active: Code, Build, Test, Deploy — A 22+2+1+24, B 24+1+27 of 72+75 h.
			if math.Abs(*f.Flow.Efficiency-101.0/147) > 1e-9 {
				t.Errorf("efficiency %v; want %v", *f.Flow.Efficiency, 101.0/147)
			}
			if f.Flow.Distribution["feature"] != 1 || f.Flow.Distribution["defect"] != 1 || f.Flow.Distribution["risk"] != 0 {
				t.Errorf("distribution %v", f.Flow.Distribution)
			}
			type st struct{ wip, in, out, skipped int }
			want := map[string]st{"Plan": {0, 3, 3, 0}, "Code": {1, 3, 2, 0}, "Build": {0, 2, 2, 0}, "Test": {0, 1, 1, 1},
				"Release": {0, 2, 2, 0}, "Deploy": {0, 2, 2, 0}, "Operate": {0, 2, 2, 0}, "Monitor": {0, 0, 0, 0}}
			medians := map[string]float64{"Plan": 3, "Code": 23, "Build": 1.5, "Test": 1, "Release": 21, "Deploy": 25.5, "Operate": 0}
			for _, s := range f.Stages {
				if got := (st{s.WIP, s.Arrivals, s.Departures, s.Skipped}); got != want[s.Name] {
					t.Errorf("%s: %+v; want %+v", s.Name, got, want[s.Name])
				}
				if m, ok := medians[s.Name]; ok && (s.TimeInStage.MedianSeconds == nil || *s.TimeInStage.MedianSeconds != hours(m)) {
					t.Errorf("%s median %v; want %v h", s.Name, s.TimeInStage.MedianSeconds, m)
				}
				if s.Constraint != (s.Name == "Code") {
					t.Errorf("%s constraint %v", s.Name, s.Constraint)
				}
			}
			if c := f.Constraint; c == nil || c.Stage != "Code" || c.Seconds != hours(23) || c.Arrivals != 3 || c.Departures != 2 {
				t.Errorf("constraint %+v", f.Constraint)
			}
			if len(f.Weeks) != 1 || len(f.CumulativeFlow.Days) != 7 || len(f.CumulativeFlow.Series) != 9 {
				t.Errorf("weeks %d, cfd days %d series %v", len(f.Weeks), len(f.CumulativeFlow.Days), f.CumulativeFlow.Series)
			}
			if last := f.CumulativeFlow.Days[6].Counts; fmt.Sprint(last) != "[3 3 2 2 2 2 2 2 2]" {
				t.Errorf("cfd at the end %v", last)
			}
			if len(f.Aging.Items) != 1 || f.Aging.Items[0].Key != "CHK-3" || f.Aging.Items[0].Stage != "Code" || f.Forecast.Items != 1 {
				t.Errorf("aging %+v forecast %+v", f.Aging, f.Forecast)
			}

			// The map page shows the same.
			pm := e.signIn("pm@example.com")
			resp, doc := e.get(pm, fmt.Sprintf("/value-streams/%d?from=2026-03-02&to=2026-03-08", vs.ID))
			if resp.StatusCode != 200 {
				t.Fatalf("map page: %d", resp.StatusCode)
			}
			if got := doc.Find(`[data-testid="stage-1"] [data-testid="wip"]`).Text(); !strings.Contains(got, "1") {
				t.Errorf("Code WIP shown as %q", got)
			}
			if got := doc.Find(`[data-testid="stage-3"] [data-testid="skipped"]`).Text(); !strings.Contains(got, "1 skipped") {
				t.Errorf("Test skipped shown as %q", got)
			}
			if got := doc.Find(`[data-testid="constraint"]`).Text(); !strings.Contains(got, "The constraint is Code") || !strings.Contains(got, "23 h") {
				t.Errorf("constraint shown as %q", got)
			}
			if doc.Find(`.vsm-constraint [data-testid="median"]`).Text() != "23 h" {
				t.Errorf("constraint stage not highlighted")
			}
			for _, id := range []string{"velocity-chart", "flowtime-chart", "cfd-chart", "aging-chart", "forecast"} {
				if doc.Find(`[data-testid="`+id+`"]`).Length() != 1 {
					t.Errorf("no %s", id)
				}
			}
			if doc.Find(`[data-testid="cfd-chart"] polygon`).Length() != 9 || doc.Find(`[data-testid="aging-chart"] circle`).Length() != 1 {
				t.Errorf("charts: %d cfd bands, %d aging dots", doc.Find(`[data-testid="cfd-chart"] polygon`).Length(), doc.Find(`[data-testid="aging-chart"] circle`).Length())
			}
		})
	}
}

func TestValueStreamRuleChangeRecomputesHistory(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.user("pm@example.com", domain.RoleEditor)
	e.user("viewer@example.com", domain.RoleViewer)
	storeFlowStory(t, e, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	pm := e.signIn("pm@example.com")

	// Create through the form: the default stages are offered.
	_, doc := e.get(pm, "/value-streams/new")
	if v, _ := doc.Find(`input[name="stage.4.rule"]`).Attr("value"); v != "artifact.published, deploy.nonproduction" {
		t.Fatalf("default Release rule offered: %q", v)
	}
	form := url.Values{"name": {"Checkout"}, "teams": {"payments"}, "services": {""}}
	for i, st := range domain.DefaultStages() {
		p := fmt.Sprintf("stage.%d.", i)
		form.Set(p+"order", fmt.Sprint(i+1))
		form.Set(p+"name", st.Name)
		form.Set(p+"kind", string(st.Kind))
		form.Set(p+"rule", domain.RuleText(st.Rule))
		form.Set(p+"wip_limit", "")
	}
	form.Set("stage.8.name", "")
	form.Set("stage.8.rule", "")
	resp, _ := e.postForm(pm, "/value-streams/new", "/value-streams", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	streams, _ := e.store.ValueStreams(ctx)
	if len(streams) != 1 || len(streams[0].Stages) != 8 || streams[0].Teams[0] != "payments" {
		t.Fatalf("streams %+v", streams)
	}
	id := streams[0].ID
	_, read, _ := e.store.CreateToken(ctx, "r", []domain.Scope{domain.ScopeRead})
	flow := func() flowAPI {
		var f flowAPI
		code, body := apiGet(t, e, fmt.Sprintf("/api/v1/value-streams/%d/flow?from=2026-03-02&to=2026-03-08", id), read)
		if code != 200 || json.Unmarshal([]byte(body), &f) != nil {
			t.Fatalf("flow: %d %s", code, body)
		}
		return f
	}
	if f := flow(); math.Abs(*f.Flow.Efficiency-101.0/147) > 1e-9 {
		t.Fatalf("efficiency before %v", *f.Flow.Efficiency)
	}

	// Release now waits for a staging deployment, which this story never
	// has: both items skip it and the time moves to the stage before.
	// A: Code 22 + Build 2 + Test 21 + Deploy 24; B: Code 24 + Build 23 + Deploy 27.
	form.Set("stage.4.rule", "deploy.nonproduction")
	form.Set("stage.3.wip_limit", "2")
	resp, _ = e.postForm(pm, fmt.Sprintf("/value-streams/%d/edit", id), fmt.Sprintf("/value-streams/%d", id), form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	f := flow()
	if math.Abs(*f.Flow.Efficiency-143.0/147) > 1e-9 || f.Stages[4].Skipped != 2 || f.Stages[4].Arrivals != 0 || f.ValueStream.Revision != 2 {
		t.Fatalf("after the rule change: efficiency %v, release %+v, revision %d", *f.Flow.Efficiency, f.Stages[4], f.ValueStream.Revision)
	}
	log, _ := e.store.AuditLog(ctx, 10)
	if log[0].Action != "valuestream.update" || !strings.Contains(log[0].Detail, "Release rule artifact.published, deploy.nonproduction → deploy.nonproduction") {
		t.Errorf("audit %+v", log[0])
	}

	// Wrong input: said clearly, kept as typed, nothing saved.
	bad := url.Values{"name": {""}, "teams": {"payments"},
		"stage.0.name": {"Code"}, "stage.0.kind": {"active"}, "stage.0.rule": {"change.exploded"}, "stage.0.order": {"1"},
		"stage.1.name": {"code"}, "stage.1.kind": {"wait"}, "stage.1.rule": {"build"}, "stage.1.wip_limit": {"-3"}, "stage.1.order": {"2"}}
	resp, doc = e.postForm(pm, fmt.Sprintf("/value-streams/%d/edit", id), fmt.Sprintf("/value-streams/%d", id), bad)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid edit: %d", resp.StatusCode)
	}
	for _, field := range []string{"name", "stage.0.rule", "stage.1.name", "stage.1.wip_limit"} {
		if doc.Find("#"+strings.ReplaceAll(field, ".", `\.`)+"-error").Text() == "" {
			t.Errorf("no error shown for %s", field)
		}
	}
	if v, _ := doc.Find(`input[name="stage.0.rule"]`).Attr("value"); v != "change.exploded" {
		t.Errorf("typed rule not kept: %q", v)
	}
	if got, _ := e.store.ValueStream(ctx, id); got.Revision != 2 || got.Name != "Checkout" {
		t.Errorf("an invalid edit was saved: %+v", got)
	}

	// Viewers read but do not change; the API answers with the stream.
	viewer := e.signIn("viewer@example.com")
	if resp, _ := e.get(viewer, fmt.Sprintf("/value-streams/%d", id)); resp.StatusCode != 200 {
		t.Errorf("viewer map: %d", resp.StatusCode)
	}
	if resp, _ := e.get(viewer, "/value-streams/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer form: %d", resp.StatusCode)
	}
	if resp, _ := e.postForm(viewer, "/value-streams", fmt.Sprintf("/value-streams/%d/delete", id), nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer delete: %d", resp.StatusCode)
	}
	code, body := apiGet(t, e, "/api/v1/value-streams", read)
	if code != 200 || !strings.Contains(body, `"rule":["deploy.nonproduction"]`) || !strings.Contains(body, `"wip_limit":2`) {
		t.Errorf("list API: %d %s", code, body)
	}
	if code, _ := apiGet(t, e, "/api/v1/value-streams/999/flow", read); code != http.StatusNotFound {
		t.Errorf("unknown stream: %d", code)
	}
	if code, _ := apiGet(t, e, fmt.Sprintf("/api/v1/value-streams/%d/flow?from=yesterday", id), read); code != http.StatusBadRequest {
		t.Errorf("bad window: %d", code)
	}
	if code, _ := apiGet(t, e, "/api/v1/value-streams", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}

	resp, _ = e.postForm(pm, fmt.Sprintf("/value-streams/%d/edit", id), fmt.Sprintf("/value-streams/%d/delete", id), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, doc := e.get(pm, "/value-streams"); doc.Find(`[data-testid="no-streams"]`).Length() != 1 {
		t.Error("deleted stream still listed")
	}
}
