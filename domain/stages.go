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

// Timeline is where an idea stands: when it entered each stage, where it is,
// and which stages it went past without a sign of them.
type Timeline struct {
	Entered map[Stage]time.Time
	Current Stage // the furthest stage reached; "" before Plan
	Done    bool
	// DoneBy says why it is done: its verdict, or reaching the last stage
	// with no key result to monitor.
	DoneBy DoneReason
	DoneAt time.Time
	// Shipped: a production deployment carried its changes by now (it may
	// be rolled back since).
	Shipped bool
	// RolledBack is set while none of its changes is in production any more.
	RolledBack *Removal
	Skipped    []Stage
}

// DoneReason says why an idea is done (DESIGN.md 4).
type DoneReason string

const (
	DoneByVerdict   DoneReason = "verdict"
	DoneNoKeyResult DoneReason = "no_key_result"
)

// defaultStream applies the default stage rules.
var defaultStream = ValueStream{Name: "Default", Stages: DefaultStages()}

// StageTimeline is where an item stands at time now under the default stage
// rules: when each stage's rule first matched (as the evidence says, even
// when out of order), the furthest stage, the stages skipped, and whether it
// is done (see ValueStream.JourneyOf).
func StageTimeline(it *FlowItem, now time.Time) Timeline {
	asOf := now.UnixMicro()
	j := defaultStream.JourneyOf(it, asOf)
	tl := Timeline{Entered: map[Stage]time.Time{}, Done: j.Done != 0, Shipped: it.ShippedBy(asOf)}
	switch {
	case j.Done == 0:
	case it.Verdict != 0 && it.Verdict <= asOf:
		tl.DoneBy, tl.DoneAt = DoneByVerdict, time.UnixMicro(j.Done).UTC()
	default:
		tl.DoneBy, tl.DoneAt = DoneNoKeyResult, time.UnixMicro(j.Done).UTC()
	}
	if j.RolledBack != 0 {
		tl.RolledBack = it.RolledBack
	}
	for i, st := range Stages {
		if j.Raw[i] != 0 {
			tl.Entered[st] = time.UnixMicro(j.Raw[i]).UTC()
		}
		if j.Skipped(i) {
			tl.Skipped = append(tl.Skipped, st)
		}
	}
	if j.Started() {
		tl.Current = Stages[j.Current]
	}
	return tl
}
