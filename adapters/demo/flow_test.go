package demo_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/demo"
)

// delivery is what a history says about each idea's way to production, read
// back from its events.
type delivery struct {
	ideasOfArtifact map[string][]string  // ideas of the changes packaged into it
	firstProd       map[string]time.Time // idea -> first production deployment carrying it
	staged          map[string]bool      // idea -> some artifact carrying it reached staging
}

func readDelivery(events []parsed) delivery {
	d := delivery{ideasOfArtifact: map[string][]string{}, firstProd: map[string]time.Time{}, staged: map[string]bool{}}
	ideasOfChange := map[string][]string{}
	for _, p := range events {
		switch {
		case strings.HasPrefix(p.kind, "change."):
			for _, k := range ideasOf(p) {
				if !slices.Contains(ideasOfChange[p.cd.Subject.ID], k) {
					ideasOfChange[p.cd.Subject.ID] = append(ideasOfChange[p.cd.Subject.ID], k)
				}
			}
		case p.kind == "artifact.packaged":
			art := p.cd.Subject.ID
			for _, k := range ideasOfChange[p.cd.Subject.Content.Change.ID] {
				if !slices.Contains(d.ideasOfArtifact[art], k) {
					d.ideasOfArtifact[art] = append(d.ideasOfArtifact[art], k)
				}
			}
		case strings.HasPrefix(p.kind, "service.") && p.kind != "service.rolledback":
			for _, k := range d.ideasOfArtifact[p.cd.Subject.Content.ArtifactID] {
				if !isProduction(p) {
					d.staged[k] = true
				} else if _, ok := d.firstProd[k]; !ok {
					d.firstProd[k] = p.ce.Time
				}
			}
		}
	}
	return d
}

func workItems(h demo.History) []demo.IdeaSpec {
	var out []demo.IdeaSpec
	for _, idea := range h.Ideas {
		if isWorkItem(idea) {
			out = append(out, idea)
		}
	}
	return out
}

func TestWorkItems(t *testing.T) {
	prefixes := map[string]string{"checkout": "CHK", "payments": "PAY", "search": "SRCH", "catalog": "CAT", "notifications": "NOT"}
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			h := demo.Generate(tc.o)
			items := workItems(h)
			days := cmpOr(tc.o.Days, 90)
			lo, hi := max(1, days*50/90), max(1, days*70/90)
			t.Logf("%d work items over %d days", len(items), days)
			if len(items) < lo || len(items) > hi {
				t.Errorf("%d work items over %d days, want %d to %d", len(items), days, lo, hi)
			}
			teams := map[string]string{}
			for _, s := range h.Services {
				teams[s.Name] = s.Team
			}
			changes := changesPerIdea(parseAll(t, h))
			for _, it := range items {
				if len(it.Services) != 1 || prefixes[it.Services[0]] == "" {
					t.Errorf("work item %s on services %v, want one base service", it.Key, it.Services)
					continue
				}
				svc := it.Services[0]
				if !regexp.MustCompile(`^` + prefixes[svc] + `-[1-9]\d{2,}$`).MatchString(it.Key) {
					t.Errorf("work item %s on %s: key should be %s-100 or more", it.Key, svc, prefixes[svc])
				}
				if it.Team != teams[svc] || it.Horizon != "now" || it.KeyResult != nil || it.Objective != "" || it.Title == "" {
					t.Errorf("work item %+v", it)
				}
				if it.Reach <= 0 || it.Impact <= 0 || it.Confidence <= 0 || it.Confidence > 1 || it.Effort <= 0 || it.Effort > 1 {
					t.Errorf("work item %s: reach %v impact %v confidence %v effort %v", it.Key, it.Reach, it.Impact, it.Confidence, it.Effort)
				}
				if it.PlanLead < 12*time.Hour || it.PlanLead > 6*24*time.Hour {
					t.Errorf("work item %s planned %s before its first event, want 12h to 6 days", it.Key, it.PlanLead)
				}
				if n := changes[it.Key]; n < 1 || n > 3 {
					t.Errorf("work item %s has %d changes with events, want 1 to 3", it.Key, n)
				}
			}
		})
	}
}

func TestWorkItemFlowTypeFollowsTitle(t *testing.T) {
	types := map[string]int{}
	for _, it := range workItems(demo.Generate(demo.Options{End: end})) {
		first, _, _ := strings.Cut(it.Title, " ")
		want := "feature"
		switch first {
		case "Fix":
			want = "defect"
		case "Bump", "Upgrade", "Remove", "Refactor", "Drop", "Split":
			want = "debt"
		case "Rotate", "Patch", "Harden", "Restrict", "Encrypt":
			want = "risk"
		}
		if it.FlowType != want {
			t.Errorf("work item %s %q is a %s, want %s", it.Key, it.Title, it.FlowType, want)
		}
		types[it.FlowType]++
	}
	t.Logf("flow distribution %v", types)
	for _, ft := range []string{"feature", "defect", "risk", "debt"} {
		if types[ft] == 0 {
			t.Errorf("no %s work items", ft)
		}
	}
}

// TestWorkInProgressAtTheEnd: some work items have not reached Operate
// (production plus a day) when the history ends, in more than one stage.
func TestWorkInProgressAtTheEnd(t *testing.T) {
	h := demo.Generate(demo.Options{End: end})
	d := readDelivery(parseAll(t, h))
	var staged, open []string
	shipped := 0
	for _, it := range workItems(h) {
		at, ok := d.firstProd[it.Key]
		switch {
		case ok && at.Before(end.Add(-24*time.Hour)):
			shipped++
		case ok:
			staged = append(staged, it.Key) // in Deploy
		case d.staged[it.Key]:
			staged = append(staged, it.Key)
		default:
			open = append(open, it.Key)
		}
	}
	t.Logf("%d work items shipped; in progress: %v past staging, %v with open or merged changes", shipped, staged, open)
	if n := len(staged) + len(open); n < 3 || n > 10 {
		t.Errorf("%d work items in progress at the end, want a handful", n)
	}
	if len(staged) == 0 || len(open) == 0 {
		t.Error("work in progress should be both in review and on its way to production")
	}
}

// TestTestRunsNameTheirIdeas: a test run names, in customData.ideas, the
// ideas whose changes are packaged into the artifact it tests: for the unit
// suite in CI the one just built, for end-to-end runs the one deployed to
// staging just before it on its service.
func TestTestRunsNameTheirIdeas(t *testing.T) {
	suite := regexp.MustCompile(`^(.+)-(e2e|unit)-\d+(-rerun)?$`)
	build := regexp.MustCompile(`^(.+)-build-\d+$`)
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			events := parseAll(t, demo.Generate(tc.o))
			d := readDelivery(events)
			lastStaged, lastBuilt := map[string]string{}, map[string]string{}
			runs, naming := 0, 0
			for _, p := range events {
				switch {
				case strings.HasPrefix(p.kind, "service.") && !isProduction(p):
					lastStaged[p.cd.Subject.ID] = p.cd.Subject.Content.ArtifactID
				case p.kind == "build.finished" && p.cd.Subject.Content.ArtifactID != "":
					if m := build.FindStringSubmatch(p.cd.Subject.ID); m != nil {
						lastBuilt[m[1]] = p.cd.Subject.Content.ArtifactID
					}
				case p.kind == "testsuiterun.finished":
					runs++
					m := suite.FindStringSubmatch(p.cd.Subject.ID)
					if m == nil {
						t.Fatalf("test run %s", p.cd.Subject.ID)
					}
					tested := lastStaged
					if m[2] == "unit" {
						tested = lastBuilt
					}
					art, ok := tested[m[1]]
					if !ok {
						t.Errorf("test run %s before any staging deployment of %s", p.cd.Subject.ID, m[1])
						continue
					}
					got := p.cd.CustomData.Ideas
					want := slices.Clone(d.ideasOfArtifact[art])
					slices.Sort(want)
					if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
						t.Errorf("test run %s names ideas %v; the artifact staged before it carries %v", p.cd.Subject.ID, got, want)
					}
					if len(got) > 0 {
						naming++
						if p.cd.CustomDataContentType == "" {
							t.Errorf("test run %s has customData without its content type", p.cd.Subject.ID)
						}
					}
				}
			}
			t.Logf("%d test runs, %d naming ideas", runs, naming)
			if tc.o.Days == 0 && naming < 50 {
				t.Errorf("%d test runs name ideas, want most releases' runs", naming)
			}
		})
	}
}

func TestVerdictsAfterTheEvidenceWindow(t *testing.T) {
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			h := demo.Generate(tc.o)
			d := readDelivery(parseAll(t, h))
			specs := map[string]demo.IdeaSpec{}
			for _, idea := range h.Ideas {
				specs[idea.Key] = idea
			}
			for key, v := range h.Verdicts {
				first, ok := d.firstProd[key]
				if !ok || specs[key].KeyResult == nil {
					t.Errorf("verdict on %s, which has no key result or never shipped", key)
					continue
				}
				closed := first.Add(14 * 24 * time.Hour)
				if v.At.Before(closed.Add(24*time.Hour)) || !v.At.Before(tc.o.End) || v.At.After(closed.Add(4*24*time.Hour)) {
					t.Errorf("verdict on %s at %s; its evidence window closed at %s, the history ends at %s", key, v.At, closed, tc.o.End)
				}
				if v.Verdict != "validated" && v.Verdict != "invalidated" || v.Note == "" || strings.Count(v.Note, ". ") > 0 {
					t.Errorf("verdict on %s: %+v", key, v)
				}
			}
			// Every shipped idea with a key result whose window closed a
			// day before the end has a verdict.
			for _, idea := range h.Ideas {
				first, ok := d.firstProd[idea.Key]
				if ok && idea.KeyResult != nil && first.Add(15*24*time.Hour).Before(tc.o.End) {
					if _, ok := h.Verdicts[idea.Key]; !ok {
						t.Errorf("%s shipped on %s and has no verdict", idea.Key, first)
					}
				}
			}
		})
	}
	h := demo.Generate(demo.Options{End: end})
	want := map[string]string{"CHK-12": "validated", "PAY-3": "validated", "SRCH-40": "validated", "CAT-7": "validated", "SRCH-41": "invalidated"}
	for key, verdict := range want {
		if h.Verdicts[key].Verdict != verdict {
			t.Errorf("90 days: verdict on %s %+v, want %s", key, h.Verdicts[key], verdict)
		}
	}
	t.Logf("90 days: %d verdicts", len(h.Verdicts))
}
