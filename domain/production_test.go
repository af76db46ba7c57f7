package domain_test

import (
	"testing"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/domain/domaintest"
)

// Each story deploys A0 (before the idea's change c), then A1 packaging c,
// and goes on; want says whether c is still live at the end and, if not,
// which deployment (1-based, as told) took it out.
func TestPresenceOn(t *testing.T) {
	story := func() *domaintest.ServiceStory {
		return domaintest.NewServiceStory("checkout").Deploy(0, "A0").Deploy(10, "A1", "c")
	}
	for _, tc := range []struct {
		name      string
		story     *domaintest.ServiceStory
		live      bool
		removedBy int // 0: none
	}{
		{"deployed", story(), true, 0},
		{"rolled back to the artifact before it", story().Rollback(11, "A0"), false, 3},
		{"a new artifact ships on top of it", story().Deploy(20, "A2", "d"), true, 0},
		{"the new artifact rolled back to the one carrying it", story().Deploy(20, "A2", "d").Rollback(21, "A1"), true, 0},
		{"rolled back past it", story().Deploy(20, "A2", "d").Rollback(21, "A0"), false, 4},
		{"rolled back twice, the second time past it", story().Deploy(20, "A2", "d").Rollback(21, "A1").Rollback(22, "A0"), false, 5},
		// A plain deployment of an older artifact replaces it, as a rollback would.
		{"replaced by redeploying the older artifact", story().Deploy(20, "A0"), false, 3},
		// A2 first went live with c running, so it carries c in its build.
		{"a later artifact redeployed", story().Deploy(20, "A2").Deploy(30, "A3").Deploy(40, "A2"), true, 0},
		{"a later artifact rolled back to", story().Deploy(20, "A2").Deploy(30, "A3").Rollback(31, "A2"), true, 0},
		// A rollback to an artifact never seen live undoes the deployment
		// before it (DORA rule 1): here A1 itself …
		{"rolled back to an unknown artifact", story().Rollback(11, "A9"), false, 3},
		// … here A2, which leaves c live.
		{"a later deployment rolled back to an unknown artifact", story().Deploy(20, "A2").Rollback(21, "A9"), true, 0},
		// After a rollback past it, a new artifact that does not carry c
		// was built without it.
		{"rolled back, then a new artifact without it", story().Rollback(11, "A0").Deploy(20, "A3", "e"), false, 3},
		{"rolled back, then shipped again", story().Rollback(11, "A0").Deploy(20, "A3", "c", "e"), true, 0},
		{"rolled back, then the artifact carrying it redeployed", story().Rollback(11, "A0").Deploy(20, "A3").Deploy(30, "A1"), true, 0},
		{"shipped again, then rolled back to the build without it", story().Rollback(11, "A0").Deploy(20, "A3").Deploy(30, "A1").Rollback(31, "A3"), false, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := domain.PresenceOn(tc.story.Deployments(), tc.story.Carries("c"), nil)
			if !p.Shipped || p.InProduction != tc.live {
				t.Fatalf("shipped %v, live %v; want live %v", p.Shipped, p.InProduction, tc.live)
			}
			switch {
			case tc.removedBy == 0 && p.RemovedBy != nil:
				t.Errorf("removed by %+v; want none", *p.RemovedBy)
			case tc.removedBy != 0 && (p.RemovedBy == nil || p.RemovedBy.Event != tc.story.Deployment(tc.removedBy).Event):
				t.Errorf("removed by %+v; want deployment %d", p.RemovedBy, tc.removedBy)
			}
		})
	}

	// Artifacts live before the history given count as older.
	s := domaintest.NewServiceStory("checkout").Deploy(10, "A1", "c").Deploy(20, "A0")
	if p := domain.PresenceOn(s.Deployments(), s.Carries("c"), map[string]bool{"A0": true}); p.InProduction {
		t.Error("redeploying an artifact live before the history kept c live")
	}
	if p := domain.PresenceOn(s.Deployments(), s.Carries("c"), nil); !p.InProduction {
		t.Error("a new artifact took c out")
	}
	// Never shipped: a rollback to an artifact carrying it deploys no change.
	s = domaintest.NewServiceStory("checkout").Rollback(10, "A1").Deploy(0, "A1", "c")
	if p := domain.PresenceOn(s.Deployments()[:1], s.Carries("c"), nil); p.Shipped || p.InProduction {
		t.Errorf("a rollback shipped c: %+v", p)
	}
}

func TestRolledBackBy(t *testing.T) {
	checkout := domaintest.NewServiceStory("checkout").Deploy(0, "A0").Deploy(10, "A1", "c").Rollback(12, "A0")
	search := domaintest.NewServiceStory("search").Deploy(0, "S0").Deploy(11, "S1", "c").Rollback(15, "S0")
	out := func(s *domaintest.ServiceStory) domain.Presence {
		return domain.PresenceOn(s.Deployments(), s.Carries("c"), nil)
	}
	live := domain.PresenceOn(search.Deployments()[:2], search.Carries("c"), nil)
	never := domain.PresenceOn(nil, search.Carries("c"), nil)

	if r := domain.RolledBackBy([]domain.Presence{out(checkout), live}); r != nil {
		t.Errorf("live on search, yet rolled back: %+v", r)
	}
	if r := domain.RolledBackBy([]domain.Presence{never}); r != nil {
		t.Errorf("never shipped, yet rolled back: %+v", r)
	}
	// Out of both: the later removal (search at 15h) is when it was rolled back.
	r := domain.RolledBackBy([]domain.Presence{out(checkout), out(search), never})
	want := search.Deployment(3)
	if r == nil || r.Event != want.Event || !r.At.Equal(want.At) || r.Service != "search" || !r.Rollback || r.Artifact != "S0" {
		t.Fatalf("rolled back by %+v; want search's rollback %+v", r, want)
	}
}

// A rolled back idea keeps its stage times, is not done and not shipped; a
// moment before the rollback it was both.
func TestRolledBackIdeaIsNotDoneNorShipped(t *testing.T) {
	at := func(h float64) int64 { return domaintest.Hour(h).UnixMicro() }
	it := domain.FlowItem{Key: "CHK-1", Horizon: domain.HorizonNow}
	it.Signals[domain.TrigIdeaPlanned] = at(-48)
	it.Signals[domain.TrigChange] = at(-24)
	it.Signals[domain.TrigDeployProd] = at(0)
	it.Signals[domain.TrigOperate] = at(24)
	removal := &domain.Removal{At: domaintest.Hour(30), Service: "checkout", Event: domain.Identity{Source: "/s", ID: "r1"}, Rollback: true}

	before := domain.StageTimeline(&it, domaintest.Hour(29))
	if !before.Done || before.DoneBy != domain.DoneNoKeyResult || !before.DoneAt.Equal(domaintest.Hour(24)) || !before.Shipped {
		t.Fatalf("no key result, in Operate: %+v", before)
	}
	it.RolledBack = removal
	early := domain.StageTimeline(&it, domaintest.Hour(29))
	if !early.Done || early.RolledBack != nil {
		t.Errorf("before the rollback it was done: %+v", early)
	}
	tl := domain.StageTimeline(&it, domaintest.Hour(40))
	if tl.Done || tl.DoneBy != "" || tl.RolledBack != removal || tl.Current != domain.StageOperate || !tl.Shipped ||
		!tl.Entered[domain.StageDeploy].Equal(domaintest.Hour(0)) {
		t.Errorf("rolled back: %+v", tl)
	}
	// A verdict does not make a rolled back idea done either.
	it.Verdict = at(26)
	if tl := domain.StageTimeline(&it, domaintest.Hour(40)); tl.Done || tl.RolledBack == nil {
		t.Errorf("rolled back after its verdict: %+v", tl)
	}
	if tl := domain.StageTimeline(&it, domaintest.Hour(28)); !tl.Done || tl.DoneBy != domain.DoneByVerdict || !tl.DoneAt.Equal(domaintest.Hour(26)) {
		t.Errorf("judged, before the rollback: %+v", tl)
	}

	// Not shipped, so not awaiting a verdict nor counted in its quarter.
	idea := domain.Idea{Key: "CHK-1", KeyResults: []int64{1}}
	items := map[string]domain.FlowItem{"CHK-1": it}
	if !domain.ShippedAt(&it).IsZero() {
		t.Error("a rolled back idea has a ship time")
	}
	idea.Verdict = ""
	it.Verdict = 0
	items["CHK-1"] = it
	if a := domain.IdeasAwaitingVerdict([]domain.Idea{idea}, items, domaintest.Hour(40)); len(a) != 0 {
		t.Errorf("a rolled back idea awaits a verdict: %+v", a)
	}
	w := domain.Window{From: domaintest.Monday, To: domaintest.Monday.AddDate(0, 0, 6)}
	if sh := domain.VerdictShares([]domain.Idea{idea}, items, []domain.Window{w})[0]; sh.Shipped != 0 || sh.Awaiting != 0 {
		t.Errorf("a rolled back idea counted as shipped: %+v", sh)
	}
	it.RolledBack = nil
	items["CHK-1"] = it
	if sh := domain.VerdictShares([]domain.Idea{idea}, items, []domain.Window{w})[0]; sh.Shipped != 1 || sh.Awaiting != 1 {
		t.Errorf("shipped again, not counted: %+v", sh)
	}
}

func TestOperateWhileLive(t *testing.T) {
	deployed := domaintest.Hour(0)
	removal := func(h float64) *domain.Removal { return &domain.Removal{At: domaintest.Hour(h)} }
	if got := domain.OperateWhileLive(deployed, nil, nil); !got.Equal(domaintest.Hour(24)) {
		t.Errorf("live: Operate at %v; want a day after", got)
	}
	if got := domain.OperateWhileLive(deployed, nil, removal(6)); !got.IsZero() {
		t.Errorf("rolled back after 6h: Operate at %v; want never", got)
	}
	if got := domain.OperateWhileLive(deployed, nil, removal(30)); !got.Equal(domaintest.Hour(24)) {
		t.Errorf("rolled back after its day: Operate at %v; want a day after", got)
	}
}
