package domain

import (
	"sort"
	"strings"
	"time"
)

// Progressive delivery and feature flags (DESIGN.md section 4, "Progressive
// delivery and flags"): a rollout is one production deployment at its first
// production step; an aborted rollout is a failed deployment recovered at
// the abort; a flag switched off while an incident on one of its services is
// open recovers the deployments that incident made fail. Flag changes are
// never deployments.

// Event kinds of flag and rollout events (CloudEvent types
// dev.throughline.flag.changed.v1 and dev.throughline.rollout.<step>.v1).
const (
	KindFlagChanged       EventKind = "flag.changed"
	KindRolloutStarted    EventKind = "rollout.started"
	KindRolloutProgressed EventKind = "rollout.progressed"
	KindRolloutPromoted   EventKind = "rollout.promoted"
	KindRolloutAborted    EventKind = "rollout.aborted"
)

// IsRollout reports whether the kind is a progressive-delivery step.
func (k EventKind) IsRollout() bool { return k.Subject() == "rollout" }

// FlagChange is what a flag event says: the flag's state in one
// environment from the event's time on.
type FlagChange struct {
	Key         string
	Enabled     bool
	Variant     string
	Percentage  float64 // share of traffic exposed, 0–100
	Services    []string
	Environment string
}

// Off reports whether the change takes the flag away from everyone:
// switched off, or on for 0 %.
func (f FlagChange) Off() bool { return !f.Enabled || f.Percentage <= 0 }

// Full reports whether the flag is on for everyone.
func (f FlagChange) Full() bool { return f.Enabled && f.Percentage >= 100 }

// SeriesRef names a telemetry series: a metric and its attributes.
type SeriesRef struct {
	Metric     string            `json:"metric"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// RolloutStep is one step of a progressive rollout: started, a canary
// weight change, promoted, aborted.
type RolloutStep struct {
	// Rollout names the rollout when the producer has an id for it; steps
	// without one are grouped per service in time order.
	Rollout  string
	Weight   *float64 // canary traffic weight, 0–100, when known
	Baseline *SeriesRef
	Canary   *SeriesRef
	Message  string
}

// RuleRolloutAborted is rule 4: a rollout aborted before full promotion.
const RuleRolloutAborted FailureRule = "rollout_aborted"

// Recoveries added by progressive delivery.
const (
	RecoveredByAbort   Recovery = "rollout_aborted"
	RecoveredByFlagOff Recovery = "flag_off"
)

// ProdRolloutStep is a rollout step in production, as the DORA rules see it.
type ProdRolloutStep struct {
	PK       int64
	Event    Identity
	Service  string
	Artifact string
	Rollout  string
	Kind     EventKind
	At       time.Time
}

// ProdFlagSwitch is a production flag change naming the service.
type ProdFlagSwitch struct {
	PK    int64
	Event Identity
	Flag  string
	At    time.Time
	Off   bool
}

// Rollout is one rollout: its steps from the first to the promotion or
// abort (End zero while it runs).
type Rollout struct {
	ID       string
	Service  string
	Artifact string
	First    ProdRolloutStep
	End      *ProdRolloutStep // promoted or aborted; nil while running
	Steps    []ProdRolloutStep
}

// Aborted reports whether the rollout ended in an abort.
func (r Rollout) Aborted() bool { return r.End != nil && r.End.Kind == KindRolloutAborted }

// Promoted reports whether the rollout reached full promotion.
func (r Rollout) Promoted() bool { return r.End != nil && r.End.Kind == KindRolloutPromoted }

// during reports whether t falls within the rollout, ends included.
func (r Rollout) during(t time.Time) bool {
	return !t.Before(r.First.At) && (r.End == nil || !t.After(r.End.At))
}

// GroupRollouts orders steps in time and groups them into rollouts: steps
// with the same rollout id (or, without one, of the same service) belong to
// one rollout until it is promoted or aborted; the next step after that
// starts a new rollout — a retry after an abort is a new rollout.
func GroupRollouts(steps []ProdRolloutStep) []Rollout {
	ss := append([]ProdRolloutStep(nil), steps...)
	sort.SliceStable(ss, func(i, j int) bool {
		if !ss[i].At.Equal(ss[j].At) {
			return ss[i].At.Before(ss[j].At)
		}
		return stepOrder(ss[i].Kind) < stepOrder(ss[j].Kind) || (stepOrder(ss[i].Kind) == stepOrder(ss[j].Kind) && ss[i].PK < ss[j].PK)
	})
	var out []Rollout
	open := map[string]int{}
	for _, s := range ss {
		key := s.Service + "\x00" + s.Rollout
		i, ok := open[key]
		if !ok {
			out = append(out, Rollout{ID: s.Rollout, Service: s.Service, First: s})
			i = len(out) - 1
			open[key] = i
		}
		r := &out[i]
		r.Steps = append(r.Steps, s)
		if r.Artifact == "" {
			r.Artifact = s.Artifact
		}
		if s.Kind == KindRolloutPromoted || s.Kind == KindRolloutAborted {
			end := s
			r.End = &end
			delete(open, key)
		}
	}
	return out
}

// stepOrder puts a rollout's steps at the same instant in their natural order.
func stepOrder(k EventKind) int {
	switch k {
	case KindRolloutStarted:
		return 0
	case KindRolloutProgressed:
		return 1
	}
	return 2
}

// MergeRollouts makes each rollout one production deployment at its first
// step (keyed by that step's event) and drops the service.deployed events
// of the same service and artifact during a rollout: they are the same
// deployment. A rollout without an artifact absorbs any non-rollback
// deployment of its service during it. It returns the deployments and, for
// each rollout deployment's PK, its rollout.
func MergeRollouts(ds []ProdDeployment, rollouts []Rollout) ([]ProdDeployment, map[int64]Rollout) {
	byPK := map[int64]Rollout{}
	var out []ProdDeployment
	for _, d := range ds {
		same := false
		for _, r := range rollouts {
			if !d.Rollback && r.Service == d.Service && (r.Artifact == "" || r.Artifact == d.Artifact) && r.during(d.At) {
				same = true
				break
			}
		}
		if !same {
			out = append(out, d)
		}
	}
	for _, r := range rollouts {
		byPK[r.First.PK] = r
		out = append(out, ProdDeployment{PK: r.First.PK, Event: r.First.Event, Service: r.Service, Artifact: r.Artifact, At: r.First.At})
	}
	return out, byPK
}

// flagOffRecovery is the first switch-off among flags while inc is open
// (at or after its start, before its resolution), if any.
func flagOffRecovery(inc ProdIncident, flags []ProdFlagSwitch) (ProdFlagSwitch, bool) {
	var best ProdFlagSwitch
	found := false
	for _, f := range flags {
		if f.Off && inc.Open(f.At) && (!found || f.At.Before(best.At)) {
			best, found = f, true
		}
	}
	return best, found
}

// ExposureKind names what an exposure point is.
type ExposureKind string

const (
	ExposureFlag    ExposureKind = "flag"
	ExposureRollout ExposureKind = "rollout"
)

// ExposurePoint is one step of an idea's exposure in production: a flag
// change (percentage) or a rollout step (canary weight).
type ExposurePoint struct {
	At      time.Time
	Kind    ExposureKind
	Name    string    // flag key or rollout service
	Step    EventKind // flag.changed or rollout.*
	Percent float64   // exposure after this point, 0–100
	Full    bool
}

// AnchorKind says which anchor outcome evidence used.
type AnchorKind string

const (
	AnchorFlagFull        AnchorKind = "flag_full"
	AnchorRolloutPromoted AnchorKind = "rollout_promoted"
	AnchorFlagAndRollout  AnchorKind = "flag_and_rollout_full"
	AnchorFirstDeployment AnchorKind = "first_production_deployment"
	AnchorNotFullYet      AnchorKind = "not_full_yet"
	AnchorNotInProduction AnchorKind = "not_in_production"
)

// Anchor is where an idea's pre/post comparison is centred.
type Anchor struct {
	Kind AnchorKind
	At   time.Time // zero when there is none yet
	Text string    // in words, for the page
}

// EvidenceAnchor decides the anchor (DESIGN.md 4): the first time the
// idea's exposure in production became full — its flag on for 100 %, its
// rollout promoted, with both the later of the two; with neither, its
// first production deployment. A flag or rollout that never reached full
// exposure gives no anchor yet.
func EvidenceAnchor(points []ExposurePoint, firstProd time.Time) Anchor {
	var hasFlag, hasRollout bool
	var flagFull, rolloutFull time.Time
	for _, p := range points {
		switch p.Kind {
		case ExposureFlag:
			hasFlag = true
			if p.Full && (flagFull.IsZero() || p.At.Before(flagFull)) {
				flagFull = p.At
			}
		case ExposureRollout:
			hasRollout = true
			if p.Step == KindRolloutPromoted && (rolloutFull.IsZero() || p.At.Before(rolloutFull)) {
				rolloutFull = p.At
			}
		}
	}
	switch {
	case hasFlag && hasRollout:
		if flagFull.IsZero() || rolloutFull.IsZero() {
			return Anchor{Kind: AnchorNotFullYet, Text: notFullText(flagFull.IsZero(), rolloutFull.IsZero())}
		}
		at := flagFull
		if rolloutFull.After(at) {
			at = rolloutFull
		}
		return Anchor{Kind: AnchorFlagAndRollout, At: at, Text: "exposure became full when both its flag was on for 100 % and its rollout was promoted (the later of the two)"}
	case hasFlag:
		if flagFull.IsZero() {
			return Anchor{Kind: AnchorNotFullYet, Text: notFullText(true, false)}
		}
		return Anchor{Kind: AnchorFlagFull, At: flagFull, Text: "its flag was first on for 100 % in production"}
	case hasRollout:
		if rolloutFull.IsZero() {
			return Anchor{Kind: AnchorNotFullYet, Text: notFullText(false, true)}
		}
		return Anchor{Kind: AnchorRolloutPromoted, At: rolloutFull, Text: "its rollout was first promoted in production"}
	case !firstProd.IsZero():
		return Anchor{Kind: AnchorFirstDeployment, At: firstProd, Text: "its first production deployment (it has no flag or rollout)"}
	}
	return Anchor{Kind: AnchorNotInProduction, Text: "not in production yet"}
}

func notFullText(flag, rollout bool) string {
	var parts []string
	if flag {
		parts = append(parts, "its flag has not been on for 100 % in production")
	}
	if rollout {
		parts = append(parts, "its rollout has not been promoted in production")
	}
	return "no anchor yet: exposure never became full (" + strings.Join(parts, "; ") + ")"
}
