package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/domain"
)

// chromium returns the browser to drive: THROUGHLINE_TEST_CHROMIUM. Browser
// journeys are long, so they run only when that variable names a browser
// (CI sets it), not whenever one happens to be installed. Without it the
// test skips, except under THROUGHLINE_TEST_STRICT=1 (CI), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("THROUGHLINE_TEST_CHROMIUM")
	if path == "" {
		if os.Getenv("THROUGHLINE_TEST_STRICT") == "1" {
			t.Fatal("THROUGHLINE_TEST_CHROMIUM is not set; CI must run browser tests")
		}
		t.Skip("a browser test: set THROUGHLINE_TEST_CHROMIUM=/usr/bin/chromium to run it")
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("THROUGHLINE_TEST_STRICT") == "1" {
			t.Fatalf("no browser at %s; CI must run browser tests", path)
		}
		t.Skipf("no browser at %s", path)
	}
	return path
}

// newBrowser starts headless Chromium with the flags this sandbox needs.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// screenshot saves a PNG of the viewport when THROUGHLINE_SCREENSHOTS names a
// directory, so that people can look at the pages a test visited.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("THROUGHLINE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserSignInShowsTheLayout(t *testing.T) {
	ctx := newBrowser(t)
	app, out := startApp(t, testConfig(t))
	email, password := adminFrom(t, out.String())

	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL()+"/dora"),
		chromedp.WaitVisible(`[data-testid="signin-form"]`),
	); err != nil {
		t.Fatal(err)
	}
	signinTitle := browse(t, ctx, chromedp.Title())
	if signinTitle != "Sign in · Throughline" {
		t.Errorf("title %q", signinTitle)
	}
	screenshot(t, ctx, "signin")

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#email`, email),
		chromedp.SendKeys(`#password`, password),
		chromedp.Submit(`[data-testid="signin-form"]`),
		chromedp.WaitVisible(`[data-testid="nav"]`),
	); err != nil {
		t.Fatal(err)
	}
	nav := browse(t, ctx, chromedp.Text(`[data-testid="nav"]`))
	heading := browse(t, ctx, chromedp.Text(`h1`))
	user := browse(t, ctx, chromedp.Text(`[data-testid="usermenu"]`))
	url := browse(t, ctx, chromedp.Location())
	for _, item := range []string{"Roadmap", "Value streams", "DORA", "SLOs", "Trends", "Settings"} {
		if !strings.Contains(nav, item) {
			t.Errorf("nav lacks %q: %q", item, nav)
		}
	}
	if !strings.HasSuffix(url, "/dora") || heading != "DORA metrics" {
		t.Errorf("after sign-in at %s with heading %q; want back at /dora", url, heading)
	}
	if !strings.Contains(user, email) || !strings.Contains(user, "admin") {
		t.Errorf("user menu %q", user)
	}
	// htmx loaded under the CSP (a blocked script would leave it undefined).
	if !browse(t, ctx, chromedp.Evaluate[bool](`typeof htmx === "object"`)) {
		t.Errorf("htmx not loaded")
	}
	screenshot(t, ctx, "dora-empty")

	for _, p := range []string{"/", "/settings", "/settings/users", "/settings/tokens"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(app.URL()+p), chromedp.WaitVisible(`main`)); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, "page"+strings.ReplaceAll(p, "/", "-"))
	}
}

// browse performs one browser action that returns a value, failing the test on error.
func browse[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBrowserIngestionPage(t *testing.T) {
	ctx := newBrowser(t)
	app, out := startApp(t, testConfig(t))
	email, password := adminFrom(t, out.String())
	js := natsPublisher(t, app.Embedded.ClientURL())
	for _, body := range []string{`{{{`, `{"specversion":"1.0","id":"u","source":"/x","type":"com.example.unknown"}`} {
		if _, err := js.Publish(context.Background(), "throughline.events.delivery.demo", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	tok := token(t, app, domain.ScopeRead)
	waitStatus(t, app, tok, ingestStatus{DeadLetters: 2})
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL()+"/settings/ingest"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, email),
		chromedp.SendKeys(`#password`, password),
		chromedp.Submit(`[data-testid="signin-form"]`),
		chromedp.WaitVisible(`[data-testid="dead-letters"]`),
	); err != nil {
		t.Fatal(err)
	}
	table := browse(t, ctx, chromedp.Text(`[data-testid="dead-letters"]`))
	for _, want := range []string{"not_json", "unsupported_type", `"com.example.unknown"`} {
		if !strings.Contains(table, want) {
			t.Errorf("dead letters table lacks %q", want)
		}
	}
	screenshot(t, ctx, "ingest")
	// Replay the newest one; it fails again and comes back with its reason.
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="dead-letters"] tbody tr:first-child button`),
		chromedp.WaitVisible(`.alert-success`),
	); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, app, tok, ingestStatus{DeadLetters: 3})
}

// signInBrowser signs in through the form and waits for the layout.
func signInBrowser(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, email),
		chromedp.SendKeys(`#password`, password),
		chromedp.Submit(`[data-testid="signin-form"]`),
		chromedp.WaitVisible(`[data-testid="nav"]`),
	); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserDORAPageWithDemoData(t *testing.T) {
	ctx := newBrowser(t)
	cfg := testConfig(t)
	cfg.Demo, cfg.DemoDays = true, 60
	app, out := startApp(t, cfg)
	email, password := adminFrom(t, out.String())
	read := token(t, app, domain.ScopeRead)
	want := int64(len(demo.Generate(demo.Options{Days: 60, Seed: 1}).Events))
	waitStatus(t, app, read, ingestStatus{Stored: want})

	signInBrowser(t, ctx, app.URL(), email, password)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL()+"/dora"),
		chromedp.WaitVisible(`[data-testid="dora-metrics"]`),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "dora")
	browse(t, ctx, chromedp.Evaluate[bool](`document.querySelector('#deployments').scrollIntoView({block: 'start'}); window.scrollBy(0, -72); true`))
	screenshot(t, ctx, "dora-deployments")
	// The table downloads as CSV from the link beside it, with the
	// browser's session.
	csvText := browse(t, ctx, chromedp.Evaluate[string](`(async () => {
		const a = document.querySelector('[data-testid="csv-deployments"]');
		if (!a) return 'no link';
		const r = await fetch(a.href);
		return r.headers.get('Content-Type') + '\n' + await r.text();
	})()`, chromedp.EvalAwaitPromise))
	if !strings.HasPrefix(csvText, "text/csv") || !strings.Contains(csvText, "When,Service,Artifact,Changes,Verdict") {
		t.Errorf("deployments CSV from the page's link: %.300s", csvText)
	}
	value := browse(t, ctx, chromedp.Text(`[data-testid="metric-deployment-frequency"] [data-testid="value"]`))
	tier := browse(t, ctx, chromedp.Text(`[data-testid="metric-change-failure-rate"] [data-testid="tier"]`))
	if value == "0" || value == "" || tier == "no data" {
		t.Errorf("deployment frequency %q, failure tier %q", value, tier)
	}
	reasons := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="failure-reason"]').length`))
	unattributed := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="unattributed-reason"]').length`))
	if reasons == 0 || unattributed == 0 {
		t.Errorf("failure reasons shown: %d, unattributed reasons: %d", reasons, unattributed)
	}

	// Filter by service through the form: the URL carries the filter.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(`#service`, "checkout"),
		chromedp.Submit(`[data-testid="dora-filters"]`),
		chromedp.WaitVisible(`[data-testid="dora-metrics"]`),
	); err != nil {
		t.Fatal(err)
	}
	if loc := browse(t, ctx, chromedp.Location()); !strings.Contains(loc, "service=checkout") {
		t.Errorf("filter not in the URL: %s", loc)
	}

	// An editor overrides the first failed deployment's verdict; the change
	// failure rate drops at once.
	before := browse(t, ctx, chromedp.Text(`[data-testid="metric-change-failure-rate"] [data-testid="value"]`))
	if err := chromedp.Do(ctx,
		chromedp.Click(`tr[data-failed="true"] details.override summary`),
		chromedp.Click(`tr[data-failed="true"] details.override input[value="ok"]`),
		chromedp.SendKeys(`tr[data-failed="true"] details.override input[name="reason"]`, "provider outage, not our change"),
		chromedp.Submit(`tr[data-failed="true"] details.override form`),
		chromedp.WaitVisible(`.alert-success`),
	); err != nil {
		t.Fatal(err)
	}
	after := browse(t, ctx, chromedp.Text(`[data-testid="metric-change-failure-rate"] [data-testid="value"]`))
	if before == after {
		t.Errorf("change failure rate still %s after the override", after)
	}
	screenshot(t, ctx, "dora-after-override")
}

func TestBrowserPMJourney(t *testing.T) {
	ctx := newBrowser(t)
	app, out := startApp(t, testConfig(t))
	email, password := adminFrom(t, out.String())
	bg := context.Background()
	o, _ := app.Store.CreateObjective(bg, domain.Objective{Title: "Grow conversion"}, "test")
	if _, err := app.Store.CreateKeyResult(bg, domain.KeyResult{ObjectiveID: o.ID, Title: "Conversion up", Metric: "shop.conversion",
		Attributes: map[string]string{"env": "production"}, Baseline: 11, Target: 15, Direction: domain.Increase}, "test"); err != nil {
		t.Fatal(err)
	}
	signInBrowser(t, ctx, app.URL(), email, password)

	// Create the idea through the form, first with a mistake.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL()+"/ideas/new"),
		chromedp.WaitVisible(`[data-testid="idea-form"]`),
		chromedp.SendKeys(`#key`, "checkout 42"),
		chromedp.SendKeys(`#title`, "One-page checkout"),
		chromedp.SendKeys(`#hypothesis`, "Fewer steps raise conversion"),
		chromedp.Click(`input[name="key_results"]`),
		chromedp.Submit(`[data-testid="idea-form"]`),
		chromedp.WaitVisible(`[data-testid="form-errors"]`),
	); err != nil {
		t.Fatal(err)
	}
	if v := browse(t, ctx, chromedp.Value(`#title`)); v != "One-page checkout" {
		t.Errorf("title not kept: %q", v)
	}
	if !browse(t, ctx, chromedp.Evaluate[bool](`document.querySelector('input[name="key_results"]').checked`)) {
		t.Error("key result choice not kept")
	}
	screenshot(t, ctx, "idea-form-error")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(`#key`, "CHK-42"),
		chromedp.Submit(`[data-testid="idea-form"]`),
		chromedp.WaitVisible(`[data-testid="idea-title"]`),
	); err != nil {
		t.Fatal(err)
	}

	// Move it from Next to Now on the board (htmx swaps the board in place).
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL()+"/roadmap"),
		chromedp.WaitVisible(`[data-testid="column-next"] [data-key="CHK-42"]`),
		chromedp.Click(`[data-key="CHK-42"] [data-testid="move-now"]`),
		chromedp.WaitVisible(`[data-testid="column-now"] [data-key="CHK-42"]`),
	); err != nil {
		t.Fatal(err)
	}

	// Its delivery events and telemetry arrive over NATS.
	d := domain.Midnight(time.Now()).AddDate(0, 0, -20)
	js := natsPublisher(t, app.Embedded.ClientURL())
	for _, ev := range evidenceStory(d) {
		ce, _ := cdevents.FromEvent(ev)
		body, _ := cdevents.EncodeStructured(ce)
		if _, err := js.Publish(bg, "throughline.events.delivery.shop", body); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, app, token(t, app, domain.ScopeRead), ingestStatus{Stored: 5})
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL()+"/roadmap"), chromedp.WaitVisible(`[data-key="CHK-42"]`)); err != nil {
		t.Fatal(err)
	}
	if stage := browse(t, ctx, chromedp.Text(`[data-key="CHK-42"] [data-testid="current-stage"]`)); stage != "In Monitor" {
		t.Errorf("stage on the card: %q", stage)
	}
	screenshot(t, ctx, "roadmap-journey")

	// Read the evidence and record the verdict.
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-key="CHK-42"] h3 a`),
		chromedp.WaitVisible(`[data-testid="evidence-result"]`),
	); err != nil {
		t.Fatal(err)
	}
	if v := browse(t, ctx, chromedp.Text(`[data-testid="evidence-verdict"]`)); v != "moved" {
		t.Errorf("evidence verdict %q", v)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="evidence-chart"] svg .marker').length`)); n != 1 {
		t.Errorf("deployment markers on the chart: %d", n)
	}
	screenshot(t, ctx, "idea-evidence")
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="verdict-form"] input[value="validated"]`),
		chromedp.SendKeys(`#note`, "Conversion up two points, as hoped"),
		chromedp.Submit(`[data-testid="verdict-form"]`),
		chromedp.WaitVisible(`.alert-success`),
	); err != nil {
		t.Fatal(err)
	}
	idea, _ := app.Store.Idea(bg, "CHK-42")
	if idea.Verdict != domain.VerdictValidated || idea.VerdictBy != email {
		t.Fatalf("verdict %+v", idea)
	}
}

// demoInBrowser starts the app with the 90-day demo history stored and a
// browser signed in as its admin.
func demoInBrowser(t *testing.T) (context.Context, *App) {
	ctx := newBrowser(t)
	cfg := testConfig(t)
	cfg.Demo, cfg.DemoDays = true, 90
	app, out := startApp(t, cfg)
	email, password := adminFrom(t, out.String())
	want := int64(len(demo.Generate(demo.Options{Days: 90, Seed: 1}).Events))
	waitStatus(t, app, token(t, app, domain.ScopeRead), ingestStatus{Stored: want})
	signInBrowser(t, ctx, app.URL(), email, password)
	return ctx, app
}

func TestBrowserRoadmapWithDemoData(t *testing.T) {
	ctx, app := demoInBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL()+"/roadmap"), chromedp.WaitVisible(`[data-testid="roadmap-board"]`)); err != nil {
		t.Fatal(err)
	}
	cards := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="idea-card"]').length`))
	if cards < 10 {
		t.Errorf("%d idea cards", cards)
	}
	screenshot(t, ctx, "roadmap")
	for _, p := range []string{"/ideas/CHK-12", "/outcomes"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(app.URL()+p), chromedp.WaitVisible(`main`)); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", "-"))
	}
	if v := browse(t, ctx, chromedp.Text(`h1`)); v == "" {
		t.Error("no heading on outcomes")
	}
}
