package cdevents

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/throughline/throughline/domain"
)

// typeVersions are the CDEvents v0.5.1 versions of each kind this encoder
// writes; the decoder reads any 0.x version.
var typeVersions = map[domain.EventKind]string{
	domain.KindChangeCreated: "0.4.0", domain.KindChangeReviewed: "0.3.0", domain.KindChangeMerged: "0.3.0",
	domain.KindChangeAbandoned: "0.3.0", domain.KindChangeUpdated: "0.3.0",
	domain.KindBuildQueued: "0.3.0", domain.KindBuildStarted: "0.3.0", domain.KindBuildFinished: "0.3.0",
	domain.KindPipelineQueued: "0.3.0", domain.KindPipelineStarted: "0.3.0", domain.KindPipelineFinished: "0.3.0",
	domain.KindArtifactPackaged: "0.3.0", domain.KindArtifactPublish: "0.3.0",
	domain.KindServiceDeployed: "0.3.0", domain.KindServiceUpgraded: "0.3.0", domain.KindServiceRollback: "0.3.0",
	domain.KindServiceRemoved:   "0.3.0",
	domain.KindIncidentDetected: "0.3.0", domain.KindIncidentReported: "0.3.0", domain.KindIncidentResolved: "0.3.0",
	"testsuiterun.finished": "0.3.0", "testcaserun.finished": "0.3.0",
}

// FromEvent writes a domain event as a CloudEvent carrying a CDEvent in the
// v0.5 shape (or a telemetry batch), so that adapters turning other systems'
// webhooks into events, and tests, produce exactly what producers send.
func FromEvent(ev domain.Event) (domain.CloudEvent, error) {
	ce := domain.CloudEvent{SpecVersion: "1.0", ID: ev.ID, Source: ev.Source, DataContentType: ContentTypeJSON}
	if ev.Kind == domain.KindTelemetry {
		ce.Type = TelemetryType
		samples := make([]map[string]any, len(ev.Samples))
		for i, s := range ev.Samples {
			samples[i] = map[string]any{"metric": s.Metric, "value": s.Value, "time": s.Time.UTC().Format(time.RFC3339Nano), "attributes": s.Attributes}
		}
		data, err := json.Marshal(map[string]any{"samples": samples})
		ce.Data = data
		return ce, err
	}
	if ev.Kind == domain.KindFlagChanged || ev.Kind.IsRollout() {
		return encodeFlagOrRollout(ce, ev)
	}
	version, ok := typeVersions[ev.Kind]
	if !ok {
		return ce, fmt.Errorf("cdevents: no encoding for %s", ev.Kind)
	}
	ce.Type = "dev.cdevents." + string(ev.Kind) + "." + version
	content := map[string]any{}
	env := func() {
		if ev.Environment != "" {
			content["environment"] = map[string]string{"id": ev.Environment}
		}
	}
	switch k := ev.Kind; {
	case k.IsChange():
		if ev.Repository != "" {
			content["repository"] = map[string]string{"id": ev.Repository}
		}
	case k.IsBuild():
		if ev.Artifact != "" {
			content["artifactId"] = ev.Artifact
		}
		if ev.PipelineName != "" {
			content["pipelineName"] = ev.PipelineName
		}
		if ev.Outcome != "" {
			content["outcome"] = string(ev.Outcome)
		}
	case k.IsTestRun():
		env()
		if ev.Outcome != "" {
			content["outcome"] = string(ev.Outcome)
		}
	case k == domain.KindArtifactPackaged:
		change := map[string]string{"id": ev.Change}
		if ev.ChangeSource != "" {
			change["source"] = ev.ChangeSource
		}
		content["change"] = change
	case k.Subject() == "service":
		env()
		if ev.Artifact != "" {
			content["artifactId"] = ev.Artifact
		}
	case k.Subject() == "incident":
		env()
		if ev.Service != "" {
			content["service"] = map[string]string{"id": ev.Service}
		}
		if ev.Artifact != "" {
			content["artifactId"] = ev.Artifact
		}
	}
	subjectID := ev.SubjectID
	if subjectID == "" && ev.Kind.Subject() == "service" {
		subjectID = ev.Service
	}
	cd := map[string]any{
		"context": map[string]any{
			"specversion": "0.5.1", "id": ev.ID, "source": ev.Source, "type": ce.Type,
			"timestamp": ev.Time.UTC().Format(time.RFC3339Nano),
		},
		"subject": map[string]any{"id": subjectID, "source": ev.SubjectSource, "content": content},
	}
	custom := map[string]any{}
	if len(ev.Ideas) > 0 {
		custom["ideas"] = ev.Ideas
	}
	if ev.Team != "" {
		custom["team"] = ev.Team
	}
	if ev.Hotfix {
		custom["hotfix"] = true
	}
	if ev.Title != "" {
		custom["title"] = ev.Title
	}
	if ev.Branch != "" {
		custom["branch"] = ev.Branch
	}
	if len(custom) > 0 {
		cd["customData"] = custom
		cd["customDataContentType"] = ContentTypeJSON
	}
	data, err := json.Marshal(cd)
	ce.Data = data
	return ce, err
}
