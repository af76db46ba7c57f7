package domain

import (
	"sort"
	"strconv"
	"time"
)

// This file holds the DORA definitions of DESIGN.md section 4 as pure
// functions: which production deployments failed and why, when they
// recovered, which are rework, which changes each one carried, and the
// report over a window with the 2023 tiers.

// ProdDeployment is a production deployment of one service.
type ProdDeployment struct {
	PK       int64 // stable key (the stored event)
	Event    Identity
	Service  string
	Artifact string
	At       time.Time
	Rollback bool
	Hotfix   bool
	Override *Override
}

// Override is an editor's verdict on a deployment; it wins over the rules.
// A deployment marked failed may name the production incidents it caused
// (on its service, started after it): they are attributed to it whatever
// the rules say, so that its recovery is their resolution.
type Override struct {
	Failed    bool
	Reason    string
	By        string
	At        time.Time
	Incidents []string
}

// ProdIncident is a production incident.
type ProdIncident struct {
	ID       string
	Service  string
	Artifact string
	Start    time.Time // earliest detected/reported
	Resolved time.Time // zero while open
}

// Open reports whether the incident is open at t: started at or before t
// and not resolved by then.
func (i ProdIncident) Open(t time.Time) bool {
	return !i.Start.After(t) && (i.Resolved.IsZero() || i.Resolved.After(t))
}

// FailureRule names the rule that made a deployment fail (DESIGN.md 4).
type FailureRule string

const (
	RuleRollback         FailureRule = "rollback"          // 1: rolled back before the next deployment
	RuleIncidentArtifact FailureRule = "incident_artifact" // 2: an incident names its artifact
	RuleIncidentWindow   FailureRule = "incident_window"   // 3: an incident on the service soon after it
	RuleOverride         FailureRule = "override"          // an editor said so (and tied the incident to it)
)

// Recovery names what ended a failure.
type Recovery string

const (
	RecoveredByResolution Recovery = "incident_resolved"
	RecoveredByRollback   Recovery = "rollback"
	RecoveredByDeployment Recovery = "next_deployment"
)

// ReworkReason names why a deployment is rework.
type ReworkReason string

const (
	ReworkRollback     ReworkReason = "rollback"
	ReworkHotfix       ReworkReason = "hotfix"
	ReworkOpenIncident ReworkReason = "open_incident"
)

// Verdict is everything DORA says about one deployment, with the evidence.
type Verdict struct {
	// Failed is the final verdict (an override wins).
	Failed bool
	// RuleFailed is what the rules alone say; Rules lists each rule that
	// matched, so that an override can be shown next to them.
	RuleFailed bool
	Rules      []FailureRule
	// RollbackBy is the rollback that replaced this deployment (rule 1).
	RollbackBy *ProdDeployment
	// AbortedBy is the abort of this deployment's rollout (rule 4).
	AbortedBy *ProdRolloutStep
	// FlagOff is the flag switch-off that recovered it, when it did.
	FlagOff *ProdFlagSwitch
	// Incidents attributed to this deployment (rules 2 and 3).
	Incidents []string
	Override  *Override

	RecoveredAt time.Time // zero: not (yet) recovered, or not failed
	RecoveredBy Recovery

	Rework       bool
	ReworkReason ReworkReason
	ReworkBy     string // the open incident, for ReworkOpenIncident

	// Changes first reaching production for this service with it.
	Changes []string
}

// RecoverySeconds is the failed deployment recovery time, if recovered.
func (v Verdict) RecoverySeconds(d ProdDeployment) (float64, bool) {
	if !v.Failed || v.RecoveredAt.IsZero() {
		return 0, false
	}
	return v.RecoveredAt.Sub(d.At).Seconds(), true
}

// Attribution links an incident to the deployment it made fail.
type Attribution struct {
	DeploymentPK int64
	Rule         FailureRule
}

// ServiceHistory is what EvaluateService needs about one service: its
// production deployments from some point on, the incidents that may relate to
// them, and what its artifacts contain.
type ServiceHistory struct {
	Deployments []ProdDeployment // any order; sorted by (At, PK) here
	Incidents   []ProdIncident   // production incidents naming the service
	// ArtifactChanges lists the changes packaged into each artifact.
	ArtifactChanges map[string][]string
	// AlreadyInProduction holds changes that reached production for this
	// service before the first deployment given.
	AlreadyInProduction map[string]bool
	// AttributionWindow bounds rule 3 (default 24h).
	AttributionWindow time.Duration
	// RolloutSteps are the service's production rollout steps: each rollout
	// is one deployment at its first step (see MergeRollouts).
	RolloutSteps []ProdRolloutStep
	// FlagSwitches are production flag changes naming the service.
	FlagSwitches []ProdFlagSwitch
}

// ServiceEvaluation is the outcome for one service.
type ServiceEvaluation struct {
	Deployments []ProdDeployment // sorted by (At, PK)
	Verdicts    []Verdict        // aligned with Deployments
	// Attributions of incidents to deployments; an incident absent here is
	// unattributed, and Unattributed says why.
	Attributions map[string]Attribution
	Unattributed map[string]string
}

// SortDeployments orders deployments by time, then by key, so that every
// evaluation sees the same sequence whatever the arrival order.
func SortDeployments(ds []ProdDeployment) {
	sort.SliceStable(ds, func(i, j int) bool {
		if !ds[i].At.Equal(ds[j].At) {
			return ds[i].At.Before(ds[j].At)
		}
		return ds[i].PK < ds[j].PK
	})
}

// EvaluateService applies the DORA rules to one service's deployments.
func EvaluateService(h ServiceHistory) ServiceEvaluation {
	window := h.AttributionWindow
	if window <= 0 {
		window = 24 * time.Hour
	}
	ds, rolloutOf := MergeRollouts(h.Deployments, GroupRollouts(h.RolloutSteps))
	SortDeployments(ds)
	n := len(ds)
	vs := make([]Verdict, n)
	ev := ServiceEvaluation{Deployments: ds, Verdicts: vs, Attributions: map[string]Attribution{}, Unattributed: map[string]string{}}

	// nextAny[i]: index of the next deployment of any kind; nextReal[i]: the
	// next non-rollback deployment; n when there is none.
	nextAny := make([]int, n)
	nextReal := make([]int, n)
	na, nr := n, n
	for i := n - 1; i >= 0; i-- {
		nextAny[i], nextReal[i] = na, nr
		na = i
		if !ds[i].Rollback {
			nr = i
		}
	}

	// Rule 1: a rollback after D and before the next non-rollback deployment.
	for i := range ds {
		if ds[i].Rollback {
			continue
		}
		for j := i + 1; j < nextReal[i]; j++ {
			if ds[j].Rollback {
				vs[i].Rules = append(vs[i].Rules, RuleRollback)
				vs[i].RollbackBy = &ds[j]
				break
			}
		}
	}

	// Rule 4: a rollout aborted before full promotion.
	for i := range ds {
		if r, ok := rolloutOf[ds[i].PK]; ok && r.Aborted() {
			vs[i].Rules = append(vs[i].Rules, RuleRolloutAborted)
			vs[i].AbortedBy = r.End
		}
	}

	// Rules 2 and 3: attribute each incident to at most one deployment.
	incidents := append([]ProdIncident(nil), h.Incidents...)
	sort.Slice(incidents, func(i, j int) bool {
		if !incidents[i].Start.Equal(incidents[j].Start) {
			return incidents[i].Start.Before(incidents[j].Start)
		}
		return incidents[i].ID < incidents[j].ID
	})
	claimed := claimedIncidents(ds)
	for _, inc := range incidents {
		if i, ok := claimed[inc.ID]; ok && !inc.Start.IsZero() && !inc.Start.Before(ds[i].At) {
			attribute(&ev, vs, i, ds[i].PK, inc.ID, RuleOverride)
			continue
		}
		if inc.Start.IsZero() {
			ev.Unattributed[inc.ID] = "it has no detected or reported event, so its start is unknown"
			continue
		}
		// latest: the last deployment at or before the incident's start.
		latest := sort.Search(n, func(k int) bool { return ds[k].At.After(inc.Start) }) - 1
		if inc.Artifact != "" {
			d := -1
			for k := latest; k >= 0; k-- {
				if ds[k].Artifact == inc.Artifact {
					d = k
					break
				}
			}
			switch {
			case d < 0:
				ev.Unattributed[inc.ID] = "no production deployment of artifact " + inc.Artifact + " on " + inc.Service + " before it started"
			case ds[d].Rollback:
				ev.Unattributed[inc.ID] = "artifact " + inc.Artifact + " was last deployed by a rollback, which is never a failed deployment"
			default:
				attribute(&ev, vs, d, ds[d].PK, inc.ID, RuleIncidentArtifact)
			}
			continue
		}
		switch {
		case latest < 0:
			ev.Unattributed[inc.ID] = "no production deployment of " + inc.Service + " before it started"
		case ds[latest].Rollback:
			ev.Unattributed[inc.ID] = "the last deployment before it was a rollback, which is never a failed deployment"
		case inc.Start.Sub(ds[latest].At) > window:
			ev.Unattributed[inc.ID] = "it started " + formatDuration(inc.Start.Sub(ds[latest].At)) +
				" after the last deployment, outside the " + formatDuration(window) + " attribution window"
		default:
			attribute(&ev, vs, latest, ds[latest].PK, inc.ID, RuleIncidentWindow)
		}
	}

	// Verdicts, with overrides.
	for i := range ds {
		vs[i].RuleFailed = !ds[i].Rollback && len(vs[i].Rules) > 0
		vs[i].Failed = vs[i].RuleFailed
		if o := ds[i].Override; o != nil && !ds[i].Rollback {
			vs[i].Override = o
			vs[i].Failed = o.Failed
		}
	}

	// Recovery: the earliest of the last resolution of its incidents (when
	// all are resolved), the rollback that replaced it, and the next
	// non-rollback deployment that did not fail.
	byID := map[string]ProdIncident{}
	for _, inc := range incidents {
		byID[inc.ID] = inc
	}
	for i := range ds {
		if !vs[i].Failed {
			continue
		}
		var best time.Time
		var by Recovery
		consider := func(t time.Time, r Recovery) {
			if !t.IsZero() && (best.IsZero() || t.Before(best)) {
				best, by = t, r
			}
		}
		if a := vs[i].AbortedBy; a != nil {
			consider(a.At, RecoveredByAbort)
		}
		var flagOff *ProdFlagSwitch
		for _, id := range vs[i].Incidents {
			if f, ok := flagOffRecovery(byID[id], h.FlagSwitches); ok && (flagOff == nil || f.At.Before(flagOff.At)) {
				flagOff = &f
			}
		}
		if flagOff != nil {
			consider(flagOff.At, RecoveredByFlagOff)
		}
		if len(vs[i].Incidents) > 0 {
			var last time.Time
			all := true
			for _, id := range vs[i].Incidents {
				inc := byID[id]
				if inc.Resolved.IsZero() {
					all = false
					break
				}
				if inc.Resolved.After(last) {
					last = inc.Resolved
				}
			}
			if all {
				consider(last, RecoveredByResolution)
			}
		}
		for j := i + 1; j < nextReal[i]; j++ {
			if ds[j].Rollback {
				consider(ds[j].At, RecoveredByRollback)
				break
			}
		}
		for j := nextReal[i]; j < n; j = nextReal[j] {
			if !vs[j].Failed {
				consider(ds[j].At, RecoveredByDeployment)
				break
			}
		}
		vs[i].RecoveredAt, vs[i].RecoveredBy = best, by
		if by == RecoveredByFlagOff {
			vs[i].FlagOff = flagOff
		}
	}

	// Rework: a rollback, a hotfix, or a deployment made while an incident on
	// the service was open that is resolved before the next deployment.
	for i := range ds {
		switch {
		case ds[i].Rollback:
			vs[i].Rework, vs[i].ReworkReason = true, ReworkRollback
		case ds[i].Hotfix:
			vs[i].Rework, vs[i].ReworkReason = true, ReworkHotfix
		default:
			for _, inc := range incidents {
				if !inc.Open(ds[i].At) || inc.Resolved.IsZero() {
					continue
				}
				if nextAny[i] == n || inc.Resolved.Before(ds[nextAny[i]].At) {
					vs[i].Rework, vs[i].ReworkReason, vs[i].ReworkBy = true, ReworkOpenIncident, inc.ID
					break
				}
			}
		}
	}

	// Changes: those in the artifact that had not reached production for
	// this service. A rollback deploys no new change.
	seen := map[string]bool{}
	for c := range h.AlreadyInProduction {
		seen[c] = true
	}
	for i := range ds {
		if ds[i].Rollback {
			continue
		}
		changes := append([]string(nil), h.ArtifactChanges[ds[i].Artifact]...)
		sort.Strings(changes)
		for _, c := range changes {
			if !seen[c] {
				seen[c] = true
				vs[i].Changes = append(vs[i].Changes, c)
			}
		}
	}
	return ev
}

// claimedIncidents maps each incident an editor tied to a deployment marked
// failed to that deployment's index.
func claimedIncidents(ds []ProdDeployment) map[string]int {
	out := map[string]int{}
	for i, d := range ds {
		if o := d.Override; o != nil && o.Failed && !d.Rollback {
			for _, id := range o.Incidents {
				out[id] = i
			}
		}
	}
	return out
}

func attribute(ev *ServiceEvaluation, vs []Verdict, i int, pk int64, incident string, rule FailureRule) {
	ev.Attributions[incident] = Attribution{DeploymentPK: pk, Rule: rule}
	vs[i].Incidents = append(vs[i].Incidents, incident)
	if rule == RuleOverride {
		return // the override, not a rule, makes it fail
	}
	for _, r := range vs[i].Rules {
		if r == rule {
			return
		}
	}
	vs[i].Rules = append(vs[i].Rules, rule)
}

// ChangeTimes are the known times of a change.
type ChangeTimes struct {
	Start  time.Time // earliest change.* event
	Merged time.Time // zero if no change.merged
}

// LeadTime measures one change carried by a deployment at deployedAt.
type LeadTime struct {
	Change           string
	Seconds          float64
	StartToMerged    *float64
	MergedToDeployed *float64
}

// MeasureLead returns the lead time of a change deployed at deployedAt, or
// false when its start is unknown (no change.* event was seen).
func MeasureLead(change string, t ChangeTimes, deployedAt time.Time) (LeadTime, bool) {
	if t.Start.IsZero() {
		return LeadTime{}, false
	}
	l := LeadTime{Change: change, Seconds: deployedAt.Sub(t.Start).Seconds()}
	if !t.Merged.IsZero() {
		a, b := t.Merged.Sub(t.Start).Seconds(), deployedAt.Sub(t.Merged).Seconds()
		l.StartToMerged, l.MergedToDeployed = &a, &b
	}
	return l, true
}

// Tier is a DORA performance level.
type Tier string

const (
	TierElite  Tier = "elite"
	TierHigh   Tier = "high"
	TierMedium Tier = "medium"
	TierLow    Tier = "low"
)

const day = 24 * 3600.0

// DeploymentFrequencyTier rates deployments per day; nil without
// deployments or without a covered day to divide by.
func DeploymentFrequencyTier(deployments int, perDay *float64) *Tier {
	if deployments == 0 || perDay == nil {
		return nil
	}
	d := *perDay
	return tierOf(d >= 1, d >= 1.0/7, d >= 1.0/30)
}

// LeadTimeTier rates the median lead time in seconds.
func LeadTimeTier(median *float64) *Tier {
	if median == nil {
		return nil
	}
	return tierOf(*median < day, *median < 7*day, *median < 30*day)
}

// ChangeFailureRateTier rates the change failure rate.
func ChangeFailureRateTier(rate *float64) *Tier {
	if rate == nil {
		return nil
	}
	return tierOf(*rate <= 0.05, *rate <= 0.10, *rate <= 0.15)
}

// RecoveryTimeTier rates the median failed deployment recovery time.
func RecoveryTimeTier(median *float64) *Tier {
	if median == nil {
		return nil
	}
	return tierOf(*median < 3600, *median < day, *median < 7*day)
}

func tierOf(elite, high, medium bool) *Tier {
	t := TierLow
	switch {
	case elite:
		t = TierElite
	case high:
		t = TierHigh
	case medium:
		t = TierMedium
	}
	return &t
}

// Window is an inclusive range of whole UTC days.
type Window struct {
	From, To time.Time // midnights UTC; To is the last day included
	// BucketStart is the start of the week or month a trend bucket stands
	// for (its From may be later when the range starts mid-bucket).
	BucketStart time.Time
}

// NewWindow validates a window of whole days.
func NewWindow(from, to time.Time) (Window, error) {
	from, to = Midnight(from), Midnight(to)
	if to.Before(from) {
		return Window{}, Errorf(EINVALID, "The window ends (%s) before it starts (%s).", to.Format(DateLayout), from.Format(DateLayout))
	}
	return Window{From: from, To: to}, nil
}

// DateLayout is how days are written in URLs and JSON.
const DateLayout = "2006-01-02"

// Midnight returns the start of t's UTC day.
func Midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Days is the number of days in the window.
func (w Window) Days() int { return int(w.To.Sub(w.From).Hours()/24) + 1 }

// End is the first instant after the window.
func (w Window) End() time.Time { return w.To.AddDate(0, 0, 1) }

// Contains reports whether t falls on a day of the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.End()) }

// DORAFacts are the measurements a report is computed from.
type DORAFacts struct {
	Deployments      int // all production deployments, rollbacks included
	NonRollback      int
	Failed           int // failed non-rollback deployments
	Rework           int
	LeadTimes        []float64
	StartToMerged    []float64
	MergedToDeployed []float64
	RecoveryTimes    []float64 // recovered failed deployments
	RestoreTimes     []float64 // production incidents resolved
}

// Add merges other into f.
func (f *DORAFacts) Add(o DORAFacts) {
	f.Deployments += o.Deployments
	f.NonRollback += o.NonRollback
	f.Failed += o.Failed
	f.Rework += o.Rework
	f.LeadTimes = append(f.LeadTimes, o.LeadTimes...)
	f.StartToMerged = append(f.StartToMerged, o.StartToMerged...)
	f.MergedToDeployed = append(f.MergedToDeployed, o.MergedToDeployed...)
	f.RecoveryTimes = append(f.RecoveryTimes, o.RecoveryTimes...)
	f.RestoreTimes = append(f.RestoreTimes, o.RestoreTimes...)
}

// DORAReport is the five metrics over a window (DESIGN.md section 5).
type DORAReport struct {
	Window Window
	// CoveredDays are the window's days Throughline has data for (see
	// Coverage); rates per day divide by them.
	CoveredDays int

	Deployments int
	PerDay      *float64 // nil without a covered day
	FreqTier    *Tier

	LeadChanges          int
	LeadMedian, LeadP90  *float64
	StartToMergedMedian  *float64
	MergedToDeployMedian *float64
	LeadTier             *Tier

	Failed, NonRollback int
	FailureRate         *float64
	FailureTier         *Tier

	Recovered      int
	RecoveryMedian *float64
	RecoveryTier   *Tier

	Incidents     int
	RestoreMedian *float64

	Rework     int
	ReworkRate *float64
}

// Report computes the DORA report for a window from its facts, with the
// coverage that decides its rates per day. The facts' slices are reordered.
func Report(w Window, cov Coverage, f DORAFacts) DORAReport {
	return report(w, cov, f, selectable(f.LeadTimes), selectable(f.StartToMerged), selectable(f.MergedToDeployed), selectable(f.RecoveryTimes), selectable(f.RestoreTimes))
}

// ReportParts computes the DORA report of a window from the facts of the
// parts it is made of (its weeks, say), each with its slices sorted. The
// parts are not changed, so they can be shared; the medians are exact.
func ReportParts(w Window, cov Coverage, parts []DORAFacts) DORAReport {
	var sum DORAFacts
	var lead, s2m, m2d, rec, rest Runs
	for _, p := range parts {
		sum.Deployments += p.Deployments
		sum.NonRollback += p.NonRollback
		sum.Failed += p.Failed
		sum.Rework += p.Rework
		lead, s2m, m2d = append(lead, p.LeadTimes), append(s2m, p.StartToMerged), append(m2d, p.MergedToDeployed)
		rec, rest = append(rec, p.RecoveryTimes), append(rest, p.RestoreTimes)
	}
	return report(w, cov, sum, lead, s2m, m2d, rec, rest)
}

// SortFacts sorts a part's slices for ReportParts.
func SortFacts(f *DORAFacts) {
	for _, xs := range [][]float64{f.LeadTimes, f.StartToMerged, f.MergedToDeployed, f.RecoveryTimes, f.RestoreTimes} {
		sort.Float64s(xs)
	}
}

// orderStats are the statistics a report takes of a set of durations.
type orderStats interface {
	Len() int
	Median() *float64
	P90() *float64
}

// selectable is a slice whose statistics reorder it (linear-time selection).
type selectable []float64

func (v selectable) Len() int         { return len(v) }
func (v selectable) Median() *float64 { return Median(v) }
func (v selectable) P90() *float64    { return P90(v) }

func report(w Window, cov Coverage, f DORAFacts, lead, s2m, m2d, rec, rest orderStats) DORAReport {
	r := DORAReport{Window: w, CoveredDays: cov.Days(w), Deployments: f.Deployments}
	if r.CoveredDays > 0 {
		d := float64(f.Deployments) / float64(r.CoveredDays)
		r.PerDay = &d
	}
	r.FreqTier = DeploymentFrequencyTier(f.Deployments, r.PerDay)

	r.LeadChanges = lead.Len()
	r.LeadMedian = lead.Median()
	r.LeadP90 = lead.P90()
	r.StartToMergedMedian = s2m.Median()
	r.MergedToDeployMedian = m2d.Median()
	r.LeadTier = LeadTimeTier(r.LeadMedian)

	r.Failed, r.NonRollback = f.Failed, f.NonRollback
	if f.NonRollback > 0 {
		rate := float64(f.Failed) / float64(f.NonRollback)
		r.FailureRate = &rate
	}
	r.FailureTier = ChangeFailureRateTier(r.FailureRate)

	r.Recovered = rec.Len()
	r.RecoveryMedian = rec.Median()
	r.RecoveryTier = RecoveryTimeTier(r.RecoveryMedian)

	r.Incidents = rest.Len()
	r.RestoreMedian = rest.Median()

	r.Rework = f.Rework
	if f.Deployments > 0 {
		rate := float64(f.Rework) / float64(f.Deployments)
		r.ReworkRate = &rate
	}
	return r
}

// formatDuration writes a duration the way people say it: 26h, 3d, 45m.
func formatDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d >= time.Hour:
		h := d.Hours()
		if h == float64(int(h)) {
			return strconv.Itoa(int(h)) + "h"
		}
		return strconv.Itoa(int(h)) + "h" + strconv.Itoa(int(d.Minutes())%60) + "m"
	default:
		return strconv.Itoa(int(d.Minutes())) + "m"
	}
}

// DeploymentFacts are the measurements one deployment contributes to the day
// it happened on: itself, its failure and recovery, its rework, and the lead
// times of the changes it carried (given by the caller, who decides in
// which scope a change counts).
func DeploymentFacts(d ProdDeployment, v Verdict, leads []LeadTime) DORAFacts {
	f := DORAFacts{Deployments: 1}
	if !d.Rollback {
		f.NonRollback = 1
		if v.Failed {
			f.Failed = 1
			if s, ok := v.RecoverySeconds(d); ok {
				f.RecoveryTimes = []float64{s}
			}
		}
	}
	if v.Rework {
		f.Rework = 1
	}
	for _, l := range leads {
		f.LeadTimes = append(f.LeadTimes, l.Seconds)
		if l.StartToMerged != nil {
			f.StartToMerged = append(f.StartToMerged, *l.StartToMerged)
			f.MergedToDeployed = append(f.MergedToDeployed, *l.MergedToDeployed)
		}
	}
	return f
}

// RestoreSeconds is the time to restore service for a resolved incident.
func (i ProdIncident) RestoreSeconds() (float64, bool) {
	if i.Start.IsZero() || i.Resolved.IsZero() {
		return 0, false
	}
	return i.Resolved.Sub(i.Start).Seconds(), true
}

// DeploymentRecord is a production deployment with its verdict, for
// drill-downs and the API.
type DeploymentRecord struct {
	Deployment ProdDeployment
	Verdict    Verdict
	Team       string
	// RollbackEvent identifies the rollback that replaced it (rule 1).
	RollbackEvent *Identity
	// AbortEvent identifies the abort of its rollout (rule 4).
	AbortEvent *Identity
	// FlagOffEvent identifies the flag switch-off that recovered it.
	FlagOffEvent *Identity
}

// FailureReason says in words why the deployment counts as failed, or ""
// when it does not.
func (r DeploymentRecord) FailureReason() string {
	v := r.Verdict
	if !v.Failed {
		return ""
	}
	if v.Override != nil && !v.RuleFailed {
		s := "marked failed by " + v.Override.By + ": " + v.Override.Reason
		if len(v.Incidents) > 0 {
			s += " (caused " + joinIDs(v.Incidents) + ")"
		}
		return s
	}
	var parts []string
	for _, rule := range v.Rules {
		switch rule {
		case RuleRollback:
			s := "rolled back before the next deployment"
			if r.RollbackEvent != nil {
				s += " (rollback event " + r.RollbackEvent.ID + ")"
			}
			parts = append(parts, s)
		case RuleIncidentArtifact:
			parts = append(parts, "a production incident names the artifact it deployed ("+joinIDs(v.Incidents)+")")
		case RuleIncidentWindow:
			parts = append(parts, "a production incident on "+r.Deployment.Service+" started after it, before the next deployment and within the attribution window ("+joinIDs(v.Incidents)+")")
		case RuleRolloutAborted:
			s := "rollout_aborted: its rollout was aborted before full promotion"
			if r.AbortEvent != nil {
				s += " (abort event " + r.AbortEvent.ID + ")"
			}
			parts = append(parts, s)
		}
	}
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += "; "
		}
		s += p
	}
	if v.Override != nil {
		s += " — confirmed by " + v.Override.By + ": " + v.Override.Reason
	}
	return s
}

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += id
	}
	return s
}

// IncidentRecord is a production incident with its attribution.
type IncidentRecord struct {
	Incident    ProdIncident
	Environment string
	// Deployment it made fail, when attributed.
	DeploymentPK    int64
	DeploymentEvent Identity
	Rule            FailureRule
	// Unattributed says why no deployment matched.
	Unattributed string
}

// Attributed reports whether the incident counts against a deployment.
func (r IncidentRecord) Attributed() bool { return r.DeploymentPK != 0 }

// DORAFilter narrows DORA to one service, one team, or the services of a
// value stream (Services: their rollups added up).
type DORAFilter struct {
	Service  string
	Team     string
	Services []string
}

// Bucket splits a window for trends.
type Bucket string

const (
	BucketWeek  Bucket = "week"
	BucketMonth Bucket = "month"
)

// Buckets splits w into weeks (starting Monday) or months, clipped to w.
func (w Window) Buckets(b Bucket) []Window {
	var out []Window
	start := w.From
	switch b {
	case BucketWeek:
		wd := (int(start.Weekday()) + 6) % 7 // days since Monday
		start = start.AddDate(0, 0, -wd)
	case BucketMonth:
		start = time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	for !start.After(w.To) {
		var next time.Time
		if b == BucketWeek {
			next = start.AddDate(0, 0, 7)
		} else {
			next = start.AddDate(0, 1, 0)
		}
		from, to := start, next.AddDate(0, 0, -1)
		if from.Before(w.From) {
			from = w.From
		}
		if to.After(w.To) {
			to = w.To
		}
		out = append(out, Window{From: from, To: to, BucketStart: start})
		start = next
	}
	return out
}

// Service is a deployable service and the team that owns it. The team comes
// from the latest event naming one (customData.team) unless a person set it.
type Service struct {
	Name       string
	Team       string
	TeamByUser bool
}
