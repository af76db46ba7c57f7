package main

// The performance proof (issue 9): one command measures everything, on
// SQLite and then on PostgreSQL (when THROUGHLINE_TEST_POSTGRES is set):
//
//	THROUGHLINE_BENCH_SCALE=1 go test -run '^$' -bench 'Ingest|EventToVisible|TenMillion' -benchtime 1x -timeout 6h ./cmd/throughline/
//
// BenchmarkIngest and BenchmarkEventToVisible measure ingestion on a fresh
// database. BenchmarkTenMillion stores a two-year history of a million
// production deployments with everything around them (changes and reviews,
// pipeline runs, test suites, artifacts, incidents, rollbacks: about eleven
// million events), runs `throughline rebuild` over it as its own process,
// then serves it with `throughline serve` and measures, against that
// process: the ingest rate of a further week of events against the raw
// JetStream consume rate on the same NATS server, the DORA API, DORA,
// roadmap, value stream, overview and trend pages under 32 concurrent
// clients, and the peak resident memory of both processes.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/natsbus/natstest"
	"github.com/throughline/throughline/domain"
)

func BenchmarkTenMillion(b *testing.B) {
	deployments := scaleParam(b, "THROUGHLINE_BENCH_DEPLOYMENTS", 1_000_000, "ten million events")
	bin := buildBinary(b)
	eachBackend(b, func(b *testing.B, backend string) { runTenMillion(b, bin, backend, deployments) })
}

// deliveryEvents adds, around each production deployment of the scale
// history, what a delivery pipeline emits besides changes: a review per
// change, the build of its artifact, the release pipeline run, its test
// suite and the published artifact: about eleven events per deployment.
func deliveryEvents(h *scaleHistory, evs []domain.Event) []domain.Event {
	out := make([]domain.Event, 0, len(evs)*2)
	for _, e := range evs {
		out = append(out, e)
		switch e.Kind {
		case domain.KindChangeMerged:
			out = append(out, domain.Event{Identity: domain.Identity{Source: "/bench", ID: h.id()}, Kind: domain.KindChangeReviewed,
				Time: e.Time.Add(-5 * time.Minute), SubjectID: e.SubjectID, Repository: e.Repository})
		case domain.KindServiceDeployed:
			run := "run-" + h.id()
			outcome := domain.OutcomeSuccess
			if h.rnd.IntN(10) == 0 {
				outcome = domain.OutcomeFailure
			}
			at := e.Time
			for _, x := range []domain.Event{
				{Kind: domain.KindBuildStarted, Time: at.Add(-55 * time.Minute), SubjectID: run + "-build"},
				{Kind: domain.KindBuildFinished, Time: at.Add(-45 * time.Minute), SubjectID: run + "-build", Artifact: e.Artifact},
				{Kind: domain.KindPipelineStarted, Time: at.Add(-40 * time.Minute), SubjectID: run, PipelineName: e.Service + "-release"},
				{Kind: domain.KindPipelineFinished, Time: at.Add(-10 * time.Minute), SubjectID: run, PipelineName: e.Service + "-release", Outcome: outcome},
				{Kind: "testsuiterun.finished", Time: at.Add(-20 * time.Minute), SubjectID: run + "-tests", Outcome: outcome},
				{Kind: domain.KindArtifactPublish, Time: at.Add(-5 * time.Minute), SubjectID: e.Artifact, Artifact: e.Artifact},
			} {
				x.Identity = domain.Identity{Source: "/bench", ID: h.id()}
				out = append(out, x)
			}
		}
	}
	return out
}

// procRun is a throughline process the benchmark started.
type procRun struct {
	cmd *exec.Cmd
	log *syncBuffer
}

func startProc(b *testing.B, bin string, args ...string) *procRun {
	p := &procRun{cmd: exec.Command(bin, args...), log: new(syncBuffer)}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return p
}

// peakRSS is the process's peak resident set so far, in MiB (VmHWM).
func (p *procRun) peakRSS() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

func runTenMillion(b *testing.B, bin, backend string, deployments int) {
	ctx := context.Background()
	cfg, store := benchStore(b, backend)
	dbArgs := []string{"--data-dir", cfg.DataDir}
	if cfg.DB != "" {
		dbArgs = append(dbArgs, "--db", cfg.DB)
	}

	// 1. Store the raw history, the roadmap and value streams, and the
	// people who will read it.
	const days = 730
	services := (deployments + days*5 - 1) / (days * 5)
	h := &scaleHistory{services: services, perDay: 5, days: days, end: domain.Midnight(time.Now()), rnd: rand.New(rand.NewPCG(1, 2))}
	start := time.Now()
	im := &eventImporter{b: b, store: store}
	for d := 0; d < days; d++ {
		for _, ev := range deliveryEvents(h, h.day(d)) {
			im.add(ev)
		}
	}
	im.flush()
	events := im.n
	b.Logf("%s: stored %d raw events in %s", backend, events, time.Since(start).Round(time.Second))
	seedBenchRoadmap(b, store, 30_000)
	stream, err := store.CreateValueStream(ctx, domain.ValueStream{Name: "Everything", Stages: domain.DefaultStages()}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	_, tok, err := store.CreateToken(ctx, "bench", []domain.Scope{domain.ScopeRead})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.CreateUser(ctx, "bench@example.com", domain.RoleViewer, "correct horse battery"); err != nil {
		b.Fatal(err)
	}
	store.Close()

	// 2. `throughline rebuild`, timed, with its peak memory.
	rb := exec.Command(bin, append([]string{"rebuild"}, dbArgs...)...)
	start = time.Now()
	if out, err := rb.CombinedOutput(); err != nil {
		b.Fatalf("rebuild: %v\n%s", err, out)
	}
	rebuildTook := time.Since(start)
	rebuildRSS := float64(rb.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
	b.Logf("%s: rebuild of %d events took %s, peak RSS %.0f MiB", backend, events, rebuildTook.Round(time.Second), rebuildRSS)
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(rebuildTook.Seconds(), "rebuild-s")
	b.ReportMetric(rebuildRSS, "rebuild-peak-MiB")

	// 3. Serve it.
	httpPort, natsPort := freePort(b), freePort(b)
	base := "http://127.0.0.1:" + httpPort
	srv := startProc(b, bin, append([]string{"serve", "--addr", "127.0.0.1:" + httpPort, "--nats-listen", "127.0.0.1:" + natsPort}, dbArgs...)...)
	defer func() {
		_ = srv.cmd.Process.Signal(os.Interrupt)
		_ = srv.cmd.Wait()
	}()
	if code := waitReady(base, time.Minute); code != http.StatusOK {
		b.Fatalf("serve not ready: %d\n%s", code, srv.log.String())
	}
	b.Logf("%s: serving, RSS peak %.0f MiB after start", backend, srv.peakRSS())

	// 4. Ingest a further week of events (late and current, into existing
	// rollups) through its NATS, against the raw consume rate there.
	ingestRate, rawRate := ingestWeek(b, base, "nats://127.0.0.1:"+natsPort, tok, services)
	b.Logf("%s: ingest into %d stored events %.0f events/s, raw JetStream %.0f events/s (ratio %.3f)", backend, events, ingestRate, rawRate, ingestRate/rawRate)
	b.ReportMetric(ingestRate, "ingest-events/s")
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(ingestRate/rawRate, "ingest-ratio")

	// 5. Pages and API under 32 concurrent clients.
	withToken := func(path func() string) func(*http.Client) (*http.Request, error) {
		return func(*http.Client) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, base+path(), nil)
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			return req, err
		}
	}
	page := func(path string) func(*http.Client) (*http.Request, error) {
		return func(*http.Client) (*http.Request, error) { return http.NewRequest(http.MethodGet, base+path, nil) }
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	var rndMu sync.Mutex
	randomWindow := func() string {
		rndMu.Lock()
		defer rndMu.Unlock()
		to := h.end.AddDate(0, 0, -rnd.IntN(600))
		span := []int{7, 30, 90}[rnd.IntN(3)]
		q := url.Values{"from": {to.AddDate(0, 0, -span+1).Format(domain.DateLayout)}, "to": {to.Format(domain.DateLayout)}}
		if svc := rnd.IntN(services + 1); svc < services {
			q.Set("service", "svc-"+strconv.Itoa(svc))
		}
		return "/api/v1/dora?" + q.Encode()
	}
	for _, tc := range []struct {
		name   string
		req    func(*http.Client) (*http.Request, error)
		signIn bool
	}{
		{"api-dora-90d", withToken(func() string { return "/api/v1/dora" }), false},
		{"api-dora-random", withToken(randomWindow), false},
		{"dora-page", page("/dora"), true},
		{"roadmap", page("/roadmap"), true},
		{"value-stream", page("/value-streams/" + strconv.FormatInt(stream.ID, 10)), true},
		{"overview", page("/"), true},
		{"trends", page("/trends"), true},
		{"trends-by-team", page("/trends?compare=team"), true},
	} {
		p50, p99, n := loadTest(b, base, tc.req, tc.signIn, 32, 20*time.Second)
		b.Logf("%s %s: %d requests, p50 %.1f ms, p99 %.1f ms", backend, tc.name, n, ms(p50), ms(p99))
		b.ReportMetric(ms(p50), tc.name+"-p50-ms")
		b.ReportMetric(ms(p99), tc.name+"-p99-ms")
	}
	serveRSS := srv.peakRSS()
	b.Logf("%s: serve peak RSS %.0f MiB", backend, serveRSS)
	b.ReportMetric(serveRSS, "serve-peak-MiB")
}

// waitReady polls /readyz until it answers 200 or d passes, and returns
// the last status.
func waitReady(base string, d time.Duration) int {
	code := 0
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if code = resp.StatusCode; code == http.StatusOK {
			break
		}
	}
	return code
}

// ingestWeek publishes the last week of a second history (its own source
// and identities, so nothing is a duplicate) to the serving process and returns its ingest
// rate, and the rate at which a bare durable consumer on the same server
// consumes and acks the same messages.
func ingestWeek(b *testing.B, base, natsURL, tok string, services int) (ours, raw float64) {
	ctx := context.Background()
	// seq starts past the stored history's, so that changes and artifacts
	// are new ones rather than updates of two-year-old ones.
	h := &scaleHistory{services: services, perDay: 5, days: 7, end: domain.Midnight(time.Now()), rnd: rand.New(rand.NewPCG(5, 6)), seq: 1 << 40}
	var msgs []natsbus.OutMsg
	prefix := natsbus.DefaultNames().SubjectPrefix
	for d := 0; d < h.days; d++ {
		for _, ev := range deliveryEvents(h, h.day(d)) {
			ev.Source = "/bench-live"
			ce, err := cdevents.FromEvent(ev)
			if err != nil {
				b.Fatal(err)
			}
			data, _ := cdevents.EncodeStructured(ce)
			msgs = append(msgs, natsbus.OutMsg{Subject: eventSubject(natsbus.Names{SubjectPrefix: prefix}, ev), Data: data, MsgID: ev.Identity.String()})
		}
	}
	bus, err := natsbus.Connect(ctx, natsbus.Config{URL: natsURL, Names: natsbus.DefaultNames()})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()

	rawBus := bus.WithNames(natstest.UniqueNames(b, bus.JetStream))
	if err := rawBus.EnsureStreams(ctx); err != nil {
		b.Fatal(err)
	}
	rawMsgs := make([]natsbus.OutMsg, len(msgs))
	for i, m := range msgs {
		m.Subject = rawBus.Names().SubjectPrefix + strings.TrimPrefix(m.Subject, prefix)
		rawMsgs[i] = m
	}
	if _, err := rawBus.PublishMany(ctx, rawMsgs); err != nil {
		b.Fatal(err)
	}
	raw = rawConsumeRate(b, rawBus, len(rawMsgs))
	_ = bus.JetStream().DeleteStream(ctx, rawBus.Names().EventsStream())

	var before ingestStatus
	getBench(b, base+"/api/v1/ingest/status", tok, &before)
	start := time.Now()
	if _, err := bus.PublishMany(ctx, msgs); err != nil {
		b.Fatal(err)
	}
	for {
		var st ingestStatus
		getBench(b, base+"/api/v1/ingest/status", tok, &st)
		if st.Stored-before.Stored >= int64(len(msgs)) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return float64(len(msgs)) / time.Since(start).Seconds(), raw
}

func getBench(b *testing.B, u, tok string, into any) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	decodeJSON(resp.Body, into)
}
