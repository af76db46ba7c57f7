package cdevents

import (
	"math"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/throughline/throughline/domain"
)

// Throughline's own CloudEvent types for feature flags and progressive
// delivery (docs/api.md, "Flag and rollout events").
const (
	FlagChangedType       = "dev.throughline.flag.changed.v1"
	RolloutStartedType    = "dev.throughline.rollout.started.v1"
	RolloutProgressedType = "dev.throughline.rollout.progressed.v1"
	RolloutPromotedType   = "dev.throughline.rollout.promoted.v1"
	RolloutAbortedType    = "dev.throughline.rollout.aborted.v1"
)

// throughlineTypes maps Throughline's own event types to their kinds.
var throughlineTypes = map[string]domain.EventKind{
	TelemetryType:         domain.KindTelemetry,
	FlagChangedType:       domain.KindFlagChanged,
	RolloutStartedType:    domain.KindRolloutStarted,
	RolloutProgressedType: domain.KindRolloutProgressed,
	RolloutPromotedType:   domain.KindRolloutPromoted,
	RolloutAbortedType:    domain.KindRolloutAborted,
}

// RolloutType is the CloudEvent type of a rollout step kind.
func RolloutType(k domain.EventKind) string {
	for t, kk := range throughlineTypes {
		if kk == k && k.IsRollout() {
			return t
		}
	}
	return ""
}

// flagData is the data of a dev.throughline.flag.changed.v1 event.
type flagData struct {
	Key         string         `json:"key"`
	Environment string         `json:"environment"`
	Enabled     *bool          `json:"enabled"`
	Variant     string         `json:"variant"`
	Percentage  *float64       `json:"rollout_percentage"`
	Services    []string       `json:"services"`
	Ideas       jsontext.Value `json:"ideas"`
	Team        string         `json:"team"`
	Timestamp   string         `json:"timestamp"`
}

// rolloutData is the data of a dev.throughline.rollout.*.v1 event.
type rolloutData struct {
	Rollout     string            `json:"rollout"`
	Service     string            `json:"service"`
	Artifact    string            `json:"artifact"`
	Environment string            `json:"environment"`
	Weight      *float64          `json:"weight"`
	Baseline    *domain.SeriesRef `json:"baseline"`
	Canary      *domain.SeriesRef `json:"canary"`
	Message     string            `json:"message"`
	Ideas       jsontext.Value    `json:"ideas"`
	Team        string            `json:"team"`
	Timestamp   string            `json:"timestamp"`
}

// eventTime is the data's timestamp, or the CloudEvent time.
func eventTime(what, ts string, ce domain.CloudEvent) (time.Time, error) {
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return t, domain.Reject(domain.ReasonBadTimestamp, "%s timestamp %q is not an RFC 3339 timestamp", what, ts)
		}
		if t.Year() < 1970 || t.Year() > 9999 {
			return t, domain.Reject(domain.ReasonBadTimestamp, "%s timestamp %q is out of range", what, ts)
		}
		return t.UTC(), nil
	}
	if ce.Time.IsZero() {
		return time.Time{}, domain.Reject(domain.ReasonBadTimestamp, "%s event has no timestamp in its data and the CloudEvent no time", what)
	}
	return ce.Time, nil
}

// percent reads a share 0–100.
func percent(what string, p *float64) (float64, error) {
	if p == nil {
		return 0, nil
	}
	if math.IsNaN(*p) || *p < 0 || *p > 100 {
		return 0, domain.Reject(domain.ReasonBadValue, "%s %v is not a percentage between 0 and 100", what, *p)
	}
	return *p, nil
}

func (d *Decoder) decodeFlag(ce domain.CloudEvent, ev domain.Event) (domain.Event, error) {
	var fd flagData
	if err := jsonv2.Unmarshal(ce.Data, &fd); err != nil {
		return ev, dataError("flag data", err)
	}
	var err error
	if ev.Time, err = eventTime("flag", fd.Timestamp, ce); err != nil {
		return ev, err
	}
	if strings.TrimSpace(fd.Key) == "" {
		return ev, domain.Reject(domain.ReasonMissingField, "flag event needs data.key")
	}
	if strings.TrimSpace(fd.Environment) == "" {
		return ev, domain.Reject(domain.ReasonMissingField, "flag event needs data.environment")
	}
	if fd.Enabled == nil {
		return ev, domain.Reject(domain.ReasonMissingField, "flag event needs data.enabled (true or false)")
	}
	f := &domain.FlagChange{Key: fd.Key, Enabled: *fd.Enabled, Variant: fd.Variant, Environment: fd.Environment}
	// On without a percentage is on for everyone.
	if fd.Percentage == nil && f.Enabled {
		f.Percentage = 100
	} else if f.Percentage, err = percent("rollout_percentage", fd.Percentage); err != nil {
		return ev, err
	}
	for _, s := range fd.Services {
		if s = strings.TrimSpace(s); s != "" {
			f.Services = append(f.Services, s)
		}
	}
	explicit, err := ideaList(fd.Ideas)
	if err != nil {
		return ev, err
	}
	ev.Flag, ev.Environment, ev.SubjectID, ev.Team = f, fd.Environment, fd.Key, strings.TrimSpace(fd.Team)
	if len(f.Services) == 1 {
		ev.Service = f.Services[0]
	}
	ev.Ideas = domain.IdeaKeys(d.ideaKeys, explicit)
	return ev, checkFlagNames(f)
}

// checkFlagNames applies the 256-byte name limit to a flag's key and the
// services it names.
func checkFlagNames(f *domain.FlagChange) error {
	if len(f.Key) > domain.MaxNameBytes {
		return domain.Reject(domain.ReasonInvalidContent, "the flag name is %d bytes long; a name is at most %d bytes", len(f.Key), domain.MaxNameBytes)
	}
	for _, s := range f.Services {
		if len(s) > domain.MaxNameBytes {
			return domain.Reject(domain.ReasonInvalidContent, "a service name is %d bytes long; a name is at most %d bytes", len(s), domain.MaxNameBytes)
		}
	}
	return nil
}

func (d *Decoder) decodeRollout(ce domain.CloudEvent, ev domain.Event) (domain.Event, error) {
	var rd rolloutData
	if err := jsonv2.Unmarshal(ce.Data, &rd); err != nil {
		return ev, dataError("rollout data", err)
	}
	var err error
	if ev.Time, err = eventTime("rollout", rd.Timestamp, ce); err != nil {
		return ev, err
	}
	if strings.TrimSpace(rd.Service) == "" {
		return ev, domain.Reject(domain.ReasonMissingField, "rollout event needs data.service")
	}
	if strings.TrimSpace(rd.Environment) == "" {
		return ev, domain.Reject(domain.ReasonMissingField, "rollout event needs data.environment")
	}
	st := &domain.RolloutStep{Rollout: rd.Rollout, Baseline: rd.Baseline, Canary: rd.Canary, Message: rd.Message}
	if rd.Weight != nil {
		w, err := percent("weight", rd.Weight)
		if err != nil {
			return ev, err
		}
		st.Weight = &w
	}
	for _, s := range []*domain.SeriesRef{rd.Baseline, rd.Canary} {
		if s != nil && (strings.TrimSpace(s.Metric) == "" || len(s.Metric) > domain.MaxNameBytes) {
			return ev, domain.Reject(domain.ReasonInvalidContent, "a baseline or canary series needs a metric name of 1 to %d bytes", domain.MaxNameBytes)
		}
	}
	explicit, err := ideaList(rd.Ideas)
	if err != nil {
		return ev, err
	}
	ev.Rollout, ev.Service, ev.Environment, ev.Artifact = st, rd.Service, rd.Environment, rd.Artifact
	ev.SubjectID, ev.Team = rd.Service, strings.TrimSpace(rd.Team)
	if rd.Rollout != "" {
		ev.SubjectID = rd.Rollout
	}
	ev.Ideas = domain.IdeaKeys(d.ideaKeys, explicit)
	return ev, nil
}

// nulFlagField names the first text of a flag or rollout event that holds a
// NUL character.
func nulFlagField(ev domain.Event) string {
	var fs []struct{ name, v string }
	if f := ev.Flag; f != nil {
		fs = append(fs, struct{ name, v string }{"data.key", f.Key}, struct{ name, v string }{"data.variant", f.Variant},
			struct{ name, v string }{"data.services", strings.Join(f.Services, ",")})
	}
	if r := ev.Rollout; r != nil {
		fs = append(fs, struct{ name, v string }{"data.rollout", r.Rollout}, struct{ name, v string }{"data.message", r.Message})
		for _, s := range []*domain.SeriesRef{r.Baseline, r.Canary} {
			if s == nil {
				continue
			}
			fs = append(fs, struct{ name, v string }{"data series metric", s.Metric})
			for k, v := range s.Attributes {
				fs = append(fs, struct{ name, v string }{"data series attributes", k + v})
			}
		}
	}
	for _, f := range fs {
		if strings.IndexByte(f.v, 0) >= 0 {
			return f.name
		}
	}
	return ""
}

// encodeFlagOrRollout writes a flag or rollout event in Throughline's
// format (the inverse of decodeFlag and decodeRollout).
func encodeFlagOrRollout(ce domain.CloudEvent, ev domain.Event) (domain.CloudEvent, error) {
	ts := ev.Time.UTC().Format(time.RFC3339Nano)
	ce.Time = ev.Time.UTC()
	var data any
	switch {
	case ev.Kind == domain.KindFlagChanged && ev.Flag != nil:
		f := ev.Flag
		ce.Type = FlagChangedType
		data = map[string]any{"key": f.Key, "environment": f.Environment, "enabled": f.Enabled, "variant": f.Variant,
			"rollout_percentage": f.Percentage, "services": f.Services, "ideas": ev.Ideas, "team": ev.Team, "timestamp": ts}
	case ev.Kind.IsRollout() && ev.Rollout != nil:
		r := ev.Rollout
		ce.Type = RolloutType(ev.Kind)
		m := map[string]any{"rollout": r.Rollout, "service": ev.Service, "artifact": ev.Artifact, "environment": ev.Environment,
			"message": r.Message, "ideas": ev.Ideas, "team": ev.Team, "timestamp": ts}
		if r.Weight != nil {
			m["weight"] = *r.Weight
		}
		if r.Baseline != nil {
			m["baseline"] = r.Baseline
		}
		if r.Canary != nil {
			m["canary"] = r.Canary
		}
		data = m
	default:
		return ce, domain.Errorf(domain.EINVALID, "cdevents: a %s event needs its flag or rollout fields", ev.Kind)
	}
	b, err := jsonv2.Marshal(data, jsonv2.Deterministic(true))
	ce.Data = b
	return ce, err
}
