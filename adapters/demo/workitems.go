package demo

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Small work items are the fixes, upgrades and tweaks a team tracks next to
// its roadmap ideas: on Now, one to three changes each, no key result. They
// give the flow metrics (velocity, flow time, cumulative flow, aging work) a
// steady stream of items to count.
const (
	itemsPer90Days  = 60
	firstItemNumber = 100 // keys CHK-100, CHK-101, ... stay clear of the roadmap's
	// maxIdeaChanges keeps releases small: a deployment already carrying
	// this many idea changes takes no more work item changes.
	maxIdeaChanges = 4
)

// flowTypeOf classifies work by the first word of its title.
func flowTypeOf(title string) string {
	first, _, _ := strings.Cut(title, " ")
	switch first {
	case "Fix":
		return "defect"
	case "Bump", "Upgrade", "Remove", "Refactor", "Drop", "Split":
		return "debt"
	case "Rotate", "Patch", "Harden", "Restrict", "Encrypt":
		return "risk"
	}
	return "feature"
}

// planWorkItems creates the base services' work items and puts their
// changes into deployments, and returns their specs. Items are shared out
// in proportion to how often a service deploys. Most ship: the first change
// in a deployment drawn at random, later changes in the same or the next
// deployments. A few, started last, are still in progress at the end: one
// in three waits in the release on its way to production (s.staged), the
// others have changes open or merged (s.pending).
func (g *generator) planWorkItems(bases []*service, days int) []IdeaSpec {
	total := max(1, int(math.Round(float64(days)*itemsPer90Days/90)))
	inProgress := min(total, max(1, int(math.Round(float64(total)/12))))

	regular := make([][]*deployment, len(bases))
	weights := make([]float64, len(bases))
	for i, s := range bases {
		for _, d := range s.live() {
			// Work shipped in the first days was written before the
			// history began; no event of it would be left.
			if !d.hotfix && !d.at.Before(g.start.Add(3*24*time.Hour)) {
				regular[i] = append(regular[i], d)
			}
		}
		weights[i] = float64(len(regular[i]) + 1)
	}
	items := apportion(total, weights)
	open := apportion(inProgress, intsToFloats(items))

	var specs []IdeaSpec
	opened := 0
	for i, s := range bases {
		ds := regular[i]
		number := firstItemNumber
		next := func() *ideaPlan {
			p, spec := g.newWorkItem(s, number)
			number++
			specs = append(specs, spec)
			return p
		}
		ship := min(items[i]-open[i], len(ds))
		starts := g.rng.Perm(len(ds))[:ship]
		slices.Sort(starts)
		for _, j := range starts {
			p := next()
			for c := range p.titles {
				if c > 0 && !g.chance(0.35) {
					j += 1 + g.rng.IntN(2)
				}
				for j < len(ds) && ideaChanges(ds[j]) >= maxIdeaChanges {
					j++
				}
				if j >= len(ds) {
					s.pending = addIdeaChange(s.pending, p)
					continue
				}
				ds[j].ideas = addIdeaChange(ds[j].ideas, p)
			}
		}
		for range items[i] - ship {
			p := next()
			w := ideaWork{plan: p, n: len(p.titles)}
			if opened%3 == 0 {
				s.staged = append(s.staged, w)
			} else {
				s.pending = append(s.pending, w)
			}
			opened++
		}
	}
	return specs
}

// newWorkItem draws the next work item of a service: its title is the first
// change's, later changes are its parts 2 and 3.
func (g *generator) newWorkItem(s *service, number int) (*ideaPlan, IdeaSpec) {
	title := g.itemTitle(s)
	key := s.ideaPrefix + "-" + strconv.Itoa(number)
	titles := []string{title}
	n := 1 + g.pick([]float64{0.45, 0.35, 0.2})
	for part := 2; part <= n; part++ {
		titles = append(titles, title+" (part "+strconv.Itoa(part)+")")
	}
	prefix, name := branchName(title)
	p := &ideaPlan{key: key, service: s.name, slug: name, branch: prefix, titles: titles, link: number % 3}
	spec := IdeaSpec{
		Key: key, Title: title, Horizon: "now", FlowType: flowTypeOf(title), Team: s.team,
		Reach:      float64(250 * (1 + g.rng.IntN(40))),
		Impact:     []float64{0.25, 0.5, 1}[g.rng.IntN(3)],
		Confidence: []float64{0.5, 0.8, 1}[g.rng.IntN(3)],
		Effort:     []float64{0.1, 0.25, 0.5}[g.rng.IntN(3)],
		Services:   []string{s.name},
		PlanLead:   g.dur(12*time.Hour, 6*24*time.Hour).Truncate(time.Minute),
	}
	return p, spec
}

// itemTitle deals the service's change titles in a shuffled order, so work
// items repeat a title only once every title has been used.
func (g *generator) itemTitle(s *service) string {
	if len(s.deck) == 0 {
		s.deck = slices.Clone(s.titles)
		g.rng.Shuffle(len(s.deck), func(i, j int) { s.deck[i], s.deck[j] = s.deck[j], s.deck[i] })
	}
	t := s.deck[0]
	s.deck = s.deck[1:]
	return t
}

// ideaChanges counts the idea changes planned into a deployment.
func ideaChanges(d *deployment) int {
	n := 0
	for _, w := range d.ideas {
		n += w.n
	}
	return n
}

// addIdeaChange adds one change of p to ws.
func addIdeaChange(ws []ideaWork, p *ideaPlan) []ideaWork {
	if k := len(ws) - 1; k >= 0 && ws[k].plan == p {
		ws[k].n++
		return ws
	}
	return append(ws, ideaWork{plan: p, n: 1})
}

// apportion shares n out in proportion to weights (largest remainder; ties
// go to the earlier share).
func apportion(n int, weights []float64) []int {
	var total float64
	for _, w := range weights {
		total += w
	}
	out := make([]int, len(weights))
	if total <= 0 {
		return out
	}
	rest := make([]float64, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(n) * w / total
		out[i] = int(exact)
		rest[i] = exact - float64(out[i])
		given += out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rest[a] > rest[b]:
			return -1
		case rest[a] < rest[b]:
			return 1
		}
		return 0
	})
	for _, i := range order[:n-given] {
		out[i]++
	}
	return out
}

func intsToFloats(xs []int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}
