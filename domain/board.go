package domain

import "time"

// The roadmap board: which ideas each horizon shows as open and which as
// done, when an idea counts as stalled, and when a verdict can be recorded.
// The roadmap page, the overview and the API all place ideas with these.

// BoardCard is one idea where it stands.
type BoardCard struct {
	Idea     *Idea
	Item     FlowItem
	Timeline Timeline
}

// BoardColumn is one horizon: its open ideas (not done: not started, in a
// stage, or rolled back) and those done, in the order given.
type BoardColumn struct {
	Horizon Horizon
	Open    []BoardCard
	Done    []BoardCard
}

// RoadmapBoard places ideas on Now, Next and Later at moment now. Archived
// ideas are left out.
func RoadmapBoard(ideas []*Idea, items map[string]FlowItem, now time.Time) []BoardColumn {
	cols := make([]BoardColumn, len(Horizons))
	for i, h := range Horizons {
		cols[i].Horizon = h
	}
	for _, idea := range ideas {
		if idea.Archived {
			continue
		}
		it := items[idea.Key]
		c := BoardCard{Idea: idea, Item: it, Timeline: StageTimeline(&it, now)}
		for i := range cols {
			if cols[i].Horizon != idea.Horizon {
				continue
			}
			if c.Timeline.Done {
				cols[i].Done = append(cols[i].Done, c)
			} else {
				cols[i].Open = append(cols[i].Open, c)
			}
		}
	}
	return cols
}

// StalledAfter is how long an idea in Now may sit in a stage before Deploy
// before the roadmap calls it stalled.
const StalledAfter = 14 * 24 * time.Hour

// Stall is an idea in Now that has waited in a delivery stage for longer
// than StalledAfter.
type Stall struct {
	Stage Stage
	Since time.Time
	Days  int // whole days in the stage at now
}

// StalledIn reports whether an idea on horizon h with timeline tl is stalled
// at now: in Now, not done, in a stage before Deploy for over StalledAfter.
// Nil otherwise.
func StalledIn(h Horizon, tl Timeline, now time.Time) *Stall {
	if h != HorizonNow || tl.Done || tl.Current == "" || tl.Current.Index() >= StageDeploy.Index() {
		return nil
	}
	since := tl.Entered[tl.Current]
	if since.IsZero() || now.Sub(since) <= StalledAfter {
		return nil
	}
	return &Stall{Stage: tl.Current, Since: since, Days: int(now.Sub(since) / (24 * time.Hour))}
}

// VerdictOpen reports whether a verdict can be recorded on an idea: once its
// changes have reached production (rolled back since or not — "invalidated,
// rolled back" is a verdict too), or to change one already recorded.
func VerdictOpen(idea *Idea, tl Timeline) bool {
	return idea.Verdict != "" || tl.Shipped
}
