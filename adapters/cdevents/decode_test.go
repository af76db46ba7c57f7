package cdevents_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/domain"
)

// conformance returns every conformance example as a CloudEvent whose data is
// the whole CDEvent, as a producer would send it.
func conformance(t testing.TB) map[string]domain.CloudEvent {
	t.Helper()
	out, _ := conformanceWithTimes(t)
	return out
}

// conformanceWithTimes also returns each example's context.timestamp.
func conformanceWithTimes(t testing.TB) (map[string]domain.CloudEvent, map[string]time.Time) {
	t.Helper()
	out := map[string]domain.CloudEvent{}
	times := map[string]time.Time{}
	files, err := filepath.Glob("testdata/conformance/v*/*.json")
	if err != nil || len(files) < 90 {
		t.Fatalf("conformance files: %d %v", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cd struct {
			Context struct{ ID, Source, Type, Timestamp string } `json:"context"`
		}
		if err := json.Unmarshal(data, &cd); err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(f)) + "/" + strings.TrimSuffix(filepath.Base(f), ".json")
		out[name] = domain.CloudEvent{
			SpecVersion: "1.0", ID: cd.Context.ID, Source: cd.Context.Source, Type: cd.Context.Type,
			DataContentType: "application/json", Data: data,
		}
		if times[name], err = time.Parse(time.RFC3339Nano, cd.Context.Timestamp); err != nil {
			t.Fatal(err)
		}
	}
	return out, times
}

const (
	ociArtifact = "pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427"
	ociResolved = "pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93439"
	golangArt   = "pkg:golang/mygit.com/myorg/myapp@234fd47e07d1004f0aed9c"
)

// want lists, per conformance example name, the fields Throughline reads.
var want = map[string]domain.Event{
	"change_created":        {Kind: "change.created", SubjectID: "mySubject123", Repository: "TestRepo/TestOrg"},
	"change_reviewed":       {Kind: "change.reviewed", SubjectID: "mySubject123", Repository: "TestRepo/TestOrg"},
	"change_merged":         {Kind: "change.merged", SubjectID: "mySubject123", Repository: "TestRepo/TestOrg"},
	"change_abandoned":      {Kind: "change.abandoned", SubjectID: "mySubject123", Repository: "TestRepo/TestOrg"},
	"change_updated":        {Kind: "change.updated", SubjectID: "mySubject123", Repository: "TestRepo/TestOrg"},
	"build_started":         {Kind: "build.started", SubjectID: "mySubject123"},
	"build_finished":        {Kind: "build.finished", SubjectID: "mySubject123", Artifact: ociArtifact},
	"pipelinerun_started":   {Kind: "pipelinerun.started", SubjectID: "mySubject123", PipelineName: "myPipeline"},
	"pipelinerun_finished":  {Kind: "pipelinerun.finished", SubjectID: "mySubject123", PipelineName: "myPipeline", Outcome: domain.OutcomeFailure},
	"testsuiterun_finished": {Kind: "testsuiterun.finished", SubjectID: "myTestSuiteRun123", Outcome: domain.OutcomeFailure, Environment: "dev"},
	"testcaserun_finished":  {Kind: "testcaserun.finished", SubjectID: "myTestCaseRun123", Outcome: domain.OutcomeSuccess, Environment: "dev"},
	"artifact_packaged":     {Kind: "artifact.packaged", SubjectID: golangArt, Artifact: golangArt, Change: "myChange123", ChangeSource: "my-git.example/an-org/a-repo"},
	"artifact_published":    {Kind: "artifact.published", SubjectID: golangArt, Artifact: golangArt},
	"service_deployed":      {Kind: "service.deployed", SubjectID: "mySubject123", Service: "mySubject123", Environment: "test123", Artifact: ociArtifact},
	"service_upgraded":      {Kind: "service.upgraded", SubjectID: "mySubject123", Service: "mySubject123", Environment: "test123", Artifact: ociArtifact},
	"service_rolledback":    {Kind: "service.rolledback", SubjectID: "mySubject123", Service: "mySubject123", Environment: "test123", Artifact: ociArtifact},
	"service_removed":       {Kind: "service.removed", SubjectID: "mySubject123", Service: "mySubject123", Environment: "test123"},
	"incident_detected":     {Kind: "incident.detected", SubjectID: "incident-123", Service: "myApp", Environment: "prod1", Artifact: ociArtifact},
	"incident_reported":     {Kind: "incident.reported", SubjectID: "incident-123", Service: "myApp", Environment: "prod1", Artifact: ociArtifact},
	"incident_resolved":     {Kind: "incident.resolved", SubjectID: "incident-123", Service: "myApp", Environment: "prod1", Artifact: ociResolved},
}

func TestConformanceExamplesDecodeInBothModes(t *testing.T) {
	dec, err := cdevents.NewDecoder("")
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]int{}
	examples, stamps := conformanceWithTimes(t)
	for name, ce := range examples {
		stamp := stamps[name]
		structured, err := cdevents.EncodeStructured(ce)
		if err != nil {
			t.Fatal(err)
		}
		h, body := cdevents.EncodeBinary(ce)
		modes := map[string]func() (domain.CloudEvent, domain.Event, error){
			"structured": func() (domain.CloudEvent, domain.Event, error) { return dec.DecodeMessage(nil, structured) },
			"structured+ctype": func() (domain.CloudEvent, domain.Event, error) {
				return dec.DecodeMessage(cdevents.Header{"Content-Type": {"application/cloudevents+json; charset=utf-8"}}, structured)
			},
			"binary":             func() (domain.CloudEvent, domain.Event, error) { return dec.DecodeMessage(h, body) },
			"binary, HTTP-cased": func() (domain.CloudEvent, domain.Event, error) { return dec.DecodeMessage(httpCase(h), body) },
		}
		for mode, decode := range modes {
			gotCE, ev, err := decode()
			if err != nil {
				t.Errorf("%s (%s): %v", name, mode, err)
				continue
			}
			if gotCE.ID != ce.ID || gotCE.Source != ce.Source || gotCE.Type != ce.Type {
				t.Errorf("%s (%s): envelope %+v", name, mode, gotCE)
			}
			if !ev.Time.Equal(stamp) {
				t.Errorf("%s (%s): time %v; want context.timestamp %v", name, mode, ev.Time, stamp)
			}
			short := name[strings.Index(name, "/")+1:]
			w, ok := want[short]
			if !ok {
				continue // accepted, and read no further: not a type Throughline projects
			}
			checked[short]++
			got := ev
			got.Identity, got.Type, got.Time, got.SubjectSource, got.Ideas, got.Team, got.Title, got.Branch, got.Hotfix = domain.Identity{}, "", time.Time{}, "", nil, "", "", "", false
			w.Kind = domain.EventKind(w.Kind)
			if !equalEvents(got, w) {
				t.Errorf("%s (%s):\n got %+v\nwant %+v", name, mode, got, w)
			}
		}
	}
	for short := range want {
		if checked[short] != 8 { // two spec versions × four modes
			t.Errorf("%s checked %d times; want 8", short, checked[short])
		}
	}
}

func equalEvents(a, b domain.Event) bool {
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return string(aj) == string(bj)
}

// httpCase gives headers the canonical form net/http produces (Ce-Id …).
func httpCase(h cdevents.Header) cdevents.Header {
	out := cdevents.Header{}
	for k, v := range h {
		parts := strings.Split(k, "-")
		for i, p := range parts {
			if p != "" {
				parts[i] = strings.ToUpper(p[:1]) + p[1:]
			}
		}
		out[strings.Join(parts, "-")] = v
	}
	return out
}

func TestCustomDataIdeasTeamHotfix(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	data := `{"context":{"specversion":"0.5.1","id":"e1","source":"/gh","type":"dev.cdevents.change.merged.0.3.0","timestamp":"2026-03-02T10:00:00Z"},
	 "subject":{"id":"acme/shop#PAY-7","content":{"repository":{"id":"acme/shop"}}},
	 "customData":{"ideas":["chk-12"," CHK-3 "],"team":" payments ","hotfix":"true","title":"CHK-12: faster checkout","branch":"feature/SRCH-40-typo"},
	 "customDataContentType":"application/json"}`
	ev, err := dec.Decode(domain.CloudEvent{SpecVersion: "1.0", ID: "e1", Source: "/gh", Type: "dev.cdevents.change.merged.0.3.0", Data: []byte(data)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ev.Ideas, ",") != "CHK-12,CHK-3,PAY-7,SRCH-40" || ev.Team != "payments" || !ev.Hotfix {
		t.Fatalf("ideas %v team %q hotfix %v", ev.Ideas, ev.Team, ev.Hotfix)
	}
	// Only change ids are searched for keys, not other subject ids.
	dep := `{"context":{"version":"0.4.1","id":"d1","source":"/cd","type":"dev.cdevents.service.deployed.0.2.0","timestamp":"2026-03-02T10:00:00Z"},
	 "subject":{"id":"OPS-1","content":{"environment":{"id":"prod"},"artifactId":"a1"}},"customData":{"hotfix":true}}`
	ev, err = dec.Decode(domain.CloudEvent{SpecVersion: "1.0", ID: "d1", Source: "/cd", Type: "dev.cdevents.service.deployed.0.2.0", Data: []byte(dep)})
	if err != nil || len(ev.Ideas) != 0 || !ev.Hotfix {
		t.Fatalf("deployment: ideas %v hotfix %v err %v", ev.Ideas, ev.Hotfix, err)
	}
}

func TestTelemetry(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	body := `{"specversion":"1.0","id":"t1","source":"/otel","type":"dev.throughline.telemetry.samples.v1",
	  "data":{"samples":[{"metric":"checkout.conversion","value":0.031,"time":"2026-03-02T10:15:00Z","attributes":{"service":"checkout","env":"production"}},
	                     {"metric":"checkout.conversion","value":2,"time":"2026-03-02T09:00:00+01:00"}]}}`
	_, ev, err := dec.DecodeMessage(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != domain.KindTelemetry || len(ev.Samples) != 2 || ev.Samples[0].Value != 0.031 ||
		ev.Samples[0].Attributes["service"] != "checkout" || !ev.Samples[1].Time.Equal(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("event %+v", ev)
	}
	if !ev.Time.Equal(ev.Samples[1].Time) {
		t.Errorf("event time %v; want the earliest sample", ev.Time)
	}
	if kind, service := cdevents.SubjectParts(ev); kind != "telemetry" || service != "checkout" {
		t.Errorf("subject parts %q %q", kind, service)
	}
}

func TestBadInputIsRejectedWithAReason(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	ce := func(typ, data string) string {
		return `{"specversion":"1.0","id":"x","source":"/s","type":"` + typ + `","data":` + data + `}`
	}
	dep := func(ctx, content string) string {
		return ce("dev.cdevents.service.deployed.0.3.0", `{"context":{"specversion":"0.5.1","id":"x","source":"/s","type":"dev.cdevents.service.deployed.0.3.0"`+ctx+`},"subject":{"id":"svc","content":`+content+`}}`)
	}
	okCtx := `,"timestamp":"2026-01-01T00:00:00Z"`
	okContent := `{"environment":{"id":"prod"},"artifactId":"a"}`
	tel := func(sample string) string {
		return ce(cdevents.TelemetryType, `{"samples":[`+sample+`]}`)
	}
	for _, tc := range []struct {
		name, body, reason string
	}{
		{"empty", ``, domain.ReasonNotJSON},
		{"not json", `{"specversion":`, domain.ReasonNotJSON},
		{"binary junk", "\x00\xff\xfe", domain.ReasonNotJSON},
		{"array", `[1,2]`, domain.ReasonNotCloudEvent},
		{"no specversion", `{"id":"x","source":"/s","type":"t"}`, domain.ReasonNotCloudEvent},
		{"specversion 0.3", `{"specversion":"0.3","id":"x","source":"/s","type":"t"}`, domain.ReasonNotCloudEvent},
		{"specversion number", `{"specversion":1.0,"id":"x","source":"/s","type":"t"}`, domain.ReasonNotCloudEvent},
		{"no id", `{"specversion":"1.0","source":"/s","type":"dev.cdevents.change.merged.0.3.0"}`, domain.ReasonMissingField},
		{"blank source", `{"specversion":"1.0","id":"x","source":" ","type":"t"}`, domain.ReasonMissingField},
		{"no type", `{"specversion":"1.0","id":"x","source":"/s"}`, domain.ReasonMissingField},
		{"bad ce time", `{"specversion":"1.0","id":"x","source":"/s","type":"t","time":"yesterday"}`, domain.ReasonBadTimestamp},
		{"foreign type", ce("com.example.thing.happened", `{}`), domain.ReasonUnsupported},
		{"unknown predicate", ce("dev.cdevents.service.exploded.0.1.0", `{}`), domain.ReasonUnsupported},
		{"major version 1", ce("dev.cdevents.service.deployed.1.0.0", `{}`), domain.ReasonUnsupported},
		{"no data", `{"specversion":"1.0","id":"x","source":"/s","type":"dev.cdevents.change.merged.0.3.0"}`, domain.ReasonMissingField},
		{"xml data", `{"specversion":"1.0","id":"x","source":"/s","type":"dev.cdevents.change.merged.0.3.0","datacontenttype":"application/xml","data":"<a/>"}`, domain.ReasonInvalidContent},
		{"no timestamp", dep(``, okContent), domain.ReasonBadTimestamp},
		{"bad timestamp", dep(`,"timestamp":"2026-13-45"`, okContent), domain.ReasonBadTimestamp},
		{"no environment", dep(okCtx, `{"artifactId":"a"}`), domain.ReasonMissingField},
		{"no artifact", dep(okCtx, `{"environment":{"id":"prod"}}`), domain.ReasonMissingField},
		{"wrong-typed content", dep(okCtx, `{"environment":{"id":42},"artifactId":"a"}`), domain.ReasonInvalidContent},
		{"types disagree", ce("dev.cdevents.service.deployed.0.3.0", `{"context":{"type":"dev.cdevents.change.merged.0.3.0","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"s","content":{}}}`), domain.ReasonInvalidContent},
		{"no subject id", ce("dev.cdevents.change.merged.0.3.0", `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"content":{}}}`), domain.ReasonMissingField},
		{"packaged without change", ce("dev.cdevents.artifact.packaged.0.3.0", `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"a","content":{}}}`), domain.ReasonMissingField},
		{"ideas not a list", ce("dev.cdevents.change.merged.0.3.0", `{"context":{"version":"0.4.1","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"c"},"customData":{"ideas":{"a":1}}}`), domain.ReasonInvalidContent},
		{"no samples", ce(cdevents.TelemetryType, `{}`), domain.ReasonMissingField},
		{"empty samples", ce(cdevents.TelemetryType, `{"samples":[]}`), domain.ReasonMissingField},
		{"sample without metric", tel(`{"value":1,"time":"2026-01-01T00:00:00Z"}`), domain.ReasonMissingField},
		{"NaN sample", tel(`{"metric":"m","value":"NaN","time":"2026-01-01T00:00:00Z"}`), domain.ReasonBadValue},
		{"infinite sample", tel(`{"metric":"m","value":"+Inf","time":"2026-01-01T00:00:00Z"}`), domain.ReasonBadValue},
		{"string sample", tel(`{"metric":"m","value":"fast","time":"2026-01-01T00:00:00Z"}`), domain.ReasonBadValue},
		{"huge exponent", tel(`{"metric":"m","value":1e999,"time":"2026-01-01T00:00:00Z"}`), domain.ReasonBadValue},
		{"sample bad time", tel(`{"metric":"m","value":1,"time":"10:15"}`), domain.ReasonBadTimestamp},
		{"too large", `{"specversion":"1.0","id":"x","source":"/s","type":"t","data":"` + strings.Repeat("a", cdevents.MaxEventBytes) + `"}`, domain.ReasonTooLarge},
	} {
		_, _, err := dec.DecodeMessage(nil, []byte(tc.body))
		if got := domain.RejectReason(err); got != tc.reason {
			t.Errorf("%s: reason %q (%v); want %q", tc.name, got, err, tc.reason)
		} else if domain.ErrorMessage(err) == "" {
			t.Errorf("%s: no message", tc.name)
		}
	}
}

func TestBinaryModeEdgeCases(t *testing.T) {
	dec, _ := cdevents.NewDecoder("")
	data := []byte(`{"context":{"version":"0.4.1","id":"x","timestamp":"2026-01-01T00:00:00Z"},"subject":{"id":"c-1"}}`)
	h := cdevents.Header{
		"ce-specversion": {"1.0"}, "ce-id": {"id%20with%20spaces"}, "ce-source": {"/caf%C3%A9"},
		"ce-type": {"dev.cdevents.change.created.0.3.0"}, "ce-traceparent": {"00-abc"},
	}
	ce, ev, err := dec.DecodeMessage(h, data)
	if err != nil {
		t.Fatal(err)
	}
	if ce.ID != "id with spaces" || ce.Source != "/café" || ce.Extensions["traceparent"] != "00-abc" || ev.SubjectID != "c-1" {
		t.Fatalf("ce %+v ev %+v", ce, ev)
	}
	// Round trip through binary encoding keeps non-ASCII identity intact.
	h2, body := cdevents.EncodeBinary(ce)
	back, _, err := dec.DecodeMessage(h2, body)
	if err != nil || back.ID != ce.ID || back.Source != ce.Source {
		t.Fatalf("round trip %+v %v", back, err)
	}
	h["ce-id"] = []string{"%zz"}
	if _, _, err := dec.DecodeMessage(h, data); domain.RejectReason(err) != domain.ReasonNotCloudEvent {
		t.Errorf("bad percent-encoding: %v", err)
	}
	if _, _, err := dec.DecodeMessage(cdevents.Header{"Content-Type": {"text/plain"}}, []byte("hello")); domain.RejectReason(err) != domain.ReasonNotCloudEvent {
		t.Errorf("plain text: %v", err)
	}
}

func TestTypeVersionsAreAccepted(t *testing.T) {
	for _, typ := range []string{"dev.cdevents.service.deployed.0.1.0", "dev.cdevents.service.deployed.0.3.0", "dev.cdevents.service.deployed.0.9.12", "dev.cdevents.change.merged.0.3.0-draft"} {
		if k, err := cdevents.ParseType(typ); err != nil || k != domain.KindServiceDeployed && k != domain.KindChangeMerged {
			t.Errorf("%s: %v %v", typ, k, err)
		}
	}
}
