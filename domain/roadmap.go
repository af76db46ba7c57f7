package domain

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Horizon places an idea on the outcome roadmap.
type Horizon string

const (
	HorizonNow   Horizon = "now"
	HorizonNext  Horizon = "next"
	HorizonLater Horizon = "later"
)

// Horizons in roadmap order.
var Horizons = []Horizon{HorizonNow, HorizonNext, HorizonLater}

// Valid reports whether h is a known horizon.
func (h Horizon) Valid() bool { return h == HorizonNow || h == HorizonNext || h == HorizonLater }

// Label is the horizon as shown.
func (h Horizon) Label() string {
	switch h {
	case HorizonNow:
		return "Now"
	case HorizonNext:
		return "Next"
	case HorizonLater:
		return "Later"
	}
	return string(h)
}

// FlowType is the Flow Framework item type.
type FlowType string

const (
	FlowFeature FlowType = "feature"
	FlowDefect  FlowType = "defect"
	FlowRisk    FlowType = "risk"
	FlowDebt    FlowType = "debt"
)

// FlowTypes lists the types in the Flow Framework's order.
var FlowTypes = []FlowType{FlowFeature, FlowDefect, FlowRisk, FlowDebt}

// Valid reports whether t is a known flow type.
func (t FlowType) Valid() bool {
	return t == FlowFeature || t == FlowDefect || t == FlowRisk || t == FlowDebt
}

// IdeaVerdict is a product manager's conclusion about an idea's outcome.
type IdeaVerdict string

const (
	VerdictValidated    IdeaVerdict = "validated"
	VerdictInvalidated  IdeaVerdict = "invalidated"
	VerdictInconclusive IdeaVerdict = "inconclusive"
)

// Valid reports whether v is a known verdict.
func (v IdeaVerdict) Valid() bool {
	return v == VerdictValidated || v == VerdictInvalidated || v == VerdictInconclusive
}

// Objective groups key results under a qualitative goal.
type Objective struct {
	ID          int64
	Title       string
	Description string
	CreatedAt   time.Time
	ArchivedAt  time.Time // zero while it is on the pages
}

// Direction says which way a key result should move.
type Direction string

const (
	Increase Direction = "increase"
	Decrease Direction = "decrease"
)

// KeyResult is a measurable outcome read from telemetry.
type KeyResult struct {
	ID          int64
	ObjectiveID int64
	Title       string
	Metric      string
	Attributes  map[string]string // filter: series whose attributes include these
	Baseline    float64
	Target      float64
	Direction   Direction
	Due         time.Time
	Unit        Unit
	RetiredAt   time.Time // zero while pursued
	ArchivedAt  time.Time // zero while on the pages
}

// Progress is (current − baseline)/(target − baseline), not clamped
// (DESIGN.md 4): below 0 when the metric moved the wrong way, above 1 past
// the target. Nil without a current value or when target equals baseline.
func (k KeyResult) Progress(current *float64) *float64 {
	if current == nil || k.Target == k.Baseline {
		return nil
	}
	p := (*current - k.Baseline) / (k.Target - k.Baseline)
	return &p
}

// Validate checks a key result as a person entered it.
func (k KeyResult) Validate() map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(k.Title) == "" {
		errs["title"] = "Say what the key result is."
	}
	if strings.TrimSpace(k.Metric) == "" {
		errs["metric"] = "Name the telemetry metric it is measured by."
	} else if err := CheckName("metric", k.Metric); err != nil {
		errs["metric"] = ErrorMessage(err)
	}
	if err := checkNameAttributes(k.Attributes); err != nil {
		errs["attributes"] = ErrorMessage(err)
	}
	if !k.Unit.Valid() {
		errs["unit"] = UnitMessage
	}
	if k.Direction != Increase && k.Direction != Decrease {
		errs["direction"] = "Choose increase or decrease."
	}
	if math.IsNaN(k.Baseline) || math.IsInf(k.Baseline, 0) {
		errs["baseline"] = "The baseline must be a number."
	}
	if math.IsNaN(k.Target) || math.IsInf(k.Target, 0) {
		errs["target"] = "The target must be a number."
	}
	if _, ok := errs["target"]; !ok && k.Target == k.Baseline {
		errs["target"] = "The target must differ from the baseline."
	} else if k.Direction == Increase && k.Target < k.Baseline {
		errs["target"] = "To increase, the target must be above the baseline."
	} else if k.Direction == Decrease && k.Target > k.Baseline {
		errs["target"] = "To decrease, the target must be below the baseline."
	}
	return errs
}

// ideaKeyFormat is what an idea key must look like: the pattern that links
// delivery events to it (DESIGN.md: --idea-key-pattern's default).
var ideaKeyFormat = regexp.MustCompile(`^[A-Z][A-Z0-9]+-\d+$`)

// NormalizeIdeaKey validates a key such as CHK-12.
func NormalizeIdeaKey(s string) (string, error) {
	k := strings.ToUpper(strings.TrimSpace(s))
	if !ideaKeyFormat.MatchString(k) {
		return "", Errorf(EINVALID, "An idea key looks like CHK-12: capital letters or digits, a dash, a number.")
	}
	return k, nil
}

// Idea is an item on the outcome roadmap.
type Idea struct {
	Key         string
	Title       string
	Problem     string
	Hypothesis  string
	Horizon     Horizon
	FlowType    FlowType
	Team        string
	KeyResults  []int64
	Services    []string // services it touches (for SLO constraints)
	Reach       float64
	Impact      float64
	Confidence  float64 // 0–1
	Effort      float64 // person-months
	Archived    bool
	Verdict     IdeaVerdict
	VerdictBy   string
	VerdictAt   time.Time
	VerdictNote string
	// PlannedAt is when it was created in or moved to Now (the Plan stage).
	PlannedAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	Position  int // order within its horizon
}

// RICE is reach × impact × confidence / effort; nil until all are given.
func (i Idea) RICE() *float64 {
	if i.Reach <= 0 || i.Impact <= 0 || i.Confidence <= 0 || i.Effort <= 0 {
		return nil
	}
	s := i.Reach * i.Impact * i.Confidence / i.Effort
	return &s
}

// Validate checks an idea as a person entered it and returns a message per
// field.
func (i Idea) Validate() map[string]string {
	errs := map[string]string{}
	if _, err := NormalizeIdeaKey(i.Key); err != nil {
		errs["key"] = ErrorMessage(err)
	}
	if strings.TrimSpace(i.Title) == "" {
		errs["title"] = "Give the idea a title."
	} else if len(i.Title) > 200 {
		errs["title"] = "Keep the title under 200 characters."
	}
	if !i.Horizon.Valid() {
		errs["horizon"] = "Choose Now, Next or Later."
	}
	if !i.FlowType.Valid() {
		errs["flow_type"] = "Choose feature, defect, risk or debt."
	}
	for name, v := range map[string]float64{"reach": i.Reach, "impact": i.Impact, "effort": i.Effort} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			errs[name] = "Use a positive number, or leave it empty."
		}
	}
	if i.Confidence < 0 || i.Confidence > 1 || math.IsNaN(i.Confidence) {
		errs["confidence"] = "Confidence is a share from 0 to 1 (0.8 for 80 %)."
	}
	return errs
}

// ParseOptionalNumber reads a form number; empty means 0.
func ParseOptionalNumber(s string) (float64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" {
		return 0, nil
	}
	return strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
}

// IdeaLinks are the delivery records linked to an idea: directly (the idea
// key in customData.ideas, a change id, a title or a branch) or through the
// artifacts that package its changes.
type IdeaLinks struct {
	Changes     []LinkedChange
	Runs        []LinkedRun
	Artifacts   []LinkedArtifact
	Deployments []LinkedDeployment
	Incidents   []LinkedIncident
}

// LinkedChange is a change that works on an idea.
type LinkedChange struct {
	ID           string
	Repository   string
	Start        time.Time
	Merged       time.Time
	InProduction time.Time // its first production deployment, if any
}

// LinkedRun is a build, pipeline run or test run.
type LinkedRun struct {
	Kind        EventKind
	SubjectID   string
	Artifact    string
	Environment string
	Outcome     Outcome
	At          time.Time
}

// LinkedArtifact packages some of an idea's changes.
type LinkedArtifact struct {
	ID        string
	Packaged  time.Time
	Published time.Time
}

// LinkedDeployment deploys one of those artifacts, or rolled one back.
type LinkedDeployment struct {
	Event       Identity
	Service     string
	Environment string
	Artifact    string
	At          time.Time
	Production  bool
	Rollback    bool
	Failed      bool
	// Carries: its artifact carries the idea's work. The rollbacks that
	// replaced such a deployment, and the deployment that took the idea out
	// of production, are listed too and do not.
	Carries bool
	// RolledBackBy is the rollback that replaced it (DORA rule 1).
	RolledBackBy *Identity
	// TookOut: it took the last of the idea's changes out of production
	// (the idea's FlowItem.RolledBack).
	TookOut bool
}

// LinkedIncident is a production incident attributed to one of an idea's
// deployments, or naming one of its artifacts, with its attribution.
type LinkedIncident struct {
	IncidentRecord
	// The deployment it was attributed to, when it was.
	DeploymentService string
	DeploymentAt      time.Time
}

// MetricPoint is one bucket of a telemetry series.
type MetricPoint struct {
	Start    time.Time
	Count    int64
	Sum      float64
	Min, Max float64
}

// Mean is the bucket's average.
func (p MetricPoint) Mean() float64 { return p.Sum / float64(p.Count) }

// IdeaFilter narrows the roadmap.
type IdeaFilter struct {
	Team            string
	ObjectiveID     int64
	IncludeArchived bool
}
