package domain

import (
	"strconv"
	"time"
)

// Limits on what an event may carry (DESIGN.md section 4, Names and Future
// events). Each exists because something downstream breaks without it: a
// name reaches NATS subjects, page headings and database keys; an identity
// travels as the Nats-Msg-Id header and is a database key.

// MaxNameBytes bounds a service, team, environment, metric or flag name.
const MaxNameBytes = 256

// MaxIdentifierBytes bounds an event's id and source, and the ids it names
// (subject, artifact, change). PostgreSQL indexes at most 2,704 bytes per
// key; two identifiers of this size fit one key with room to spare.
const MaxIdentifierBytes = 1024

// MaxAttributesBytes bounds a telemetry sample's attributes, written out
// (AttributesSize): with the metric name they key a series, and PostgreSQL
// indexes at most 2,704 bytes per key. A series keyed by more is label
// abuse, not a measurement.
const MaxAttributesBytes = 2048

// AttributesSize is the size of attributes written out as quoted keys and
// values (the way the store keys a series, escapes included).
func AttributesSize(attrs map[string]string) int {
	n := 2
	for k, v := range attrs {
		n += len(strconv.Quote(k)) + len(strconv.Quote(v)) + 2
	}
	return n
}

// FutureTolerance is how far after its arrival an event may be dated: clocks
// drift and time zones get mislabelled, but a day past that is a wrong
// clock, and such an event would count in windows that have not happened.
const FutureTolerance = 24 * time.Hour

// EarliestEventTime is the earliest date an event may carry. Delivery
// pipelines and their telemetry postdate it; what is dated before it is a
// clock that was never set or a zero written as a time (1970-01-01 is Unix
// time 0), and it would stretch every "since the first event" figure over
// decades.
var EarliestEventTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ReasonFutureTime is the dead-letter reason of an event from the future.
const ReasonFutureTime = "future_time"

// CheckName refuses a name over MaxNameBytes; what says which name it is
// ("service", "metric", ...).
func CheckName(what, name string) error {
	if len(name) > MaxNameBytes {
		return Errorf(EINVALID, "The %s name is %s bytes long; a name is at most %d bytes.", what, strconv.Itoa(len(name)), MaxNameBytes)
	}
	return nil
}

// nameAttributes are the telemetry attributes that name a service, team or
// environment; the others are free text (routes, regions, ...).
var nameAttributes = []struct{ key, what string }{
	{"service", "service"}, {"team", "team"}, {"env", "environment"}, {"environment", "environment"},
}

// checkNameAttributes refuses attributes (of a metric query) whose
// service, team or environment name is over MaxNameBytes.
func checkNameAttributes(attrs map[string]string) error {
	for _, a := range nameAttributes {
		if err := CheckName(a.what, attrs[a.key]); err != nil {
			return err
		}
	}
	return nil
}

// CheckLimits refuses an event whose names or identifiers are too long to
// be routed and stored: a name over MaxNameBytes, an identifier over
// MaxIdentifierBytes. The refusal is an invalid_content rejection.
func (ev Event) CheckLimits() error {
	for _, f := range []struct{ what, v string }{
		{"service", ev.Service}, {"environment", ev.Environment}, {"team", ev.Team},
	} {
		if len(f.v) > MaxNameBytes {
			return Reject(ReasonInvalidContent, "the %s name is %d bytes long; a name is at most %d bytes", f.what, len(f.v), MaxNameBytes)
		}
	}
	for _, f := range []struct{ what, v string }{
		{"id", ev.ID}, {"source", ev.Source}, {"subject.id", ev.SubjectID},
		{"content.artifactId", ev.Artifact}, {"content.change.id", ev.Change},
	} {
		if len(f.v) > MaxIdentifierBytes {
			return Reject(ReasonInvalidContent, "%s is %d bytes long; the limit is %d", f.what, len(f.v), MaxIdentifierBytes)
		}
	}
	for i, s := range ev.Samples {
		if len(s.Metric) > MaxNameBytes {
			return Reject(ReasonInvalidContent, "sample %d: the metric name is %d bytes long; a name is at most %d bytes", i, len(s.Metric), MaxNameBytes)
		}
		for _, a := range nameAttributes {
			if v := s.Attributes[a.key]; len(v) > MaxNameBytes {
				return Reject(ReasonInvalidContent, "sample %d (%s): the %s name (attribute %q) is %d bytes long; a name is at most %d bytes",
					i, s.Metric, a.what, a.key, len(v), MaxNameBytes)
			}
		}
		if n := AttributesSize(s.Attributes); n > MaxAttributesBytes {
			return Reject(ReasonInvalidContent, "sample %d (%s): its attributes are %d bytes written out; the limit is %d", i, Shorten(s.Metric, 64), n, MaxAttributesBytes)
		}
	}
	return nil
}

// CheckTime refuses an event dated before EarliestEventTime (bad_timestamp)
// or more than FutureTolerance after it arrived (future_time). A delivery
// event is dated by its CDEvent timestamp, telemetry by each sample's time.
// arrived is when the events stream stored the message (or when the HTTP
// request came), so that a redelivery or a replay decides the same way.
func (ev Event) CheckTime(arrived time.Time) error {
	check := func(what string, t time.Time) error {
		if t.Before(EarliestEventTime) {
			return Reject(ReasonBadTimestamp, "%s %s is before %s: is the producer's clock set?", what, t.UTC().Format(time.RFC3339), EarliestEventTime.Format(DateLayout))
		}
		if t.Sub(arrived) > FutureTolerance {
			return Reject(ReasonFutureTime, "%s %s is more than 24 hours after the event arrived (%s)", what, t.UTC().Format(time.RFC3339), arrived.UTC().Format(time.RFC3339))
		}
		return nil
	}
	if ev.Kind != KindTelemetry {
		return check("the event's timestamp", ev.Time)
	}
	for i, s := range ev.Samples {
		if err := check("sample "+strconv.Itoa(i)+" ("+Shorten(s.Metric, 64)+") time", s.Time); err != nil {
			return err
		}
	}
	return nil
}
