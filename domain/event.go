package domain

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// CloudEvent is a CloudEvents 1.0 envelope, independent of how it travelled
// (structured or binary mode, NATS or HTTP). Data is the raw JSON payload.
type CloudEvent struct {
	SpecVersion     string
	ID              string
	Source          string
	Type            string
	Subject         string
	Time            time.Time
	DataContentType string
	DataSchema      string
	Data            []byte
	Extensions      map[string]string
}

// Identity is what makes two events the same event: CloudEvent source + id.
type Identity struct {
	Source string
	ID     string
}

// String is the form publishers use as Nats-Msg-Id: source + " " + id.
func (i Identity) String() string { return i.Source + " " + i.ID }

// EventKind is a CDEvents subject and predicate, e.g. "service.deployed", or
// KindTelemetry.
type EventKind string

// The event kinds Throughline reads fields from. Other CDEvents types are
// accepted and stored, but do not change any projection.
const (
	KindChangeCreated    EventKind = "change.created"
	KindChangeReviewed   EventKind = "change.reviewed"
	KindChangeMerged     EventKind = "change.merged"
	KindChangeAbandoned  EventKind = "change.abandoned"
	KindChangeUpdated    EventKind = "change.updated"
	KindBuildQueued      EventKind = "build.queued"
	KindBuildStarted     EventKind = "build.started"
	KindBuildFinished    EventKind = "build.finished"
	KindPipelineQueued   EventKind = "pipelinerun.queued"
	KindPipelineStarted  EventKind = "pipelinerun.started"
	KindPipelineFinished EventKind = "pipelinerun.finished"
	KindArtifactPackaged EventKind = "artifact.packaged"
	KindArtifactPublish  EventKind = "artifact.published"
	KindServiceDeployed  EventKind = "service.deployed"
	KindServiceUpgraded  EventKind = "service.upgraded"
	KindServiceRollback  EventKind = "service.rolledback"
	KindServiceRemoved   EventKind = "service.removed"
	KindIncidentDetected EventKind = "incident.detected"
	KindIncidentReported EventKind = "incident.reported"
	KindIncidentResolved EventKind = "incident.resolved"
	KindTelemetry        EventKind = "telemetry.samples"
)

// Subject is the CDEvents subject of the kind ("service" for service.deployed).
func (k EventKind) Subject() string {
	s, _, _ := strings.Cut(string(k), ".")
	return s
}

// Predicate is the CDEvents predicate of the kind ("deployed").
func (k EventKind) Predicate() string {
	_, p, _ := strings.Cut(string(k), ".")
	return p
}

// IsChange reports whether the kind is one of change.*.
func (k EventKind) IsChange() bool { return k.Subject() == "change" }

// IsDeployment reports whether the kind deploys something to an environment.
func (k EventKind) IsDeployment() bool {
	return k == KindServiceDeployed || k == KindServiceUpgraded || k == KindServiceRollback
}

// IsTestRun reports whether the kind is a test suite or test case run.
func (k EventKind) IsTestRun() bool {
	s := k.Subject()
	return s == "testsuiterun" || s == "testcaserun"
}

// IsBuild reports whether the kind is a build or pipeline run.
func (k EventKind) IsBuild() bool {
	s := k.Subject()
	return s == "build" || s == "pipelinerun"
}

// Outcome is a normalised run outcome; CDEvents 0.4 says pass/fail, 0.5 says
// success/failure.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeCancel  Outcome = "cancel"
	OutcomeError   Outcome = "error"
)

// ParseOutcome maps both vocabularies to one; unknown values give "".
func ParseOutcome(s string) Outcome {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "pass", "success", "succeeded":
		return OutcomeSuccess
	case "fail", "failure", "failed":
		return OutcomeFailure
	case "cancel", "canceled", "cancelled":
		return OutcomeCancel
	case "error":
		return OutcomeError
	}
	return ""
}

// Event is a decoded delivery or telemetry event: the fields Throughline
// uses, taken from the CDEvent (DESIGN.md section 3) or the telemetry data.
type Event struct {
	Identity
	Type string    // the CloudEvent type, as received
	Kind EventKind // subject.predicate, or KindTelemetry
	// Time is the CDEvents context.timestamp; it places the event in windows.
	Time time.Time

	SubjectID     string // change id, artifact id, service id, incident id, run id
	SubjectSource string
	Repository    string
	Environment   string
	Artifact      string  // content.artifactId
	Service       string  // service.*: subject.id; incident.*: content.service.id
	Change        string  // artifact.packaged: content.change.id
	ChangeSource  string  // artifact.packaged: content.change.source
	PipelineName  string  // pipelinerun.*
	Outcome       Outcome // *run.finished

	// From customData.
	Ideas  []string // explicit keys plus keys found by the idea-key pattern
	Team   string
	Hotfix bool
	Title  string
	Branch string

	Samples []Sample // telemetry only

	Flag    *FlagChange  // flag.changed only
	Rollout *RolloutStep // rollout.* only
}

// Sample is one telemetry measurement.
type Sample struct {
	Metric     string
	Value      float64
	Time       time.Time
	Attributes map[string]string
}

// DefaultIdeaKeyPattern finds idea keys such as CHK-12 in free text.
const DefaultIdeaKeyPattern = `\b[A-Z][A-Z0-9]+-\d+\b`

// IdeaKeys collects idea keys from explicit ones and from texts matched by
// pattern, deduplicated and sorted.
func IdeaKeys(pattern *regexp.Regexp, explicit []string, texts ...string) []string {
	var keys []string
	for _, k := range explicit {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, strings.ToUpper(k))
		}
	}
	if pattern != nil {
		for _, t := range texts {
			keys = append(keys, pattern.FindAllString(t, -1)...)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// ProductionEnvs decides which environment ids are production.
type ProductionEnvs []string

// ParseProductionEnvs reads a comma-separated list, case-insensitive.
func ParseProductionEnvs(s string) ProductionEnvs {
	var out ProductionEnvs
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Contains reports whether env is a production environment.
func (p ProductionEnvs) Contains(env string) bool {
	return env != "" && slices.Contains(p, strings.ToLower(strings.TrimSpace(env)))
}

// String joins the list for display.
func (p ProductionEnvs) String() string { return strings.Join(p, ",") }
