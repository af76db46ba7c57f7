package main

import (
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
)

// progressiveStory: payments, 2 and 3 March 2026 (hours from 2 March 00:00).
//
//	06:00 change p1 created; A2 packages p1
//	08:00 D1 service.deployed A1
//	09:00 flag new-payments on for 25 % (not a deployment)
//	10:00 rollout R1 of A2 started (weight 10); 10:30 service.deployed A2 (the
//	      same deployment); 11:00 weight 25; 12:00 aborted
//	14:00 retry R2 of A2 started; 16:00 promoted
//	34:00 D3 service.deployed A3
//	36:00 incident I1 on payments (no artifact: rule 3 → D3); resolved 44:00
//	38:00 flag new-payments switched off: recovers D3
//
// By hand: deployments D1, R1 (10:00), R2 (14:00), D3 = 4; failed R1
// (rollout_aborted) and D3 (incident_window): CFR 2/4 = 0.5; recovery R1
// 12−10 = 2 h = 7200 s, D3 38−34 = 4 h = 14400 s (the switch-off, before the
// 44:00 resolution), median 10800 s; time to restore I1 8 h = 28800 s; lead
// time p1 06:00 → R1 10:00 = 14400 s.
func progressiveStory() []domain.Event {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	var evs []domain.Event
	add := func(id string, e domain.Event) {
		e.Identity = domain.Identity{Source: "/progressive", ID: id}
		evs = append(evs, e)
	}
	dep := func(id string, h float64, artifact string) {
		add(id, domain.Event{Kind: domain.KindServiceDeployed, Time: at(h), SubjectID: "payments", Service: "payments", Environment: "production", Artifact: artifact})
	}
	step := func(id string, h float64, kind domain.EventKind, weight float64) {
		st := &domain.RolloutStep{}
		if weight >= 0 {
			st.Weight = &weight
		}
		add(id, domain.Event{Kind: kind, Time: at(h), Service: "payments", Environment: "production", Artifact: "A2", Rollout: st})
	}
	flag := func(id string, h float64, enabled bool, pct float64) {
		add(id, domain.Event{Kind: domain.KindFlagChanged, Time: at(h), Environment: "production",
			Flag: &domain.FlagChange{Key: "new-payments", Enabled: enabled, Percentage: pct, Services: []string{"payments"}, Environment: "production"}})
	}
	add("p1-created", domain.Event{Kind: domain.KindChangeCreated, Time: at(6), SubjectID: "p1"})
	add("a2-p1", domain.Event{Kind: domain.KindArtifactPackaged, Time: at(7), SubjectID: "A2", Artifact: "A2", Change: "p1"})
	dep("d1", 8, "A1")
	flag("flag-25", 9, true, 25)
	step("r1-start", 10, domain.KindRolloutStarted, 10)
	dep("d2-same", 10.5, "A2")
	step("r1-25", 11, domain.KindRolloutProgressed, 25)
	step("r1-abort", 12, domain.KindRolloutAborted, -1)
	step("r2-start", 14, domain.KindRolloutStarted, 10)
	step("r2-promote", 16, domain.KindRolloutPromoted, 100)
	dep("d3", 34, "A3")
	add("i1-detected", domain.Event{Kind: domain.KindIncidentDetected, Time: at(36), SubjectID: "I1", Service: "payments", Environment: "production"})
	flag("flag-off", 38, false, 0)
	add("i1-resolved", domain.Event{Kind: domain.KindIncidentResolved, Time: at(44), SubjectID: "I1", Service: "payments", Environment: "production"})
	return evs
}

func TestRolloutsAndFlagsInDORAEndToEnd(t *testing.T) {
	app, _ := startApp(t, testConfig(t))
	ingest := token(t, app, domain.ScopeIngest)
	read := token(t, app, domain.ScopeRead)
	evs := progressiveStory()
	postEventsBatch(t, app, ingest, evs)
	waitStatus(t, app, read, ingestStatus{Stored: int64(len(evs))})

	var got map[string]any
	if code := getJSON(t, app.URL()+"/api/v1/dora?from=2026-03-02&to=2026-03-03&service=payments", read, &got); code != 200 {
		t.Fatalf("dora: %d", code)
	}
	want := map[string]any{
		"deployment_frequency": map[string]any{"deployments": 4.0},
		"change_failure_rate":  map[string]any{"failed": 2.0, "deployments": 4.0, "rate": 0.5},
		"recovery_time":        map[string]any{"failures": 2.0, "median_seconds": 10800.0},
		"time_to_restore":      map[string]any{"incidents": 1.0, "median_seconds": 28800.0},
		"lead_time":            map[string]any{"changes": 1.0, "median_seconds": 14400.0},
		"rework_rate":          map[string]any{"rework": 0.0, "deployments": 4.0},
	}
	for k, w := range want {
		g, _ := got[k].(map[string]any)
		for f, v := range w.(map[string]any) {
			if g[f] != v {
				t.Errorf("%s.%s = %v, want %v", k, f, g[f], v)
			}
		}
	}

	var deps struct {
		Deployments []map[string]any `json:"deployments"`
	}
	getJSON(t, app.URL()+"/api/v1/deployments?from=2026-03-02&to=2026-03-03&service=payments", read, &deps)
	ids := map[string]map[string]any{}
	for _, d := range deps.Deployments {
		ids[d["id"].(string)] = d
	}
	if len(deps.Deployments) != 4 || ids["d1"] == nil || ids["r1-start"] == nil || ids["r2-start"] == nil || ids["d3"] == nil {
		t.Fatalf("deployments %v", deps.Deployments)
	}
	r1 := ids["r1-start"]
	reason, _ := r1["failure_reason"].(string)
	if r1["failed"] != true || !strings.Contains(reason, "rollout_aborted") || !strings.Contains(reason, "r1-abort") || r1["artifact"] != "A2" {
		t.Errorf("aborted rollout: %v", r1)
	}
	if ids["r2-start"]["failed"] != false || ids["d3"]["failed"] != true {
		t.Errorf("retry %v, d3 %v", ids["r2-start"], ids["d3"])
	}
}
