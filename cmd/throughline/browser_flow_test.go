package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/throughline/throughline/domain"
)

// TestBrowserValueStreams maps a value stream in Chromium on the demo
// history: the list, the map with its charts, and the form, first with a
// mistake.
func TestBrowserValueStreams(t *testing.T) {
	ctx, app := demoInBrowser(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL()+"/value-streams"), chromedp.WaitVisible(`[data-testid="streams"]`)); err != nil {
		t.Fatal(err)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('.stream-card').length`)); n != 3 {
		t.Errorf("%d demo value streams listed", n)
	}
	screenshot(t, ctx, "value-streams")

	// The whole product's map: eight stages that fit the page, the
	// constraint called out, and charts drawn.
	if err := chromedp.Do(ctx,
		chromedp.Click(`//a[normalize-space()="Whole product"]`),
		chromedp.WaitVisible(`[data-testid="vsm"]`),
	); err != nil {
		t.Fatal(err)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="vsm"] > li').length`)); n != 8 {
		t.Errorf("%d stages on the map", n)
	}
	if !browse(t, ctx, chromedp.Evaluate[bool](`(() => { const m = document.querySelector('[data-testid="vsm"]'); return m.scrollWidth <= m.clientWidth + 1 })()`)) {
		t.Error("the map does not fit the page at 1366 px")
	}
	if c := browse(t, ctx, chromedp.Text(`[data-testid="constraint"]`)); c == "" {
		t.Error("no constraint note")
	}
	for _, sel := range []string{`[data-testid="velocity-chart"] svg rect.bar`, `[data-testid="cfd-chart"] svg polygon`, `[data-testid="timebar"] svg rect`} {
		if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`)); n == 0 {
			t.Errorf("nothing drawn for %s", sel)
		}
	}
	screenshot(t, ctx, "value-stream-map")

	// The team changes when work counts as in Build: from its first build
	// to its key-result window opening. History is recomputed on save.
	before := browse(t, ctx, chromedp.Text(`[data-testid="stage-2"] [data-testid="arrivals"]`))
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="edit-stream"]`),
		chromedp.WaitVisible(`[data-testid="stream-form"]`),
		chromedp.SetValue(`input[name="stage.2.rule"]`, "keyresult"),
		chromedp.Submit(`[data-testid="stream-form"]`),
		chromedp.WaitVisible(`[data-testid="vsm"]`),
	); err != nil {
		t.Fatal(err)
	}
	if after := browse(t, ctx, chromedp.Text(`[data-testid="stage-2"] [data-testid="arrivals"]`)); after == before {
		t.Errorf("Build arrivals/departures still %q after its rule changed", after)
	} else {
		t.Logf("Build arrivals/departures %q before the rule change, %q after", before, after)
	}

	// A new stream through the form, first with a rule that names no
	// trigger: the message shows and what was typed stays.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL()+"/value-streams/new"),
		chromedp.WaitVisible(`[data-testid="stream-form"]`),
		chromedp.SendKeys(`#name`, "Search"),
		chromedp.SendKeys(`#services`, "search"),
		chromedp.SetValue(`input[name="stage.3.rule"]`, "tests.ran"),
		chromedp.SetValue(`input[name="stage.1.wip_limit"]`, "1"),
		chromedp.Submit(`[data-testid="stream-form"]`),
		chromedp.WaitVisible(`[data-testid="form-errors"]`),
	); err != nil {
		t.Fatal(err)
	}
	if msg := browse(t, ctx, chromedp.Text(`#stage\.3\.rule-error`)); !strings.Contains(msg, "not a trigger") {
		t.Errorf("rule error %q", msg)
	}
	if v := browse(t, ctx, chromedp.Value(`#name`)); v != "Search" {
		t.Errorf("name not kept: %q", v)
	}
	screenshot(t, ctx, "value-stream-form-error")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(`input[name="stage.3.rule"]`, "test, artifact.published"),
		chromedp.Submit(`[data-testid="stream-form"]`),
		chromedp.WaitVisible(`[data-testid="vsm"]`),
	); err != nil {
		t.Fatal(err)
	}
	if h := browse(t, ctx, chromedp.Text(`h1`)); h != "Search" {
		t.Errorf("heading %q", h)
	}
	if lim := browse(t, ctx, chromedp.Text(`[data-testid="stage-1"] [data-testid="wip"]`)); !strings.Contains(lim, "/ 1 limit") {
		t.Errorf("Code WIP limit shown as %q", lim)
	}
	streams, _ := app.Store.ValueStreams(t.Context())
	var search *domain.ValueStream
	for i := range streams {
		if streams[i].Name == "Search" {
			search = &streams[i]
		}
	}
	if search == nil || domain.RuleText(search.Stages[3].Rule) != "test, artifact.published" || search.Stages[1].WIPLimit != 1 {
		t.Fatalf("saved stream %+v", search)
	}
	screenshot(t, ctx, "value-stream-new")
}
