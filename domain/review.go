package domain

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Blameless post-incident reviews (learning-loop issue, part 2). A review
// asks about the system — what made the failure possible, what helped, what
// was learned — and has no field that names a person: who edited it is in
// the audit log, not on the page.

// ReviewStatus is how far a review has come.
type ReviewStatus string

const (
	ReviewNotStarted ReviewStatus = "not_started" // nothing written yet
	ReviewDraft      ReviewStatus = "draft"       // being written
	ReviewPublished  ReviewStatus = "published"   // written and shared
)

// ReviewStatuses are the statuses an editor may set.
var ReviewStatuses = []ReviewStatus{ReviewDraft, ReviewPublished}

// Label is the status in words.
func (s ReviewStatus) Label() string {
	switch s {
	case ReviewDraft:
		return "draft"
	case ReviewPublished:
		return "published"
	}
	return "not started"
}

// Review is what the team writes about a production incident.
type Review struct {
	IncidentID string
	Status     ReviewStatus
	// Summary: what happened, told as the system's story.
	Summary string
	// Impact on users and the business.
	Impact string
	// ContributingFactors: conditions of the system that made the incident
	// possible or worse, one per line (never "who").
	ContributingFactors string
	WentWell            string
	Learned             string
	CreatedAt           time.Time
	UpdatedAt           time.Time
	PublishedAt         time.Time // first published; zero until then
}

// ReviewPrompt is a question the form asks for one field.
type ReviewPrompt struct {
	Field    string
	Label    string
	Question string
}

// ReviewPrompts ask about the system, not the people: the questions of a
// blameless review (after Allspaw, "Blameless PostMortems and a Just
// Culture", and the Google SRE book, chapter 15).
var ReviewPrompts = []ReviewPrompt{
	{"summary", "What happened", "Tell the incident as the system's story: what changed, what users saw, how it ended."},
	{"impact", "Impact", "Who or what was affected, for how long, and how badly?"},
	{"contributing_factors", "Contributing factors", "Which conditions made this possible or worse? Think of gaps in tests, alerts, tooling, documentation, dependencies, deployment safety, load. One per line."},
	{"went_well", "What went well", "What helped detect, understand or recover quickly?"},
	{"learned", "What we learned", "What do we understand now about the system that we did not before? Where were we lucky?"},
}

// maxReviewText bounds each free-text field.
const maxReviewText = 20000

// Factors splits the contributing factors into their lines.
func (r Review) Factors() []string {
	var out []string
	for _, l := range strings.Split(r.ContributingFactors, "\n") {
		if l = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), "-•*")); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Validate checks a review as a person wrote it and returns a message per
// field. A published review says what happened and at least one
// contributing factor.
func (r Review) Validate() map[string]string {
	errs := map[string]string{}
	if !slices.Contains(ReviewStatuses, r.Status) {
		errs["status"] = "Choose draft or published."
	}
	fields := map[string]string{"summary": r.Summary, "impact": r.Impact, "contributing_factors": r.ContributingFactors,
		"went_well": r.WentWell, "learned": r.Learned}
	for k, v := range fields {
		if len(v) > maxReviewText {
			errs[k] = "Keep it under 20,000 characters."
		}
	}
	if r.Status == ReviewPublished {
		if strings.TrimSpace(r.Summary) == "" && errs["summary"] == "" {
			errs["summary"] = "A published review says what happened."
		}
		if len(r.Factors()) == 0 && errs["contributing_factors"] == "" {
			errs["contributing_factors"] = "A published review names at least one contributing factor."
		}
	}
	return errs
}

// ActionItem is a follow-up a review asks for. It may become an idea on the
// roadmap, which then links back to the incident.
type ActionItem struct {
	ID         int64
	IncidentID string
	Title      string
	IdeaKey    string // "" until it became an idea
	Done       bool
	CreatedAt  time.Time
	DoneAt     time.Time
}

// ValidateActionTitle checks an action item's title.
func ValidateActionTitle(title string) error {
	title = strings.TrimSpace(title)
	switch {
	case title == "":
		return Errorf(EINVALID, "Say what should be done.")
	case len(title) > 500:
		return Errorf(EINVALID, "Keep an action item under 500 characters; details belong in the idea it becomes.")
	}
	return nil
}

// OpenActions counts the action items not done.
func OpenActions(items []ActionItem) int {
	n := 0
	for _, a := range items {
		if !a.Done {
			n++
		}
	}
	return n
}

// ReviewFacts are what Throughline knows about an incident, from the same
// records and functions as the DORA figures.
type ReviewFacts struct {
	Incident IncidentRecord
	// RestoreSeconds is ProdIncident.RestoreSeconds, the figure whose
	// median is DORA's time to restore; nil while open.
	RestoreSeconds *float64
	// Deployments the incident made fail, with DeploymentRecord's reason.
	Deployments []DeploymentRecord
	// SinceDeploySeconds: from the attributed deployment to the incident's
	// start (how long the failure went unnoticed); nil without one.
	SinceDeploySeconds *float64
}

// NewReviewFacts picks, from the deployments around an incident, those it
// made fail: the one its attribution names, and any an editor tied it to.
func NewReviewFacts(rec IncidentRecord, around []DeploymentRecord) ReviewFacts {
	f := ReviewFacts{Incident: rec}
	if s, ok := rec.Incident.RestoreSeconds(); ok {
		f.RestoreSeconds = &s
	}
	for _, d := range around {
		if d.Deployment.PK == rec.DeploymentPK && rec.Attributed() || slices.Contains(d.Verdict.Incidents, rec.Incident.ID) {
			f.Deployments = append(f.Deployments, d)
		}
	}
	sort.Slice(f.Deployments, func(i, j int) bool { return f.Deployments[i].Deployment.At.Before(f.Deployments[j].Deployment.At) })
	if len(f.Deployments) > 0 && !rec.Incident.Start.IsZero() {
		s := rec.Incident.Start.Sub(f.Deployments[len(f.Deployments)-1].Deployment.At).Seconds()
		f.SinceDeploySeconds = &s
	}
	return f
}

// ReviewSummary is one line of the list of reviews.
type ReviewSummary struct {
	Incident    IncidentRecord
	Status      ReviewStatus
	Actions     int
	OpenActions int
}
