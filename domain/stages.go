package domain

import "time"

// Stage is a step of the value stream an idea travels (DESIGN.md 4).
type Stage string

const (
	StagePlan    Stage = "plan"
	StageCode    Stage = "code"
	StageBuild   Stage = "build"
	StageTest    Stage = "test"
	StageRelease Stage = "release"
	StageDeploy  Stage = "deploy"
	StageOperate Stage = "operate"
	StageMonitor Stage = "monitor"
)

// Stages in order, Plan to Monitor.
var Stages = []Stage{StagePlan, StageCode, StageBuild, StageTest, StageRelease, StageDeploy, StageOperate, StageMonitor}

// Label is the stage as shown.
func (s Stage) Label() string {
	if s == "" {
		return ""
	}
	return string(s[0]-'a'+'A') + string(s[1:])
}

// Index is the stage's position, or -1.
func (s Stage) Index() int {
	for i, x := range Stages {
		if x == s {
			return i
		}
	}
	return -1
}

// OperateAfter is how long a deployment runs before an idea is in Operate.
const OperateAfter = 24 * time.Hour

// StageSignals are the earliest times of what moves an idea into each stage,
// from its linked events (the default stage rules).
type StageSignals struct {
	Planned         time.Time // created in or moved to Now
	FirstChange     time.Time // first linked change.*
	FirstBuild      time.Time // first linked build.* or pipelinerun.*
	FirstTest       time.Time // first linked testsuiterun / testcaserun
	FirstRelease    time.Time // linked artifact published or deployed outside production
	FirstProduction time.Time // first production deployment carrying a linked change
	// Incidents attributed to the production deployments carrying the
	// idea's changes: Operate waits until none is open.
	Incidents    []ProdIncident
	HasKeyResult bool
	VerdictAt    time.Time
}

// Timeline is where an idea stands: when it entered each stage, where it is,
// and which stages it went past without a sign of them.
type Timeline struct {
	Entered map[Stage]time.Time
	Current Stage // the furthest stage reached; "" before Plan
	Done    bool  // a verdict is recorded
	Skipped []Stage
}

// StageTimeline applies the default stage rules at time now.
func StageTimeline(sig StageSignals, now time.Time) Timeline {
	tl := Timeline{Entered: map[Stage]time.Time{}}
	set := func(s Stage, t time.Time) {
		if !t.IsZero() && !t.After(now) {
			tl.Entered[s] = t
		}
	}
	set(StagePlan, sig.Planned)
	set(StageCode, sig.FirstChange)
	set(StageBuild, sig.FirstBuild)
	set(StageTest, sig.FirstTest)
	set(StageRelease, sig.FirstRelease)
	set(StageDeploy, sig.FirstProduction)
	if !sig.FirstProduction.IsZero() {
		// Operate: a day after the first production deployment, once no
		// incident attributed to the idea's deployments is open.
		at := sig.FirstProduction.Add(OperateAfter)
		for changed := true; changed; {
			changed = false
			for _, inc := range sig.Incidents {
				if inc.Open(at) {
					if inc.Resolved.IsZero() {
						at = time.Time{}
						break
					}
					at, changed = inc.Resolved, true
				}
			}
			if at.IsZero() {
				break
			}
		}
		set(StageOperate, at)
		// Monitor: while the key result's evidence window is open, from the
		// moment the idea is in operation.
		if sig.HasKeyResult {
			set(StageMonitor, tl.Entered[StageOperate])
		}
	}
	for i := len(Stages) - 1; i >= 0; i-- {
		if _, ok := tl.Entered[Stages[i]]; ok {
			tl.Current = Stages[i]
			for _, s := range Stages[:i] {
				if _, ok := tl.Entered[s]; !ok {
					tl.Skipped = append(tl.Skipped, s)
				}
			}
			break
		}
	}
	tl.Done = !sig.VerdictAt.IsZero() && !sig.VerdictAt.After(now)
	return tl
}
