package main

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserExecutiveReadsTrends is an executive's visit on the demo
// history: the overview, the trends at desktop and tablet widths, a
// comparison by team, a CSV download, and the page as it prints.
func TestBrowserExecutiveReadsTrends(t *testing.T) {
	ctx, app := demoInBrowser(t)
	fits := `document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1`

	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL()+"/"), chromedp.WaitVisible(`[data-testid="tile-deployment_frequency"]`)); err != nil {
		t.Fatal(err)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('a.tile').length`)); n < 10 {
		t.Errorf("%d linked tiles on the overview", n)
	}
	if v := browse(t, ctx, chromedp.Text(`[data-testid="tile-deployment_frequency"] [data-testid="value"]`)); !strings.Contains(v, "per day") {
		t.Errorf("deployment frequency tile %q", v)
	}
	screenshot(t, ctx, "overview-desktop")

	if err := chromedp.Do(ctx,
		chromedp.Click(`//nav[@data-testid="nav"]//a[normalize-space()="Trends"]`),
		chromedp.WaitVisible(`[data-testid="trend-lead_time"]`),
	); err != nil {
		t.Fatal(err)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[id=delivery] svg path.series').length`)); n != 5 {
		t.Errorf("%d DORA lines drawn, want 5", n)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[id=delivery] svg rect.band').length`)); n == 0 {
		t.Error("no tier bands behind the lines")
	}
	for _, sel := range []string{`[data-testid="chart-verdicts"] rect.bar`, `[data-testid="constraints"] .stage-chip`, `[data-testid="stream-trend"] rect.bar`} {
		if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`)); n == 0 {
			t.Errorf("nothing drawn for %s", sel)
		}
	}
	if !browse(t, ctx, chromedp.Evaluate[bool](fits)) {
		t.Error("the trends page scrolls sideways at 1366 px")
	}
	screenshot(t, ctx, "trends-desktop")

	// Side by side by team: the choice is the shareable URL.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(`#compare`, "team"),
		chromedp.Submit(`[data-testid="trends-filters"]`),
		chromedp.WaitVisible(`[data-testid="compare"]`),
	); err != nil {
		t.Fatal(err)
	}
	if u := browse(t, ctx, chromedp.Location()); !strings.Contains(u, "compare=team") {
		t.Errorf("URL %q does not carry the comparison", u)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="compare-lead_time"] .multiple svg').length`)); n < 2 {
		t.Errorf("%d small multiples of lead time", n)
	}

	// The CSV behind the lead-time chart, fetched the way the link does.
	csv := browse(t, ctx, chromedp.Evaluate[string](
		`fetch(document.querySelector('[data-testid="trend-lead_time"] a.csv-link').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) < 10 || !strings.HasPrefix(lines[0], "week starting,from,to,lead_time (s),tier,deployments") {
		t.Errorf("lead-time CSV: %q", csv)
	}

	// A tablet: everything stacks, nothing scrolls sideways.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(820, 1180), chromedp.Reload(), chromedp.WaitVisible(`[data-testid="compare"]`)); err != nil {
		t.Fatal(err)
	}
	if !browse(t, ctx, chromedp.Evaluate[bool](fits)) {
		t.Error("the trends page scrolls sideways at 820 px")
	}
	screenshot(t, ctx, "trends-tablet")
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL()+"/"), chromedp.WaitVisible(`[data-testid="tile-kr"]`)); err != nil {
		t.Fatal(err)
	}
	if !browse(t, ctx, chromedp.Evaluate[bool](fits)) {
		t.Error("the overview scrolls sideways at 820 px")
	}
	screenshot(t, ctx, "overview-tablet")

	// The demo's SLOs: one per service, each with its budget and posture.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(app.URL()+"/slos"), chromedp.WaitVisible(`[data-testid="slos"]`)); err != nil {
		t.Fatal(err)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="slo-row"]').length`)); n != 5 {
		t.Errorf("%d demo SLOs listed, want 5", n)
	}
	screenshot(t, ctx, "slos")
	if err := chromedp.Do(ctx, chromedp.Click(`//a[normalize-space()="Checkout availability"]`), chromedp.WaitVisible(`[data-testid="budget-chart"]`)); err != nil {
		t.Fatal(err)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="budget-chart"] path.series').length`)); n != 1 {
		t.Error("no error-budget line drawn")
	}
	screenshot(t, ctx, "slo")

	// Printed for a board pack: no navigation, no forms, a title that says
	// what and when.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(794, 1123), chromedp.Navigate(app.URL()+"/trends"), chromedp.WaitVisible(`[data-testid="trend-lead_time"]`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]string{`.topbar`: "none", `[data-testid="trends-filters"]`: "none", `.print-title`: "block"} {
		if got := browse(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('`+sel+`')).display`)); got != want {
			t.Errorf("printed, %s is display %q, want %q", sel, got, want)
		}
	}
	if title := browse(t, ctx, chromedp.Text(`.print-title`)); !strings.Contains(title, "All services") {
		t.Errorf("print title %q", title)
	}
	screenshot(t, ctx, "trends-print")
}
