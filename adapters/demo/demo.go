// Package demo generates a realistic delivery and telemetry history: CDEvents
// for changes, builds, tests, deployments and incidents across a handful of
// services, hourly telemetry whose outcome metrics move when ideas ship, the
// roadmap ideas and small work items those changes work on, and the verdicts
// a product manager recorded on shipped ideas. It is what a new user sees on
// first start (throughline serve --demo) and what load tests publish
// (Scale > 1).
//
// The history is deterministic: the same Options give byte-identical events.
package demo

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/throughline/throughline/domain"
)

// Options choose the history to generate. Zero values take the defaults.
type Options struct {
	Days  int       // length of history, default 90
	Seed  int64     // default 1; same seed + options => byte-identical events
	End   time.Time // end of history (UTC); default: today 00:00 UTC
	Scale int       // multiplies the number of services (default 1); used for load tests
}

// KeyResult is the measurable outcome an idea is expected to move.
type KeyResult struct {
	Metric     string
	Attributes map[string]string
	Baseline   float64
	Target     float64
	Direction  string // "increase" or "decrease"
	Due        time.Time
	Unit       string // as domain.Unit: "percent", "ms", …
}

// IdeaSpec is a roadmap idea the demo history works on.
type IdeaSpec struct {
	Key, Title, Problem, Hypothesis string
	Horizon                         string // now, next or later
	FlowType                        string // feature, defect, risk or debt
	Team                            string
	KeyResult                       *KeyResult
	Objective                       string
	Reach, Impact, Confidence       float64
	Effort                          float64
	Services                        []string
	// PlanLead is how long before its first linked event the idea was
	// planned (moved to Now).
	PlanLead time.Duration
}

// ServiceSpec is a service that appears in the history and its owning team.
type ServiceSpec struct {
	Name, Team string
}

// Verdict is a product manager's conclusion about a shipped idea, recorded
// after its evidence window closed.
type Verdict struct {
	Verdict string // validated or invalidated
	At      time.Time
	Note    string
}

// History is a generated demo history.
type History struct {
	Events []domain.CloudEvent // sorted by event time, then ID
	// Ideas are the roadmap ideas, then the small work items (fixes,
	// upgrades, tweaks) that some ordinary changes work on.
	Ideas    []IdeaSpec
	Services []ServiceSpec
	Verdicts map[string]Verdict // by idea key
}

// Environment ids of every deployment; "production" is in Throughline's
// default --production-envs.
const (
	envProduction = "production"
	envStaging    = "staging"
)

// Generate builds the history described by o.
func Generate(o Options) History {
	o = o.withDefaults()
	g := newGenerator(o)

	services := g.services(o.Scale)
	base := map[string]*service{}
	var bases []*service // in profile order
	for _, s := range services {
		if s.copy == 1 {
			base[s.name] = s
			bases = append(bases, s)
		}
	}
	for _, s := range services {
		g.planSlots(s)
	}
	// Incidents that must match no deployment are planned first: they keep
	// their services quiet around them, which failures then respect.
	g.planUnattributed(base)
	for _, s := range services {
		g.planFailures(s)
	}
	g.ensureRemedies(services)
	shipped := g.assignIdeas(base)
	// Only the base services get work items, so that load tests (Scale > 1)
	// do not multiply the roadmap.
	items := g.planWorkItems(bases, o.Days)

	for _, s := range services {
		g.emitService(s)
	}
	g.emitIncidents()
	g.emitTelemetry(services, shipped)

	slices.SortFunc(g.events, func(a, b domain.CloudEvent) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	h := History{Events: g.events, Ideas: append(ideaSpecs(o.End), items...)}
	for _, s := range services {
		h.Services = append(h.Services, ServiceSpec{Name: s.name, Team: s.team})
	}
	h.Verdicts = g.verdicts(h.Ideas, shipped)
	return h
}

func (o Options) withDefaults() Options {
	if o.Days <= 0 {
		o.Days = 90
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.End.IsZero() {
		o.End = time.Now().UTC().Truncate(24 * time.Hour)
	}
	o.End = o.End.UTC()
	if o.Scale <= 0 {
		o.Scale = 1
	}
	return o
}

// generator holds the state of one Generate call.
type generator struct {
	rng        *rand.Rand
	idKey      uint64
	seq        uint64
	start, end time.Time
	events     []domain.CloudEvent
	incidents  []*incident
	ideaCount  map[string]int // changes made so far per idea
}

func newGenerator(o Options) *generator {
	seed := uint64(o.Seed)
	return &generator{
		rng:   rand.New(rand.NewPCG(seed, mix64(seed^0x5eed))),
		idKey: mix64(seed ^ 0x1d5),
		start: o.End.Add(-time.Duration(o.Days) * 24 * time.Hour),
		end:   o.End,

		ideaCount: map[string]int{},
	}
}

// span is the length of the history.
func (g *generator) span() time.Duration { return g.end.Sub(g.start) }

// at is the moment a fraction of the way through the history.
func (g *generator) at(frac float64) time.Time {
	return g.start.Add(time.Duration(frac * float64(g.span())))
}

// dur draws a duration uniformly from [lo, hi).
func (g *generator) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

// logNormal draws a duration around median, clamped to [lo, hi]: review and
// repair times have long right tails.
func (g *generator) logNormal(median time.Duration, sigma float64, lo, hi time.Duration) time.Duration {
	d := time.Duration(float64(median) * math.Exp(sigma*g.rng.NormFloat64()))
	return min(max(d, lo), hi)
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// pick draws an index with the given weights.
func (g *generator) pick(weights []float64) int {
	var total float64
	for _, w := range weights {
		total += w
	}
	r := g.rng.Float64() * total
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}

// hex draws n random hexadecimal digits.
func (g *generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

// nextID is a UUID-shaped event id. The low half is a bijection of the
// counter, so ids never repeat within a history; the seed changes them all.
func (g *generator) nextID() string {
	g.seq++
	lo := mix64(g.seq ^ g.idKey)
	hi := mix64(lo ^ 0x9e3779b97f4a7c15)
	hi = hi&^0xf000 | 0x4000
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 36)
	put := func(v uint64, n int) {
		for i := n - 1; i >= 0; i-- {
			b = append(b, digits[(v>>(4*uint(i)))&0xf])
		}
	}
	put(hi>>32, 8)
	b = append(b, '-')
	put(hi>>16, 4)
	b = append(b, '-')
	put(hi, 4)
	b = append(b, '-')
	put(lo>>48, 4)
	b = append(b, '-')
	put(lo, 12)
	return string(b)
}

// mix64 is the splitmix64 finaliser, a bijection on uint64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
