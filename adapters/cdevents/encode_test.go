package cdevents_test

import (
	"testing"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

func TestFromEventRoundTrips(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	evs := domaintest.DORAStory()
	evs = append(evs,
		domain.Event{Identity: domain.Identity{Source: "/ci", ID: "b"}, Kind: domain.KindPipelineFinished, Time: domaintest.Hour(1),
			SubjectID: "run-1", PipelineName: "deploy", Outcome: domain.OutcomeFailure, Ideas: []string{"CHK-1"}, Title: "x", Branch: "y"},
		domain.Event{Identity: domain.Identity{Source: "/otel", ID: "t"}, Kind: domain.KindTelemetry, Time: domaintest.Hour(2),
			Samples: []domain.Sample{{Metric: "m", Value: 0.5, Time: domaintest.Hour(2), Attributes: map[string]string{"service": "s"}}}},
	)
	for _, want := range evs {
		ce, err := cdevents.FromEvent(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.Decode(ce)
		if err != nil {
			t.Fatalf("%s: %v", want.ID, err)
		}
		want.Type = ce.Type
		if want.SubjectSource == "" {
			got.SubjectSource = ""
		}
		if want.Kind.Subject() == "service" && want.SubjectID == "" {
			want.SubjectID = want.Service
		}
		if !equalEvents(got, want) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
}
