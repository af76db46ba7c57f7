package domain

import (
	"testing"
	"time"
)

func TestRoadmapBoardStallAndVerdict(t *testing.T) {
	now := time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)
	us := func(daysAgo float64) int64 {
		return now.Add(-time.Duration(daysAgo * 24 * float64(time.Hour))).UnixMicro()
	}
	item := func(key string, h Horizon, kr bool, sig map[Trigger]float64) FlowItem {
		it := FlowItem{Key: key, Horizon: h, HasKeyResult: kr}
		for t, d := range sig {
			it.Signals[t] = us(d)
		}
		return it
	}
	items := map[string]FlowItem{
		// In Code for 20 days: stalled.
		"A-1": item("A-1", HorizonNow, false, map[Trigger]float64{TrigIdeaPlanned: 30, TrigChange: 20}),
		// In Code for 10 days: not yet.
		"A-2": item("A-2", HorizonNow, false, map[Trigger]float64{TrigIdeaPlanned: 30, TrigChange: 10}),
		// Operate with no key result: done.
		"A-3": item("A-3", HorizonNow, false, map[Trigger]float64{TrigIdeaPlanned: 30, TrigChange: 20, TrigDeployProd: 10, TrigOperate: 9}),
		// Monitor with a key result, no verdict: open.
		"A-4": item("A-4", HorizonNow, true, map[Trigger]float64{TrigIdeaPlanned: 30, TrigDeployProd: 10, TrigOperate: 9, TrigKeyResult: 9}),
		// Done but rolled back: open.
		"A-5": item("A-5", HorizonNow, false, map[Trigger]float64{TrigIdeaPlanned: 30, TrigDeployProd: 10, TrigOperate: 9}),
		// Never started, on Next.
		"B-1": item("B-1", HorizonNext, false, nil),
	}
	a5 := items["A-5"]
	a5.RolledBack = &Removal{At: now.Add(-5 * 24 * time.Hour)}
	items["A-5"] = a5
	ideas := []*Idea{{Key: "A-1", Horizon: HorizonNow}, {Key: "A-2", Horizon: HorizonNow}, {Key: "A-3", Horizon: HorizonNow},
		{Key: "A-4", Horizon: HorizonNow}, {Key: "A-5", Horizon: HorizonNow}, {Key: "B-1", Horizon: HorizonNext},
		{Key: "B-2", Horizon: HorizonNext, Archived: true}}
	board := RoadmapBoard(ideas, items, now)
	keys := func(cs []BoardCard) string {
		s := ""
		for _, c := range cs {
			s += c.Idea.Key + " "
		}
		return s
	}
	if got := keys(board[0].Open); got != "A-1 A-2 A-4 A-5 " {
		t.Errorf("Now open: %q", got)
	}
	if got := keys(board[0].Done); got != "A-3 " {
		t.Errorf("Now done: %q", got)
	}
	if got := keys(board[1].Open); got != "B-1 " || len(board[1].Done) != 0 || len(board[2].Open) != 0 {
		t.Errorf("Next open %q (archived B-2 must not show), Later %d", got, len(board[2].Open))
	}

	stall := func(key string) *Stall {
		for _, c := range append(board[0].Open, board[0].Done...) {
			if c.Idea.Key == key {
				return StalledIn(c.Idea.Horizon, c.Timeline, now)
			}
		}
		return nil
	}
	if s := stall("A-1"); s == nil || s.Stage != StageCode || s.Days != 20 {
		t.Errorf("A-1 stall %+v; want Code for 20 days", s)
	}
	for _, k := range []string{"A-2", "A-3", "A-4"} {
		if s := stall(k); s != nil {
			t.Errorf("%s stalled: %+v", k, s)
		}
	}
	// A verdict is open once an idea has reached production.
	for _, c := range []struct {
		key  string
		open bool
	}{{"A-1", false}, {"A-4", true}, {"A-5", true}} {
		it := items[c.key]
		if got := VerdictOpen(&Idea{Key: c.key}, StageTimeline(&it, now)); got != c.open {
			t.Errorf("%s verdict open %v; want %v", c.key, got, c.open)
		}
	}
	if !VerdictOpen(&Idea{Key: "B-1", Verdict: VerdictInconclusive}, Timeline{}) {
		t.Error("a verdict recorded cannot be changed")
	}
}

func TestIdeasAwaitingVerdictCountsIdeasWithoutKeyResult(t *testing.T) {
	now := time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)
	shipped := func(key string, daysAgo int) FlowItem {
		it := FlowItem{Key: key}
		it.Signals[TrigDeployProd] = now.AddDate(0, 0, -daysAgo).UnixMicro()
		return it
	}
	items := map[string]FlowItem{"K-1": shipped("K-1", 3), "N-1": shipped("N-1", 9), "V-1": shipped("V-1", 20), "U-1": {Key: "U-1"}}
	ideas := []Idea{{Key: "K-1", KeyResults: []int64{7}}, {Key: "N-1"}, {Key: "V-1", Verdict: VerdictValidated}, {Key: "U-1"}}
	a := IdeasAwaitingVerdict(ideas, items, now)
	if len(a) != 2 || a[0].Idea.Key != "N-1" || a[0].HasKeyResult || a[0].Days != 9 || a[1].Idea.Key != "K-1" || !a[1].HasKeyResult {
		t.Fatalf("awaiting %+v", a)
	}
	if n := WithoutKeyResult(a); n != 1 {
		t.Errorf("%d without a key result; want 1", n)
	}
}
