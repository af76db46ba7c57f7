package cdevents

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/throughline/throughline/domain"
)

// TelemetryType is the CloudEvent type of Throughline telemetry samples.
const TelemetryType = "dev.throughline.telemetry.samples.v1"

// knownTypes lists every CDEvents subject and its predicates (spec v0.4/v0.5).
// Events of these types are accepted; only some change projections.
var knownTypes = map[string][]string{
	"artifact":     {"packaged", "published", "signed", "downloaded", "deleted"},
	"branch":       {"created", "deleted"},
	"build":        {"queued", "started", "finished"},
	"change":       {"created", "reviewed", "merged", "abandoned", "updated"},
	"environment":  {"created", "modified", "deleted"},
	"incident":     {"detected", "reported", "resolved"},
	"pipelinerun":  {"queued", "started", "finished"},
	"repository":   {"created", "modified", "deleted"},
	"service":      {"deployed", "upgraded", "rolledback", "removed", "published"},
	"taskrun":      {"started", "finished"},
	"testcaserun":  {"queued", "started", "finished", "skipped"},
	"testoutput":   {"published"},
	"testsuiterun": {"queued", "started", "finished"},
	"ticket":       {"created", "updated", "closed"},
}

// typePattern splits dev.cdevents.<subject>.<predicate>.<major>.<minor>.<patch>[-pre].
var typePattern = regexp.MustCompile(`^dev\.cdevents\.([a-z]+)\.([a-z]+)\.(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$`)

// ParseType returns the kind of a CDEvents type string. Any minor or patch
// version of a known subject and predicate is accepted; major version 0 only,
// since a new major may change the fields we read.
func ParseType(t string) (domain.EventKind, error) {
	if k, ok := throughlineTypes[t]; ok {
		return k, nil
	}
	m := typePattern.FindStringSubmatch(t)
	if m == nil {
		return "", domain.Reject(domain.ReasonUnsupported, "unsupported event type %q: Throughline reads CDEvents (dev.cdevents.*), %s, %s and dev.throughline.rollout.{started,progressed,promoted,aborted}.v1", t, TelemetryType, FlagChangedType)
	}
	preds, ok := knownTypes[m[1]]
	known := false
	for _, p := range preds {
		known = known || p == m[2]
	}
	if !ok || !known {
		return "", domain.Reject(domain.ReasonUnsupported, "unsupported event type %q: no CDEvents subject %q with predicate %q", t, m[1], m[2])
	}
	if m[3] != "0" {
		return "", domain.Reject(domain.ReasonUnsupported, "unsupported event type %q: major version %s is not known to this release", t, m[3])
	}
	return domain.EventKind(m[1] + "." + m[2]), nil
}

// Decoder interprets CloudEvents as Throughline events.
type Decoder struct {
	ideaKeys *regexp.Regexp
}

// NewDecoder compiles the idea-key pattern (DESIGN.md: --idea-key-pattern).
func NewDecoder(ideaKeyPattern string) (*Decoder, error) {
	if ideaKeyPattern == "" {
		ideaKeyPattern = domain.DefaultIdeaKeyPattern
	}
	re, err := regexp.Compile(ideaKeyPattern)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "--idea-key-pattern %q: %v", ideaKeyPattern, err)
	}
	return &Decoder{ideaKeys: re}, nil
}

// DecodeMessage reads and interprets a message in either CloudEvents mode.
func (d *Decoder) DecodeMessage(h Header, body []byte) (domain.CloudEvent, domain.Event, error) {
	ce, err := FromMessage(h, body)
	if err != nil {
		return ce, domain.Event{}, err
	}
	ev, err := d.Decode(ce)
	return ce, ev, err
}

// cdevent is the part of a CDEvent that Throughline reads, in both the v0.4
// (context.version) and v0.5 (context.specversion) shapes. It is read in one
// pass; other members are skipped.
type cdevent struct {
	Context struct {
		Version     string `json:"version"`
		SpecVersion string `json:"specversion"`
		Type        string `json:"type"`
		Timestamp   string `json:"timestamp"`
		Source      string `json:"source"`
	} `json:"context"`
	Subject *struct {
		ID      string  `json:"id"`
		Source  string  `json:"source"`
		Content content `json:"content"`
	} `json:"subject"`
	CustomData jsontext.Value `json:"customData"`
}

// content holds the content fields of every kind we project. Repository,
// environment, service and change are objects with an id in the spec; some
// producers send a bare string, which is accepted too.
type content struct {
	Repository   ref    `json:"repository"`
	Environment  ref    `json:"environment"`
	Service      ref    `json:"service"`
	Change       ref    `json:"change"`
	ArtifactID   string `json:"artifactId"`
	PipelineName string `json:"pipelineName"`
	Outcome      string `json:"outcome"`
}

type ref struct {
	ID     string `json:"id"`
	Source string `json:"source"`
}

// UnmarshalJSONFrom reads {"id": …, "source": …} or a bare string.
func (r *ref) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		r.ID = tok.String()
		return nil
	}
	type plain ref
	return jsonv2.UnmarshalDecode(dec, (*plain)(r))
}

// customData is Throughline's use of CDEvents customData.
type customData struct {
	Ideas  jsontext.Value `json:"ideas"`
	Team   string         `json:"team"`
	Hotfix jsontext.Value `json:"hotfix"`
	Title  string         `json:"title"`
	Branch string         `json:"branch"`
}

// Decode interprets a CloudEvent: a CDEvent or a telemetry batch.
func (d *Decoder) Decode(ce domain.CloudEvent) (domain.Event, error) {
	ev := domain.Event{Identity: domain.Identity{Source: ce.Source, ID: ce.ID}, Type: ce.Type}
	kind, err := ParseType(ce.Type)
	if err != nil {
		return ev, err
	}
	ev.Kind = kind
	if len(bytes.TrimSpace(ce.Data)) == 0 {
		return ev, domain.Reject(domain.ReasonMissingField, "event %q has no data", ce.Type)
	}
	switch {
	case kind == domain.KindTelemetry:
		ev, err = d.decodeTelemetry(ce, ev)
	case kind == domain.KindFlagChanged:
		ev, err = d.decodeFlag(ce, ev)
	case kind.IsRollout():
		ev, err = d.decodeRollout(ce, ev)
	default:
		ev, err = d.decodeCDEvent(ce, ev)
	}
	if err == nil {
		if field := nulField(ev); field != "" {
			return ev, domain.Reject(domain.ReasonInvalidContent, "%s contains a NUL character, which cannot be stored", field)
		}
		err = ev.CheckLimits()
	}
	return ev, err
}

// nulField names the first text of ev that holds a NUL character ("\u0000"
// in JSON): no database stores one in text.
func nulField(ev domain.Event) string {
	for _, f := range []struct{ name, v string }{
		{"id", ev.ID}, {"source", ev.Source}, {"subject.id", ev.SubjectID}, {"subject.source", ev.SubjectSource},
		{"content.repository", ev.Repository}, {"content.environment", ev.Environment}, {"content.artifactId", ev.Artifact},
		{"content.service", ev.Service},
		{"content.change", ev.Change + ev.ChangeSource}, {"content.pipelineName", ev.PipelineName},
		{"customData.team", ev.Team}, {"customData.title", ev.Title}, {"customData.branch", ev.Branch},
		{"customData.ideas", strings.Join(ev.Ideas, ",")},
	} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return f.name
		}
	}
	if field := nulFlagField(ev); field != "" {
		return field
	}
	for i, s := range ev.Samples {
		if strings.IndexByte(s.Metric, 0) >= 0 {
			return "sample " + strconv.Itoa(i) + " metric"
		}
		for k, v := range s.Attributes {
			if strings.IndexByte(k+v, 0) >= 0 {
				return "sample " + strconv.Itoa(i) + " attributes"
			}
		}
	}
	return ""
}

// dataError explains why event data could not be read.
func dataError(what string, err error) error {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return domain.Reject(domain.ReasonNotJSON, "event data is not valid JSON: %v", syn.Err)
	}
	var sem *jsonv2.SemanticError
	if errors.As(err, &sem) {
		field := strings.ReplaceAll(strings.TrimPrefix(string(sem.JSONPointer), "/"), "/", ".")
		if field == "" {
			return domain.Reject(domain.ReasonInvalidContent, "%s must be a JSON object, not %s", what, kindName(sem.JSONKind))
		}
		want := "a string"
		if sem.GoType != nil && sem.GoType.Kind() == reflect.Struct {
			want = "an object"
		}
		return domain.Reject(domain.ReasonInvalidContent, "%s field %s should be %s, not %s", what, field, want, kindName(sem.JSONKind))
	}
	return domain.Reject(domain.ReasonInvalidContent, "%s could not be read", what)
}

func (d *Decoder) decodeCDEvent(ce domain.CloudEvent, ev domain.Event) (domain.Event, error) {
	var cd cdevent
	if err := jsonv2.Unmarshal(ce.Data, &cd); err != nil {
		return ev, dataError("CDEvent", err)
	}
	if cd.Context.Version == "" && cd.Context.SpecVersion == "" && cd.Subject == nil {
		return ev, domain.Reject(domain.ReasonInvalidContent, "data is not a CDEvent: no context or subject")
	}
	if cd.Context.Type != "" {
		kind, err := ParseType(cd.Context.Type)
		if err == nil && kind != ev.Kind {
			return ev, domain.Reject(domain.ReasonInvalidContent, "CloudEvent type %q and CDEvent context.type %q disagree", ce.Type, cd.Context.Type)
		}
	}
	// The CDEvent timestamp places the event in time windows; the CloudEvent
	// time stands in when a producer leaves it out.
	switch {
	case cd.Context.Timestamp != "":
		t, err := time.Parse(time.RFC3339Nano, cd.Context.Timestamp)
		if err != nil {
			return ev, domain.Reject(domain.ReasonBadTimestamp, "context.timestamp %q is not an RFC 3339 timestamp", cd.Context.Timestamp)
		}
		ev.Time = t.UTC()
	case !ce.Time.IsZero():
		ev.Time = ce.Time
	default:
		return ev, domain.Reject(domain.ReasonBadTimestamp, "CDEvent has no context.timestamp and the CloudEvent no time")
	}
	if ev.Time.Year() < 1970 || ev.Time.Year() > 9999 {
		return ev, domain.Reject(domain.ReasonBadTimestamp, "timestamp %s is out of range", ev.Time.Format(time.RFC3339))
	}
	if cd.Subject == nil || strings.TrimSpace(cd.Subject.ID) == "" {
		return ev, domain.Reject(domain.ReasonMissingField, "CDEvent subject.id is missing")
	}
	ev.SubjectID = cd.Subject.ID
	ev.SubjectSource = cd.Subject.Source
	if ev.SubjectSource == "" {
		ev.SubjectSource = cd.Context.Source
	}
	c := cd.Subject.Content
	custom, err := parseCustomData(cd.CustomData)
	if err != nil {
		return ev, err
	}
	ev.Team, ev.Title, ev.Branch = strings.TrimSpace(custom.Team), custom.Title, custom.Branch
	ev.Hotfix = truthy(custom.Hotfix)
	explicit, err := ideaList(custom.Ideas)
	if err != nil {
		return ev, err
	}

	switch k := ev.Kind; {
	case k.IsChange():
		ev.Repository = c.Repository.ID
	case k.IsBuild():
		ev.Artifact = c.ArtifactID
		ev.PipelineName = c.PipelineName
		ev.Outcome = domain.ParseOutcome(c.Outcome)
	case k.IsTestRun():
		ev.Outcome = domain.ParseOutcome(c.Outcome)
		ev.Environment = c.Environment.ID
	case k == domain.KindArtifactPackaged:
		ev.Artifact = ev.SubjectID
		ev.Change, ev.ChangeSource = c.Change.ID, c.Change.Source
		if ev.Change == "" {
			return ev, domain.Reject(domain.ReasonMissingField, "artifact.packaged needs subject.content.change.id to link the artifact to a change")
		}
	case k.Subject() == "artifact":
		ev.Artifact = ev.SubjectID
	case k.Subject() == "service":
		ev.Service = ev.SubjectID
		ev.Environment = c.Environment.ID
		ev.Artifact = c.ArtifactID
		if ev.Environment == "" && k.IsDeployment() {
			return ev, domain.Reject(domain.ReasonMissingField, "%s needs subject.content.environment.id", k)
		}
		if ev.Artifact == "" && (k == domain.KindServiceDeployed || k == domain.KindServiceUpgraded) {
			return ev, domain.Reject(domain.ReasonMissingField, "%s needs subject.content.artifactId", k)
		}
	case k.Subject() == "incident":
		ev.Environment = c.Environment.ID
		ev.Service = c.Service.ID
		ev.Artifact = c.ArtifactID
		if ev.Environment == "" {
			return ev, domain.Reject(domain.ReasonMissingField, "%s needs subject.content.environment.id", k)
		}
	}
	var texts []string
	if ev.Kind.IsChange() {
		texts = append(texts, ev.SubjectID)
	}
	texts = append(texts, ev.Title, ev.Branch)
	ev.Ideas = domain.IdeaKeys(d.ideaKeys, explicit, texts...)
	return ev, nil
}

func parseCustomData(raw jsontext.Value) (customData, error) {
	var cd customData
	if len(raw) == 0 || raw.Kind() != '{' {
		// customData may be any value (even base64 text); only a JSON
		// object carries Throughline's fields.
		return cd, nil
	}
	if err := jsonv2.Unmarshal(raw, &cd); err != nil {
		return cd, dataError("customData", err)
	}
	return cd, nil
}

// ideaList accepts ["CHK-1","CHK-2"] or "CHK-1, CHK-2".
func ideaList(raw jsontext.Value) ([]string, error) {
	if len(raw) == 0 || raw.Kind() == 'n' {
		return nil, nil
	}
	var list []string
	if jsonv2.Unmarshal(raw, &list) == nil {
		return list, nil
	}
	var s string
	if jsonv2.Unmarshal(raw, &s) == nil {
		return strings.Split(s, ","), nil
	}
	return nil, domain.Reject(domain.ReasonInvalidContent, "customData.ideas must be a list of idea keys")
}

func truthy(raw jsontext.Value) bool {
	switch raw.Kind() {
	case 't':
		return true
	case '"':
		var s string
		if jsonv2.Unmarshal(raw, &s) == nil {
			b, _ := strconv.ParseBool(strings.TrimSpace(s))
			return b
		}
	}
	return false
}

// telemetry is the data of dev.throughline.telemetry.samples.v1.
type telemetry struct {
	Samples *[]struct {
		Metric     string            `json:"metric"`
		Value      jsontext.Value    `json:"value"`
		Time       string            `json:"time"`
		Attributes map[string]string `json:"attributes"`
	} `json:"samples"`
}

// MaxSamplesPerEvent bounds the work one telemetry event can cause.
const MaxSamplesPerEvent = 10_000

// MaxSampleValue bounds a sample's magnitude so that the rollups' sums (and
// the squares the evidence statistics take) stay finite: two samples of
// 1e308 would add up to +Inf, which JSON cannot carry.
const MaxSampleValue = 1e100

func (d *Decoder) decodeTelemetry(ce domain.CloudEvent, ev domain.Event) (domain.Event, error) {
	var td telemetry
	if err := jsonv2.Unmarshal(ce.Data, &td); err != nil {
		return ev, dataError("telemetry data", err)
	}
	if td.Samples == nil {
		return ev, domain.Reject(domain.ReasonMissingField, "telemetry data has no samples list")
	}
	if len(*td.Samples) == 0 {
		return ev, domain.Reject(domain.ReasonMissingField, "telemetry data has an empty samples list")
	}
	if len(*td.Samples) > MaxSamplesPerEvent {
		return ev, domain.Reject(domain.ReasonTooLarge, "telemetry event has %d samples; the limit is %d", len(*td.Samples), MaxSamplesPerEvent)
	}
	ev.Samples = make([]domain.Sample, 0, len(*td.Samples))
	for i, s := range *td.Samples {
		if strings.TrimSpace(s.Metric) == "" {
			return ev, domain.Reject(domain.ReasonMissingField, "sample %d has no metric name", i)
		}
		v, err := sampleValue(s.Value)
		if err != nil {
			return ev, domain.Reject(domain.ReasonBadValue, "sample %d (%s): %v", i, s.Metric, err)
		}
		t, err := time.Parse(time.RFC3339Nano, s.Time)
		if err != nil {
			return ev, domain.Reject(domain.ReasonBadTimestamp, "sample %d (%s): time %q is not an RFC 3339 timestamp", i, s.Metric, s.Time)
		}
		if t.Year() < 1970 || t.Year() > 9999 {
			return ev, domain.Reject(domain.ReasonBadTimestamp, "sample %d (%s): time %q is out of range", i, s.Metric, s.Time)
		}
		ev.Samples = append(ev.Samples, domain.Sample{Metric: s.Metric, Value: v, Time: t.UTC(), Attributes: s.Attributes})
		if ev.Time.IsZero() || t.Before(ev.Time) {
			ev.Time = t.UTC()
		}
	}
	if !ce.Time.IsZero() {
		ev.Time = ce.Time
	}
	return ev, nil
}

// sampleValue reads a finite number. JSON has no NaN or Infinity, but
// producers write them as strings; those are refused by name.
func sampleValue(raw jsontext.Value) (float64, error) {
	switch raw.Kind() {
	case '0':
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, errString("value " + string(raw) + " is not finite")
		}
		if math.Abs(f) > MaxSampleValue {
			return 0, errString("value " + string(raw) + " is out of range: Throughline accepts values up to ±1e100")
		}
		return f, nil
	case '"':
		var s string
		_ = jsonv2.Unmarshal(raw, &s)
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return 0, errString("value " + strconv.Quote(s) + " is not finite")
		}
		return 0, errString("value " + strconv.Quote(s) + " is a string, not a number")
	case 0, 'n':
		return 0, errString("value is missing")
	}
	return 0, errString("value is not a number")
}

type errString string

func (e errString) Error() string { return string(e) }

// SubjectParts are what a producer's subject names for an event: its kind
// ("delivery" or "telemetry") and its service ("unknown" when it has none).
// The subject itself is the bus's to build from them (subject-safe, bounded
// tokens); Throughline routes by type, never by subject.
func SubjectParts(ev domain.Event) (kind, service string) {
	kind, service = "delivery", ev.Service
	if ev.Kind == domain.KindTelemetry {
		kind = "telemetry"
		if len(ev.Samples) > 0 {
			service = ev.Samples[0].Attributes["service"]
		}
	}
	if service == "" {
		service = "unknown"
	}
	return kind, service
}
