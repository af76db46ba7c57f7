package demo

import (
	"encoding/json"
	"time"

	"github.com/throughline/throughline/domain"
)

// cdSpec is a CDEvents spec release: its context shape, event type versions
// and outcome words (see testdata/conformance in adapters/cdevents).
type cdSpec string

const (
	specV05 cdSpec = "0.5.1"
	specV04 cdSpec = "0.4.1"
)

// v04 reports whether the release uses the v0.4 shapes: context.version,
// subject.type and pass/fail outcomes.
func (s cdSpec) v04() bool { return s == specV04 }

// eventType is the CDEvents type string of kind in this spec release.
func (s cdSpec) eventType(k domain.EventKind) string {
	v := "0.3.0"
	if k == domain.KindChangeCreated {
		v = "0.4.0"
	}
	if s.v04() {
		v = "0.2.0"
		if k == domain.KindChangeCreated {
			v = "0.3.0"
		}
	}
	return "dev.cdevents." + string(k) + "." + v
}

// subjectType is the v0.4 subject.type of a kind's subject.
func subjectType(k domain.EventKind) string {
	switch k.Subject() {
	case "pipelinerun":
		return "pipelineRun"
	case "testsuiterun":
		return "testSuiteRun"
	}
	return k.Subject()
}

// outcome is the run outcome in this spec release's words.
func (s cdSpec) outcome(ok bool) string {
	switch {
	case s.v04() && ok:
		return "pass"
	case s.v04():
		return "fail"
	case ok:
		return "success"
	}
	return "failure"
}

type cdContext struct {
	Version     string `json:"version,omitempty"`
	SpecVersion string `json:"specversion,omitempty"`
	ID          string `json:"id"`
	Source      string `json:"source"`
	Type        string `json:"type"`
	Timestamp   string `json:"timestamp"`
}

type cdSubject struct {
	ID      string         `json:"id"`
	Source  string         `json:"source"`
	Type    string         `json:"type,omitempty"`
	Content map[string]any `json:"content"`
}

type cdEvent struct {
	Context               cdContext      `json:"context"`
	Subject               cdSubject      `json:"subject"`
	CustomData            map[string]any `json:"customData,omitempty"`
	CustomDataContentType string         `json:"customDataContentType,omitempty"`
}

// emit appends a CloudEvent whose data is the whole CDEvent. Events outside
// the history (a change opened before it began) are left out, as a real
// event store started at that moment would not have them.
func (g *generator) emit(sp cdSpec, kind domain.EventKind, at time.Time, source string, subj cdSubject, custom map[string]any) {
	at = at.UTC().Truncate(time.Second)
	id := g.nextID()
	if at.Before(g.start) || at.After(g.end) {
		return
	}
	ev := cdEvent{
		Context: cdContext{ID: id, Source: source, Type: sp.eventType(kind), Timestamp: at.Format(time.RFC3339)},
		Subject: subj,
	}
	if sp.v04() {
		ev.Context.Version = string(sp)
		ev.Subject.Type = subjectType(kind)
	} else {
		ev.Context.SpecVersion = string(sp)
	}
	if ev.Subject.Content == nil {
		ev.Subject.Content = map[string]any{}
	}
	if len(custom) > 0 {
		ev.CustomData = custom
		ev.CustomDataContentType = "application/json"
	}
	g.events = append(g.events, domain.CloudEvent{
		SpecVersion:     "1.0",
		ID:              id,
		Source:          source,
		Type:            ev.Context.Type,
		Time:            at,
		DataContentType: "application/json",
		Data:            mustJSON(ev),
	})
}

// mustJSON marshals values built here from strings, numbers and maps, which
// cannot fail; a failure is a bug in this package.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("demo: " + err.Error())
	}
	return b
}
