package main

// DORA at scale (issue 4). Run:
//
//	THROUGHLINE_BENCH_SCALE=1 go test -run '^$' -bench DORAScale -benchtime 1x -timeout 3h ./cmd/throughline/
//
// It stores a synthetic two-year history of 1,000,000 production
// deployments (THROUGHLINE_BENCH_DEPLOYMENTS to change), with their changes
// and incidents, times `rebuild` over it, and then measures GET /api/v1/dora,
// the DORA page, the overview and the trend pages (issue 7) under 32
// concurrent clients. With
// THROUGHLINE_TEST_POSTGRES set it does the same on PostgreSQL.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// scaleHistory streams a synthetic history in time order, per day: every
// service deploys on most days; each production deployment carries one or two
// changes (created and merged before it, packaged into its artifact); about
// 4% of deployments are followed by an incident, half of which name the
// artifact, and a third of those are rolled back.
type scaleHistory struct {
	services, perDay int
	days             int
	end              time.Time
	rnd              *rand.Rand
	seq              int
}

func (h *scaleHistory) id() string {
	h.seq++
	return "s" + strconv.Itoa(h.seq)
}

// day returns the events of one day (d from 0), sorted by time.
func (h *scaleHistory) day(d int) []domain.Event {
	base := h.end.AddDate(0, 0, d-h.days)
	var evs []domain.Event
	add := func(e domain.Event) {
		e.Identity = domain.Identity{Source: "/bench", ID: h.id()}
		evs = append(evs, e)
	}
	for s := 0; s < h.services; s++ {
		svc := "svc-" + strconv.Itoa(s)
		team := "team-" + strconv.Itoa(s%40)
		for k := 0; k < h.perDay; k++ {
			at := base.Add(time.Duration(h.rnd.Int64N(int64(24 * time.Hour))))
			art := fmt.Sprintf("pkg:oci/%s@sha256:%d", svc, h.seq)
			for c := 0; c <= h.seq%2; c++ {
				change := fmt.Sprintf("%s#%d", svc, h.seq)
				created := at.Add(-time.Duration(1+h.rnd.Int64N(120)) * time.Hour)
				merged := at.Add(-time.Duration(10+h.rnd.Int64N(600)) * time.Minute)
				if merged.Before(created) {
					merged = created.Add(time.Minute)
				}
				add(domain.Event{Kind: domain.KindChangeCreated, Time: created, SubjectID: change, Repository: svc})
				add(domain.Event{Kind: domain.KindChangeMerged, Time: merged, SubjectID: change, Repository: svc})
				add(domain.Event{Kind: domain.KindArtifactPackaged, Time: merged.Add(time.Minute), SubjectID: art, Artifact: art, Change: change})
			}
			add(domain.Event{Kind: domain.KindServiceDeployed, Time: at, SubjectID: svc, Service: svc, Environment: "production", Artifact: art, Team: team})
			if h.rnd.IntN(100) < 4 {
				inc := "inc-" + h.id()
				start := at.Add(time.Duration(10+h.rnd.Int64N(300)) * time.Minute)
				named := ""
				if h.rnd.IntN(2) == 0 {
					named = art
				}
				add(domain.Event{Kind: domain.KindIncidentDetected, Time: start, SubjectID: inc, Service: svc, Environment: "production", Artifact: named})
				add(domain.Event{Kind: domain.KindIncidentResolved, Time: start.Add(time.Duration(20+h.rnd.Int64N(240)) * time.Minute), SubjectID: inc, Service: svc, Environment: "production"})
				if h.rnd.IntN(3) == 0 {
					add(domain.Event{Kind: domain.KindServiceRollback, Time: start.Add(5 * time.Minute), SubjectID: svc, Service: svc, Environment: "production", Artifact: art + "-prev", Team: team})
				}
			}
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	return evs
}

func BenchmarkDORAScale(b *testing.B) {
	deployments := scaleParam(b, "THROUGHLINE_BENCH_DEPLOYMENTS", 1_000_000, "millions of events")
	eachBackend(b, func(b *testing.B, backend string) { runScale(b, backend, deployments) })
}

// scaleParam skips a scale benchmark unless THROUGHLINE_BENCH_SCALE=1 and
// reads its size from env (def when unset).
func scaleParam(b *testing.B, env string, def int, what string) int {
	if os.Getenv("THROUGHLINE_BENCH_SCALE") != "1" {
		b.Skip("set THROUGHLINE_BENCH_SCALE=1: this benchmark stores " + what)
	}
	if v := os.Getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("%s: %v", env, err)
		}
		return n
	}
	return def
}

// eachBackend runs f on SQLite, then on PostgreSQL when the test database
// is set.
func eachBackend(b *testing.B, f func(b *testing.B, backend string)) {
	backends := []string{"sqlite"}
	if os.Getenv(sqltest.PostgresEnv) != "" {
		backends = append(backends, "postgres")
	}
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f(b, backend)
			}
		})
	}
}

// benchStore opens and migrates a fresh database of the backend.
func benchStore(b *testing.B, backend string) (Config, *sqlstore.Store) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Addr, cfg.NATSListen = b.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	if backend == "postgres" {
		cfg.DB = sqltest.PostgresDSN(b)
	}
	store, err := openStore(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return cfg, store
}

// eventImporter stores raw CloudEvents in batches, as a bulk import does.
type eventImporter struct {
	b     *testing.B
	store *sqlstore.Store
	batch []domain.EventRecord
	n     int
}

func (im *eventImporter) add(ev domain.Event) {
	ce, err := cdevents.FromEvent(ev)
	if err != nil {
		im.b.Fatal(err)
	}
	ev.Type = ce.Type
	raw, _ := cdevents.EncodeStructured(ce)
	im.batch = append(im.batch, domain.EventRecord{Event: ev, Raw: raw})
	im.n++
	if len(im.batch) == 10_000 {
		im.flush()
	}
}

func (im *eventImporter) flush() {
	if _, err := im.store.ImportEvents(context.Background(), im.batch); err != nil {
		im.b.Fatal(err)
	}
	im.batch = im.batch[:0]
}

// benchServe starts the app on cfg's database with a read token and a
// viewer who can sign in (benchSignIn).
func benchServe(b *testing.B, cfg Config) (*App, string) {
	ctx := context.Background()
	app := NewApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err := app.Run(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.Close() })
	_, tok, _ := app.Store.CreateToken(ctx, "bench", []domain.Scope{domain.ScopeRead})
	if _, err := app.Store.CreateUser(ctx, "bench@example.com", domain.RoleViewer, "correct horse battery"); err != nil {
		b.Fatal(err)
	}
	return app, tok
}

func runScale(b *testing.B, backend string, deployments int) {
	ctx := context.Background()
	cfg, store := benchStore(b, backend)

	// 1. Store the raw history.
	const days = 730
	perDay := 1
	if deployments >= 5*days {
		perDay = 5
	}
	services := (deployments + days*perDay - 1) / (days * perDay)
	h := &scaleHistory{services: services, perDay: perDay, days: days, end: domain.Midnight(time.Now()), rnd: rand.New(rand.NewPCG(1, 2))}
	start := time.Now()
	im := &eventImporter{b: b, store: store}
	for d := 0; d < days; d++ {
		for _, ev := range h.day(d) {
			im.add(ev)
		}
	}
	im.flush()
	events := im.n
	b.Logf("%s: stored %d raw events in %s", backend, events, time.Since(start).Round(time.Second))

	// 2. Rebuild every projection and all DORA state from them.
	dec, _ := cdevents.NewDecoder("")
	res, err := rebuild(ctx, store, dec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.took.Seconds(), "rebuild-s")
	b.ReportMetric(float64(events), "events")
	all := domain.DORAFilter{}
	w, _ := domain.NewWindow(h.end.AddDate(0, 0, -days), h.end)
	rep, err := store.DORAReport(ctx, w, all)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: rebuilt %d events in %s; %d production deployments, %d failed, %d changes measured",
		backend, res.events, res.took.Round(time.Second), rep.Deployments, rep.Failed, rep.LeadChanges)
	b.ReportMetric(float64(rep.Deployments), "deployments")
	// Value streams for the trend pages: five teams, ten services, and
	// everything.
	var fiveTeams, tenServices []string
	for i := 0; i < 10; i++ {
		if i < 5 {
			fiveTeams = append(fiveTeams, "team-"+strconv.Itoa(i))
		}
		tenServices = append(tenServices, "svc-"+strconv.Itoa(i))
	}
	for _, v := range []domain.ValueStream{{Name: "Five teams", Teams: fiveTeams}, {Name: "Ten services", Services: tenServices}, {Name: "Everything"}} {
		v.Stages = domain.DefaultStages()
		if _, err := store.CreateValueStream(ctx, v, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	store.Close()

	// 3. Serve it and measure.
	app, tok := benchServe(b, cfg)
	apiGet := func(path string) func(*http.Client) (*http.Request, error) {
		return func(*http.Client) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, app.URL()+path, nil)
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			return req, err
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	var rndMu sync.Mutex
	randomWindow := func(*http.Client) (*http.Request, error) {
		rndMu.Lock()
		to := h.end.AddDate(0, 0, -rnd.IntN(600))
		span := []int{7, 30, 90}[rnd.IntN(3)]
		svc := rnd.IntN(services + 1)
		rndMu.Unlock()
		q := url.Values{"from": {to.AddDate(0, 0, -span+1).Format(domain.DateLayout)}, "to": {to.Format(domain.DateLayout)}}
		if svc < services {
			q.Set("service", "svc-"+strconv.Itoa(svc))
		}
		req, err := http.NewRequest(http.MethodGet, app.URL()+"/api/v1/dora?"+q.Encode(), nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return req, err
	}
	pageAt := func(path string) func(*http.Client) (*http.Request, error) {
		return func(*http.Client) (*http.Request, error) {
			return http.NewRequest(http.MethodGet, app.URL()+path, nil)
		}
	}
	// Trend pages over random ranges (a quarter to two years), buckets and
	// comparisons: mostly answers no cache holds yet.
	randomTrends := func(*http.Client) (*http.Request, error) {
		rndMu.Lock()
		to := h.end.AddDate(0, 0, -rnd.IntN(90))
		span := []int{91, 182, 365, 729}[rnd.IntN(4)]
		bucket := []string{"week", "month"}[rnd.IntN(2)]
		compare := []string{"", "", "team", "stream"}[rnd.IntN(4)]
		rndMu.Unlock()
		q := url.Values{"from": {to.AddDate(0, 0, -span+1).Format(domain.DateLayout)}, "to": {to.Format(domain.DateLayout)}, "bucket": {bucket}}
		if compare != "" {
			q.Set("compare", compare)
		}
		return http.NewRequest(http.MethodGet, app.URL()+"/trends?"+q.Encode(), nil)
	}
	twoYears := url.Values{"from": {h.end.AddDate(-2, 0, 1).Format(domain.DateLayout)}, "to": {h.end.Format(domain.DateLayout)}, "bucket": {"month"}}
	for _, tc := range []struct {
		name   string
		req    func(*http.Client) (*http.Request, error)
		signIn bool
	}{
		{"api-90d-all", apiGet("/api/v1/dora"), false},
		{"api-random-windows", randomWindow, false},
		{"page-90d", pageAt("/dora"), true},
		// Issue 7: the overview and the trend pages.
		{"overview", pageAt("/"), true},
		{"trends-default", pageAt("/trends"), true},
		{"trends-compare-team", pageAt("/trends?compare=team"), true},
		{"trends-compare-stream", pageAt("/trends?compare=stream"), true},
		{"trends-2y-month", pageAt("/trends?" + twoYears.Encode()), true},
		{"trends-random", randomTrends, true},
		{"trends-csv", pageAt("/trends.csv?compare=team&table=compare-team-lead_time"), true},
	} {
		p50, p99, n := loadTest(b, app.URL(), tc.req, tc.signIn, 32, 20*time.Second)
		b.Logf("%s %s: %d requests, p50 %.1f ms, p99 %.1f ms", backend, tc.name, n, ms(p50), ms(p99))
		b.ReportMetric(ms(p50), tc.name+"-p50-ms")
		b.ReportMetric(ms(p99), tc.name+"-p99-ms")
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// loadTest runs clients concurrent loops of requests for the duration and
// returns the latency percentiles.
func loadTest(b *testing.B, base string, next func(*http.Client) (*http.Request, error), signIn bool, clients int, d time.Duration) (p50, p99 time.Duration, n int) {
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var jar http.CookieJar
	if signIn {
		jar = benchSignIn(b, base) // once: sign-in is rate limited per address
	}
	for c := 0; c < clients; c++ {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Jar: jar}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				req, err := next(client)
				if err != nil {
					b.Error(err)
					return
				}
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("%s: %d", req.URL, resp.StatusCode)
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		b.Fatal("no requests completed")
	}
	return lat[len(lat)/2], lat[(len(lat)*99+99)/100-1], len(lat)
}

func benchSignIn(b *testing.B, base string) http.CookieJar {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/signin")
	if err != nil {
		b.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	csrf, _ := doc.Find(`input[name="_csrf"]`).Attr("value")
	resp, err = c.PostForm(base+"/signin", url.Values{"_csrf": {csrf}, "email": {"bench@example.com"}, "password": {"correct horse battery"}})
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("sign-in: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	return jar
}
