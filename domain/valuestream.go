package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Trigger is something that can happen to a work item and move it into a
// stage of a value stream: a stage's rule is a set of triggers, and the item
// enters the stage at the earliest of them (DESIGN.md 4, default stage rules).
type Trigger uint8

// The triggers, in the order they usually happen.
const (
	TrigIdeaCreated Trigger = iota
	TrigIdeaPlanned
	TrigChange
	TrigChangeCreated
	TrigChangeReviewed
	TrigChangeMerged
	TrigBuild
	TrigTest
	TrigArtifactPackaged
	TrigArtifactPublished
	TrigDeployNonProd
	TrigDeployProd
	TrigOperate
	TrigKeyResult
	NumTriggers
)

var triggerInfo = [NumTriggers]struct{ name, about string }{
	{"idea.created", "the idea is created"},
	{"idea.planned", "the idea is created in or moved to Now"},
	{"change", "the first linked change event of any kind (change.*)"},
	{"change.created", "the first linked change is opened"},
	{"change.reviewed", "the first linked change is reviewed"},
	{"change.merged", "the first linked change is merged"},
	{"build", "the first build or pipeline run linked directly or through an artifact (build.*, pipelinerun.*)"},
	{"test", "the first linked test run (testsuiterun.*, testcaserun.*)"},
	{"artifact.packaged", "an artifact carrying a linked change is packaged"},
	{"artifact.published", "an artifact carrying a linked change is published"},
	{"deploy.nonproduction", "an artifact carrying a linked change is deployed outside production"},
	{"deploy.production", "the first production deployment carrying a linked change"},
	{"operate", "24 hours after that deployment, once no incident attributed to it is open"},
	{"keyresult", "in operation and linked to a key result: its evidence window is open"},
}

// String is the trigger's name in rules.
func (t Trigger) String() string {
	if t < NumTriggers {
		return triggerInfo[t].name
	}
	return "trigger(" + strconv.Itoa(int(t)) + ")"
}

// About explains the trigger.
func (t Trigger) About() string {
	if t < NumTriggers {
		return triggerInfo[t].about
	}
	return ""
}

// MarshalText writes the trigger's name.
func (t Trigger) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a trigger's name.
func (t *Trigger) UnmarshalText(b []byte) error {
	v, err := ParseTrigger(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// AllTriggers lists every trigger in order.
func AllTriggers() []Trigger {
	out := make([]Trigger, NumTriggers)
	for i := range out {
		out[i] = Trigger(i)
	}
	return out
}

// ParseTrigger reads a trigger by name.
func ParseTrigger(s string) (Trigger, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, info := range triggerInfo {
		if info.name == s {
			return Trigger(i), nil
		}
	}
	return 0, Errorf(EINVALID, "%q is not a trigger; use one of %s.", s, strings.Join(triggerNames(), ", "))
}

func triggerNames() []string {
	out := make([]string, NumTriggers)
	for i, info := range triggerInfo {
		out[i] = info.name
	}
	return out
}

// ParseRule reads a stage rule: trigger names separated by commas, spaces or
// the word "or".
func ParseRule(text string) ([]Trigger, error) {
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '|' })
	var out []Trigger
	for _, f := range fields {
		if strings.EqualFold(f, "or") {
			continue
		}
		t, err := ParseTrigger(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "Name at least one trigger, such as change.merged.")
	}
	return out, nil
}

// RuleText writes a rule the way ParseRule reads it.
func RuleText(rule []Trigger) string {
	parts := make([]string, len(rule))
	for i, t := range rule {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}

// Signals are the earliest time each trigger happened to an item, in Unix
// microseconds, 0 when it has not happened (yet).
type Signals [NumTriggers]int64

// Note keeps the earlier of the recorded time and t (zero t is ignored).
func (s *Signals) Note(t Trigger, at time.Time) {
	if at.IsZero() {
		return
	}
	us := at.UnixMicro()
	if s[t] == 0 || us < s[t] {
		s[t] = us
	}
}

// At is when the trigger happened, or the zero time.
func (s *Signals) At(t Trigger) time.Time {
	if s[t] == 0 {
		return time.Time{}
	}
	return time.UnixMicro(s[t]).UTC()
}

// OperateAt is when an idea whose first production deployment was at
// firstProd enters Operate: a day later, once no incident attributed to the
// idea's deployments is open then. Zero while such an incident is unresolved.
func OperateAt(firstProd time.Time, incidents []ProdIncident) time.Time {
	if firstProd.IsZero() {
		return time.Time{}
	}
	at := firstProd.Add(OperateAfter)
	for changed := true; changed; {
		changed = false
		for _, inc := range incidents {
			if inc.Open(at) {
				if inc.Resolved.IsZero() {
					return time.Time{}
				}
				at, changed = inc.Resolved, true
			}
		}
	}
	return at
}

// FlowItem is a roadmap idea as the flow metrics see it: what it is, where
// it belongs and when each trigger happened to it.
type FlowItem struct {
	Key          string
	Title        string
	Type         FlowType
	Horizon      Horizon
	Team         string
	Services     []string // the idea's own, and those its changes were deployed to
	Archived     bool
	HasKeyResult bool
	Verdict      int64 // Unix µs of the recorded verdict, 0 without one
	Signals      Signals
	// RolledBack is set while none of its changes is in production any
	// more (see PresenceOn): when and by which deployment they left.
	RolledBack *Removal
}

// ShippedBy reports whether a production deployment had carried the item's
// changes by moment asOf (Unix µs), rolled back since or not.
func (it *FlowItem) ShippedBy(asOf int64) bool {
	s := it.Signals[TrigDeployProd]
	return s != 0 && s <= asOf
}

// RolledBackAt reports whether the item was rolled back at moment asOf
// (Unix µs). Only the latest state is known: a rollback later undone by a
// deployment that carries the changes again leaves no trace.
func (it *FlowItem) RolledBackAt(asOf int64) bool {
	return it.RolledBack != nil && it.RolledBack.At.UnixMicro() <= asOf
}

// StageKind says whether time in a stage is work on the item (active) or
// the item waiting (wait).
type StageKind string

const (
	StageActive StageKind = "active"
	StageWait   StageKind = "wait"
)

// StageDef is one stage of a value stream.
type StageDef struct {
	Name     string    `json:"name"`
	Kind     StageKind `json:"kind"`
	WIPLimit int       `json:"wip_limit,omitempty"` // 0: no limit
	Rule     []Trigger `json:"rule"`
	// FixedTime marks a stage that waits by design (Operate's 24 h soak,
	// Monitor's evidence window): never the constraint, and the fixed delay
	// of its timed rule is its time, not the previous stage's.
	FixedTime bool `json:"fixed_time"`
}

// Active reports whether time in the stage is process time.
func (d StageDef) Active() bool { return d.Kind == StageActive }

// outcomeOnly reports whether only items linked to a key result can enter
// the stage.
func (d StageDef) outcomeOnly() bool {
	for _, t := range d.Rule {
		if t != TrigKeyResult {
			return false
		}
	}
	return len(d.Rule) > 0
}

// MaxStages bounds a value stream's stages.
const MaxStages = 12

// DefaultStages are the eight stages of DESIGN.md with their default rules.
func DefaultStages() []StageDef {
	return []StageDef{
		{Name: "Plan", Kind: StageWait, Rule: []Trigger{TrigIdeaPlanned}},
		{Name: "Code", Kind: StageActive, Rule: []Trigger{TrigChange}},
		{Name: "Build", Kind: StageActive, Rule: []Trigger{TrigBuild}},
		{Name: "Test", Kind: StageActive, Rule: []Trigger{TrigTest}},
		{Name: "Release", Kind: StageWait, Rule: []Trigger{TrigArtifactPublished, TrigDeployNonProd}},
		{Name: "Deploy", Kind: StageActive, Rule: []Trigger{TrigDeployProd}},
		{Name: "Operate", Kind: StageWait, Rule: []Trigger{TrigOperate}, FixedTime: true},
		{Name: "Monitor", Kind: StageWait, Rule: []Trigger{TrigKeyResult}, FixedTime: true},
	}
}

// DefaultFixedTime says whether a stage stored before stages could be
// marked waits by design: its rule names only timed triggers (operate, the
// soak; keyresult, the evidence window) — Operate and Monitor by default.
func DefaultFixedTime(rule []Trigger) bool {
	for _, t := range rule {
		if t != TrigOperate && t != TrigKeyResult {
			return false
		}
	}
	return len(rule) > 0
}

// ValueStream groups the services and teams that deliver to customers and
// the stages their work goes through.
type ValueStream struct {
	ID          int64
	Name        string
	Description string
	Teams       []string
	Services    []string
	Stages      []StageDef
	// The evidence a constraint needs (0: the default; see ConstraintRule).
	ConstraintMinItems int
	ConstraintMinRatio float64
	Revision           int // bumped by every edit; a rule change recomputes history
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Everything reports whether the stream covers every idea (no teams or
// services named).
func (v ValueStream) Everything() bool { return len(v.Teams) == 0 && len(v.Services) == 0 }

// Includes reports whether an item belongs to the stream: its team is one of
// the stream's, or it touches one of the stream's services. A stream naming
// neither covers every idea. Archived ideas leave every stream.
func (v ValueStream) Includes(it *FlowItem) bool {
	if it.Archived {
		return false
	}
	if v.Everything() {
		return true
	}
	if it.Team != "" && slices.Contains(v.Teams, it.Team) {
		return true
	}
	for _, s := range it.Services {
		if slices.Contains(v.Services, s) {
			return true
		}
	}
	return false
}

// Validate checks a value stream as a person entered it; the keys are form
// fields ("name", "stages", "stage.3.rule", ...).
func (v ValueStream) Validate() map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(v.Name) == "" {
		errs["name"] = "Give the value stream a name."
	} else if len(v.Name) > 100 {
		errs["name"] = "Keep the name under 100 characters."
	}
	for _, t := range v.Teams {
		if err := CheckName("team", t); err != nil {
			errs["teams"] = ErrorMessage(err)
		}
	}
	for _, sv := range v.Services {
		if err := CheckName("service", sv); err != nil {
			errs["services"] = ErrorMessage(err)
		}
	}
	switch n := len(v.Stages); {
	case n == 0:
		errs["stages"] = "A value stream needs at least one stage."
	case n > MaxStages:
		errs["stages"] = fmt.Sprintf("A value stream has at most %d stages.", MaxStages)
	}
	if n := v.ConstraintMinItems; n < 0 || n > MaxConstraintMinItems {
		errs["constraint_min_items"] = fmt.Sprintf("A whole number of items from 1 to %d.", MaxConstraintMinItems)
	}
	if r := v.ConstraintMinRatio; r != 0 && !(r >= 1 && r <= MaxConstraintMinRatio) {
		errs["constraint_min_ratio"] = fmt.Sprintf("A ratio from 1 to %g, such as 1.5.", MaxConstraintMinRatio)
	}
	seen := map[string]int{}
	for i, st := range v.Stages {
		f := "stage." + strconv.Itoa(i) + "."
		name := strings.TrimSpace(st.Name)
		if name == "" {
			errs[f+"name"] = "Name the stage."
		} else if j, dup := seen[strings.ToLower(name)]; dup {
			errs[f+"name"] = fmt.Sprintf("Stage %d already has this name.", j+1)
		} else {
			seen[strings.ToLower(name)] = i
		}
		if st.Kind != StageActive && st.Kind != StageWait {
			errs[f+"kind"] = "Choose active or wait."
		} else if st.FixedTime && st.Kind == StageActive {
			errs[f+"kind"] = "A fixed-time stage waits by design: choose waiting, or unmark fixed time."
		}
		if st.WIPLimit < 0 {
			errs[f+"wip_limit"] = "A WIP limit is a positive number, or empty for none."
		}
		if len(st.Rule) == 0 {
			errs[f+"rule"] = "Say which event moves an item into this stage."
		}
	}
	return errs
}

// Journey is where one item went in a value stream, as known at a moment.
// Times are Unix microseconds, 0 when absent.
type Journey struct {
	// Raw is when each stage's rule first matched; Entered the entry used for
	// flow: an item in a later stage has left the earlier ones, so an earlier
	// stage whose evidence came later is taken as entered (and left) then.
	Raw, Entered [MaxStages]int64
	Start        int64 // entered its first stage
	Done         int64
	// RolledBack is when the last of its changes left production, while
	// none is back: it keeps its stage times but is not done.
	RolledBack int64
	Current    int  // the furthest stage entered, -1 before the first
	Reordered  bool // some stage's evidence came after a later stage's
}

// Started reports whether the item has entered any stage.
func (j *Journey) Started() bool { return j.Current >= 0 }

// Skipped reports whether the item went past stage i without a sign of it.
func (j *Journey) Skipped(i int) bool { return j.Current > i && j.Entered[i] == 0 }

// Exit is when the item left stage i (it entered it): the next stage it
// entered, or done. 0 while it is still there.
func (j *Journey) Exit(i, n int) int64 {
	for k := i + 1; k < n; k++ {
		if j.Entered[k] != 0 {
			return j.Entered[k]
		}
	}
	if i == j.Current {
		return j.Done
	}
	return 0
}

// JourneyOf works out an item's journey through the stream's stages at
// moment asOf (Unix µs): what had happened by then counts, nothing later.
//
// Done: a recorded verdict ends the journey (later evidence is ignored). An
// item not linked to a key result has nothing to monitor: it is done when it
// enters the last stage it can enter — the last one whose rule is not only
// "keyresult" (Operate, by default). An item rolled back by asOf is not done,
// whatever it reached before (DESIGN.md 4): it shows where it got to, and
// RolledBack says why it stays open.
func (v *ValueStream) JourneyOf(it *FlowItem, asOf int64) Journey {
	j := Journey{Current: -1}
	n := len(v.Stages)
	limit := asOf
	verdict := it.Verdict != 0 && it.Verdict <= asOf
	if verdict {
		limit = it.Verdict
	}
	for i := 0; i < n; i++ {
		var at int64
		for _, t := range v.Stages[i].Rule {
			if s := it.Signals[t]; s != 0 && s <= limit && (at == 0 || s < at) {
				at = s
			}
		}
		j.Raw[i] = at
	}
	next := int64(0)
	for i := n - 1; i >= 0; i-- {
		r := j.Raw[i]
		if r == 0 {
			continue
		}
		if next != 0 && r > next {
			j.Entered[i] = next
			j.Reordered = true
		} else {
			j.Entered[i] = r
			next = r
		}
		if j.Current < 0 {
			j.Current = i
		}
		j.Start = j.Entered[i]
	}
	if j.Current < 0 {
		return j
	}
	switch {
	case it.RolledBackAt(asOf):
		j.RolledBack = it.RolledBack.At.UnixMicro()
	case verdict:
		j.Done = it.Verdict
	case !it.HasKeyResult:
		last := -1
		for i := n - 1; i >= 0; i-- {
			if !v.Stages[i].outcomeOnly() {
				last = i
				break
			}
		}
		if last >= 0 && j.Current == last {
			j.Done = j.Entered[last]
		}
	}
	return j
}
