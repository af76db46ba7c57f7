package main

// Value stream flow at scale (issue 6). Run:
//
//	THROUGHLINE_BENCH_SCALE=1 go test -run '^$' -bench FlowScale -benchtime 1x -timeout 2h ./cmd/throughline/
//
// It stores a synthetic two-year roadmap of 100,000 ideas shaped like the
// demo's (THROUGHLINE_BENCH_IDEAS to change) with the delivery events that
// move them through the stages, rebuilds every projection and flow signal
// from the raw events, and measures the value stream map page and the flow
// API under 32 concurrent clients. With THROUGHLINE_TEST_POSTGRES set it
// does the same on PostgreSQL.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/domain"
)

// flowHistory generates ideas and their events. Ideas are planned evenly
// over the period; each goes through change → build → test → publish →
// staging → production with demo-like delays, and some stop on the way:
// those planned lately are still in progress, a few are abandoned after
// coding. A third are linked to their team's key result and get a verdict
// once their evidence window has closed.
type flowHistory struct {
	ideas, teams int
	days         int
	end          time.Time
	rnd          *rand.Rand
	seq          int
}

var flowPrefixes = []string{"CHK", "PAY", "SRCH", "CAT", "NOT", "PLAT", "ACC", "SHIP", "INV", "REC"}

func (h *flowHistory) teamOf(i int) (team, service, prefix string) {
	t := i % h.teams
	return "team-" + strconv.Itoa(t), "svc-" + strconv.Itoa(t*2+(i/h.teams)%2), flowPrefixes[t%len(flowPrefixes)] + strconv.Itoa(t/len(flowPrefixes))
}

// idea returns idea i and its events (unsorted).
func (h *flowHistory) idea(i int, krs map[string]int64) (domain.Idea, []domain.Event) {
	span := time.Duration(h.days) * 24 * time.Hour
	start := h.end.Add(-span)
	planned := start.Add(time.Duration(float64(span) * (float64(i) + h.rnd.Float64()) / float64(h.ideas)))
	team, svc, prefix := h.teamOf(i)
	key := fmt.Sprintf("%s-%d", prefix, 100+i)
	types := []domain.FlowType{domain.FlowFeature, domain.FlowFeature, domain.FlowFeature, domain.FlowDefect, domain.FlowDefect, domain.FlowDebt, domain.FlowRisk}
	idea := domain.Idea{Key: key, Title: "Work item " + strconv.Itoa(i), Horizon: domain.HorizonNow, FlowType: types[h.rnd.IntN(len(types))],
		Team: team, Services: []string{svc}, PlannedAt: planned, CreatedAt: planned.Add(-time.Duration(h.rnd.IntN(30*24)) * time.Hour)}
	if h.rnd.IntN(3) == 0 {
		idea.KeyResults = []int64{krs[team]}
	}
	if h.rnd.IntN(20) == 0 { // not started: still on Next
		idea.Horizon, idea.PlannedAt = domain.HorizonNext, time.Time{}
		return idea, nil
	}
	var evs []domain.Event
	add := func(e domain.Event) bool {
		if e.Time.After(h.end) {
			return false
		}
		h.seq++
		e.Identity = domain.Identity{Source: "/bench/flow", ID: "f" + strconv.Itoa(h.seq)}
		evs = append(evs, e)
		return true
	}
	hours := func(lo, hi float64) time.Duration {
		return time.Duration((lo + h.rnd.Float64()*(hi-lo)) * float64(time.Hour))
	}
	change := fmt.Sprintf("%s#%d", svc, i)
	art := fmt.Sprintf("pkg:oci/%s@sha256:%d", svc, i)
	t := planned.Add(hours(2, 96))
	if !add(domain.Event{Kind: domain.KindChangeCreated, Time: t, SubjectID: change, Repository: svc, Title: key + ": " + idea.Title}) {
		return idea, evs
	}
	t = t.Add(hours(1, 30))
	if !add(domain.Event{Kind: domain.KindChangeReviewed, Time: t, SubjectID: change, Repository: svc}) || h.rnd.IntN(40) == 0 {
		return idea, evs
	}
	t = t.Add(hours(0.5, 20))
	if !add(domain.Event{Kind: domain.KindChangeMerged, Time: t, SubjectID: change, Repository: svc}) {
		return idea, evs
	}
	t = t.Add(hours(0.1, 0.5))
	add(domain.Event{Kind: domain.KindBuildFinished, Time: t, SubjectID: "build-" + strconv.Itoa(i), Artifact: art})
	if !add(domain.Event{Kind: domain.KindArtifactPackaged, Time: t, SubjectID: art, Artifact: art, Change: change}) {
		return idea, evs
	}
	if h.rnd.IntN(5) > 0 { // some teams run no tests Throughline hears of
		t = t.Add(hours(0.2, 6))
		add(domain.Event{Kind: "testsuiterun.finished", Time: t, SubjectID: "e2e-" + strconv.Itoa(i), Environment: "staging", Ideas: []string{key}})
	}
	t = t.Add(hours(0.1, 2))
	if !add(domain.Event{Kind: domain.KindArtifactPublish, Time: t, SubjectID: art, Artifact: art}) {
		return idea, evs
	}
	t = t.Add(hours(1, 60))
	if !add(domain.Event{Kind: domain.KindServiceDeployed, Time: t, SubjectID: svc, Service: svc, Environment: "production", Artifact: art, Team: team}) {
		return idea, evs
	}
	if h.rnd.IntN(33) == 0 {
		inc := "inc-" + strconv.Itoa(i)
		s := t.Add(hours(1, 20))
		add(domain.Event{Kind: domain.KindIncidentDetected, Time: s, SubjectID: inc, Service: svc, Environment: "production", Artifact: art})
		add(domain.Event{Kind: domain.KindIncidentResolved, Time: s.Add(hours(0.5, 30)), SubjectID: inc, Service: svc, Environment: "production"})
	}
	if len(idea.KeyResults) > 0 && h.rnd.IntN(5) > 0 {
		if v := t.Add(15*24*time.Hour + hours(0, 24*20)); v.Before(h.end) {
			idea.Verdict, idea.VerdictAt, idea.VerdictBy = domain.VerdictValidated, v, "bench"
		}
	}
	return idea, evs
}

func BenchmarkFlowScale(b *testing.B) {
	ideas := scaleParam(b, "THROUGHLINE_BENCH_IDEAS", 100_000, "100,000 ideas and a million events")
	eachBackend(b, func(b *testing.B, backend string) { runFlowScale(b, backend, ideas) })
}

func runFlowScale(b *testing.B, backend string, n int) {
	ctx := context.Background()
	cfg, store := benchStore(b, backend)
	h := &flowHistory{ideas: n, teams: 25, days: 730, end: time.Now().UTC().Truncate(time.Hour), rnd: rand.New(rand.NewPCG(5, 6))}

	// 1. The roadmap: an objective and key result per team, then the ideas.
	krs := map[string]int64{}
	for t := 0; t < h.teams; t++ {
		team := "team-" + strconv.Itoa(t)
		o, err := store.CreateObjective(ctx, domain.Objective{Title: "Objective of " + team}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		kr, err := store.CreateKeyResult(ctx, domain.KeyResult{ObjectiveID: o.ID, Title: "Conversion of " + team, Metric: "conversion." + team,
			Baseline: 0.03, Target: 0.04, Direction: domain.Increase}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		krs[team] = kr.ID
	}
	start := time.Now()
	var batch []domain.Idea
	var events []domain.Event
	for i := 0; i < n; i++ {
		idea, evs := h.idea(i, krs)
		idea.Position = i
		batch = append(batch, idea)
		events = append(events, evs...)
		if len(batch) == 5000 {
			if _, err := store.ImportIdeas(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := store.ImportIdeas(ctx, batch); err != nil {
		b.Fatal(err)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	im := &eventImporter{b: b, store: store}
	for _, ev := range events {
		im.add(ev)
	}
	im.flush()
	b.Logf("%s: stored %d ideas and %d raw events in %s", backend, n, len(events), time.Since(start).Round(time.Second))

	// 2. Rebuild: projections, DORA state and every idea's flow signals.
	dec, _ := cdevents.NewDecoder("")
	res, err := rebuild(ctx, store, dec)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: rebuilt %d events and %d ideas' flow in %s", backend, res.events, n, res.took.Round(time.Second))
	b.ReportMetric(res.took.Seconds(), "rebuild-s")
	b.ReportMetric(float64(len(events)), "events")
	t0 := time.Now()
	if _, _, err := store.FlowItems(ctx); err != nil {
		b.Fatal(err)
	}
	load := time.Since(t0)
	b.Logf("%s: loading all %d flow rows into memory (once per process, in the background at start): %.0f ms", backend, n, ms(load))
	b.ReportMetric(ms(load), "load-flow-rows-ms")
	whole, err := store.CreateValueStream(ctx, domain.ValueStream{Name: "Whole product", Stages: domain.DefaultStages()}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	team, err := store.CreateValueStream(ctx, domain.ValueStream{Name: "Team 3", Teams: []string{"team-3"}, Stages: domain.DefaultStages()}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	store.Close()

	// 3. Serve it and measure.
	app, tok := benchServe(b, cfg)
	get := func(path string) (*http.Response, time.Duration) {
		req, _ := http.NewRequest(http.MethodGet, app.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		t := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, time.Since(t)
	}
	// The first request after start: the flow rows are loading or loaded.
	resp, first := get(fmt.Sprintf("/api/v1/value-streams/%d/flow", whole.ID))
	if resp.StatusCode != 200 {
		b.Fatalf("flow: %d", resp.StatusCode)
	}
	b.Logf("%s: first flow request after start: %.0f ms", backend, ms(first))
	b.ReportMetric(ms(first), "first-request-ms")
	r, err := app.Store.Flow(ctx, &whole, mustWindow(h.end.AddDate(0, 0, -89), h.end), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: whole product, last 90 days: %d in progress, %d finished, flow time median %s, constraint %v",
		backend, r.WIP, r.Done, domain.HumanSeconds(*r.FlowTime.Median), constraintName(r.Constraint))

	rnd := rand.New(rand.NewPCG(7, 8))
	var rndMu sync.Mutex
	randomWindow := func(id int64) func(*http.Client) (*http.Request, error) {
		return func(*http.Client) (*http.Request, error) {
			rndMu.Lock()
			to := domain.Midnight(h.end).AddDate(0, 0, -rnd.IntN(600))
			span := []int{30, 90, 182}[rnd.IntN(3)]
			rndMu.Unlock()
			q := url.Values{"from": {to.AddDate(0, 0, -span+1).Format(domain.DateLayout)}, "to": {to.Format(domain.DateLayout)}}
			req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/value-streams/%d/flow?%s", app.URL(), id, q.Encode()), nil)
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			return req, err
		}
	}
	page := func(id int64) func(*http.Client) (*http.Request, error) {
		return func(*http.Client) (*http.Request, error) {
			return http.NewRequest(http.MethodGet, fmt.Sprintf("%s/value-streams/%d", app.URL(), id), nil)
		}
	}
	for _, tc := range []struct {
		name    string
		req     func(*http.Client) (*http.Request, error)
		signIn  bool
		clients int
	}{
		// One person at a time: the latency a user sees.
		{"page-whole-90d-1client", page(whole.ID), true, 1},
		{"page-team-90d-1client", page(team.ID), true, 1},
		{"api-whole-random-windows-1client", randomWindow(whole.ID), false, 1},
		// 32 at once on 2 cores: queueing included.
		{"page-whole-90d", page(whole.ID), true, 32},
		{"page-team-90d", page(team.ID), true, 32},
		{"api-whole-random-windows", randomWindow(whole.ID), false, 32},
		{"api-team-random-windows", randomWindow(team.ID), false, 32},
	} {
		p50, p99, count := loadTest(b, app.URL(), tc.req, tc.signIn, tc.clients, 20*time.Second)
		b.Logf("%s %s: %d requests, p50 %.1f ms, p99 %.1f ms", backend, tc.name, count, ms(p50), ms(p99))
		b.ReportMetric(ms(p50), tc.name+"-p50-ms")
		b.ReportMetric(ms(p99), tc.name+"-p99-ms")
	}
}

func mustWindow(from, to time.Time) domain.Window {
	w, err := domain.NewWindow(from, to)
	if err != nil {
		panic(err)
	}
	return w
}

func constraintName(c *domain.Constraint) string {
	if c == nil {
		return "none"
	}
	return c.Name
}
