package demo

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/throughline/throughline/domain"
)

// kindTestSuiteFinished is read by Throughline (domain.EventKind.IsTestRun)
// but has no constant in domain.
const kindTestSuiteFinished domain.EventKind = "testsuiterun.finished"

// change is a pull request and its life.
type change struct {
	id, title, branch string
	key               string   // the idea it works on, however it is linked
	ideas             []string // customData.ideas
	created, reviewed time.Time
	merged, abandoned time.Time
}

// release is what one production deployment ships: its changes, the
// pipeline run that built and tested them and the staging deployment.
type release struct {
	changes                            []*change
	pipeStart, buildStart, buildFinish time.Time
	published, pipeFinish, staging     time.Time
	failedRun                          time.Time // an earlier run that failed, or zero
	tests                              []time.Time
	flakyTest                          bool      // the first test run failed and was re-run
	prod                               time.Time // zero: not in production by the end
}

// ideaKeys are the ideas the release's changes work on, sorted.
func (r release) ideaKeys() []string {
	var keys []string
	for _, c := range r.changes {
		if c.key != "" && !slices.Contains(keys, c.key) {
			keys = append(keys, c.key)
		}
	}
	slices.Sort(keys)
	return keys
}

// emitService emits every change, build, test and deployment of a service,
// in time order, and the rollbacks of failed deployments.
func (g *generator) emitService(s *service) {
	var current string // artifact live in production
	var prevPipe, lastTest time.Time
	for _, d := range s.live() {
		before := current
		var r release
		if d.hotfix {
			r = g.hotfixRelease(s, d)
		} else {
			r = g.regularRelease(s, d, prevPipe, lastTest)
			prevPipe = r.pipeStart
		}
		lastTest = r.tests[len(r.tests)-1]
		g.emitRelease(s, d, r)
		current = d.artifact
		if d.failure != nil && d.remedy == remedyRollback && before != "" {
			g.emitDeployment(s, domain.KindServiceRollback, envProduction, d.rollbackAt, before, false)
			current = before
		}
		if g.chance(0.06) {
			g.emitAbandoned(s, d.at)
		}
	}
	g.emitInFlight(s, prevPipe, lastTest)
	g.emitOpenWork(s)
}

// regularRelease plans backwards from the production deployment: staging
// 1–4h before it, the pipeline before that, and the merges before the build.
// Staging waits until the previous release's tests are over, so a test run
// always tests the artifact deployed to staging just before it.
func (g *generator) regularRelease(s *service, d *deployment, prevPipe, lastTest time.Time) release {
	staging := d.at.Add(-g.dur(time.Hour, 4*time.Hour))
	if !lastTest.IsZero() && staging.Before(lastTest.Add(2*time.Minute)) {
		staging = lastTest.Add(g.dur(2*time.Minute, 10*time.Minute))
	}
	r := g.stagedRelease(s, staging, d.ideas, prevPipe)
	r.prod = d.at
	return r
}

// stagedRelease plans backwards from a staging deployment: the pipeline
// before it and the merges of the changes it carries (the ideas' changes and
// some ordinary ones) before the build.
func (g *generator) stagedRelease(s *service, staging time.Time, ideas []ideaWork, prevPipe time.Time) release {
	var r release
	r.staging = staging
	r.published = r.staging.Add(-g.dur(2*time.Minute, 8*time.Minute))
	r.pipeFinish = r.published.Add(g.dur(20*time.Second, 90*time.Second))
	r.buildFinish = r.published.Add(-g.dur(2*time.Minute, 6*time.Minute))
	r.buildStart = r.buildFinish.Add(-g.dur(4*time.Minute, 14*time.Minute))
	r.pipeStart = r.buildStart.Add(-g.dur(10*time.Second, time.Minute))
	r.tests = []time.Time{r.staging.Add(g.dur(8*time.Minute, 30*time.Minute))}
	if g.chance(0.06) {
		r.flakyTest = true
		r.tests = append(r.tests, r.tests[0].Add(g.dur(10*time.Minute, 25*time.Minute)))
	}

	lastMerge := r.pipeStart.Add(-g.dur(time.Minute, 20*time.Minute))
	if g.chance(0.05) {
		lastMerge = r.pipeStart.Add(-g.dur(40*time.Minute, 90*time.Minute))
		r.failedRun = lastMerge.Add(g.dur(time.Minute, 5*time.Minute))
	}
	// Merges stay inside the history, so every change has an event that
	// says which idea it works on.
	lower := maxTime(lastMerge.Add(-36*time.Hour), g.start)
	if prevPipe.After(lower) {
		lower = prevPipe.Add(time.Minute)
	}
	if !lower.Before(lastMerge) {
		lower = lastMerge.Add(-30 * time.Minute)
	}

	for _, w := range ideas {
		for range w.n {
			r.changes = append(r.changes, g.ideaChange(s, w.plan))
		}
	}
	for n := 1 + g.pick([]float64{0.35, 0.3, 0.2, 0.15}); len(r.changes) < n; {
		r.changes = append(r.changes, g.ordinaryChange(s))
	}
	merges := make([]time.Time, len(r.changes))
	for i := range merges {
		merges[i] = g.workingTime(func() time.Time { return lower.Add(g.dur(0, lastMerge.Sub(lower))) })
	}
	// Idea changes come first in r.changes; any of them may be the one
	// whose merge started the pipeline.
	merges[g.rng.IntN(len(merges))] = lastMerge
	for i, c := range r.changes {
		c.merged = merges[i]
		c.created = g.workingTime(func() time.Time {
			return c.merged.Add(-g.logNormal(18*time.Hour, 1.1, time.Hour, 6*24*time.Hour))
		})
		c.reviewed = g.workingTime(func() time.Time {
			return c.created.Add(time.Duration(float64(c.merged.Sub(c.created)) * (0.55 + 0.42*g.rng.Float64())))
		})
	}
	return r
}

// workingTime draws until the time falls on a weekday between 07:00 and
// 19:00 UTC, where most people open, review and merge changes; after a few
// tries it keeps the last draw, as some people work late.
func (g *generator) workingTime(draw func() time.Time) time.Time {
	var t time.Time
	for range 6 {
		t = draw()
		wd := t.Weekday()
		if wd != time.Saturday && wd != time.Sunday && t.Hour() >= 7 && t.Hour() < 19 {
			break
		}
	}
	return t
}

// hotfixRelease plans forwards from the incident the hotfix repairs: a small
// change opened minutes after detection, fast-tracked through the pipeline.
func (g *generator) hotfixRelease(s *service, d *deployment) release {
	var r release
	c := g.newChange(s)
	c.title = s.hotfixes[g.rng.IntN(len(s.hotfixes))]
	c.branch = "hotfix/" + slug(strings.TrimPrefix(c.title, "Hotfix: "))
	c.created = d.fixes.detected.Add(g.dur(10*time.Minute, 25*time.Minute))
	c.reviewed = c.created.Add(g.dur(5*time.Minute, 15*time.Minute))
	c.merged = c.reviewed.Add(g.dur(3*time.Minute, 10*time.Minute))
	r.changes = []*change{c}
	r.pipeStart = c.merged.Add(g.dur(time.Minute, 3*time.Minute))
	r.buildStart = r.pipeStart.Add(20 * time.Second)
	r.buildFinish = r.buildStart.Add(g.dur(4*time.Minute, 8*time.Minute))
	r.published = r.buildFinish.Add(g.dur(time.Minute, 3*time.Minute))
	r.pipeFinish = r.published.Add(30 * time.Second)
	r.staging = r.pipeFinish.Add(g.dur(2*time.Minute, 5*time.Minute))
	r.tests = []time.Time{r.staging.Add(g.dur(8*time.Minute, 15*time.Minute))}
	r.prod = d.at // planned at least 100 minutes after detection
	return r
}

// emitRelease emits a release's events and records its artifact on d.
func (g *generator) emitRelease(s *service, d *deployment, r release) {
	d.artifact = "pkg:oci/" + s.name + "@sha256:" + g.hex(64)
	for _, c := range r.changes {
		g.emitChange(s, c)
	}
	if !r.failedRun.IsZero() {
		s.run++
		run := strconv.Itoa(s.run)
		end := r.failedRun.Add(g.dur(8*time.Minute, 20*time.Minute))
		g.emitPipeline(s, s.name+"-release-"+run, r.failedRun, end, false)
		g.emitBuild(s, s.name+"-build-"+run, r.failedRun.Add(20*time.Second), end.Add(-time.Minute), "")
	}
	s.run++
	run := strconv.Itoa(s.run)
	g.emitPipeline(s, s.name+"-release-"+run, r.pipeStart, r.pipeFinish, true)
	g.emitBuild(s, s.name+"-build-"+run, r.buildStart, r.buildFinish, d.artifact)
	for i, c := range r.changes {
		content := map[string]any{"change": map[string]any{"id": c.id, "source": "/github/" + s.repo}}
		at := r.buildFinish.Add(time.Duration(5+3*i) * time.Second)
		g.emit(s.spec, domain.KindArtifactPackaged, at, "/tekton/ci", cdSubject{ID: d.artifact, Source: "/tekton/ci", Content: content}, nil)
	}
	// Test runs name the ideas whose changes they test (customData.ideas):
	// the unit suite in CI between the build and the publish (halfway, so
	// that it draws nothing from the generator), then end-to-end in staging.
	var testCustom map[string]any
	if keys := r.ideaKeys(); len(keys) > 0 {
		testCustom = map[string]any{"ideas": keys}
	}
	unitAt := r.buildFinish.Add(r.published.Sub(r.buildFinish) / 2)
	g.emit(s.spec, kindTestSuiteFinished, unitAt, "/tekton/ci", cdSubject{ID: s.name + "-unit-" + run, Source: "/tekton/ci", Content: map[string]any{
		"outcome":     s.spec.outcome(true),
		"environment": map[string]any{"id": "ci", "source": "/tekton/ci"},
		"testSuite":   map[string]any{"id": s.name + "-unit", "name": s.name + " unit tests", "version": "1"},
	}}, testCustom)
	g.emit(s.spec, domain.KindArtifactPublish, r.published, "/tekton/ci", cdSubject{ID: d.artifact, Source: "/tekton/ci"}, nil)
	g.emitDeployment(s, domain.KindServiceDeployed, envStaging, r.staging, d.artifact, false)
	for i, at := range r.tests {
		ok := !(r.flakyTest && i == 0)
		content := map[string]any{
			"outcome":     s.spec.outcome(ok),
			"environment": map[string]any{"id": envStaging, "source": "/argo/" + envStaging},
			"testSuite":   map[string]any{"id": s.name + "-e2e", "name": s.name + " end-to-end", "version": "1"},
		}
		if !ok {
			content["reason"] = "2 of 148 tests failed: timeout waiting for fixture"
		}
		id := s.name + "-e2e-" + run
		if i > 0 {
			id += "-rerun"
		}
		g.emit(s.spec, kindTestSuiteFinished, at, "/testkube/"+envStaging, cdSubject{ID: id, Source: "/testkube/" + envStaging, Content: content}, testCustom)
	}
	if !r.prod.IsZero() {
		g.emitDeployment(s, s.prodKind, envProduction, r.prod, d.artifact, d.hotfix)
	}
}

func (g *generator) emitPipeline(s *service, id string, start, finish time.Time, ok bool) {
	uriKey := "uri"
	if s.spec.v04() {
		uriKey = "url"
	}
	uri := "https://tekton.acme.example/runs/" + id
	name := s.name + "-release"
	g.emit(s.spec, domain.KindPipelineStarted, start, "/tekton/ci",
		cdSubject{ID: id, Source: "/tekton/ci", Content: map[string]any{"pipelineName": name, uriKey: uri}}, nil)
	content := map[string]any{"pipelineName": name, uriKey: uri, "outcome": s.spec.outcome(ok)}
	if !ok {
		content["errors"] = "unit tests failed"
	}
	g.emit(s.spec, domain.KindPipelineFinished, finish, "/tekton/ci", cdSubject{ID: id, Source: "/tekton/ci", Content: content}, nil)
}

func (g *generator) emitBuild(s *service, id string, start, finish time.Time, artifact string) {
	g.emit(s.spec, domain.KindBuildStarted, start, "/tekton/ci", cdSubject{ID: id, Source: "/tekton/ci"}, nil)
	content := map[string]any{}
	if artifact != "" {
		content["artifactId"] = artifact
	}
	g.emit(s.spec, domain.KindBuildFinished, finish, "/tekton/ci", cdSubject{ID: id, Source: "/tekton/ci", Content: content}, nil)
}

func (g *generator) emitDeployment(s *service, kind domain.EventKind, env string, at time.Time, artifact string, hotfix bool) {
	content := map[string]any{
		"environment": map[string]any{"id": env, "source": "/argo"},
		"artifactId":  artifact,
	}
	custom := map[string]any{"team": s.team}
	if hotfix {
		custom["hotfix"] = true
	}
	src := "/argo/" + env
	g.emit(s.spec, kind, at, src, cdSubject{ID: s.name, Source: src, Content: content}, custom)
}

func (g *generator) emitChange(s *service, c *change) {
	src := "/github/" + s.repo
	subj := cdSubject{ID: c.id, Source: src, Content: map[string]any{
		"repository": map[string]any{"id": s.repo, "source": "https://github.com"},
	}}
	custom := map[string]any{"title": c.title, "branch": c.branch}
	if len(c.ideas) > 0 {
		custom["ideas"] = c.ideas
	}
	g.emit(s.spec, domain.KindChangeCreated, c.created, src, subj, custom)
	if !c.reviewed.IsZero() {
		g.emit(s.spec, domain.KindChangeReviewed, c.reviewed, src, subj, custom)
	}
	if !c.merged.IsZero() {
		g.emit(s.spec, domain.KindChangeMerged, c.merged, src, subj, custom)
	}
	if !c.abandoned.IsZero() {
		g.emit(s.spec, domain.KindChangeAbandoned, c.abandoned, src, subj, custom)
	}
}

// emitAbandoned emits a change that was opened and given up before t.
func (g *generator) emitAbandoned(s *service, t time.Time) {
	c := g.ordinaryChange(s)
	c.created = t.Add(-g.dur(24*time.Hour, 8*24*time.Hour))
	c.abandoned = c.created.Add(g.dur(2*time.Hour, 5*24*time.Hour))
	if c.abandoned.After(t) {
		c.abandoned = t
	}
	g.emitChange(s, c)
}

// emitInFlight emits the release on its way to production at the end of
// the history: the staged work items' changes (and some ordinary ones)
// merged, built, published and deployed to staging in the last working
// hours of the history, after the previous release's tests. When there is no
// room for it, its changes stay open instead.
func (g *generator) emitInFlight(s *service, prevPipe, lastTest time.Time) {
	if len(s.staged) == 0 {
		return
	}
	lo := maxTime(g.end.Add(-4*24*time.Hour), g.start.Add(12*time.Hour))
	if !lastTest.IsZero() {
		lo = maxTime(lo, lastTest.Add(10*time.Minute))
	}
	hi := g.end.Add(-40 * time.Minute)
	if !lo.Before(hi) {
		s.pending = append(s.pending, s.staged...)
		return
	}
	lo, hi = latestWorkingHours(lo, hi)
	staging := lo.Add(g.dur(0, hi.Sub(lo)))
	g.emitRelease(s, &deployment{}, g.stagedRelease(s, staging, s.staged, prevPipe))
}

// latestWorkingHours narrows [lo, hi] to its last stretch of weekday working
// hours (07:00–19:00 UTC); without one it is left as it is.
func latestWorkingHours(lo, hi time.Time) (time.Time, time.Time) {
	for day := hi.Truncate(24 * time.Hour); day.Add(24 * time.Hour).After(lo); day = day.Add(-24 * time.Hour) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		from, to := maxTime(lo, day.Add(7*time.Hour)), minTime(hi, day.Add(19*time.Hour))
		if from.Before(to) {
			return from, to
		}
	}
	return lo, hi
}

// emitOpenWork emits changes still open at the end of the history: ideas
// and work items not yet shipped (opened within the history, so that each
// has an event) and ordinary work in review or merged but not deployed.
func (g *generator) emitOpenWork(s *service) {
	var open []*change
	for _, w := range s.pending {
		for range w.n {
			c := g.ideaChange(s, w.plan)
			c.created = g.end.Add(-g.dur(6*time.Hour, min(5*24*time.Hour, g.span()-time.Hour)))
			open = append(open, c)
		}
	}
	for range 1 + g.rng.IntN(3) {
		c := g.ordinaryChange(s)
		c.created = g.end.Add(-g.dur(time.Hour, 6*24*time.Hour))
		open = append(open, c)
	}
	for _, c := range open {
		left := g.end.Sub(c.created)
		if g.chance(0.5) {
			c.reviewed = c.created.Add(time.Duration(float64(left) * (0.3 + 0.6*g.rng.Float64())))
			if g.chance(0.4) {
				c.merged = c.reviewed.Add(time.Duration(float64(g.end.Sub(c.reviewed)) * (0.2 + 0.7*g.rng.Float64())))
			}
		}
		g.emitChange(s, c)
	}
}

// newChange opens the next pull request of the service.
func (g *generator) newChange(s *service) *change {
	c := &change{id: s.repo + "#" + strconv.Itoa(s.pr)}
	s.pr++
	return c
}

func (g *generator) ordinaryChange(s *service) *change {
	c := g.newChange(s)
	c.title = s.titles[g.rng.IntN(len(s.titles))]
	prefix, name := branchName(c.title)
	c.branch = prefix + name
	return c
}

// branchName is the usual branch of a change with this title: a prefix
// after the kind of work (fix/, chore/, security/, feat/) and a slug.
func branchName(title string) (prefix, name string) {
	switch flowTypeOf(title) {
	case "defect":
		_, rest, _ := strings.Cut(title, " ")
		return "fix/", slug(rest)
	case "debt":
		return "chore/", slug(title)
	case "risk":
		return "security/", slug(title)
	}
	return "feat/", slug(title)
}

// ideaChange is a change working on an idea. Producers link work to ideas in
// three ways, all exercised: customData.ideas, the key in the title, and the
// key in the branch name.
func (g *generator) ideaChange(s *service, p *ideaPlan) *change {
	i := g.ideaCount[p.key]
	g.ideaCount[p.key]++
	c := g.newChange(s)
	c.key = p.key
	c.title = p.titles[i%len(p.titles)]
	prefix := cmp.Or(p.branch, "feature/")
	c.branch = prefix + p.slug
	switch (i + p.link) % 3 {
	case 0:
		c.ideas = []string{p.key}
	case 1:
		c.title = p.key + ": " + c.title
	case 2:
		c.branch = prefix + p.key + "-" + p.slug
	}
	return c
}

// slug is a lower-case branch name fragment, so it never looks like an idea key.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
