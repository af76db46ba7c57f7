package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

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
		FixedTime                     bool `json:"fixed_time"`
		WIP                           int  `json:"wip"`
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
		Items      int
		Arrivals   int
		Departures int
		Reason     string
	}
	NoConstraintReason *string `json:"no_constraint_reason"`
	ConstraintRule     struct {
		MinItems int     `json:"min_items"`
		MinRatio float64 `json:"min_ratio"`
	} `json:"constraint_rule"`
	Weeks          []json.RawMessage
	CumulativeFlow struct {
		Series []string
		Days   []struct {
			Day    string
			Counts []int
		}
	} `json:"cumulative_flow"`
	Aging struct {
		Items []struct {
			Key, Stage string
			AgeSeconds float64 `json:"age_seconds"`
		}
	}
	Forecast struct {
		Items      int
		SampleDays int        `json:"sample_days"`
		SampleFrom *time.Time `json:"sample_from"`
		Finished   int        `json:"finished_in_sample"`
		P85        *string
		Reason     string
	}
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
			// Active: Code, Build, Test, Deploy — A 22+2+1+0, B 24+1+3 of 72+75 h:
			// the 24 h soak before Operate is Operate's wait, not Deploy's work.
			if math.Abs(*f.Flow.Efficiency-53.0/147) > 1e-9 {
				t.Errorf("efficiency %v; want %v", *f.Flow.Efficiency, 53.0/147)
			}
			if f.Flow.Distribution["feature"] != 1 || f.Flow.Distribution["defect"] != 1 || f.Flow.Distribution["risk"] != 0 {
				t.Errorf("distribution %v", f.Flow.Distribution)
			}
			type st struct{ wip, in, out, skipped int }
			want := map[string]st{"Plan": {0, 3, 3, 0}, "Code": {1, 3, 2, 0}, "Build": {0, 2, 2, 0}, "Test": {0, 1, 1, 1},
				"Release": {0, 2, 2, 0}, "Deploy": {0, 2, 2, 0}, "Operate": {0, 2, 2, 0}, "Monitor": {0, 0, 0, 0}}
			// Deploy keeps A 0 and B 3 h (the incident held Operate 3 h past
			// the soak); Operate, fixed-time, has the 24 h soak of each.
			medians := map[string]float64{"Plan": 3, "Code": 23, "Build": 1.5, "Test": 1, "Release": 21, "Deploy": 1.5, "Operate": 24}
			for _, s := range f.Stages {
				if got := (st{s.WIP, s.Arrivals, s.Departures, s.Skipped}); got != want[s.Name] {
					t.Errorf("%s: %+v; want %+v", s.Name, got, want[s.Name])
				}
				if m, ok := medians[s.Name]; ok && (s.TimeInStage.MedianSeconds == nil || *s.TimeInStage.MedianSeconds != hours(m)) {
					t.Errorf("%s median %v; want %v h", s.Name, s.TimeInStage.MedianSeconds, m)
				}
				if s.Constraint || s.FixedTime != (s.Name == "Operate" || s.Name == "Monitor") {
					t.Errorf("%s constraint %v, fixed time %v", s.Name, s.Constraint, s.FixedTime)
				}
			}
			// Code waits longest, but two items are not enough evidence.
			const why = "Code has the longest median time in stage (23 h) but only 2 items passed through it; 5 are needed."
			if f.Constraint != nil || f.NoConstraintReason == nil || *f.NoConstraintReason != why || f.ConstraintRule.MinItems != 5 || f.ConstraintRule.MinRatio != 1.5 {
				t.Errorf("constraint %+v, none because %v, rule %+v", f.Constraint, f.NoConstraintReason, f.ConstraintRule)
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
			if got := doc.Find(`[data-testid="constraint"]`).Text(); !strings.Contains(got, "No constraint stands out.") || !strings.Contains(got, why) {
				t.Errorf("constraint shown as %q", got)
			}
			if doc.Find(`.vsm-constraint`).Length() != 0 || doc.Find(`[data-testid="fixed-time"]`).Length() != 2 {
				t.Errorf("a stage highlighted as the constraint, or fixed-time stages not marked")
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
		if _, checked := doc.Find(fmt.Sprintf(`input[name="stage.%d.fixed_time"]`, i)).Attr("checked"); checked {
			form.Set(p+"fixed_time", "on")
		}
	}
	// Operate and Monitor are offered as fixed-time, with the default
	// evidence for a constraint.
	if form.Get("stage.6.fixed_time") == "" || form.Get("stage.7.fixed_time") == "" || form.Get("stage.5.fixed_time") != "" {
		t.Fatalf("fixed-time marks offered: %v", form)
	}
	for field, want := range map[string]string{"constraint_min_items": "5", "constraint_min_ratio": "1.5"} {
		if v, _ := doc.Find(`input[name="` + field + `"]`).Attr("value"); v != want {
			t.Errorf("%s offered as %q", field, v)
		}
		form.Set(field, "")
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
	if f := flow(); math.Abs(*f.Flow.Efficiency-53.0/147) > 1e-9 || f.ConstraintRule.MinItems != 5 || f.ConstraintRule.MinRatio != 1.5 {
		t.Fatalf("efficiency before %v, rule %+v", *f.Flow.Efficiency, f.ConstraintRule)
	}

	// Release now waits for a staging deployment, which this story never
	// has: both items skip it and the time moves to the stage before.
	// A: Code 22 + Build 2 + Test 21 + Deploy 0; B: Code 24 + Build 23 + Deploy 3.
	// And two items are enough evidence, if the lead is 1.05×.
	form.Set("stage.4.rule", "deploy.nonproduction")
	form.Set("stage.3.wip_limit", "2")
	form.Set("constraint_min_items", "2")
	form.Set("constraint_min_ratio", "1.05")
	resp, _ = e.postForm(pm, fmt.Sprintf("/value-streams/%d/edit", id), fmt.Sprintf("/value-streams/%d", id), form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	f := flow()
	if math.Abs(*f.Flow.Efficiency-95.0/147) > 1e-9 || f.Stages[4].Skipped != 2 || f.Stages[4].Arrivals != 0 || f.ValueStream.Revision != 2 {
		t.Fatalf("after the rule change: efficiency %v, release %+v, revision %d", *f.Flow.Efficiency, f.Stages[4], f.ValueStream.Revision)
	}
	// Code (23 h over 2 items, 3 arrived) now leads Test (A 21 h, B
	// skipped it: 21 h) by 23/21 = 1.095×.
	if c := f.Constraint; c == nil || c.Stage != "Code" || c.Items != 2 || f.NoConstraintReason != nil || f.ConstraintRule.MinItems != 2 || f.ConstraintRule.MinRatio != 1.05 ||
		c.Reason != "Items wait longest here: a median of 23 h over the 2 that passed through, 1.09× Test's 21 h; and more arrived (3) than left (2) in the period — 1 still in it." {
		t.Fatalf("constraint %+v, none because %v", f.Constraint, f.NoConstraintReason)
	}
	log, _ := e.store.AuditLog(ctx, 10)
	if log[0].Action != "valuestream.update" || !strings.Contains(log[0].Detail, "Release rule artifact.published, deploy.nonproduction → deploy.nonproduction") {
		t.Errorf("audit %+v", log[0])
	}

	// Wrong input: said clearly, kept as typed, nothing saved.
	bad := url.Values{"name": {""}, "teams": {"payments"}, "constraint_min_items": {"0"}, "constraint_min_ratio": {"0.8"},
		"stage.0.name": {"Code"}, "stage.0.kind": {"active"}, "stage.0.rule": {"change.exploded"}, "stage.0.order": {"1"},
		"stage.1.name": {"code"}, "stage.1.kind": {"wait"}, "stage.1.rule": {"build"}, "stage.1.wip_limit": {"-3"}, "stage.1.order": {"2"}}
	resp, doc = e.postForm(pm, fmt.Sprintf("/value-streams/%d/edit", id), fmt.Sprintf("/value-streams/%d", id), bad)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid edit: %d", resp.StatusCode)
	}
	for _, field := range []string{"name", "stage.0.rule", "stage.1.name", "stage.1.wip_limit", "constraint_min_items", "constraint_min_ratio"} {
		if doc.Find("#"+strings.ReplaceAll(field, ".", `\.`)+"-error").Text() == "" {
			t.Errorf("no error shown for %s", field)
		}
	}
	if v, _ := doc.Find(`input[name="stage.0.rule"]`).Attr("value"); v != "change.exploded" {
		t.Errorf("typed rule not kept: %q", v)
	}
	if v, _ := doc.Find(`input[name="constraint_min_ratio"]`).Attr("value"); v != "0.8" {
		t.Errorf("typed ratio not kept: %q", v)
	}
	// A fixed-time stage waits: it cannot be a process stage.
	active := url.Values{"name": {"Checkout"}, "stage.0.name": {"Soak"}, "stage.0.kind": {"active"}, "stage.0.rule": {"operate"}, "stage.0.fixed_time": {"on"}}
	resp, doc = e.postForm(pm, fmt.Sprintf("/value-streams/%d/edit", id), fmt.Sprintf("/value-streams/%d", id), active)
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find(`#stage\.0\.kind-error`).Text() == "" {
		t.Errorf("fixed-time active stage: %d %q", resp.StatusCode, doc.Find(`#stage\.0\.kind-error`).Text())
	}
	if _, checked := doc.Find(`input[name="stage.0.fixed_time"]`).Attr("checked"); !checked {
		t.Error("typed fixed-time mark not kept")
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

// pct writes a fraction as the pages do.
func pct(p *float64) string {
	if p == nil {
		return "—"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", *p*100), ".0") + " %"
}

func humanOrDash(p *float64) string {
	if p == nil {
		return "—"
	}
	return domain.HumanSeconds(*p)
}

// constraintOf is the constraint as the API names it ("" for none) and its
// sentence, either way.
func constraintOf(f flowAPI) (string, string) {
	if f.Constraint != nil {
		return f.Constraint.Stage, f.Constraint.Reason
	}
	if f.NoConstraintReason == nil {
		return "", "(neither a constraint nor a reason)"
	}
	return "", *f.NoConstraintReason
}

// TestValueStreamPagesAgreeWithTheAPI reads every page that shows a value
// stream's flow — the map, the list, the overview's flow tiles and the
// trends' constraint table — and checks each headline figure against the
// API's answer for the same stream and window. One stream names no
// constraint (two items are too few), the other asks for less evidence and
// names Code. It is read at 15:00 on 6 March: B finished at 12:00 that
// day, so velocity and the forecast's sample must both count it.
func TestValueStreamPagesAgreeWithTheAPI(t *testing.T) {
	now := time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)
	e := newEnvAt(t, false, func() time.Time { return now })
	ctx := context.Background()
	e.user("pm@example.com", domain.RoleEditor)
	storeFlowStory(t, e, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	strict, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Checkout", Teams: []string{"payments"}, Stages: domain.DefaultStages()}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	lenient, err := e.store.CreateValueStream(ctx, domain.ValueStream{Name: "Checkout, on less evidence", Teams: []string{"payments"}, Stages: domain.DefaultStages(),
		ConstraintMinItems: 2, ConstraintMinRatio: 1.05}, "pm")
	if err != nil {
		t.Fatal(err)
	}
	_, read, _ := e.store.CreateToken(ctx, "r", []domain.Scope{domain.ScopeRead})
	flowOf := func(id int64, from, to string) flowAPI {
		t.Helper()
		var f flowAPI
		code, body := apiGet(t, e, fmt.Sprintf("/api/v1/value-streams/%d/flow?from=%s&to=%s", id, from, to), read)
		if code != 200 || json.Unmarshal([]byte(body), &f) != nil {
			t.Fatalf("flow: %d %s", code, body)
		}
		return f
	}
	pm := e.signIn("pm@example.com")
	text := func(s interface{ Text() string }) string { return strings.Join(strings.Fields(s.Text()), " ") }
	// The overview and the list cover the 90 days to today.
	from90 := now.AddDate(0, 0, -89).Format(domain.DateLayout)
	_, overview := e.get(pm, "/")
	_, list := e.get(pm, "/value-streams")
	trends := getCSV(t, e, pm, "/trends.csv?from=2026-03-02&to=2026-03-06&bucket=week&table=flow")

	names := map[int64]string{}
	for _, vs := range []domain.ValueStream{strict, lenient} {
		f := flowOf(vs.ID, "2026-03-02", "2026-03-06")
		name, why := constraintOf(f)
		names[vs.ID] = name
		_, doc := e.get(pm, fmt.Sprintf("/value-streams/%d?from=2026-03-02&to=2026-03-06", vs.ID))
		stat := func(id string) string { return text(doc.Find(`[data-testid="` + id + `"] [data-testid="value"]`)) }
		wantHeadline := func(figure, got, want string) {
			t.Helper()
			if got != want {
				t.Errorf("%s: %s = %q; the API says %q", vs.Name, figure, got, want)
			}
		}
		wantHeadline("velocity", stat("stat-velocity"), fmt.Sprint(f.Flow.Velocity))
		wantHeadline("flow time", stat("stat-flow-time"), humanOrDash(f.Flow.FlowTime.MedianSeconds))
		wantHeadline("efficiency", stat("stat-efficiency"), pct(f.Flow.Efficiency))
		wantHeadline("activity", stat("stat-activity"), pct(f.Flow.Activity))
		wantHeadline("WIP", regexpFind(`(\d+) now`, text(doc.Find(`[data-testid="stat-load"]`))), fmt.Sprint(f.Flow.WIP))
		wantConstraint := "No constraint stands out."
		if name != "" {
			wantConstraint = "The constraint is " + name + "."
		}
		wantHeadline("constraint", text(doc.Find(`[data-testid="constraint-name"]`)), wantConstraint)
		wantHeadline("constraint reason", text(doc.Find(`[data-testid="constraint"] [data-testid="constraint-why"]`)), why)
		for i, st := range f.Stages {
			sel := fmt.Sprintf(`[data-testid="stage-%d"] `, i)
			wantHeadline(st.Name+" median", text(doc.Find(sel+`[data-testid="median"]`)), humanOrDash(st.TimeInStage.MedianSeconds))
			wantHeadline(st.Name+" WIP", regexpFind(`^(\d+)`, text(doc.Find(sel+`[data-testid="wip"]`))), fmt.Sprint(st.WIP))
			wantHeadline(st.Name+" in / out", text(doc.Find(sel+`[data-testid="arrivals"]`)), fmt.Sprintf("%d / %d", st.Arrivals, st.Departures))
			wantHeadline(st.Name+" is the constraint", fmt.Sprint(doc.Find(fmt.Sprintf(`.vsm-constraint[data-testid="stage-%d"]`, i)).Length() == 1), fmt.Sprint(st.Name == name))
			wantHeadline(st.Name+" fixed time", fmt.Sprint(doc.Find(sel+`[data-testid="fixed-time"]`).Length() == 1), fmt.Sprint(st.FixedTime))
		}
		var oldest []string
		doc.Find(`[data-testid="oldest"] tbody tr`).Each(func(_ int, r *goquery.Selection) {
			oldest = append(oldest, text(r.Find("td").First().Find(".idea-key"))+" "+text(r.Find("td").Eq(3)))
		})
		var aging []string
		for _, a := range f.Aging.Items {
			aging = append(aging, a.Key+" "+domain.HumanSeconds(a.AgeSeconds))
		}
		wantHeadline("oldest items", fmt.Sprint(oldest), fmt.Sprint(aging))
		// The forecast sampled what velocity counts: both items, B finished today.
		if f.Forecast.Finished != 2 || f.Flow.Velocity != 2 || f.Forecast.Reason != "" || f.Forecast.P85 == nil {
			t.Errorf("%s: velocity %d, forecast %+v", vs.Name, f.Flow.Velocity, f.Forecast)
		} else {
			wantHeadline("forecast p85", text(doc.Find(`[data-testid="forecast-p85"]`)), mustDay(t, *f.Forecast.P85).Format("2 Jan 2006"))
			wantHeadline("forecast sample", regexpFind(`in which (\d+) items finished`, text(doc.Find(`[data-testid="forecast-sample"]`))), fmt.Sprint(f.Forecast.Finished))
		}

		// The overview's tile and the list's card: the last 90 days.
		f90 := flowOf(vs.ID, from90, now.Format(domain.DateLayout))
		name90, why90 := constraintOf(f90)
		tile := overview.Find(fmt.Sprintf(`[data-testid="tile-stream"][href="/value-streams/%d"]`, vs.ID))
		wantTile := "None stands out"
		if name90 != "" {
			wantTile = name90
		}
		wantHeadline("overview tile", text(tile.Find(`[data-testid="value"]`)), wantTile)
		wantHeadline("overview tile reason", text(tile.Find(`[data-testid="note"]`)), why90)
		card := list.Find(fmt.Sprintf(`[data-testid="stream-%d"]`, vs.ID))
		wantCard := "No constraint stands out"
		if name90 != "" {
			wantCard, why90 = "Constraint: "+name90, name90+": "+why90
		}
		wantHeadline("list badge", text(card.Find(`[data-testid="constraint-badge"]`)), wantCard)
		wantHeadline("list reason", text(card.Find(`[data-testid="constraint-why"]`)), why90)

		// The trends' March row covers the same five days as the map.
		found := false
		for _, row := range trends[1:] {
			if row[0] != vs.Name {
				continue
			}
			found = true
			wantTrend := "none"
			if name != "" {
				wantTrend = name
			}
			n := len(row)
			wantHeadline("trends constraint", row[n-2], wantTrend)
			wantHeadline("trends reason", row[n-1], why)
			wantHeadline("trends velocity", row[2], fmt.Sprint(f.Flow.Velocity))
		}
		if !found {
			t.Errorf("%s: no trends row in %q", vs.Name, trends)
		}
	}
	// The two streams differ only in the evidence they ask for.
	if names[strict.ID] != "" || names[lenient.ID] != "Code" {
		t.Errorf("constraints %v; want none for the default rule and Code for the lenient one", names)
	}
}

func regexpFind(expr, s string) string {
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if m == nil {
		return "(no match for " + expr + " in " + strconv.Quote(s) + ")"
	}
	return m[1]
}

func mustDay(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(domain.DateLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
