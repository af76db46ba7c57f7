package domain

import (
	"sort"
	"time"
)

// A review's timeline merges entries from several sources — deployments,
// changes, other incidents, the incident's own events — each turned into
// TimelineEntry by its own small function. A new kind of entry (flag
// changes, alerts) is one more constant, one more source function and one
// more argument to BuildTimeline; nothing else changes.

// TimelineKind says what a timeline entry is.
type TimelineKind string

const (
	TimelineIncident      TimelineKind = "incident"       // this incident detected / reported / resolved
	TimelineDeployment    TimelineKind = "deployment"     // a production deployment of the service
	TimelineRollback      TimelineKind = "rollback"       // a rollback deployment
	TimelineChange        TimelineKind = "change"         // a change merged that a deployment carried
	TimelineOtherIncident TimelineKind = "other_incident" // another incident on the service
)

// timelineOrder breaks ties between entries at the same instant: the cause
// before its effect (a deployment before the incident it started).
var timelineOrder = map[TimelineKind]int{
	TimelineChange: 0, TimelineDeployment: 1, TimelineRollback: 2, TimelineOtherIncident: 3, TimelineIncident: 4,
}

// TimelineEntry is one line of a review's timeline.
type TimelineEntry struct {
	At      time.Time
	Kind    TimelineKind
	Label   string // short: "detected", "deployed", "merged"
	Text    string // one sentence
	Service string
	Event   *Identity // the stored event, when there is one
	// Key marks the entries the review is about: the incident's own events
	// and the deployments it made fail.
	Key bool
}

// ReviewLookback is how far before an incident's start its timeline begins
// (the default attribution window), unless an attributed deployment is
// earlier still.
const ReviewLookback = 24 * time.Hour

// ReviewSpan is the stretch of time a review's timeline shows: from a day
// before the start (or the attributed deployment, if earlier) to an hour
// after the resolution (or now, while open).
func ReviewSpan(f ReviewFacts, now time.Time) (from, to time.Time) {
	inc := f.Incident.Incident
	start := inc.Start
	if start.IsZero() {
		start = now
	}
	from = start.Add(-ReviewLookback)
	for _, d := range f.Deployments {
		if d.Deployment.At.Before(from) {
			from = d.Deployment.At
		}
	}
	to = now
	if !inc.Resolved.IsZero() && inc.Resolved.Add(time.Hour).Before(now) {
		to = inc.Resolved.Add(time.Hour)
	}
	return from, to
}

// BuildTimeline merges the sources' entries inside from..to (inclusive),
// oldest first; at the same instant, causes before effects.
func BuildTimeline(from, to time.Time, sources ...[]TimelineEntry) []TimelineEntry {
	var out []TimelineEntry
	for _, src := range sources {
		for _, e := range src {
			if !e.At.Before(from) && !e.At.After(to) {
				out = append(out, e)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return timelineOrder[out[i].Kind] < timelineOrder[out[j].Kind]
	})
	return out
}

// IncidentEvent is one stored event of an incident.
type IncidentEvent struct {
	Kind  EventKind // incident.detected / reported / resolved
	At    time.Time
	Event Identity
}

// IncidentEntries are the incident's own events.
func IncidentEntries(inc ProdIncident, evs []IncidentEvent) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(evs))
	for _, e := range evs {
		id := e.Event
		en := TimelineEntry{At: e.At, Kind: TimelineIncident, Label: e.Kind.Predicate(), Service: inc.Service, Event: &id, Key: true}
		switch e.Kind {
		case KindIncidentDetected:
			en.Text = "Incident " + inc.ID + " detected"
		case KindIncidentReported:
			en.Text = "Incident " + inc.ID + " reported"
		case KindIncidentResolved:
			en.Text = "Incident " + inc.ID + " resolved"
		default:
			en.Text = "Incident " + inc.ID + ": " + string(e.Kind)
		}
		out = append(out, en)
	}
	return out
}

// DeploymentEntries are the service's production deployments, with the
// DORA verdict's reason on those this incident made fail.
func DeploymentEntries(f ReviewFacts, deps []DeploymentRecord) []TimelineEntry {
	caused := map[int64]bool{}
	for _, d := range f.Deployments {
		caused[d.Deployment.PK] = true
	}
	out := make([]TimelineEntry, 0, len(deps))
	for _, d := range deps {
		id := d.Deployment.Event
		en := TimelineEntry{At: d.Deployment.At, Kind: TimelineDeployment, Label: "deployed", Service: d.Deployment.Service, Event: &id}
		what := d.Deployment.Artifact
		if what == "" {
			what = "an unnamed artifact"
		}
		if d.Deployment.Rollback {
			en.Kind, en.Label = TimelineRollback, "rolled back"
			en.Text = d.Deployment.Service + " rolled back to " + what
		} else {
			en.Text = d.Deployment.Service + " deployed " + what
			if n := len(d.Verdict.Changes); n > 0 {
				en.Text += " carrying " + joinIDs(d.Verdict.Changes)
			}
		}
		if caused[d.Deployment.PK] {
			en.Key = true
			en.Text += " — failed: " + d.FailureReason()
		}
		out = append(out, en)
	}
	return out
}

// ChangeMerge is a change merged, carried by a deployment on the timeline.
type ChangeMerge struct {
	ChangeID string
	At       time.Time
}

// ChangeEntries are the merges of the changes the deployments carried.
func ChangeEntries(service string, merges []ChangeMerge) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(merges))
	for _, m := range merges {
		out = append(out, TimelineEntry{At: m.At, Kind: TimelineChange, Label: "merged", Service: service, Text: "Change " + m.ChangeID + " merged"})
	}
	return out
}

// OtherIncidentEntries are the starts and resolutions of the service's
// other incidents.
func OtherIncidentEntries(self string, others []IncidentRecord) []TimelineEntry {
	var out []TimelineEntry
	for _, r := range others {
		i := r.Incident
		if i.ID == self {
			continue
		}
		if !i.Start.IsZero() {
			out = append(out, TimelineEntry{At: i.Start, Kind: TimelineOtherIncident, Label: "other incident", Service: i.Service, Text: "Incident " + i.ID + " started"})
		}
		if !i.Resolved.IsZero() {
			out = append(out, TimelineEntry{At: i.Resolved, Kind: TimelineOtherIncident, Label: "other incident", Service: i.Service, Text: "Incident " + i.ID + " resolved"})
		}
	}
	return out
}
