package main

import (
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/domain"
)

// TestDemoEventsDecode checks that the demo history is what Throughline
// ingests: every event decodes, every kind the metrics read is present, and
// production deployments carry ideas through their changes.
func TestDemoEventsDecode(t *testing.T) {
	dec, err := cdevents.NewDecoder("")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		o    demo.Options
	}{
		{"90 days", demo.Options{Days: 90, End: end}},
		{"14 days at scale 2", demo.Options{Days: 14, Scale: 2, End: end}},
	}
	wantKinds := []domain.EventKind{
		domain.KindChangeCreated, domain.KindChangeMerged, domain.KindArtifactPackaged,
		domain.KindServiceDeployed, domain.KindServiceRollback, domain.KindIncidentDetected,
		domain.KindIncidentResolved, domain.KindTelemetry,
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := demo.Generate(tc.o)
			kinds := map[domain.EventKind]int{}
			ideasOfChange := map[string][]string{}
			changesOfArtifact := map[string][]string{}
			deploymentsWithIdeas, productionDeployments := 0, 0
			for _, ce := range h.Events {
				ev, err := dec.Decode(ce)
				if err != nil {
					t.Fatalf("event %s (%s) does not decode: %v\n%s", ce.ID, ce.Type, err, ce.Data)
				}
				kinds[ev.Kind]++
				if !ev.Time.Equal(ce.Time) {
					t.Errorf("event %s: decoded time %s, CloudEvent time %s", ce.ID, ev.Time, ce.Time)
				}
				switch {
				case ev.Kind.IsChange():
					ideasOfChange[ev.SubjectID] = append(ideasOfChange[ev.SubjectID], ev.Ideas...)
				case ev.Kind == domain.KindArtifactPackaged:
					changesOfArtifact[ev.Artifact] = append(changesOfArtifact[ev.Artifact], ev.Change)
				case ev.Kind == domain.KindPipelineFinished || ev.Kind == "testsuiterun.finished":
					if ev.Outcome != domain.OutcomeSuccess && ev.Outcome != domain.OutcomeFailure {
						t.Errorf("event %s: outcome %q", ce.ID, ev.Outcome)
					}
				case ev.Kind.IsDeployment() && ev.Environment == "production":
					if ev.Team == "" {
						t.Errorf("deployment %s has no team", ce.ID)
					}
					if ev.Kind == domain.KindServiceRollback {
						break
					}
					productionDeployments++
					for _, ch := range changesOfArtifact[ev.Artifact] {
						if len(ideasOfChange[ch]) > 0 {
							deploymentsWithIdeas++
							break
						}
					}
				case ev.Kind.Subject() == "incident":
					if ev.Environment != "production" {
						t.Errorf("incident %s in environment %q", ce.ID, ev.Environment)
					}
				}
			}
			for _, k := range wantKinds {
				if kinds[k] == 0 {
					t.Errorf("no %s events", k)
				}
			}
			t.Logf("%d events; %d production deployments, %d carrying ideas; kinds %v",
				len(h.Events), productionDeployments, deploymentsWithIdeas, kinds)
			if deploymentsWithIdeas == 0 {
				t.Error("no production deployment carries a change linked to an idea")
			}
		})
	}
}
